/* gen_react.c - the C of reactions (docs/language.md, "Reactions"): one
 * static inc_event_handler_fn per `react` declaration and the domain's
 * `reactions` table; and their edges in the .dot picture.
 *
 * A reaction function computes every command it may dispatch first (the
 * fields with gen_c.c's compiler of emit initialisers, reading `event->`
 * and, only when a field needs it, `state->`, the emitting aggregate as of
 * the event from inc_handler_event_state), so a computation that fails
 * (an overflow, a null read) fails before anything was dispatched.  Then
 * it dispatches the first command through inc_handler_dispatch, and the
 * `then` command if that succeeded or the `else` command if the domain
 * rejected it (INC_ERR_REJECTED).  Any other failure, a rejection with no
 * `else`, or a failure of the second command is the reaction's failure: -1
 * and the error (what the runtime does with it is runtime.md's). */
#include <stdbool.h>
#include <string.h>

#include "gen.h"
#include "names.h"

static bool expr_reads(const agg_expr *e, agg_ref_kind ref) {
    if (!e) return false;
    if ((e->kind == AGG_E_NAME || e->kind == AGG_E_MEMBER) && e->ref == ref) return true;
    return expr_reads(e->lhs, ref) || expr_reads(e->rhs, ref);
}

static bool step_reads(const agg_react_step *s, agg_ref_kind ref) {
    if (!s) return false;
    for (const agg_init *i = s->inits; i; i = i->next)
        if (expr_reads(i->value, ref)) return true;
    return false;
}

static bool reaction_reads(const agg_reaction *r, agg_ref_kind ref) {
    return step_reads(r->dispatch, ref) || step_reads(r->on_ok, ref) ||
           step_reads(r->on_rejected, ref);
}

static const char *desc_of(agg_arena *a, const char *d, const char *name) {
    return agg_cname(a, AGG_CN_MSG_DESC, agg_c_message(a, d, name));
}

/* Dispatch the command in `var` and jump to done if that fails. */
static void dispatch_or_fail(sbuf *out, int depth, agg_arena *a, const char *d,
                             const agg_react_step *s, const char *var) {
    sb_line(out, depth, "if (inc_handler_dispatch(ctx, &%s, &%s, err) != 0)",
            desc_of(a, d, s->command->name), var);
    sb_line(out, depth + 1, "goto done;");
}

static void reaction_function(sbuf *out, const agg_program *p, agg_arena *a,
                              const agg_reaction *r) {
    const char *d = p->domain;
    const agg_event *ev = r->event;
    const agg_aggregate *ag = ev->agg;
    const agg_react_step *steps[3] = {r->dispatch, r->on_ok, r->on_rejected};
    const char *vars[3] = {"cmd", "then_cmd", "else_cmd"};
    bool reads_state = reaction_reads(r, AGG_REF_STATE);
    bool reads_event = reaction_reads(r, AGG_REF_EVENT);

    /* the computation of the commands, first: its temporaries and scratch */
    sbuf body;
    sb_init(&body);
    int tmp = 0, scratch = 0;
    for (int i = 0; i < 3; i++) {
        if (!steps[i]) continue;
        sb_line(&body, 2, "/* %s %s */", i == 0 ? "dispatch" : i == 1 ? "then" : "else",
                steps[i]->command->name);
        agg_gen_c_inits(&body, 2, p, a, agg_arena_cat(a, vars[i], ".", (char *)NULL),
                        steps[i]->inits, &tmp, &scratch);
    }

    sb_printf(out, "/* react %s as %s */\n", ev->name, r->name);
    const char *fn = agg_c_reaction(a, d, r->name);
    sb_printf(out, "static int %s(inc_handler_ctx *ctx, const inc_recorded_event *ev,\n", fn);
    sb_printf(out, "%*svoid *ud, inc_error *err) {\n", (int)strlen(fn) + 12, "");
    if (reads_event)
        sb_line(out, 1, "const %s *event = ev->data;", agg_c_message(a, d, ev->name));
    const char *st = agg_c_state(a, d, ag->name);
    if (reads_state) {
        sb_line(out, 1, "%s state_v;", st);
        sb_line(out, 1, "const %s *state = &state_v;", st);
    }
    for (int i = 0; i < 3; i++)
        if (steps[i]) sb_line(out, 1, "%s %s;", agg_c_message(a, d, steps[i]->command->name),
                              vars[i]);
    if (r->on_rejected) sb_line(out, 1, "inc_error e;");
    if (scratch) sb_line(out, 1, "inc_scratch sc = INC_SCRATCH_INIT;");
    sb_line(out, 1, "int rc = -1;");
    sb_line(out, 1, "(void)ud;");
    if (!reads_event) sb_line(out, 1, "(void)ev;");
    for (int i = 0; i < 3; i++)
        if (steps[i])
            sb_line(out, 1, "inc_msg_init(&%s, &%s);", desc_of(a, d, steps[i]->command->name),
                    vars[i]);
    if (reads_state) {
        /* zeroed, so that freeing it is right whatever the load did */
        sb_line(out, 1, "memset(&state_v, 0, sizeof state_v);");
        sb_line(out, 1, "if (inc_handler_event_state(ctx, &state_v, err) != 0) goto done;");
    }
    /* in a block of its own: `goto done` never jumps into the scope of a
     * temporary */
    sb_line(out, 1, "{");
    sb_put(out, body.data ? body.data : "");
    sb_line(out, 1, "}");
    sb_free(&body);

    const char *first = desc_of(a, d, r->dispatch->command->name);
    if (!r->on_rejected) {
        /* any failure of the first command is the reaction's */
        dispatch_or_fail(out, 1, a, d, r->dispatch, vars[0]);
        if (r->on_ok) dispatch_or_fail(out, 1, a, d, r->on_ok, vars[1]);
    } else {
        sb_line(out, 1, "if (inc_handler_dispatch(ctx, &%s, &%s, &e) %s 0) {", first, vars[0],
                r->on_ok ? "==" : "!=");
        if (r->on_ok) {
            dispatch_or_fail(out, 2, a, d, r->on_ok, vars[1]);
            sb_line(out, 1, "} else {");
        }
        sb_line(out, 2, "if (e.kind != INC_ERR_REJECTED) {");
        sb_line(out, 3, "if (err) *err = e;");
        sb_line(out, 3, "goto done;");
        sb_line(out, 2, "}");
        sb_line(out, 2, "/* the domain refused %s: compensate */", r->dispatch->command->name);
        dispatch_or_fail(out, 2, a, d, r->on_rejected, vars[2]);
        sb_line(out, 1, "}");
    }
    sb_line(out, 1, "rc = 0;");
    sb_put(out, "done:\n");
    for (int i = 0; i < 3; i++)
        if (steps[i])
            sb_line(out, 1, "inc_msg_free(&%s, &%s);", desc_of(a, d, steps[i]->command->name),
                    vars[i]);
    if (reads_state)
        sb_line(out, 1, "inc_msg_free(&%s, &state_v);", agg_cname(a, AGG_CN_MSG_DESC, st));
    if (scratch) sb_line(out, 1, "inc_scratch_free(&sc);");
    sb_line(out, 1, "return rc;");
    sb_put(out, "}\n\n");
}

void agg_gen_reactions(sbuf *out, const agg_program *p, agg_arena *a) {
    if (!p->reactions) return;
    const char *d = p->domain;
    sb_put(out, "/* ================================================ reactions */\n\n");
    sb_put(out, "#include <incident/app.h> /* the handler context reactions run in */\n\n");
    for (const agg_reaction *r = p->reactions; r; r = r->next) reaction_function(out, p, a, r);
    sb_printf(out, "static const inc_reaction_desc %s[] = {\n",
              agg_cname(a, AGG_CN_REACTIONS, d));
    for (const agg_reaction *r = p->reactions; r; r = r->next) {
        sb_put(out, "    {\n");
        sb_printf(out, "        .name = \"%s\",\n", r->name);
        sb_printf(out, "        .event = &%s,\n", desc_of(a, d, r->event->name));
        sb_printf(out, "        .fn = %s,\n", agg_c_reaction(a, d, r->name));
        sb_put(out, "    },\n");
    }
    sb_put(out, "};\n\n");
}

void agg_gen_reaction_members(sbuf *out, const agg_program *p, agg_arena *a) {
    size_t n = 0;
    for (const agg_reaction *r = p->reactions; r; r = r->next) n++;
    if (!n) return;
    sb_printf(out, "    .n_reactions = %zu,\n    .reactions = %s,\n", n,
              agg_cname(a, AGG_CN_REACTIONS, p->domain));
}

void agg_gen_dot_reactions(sbuf *out, const agg_program *p) {
    if (!p->reactions) return;
    sb_put(out, "\n    // reactions: dashed to the command dispatched, solid to then (blue) "
                "and else (red)\n");
    for (const agg_reaction *r = p->reactions; r; r = r->next) {
        const agg_react_step *steps[3] = {r->dispatch, r->on_ok, r->on_rejected};
        static const char *const what[3] = {"", ": then", ": else"};
        static const char *const style[3] = {"style=dashed, color=\"#3366cc\"",
                                             "style=solid, color=\"#3366cc\"",
                                             "style=solid, color=\"#cc3333\""};
        for (int i = 0; i < 3; i++) {
            if (!steps[i]) continue;
            const agg_command *m = steps[i]->command;
            sb_printf(out, "    \"%s.ev.%s\" -> \"%s.cmd.%s\" [label=\"%s%s\", %s];\n",
                      r->event->agg->name, r->event->name, m->agg->name, m->name, r->name,
                      what[i], style[i]);
        }
    }
}
