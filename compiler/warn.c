/* warn.c - the warnings of a checked program (see warn.h):
 *  - an event no execute block emits (an `extern` execute may emit any
 *    event of its aggregate, so an aggregate with one gets no warning);
 *  - an execute block that emits nothing on any path yet accepts some
 *    commands: each one it accepts changes nothing (an empty block,
 *    `execute C {}`, says so on purpose, like `apply E {}`; a block that
 *    always fails is a refusal, not a mistake);
 *  - a rejection code used once that is one or two letters away from
 *    another code (`acount_not_found` next to `account_not_found`). */
#include "warn.h"

#include <stdlib.h>
#include <string.h>

#include "suggest.h"

/* Does the body emit `ev` (or any event, when ev is NULL) on some path? */
static int emits(const agg_stmt *s, const agg_event *ev) {
    for (; s; s = s->next) {
        if (s->kind == AGG_S_EMIT && (!ev || s->event == ev)) return 1;
        if (s->kind == AGG_S_IF && (emits(s->then_body, ev) || emits(s->else_body, ev)))
            return 1;
    }
    return 0;
}

static void warn_events(const agg_aggregate *g, agg_diag *d) {
    for (const agg_execute *x = g->executes; x; x = x->next)
        if (x->is_extern) return;
    for (const agg_event *ev = g->events; ev; ev = ev->next) {
        /* an event with a history (`was`, upcast blocks) may be kept only
         * to read what older versions stored */
        if (ev->was || ev->upcasts) continue;
        int emitted = 0;
        for (const agg_execute *x = g->executes; x && !emitted; x = x->next)
            emitted = emits(x->body, ev);
        if (!emitted)
            agg_warning(d, ev->loc, "event %s is never emitted: no execute block of %s emits it",
                        ev->name, g->name);
    }
}

/* Is there a path through the block that reaches its end without
 * emitting or failing? */
static int quiet_path(const agg_stmt *s) {
    for (; s; s = s->next) {
        if (s->kind == AGG_S_EMIT || s->kind == AGG_S_FAIL) return 0;
        if (s->kind == AGG_S_IF && !quiet_path(s->then_body) &&
            !(s->has_else ? quiet_path(s->else_body) : 1))
            return 0;
    }
    return 1;
}

static void warn_executes(const agg_aggregate *g, agg_diag *d) {
    for (const agg_execute *x = g->executes; x; x = x->next)
        if (!x->is_extern && x->body && !emits(x->body, NULL) && quiet_path(x->body))
            agg_warning(d, x->loc,
                        "execute %s never emits an event: every %s it accepts changes "
                        "nothing",
                        x->command_name, x->command_name);
}

/* Every use of a rejection code, in source order. */
typedef struct code_use {
    const char *name;
    agg_loc loc;
} code_use;

typedef struct uses {
    code_use *v;
    size_t n, cap;
} uses;

/* (out of memory: the use is left out; this is only a hint) */
static void add_use(uses *u, const agg_code *c) {
    if (!c->name) return;
    if (u->n == u->cap) {
        size_t cap = u->cap ? 2 * u->cap : 64;
        code_use *v = realloc(u->v, cap * sizeof *v);
        if (!v) return;
        u->v = v;
        u->cap = cap;
    }
    u->v[u->n].name = c->name;
    u->v[u->n].loc = c->loc;
    u->n++;
}

static void collect(uses *u, const agg_stmt *s) {
    for (; s; s = s->next) {
        if (s->kind == AGG_S_REQUIRE || s->kind == AGG_S_FAIL) add_use(u, &s->code);
        collect(u, s->then_body);
        collect(u, s->else_body);
    }
}

static size_t count(const uses *u, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < u->n; i++) n += strcmp(u->v[i].name, name) == 0;
    return n;
}

static void warn_codes(const agg_program *p, agg_diag *d) {
    uses u = {NULL, 0, 0};
    for (const agg_aggregate *g = p->aggregates; g; g = g->next) {
        for (const agg_command *m = g->commands; m; m = m->next)
            for (const agg_check *k = m->checks; k; k = k->next) add_use(&u, &k->code);
        for (const agg_execute *x = g->executes; x; x = x->next) collect(&u, x->body);
    }
    for (size_t i = 0; i < u.n; i++) {
        if (count(&u, u.v[i].name) != 1) continue;
        for (size_t j = 0; j < p->n_codes; j++) {
            const char *other = p->codes[j];
            if (strcmp(other, u.v[i].name) == 0 || count(&u, other) < 2 ||
                !agg_near_miss(u.v[i].name, other))
                continue;
            agg_warning(d, u.v[i].loc,
                        "rejection code '%s' is used only here; did you mean '%s'?",
                        u.v[i].name, other);
            break;
        }
    }
    free(u.v);
}

void agg_warn_program(const agg_program *prog, agg_diag *diag) {
    for (const agg_aggregate *g = prog->aggregates; g; g = g->next) {
        warn_events(g, diag);
        warn_executes(g, diag);
    }
    warn_codes(prog, diag);
}
