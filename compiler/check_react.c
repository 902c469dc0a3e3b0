/* check_react.c - the checker's part for reactions (docs/language.md,
 * "Reactions"): `react Event as name { dispatch C {...} then C {...} else
 * C {...} }`.
 *
 * A reaction's fields are checked as an emit's are (check.c's expression
 * checker in the reaction context: event.f, state.f, bare aggregate_id), a
 * command's aggregate_id among the required fields.  Then the graph
 * event -> command (reactions) and command -> event (what its execute block
 * can emit; an extern one any event of its aggregate) is searched for
 * cycles: a reaction whose commands can lead back to its own event would
 * run forever, so it is an error. */
#include "check_react.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

typedef struct rchk {
    agg_program *prog;
    agg_arena *a;
    agg_diag *d;
    agg_field *id; /* the implicit aggregate_id of every command */
} rchk;

static agg_event *lookup_event(const agg_program *p, const char *name) {
    for (agg_aggregate *g = p->aggregates; g; g = g->next)
        for (agg_event *e = g->events; e; e = e->next)
            if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

static agg_command *lookup_command(const agg_program *p, const char *name) {
    for (agg_aggregate *g = p->aggregates; g; g = g->next)
        for (agg_command *m = g->commands; m; m = m->next)
            if (strcmp(m->name, name) == 0) return m;
    return NULL;
}

static bool is_set(const agg_init *inits, const char *name) {
    for (const agg_init *i = inits; i; i = i->next)
        if (strcmp(i->name, name) == 0) return true;
    return false;
}

/* One step (`kw` is dispatch, then or else): its command, its fields. */
static void check_step(rchk *k, agg_reaction *r, agg_react_step *s, const char *kw) {
    agg_command *m = lookup_command(k->prog, s->command_name);
    if (!m) agg_error(k->d, s->command_loc, "unknown command '%s'", s->command_name);
    s->command = m;
    for (agg_init *i = s->inits; i; i = i->next) {
        agg_type t = {AGG_T_ERROR, false, NULL, NULL, NULL};
        if (r->event) t = agg_check_react_expr(k->prog, k->a, k->d, r->event, i->value);
        if (!m) continue;
        agg_field *f = strcmp(i->name, "aggregate_id") == 0 ? k->id
                                                            : agg_find_field(m->fields, i->name);
        if (!f) {
            agg_error(k->d, i->loc, "command %s has no field '%s'", m->name, i->name);
            agg_note(k->d, m->loc, "%s is declared here", m->name);
            continue;
        }
        i->field = f;
        for (agg_init *j = s->inits; j != i; j = j->next)
            if (strcmp(j->name, i->name) == 0) {
                agg_error(k->d, i->loc, "field '%s' is set twice", i->name);
                agg_note(k->d, j->loc, "first set here");
                break;
            }
        if (!agg_assignable(f->type.type, t))
            agg_error(k->d, i->value->loc, "field '%s' of %s has type %s, not %s", i->name,
                      m->name, agg_type_name(k->a, f->type.type), agg_type_name(k->a, t));
    }
    if (!m) return;
    if (!is_set(s->inits, "aggregate_id"))
        agg_error(k->d, s->command_loc,
                  "%s %s leaves required field 'aggregate_id' unset (the id of the %s it "
                  "goes to)",
                  kw, m->name, m->agg ? m->agg->name : "aggregate");
    for (agg_field *f = m->fields; f; f = f->next)
        if (!f->type.optional && !f->def && !is_set(s->inits, f->name)) {
            agg_error(k->d, s->command_loc, "%s %s leaves required field '%s' unset", kw,
                      m->name, f->name);
            agg_note(k->d, f->loc, "'%s' is declared here", f->name);
        }
}

/* ---------------------------------------------------------------- cycles */

/* One edge of the graph: reaction r dispatches m, which can emit `to`. */
typedef struct edge {
    agg_reaction *r;
    agg_command *m;
    size_t to;
} edge;

/* The graph over events (a node is an event's index): the edges out of
 * each event, built once. */
typedef struct graph {
    agg_event **ev;
    size_t n_ev;
    edge **out; /* out[e]: the edges of the reactions to ev[e] */
    size_t *n_out;
} graph;

static size_t count_emits(const agg_stmt *s) {
    size_t n = 0;
    for (; s; s = s->next)
        n += (s->kind == AGG_S_EMIT) + count_emits(s->then_body) + count_emits(s->else_body);
    return n;
}

static void body_emits(const agg_stmt *s, const agg_event **out, size_t *n) {
    for (; s; s = s->next) {
        if (s->kind == AGG_S_EMIT && s->event) out[(*n)++] = s->event;
        body_emits(s->then_body, out, n);
        body_emits(s->else_body, out, n);
    }
}

/* Add an edge from r's event for each event m can emit: its execute
 * block's emits, or every event of its aggregate when the block is extern
 * (C code may emit any). */
static void add_edges(rchk *k, graph *gr, size_t from, agg_reaction *r, agg_command *m,
                      const size_t *index_of_first, const agg_aggregate *const *aggs) {
    if (!m || !m->execute) return;
    size_t n = 0, cap;
    const agg_event **em;
    if (m->execute->is_extern) {
        cap = 0;
        for (agg_event *e = m->agg->events; e; e = e->next) cap++;
        em = agg_arena_alloc(k->a, (cap + 1) * sizeof *em);
        for (agg_event *e = m->agg->events; e; e = e->next) em[n++] = e;
    } else {
        cap = count_emits(m->execute->body);
        em = agg_arena_alloc(k->a, (cap + 1) * sizeof *em);
        body_emits(m->execute->body, em, &n);
    }
    edge *v = agg_arena_alloc(k->a, (gr->n_out[from] + n + 1) * sizeof *v);
    if (gr->n_out[from]) memcpy(v, gr->out[from], gr->n_out[from] * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        /* an event's index: its aggregate's first index plus its rank */
        size_t a = 0, rank = 0;
        while (aggs[a] != em[i]->agg) a++;
        for (const agg_event *e = aggs[a]->events; e != em[i]; e = e->next) rank++;
        v[gr->n_out[from]++] = (edge){r, m, index_of_first[a] + rank};
    }
    gr->out[from] = v;
}

/* How the search reached an event: its edge, from which event (n_ev: from
 * the reaction searched from). */
typedef struct via {
    const edge *e;
    size_t from;
    bool seen;
} via;

/* Report the cycle through r0 (whose event is `target`), if any; breadth
 * first, so the shortest. */
static void find_cycle(rchk *k, const graph *gr, agg_reaction *r0, size_t target,
                       bool *reported, agg_reaction **all, size_t n_re) {
    via *v = agg_arena_alloc(k->a, gr->n_ev * sizeof *v);
    memset(v, 0, gr->n_ev * sizeof *v);
    size_t *queue = agg_arena_alloc(k->a, (gr->n_ev + 1) * sizeof *queue);
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < gr->n_out[target]; i++) {
        const edge *e = &gr->out[target][i];
        if (e->r != r0 || v[e->to].seen) continue;
        v[e->to] = (via){e, gr->n_ev, true};
        queue[tail++] = e->to;
    }
    while (head < tail && !v[target].seen) {
        size_t x = queue[head++];
        for (size_t i = 0; i < gr->n_out[x]; i++) {
            const edge *e = &gr->out[x][i];
            if (v[e->to].seen) continue;
            v[e->to] = (via){e, x, true};
            queue[tail++] = e->to;
        }
    }
    if (!v[target].seen) return;
    /* the path backwards from the target, then written forwards */
    size_t len = 0;
    for (size_t x = target; x != gr->n_ev && len <= gr->n_ev; x = v[x].from) len++;
    size_t *path = agg_arena_alloc(k->a, (len + 1) * sizeof *path);
    size_t at = len;
    for (size_t x = target; at > 0; x = v[x].from) path[--at] = x;
    const char *text = r0->event->name;
    for (size_t p = 0; p < len; p++)
        text = agg_arena_cat(k->a, text, " -> ", v[path[p]].e->m->name, " -> ",
                             gr->ev[path[p]]->name, (char *)NULL);
    agg_error(k->d, r0->loc,
              "reaction '%s' leads back to its own event (an endless chain): %s", r0->name,
              text);
    for (size_t p = 0; p < len; p++) {
        agg_reaction *r = v[path[p]].e->r;
        for (size_t i = 0; i < n_re; i++)
            if (all[i] == r) reported[i] = true;
        if (r != r0)
            agg_note(k->d, r->loc, "reaction '%s' reacts to %s with %s", r->name,
                     r->event->name, v[path[p]].e->m->name);
    }
}

static void check_cycles(rchk *k) {
    graph gr = {NULL, 0, NULL, NULL};
    size_t n_agg = 0, n_re = 0;
    for (agg_aggregate *g = k->prog->aggregates; g; g = g->next) {
        n_agg++;
        for (agg_event *e = g->events; e; e = e->next) gr.n_ev++;
    }
    for (agg_reaction *r = k->prog->reactions; r; r = r->next) n_re++;
    if (!n_re || !gr.n_ev) return;
    const agg_aggregate **aggs = agg_arena_alloc(k->a, n_agg * sizeof *aggs);
    size_t *first = agg_arena_alloc(k->a, n_agg * sizeof *first);
    gr.ev = agg_arena_alloc(k->a, gr.n_ev * sizeof *gr.ev);
    gr.out = agg_arena_alloc(k->a, gr.n_ev * sizeof *gr.out);
    gr.n_out = agg_arena_alloc(k->a, gr.n_ev * sizeof *gr.n_out);
    memset(gr.n_out, 0, gr.n_ev * sizeof *gr.n_out);
    size_t i = 0, a = 0;
    for (agg_aggregate *g = k->prog->aggregates; g; g = g->next, a++) {
        aggs[a] = g;
        first[a] = i;
        for (agg_event *e = g->events; e; e = e->next) {
            gr.out[i] = NULL;
            gr.ev[i++] = e;
        }
    }
    agg_reaction **all = agg_arena_alloc(k->a, n_re * sizeof *all);
    size_t *event_of = agg_arena_alloc(k->a, n_re * sizeof *event_of);
    i = 0;
    for (agg_reaction *r = k->prog->reactions; r; r = r->next, i++) {
        all[i] = r;
        size_t e = 0;
        while (gr.ev[e] != r->event) e++; /* every reaction here has its event */
        event_of[i] = e;
        agg_react_step *steps[3] = {r->dispatch, r->on_ok, r->on_rejected};
        for (int s = 0; s < 3; s++)
            if (steps[s]) add_edges(k, &gr, e, r, steps[s]->command, first, aggs);
    }
    bool *reported = agg_arena_alloc(k->a, n_re * sizeof *reported);
    memset(reported, 0, n_re * sizeof *reported);
    for (i = 0; i < n_re; i++)
        if (!reported[i]) find_cycle(k, &gr, all[i], event_of[i], reported, all, n_re);
}

/* ----------------------------------------------------------------- entry */

void agg_check_reactions(agg_program *prog, agg_arena *a, agg_diag *d) {
    agg_reaction **tail = &prog->reactions;
    for (agg_file *f = prog->files; f; f = f->next)
        for (agg_reaction *r = f->reactions; r; r = r->next) {
            *tail = r;
            tail = &r->next;
        }
    *tail = NULL;
    if (!prog->reactions) return;

    rchk k = {prog, a, d, agg_arena_alloc(a, sizeof(agg_field))};
    memset(k.id, 0, sizeof *k.id);
    k.id->name = "aggregate_id";
    k.id->implicit = true;
    k.id->type.name = "string";
    k.id->type.type.kind = AGG_T_STRING;

    int errors_before = d->errors;
    for (agg_reaction *r = prog->reactions; r; r = r->next) {
        agg_check_name(prog, a, d, r->loc, r->name, "reaction");
        for (agg_reaction *o = prog->reactions; o != r; o = o->next)
            if (strcmp(o->name, r->name) == 0) {
                agg_error(d, r->loc, "duplicate reaction '%s'", r->name);
                agg_note(d, o->loc, "the first declaration is here");
                break;
            }
        r->event = lookup_event(prog, r->event_name);
        if (!r->event) agg_error(d, r->event_loc, "unknown event '%s'", r->event_name);
        check_step(&k, r, r->dispatch, "dispatch");
        if (r->on_ok) check_step(&k, r, r->on_ok, "then");
        if (r->on_rejected) check_step(&k, r, r->on_rejected, "else");
    }
    /* a cycle is searched only on reactions that are otherwise right */
    if (d->errors == errors_before) check_cycles(&k);
}
