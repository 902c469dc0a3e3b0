/* suggest.h - "did you mean" notes: the nearest declared name to an
 * unknown one (edit distance), and the enum member a bare name meant
 * (`open` for `Status.open`).  Each function adds at most one note to the
 * error just reported, and nothing when no name is close enough. */
#ifndef AGGC_SUGGEST_H
#define AGGC_SUGGEST_H

#include <stddef.h>

#include "ast.h"
#include "diag.h"

/* Damerau-Levenshtein distance (adjacent transpositions count 1), or a
 * number above `limit` as soon as the distance is known to exceed it. */
size_t agg_edit_distance(const char *a, const char *b, size_t limit);

/* Is `cand` close enough to `name` to suggest it? */
int agg_near_miss(const char *name, const char *cand);

/* A field of `fields` (`prefix` before its name in the note: "command.",
 * "event.", or ""). */
void agg_suggest_field(agg_diag *d, const char *name, const agg_field *fields,
                       const char *prefix);
/* A bare name that is a member of an enum: "did you mean 'Status.open'?";
 * true when one was found. */
int agg_suggest_enum_member(agg_diag *d, const char *name, const agg_enum *enums);
/* A member of `e` near `name`. */
void agg_suggest_member(agg_diag *d, const char *name, const agg_enum *e);
/* An enum near `name` (or `command`, `event`, `state`). */
void agg_suggest_enum(agg_diag *d, const char *name, const agg_enum *enums);
/* A command / event near `name`, those of `prefer` first. */
void agg_suggest_command(agg_diag *d, const char *name, const agg_aggregate *all,
                         const agg_aggregate *prefer);
void agg_suggest_event(agg_diag *d, const char *name, const agg_aggregate *all,
                       const agg_aggregate *prefer);
/* A type name near `name`: the built-in ones and the enums. */
void agg_suggest_type(agg_diag *d, const char *name, const agg_enum *enums);

#endif
