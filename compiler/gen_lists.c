/* gen_lists.c - the C back end of records and lists (gen_c_internal.h):
 * record structs and list typedefs in the header, their descriptors in
 * the source, laid out as docs/api.md ("Records and lists") says, and the
 * compiled list operations: field access, len, in, the comprehensions
 * sum/count/all/any, whole assignment, `+=` (append), `-=` (remove).
 *
 * Loops run over an existing list with an index bounded by its length, so
 * generated rules always terminate; integer sums are overflow-checked like
 * every other addition.  Elements are read as `list.items[i]` (list a path
 * such as `command->lines`), re-read after every push, so that appending a
 * list to itself is safe although pushing may move the items. */
#include <string.h>

#include "check.h"
#include "check_lists.h"
#include "gen.h"
#include "gen_c_internal.h"
#include "names.h"

/* ------------------------------------------------------------- names */

const char *agg_gl_c_type(gen *g, const agg_type *t) {
    if (t->kind == AGG_T_RECORD) return agg_c_message(g->a, g->d, t->rec->name);
    return agg_c_list(g->a, g->d, t->elem);
}

static const char *td_name(gen *g, const agg_type *t) {
    if (t->kind == AGG_T_RECORD) return agg_c_record_type(g->a, g->d, t->rec);
    return agg_c_list_type(g->a, g->d, t->elem);
}

const char *agg_gl_type_ref(gen *g, const agg_type *t) {
    return agg_arena_cat(g->a, "INC_TYPE_REF(", td_name(g, t), ")", (char *)NULL);
}

static const char *td_addr(gen *g, const agg_type *t) {
    return agg_arena_cat(g->a, "&", td_name(g, t), (char *)NULL);
}

/* ------------------------------------------------------------ header */

/* Records a record embeds by value come first (the checker refused
 * cycles); `done` marks the ones written. */
static void record_struct(gen *g, sbuf *out, const agg_record *r, char *done,
                          const agg_record *first) {
    size_t idx = 0;
    for (const agg_record *q = first; q != r; q = q->next) idx++;
    if (done[idx]) return;
    done[idx] = 1;
    for (const agg_field *f = r->fields; f; f = f->next)
        if (f->type.type.kind == AGG_T_RECORD)
            record_struct(g, out, f->type.type.rec, done, first);
    const char *c = agg_c_message(g->a, g->d, r->name);
    sb_printf(out, "/* record %s */\nstruct %s {\n", r->name, c);
    agg_gc_struct_fields(g, out, r->fields);
    sb_printf(out, "};\nextern const inc_message_desc %s;\n\n", agg_cname(g->a, AGG_CN_MSG_DESC, c));
}

void agg_gl_header(gen *g, sbuf *out) {
    const agg_program *p = g->p;
    size_t n = 0, nrec = 0;
    agg_list_use *lists = agg_list_types(p, g->a, &n);
    for (const agg_record *r = p->records; r; r = r->next) nrec++;
    if (!nrec && !n) return;
    sb_put(out, "/* records and lists (INC_LIST_STRUCT: len, cap, items, has) */\n");
    for (const agg_record *r = p->records; r; r = r->next) {
        const char *c = agg_c_message(g->a, g->d, r->name);
        sb_printf(out, "typedef struct %s %s;\n", c, c);
    }
    for (size_t i = 0; i < n; i++) {
        int first = 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(agg_c_list(g->a, g->d, &lists[j].elem),
                       agg_c_list(g->a, g->d, &lists[i].elem)) == 0)
                first = 0;
        if (!first) continue; /* list<T> and list<T?> share the struct */
        agg_type plain = lists[i].elem;
        plain.optional = false;
        const char *ct = agg_gc_c_type(g, &plain);
        sb_printf(out, "typedef INC_LIST_STRUCT(%s) %s;\n", ct, agg_c_list(g->a, g->d, &plain));
    }
    sb_put(out, "\n");
    char *done = agg_arena_alloc(g->a, nrec + 1);
    memset(done, 0, nrec + 1);
    for (const agg_record *r = p->records; r; r = r->next)
        record_struct(g, out, r, done, p->records);
}

/* ------------------------------------------------------------ source */

void agg_gl_source(gen *g, sbuf *out) {
    const agg_program *p = g->p;
    size_t n = 0;
    agg_list_use *lists = agg_list_types(p, g->a, &n);
    if (!p->records && !n) return;
    sb_put(out, "/* type descriptors of records and lists (INC_TYPE_REF in the field\n"
                " * tables) */\n");
    for (const agg_record *r = p->records; r; r = r->next) {
        agg_type t = {AGG_T_RECORD, false, NULL, (agg_record *)r, NULL};
        sb_printf(out, "static const inc_type_desc %s = {\n", td_name(g, &t));
        sb_printf(out, "    .head = {.name = \"%s\"},\n", r->name);
        sb_put(out, "    .type = INC_TYPE_RECORD,\n");
        sb_printf(out, "    .record = &%s,\n};\n",
                  agg_cname(g->a, AGG_CN_MSG_DESC, agg_c_message(g->a, g->d, r->name)));
    }
    for (size_t i = 0; i < n; i++) {
        const agg_type *el = &lists[i].elem;
        agg_type t = {AGG_T_LIST, false, NULL, NULL, el};
        sb_printf(out, "static const inc_type_desc %s = {\n", td_name(g, &t));
        sb_printf(out, "    .head = {.name = \"%s\"},\n", agg_composite_name(g->a, t));
        sb_put(out, "    .type = INC_TYPE_LIST,\n");
        sb_printf(out, "    .elem_type = %s,\n", agg_inc_type(el));
        if (el->optional) sb_put(out, "    .elem_flags = INC_FIELD_OPTIONAL,\n");
        if (el->kind == AGG_T_ENUM)
            sb_printf(out, "    .elem_enum = &%s,\n",
                      agg_cname(g->a, AGG_CN_ENUM_DESC, agg_c_message(g->a, g->d, el->enm->name)));
        if (el->kind == AGG_T_RECORD)
            sb_printf(out, "    .record = &%s,\n",
                      agg_cname(g->a, AGG_CN_MSG_DESC, agg_c_message(g->a, g->d, el->rec->name)));
        sb_put(out, "};\n");
    }
    sb_put(out, "\n");
    for (const agg_record *r = p->records; r; r = r->next) {
        const char *c = agg_c_message(g->a, g->d, r->name);
        size_t nf = 0;
        for (const agg_field *f = r->fields; f; f = f->next) nf++;
        sb_printf(out, "/* record %s */\n", r->name);
        agg_gc_fields_table(g, out, c, r->fields);
        sb_printf(out, "const inc_message_desc %s = {\n", agg_cname(g->a, AGG_CN_MSG_DESC, c));
        sb_put(out, "    .kind = INC_MSG_RECORD,\n");
        sb_printf(out, "    .name = \"%s\",\n    .c_name = \"%s\",\n", r->name, c);
        sb_printf(out, "    .size = sizeof(%s),\n    .n_fields = %zu,\n", c, nf);
        sb_printf(out, "    .fields = %s,\n};\n\n", agg_cname(g->a, AGG_CN_MSG_FIELDS, c));
    }
}

/* The state's snapshot layout includes the records it holds: when the
 * state has a record or list field, every record's fields go into the
 * hash (a change to any record then only costs a snapshot rebuild). */
uint64_t agg_gl_hash(gen *g, uint64_t h, const agg_aggregate *ag) {
    int any = 0;
    for (const agg_field *f = ag->all_state; f; f = f->next)
        if (f->type.type.kind == AGG_T_RECORD || f->type.type.kind == AGG_T_LIST) any = 1;
    if (!any) return h;
    for (const agg_record *r = g->p->records; r; r = r->next)
        for (const agg_field *f = r->fields; f; f = f->next) {
            const char *s = agg_arena_cat(g->a, r->name, ".", f->name, ":",
                                          agg_type_name(g->a, f->type.type), ";", (char *)NULL);
            for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
                h ^= *q;
                h *= 1099511628211ULL;
            }
        }
    return h;
}

/* -------------------------------------------------------- expressions */

static const char *cat(gen *g, const char *a, const char *b, const char *c) {
    return agg_arena_cat(g->a, a, b, c, (char *)NULL);
}

/* The element i of list L as a bound variable sees it. */
static void bind_elem(gen *g, agg_bind *b, const char *L, const char *i, const agg_type *el) {
    b->c_value = agg_arena_printf(g->a, "%s.items[%s]", L, i);
    b->c_has = el->optional ? agg_arena_printf(g->a, "(!%s.has || %s.has[%s])", L, L, i) : NULL;
}

static val gen_field(gen *g, const agg_expr *e) {
    val l = agg_gc_expr(g, e->lhs);
    const char *base = agg_gc_need(g, l);
    val r = {agg_arena_printf(g->a, "%s.%s", base, e->field->name), NULL,
             agg_arena_printf(g->a, "%s.%s", l.src ? l.src : "value", e->field->name)};
    if (e->field->type.type.optional)
        r.has = agg_arena_printf(g->a, "%s.has_%s", base, e->field->name);
    return r;
}

static val gen_in(gen *g, const agg_expr *e) {
    val l = agg_gc_expr(g, e->lhs);
    const char *x = agg_gc_need(g, l);
    val r = agg_gc_expr(g, e->rhs);
    const char *L = agg_gc_need(g, r);
    const agg_type *el = e->rhs->type.elem;
    const char *t = agg_gc_tmp(g), *i = agg_arena_printf(g->a, "i%d", ++g->tmp);
    const char *item = agg_arena_printf(g->a, "%s.items[%s]", L, i);
    const char *eq = agg_gc_eq(g, el, item, &e->lhs->type, x);
    if (el->optional) eq = agg_arena_printf(g->a, "(!%s.has || %s.has[%s]) && %s", L, L, i, eq);
    sb_line(g->out, g->depth, "bool %s = false;", t);
    sb_line(g->out, g->depth, "for (size_t %s = 0; %s < %s.len && !%s; %s++) {", i, i, L, t, i);
    sb_line(g->out, g->depth + 1, "if (%s) %s = true;", eq, t);
    sb_line(g->out, g->depth, "}");
    val out = {t, NULL, NULL};
    return out;
}

/* sum/count/all/any(elem for x in list if filter) */
static val gen_comprehension(gen *g, const agg_expr *e) {
    const char *fn = e->sval;
    val lv = agg_gc_expr(g, e->rhs);
    const char *L = agg_gc_need(g, lv);
    const char *t = agg_gc_tmp(g), *i = agg_arena_printf(g->a, "i%d", ++g->tmp);
    int is_all = strcmp(fn, "all") == 0, is_any = strcmp(fn, "any") == 0;
    int is_count = strcmp(fn, "count") == 0;
    int is_float = !is_all && !is_any && !is_count && e->type.kind == AGG_T_FLOAT;
    if (is_all || is_any) sb_line(g->out, g->depth, "bool %s = %s;", t, is_all ? "true" : "false");
    else if (is_float) sb_line(g->out, g->depth, "double %s = 0.0;", t);
    else sb_line(g->out, g->depth, "int64_t %s = 0;", t);
    sb_line(g->out, g->depth, "for (size_t %s = 0; %s < %s.len%s; %s++) {", i, i, L,
            is_all ? cat(g, " && ", t, "") : is_any ? cat(g, " && !", t, "") : "", i);
    g->depth++;
    bind_elem(g, e->bind, L, i, e->rhs->type.elem);
    e->bind->name = e->var[0] ? e->var : "element";
    if (e->filter) {
        val f = agg_gc_expr(g, e->filter);
        sb_line(g->out, g->depth, "if (!(%s)) continue;", agg_gc_need(g, f));
    }
    val v = agg_gc_expr(g, e->lhs);
    const char *x = agg_gc_need(g, v);
    if (is_all) {
        sb_line(g->out, g->depth, "if (!(%s)) %s = false;", x, t);
    } else if (is_any || is_count) {
        sb_line(g->out, g->depth, is_any ? "if (%s) %s = true;" : "if (%s) %s++;", x, t);
    } else if (is_float) {
        sb_line(g->out, g->depth, "%s += %s;", t, x);
    } else {
        sb_line(g->out, g->depth, "if (inc_i64_add(%s, %s, &%s)) {", t, x, t);
        g->depth++;
        agg_gc_fail(g, "integer_overflow");
        g->depth--;
        sb_line(g->out, g->depth, "}");
    }
    g->depth--;
    sb_line(g->out, g->depth, "}");
    if (is_float) {
        g->used_done = g->used_err = 1;
        sb_line(g->out, g->depth, "if (!isfinite(%s)) {", t);
        g->depth++;
        agg_gc_fail(g, "float_overflow");
        g->depth--;
        sb_line(g->out, g->depth, "}");
    }
    val out = {t, NULL, NULL};
    return out;
}

val agg_gl_expr(gen *g, const agg_expr *e) {
    val out = {NULL, NULL, NULL};
    if (e->kind == AGG_E_NAME && e->ref == AGG_REF_VAR) {
        out.v = e->bind->c_value;
        out.has = e->bind->c_has;
        out.src = e->bind->name[0] ? e->bind->name : "element";
        return out;
    }
    switch (e->kind) {
    case AGG_E_FIELD: return gen_field(g, e);
    case AGG_E_BINARY: return gen_in(g, e);
    case AGG_E_CALL:
        if (strcmp(e->sval, "len") == 0) {
            val l = agg_gc_expr(g, e->lhs);
            out.v = agg_arena_printf(g->a, "(int64_t)%s.len", agg_gc_need(g, l));
            return out;
        }
        return gen_comprehension(g, e);
    default: return out; /* AGG_E_EMPTY: only stored (agg_gl_store) */
    }
}

/* --------------------------------------------------------- statements */

static void assign_from(gen *g, const char *lhs, const char *src, const agg_type *t) {
    g->used_done = g->used_err = 1;
    sb_line(g->out, g->depth, "if (inc_value_assign(&%s, &%s, %s, err) != 0) goto done;", lhs, src,
         td_addr(g, t));
}

/* Make lhs empty (a list) or all zero (a record), freeing what it owns. */
static void assign_zero(gen *g, const char *lhs, const agg_type *t) {
    const char *z = agg_arena_printf(g->a, "z%d", ++g->tmp);
    sb_line(g->out, g->depth, "{");
    g->depth++;
    sb_line(g->out, g->depth, "%s %s;", agg_gl_c_type(g, t), z);
    sb_line(g->out, g->depth, "memset(&%s, 0, sizeof %s);", z, z);
    assign_from(g, lhs, z, t);
    g->depth--;
    sb_line(g->out, g->depth, "}");
}

void agg_gl_store(gen *g, const char *lhs, const char *has, const agg_type *ft, val v,
                  const agg_type *vt) {
    if (vt->kind == AGG_T_NULL || (vt->kind == AGG_T_LIST && !vt->elem)) {
        assign_zero(g, lhs, ft);
        if (has) sb_line(g->out, g->depth, "%s = %s;", has, vt->kind == AGG_T_NULL ? "false" : "true");
        return;
    }
    if (has && v.has) {
        sb_line(g->out, g->depth, "if (%s) {", v.has);
        g->depth++;
        assign_from(g, lhs, v.v, ft);
        sb_line(g->out, g->depth, "%s = true;", has);
        g->depth--;
        sb_line(g->out, g->depth, "} else {");
        g->depth++;
        assign_zero(g, lhs, ft);
        sb_line(g->out, g->depth, "%s = false;", has);
        g->depth--;
        sb_line(g->out, g->depth, "}");
        return;
    }
    assign_from(g, lhs, agg_gc_need(g, v), ft);
    if (has) sb_line(g->out, g->depth, "%s = true;", has);
}

/* Copy the present value x of type vt into the new element *p. */
static void store_elem(gen *g, const char *p, const agg_type *el, const char *x,
                       const agg_type *vt) {
    g->used_done = g->used_err = 1;
    if (el->kind == AGG_T_STRING)
        sb_line(g->out, g->depth, "if (inc_str_set(%s, %s, err) != 0) goto done;", p, x);
    else if (el->kind == AGG_T_RECORD)
        sb_line(g->out, g->depth, "if (inc_value_assign(%s, &%s, %s, err) != 0) goto done;", p, x,
             agg_arena_cat(g->a, "&", agg_c_record_type(g->a, g->d, el->rec), (char *)NULL));
    else if (el->kind == AGG_T_FLOAT && vt->kind == AGG_T_INT)
        sb_line(g->out, g->depth, "*%s = (double)%s;", p, x);
    else
        sb_line(g->out, g->depth, "*%s = %s;", p, x);
}

/* A new element at the end of L, in the variable it returns. */
static const char *push(gen *g, const char *L, const agg_type *lt) {
    const agg_type *el = lt->elem;
    agg_type plain = *el;
    plain.optional = false;
    const char *ct = agg_gc_c_type(g, &plain);
    const char *p = agg_arena_printf(g->a, "p%d", ++g->tmp);
    g->used_done = g->used_err = 1;
    sb_line(g->out, g->depth, "%s%s*%s = inc_list_push(&%s, %s, err);", ct,
            el->kind == AGG_T_STRING ? "" : " ", p, L, td_addr(g, lt));
    sb_line(g->out, g->depth, "if (!%s) goto done;", p);
    return p;
}

/* xs += ys: every element of ys, in order (ys may be xs itself: its
 * length is taken once and its items re-read after each push). */
static void append_all(gen *g, const char *L, const agg_type *lt, val v, const agg_type *vt) {
    const char *Y = agg_gc_need(g, v);
    const char *i = agg_arena_printf(g->a, "i%d", ++g->tmp);
    const char *n = agg_arena_printf(g->a, "n%d", g->tmp);
    sb_line(g->out, g->depth, "for (size_t %s = 0, %s = %s.len; %s < %s; %s++) {", i, n, Y, i,
            n, i);
    g->depth++;
    const char *p = push(g, L, lt);
    const char *item = agg_arena_printf(g->a, "%s.items[%s]", Y, i);
    store_elem(g, p, lt->elem, item, vt->elem);
    if (vt->elem->optional)
        sb_line(g->out, g->depth, "if (%s.has && !%s.has[%s]) %s.has[%s.len - 1] = false;", Y, Y,
                i, L, L);
    g->depth--;
    sb_line(g->out, g->depth, "}");
}

void agg_gl_assign(gen *g, const agg_stmt *s) {
    const agg_field *f = s->target_field;
    const agg_type *ft = &f->type.type;
    const char *L = agg_arena_printf(g->a, "state->%s", f->name);
    const char *has = ft->optional ? agg_arena_printf(g->a, "state->has_%s", f->name) : NULL;
    if (s->var) { /* xs -= x if cond: backwards, so removals move only
                     elements already visited */
        const char *i = agg_arena_printf(g->a, "i%d", ++g->tmp);
        if (has) {
            sb_line(g->out, g->depth, "if (%s) {", has);
            g->depth++;
        }
        sb_line(g->out, g->depth, "for (size_t %s = %s.len; %s > 0; %s--) {", i, L, i, i);
        g->depth++;
        bind_elem(g, s->bind, L, agg_arena_printf(g->a, "%s - 1", i), ft->elem);
        val c = agg_gc_expr(g, s->cond);
        sb_line(g->out, g->depth, "if (%s) inc_list_remove(&%s, %s, %s - 1);", agg_gc_need(g, c),
                L, td_addr(g, ft), i);
        g->depth--;
        sb_line(g->out, g->depth, "}");
        if (has) {
            g->depth--;
            sb_line(g->out, g->depth, "}");
        }
        return;
    }
    val v = agg_gc_expr(g, s->value);
    const agg_type *vt = &s->value->type;
    if (s->assign_op == AGG_OP_NONE) {
        agg_gl_store(g, L, has, ft, v, vt);
        return;
    }
    const agg_type *el = ft->elem;
    if (s->assign_op == AGG_OP_ADD) {
        if (has) sb_line(g->out, g->depth, "%s = true;", has); /* null += x is [x] */
        if (vt->kind == AGG_T_LIST) {
            append_all(g, L, ft, v, vt);
            return;
        }
        if (vt->kind == AGG_T_NULL) {
            push(g, L, ft);
            sb_line(g->out, g->depth, "%s.has[%s.len - 1] = false;", L, L);
            return;
        }
        if (v.has && el->optional) {
            const char *p = push(g, L, ft);
            sb_line(g->out, g->depth, "if (%s) {", v.has);
            g->depth++;
            store_elem(g, p, el, v.v, vt);
            g->depth--;
            sb_line(g->out, g->depth, "} else {");
            sb_line(g->out, g->depth + 1, "%s.has[%s.len - 1] = false;", L, L);
            sb_line(g->out, g->depth, "}");
            return;
        }
        const char *x = agg_gc_need(g, v);
        const char *p = push(g, L, ft);
        store_elem(g, p, el, x, vt);
        return;
    }
    /* xs -= x: every element equal to x */
    const char *x = agg_gc_need(g, v);
    const char *i = agg_arena_printf(g->a, "i%d", ++g->tmp);
    const char *item = agg_arena_printf(g->a, "%s.items[%s - 1]", L, i);
    const char *eq = agg_gc_eq(g, el, item, vt, x);
    if (el->optional)
        eq = agg_arena_printf(g->a, "(!%s.has || %s.has[%s - 1]) && %s", L, L, i, eq);
    if (has) {
        sb_line(g->out, g->depth, "if (%s) {", has);
        g->depth++;
    }
    sb_line(g->out, g->depth, "for (size_t %s = %s.len; %s > 0; %s--) {", i, L, i, i);
    sb_line(g->out, g->depth + 1, "if (%s) inc_list_remove(&%s, %s, %s - 1);", eq, L,
            td_addr(g, ft), i);
    sb_line(g->out, g->depth, "}");
    if (has) {
        g->depth--;
        sb_line(g->out, g->depth, "}");
    }
}
