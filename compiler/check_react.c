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

static agg_field *field_named(agg_field *list, const char *name) {
    for (agg_field *f = list; f; f = f->next)
        if (strcmp(f->name, name) == 0) return f;
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
        agg_type t = {AGG_T_ERROR, false, NULL};
        if (r->event) t = agg_check_react_expr(k->prog, k->a, k->d, r->event, i->value);
        if (!m) continue;
        agg_field *f = strcmp(i->name, "aggregate_id") == 0 ? k->id
                                                            : field_named(m->fields, i->name);
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

typedef struct graph {
    agg_event **ev; /* every event; a node is its index */
    size_t n_ev;
    agg_reaction **re;
    size_t n_re;
} graph;

static size_t event_index(const graph *gr, const agg_event *e) {
    for (size_t i = 0; i < gr->n_ev; i++)
        if (gr->ev[i] == e) return i;
    return gr->n_ev;
}

/* The events an execute body can emit, appended to out[] (room for all). */
static void body_emits(const agg_stmt *s, agg_event **out, size_t *n) {
    for (; s; s = s->next) {
        if (s->kind == AGG_S_EMIT && s->event) out[(*n)++] = s->event;
        body_emits(s->then_body, out, n);
        body_emits(s->else_body, out, n);
    }
}

static size_t count_emits(const agg_stmt *s) {
    size_t n = 0;
    for (; s; s = s->next)
        n += (s->kind == AGG_S_EMIT) + count_emits(s->then_body) + count_emits(s->else_body);
    return n;
}

/* What the command can emit: its execute block's emits, or every event of
 * its aggregate when the block is extern (C code may emit any). */
static agg_event **command_emits(rchk *k, const agg_command *m, size_t *n) {
    *n = 0;
    if (!m || !m->execute) return NULL;
    if (m->execute->is_extern) {
        size_t c = 0;
        for (agg_event *e = m->agg->events; e; e = e->next) c++;
        agg_event **v = agg_arena_alloc(k->a, (c + 1) * sizeof *v);
        for (agg_event *e = m->agg->events; e; e = e->next) v[(*n)++] = e;
        return v;
    }
    agg_event **v = agg_arena_alloc(k->a, (count_emits(m->execute->body) + 1) * sizeof *v);
    body_emits(m->execute->body, v, n);
    return v;
}

/* How the search reached an event: through reaction `r` dispatching `m`,
 * from event `from` (n_ev: the reaction searched from). */
typedef struct via {
    agg_reaction *r;
    agg_command *m;
    size_t from;
    bool seen;
} via;

/* Visit the events reaction r's commands can emit, reached from `from`. */
static void expand(rchk *k, const graph *gr, agg_reaction *r, size_t from, via *v,
                   size_t *queue, size_t *tail) {
    agg_react_step *steps[3] = {r->dispatch, r->on_ok, r->on_rejected};
    for (int s = 0; s < 3; s++) {
        if (!steps[s] || !steps[s]->command) continue;
        size_t n;
        agg_event **em = command_emits(k, steps[s]->command, &n);
        for (size_t j = 0; j < n; j++) {
            size_t e = event_index(gr, em[j]);
            if (e == gr->n_ev || v[e].seen) continue;
            v[e] = (via){r, steps[s]->command, from, true};
            queue[(*tail)++] = e;
        }
    }
}

/* Report the cycle through r0, if any (breadth first: the shortest). */
static void find_cycle(rchk *k, const graph *gr, agg_reaction *r0, bool *reported) {
    size_t target = event_index(gr, r0->event);
    via *v = agg_arena_alloc(k->a, gr->n_ev * sizeof *v);
    memset(v, 0, gr->n_ev * sizeof *v);
    size_t *queue = agg_arena_alloc(k->a, gr->n_ev * sizeof *queue);
    size_t head = 0, tail = 0;
    expand(k, gr, r0, gr->n_ev, v, queue, &tail);
    while (head < tail && !v[target].seen) {
        size_t e = queue[head++];
        for (size_t i = 0; i < gr->n_re; i++)
            if (gr->re[i]->event == gr->ev[e]) expand(k, gr, gr->re[i], e, v, queue, &tail);
    }
    if (!v[target].seen) return;
    /* the path backwards from the target, then written forwards */
    size_t len = 0;
    for (size_t e = target; e != gr->n_ev && len <= gr->n_ev; e = v[e].from) len++;
    size_t *path = agg_arena_alloc(k->a, (len + 1) * sizeof *path);
    size_t at = len;
    for (size_t e = target; at > 0; e = v[e].from) path[--at] = e;
    const char *text = r0->event->name;
    for (size_t p = 0; p < len; p++)
        text = agg_arena_cat(k->a, text, " -> ", v[path[p]].m->name, " -> ",
                             gr->ev[path[p]]->name, (char *)NULL);
    agg_error(k->d, r0->loc,
              "reaction '%s' leads back to its own event (an endless chain): %s", r0->name,
              text);
    for (size_t p = 0; p < len; p++) {
        agg_reaction *r = v[path[p]].r;
        for (size_t i = 0; i < gr->n_re; i++)
            if (gr->re[i] == r) reported[i] = true;
        if (r != r0)
            agg_note(k->d, r->loc, "reaction '%s' reacts to %s with %s", r->name,
                     r->event->name, v[path[p]].m->name);
    }
}

static void check_cycles(rchk *k) {
    graph gr = {NULL, 0, NULL, 0};
    for (agg_aggregate *g = k->prog->aggregates; g; g = g->next)
        for (agg_event *e = g->events; e; e = e->next) gr.n_ev++;
    for (agg_reaction *r = k->prog->reactions; r; r = r->next) gr.n_re++;
    if (!gr.n_re || !gr.n_ev) return;
    gr.ev = agg_arena_alloc(k->a, gr.n_ev * sizeof *gr.ev);
    gr.re = agg_arena_alloc(k->a, gr.n_re * sizeof *gr.re);
    size_t i = 0;
    for (agg_aggregate *g = k->prog->aggregates; g; g = g->next)
        for (agg_event *e = g->events; e; e = e->next) gr.ev[i++] = e;
    i = 0;
    for (agg_reaction *r = k->prog->reactions; r; r = r->next) gr.re[i++] = r;
    bool *reported = agg_arena_alloc(k->a, gr.n_re * sizeof *reported);
    memset(reported, 0, gr.n_re * sizeof *reported);
    for (i = 0; i < gr.n_re; i++)
        if (!reported[i] && gr.re[i]->event) find_cycle(k, &gr, gr.re[i], reported);
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
