/* check_view.h - the checker's pass over views (docs/language.md "Views"),
 * kept apart from check.c. */
#ifndef AGGC_CHECK_VIEW_H
#define AGGC_CHECK_VIEW_H

#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Merges every file's views into prog->views and checks them against the
 * (already checked) enums and events; errors go to `d`. */
void agg_check_views(agg_program *prog, agg_arena *a, agg_diag *d);

/* A projection's `index column;` entries (after its columns are typed):
 * a scalar column of the projection, each once, the index's name short
 * enough for PostgreSQL. */
void agg_check_projection_indexes(agg_projection *p, agg_diag *d);

#endif
