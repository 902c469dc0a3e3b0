/* check_lists.h - the checker's rules for records and lists
 * (docs/language.md, "Records and lists"), kept apart from check.c, which
 * calls in here for the new types, expressions and assignments.
 *
 * check.c hands over its current context as an agg_lcheck: a callback that
 * checks a sub-expression in that context, the context's scope of bound
 * variables, and a test for names a bound variable would shadow. */
#ifndef AGGC_CHECK_LISTS_H
#define AGGC_CHECK_LISTS_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

typedef struct agg_lcheck {
    agg_program *prog;
    agg_arena *a;
    agg_diag *d;
    /* check_expr in the caller's context */
    agg_type (*check)(void *u, agg_expr *e);
    /* would a bare `name` already mean something here (a field, an enum)? */
    bool (*taken)(void *u, const char *name);
    /* resolve a plain type name (check.c's rules: scalars, enums, records) */
    void (*resolve)(void *u, agg_typeref *t);
    void *u;
    agg_bind **scope; /* the context's innermost bound variable */
} agg_lcheck;

agg_record *agg_find_record(const agg_program *p, const char *name);

/* Resolve `list<T>` or a record name; false when t is neither (the caller
 * goes on with its own rules).  Errors are reported here. */
bool agg_lists_resolve(agg_lcheck *lc, agg_typeref *t);

/* Records: not empty, and none contains itself except through a list. */
void agg_lists_check_records(agg_lcheck *lc);

bool agg_is_composite(agg_type t); /* a record or a list */
/* Can a list/record of type `from` be stored where `to` is expected? */
bool agg_composite_assignable(agg_type to, agg_type from);
/* "Line", "list<int?>", "[]" (the part before a trailing '?') */
const char *agg_composite_name(agg_arena *a, agg_type t);

agg_bind *agg_find_bind(agg_bind *scope, const char *name);

/* AGG_E_FIELD, AGG_E_CALL, AGG_E_EMPTY, and `x in xs` (whose operands the
 * caller checked already: l and r). */
agg_type agg_lists_expr(agg_lcheck *lc, agg_expr *e);
agg_type agg_lists_in(agg_lcheck *lc, agg_expr *e, agg_type l, agg_type r);

/* An assignment in apply to a list or record field, or `xs -= x if c;`.
 * `t` is the type of s->value (already checked; T_ERROR when none). */
void agg_lists_assign(agg_lcheck *lc, agg_stmt *s, agg_field *f, agg_type t);

/* ---- generated names (shared with gen_lists.c) ---- */

/* The list types the program uses, each once: element type and whether
 * the elements are optional (list<T?>).  Arena array, *n entries. */
typedef struct agg_list_use {
    agg_type elem;
    agg_loc loc; /* first use */
} agg_list_use;
agg_list_use *agg_list_types(const agg_program *p, agg_arena *a, size_t *n);

/* C names: the element's C base ("bank_int", "bank_line"), the list
 * typedef (<base>_list), its descriptor (<base>_list_type or
 * <base>_opt_list_type for list<T?>), a record's descriptor
 * (<record>_record_type). */
const char *agg_c_elem_base(agg_arena *a, const char *d, const agg_type *elem);
const char *agg_c_list(agg_arena *a, const char *d, const agg_type *elem);
const char *agg_c_list_type(agg_arena *a, const char *d, const agg_type *elem);
const char *agg_c_record_type(agg_arena *a, const char *d, const agg_record *r);

/* Every C name records and lists generate, for the collision check. */
void agg_lists_names(const agg_program *p, agg_arena *a,
                     void (*add)(void *u, const char *cname, agg_loc loc,
                                 const char *what),
                     void *u);

#endif
