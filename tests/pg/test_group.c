/* test_group.c - group commit (inc_group): many threads dispatching at
 * once, mixed valid and rejected (check, require, fail) commands on shared aggregates,
 * with writers outside the group conflicting with it; every caller's
 * outcome must match what the store holds (each reported event stored
 * once at its reported version, nothing else stored, versions contiguous,
 * totals equal to the committed amounts).  Also the size and latency caps,
 * a group on the fixture's own store (both stores), bad arguments, and
 * handlers (not run for grouped commands) and command ids. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <incident/group.h>

#include "counter.h"
#include "harness.h"

#define N_AGG 5
#define N_CALLERS 16
#define N_OUTSIDE 2
#define N_STEPS 30
#define MAX_EVENTS 4096

/* An event a caller was told is committed. */
typedef struct seen {
    char agg[16];
    char event_id[INC_UUID_TEXT_SIZE];
    int64_t version, amount;
} seen;

typedef struct run {
    inc_group *g;
    pthread_mutex_t mu; /* guards the lists below */
    seen events[MAX_EVENTS];
    size_t n_events;
    int64_t total[N_AGG];
    int failures; /* outcomes that differ from what the command must give */
    char why[256];
} run;

typedef struct caller {
    run *r;
    int index;
    inc_app *app;     /* outside writers: their own app + store */
    inc_store *store;
} caller;

static void agg_name(char out[16], int k) { snprintf(out, 16, "k%d", k); }

static void bad(run *r, const char *fmt, int a, int b) {
    pthread_mutex_lock(&r->mu);
    if (!r->failures++) snprintf(r->why, sizeof r->why, fmt, a, b);
    pthread_mutex_unlock(&r->mu);
}

/* Keep a committed command's events, checking they are what it emits. */
static void keep(run *r, int k, const inc_result *res, int64_t amount,
                 size_t want) {
    char name[16];
    agg_name(name, k);
    if (res->count != want || res->n_direct != want) {
        bad(r, "committed with %d events, want %d", (int)res->count, (int)want);
        return;
    }
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < res->count; i++) {
        const inc_recorded_event *ev = &res->events[i];
        if (strcmp(ev->aggregate_id, name) != 0 || ev->desc != &counter_added_desc ||
            ((counter_added *)ev->data)->amount != amount || ev->version < 1 ||
            (i > 0 && ev->version != res->events[i - 1].version + 1) ||
            strcmp(ev->command_id, ev->correlation_id) != 0 || !ev->command_id[0] ||
            r->n_events >= MAX_EVENTS) {
            if (!r->failures++)
                snprintf(r->why, sizeof r->why, "event %zu of %s is wrong", i, name);
            continue;
        }
        seen *s = &r->events[r->n_events++];
        snprintf(s->agg, sizeof s->agg, "%s", name);
        memcpy(s->event_id, ev->event_id, INC_UUID_TEXT_SIZE);
        s->version = ev->version;
        s->amount = amount;
        r->total[k] += amount;
    }
    pthread_mutex_unlock(&r->mu);
}

/* One command of the mix: step j of caller t. */
static void one(caller *c, int j) {
    run *r = c->r;
    inc_result res = INC_RESULT_INIT;
    inc_error err;
    inc_error_clear(&err);
    int k = (c->index + j) % N_AGG;
    char name[16], fresh[48];
    agg_name(name, k);
    snprintf(fresh, sizeof fresh, "fresh-%d-%d", c->index, j);
    if (c->app) { /* outside the group: plain dispatch, conflicting with it */
        counter_add a = {name, 1000};
        if (inc_dispatch(c->app, &counter_add_desc, &a, &res, &err) != 0)
            bad(r, "outside dispatch failed (kind %d)", err.kind, 0);
        else
            keep(r, k, &res, 1000, 1);
        inc_result_free(&res);
        return;
    }
    int rc;
    switch (j % 6) {
    case 0: { /* `fail`: rejected */
        counter_fail f = {name};
        rc = inc_group_dispatch(r->g, &counter_fail_desc, &f, &res, &err);
        if (rc != -1 || err.kind != INC_ERR_REJECTED ||
            strcmp(err.code, "always_fails") != 0 || res.count != 0)
            bad(r, "Fail gave rc %d kind %d", rc, err.kind);
        break;
    }
    case 1: { /* `check`: rejected before it runs */
        counter_add a = {name, 0};
        rc = inc_group_dispatch(r->g, &counter_add_desc, &a, &res, &err);
        if (rc != -1 || err.kind != INC_ERR_REJECTED ||
            strcmp(err.code, "zero_amount") != 0 || res.count != 0)
            bad(r, "Add 0 gave rc %d kind %d", rc, err.kind);
        break;
    }
    case 2: { /* `require` on an aggregate with no events: rejected */
        counter_label l = {fresh, "x", 0, false};
        rc = inc_group_dispatch(r->g, &counter_label_desc, &l, &res, &err);
        if (rc != -1 || err.kind != INC_ERR_REJECTED ||
            strcmp(err.code, "counter_not_found") != 0)
            bad(r, "Label on a new aggregate gave rc %d kind %d", rc, err.kind);
        break;
    }
    case 3: { /* several events */
        counter_add_many m = {name, c->index + 1, 3};
        rc = inc_group_dispatch(r->g, &counter_add_many_desc, &m, &res, &err);
        if (rc != 0) bad(r, "AddMany failed (kind %d)", err.kind, 0);
        else keep(r, k, &res, c->index + 1, 3);
        break;
    }
    default: {
        counter_add a = {name, c->index + 1};
        rc = inc_group_dispatch(r->g, &counter_add_desc, &a, &res, &err);
        if (rc != 0) bad(r, "Add failed (kind %d) at step %d", err.kind, j);
        else keep(r, k, &res, c->index + 1, 1);
    }
    }
    inc_result_free(&res);
}

static void *caller_main(void *ud) {
    caller *c = ud;
    for (int j = 0; j < N_STEPS; j++) one(c, j);
    return NULL;
}

typedef struct stream_check {
    const run *r;
    int64_t next_version, total;
    int failures;
} stream_check;

/* Each stored event: the next version, and reported once at it. */
static int check_event(void *ud, const inc_recorded_event *ev, inc_error *err) {
    (void)err;
    stream_check *sc = ud;
    int found = 0;
    for (size_t i = 0; i < sc->r->n_events; i++) {
        const seen *s = &sc->r->events[i];
        if (strcmp(s->event_id, ev->event_id) == 0) {
            found++;
            if (s->version != ev->version || strcmp(s->agg, ev->aggregate_id) != 0)
                sc->failures++;
        }
    }
    if (found != 1 || ev->version != sc->next_version) sc->failures++;
    sc->next_version++;
    sc->total += ((counter_added *)ev->data)->amount;
    return 0;
}

/* What the store holds against what the callers were told; reads through
 * `app`. */
static void check_store(inc_app *app, const run *r) {
    size_t n_stored = 0;
    for (int k = 0; k < N_AGG; k++) {
        char name[16];
        agg_name(name, k);
        stream_check sc = {r, 1, 0, 0};
        inc_error err;
        assert_int_equal(inc_app_read_stream(app, &counter_counter_type, name,
                                             check_event, &sc, &err),
                         0);
        assert_int_equal(sc.failures, 0);
        assert_int_equal(sc.total, r->total[k]);
        n_stored += (size_t)(sc.next_version - 1);
        int64_t v;
        assert_int_equal(th_total(app, name, &v), r->total[k]);
        assert_int_equal(v, sc.next_version - 1);
    }
    /* nothing reported that is not stored */
    assert_int_equal(n_stored, r->n_events);
}

/* Start the callers (and n_outside outside writers on their own stores),
 * wait for them all. */
static void run_callers(th_fx *fx, run *r, int n_outside) {
    caller cs[N_CALLERS + N_OUTSIDE];
    pthread_t ts[N_CALLERS + N_OUTSIDE];
    int n = N_CALLERS + n_outside;
    for (int i = 0; i < n; i++) {
        cs[i] = (caller){r, i, NULL, NULL};
        if (i >= N_CALLERS) {
            inc_error err;
            cs[i].store = th_open_same(fx);
            cs[i].app = inc_app_new(&counter_domain, cs[i].store, &err);
            assert_non_null(cs[i].app);
            inc_app_set_max_retries(cs[i].app, 1000);
            inc_app_set_max_backoff(cs[i].app, 2000);
        }
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&ts[i], NULL, caller_main, &cs[i]), 0);
    for (int i = 0; i < n; i++) pthread_join(ts[i], NULL);
    for (int i = N_CALLERS; i < n; i++) {
        inc_app_free(cs[i].app);
        inc_store_close(cs[i].store);
    }
    if (r->failures) fprintf(stderr, "first wrong outcome: %s\n", r->why);
    assert_int_equal(r->failures, 0);
}

static run *run_new(void) {
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void run_free(run *r) {
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Every aggregate opened (one Add each) before the mix, so that the
 * rejection cases are the ones the mix asks for. */
static void open_aggregates(inc_app *app, run *r) {
    for (int k = 0; k < N_AGG; k++) {
        char name[16];
        agg_name(name, k);
        counter_add a = {name, 1};
        inc_result res = INC_RESULT_INIT;
        inc_error err;
        assert_int_equal(inc_dispatch(app, &counter_add_desc, &a, &res, &err), 0);
        keep(r, k, &res, 1, 1);
        inc_result_free(&res);
    }
}

static int setup_retries(void *ud, unsigned index, inc_app *app, inc_error *err) {
    (void)err;
    (void)index;
    (*(int *)ud)++;
    inc_app_set_max_retries(app, 1000);
    inc_app_set_max_backoff(app, 2000);
    return 0;
}

/* 16 callers and 2 outside writers on 5 aggregates, 2 committers. */
static void test_group_concurrent(void **state) {
    th_fx *fx = *state;
    run *r = run_new();
    open_aggregates(fx->app, r);
    int setups = 0;
    inc_group_options o = {.committers = 2, .max_group = 16, .max_wait_us = 500,
                           .setup = setup_retries, .ud = &setups};
    inc_pg_options pg = {th_db(), fx->schema};
    inc_error err;
    r->g = inc_group_new_pg(&counter_domain, &pg, &o, &err);
    assert_non_null(r->g);
    assert_int_equal(setups, 2);
    run_callers(fx, r, N_OUTSIDE);
    inc_group_stats st;
    inc_group_get_stats(r->g, &st);
    assert_int_equal(st.commands, (uint64_t)N_CALLERS * N_STEPS);
    assert_true(st.max_size >= 2 && st.max_size <= 16);
    assert_true(st.groups < st.commands);
    fprintf(stderr, "group: %llu commands in %llu groups (largest %llu)\n",
            (unsigned long long)st.commands, (unsigned long long)st.groups,
            (unsigned long long)st.max_size);
    inc_group_free(r->g);
    check_store(fx->app, r);
    run_free(r);
}

/* One committer without a latency cap: groups are what arrives while the
 * previous one commits. */
static void test_group_one_committer(void **state) {
    th_fx *fx = *state;
    run *r = run_new();
    open_aggregates(fx->app, r);
    inc_group_options o = {.committers = 1, .max_wait_us = INC_GROUP_NO_WAIT};
    inc_pg_options pg = {th_db(), fx->schema};
    inc_error err;
    r->g = inc_group_new_pg(&counter_domain, &pg, &o, &err);
    assert_non_null(r->g);
    run_callers(fx, r, 0);
    inc_group_free(r->g);
    check_store(fx->app, r);
    run_free(r);
}

/* The defaults (opts NULL: one committer, latency cap 1 ms) under the
 * same mix. */
static void test_group_defaults(void **state) {
    th_fx *fx = *state;
    run *r = run_new();
    open_aggregates(fx->app, r);
    inc_pg_options pg = {th_db(), fx->schema};
    inc_error err;
    r->g = inc_group_new_pg(&counter_domain, &pg, NULL, &err);
    assert_non_null(r->g);
    run_callers(fx, r, 0);
    inc_group_free(r->g);
    check_store(fx->app, r);
    run_free(r);
}

/* The group on the fixture's own store (memory or PostgreSQL); the
 * fixture's app reads it afterwards. */
static inc_store *open_fixture(void *ud, unsigned index, inc_error *err) {
    (void)index;
    (void)err;
    return ((th_fx *)ud)->store;
}
static void close_none(void *ud, unsigned index, inc_store *s) {
    (void)ud;
    (void)index;
    (void)s;
}

static void test_group_own_store(void **state) {
    th_fx *fx = *state;
    run *r = run_new();
    open_aggregates(fx->app, r);
    inc_group_options o = {.committers = 1, .max_group = 8, .max_wait_us = 200,
                           .open = open_fixture, .close = close_none, .ud = fx};
    inc_error err;
    r->g = inc_group_new(&counter_domain, &o, &err);
    assert_non_null(r->g);
    run_callers(fx, r, 0);
    inc_group_free(r->g);
    /* the fixture's cached states are behind what the group wrote: it
     * catches up */
    check_store(fx->app, r);
    run_free(r);
}

typedef struct single {
    inc_group *g;
    int k;
    int rc;
} single;

static void *add_once(void *ud) {
    single *s = ud;
    char name[16];
    agg_name(name, s->k);
    counter_add a = {name, 1};
    inc_error err;
    s->rc = inc_group_dispatch(s->g, &counter_add_desc, &a, NULL, &err);
    return NULL;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Size cap: with a long latency cap, 8 callers make two groups of 4.
 * Latency cap: a caller alone waits that long for company, no more. */
static void test_group_caps(void **state) {
    th_fx *fx = *state;
    inc_group_options o = {.committers = 1, .max_group = 4,
                           .max_wait_us = 10 * 1000 * 1000,
                           .open = open_fixture, .close = close_none, .ud = fx};
    inc_error err;
    inc_group *g = inc_group_new(&counter_domain, &o, &err);
    assert_non_null(g);
    single s[8];
    pthread_t t[8];
    double t0 = now_s();
    for (int i = 0; i < 8; i++) {
        s[i] = (single){g, i % 3, -2};
        assert_int_equal(pthread_create(&t[i], NULL, add_once, &s[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].rc, 0);
    }
    assert_true(now_s() - t0 < 9.0); /* never waited for the latency cap */
    inc_group_stats st;
    inc_group_get_stats(g, &st);
    assert_int_equal(st.commands, 8);
    assert_int_equal(st.groups, 2);
    assert_int_equal(st.max_size, 4);
    inc_group_free(g);

    o.max_wait_us = 150 * 1000;
    g = inc_group_new(&counter_domain, &o, &err);
    assert_non_null(g);
    t0 = now_s();
    s[0] = (single){g, 0, -2};
    add_once(&s[0]);
    double waited = now_s() - t0;
    assert_int_equal(s[0].rc, 0);
    assert_true(waited >= 0.149);
    assert_true(waited < 5.0);
    inc_group_free(g);
    int64_t v;
    assert_int_equal(th_total(fx->app, "k0", &v), 4); /* 3 + 1 */
}

static int count_handled(inc_handler_ctx *ctx, const inc_recorded_event *ev,
                         void *ud, inc_error *err) {
    (void)ctx;
    (void)ev;
    (void)err;
    (*(int *)ud)++;
    return 0;
}

typedef struct handler_setup {
    int handled;
} handler_setup;

static int setup_handler(void *ud, unsigned index, inc_app *app, inc_error *err) {
    (void)index;
    return inc_app_on(app, "Added", count_handled, &((handler_setup *)ud)->handled,
                      err);
}

/* Handlers registered on a committer's app are not run for grouped
 * commands (reactions are a log consumer's job); the events are there,
 * with their command id as correlation id. */
static void test_group_no_handlers(void **state) {
    th_fx *fx = *state;
    handler_setup hs = {0};
    inc_group_options o = {.committers = 1, .setup = setup_handler, .ud = &hs};
    inc_pg_options pg = {th_db(), fx->schema};
    inc_error err;
    inc_group *g = inc_group_new_pg(&counter_domain, &pg, &o, &err);
    assert_non_null(g);
    counter_add a = {"h", 5};
    inc_result res = INC_RESULT_INIT;
    assert_int_equal(inc_group_dispatch(g, &counter_add_desc, &a, &res, &err), 0);
    assert_int_equal(inc_group_dispatch(g, &counter_add_desc, &a, &res, &err), 0);
    assert_int_equal(res.count, 2); /* appended */
    assert_int_equal(res.n_direct, 2);
    assert_int_equal(res.events[0].version, 1);
    assert_int_equal(res.events[1].version, 2);
    assert_string_not_equal(res.events[0].command_id, res.events[1].command_id);
    assert_string_equal(res.events[0].command_id, res.events[0].correlation_id);
    assert_string_equal(res.events[0].causation_id, "");
    assert_true(res.events[0].position > 0);
    inc_group_free(g);
    assert_int_equal(hs.handled, 0);
    assert_int_equal(th_total(fx->app, "h", NULL), 10);
    inc_result_free(&res);
}

/* Bad arguments fail the command alone, as in a batch. */
static void test_group_bad_arguments(void **state) {
    th_fx *fx = *state;
    inc_group_options o = {.committers = 2, .open = open_fixture,
                           .close = close_none, .ud = fx};
    inc_error err;
    /* two committers on one memory store would share it: one here */
    o.committers = 1;
    inc_group *g = inc_group_new(&counter_domain, &o, &err);
    assert_non_null(g);
    counter_add a = {"k0", 1};
    assert_int_equal(inc_group_dispatch(g, &counter_add_desc, NULL, NULL, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_int_equal(inc_group_dispatch(g, &counter_added_desc, &a, NULL, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    counter_add noid = {NULL, 1};
    assert_int_equal(inc_group_dispatch(g, &counter_add_desc, &noid, NULL, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_int_equal(inc_group_dispatch(g, &counter_add_desc, &a, NULL, &err), 0);
    assert_int_equal(inc_group_dispatch(NULL, &counter_add_desc, &a, NULL, &err), -1);
    inc_group_free(g);
    inc_group_free(NULL);
    o.open = NULL;
    assert_null(inc_group_new(&counter_domain, &o, &err));
    assert_int_equal(err.kind, INC_ERR_INTERNAL);
    /* a server that cannot be reached: nothing is left open */
    inc_pg_options pg = {"host=/nonexistent-socket-dir port=1", NULL};
    assert_null(inc_group_new_pg(&counter_domain, &pg, NULL, &err));
    assert_int_equal(err.kind, INC_ERR_UNAVAILABLE);
    assert_int_equal(th_total(fx->app, "k0", NULL), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TH_PG(test_group_concurrent),
        TH_PG(test_group_one_committer),
        TH_PG(test_group_defaults),
        TH_BOTH(test_group_own_store),
        TH_BOTH(test_group_caps),
        TH_BOTH(test_group_bad_arguments),
        TH_PG(test_group_no_handlers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
