/* gen.h - the back ends.  Each fills sbufs from a checked program; none
 * writes files (compile.c does that, all-or-nothing). */
#ifndef AGGC_GEN_H
#define AGGC_GEN_H

#include "arena.h"
#include "ast.h"
#include "sbuf.h"

#define AGGC_VERSION "0.1.0"
/* The libincident descriptor ABI (INC_ABI_VERSION) the generated tables
 * are laid out for. */
#define AGG_ABI_VERSION 2

typedef struct agg_gen_opts {
    const char *sources; /* "bank.agg" or "a.agg, b.agg", for the banner */
} agg_gen_opts;

/* SQL text, shared by the .sql file and the strings in the descriptors. */
void agg_sql_ddl(sbuf *out, const agg_program *p, agg_arena *a);
void agg_sql_table(sbuf *out, const agg_projection *pr);
void agg_sql_upsert(sbuf *out, const agg_projection *pr);
void agg_sql_select(sbuf *out, const agg_projection *pr, int one);
const char *agg_sql_type(const agg_type *t);
/* A value's C type ("int64_t", "bank_transfer_status") and its inc_type
 * constant ("INC_TYPE_INT"), shared by gen_c.c and gen_view.c. */
const char *agg_c_value_type(agg_arena *a, const char *d, const agg_type *t);
const char *agg_inc_type(const agg_type *t);
/* ` CHECK ("col" IN ('a', 'b'))` for an enum column; nothing otherwise. */
void agg_sql_enum_check(sbuf *out, const char *col, const agg_type *t);

void agg_gen_header(sbuf *out, const agg_program *p, agg_arena *a, const agg_gen_opts *o);
void agg_gen_source(sbuf *out, const agg_program *p, agg_arena *a, const agg_gen_opts *o);
void agg_gen_sql(sbuf *out, const agg_program *p, agg_arena *a, const agg_gen_opts *o);
void agg_gen_dot(sbuf *out, const agg_program *p, agg_arena *a, const agg_gen_opts *o);
/* Reactions (gen_react.c): their functions and table, before the domain's
 * descriptor, and the descriptor's members naming the table. */
void agg_gen_reactions(sbuf *out, const agg_program *p, agg_arena *a);
void agg_gen_reaction_members(sbuf *out, const agg_program *p, agg_arena *a);
/* The .dot edges of reactions: event -> each command it leads to. */
void agg_gen_dot_reactions(sbuf *out, const agg_program *p);
/* gen_c.c's compiler of `f = e;` initialisers, for gen_react.c: stores into
 * `<prefix>f` at `depth` of `body`, reading `state->` and `event->`; a
 * failed computation sets err and jumps to `done`.  *tmp numbers the
 * function's temporaries; *scratch is set when `sc` is needed. */
void agg_gen_c_inits(sbuf *body, int depth, const agg_program *p, agg_arena *a,
                     const char *prefix, const agg_init *inits, int *tmp, int *scratch);
void agg_gen_stubs(sbuf *out, const agg_program *p, agg_arena *a, const agg_gen_opts *o);

#endif
