/* check.h - the semantic pass: resolves every name and type of the parsed
 * files and enforces the rules of the .agg language (docs/language.md).
 *
 * It reports every error it can find (through diag) and annotates the tree
 * (the "checker:" fields of ast.h).  Generators run only on a program for
 * which agg_check returned true. */
#ifndef AGGC_CHECK_H
#define AGGC_CHECK_H

#include <stdbool.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Merges prog->files into prog->enums / prog->aggregates and checks.
 * Returns true when no error was reported. */
bool agg_check_program(agg_program *prog, agg_arena *arena, agg_diag *diag);

/* The kind of a built-in type name ("int", ...), or AGG_T_ERROR. */
agg_type_kind agg_builtin_type(const char *name);

/* The field of `list` called `name`, or NULL (every checker's lookup). */
agg_field *agg_find_field(const agg_field *list, const char *name);

/* "int", "string?", "TransferStatus" */
const char *agg_type_name(agg_arena *a, agg_type t);

#endif
