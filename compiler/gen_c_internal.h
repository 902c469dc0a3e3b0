/* gen_c_internal.h - what gen_c.c shares with gen_lists.c (the C back end
 * of records and lists): the generator's state, the value of a compiled
 * expression, and a few of gen_c.c's emitters.  Private to the back end. */
#ifndef AGGC_GEN_C_INTERNAL_H
#define AGGC_GEN_C_INTERNAL_H

#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "sbuf.h"

typedef struct gen {
    const agg_program *p;
    agg_arena *a;
    const char *d; /* domain prefix */
    const char *D; /* upper-case prefix */
    /* per function */
    sbuf *out;
    int depth;
    int tmp;
    int used_done;
    int used_scratch;
    int used_err;
    const char *target; /* what assignments write: NULL = "state" (upcasts: "next") */
} gen;

typedef struct val {
    const char *v;   /* C expression of the value */
    const char *has; /* C expression: is it present?  NULL = always */
    const char *src; /* .agg text, for "is null" messages */
} val;

/* gen_c.c */
val agg_gc_expr(gen *g, const agg_expr *e);
const char *agg_gc_need(gen *g, val v);
const char *agg_gc_tmp(gen *g);
void agg_gc_fail(gen *g, const char *code);
const char *agg_gc_eq(gen *g, const agg_type *lt, const char *a, const agg_type *rt,
                      const char *b);
void agg_gc_struct_fields(gen *g, sbuf *out, const agg_field *fields);
void agg_gc_fields_table(gen *g, sbuf *out, const char *cname, const agg_field *fields);
const char *agg_gc_c_type(gen *g, const agg_type *t);

/* gen_lists.c */
const char *agg_gl_c_type(gen *g, const agg_type *t);   /* record struct / list typedef */
const char *agg_gl_type_ref(gen *g, const agg_type *t); /* INC_TYPE_REF(...) */
void agg_gl_header(gen *g, sbuf *out);                  /* record structs, list typedefs */
void agg_gl_source(gen *g, sbuf *out);                  /* their descriptors */
val agg_gl_expr(gen *g, const agg_expr *e);             /* FIELD, CALL, EMPTY, IN, VAR */
void agg_gl_store(gen *g, const char *lhs, const char *has, const agg_type *ft, val v,
                  const agg_type *vt);
void agg_gl_assign(gen *g, const agg_stmt *s);          /* apply on a list/record field */
uint64_t agg_gl_hash(gen *g, uint64_t h, const agg_aggregate *ag);

#endif
