/* against.h - `aggc --against OLD.agg...`: can the new domain read every
 * event the old one could have stored?  (docs/evolution.md) */
#ifndef AGGC_AGAINST_H
#define AGGC_AGAINST_H

#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Both programs checked without errors.  Reports each breaking change as
 * an error (in the new files where possible, else in the old ones) naming
 * the event, field or enum member and the fix. */
void agg_against(const agg_program *new_p, const agg_program *old_p, agg_arena *a,
                 agg_diag *d);

#endif
