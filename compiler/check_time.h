/* check_time.h - the checker's rules for time (docs/language.md, "Time"):
 * duration literals, now(), event.event_date / event.event_id, and the
 * operators over timestamps and durations.  Called from check.c. */
#ifndef AGGC_CHECK_TIME_H
#define AGGC_CHECK_TIME_H

#include <stdbool.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Where an expression is checked, as far as time is concerned. */
typedef enum agg_time_place {
    AGG_TIME_EXECUTE,
    AGG_TIME_APPLY,
    AGG_TIME_CHECK,
    AGG_TIME_PROJECTION,
    AGG_TIME_DEFAULT,
    AGG_TIME_UPCAST,
    AGG_TIME_REACT
} agg_time_place;

/* `now()` (or another call): its type.  *uses_time (the execute's flag)
 * is set when it is a valid now(). */
agg_type agg_time_call(agg_diag *d, agg_expr *e, agg_time_place where,
                       bool *uses_time);

/* `event.event_date` / `event.event_id` in apply: true (with *out, and
 * *uses_time set) when e names one of them. */
bool agg_time_event_member(agg_arena *a, agg_expr *e, agg_type *out,
                           bool *uses_time);

/* The type of `l op r` when time is involved, or false. */
bool agg_time_binary(agg_op op, agg_type l, agg_type r, agg_type *out);

/* After "operator ... cannot be applied": a note when a duration would
 * have made it right (`timestamp + int`). */
void agg_time_binary_hint(agg_diag *d, const agg_expr *e, agg_type l,
                          agg_type r);

/* An event field that would shadow event.event_date / event.event_id. */
void agg_time_check_event_field(agg_diag *d, const agg_field *f);

/* A type name that is not storable (`duration`): reported, true. */
bool agg_time_unstorable_type(agg_diag *d, const agg_typeref *t);

#endif
