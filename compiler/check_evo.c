/* check_evo.c - the checker's rules for schema evolution
 * (docs/evolution.md): `upcast N { FIELDS } { ASSIGNMENTS }` blocks and
 * `was OLD` names of events.
 *
 * Blocks are numbered 1, 2, ... in order; block N declares the fields
 * stored as version N and builds version N+1 (the next block's fields, or
 * the event's own for the last block) with assignments whose values read
 * `old.f`, checked like apply rules.  Every required field of version N+1
 * must be set on every path.  `was` names must not be events of the domain
 * and must not be named twice. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_int.h"

typedef struct evo {
    checker *c;
    agg_diag *d;
    agg_arena *a;
    agg_aggregate *g;
    agg_event *ev;
    agg_upcast *up;
    agg_field **target; /* version N+1's fields, by index */
    size_t n_target;
} evo;

static int target_index(const evo *x, const char *name) {
    for (size_t i = 0; i < x->n_target; i++)
        if (strcmp(x->target[i]->name, name) == 0) return (int)i;
    return -1;
}

/* Check a statement list; `set` (one flag per target field) is what is
 * assigned on every path, in and out. */
static void check_stmts(evo *x, agg_stmt *s, bool *set) {
    for (; s; s = s->next) {
        switch (s->kind) {
        case AGG_S_ASSIGN: {
            agg_type t = agg_chk_upcast_expr(x->c, x->g, x->ev, x->up, s->value);
            if (s->assign_op != AGG_OP_NONE) {
                agg_error(x->d, s->target_loc,
                          "'%s=' is not allowed in an upcast: it builds each field of the "
                          "next version once, with '='",
                          s->assign_op == AGG_OP_ADD ? "+" : "-");
                break;
            }
            int i = target_index(x, s->target);
            if (i < 0) {
                agg_error(x->d, s->target_loc, "version %lld of %s has no field '%s'",
                          (long long)x->up->version + 1, x->ev->name, s->target);
                break;
            }
            agg_field *f = x->target[i];
            s->target_field = f;
            if (set[i])
                agg_error(x->d, s->target_loc, "field '%s' is set twice", s->target);
            set[i] = true;
            if (!agg_chk_assignable(f->type.type, t))
                agg_error(x->d, s->value->loc, "cannot assign %s to '%s' of type %s",
                          agg_type_name(x->a, t), s->target,
                          agg_type_name(x->a, f->type.type));
            break;
        }
        case AGG_S_IF: {
            agg_type t = agg_chk_upcast_expr(x->c, x->g, x->ev, x->up, s->cond);
            if (t.kind != AGG_T_ERROR && t.kind != AGG_T_BOOL)
                agg_error(x->d, s->cond->loc, "the condition of 'if' must be a bool, not %s",
                          agg_type_name(x->a, t));
            size_t n = x->n_target ? x->n_target : 1;
            bool *a = agg_arena_alloc(x->a, n), *b = agg_arena_alloc(x->a, n);
            memcpy(a, set, x->n_target);
            memcpy(b, set, x->n_target);
            check_stmts(x, s->then_body, a);
            check_stmts(x, s->else_body, b);
            for (size_t i = 0; i < x->n_target; i++) set[i] = a[i] && b[i];
            break;
        }
        default: {
            /* require, fail, emit and any statement added later */
            const char *what = s->kind == AGG_S_REQUIRE ? "'require'"
                               : s->kind == AGG_S_FAIL  ? "'fail'"
                               : s->kind == AGG_S_EMIT  ? "'emit'"
                                                        : "this statement";
            agg_error(x->d, s->loc,
                      "%s is not allowed in an upcast: it only builds the fields of "
                      "the next version",
                      what);
            break;
        }
        }
    }
}

static void check_upcast(evo *x, agg_upcast *u, agg_field *target) {
    x->up = u;
    x->n_target = 0;
    for (agg_field *f = target; f; f = f->next) x->n_target++;
    x->target = agg_arena_alloc(x->a, (x->n_target + 1) * sizeof *x->target);
    size_t i = 0;
    for (agg_field *f = target; f; f = f->next) x->target[i++] = f;
    u->target = target;
    bool *set = agg_arena_alloc(x->a, x->n_target + 1);
    check_stmts(x, u->body, set);
    for (i = 0; i < x->n_target; i++) {
        agg_field *f = x->target[i];
        if (set[i] || f->type.optional || f->def || !f->name) continue;
        agg_error(x->d, u->loc, "upcast %lld of %s leaves required field '%s' of version %lld unset",
                  (long long)u->version, x->ev->name, f->name, (long long)u->version + 1);
        agg_note(x->d, f->loc, "'%s' is declared here", f->name);
        for (agg_field *o = u->fields; o; o = o->next)
            if (o->name && strcmp(o->name, f->name) == 0)
                agg_note(x->d, o->loc, "'%s = old.%s;' copies the stored value", f->name,
                         f->name);
    }
}

static void check_event(evo *x, agg_event *ev) {
    x->ev = ev;
    long long want = 1;
    for (agg_upcast *u = ev->upcasts; u; u = u->next, want++) {
        agg_chk_fields(x->c, u->fields, "event",
                       agg_arena_printf(x->a, "%s (upcast %lld)", ev->name,
                                        (long long)u->version));
        if (u->version != want)
            agg_error(x->d, u->loc,
                      "upcast blocks of %s must be numbered 1, 2, ... in order: expected "
                      "'upcast %lld', found 'upcast %lld'",
                      ev->name, want, (long long)u->version);
        check_upcast(x, u, u->next ? u->next->fields : ev->fields);
    }
}

/* `was` names: not an event of the domain, not named twice. */
static void check_was(evo *x, agg_program *p) {
    for (agg_aggregate *g = p->aggregates; g; g = g->next)
        for (agg_event *ev = g->events; ev; ev = ev->next)
            for (agg_name *n = ev->was; n; n = n->next) {
                agg_event *cur = NULL;
                for (agg_aggregate *h = p->aggregates; h && !cur; h = h->next)
                    for (agg_event *e = h->events; e && !cur; e = e->next)
                        if (e->name && strcmp(e->name, n->name) == 0) cur = e;
                if (cur) {
                    agg_error(x->d, n->loc,
                              "'was %s': %s is an event of the domain; 'was' names event "
                              "types that no longer exist",
                              n->name, n->name);
                    agg_note(x->d, cur->loc, "%s is declared here", cur->name);
                    continue;
                }
                /* the first mention of the name, in declaration order */
                agg_name *first = NULL;
                for (agg_aggregate *h = p->aggregates; h && !first; h = h->next)
                    for (agg_event *e = h->events; e && !first; e = e->next)
                        for (agg_name *m = e->was; m && !first; m = m->next)
                            if (strcmp(m->name, n->name) == 0) first = m;
                if (first != n) {
                    agg_error(x->d, n->loc,
                              "'%s' is named in 'was' twice: stored %s events can be read "
                              "as only one event",
                              n->name, n->name);
                    agg_note(x->d, first->loc, "first named here");
                }
            }
}

void agg_check_evolution(checker *c) {
    evo x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.d = agg_chk_diag(c);
    x.a = agg_chk_arena(c);
    agg_program *p = agg_chk_program(c);
    for (agg_aggregate *g = p->aggregates; g; g = g->next) {
        x.g = g;
        for (agg_event *ev = g->events; ev; ev = ev->next) check_event(&x, ev);
    }
    check_was(&x, p);
}
