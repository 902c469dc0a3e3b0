/* warn.h - warnings: likely mistakes in a program the checker accepted
 * (docs/language.md, "Warnings").  They never stop aggc (exit 0) unless
 * --Werror makes them errors. */
#ifndef AGGC_WARN_H
#define AGGC_WARN_H

#include "ast.h"
#include "diag.h"

/* Run after agg_check_program accepted `prog`. */
void agg_warn_program(const agg_program *prog, agg_diag *diag);

#endif
