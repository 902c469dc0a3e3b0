/* check_react.h - the checker's part for reactions (check_react.c), and the
 * few entries into check.c it uses.  Private to the checker. */
#ifndef AGGC_CHECK_REACT_H
#define AGGC_CHECK_REACT_H

#include <stdbool.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

/* Merges the files' reactions into prog->reactions and checks them: names,
 * the triggering event, each step's command and fields, cycles.  Runs after
 * the aggregates were checked (it reads their execute blocks). */
void agg_check_reactions(agg_program *prog, agg_arena *a, agg_diag *d);

/* In check.c.  The type of `e` read in a reaction to `ev` (event.f, state.f
 * of ev's aggregate as of the event, bare aggregate_id the event's). */
agg_type agg_check_react_expr(agg_program *prog, agg_arena *a, agg_diag *d,
                              agg_event *ev, agg_expr *e);
/* Can a value of type `from` be stored where `to` is expected? */
bool agg_assignable(agg_type to, agg_type from);
/* The rules every declared name follows (C and SQL keywords, '_'). */
void agg_check_name(agg_program *prog, agg_arena *a, agg_diag *d, agg_loc loc,
                    const char *name, const char *what);

#endif
