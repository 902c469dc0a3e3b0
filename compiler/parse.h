/* parse.h - turn one .agg file's text into an agg_file.
 *
 * Syntax errors go to `diag` (file:line:col, source line, caret) and the
 * parser recovers at the next `;` or `}` to find more of them; the returned
 * tree then holds whatever parsed cleanly.  All nodes live in `arena`. */
#ifndef AGGC_PARSE_H
#define AGGC_PARSE_H

#include <stddef.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Limits that keep hostile input from exhausting the stack or producing
 * names no C compiler or PostgreSQL accepts. */
#define AGG_MAX_IDENT 63   /* PostgreSQL's identifier limit */
#define AGG_MAX_NESTING 256 /* parentheses, blocks, unary operators */

/* `text` must stay alive as long as `arena` (diagnostics quote it); it may
 * contain NUL bytes (reported as errors).  Never returns NULL. */
agg_file *agg_parse(agg_arena *arena, agg_diag *diag, const char *path,
                    const char *text, size_t len);

#endif
