/* test_reactor.c - event handlers exactly once in effect, over both
 * stores: the domain's reactions registered by inc_app_new before the
 * program's handlers, handler keys (inc_app_on's "EVENT#n",
 * inc_app_on_named, duplicates refused), the derived command ids of
 * handler dispatches, handlers run twice for one event writing nothing
 * the second time, a rejection seen by a handler staying the outcome
 * when the command would later pass, the reactor stopping before an
 * event whose handler failed, then handling it on the next run, and
 * events without the "durable_handlers" mark left alone. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/reactor.h>

#include "counter.h"
#include "harness.h"

/* ---- handlers */

typedef struct calls {
    int n;
    char order[16];
    bool fail;       /* fail (not a rejection) for amounts of 13 */
    int last_rc;     /* what the last Label dispatch returned */
} calls;

static int add_cmd(inc_handler_ctx *ctx, const char *id, int64_t amount, inc_error *err) {
    counter_add c = {(char *)id, amount};
    return inc_handler_dispatch(ctx, &counter_add_desc, &c, err);
}

/* On Added to "src" with a positive amount: label "dst" (rejected while
 * "dst" has no events), and when that is rejected, compensate with Add
 * -amount on "src": the first outcome decides the second dispatch. */
static int labeler(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                   inc_error *err) {
    calls *k = ud;
    const counter_added *a = ev->data;
    if (k) k->n++;
    if (strcmp(ev->aggregate_id, "src") != 0 || a->amount <= 0) return 0;
    if (k && k->fail && a->amount == 13)
        return inc_error_set(err, INC_ERR_UNAVAILABLE, "down", "database down (simulated)");
    counter_label l = {"dst", "from src", 0, false};
    inc_error e;
    int rc = inc_handler_dispatch(ctx, &counter_label_desc, &l, &e);
    if (k) k->last_rc = rc;
    if (rc == 0) return 0;
    if (e.kind != INC_ERR_REJECTED) {
        *err = e;
        return -1;
    }
    return add_cmd(ctx, "src", -a->amount, err); /* compensation */
}

static int mark(calls *k, char c) {
    size_t n = strlen(k->order);
    if (n + 1 < sizeof k->order) k->order[n] = c;
    return 0;
}

/* The reactions' calls (a reaction's ud is NULL: a test-wide pointer). */
static calls *reaction_calls;

static int reaction_a(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                      inc_error *err) {
    (void)ctx, (void)ev, (void)ud, (void)err;
    return mark(reaction_calls, 'a');
}

static int reaction_b(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                      inc_error *err) {
    (void)ud;
    mark(reaction_calls, 'b');
    return labeler(ctx, ev, NULL, err);
}

static int user_handler(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                        inc_error *err) {
    (void)ctx, (void)ev, (void)err;
    return mark(ud, 'u');
}

/* The counter domain with two reactions on Added. */
static inc_domain with_reactions(inc_reaction_desc r[2]) {
    inc_domain d = counter_domain;
    r[0] = (inc_reaction_desc){"counter.mark", &counter_added_desc, reaction_a};
    r[1] = (inc_reaction_desc){"counter.label", &counter_added_desc, reaction_b};
    d.n_reactions = 2;
    d.reactions = r;
    return d;
}

/* ---- helpers */

static int add(inc_app *app, const char *id, int64_t amount, inc_result *res, inc_error *err) {
    counter_add c = {(char *)id, amount};
    inc_error_clear(err);
    return inc_dispatch(app, &counter_add_desc, &c, res, err);
}

static int count_type(void *ud, const inc_recorded_event *ev, inc_error *err) {
    (void)err;
    int *n = ud;
    n[strcmp(ev->event_type, "Added") == 0 ? 0 : 1]++;
    return 0;
}

/* Events of one counter: n[0] Added, n[1] Labeled. */
static void events_of(inc_app *app, const char *id, int n[2]) {
    inc_error err;
    n[0] = n[1] = 0;
    assert_int_equal(inc_app_read_stream(app, &counter_counter_type, id, count_type, n, &err),
                     0);
}

static int keep_type(void *ud, const inc_command_record *r, inc_error *err) {
    (void)err;
    snprintf(ud, 32, "%s", r->command_type);
    return 0;
}

static void react(inc_app *app, const char *name, inc_reactor_stats *st) {
    inc_error err;
    inc_reactor_options o = {0};
    o.name = name;
    int rc = inc_reactor_run(app, &o, NULL, st, &err);
    if (rc != 0) fprintf(stderr, "reactor: %s\n", err.message);
    assert_int_equal(rc, 0);
}

/* An app on the counter domain with two reactions (`d` and `r` must
 * outlive it), their calls counted in *k. */
static inc_app *reactions_app(th_fx *fx, calls *k, inc_reaction_desc r[2], inc_domain *d) {
    inc_error err;
    memset(k, 0, sizeof *k);
    reaction_calls = k;
    *d = with_reactions(r);
    inc_app *app = inc_app_new(d, fx->store, &err);
    assert_non_null(app);
    return app;
}

/* ---- tests */

/* inc_app_new registers the domain's reactions in declaration order,
 * before any inc_app_on handler; their dispatches carry derived command
 * ids (recorded, and the events' command_id). */
static void test_reactions_registered(void **state) {
    th_fx *fx = *state;
    inc_error err;
    calls k;
    inc_reaction_desc r[2];
    inc_domain d;
    inc_app *app = reactions_app(fx, &k, r, &d);
    assert_int_equal(inc_app_on(app, "Added", user_handler, &k, &err), 0);
    assert_int_equal(add(app, "dst", 1, NULL, &err), 0);
    assert_string_equal(k.order, "abu");
    inc_result res;
    inc_result_init(&res);
    assert_int_equal(add(app, "src", 5, &res, &err), 0);
    assert_false(res.handler_failed);
    assert_int_equal(res.count, 2); /* Added, then the reaction's Labeled */
    assert_string_equal(res.events[1].event_type, "Labeled");
    assert_string_equal(res.events[1].causation_id, res.events[0].event_id);
    char type[32] = "";
    bool found = false;
    assert_int_equal(inc_store_command_get(fx->store, res.events[1].command_id, keep_type,
                                           type, &found, &err),
                     0);
    assert_true(found);
    assert_string_equal(type, "Label");
    inc_result_free(&res);
    /* a domain whose reaction lacks its function is refused */
    r[1].fn = NULL;
    assert_null(inc_app_new(&d, fx->store, &err));
    assert_string_equal(err.code, "bad_domain");
    inc_app_free(app);
}

/* Keys: names are unique (reactions included), no '#'; inc_app_on's
 * keys never clash with names. */
static void test_handler_names(void **state) {
    th_fx *fx = *state;
    inc_error err;
    calls k;
    inc_reaction_desc r[2];
    inc_domain d;
    inc_app *app = reactions_app(fx, &k, r, &d);
    assert_int_equal(inc_app_on_named(app, "Added", "mine", user_handler, &k, &err), 0);
    assert_int_equal(inc_app_on_named(app, "Labeled", "mine", user_handler, &k, &err), -1);
    assert_string_equal(err.code, "duplicate_handler");
    assert_int_equal(inc_app_on_named(app, "Added", "counter.label", user_handler, &k, &err),
                     -1);
    assert_string_equal(err.code, "duplicate_handler");
    assert_int_equal(inc_app_on_named(app, "Added", "a#1", user_handler, &k, &err), -1);
    assert_string_equal(err.code, "invalid_handler_name");
    assert_int_equal(inc_app_on_named(app, "Added", "", user_handler, &k, &err), -1);
    assert_int_equal(inc_app_on_named(app, "Nope", "x", user_handler, &k, &err), -1);
    assert_int_equal(err.kind, INC_ERR_NOT_FOUND);
    assert_int_equal(inc_app_on(app, "Added", user_handler, &k, &err), 0);
    assert_int_equal(inc_app_on(app, "Added", user_handler, &k, &err), 0);
    inc_app_free(app);
}

/* Handlers run twice for the same events (the inline run, then a reactor
 * from the start of the log, then another reactor): the commands are
 * stored once, nothing is written again, the command ids recorded once. */
static void test_handler_twice(void **state) {
    th_fx *fx = *state;
    inc_error err;
    calls k;
    memset(&k, 0, sizeof k);
    assert_int_equal(inc_app_on(fx->app, "Added", labeler, &k, &err), 0);
    assert_int_equal(add(fx->app, "src", 5, NULL, &err), 0); /* rejected: compensated */
    assert_int_equal(add(fx->app, "dst", 1, NULL, &err), 0);
    assert_int_equal(add(fx->app, "src", 7, NULL, &err), 0); /* labels dst */
    int src[2], dst[2];
    events_of(fx->app, "src", src);
    events_of(fx->app, "dst", dst);
    assert_int_equal(src[0], 3); /* 5, -5, 7 */
    assert_int_equal(dst[1], 1);
    inc_reactor_stats st;
    react(fx->app, "r1", &st);
    assert_int_equal(st.events_recorded, 0);
    assert_int_equal(st.events_handled, 4);
    react(fx->app, "r2", &st);
    assert_int_equal(st.events_recorded, 0);
    int src2[2], dst2[2];
    events_of(fx->app, "src", src2);
    events_of(fx->app, "dst", dst2);
    assert_memory_equal(src, src2, sizeof src);
    assert_memory_equal(dst, dst2, sizeof dst);
    assert_int_equal(th_total(fx->app, "src", NULL), 7);
}

/* A rejection a handler saw stays the outcome: "dst" gets events after
 * the first run (Label would pass now), yet the second run of the handler
 * is answered with the recorded rejection, so it compensates with the
 * same (already recorded) command and writes nothing. */
static void test_rejection_stays(void **state) {
    th_fx *fx = *state;
    inc_error err;
    calls k;
    memset(&k, 0, sizeof k);
    assert_int_equal(inc_app_on(fx->app, "Added", labeler, &k, &err), 0);
    assert_int_equal(add(fx->app, "src", 5, NULL, &err), 0);
    assert_int_equal(k.last_rc, -1);
    assert_int_equal(add(fx->app, "dst", 1, NULL, &err), 0); /* Label would pass now */
    inc_reactor_stats st;
    react(fx->app, NULL, &st);
    assert_int_equal(k.last_rc, -1); /* the recorded rejection */
    assert_int_equal(st.events_recorded, 0);
    int dst[2];
    events_of(fx->app, "dst", dst);
    assert_int_equal(dst[1], 0);
    assert_int_equal(th_total(fx->app, "src", NULL), 0); /* compensated once */
}

/* A handler failing for another reason than a rejection stops the
 * reactor before that event (its checkpoint stays before it); once the
 * failure is gone the next run handles it and goes on. */
static void test_reactor_stops_on_failure(void **state) {
    th_fx *fx = *state;
    inc_error err;
    calls k;
    memset(&k, 0, sizeof k);
    k.fail = true;
    assert_int_equal(inc_app_on(fx->app, "Added", labeler, &k, &err), 0);
    assert_int_equal(add(fx->app, "dst", 1, NULL, &err), 0);
    inc_result res;
    inc_result_init(&res);
    assert_int_equal(add(fx->app, "src", 13, &res, &err), 0); /* inline: fails */
    assert_true(res.handler_failed);
    assert_int_equal(res.handler_error.kind, INC_ERR_UNAVAILABLE);
    inc_result_free(&res);
    assert_int_equal(add(fx->app, "src", 2, NULL, &err), 0);
    int dst[2];
    events_of(fx->app, "dst", dst);
    assert_int_equal(dst[1], 1); /* from the 2 */
    inc_reactor_stats st;
    inc_reactor_options o = {0};
    assert_int_equal(inc_reactor_run(fx->app, &o, NULL, &st, &err), -1);
    assert_int_equal(err.kind, INC_ERR_UNAVAILABLE);
    assert_int_equal(st.events_handled, 1); /* dst's Added, then stopped */
    assert_int_equal(inc_reactor_run(fx->app, &o, NULL, &st, &err), -1);
    assert_int_equal(st.events_handled, 0); /* the same event again */
    k.fail = false;
    react(fx->app, NULL, &st);
    assert_int_equal(st.events_handled, 2); /* the 13 and the 2 (Added only) */
    events_of(fx->app, "dst", dst);
    assert_int_equal(dst[1], 2); /* the 13's Label now, the 2's answered */
    react(fx->app, NULL, &st);
    assert_int_equal(st.events_handled, 0);
}

/* Events committed without the "durable_handlers" mark (by an older
 * runtime, whose handlers had random command ids, or by a tool) are left
 * alone by the reactor: running their handlers again could not be
 * recognised as a repeat.  The marked ones are handled. */
static void test_unmarked_events_left_alone(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_stored_event ev[2];
    th_event(&ev[0], "src", 1); /* metadata "{}" */
    th_event(&ev[1], "src", 2);
    ev[1].metadata = "{\"command_id\":\"x\",\"durable_handlers\":false}";
    inc_commit c = th_commit("src", ev, 2);
    assert_int_equal(inc_store_commit(fx->store, &c, &err), 0);
    calls k;
    memset(&k, 0, sizeof k);
    assert_int_equal(inc_app_on(fx->app, "Added", labeler, &k, &err), 0);
    inc_reactor_stats st;
    react(fx->app, NULL, &st);
    assert_int_equal(k.n, 0);
    assert_int_equal(st.events_handled, 0);
    assert_int_equal(add(fx->app, "dst", 1, NULL, &err), 0); /* marked */
    assert_int_equal(k.n, 1);
    react(fx->app, NULL, &st);
    assert_int_equal(k.n, 2);
    assert_int_equal(st.events_handled, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_reactions_registered),
        TH_BOTH(test_handler_names),
        TH_BOTH(test_handler_twice),
        TH_BOTH(test_rejection_stays),
        TH_BOTH(test_reactor_stops_on_failure),
        TH_BOTH(test_unmarked_events_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
