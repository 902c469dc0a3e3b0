/* check_int.h - what check.c shares with the checker's other files
 * (check_evo.c: schema evolution).  Private to the checker; the public
 * interface is check.h. */
#ifndef AGGC_CHECK_INT_H
#define AGGC_CHECK_INT_H

#include <stdbool.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

typedef struct checker checker;

agg_diag *agg_chk_diag(checker *c);
agg_arena *agg_chk_arena(checker *c);
agg_program *agg_chk_program(checker *c);
/* Types, duplicates, reserved names and defaults of a field list. */
void agg_chk_fields(checker *c, agg_field *fields, const char *owner,
                    const char *owner_name);
/* An expression of upcast block `u` of event `ev` (only `old.f`). */
agg_type agg_chk_upcast_expr(checker *c, agg_aggregate *g, agg_event *ev, agg_upcast *u,
                             agg_expr *e);
bool agg_chk_assignable(agg_type to, agg_type from);

/* check_evo.c: `upcast` blocks and `was` names of every event. */
void agg_check_evolution(checker *c);

#endif
