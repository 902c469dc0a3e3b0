/* check_lists.c - records and lists in the checker (check_lists.h):
 * resolving `list<T>` and record types, the recursion rule, field access,
 * `len`, `in`, the comprehensions sum/count/all/any, and the list and
 * record assignments of apply.  Every operation loops over an existing
 * list at most once per element, so every expression terminates. */
#include "check_lists.h"

#include <string.h>

#include "check.h"
#include "names.h"

static const agg_type T_ERR = {AGG_T_ERROR, false, NULL, NULL, NULL};

agg_record *agg_find_record(const agg_program *p, const char *name) {
    for (agg_record *r = p->records; r; r = r->next)
        if (strcmp(r->name, name) == 0) return r;
    return NULL;
}

bool agg_is_composite(agg_type t) {
    return t.kind == AGG_T_RECORD || t.kind == AGG_T_LIST;
}

static bool is_num(agg_type t) {
    return t.kind == AGG_T_INT || t.kind == AGG_T_FLOAT;
}

static bool same_scalar(const agg_type *a, const agg_type *b) {
    if (a->kind != b->kind) return false;
    if (a->kind == AGG_T_ENUM) return a->enm == b->enm;
    if (a->kind == AGG_T_RECORD) return a->rec == b->rec;
    return true;
}

bool agg_composite_assignable(agg_type to, agg_type from) {
    if (to.kind != from.kind) return false;
    if (to.kind == AGG_T_RECORD) return to.rec == from.rec;
    if (!to.elem || !from.elem) return true; /* `[]` */
    /* list<T?> takes a list<T> (every element present), not the reverse */
    return same_scalar(to.elem, from.elem) && (to.elem->optional || !from.elem->optional);
}

const char *agg_composite_name(agg_arena *a, agg_type t) {
    if (t.kind == AGG_T_RECORD) return t.rec->name;
    if (!t.elem) return "[]";
    return agg_arena_cat(a, "list<", agg_type_name(a, *t.elem), ">", (char *)NULL);
}

agg_bind *agg_find_bind(agg_bind *scope, const char *name) {
    for (; scope; scope = scope->outer)
        if (strcmp(scope->name, name) == 0) return scope;
    return NULL;
}

/* ---------------------------------------------------------------- types */

bool agg_lists_resolve(agg_lcheck *lc, agg_typeref *t) {
    if (!t->is_list) {
        agg_record *r = agg_find_record(lc->prog, t->name);
        if (!r) return false;
        t->type = T_ERR;
        t->type.kind = AGG_T_RECORD;
        t->type.rec = r;
        t->type.optional = t->optional;
        return true;
    }
    t->type = T_ERR;
    if (strcmp(t->name, "list") != 0) {
        agg_error(lc->d, t->loc, "unknown type '%s<...>': the only generic type is list<T>",
                  t->name);
        return true;
    }
    agg_typeref er;
    memset(&er, 0, sizeof er);
    er.loc = t->elem_loc;
    er.name = t->elem_name;
    er.optional = t->elem_optional;
    lc->resolve(lc->u, &er);
    if (er.type.kind == AGG_T_ERROR) return true;
    agg_type *elem = agg_arena_alloc(lc->a, sizeof *elem);
    *elem = er.type;
    t->type.kind = AGG_T_LIST;
    t->type.elem = elem;
    t->type.optional = t->optional;
    return true;
}

/* Depth-first over the records a record embeds by value (a list breaks
 * the chain: its items are allocated).  mark: 0 new, 1 on the path, 2
 * done.  `path` holds the names on the current path for the message. */
static void visit(agg_lcheck *lc, agg_record *r, const char **path, int depth) {
    r->mark = 1;
    path[depth] = r->name;
    for (agg_field *f = r->fields; f; f = f->next) {
        agg_type t = f->type.type;
        if (t.kind != AGG_T_RECORD) continue;
        if (t.rec->mark == 1) {
            const char *s = t.rec->name;
            int from = depth;
            while (from > 0 && strcmp(path[from], t.rec->name) != 0) from--;
            for (int i = from + 1; i <= depth; i++)
                s = agg_arena_cat(lc->a, s, " -> ", path[i], (char *)NULL);
            s = agg_arena_cat(lc->a, s, " -> ", t.rec->name, (char *)NULL);
            agg_error(lc->d, f->type.loc,
                      "record %s contains itself (%s); a record is embedded by value, "
                      "so it can hold its own type only in a list (list<%s>)",
                      t.rec->name, s, t.rec->name);
        } else if (t.rec->mark == 0) {
            visit(lc, t.rec, path, depth + 1);
        }
    }
    r->mark = 2;
}

void agg_lists_check_records(agg_lcheck *lc) {
    size_t n = 0;
    for (agg_record *r = lc->prog->records; r; r = r->next) {
        n++;
        if (!r->fields)
            agg_error(lc->d, r->loc, "record %s has no fields", r->name);
    }
    const char **path = agg_arena_alloc(lc->a, (n + 1) * sizeof *path);
    for (agg_record *r = lc->prog->records; r; r = r->next)
        if (r->mark == 0) visit(lc, r, path, 0);
}

/* ---------------------------------------------------------- expressions */

static const char *tn(agg_lcheck *lc, agg_type t) { return agg_type_name(lc->a, t); }

static agg_type check_field(agg_lcheck *lc, agg_expr *e) {
    agg_type r = lc->check(lc->u, e->lhs);
    if (r.kind == AGG_T_ERROR) return T_ERR;
    if (r.kind != AGG_T_RECORD) {
        agg_error(lc->d, e->loc, "%s has no field '%s': only records have fields",
                  tn(lc, r), e->sval);
        return T_ERR;
    }
    agg_field *f = agg_find_field(r.rec->fields, e->sval);
    if (!f) {
        agg_error(lc->d, e->loc, "record %s has no field '%s'", r.rec->name, e->sval);
        agg_note(lc->d, r.rec->loc, "%s is declared here", r.rec->name);
        return T_ERR;
    }
    e->field = f;
    return f->type.type;
}

/* The list a function or `in` loops over: a list value that is not the
 * literal `[]`. */
static bool loop_list(agg_lcheck *lc, agg_expr *e, agg_type t, const char *what) {
    if (t.kind == AGG_T_ERROR) return false;
    if (e->kind == AGG_E_EMPTY) {
        agg_error(lc->d, e->loc, "%s of the literal [] is constant; write the value", what);
        return false;
    }
    if (t.kind != AGG_T_LIST) {
        agg_error(lc->d, e->loc, "%s needs a list, not %s", what, tn(lc, t));
        return false;
    }
    return true;
}

agg_type agg_lists_in(agg_lcheck *lc, agg_expr *e, agg_type l, agg_type r) {
    agg_type b = {AGG_T_BOOL, false, NULL, NULL, NULL};
    if (l.kind == AGG_T_ERROR || !loop_list(lc, e->rhs, r, "'in'")) return T_ERR;
    const agg_type *el = r.elem;
    if (el->kind == AGG_T_RECORD) {
        agg_error(lc->d, e->loc,
                  "'in' compares whole elements and records cannot be compared; "
                  "use any(...) over a field, e.g. any(x.%s == ... for x in xs)",
                  el->rec->fields && el->rec->fields->name ? el->rec->fields->name : "f");
        return T_ERR;
    }
    if (l.kind == AGG_T_NULL) {
        agg_error(lc->d, e->lhs->loc, "'null in ...' is not supported; test elements "
                                      "with any(x == null for x in xs)");
        return T_ERR;
    }
    if (!(same_scalar(&l, el) || (is_num(l) && is_num(*el)))) {
        agg_error(lc->d, e->loc, "operator 'in' cannot be applied to %s and %s", tn(lc, l),
                  tn(lc, r));
        return T_ERR;
    }
    return b;
}

/* A new variable bound to the elements of a list of type `lt`. */
static agg_bind *bind_var(agg_lcheck *lc, const char *name, agg_loc loc, agg_type lt) {
    if (name[0] && (lc->taken(lc->u, name) || agg_find_bind(*lc->scope, name)))
        agg_error(lc->d, loc,
                  "'%s' already names something here; choose another name for the "
                  "element",
                  name);
    agg_bind *b = agg_arena_alloc(lc->a, sizeof *b);
    memset(b, 0, sizeof *b);
    b->name = name;
    b->loc = loc;
    if (lt.kind == AGG_T_LIST && lt.elem) b->type = *lt.elem;
    else b->type = T_ERR;
    b->outer = *lc->scope;
    return b;
}

static agg_type check_call(agg_lcheck *lc, agg_expr *e) {
    const char *fn = e->sval;
    agg_type t_int = {AGG_T_INT, false, NULL, NULL, NULL};
    agg_type t_bool = {AGG_T_BOOL, false, NULL, NULL, NULL};
    bool is_len = strcmp(fn, "len") == 0, is_sum = strcmp(fn, "sum") == 0,
         is_count = strcmp(fn, "count") == 0,
         is_all = strcmp(fn, "all") == 0 || strcmp(fn, "any") == 0;
    if (!is_len && !is_sum && !is_count && !is_all) {
        agg_error(lc->d, e->loc,
                  "unknown function '%s' (expected len, sum, count, all or any)", fn);
        lc->check(lc->u, e->lhs);
        return T_ERR;
    }
    if (is_len) {
        if (e->var) {
            agg_error(lc->d, e->var_loc, "len takes a list: len(xs)");
            return T_ERR;
        }
        agg_type l = lc->check(lc->u, e->lhs);
        return loop_list(lc, e->lhs, l, "len") ? t_int : T_ERR;
    }
    if (!e->var) {
        if (is_count) {
            agg_error(lc->d, e->loc,
                      "count needs a condition: count(x.qty > 0 for x in xs); the "
                      "number of elements is len(xs)");
            lc->check(lc->u, e->lhs);
            return T_ERR;
        }
        /* sum(xs), all(xs), any(xs): the elements themselves, through an
         * unnamed variable no source text can refer to */
        agg_expr *it = agg_arena_alloc(lc->a, sizeof *it);
        memset(it, 0, sizeof *it);
        it->kind = AGG_E_NAME;
        it->loc = e->lhs->loc;
        it->sval = "";
        e->rhs = e->lhs;
        e->lhs = it;
        e->var = "";
        e->var_loc = it->loc;
    }
    agg_type lt = lc->check(lc->u, e->rhs);
    bool ok = loop_list(lc, e->rhs, lt, fn);
    agg_bind *b = bind_var(lc, e->var, e->var_loc, ok ? lt : T_ERR);
    e->bind = b;
    agg_bind *saved = *lc->scope;
    *lc->scope = b;
    if (e->filter) {
        agg_type f = lc->check(lc->u, e->filter);
        if (f.kind != AGG_T_ERROR && f.kind != AGG_T_BOOL) {
            agg_error(lc->d, e->filter->loc, "the condition after 'if' must be a bool, not %s",
                      tn(lc, f));
            ok = false;
        }
    }
    agg_type v = lc->check(lc->u, e->lhs);
    *lc->scope = saved;
    if (!ok || v.kind == AGG_T_ERROR) return T_ERR;
    if (is_sum) {
        if (!is_num(v)) {
            agg_error(lc->d, e->lhs->loc, "sum adds ints or floats, not %s", tn(lc, v));
            return T_ERR;
        }
        agg_type s = {v.kind, false, NULL, NULL, NULL};
        return s;
    }
    if (v.kind != AGG_T_BOOL) {
        agg_error(lc->d, e->lhs->loc, "%s needs a bool %s, not %s", fn,
                  e->var[0] ? "condition" : "list", tn(lc, v));
        return T_ERR;
    }
    return is_count ? t_int : t_bool;
}

agg_type agg_lists_expr(agg_lcheck *lc, agg_expr *e) {
    switch (e->kind) {
    case AGG_E_FIELD: return check_field(lc, e);
    case AGG_E_CALL: return check_call(lc, e);
    case AGG_E_EMPTY: {
        agg_type t = {AGG_T_LIST, false, NULL, NULL, NULL};
        return t;
    }
    default: return T_ERR;
    }
}

/* ---------------------------------------------------------- assignments */

void agg_lists_assign(agg_lcheck *lc, agg_stmt *s, agg_field *f, agg_type t) {
    agg_type ft = f->type.type;
    if (s->var) { /* xs -= x if cond; */
        bool ok = ft.kind == AGG_T_LIST;
        if (!ok && ft.kind != AGG_T_ERROR)
            agg_error(lc->d, s->target_loc,
                      "'%s -= %s if ...' removes elements of a list; '%s' is %s", s->target,
                      s->var, s->target, tn(lc, ft));
        agg_bind *b = bind_var(lc, s->var, s->var_loc, ok ? ft : T_ERR);
        s->bind = b;
        agg_bind *saved = *lc->scope;
        *lc->scope = b;
        agg_type c = lc->check(lc->u, s->cond);
        *lc->scope = saved;
        if (c.kind != AGG_T_ERROR && c.kind != AGG_T_BOOL)
            agg_error(lc->d, s->cond->loc, "the condition after 'if' must be a bool, not %s",
                      tn(lc, c));
        return;
    }
    if (t.kind == AGG_T_ERROR || ft.kind == AGG_T_ERROR) return;
    if (s->assign_op == AGG_OP_NONE) {
        if (t.kind == AGG_T_NULL ? !ft.optional : !agg_composite_assignable(ft, t))
            agg_error(lc->d, s->value->loc, "cannot assign %s to '%s' of type %s", tn(lc, t),
                      s->target, tn(lc, ft));
        return;
    }
    const char *op = s->assign_op == AGG_OP_ADD ? "+=" : "-=";
    if (ft.kind != AGG_T_LIST) {
        agg_error(lc->d, s->target_loc, "'%s' needs an int, float or list field; '%s' is %s",
                  op, s->target, tn(lc, ft));
        return;
    }
    const agg_type *el = ft.elem;
    bool elem_ok = t.kind == AGG_T_NULL ? el->optional
                                        : (same_scalar(el, &t) ||
                                           (el->kind == AGG_T_FLOAT && t.kind == AGG_T_INT));
    if (s->assign_op == AGG_OP_ADD) {
        if (elem_ok) return; /* append one element */
        if (t.kind == AGG_T_LIST && agg_composite_assignable(ft, t)) {
            if (s->value->kind == AGG_E_EMPTY)
                agg_error(lc->d, s->value->loc, "adding [] changes nothing");
            return; /* append every element */
        }
        agg_error(lc->d, s->value->loc,
                  "cannot add %s to '%s' of type %s (an element is %s)", tn(lc, t), s->target,
                  tn(lc, ft), tn(lc, *el));
        return;
    }
    if (el->kind == AGG_T_RECORD) {
        agg_error(lc->d, s->target_loc,
                  "records cannot be compared: remove them with '%s -= x if <condition>;'",
                  s->target);
        return;
    }
    if (!elem_ok || t.kind == AGG_T_NULL)
        agg_error(lc->d, s->value->loc,
                  "cannot remove %s from '%s' of type %s (an element is %s; "
                  "or write '%s -= x if <condition>;')",
                  tn(lc, t), s->target, tn(lc, ft), tn(lc, *el), s->target);
}

/* ---------------------------------------------------------------- names */

static void use_list(agg_list_use *v, size_t *n, const agg_type *t, agg_loc loc) {
    if (t->kind != AGG_T_LIST || !t->elem) return;
    for (size_t i = 0; i < *n; i++)
        if (same_scalar(&v[i].elem, t->elem) && v[i].elem.optional == t->elem->optional)
            return;
    v[*n].elem = *t->elem;
    v[*n].loc = loc;
    (*n)++;
}

static size_t count_fields(const agg_field *f) {
    size_t n = 0;
    for (; f; f = f->next) n++;
    return n;
}

agg_list_use *agg_list_types(const agg_program *p, agg_arena *a, size_t *n) {
    size_t cap = 1;
    for (const agg_record *r = p->records; r; r = r->next) cap += count_fields(r->fields);
    for (const agg_aggregate *g = p->aggregates; g; g = g->next) {
        cap += count_fields(g->state);
        for (const agg_command *m = g->commands; m; m = m->next) cap += count_fields(m->fields);
        for (const agg_event *m = g->events; m; m = m->next) cap += count_fields(m->fields);
        for (const agg_projection *pr = g->projections; pr; pr = pr->next)
            for (const agg_column *c = pr->columns; c; c = c->next) cap++;
    }
    agg_list_use *v = agg_arena_alloc(a, cap * sizeof *v);
    *n = 0;
#define USE_FIELDS(list)                                                   \
    for (const agg_field *f = (list); f; f = f->next)                      \
        use_list(v, n, &f->type.type, f->loc)
    for (const agg_record *r = p->records; r; r = r->next) USE_FIELDS(r->fields);
    for (const agg_aggregate *g = p->aggregates; g; g = g->next) {
        USE_FIELDS(g->state);
        for (const agg_command *m = g->commands; m; m = m->next) USE_FIELDS(m->fields);
        for (const agg_event *m = g->events; m; m = m->next) USE_FIELDS(m->fields);
        for (const agg_projection *pr = g->projections; pr; pr = pr->next)
            for (const agg_column *c = pr->columns; c; c = c->next)
                use_list(v, n, &c->col_type, c->loc);
    }
#undef USE_FIELDS
    return v;
}

const char *agg_c_elem_base(agg_arena *a, const char *d, const agg_type *elem) {
    switch (elem->kind) {
    case AGG_T_ENUM: return agg_c_message(a, d, elem->enm->name);
    case AGG_T_RECORD: return agg_c_message(a, d, elem->rec->name);
    default: {
        agg_type plain = *elem;
        plain.optional = false;
        return agg_arena_cat(a, d, "_", agg_type_name(a, plain), (char *)NULL);
    }
    }
}

const char *agg_c_list(agg_arena *a, const char *d, const agg_type *elem) {
    return agg_arena_cat(a, agg_c_elem_base(a, d, elem), "_list", (char *)NULL);
}

const char *agg_c_list_type(agg_arena *a, const char *d, const agg_type *elem) {
    return agg_arena_cat(a, agg_c_elem_base(a, d, elem),
                         elem->optional ? "_opt_list_type" : "_list_type", (char *)NULL);
}

const char *agg_c_record_type(agg_arena *a, const char *d, const agg_record *r) {
    return agg_arena_cat(a, agg_c_message(a, d, r->name), "_record_type", (char *)NULL);
}

void agg_lists_names(const agg_program *p, agg_arena *a,
                     void (*add)(void *u, const char *cname, agg_loc loc, const char *what),
                     void *u) {
    const char *d = p->domain;
    for (const agg_record *r = p->records; r; r = r->next) {
        const char *c = agg_c_message(a, d, r->name);
        add(u, c, r->loc, r->name);
        add(u, agg_cname(a, AGG_CN_MSG_DESC, c), r->loc, r->name);
        add(u, agg_cname(a, AGG_CN_MSG_FIELDS, c), r->loc, r->name);
        add(u, agg_c_record_type(a, d, r), r->loc, r->name);
    }
    size_t n = 0;
    agg_list_use *v = agg_list_types(p, a, &n);
    for (size_t i = 0; i < n; i++) {
        agg_type t = {AGG_T_LIST, false, NULL, NULL, &v[i].elem};
        const char *what = agg_composite_name(a, t);
        /* list<T> and list<T?> share the typedef: register it once */
        bool first = true;
        for (size_t j = 0; j < i; j++)
            if (same_scalar(&v[j].elem, &v[i].elem)) first = false;
        if (first) add(u, agg_c_list(a, d, &v[i].elem), v[i].loc, what);
        add(u, agg_c_list_type(a, d, &v[i].elem), v[i].loc, what);
    }
}
