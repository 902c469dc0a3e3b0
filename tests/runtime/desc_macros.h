/* desc_macros.h - shorthands for the descriptor tables the runtime suites
 * write by hand (fixtures.c, lists_fixtures.c): the tables aggc cannot
 * produce (deliberately malformed ones, defaulted timestamps, list types).
 * Domains aggc can express are generated instead (tests/pg/counter.agg).
 * Include it in .c files only: the names are short. */
#ifndef T_DESC_MACROS_H
#define T_DESC_MACROS_H

#include <stddef.h>

#include <incident/domain.h>

#define NOHAS INC_NO_OFFSET
#define NODEF {false, 0, 0.0, NULL}
/* the members of an inc_message_desc after `apply` (schema evolution, then
 * execute_at/apply_at for rules that read the time): none */
#define NOEVO 0, 0, NULL, NULL, NULL, NULL
#define DEFV(...) {__VA_ARGS__}
/* One field of struct T; `ref` is its enum or type descriptor (or NULL). */
#define F(T, n, type, flags, has, ref, def) \
    {#n, type, flags, offsetof(T, n), has, ref, def}
#define HAS(T, n) offsetof(T, has_##n)
#define IMPL INC_FIELD_IMPLICIT
#define OPT INC_FIELD_OPTIONAL
#define DEFD INC_FIELD_DEFAULTED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define AGG_ID(T) F(T, aggregate_id, INC_TYPE_STRING, IMPL, NOHAS, NULL, NODEF)

#endif
