/* test_subscription.c - consumers of the commit-ordered log
 * (<incident/subscription.h>) on both stores: order, checkpoints, filters,
 * groups, handler errors; on PostgreSQL also the hazard of a transaction
 * that commits after later events were read, aborted transactions,
 * transactional handlers, wake-ups, lost connections and the upgrade of a
 * version 1 store. */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <incident/subscription.h>

#include "counter.h"
#include "harness.h"

/* ---- helpers ---- */

typedef struct seen {
    size_t n;
    int64_t pos[4096];
    char id[4096][24];
    int64_t version[4096];
    uint64_t tx[4096];
    size_t fail_at; /* 1-based delivery that fails; 0: none */
    size_t calls;
} seen;

static int collect(void *ud, inc_consumer_tx *tx, const inc_stored_event *ev,
                   const inc_log_position *at, inc_error *err) {
    seen *s = ud;
    (void)tx;
    assert_int_equal(at->position, ev->position);
    s->calls++;
    if (s->fail_at && s->calls == s->fail_at)
        return inc_error_set(err, INC_ERR_INTERNAL, "boom", "handler says no");
    assert_true(s->n < 4096);
    s->pos[s->n] = ev->position;
    snprintf(s->id[s->n], sizeof s->id[0], "%s", ev->aggregate_id);
    s->version[s->n] = ev->version;
    s->tx[s->n] = at->transaction_id;
    s->n++;
    return 0;
}

/* n events on Counter `id` from version `from` on, in one commit. */
static void add(inc_store *st, const char *id, int64_t from, size_t n) {
    inc_stored_event ev[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) th_event(&ev[i], id, from + (int64_t)i);
    inc_commit c = th_commit(id, ev, n);
    inc_error err;
    assert_int_equal(inc_store_commit(st, &c, &err), 0);
}

static inc_consumer *open_named(inc_store *st, const char *name) {
    inc_consumer_options o;
    memset(&o, 0, sizeof o);
    o.name = name;
    inc_error err;
    inc_consumer *c = inc_consumer_open(st, &o, &err);
    if (!c) fprintf(stderr, "open: %s\n", err.message);
    assert_non_null(c);
    return c;
}

/* Poll until a poll brings nothing. */
static int64_t drain(inc_consumer *c, seen *s) {
    int64_t total = 0;
    inc_error err;
    for (;;) {
        int n = inc_consumer_poll(c, 0, collect, s, &err);
        if (n < 0) fprintf(stderr, "poll: %s\n", err.message);
        assert_true(n >= 0);
        if (n == 0) return total;
        total += n;
    }
}

/* Wait until a reader sees `total` events in the log (other sessions of
 * the cluster, e.g. tests running at the same time, may hold the
 * snapshot's xmin back for a moment: that delays, never skips).  After
 * this, reads below are deterministic. */
static void settle(inc_store *st, int64_t total) {
    inc_consumer *a = inc_consumer_open(st, NULL, NULL);
    assert_non_null(a);
    seen *s = calloc(1, sizeof *s);
    int64_t n = 0;
    for (int i = 0; i < 3000 && n < total; i++) {
        inc_error err;
        int k = inc_consumer_poll(a, 0, collect, s, &err);
        assert_true(k >= 0);
        s->n = 0;
        n += k;
        if (k == 0) inc_consumer_wait(a, 10, NULL);
    }
    assert_int_equal(n, total);
    inc_consumer_close(a);
    free(s);
}

/* Run SQL; fails the test on error (th_query1 checks). */
static void exec_ok(PGconn *c, const char *sql) { free(th_query1(c, sql, 0, NULL)); }

/* INSERT of Counter `id` version `v` naming only the version 1 columns
 * (what a tool or migration writes). */
static void raw_insert(PGconn *c, const char *id, int v) {
    char uuid[INC_UUID_TEXT_SIZE], ver[16];
    assert_int_equal(inc_uuid_v4(uuid, NULL), 0);
    snprintf(ver, sizeof ver, "%d", v);
    const char *p[3] = {uuid, id, ver};
    PGresult *r = PQexecParams(
        c,
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, "
        "event_type, data, event_date) VALUES ($1::uuid, 'Counter', $2, "
        "$3::int4, 'Added', '{\"amount\":1}', now())",
        3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "insert: %s", PQresultErrorMessage(r));
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

/* ---- both stores ---- */

static void test_order_and_checkpoint(void **state) {
    th_fx *fx = *state;
    add(fx->store, "a", 1, 2);
    add(fx->store, "b", 1, 1);
    add(fx->store, "a", 3, 3);
    settle(fx->store, 6);
    seen *s = calloc(1, sizeof *s);
    inc_consumer *c = open_named(fx->store, "proj");
    assert_int_equal(drain(c, s), 6);
    for (size_t i = 1; i < s->n; i++) assert_true(s->pos[i] > s->pos[i - 1]);
    inc_consumer_close(c);
    /* resumes after its checkpoint: nothing again, then only the new */
    c = open_named(fx->store, "proj");
    assert_int_equal(drain(c, s), 0);
    add(fx->store, "b", 2, 1);
    settle(fx->store, 7);
    assert_int_equal(drain(c, s), 1);
    assert_string_equal(s->id[6], "b");
    assert_int_equal(s->version[6], 2);
    inc_consumer_close(c);
    /* an anonymous reader starts at the beginning every time */
    inc_consumer *a = inc_consumer_open(fx->store, NULL, NULL);
    assert_non_null(a);
    s->n = 0;
    assert_int_equal(drain(a, s), 7);
    inc_consumer_close(a);
    free(s);
}

static void test_batches_and_limit(void **state) {
    th_fx *fx = *state;
    for (int i = 1; i <= 10; i++) add(fx->store, "a", i, 1);
    settle(fx->store, 10);
    inc_consumer_options o = {.name = "small", .batch_size = 3};
    inc_error err;
    inc_consumer *c = inc_consumer_open(fx->store, &o, &err);
    assert_non_null(c);
    seen *s = calloc(1, sizeof *s);
    assert_int_equal(inc_consumer_poll(c, 0, collect, s, &err), 3);
    assert_int_equal(inc_consumer_poll(c, 2, collect, s, &err), 2);
    inc_consumer_run_options ro = {.limit = 4};
    int64_t handled = 0;
    assert_int_equal(inc_consumer_run(c, collect, s, &ro, &handled, &err), 0);
    assert_int_equal(handled, 4);
    assert_int_equal(s->n, 9);
    inc_log_position cp;
    inc_consumer_checkpoint(c, &cp);
    assert_int_equal(cp.position, s->pos[8]);
    ro = (inc_consumer_run_options){.idle_ms = 30};
    assert_int_equal(inc_consumer_run(c, collect, s, &ro, &handled, &err), 0);
    assert_int_equal(handled, 1); /* settled: the last one is visible */
    assert_int_equal(inc_consumer_run(c, collect, s, &ro, &handled, &err), 0);
    assert_int_equal(handled, 0); /* and then nothing, for 30 ms */
    for (size_t i = 0; i < s->n; i++) assert_int_equal(s->version[i], (int64_t)i + 1);
    inc_consumer_close(c);
    free(s);
}

static void test_handler_error_stops_and_retries(void **state) {
    th_fx *fx = *state;
    for (int i = 1; i <= 5; i++) add(fx->store, "a", i, 1);
    settle(fx->store, 5);
    seen *s = calloc(1, sizeof *s);
    s->fail_at = 3;
    inc_consumer *c = open_named(fx->store, "fragile");
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(inc_consumer_poll(c, 0, collect, s, &err), -1);
    assert_string_equal(err.code, "boom");
    assert_non_null(strstr(err.message, "version 3"));
    assert_int_equal(s->n, 2);
    inc_consumer_close(c);
    /* a new process: the failed event first, nothing skipped */
    c = open_named(fx->store, "fragile");
    assert_int_equal(drain(c, s), 3);
    assert_int_equal(s->n, 5);
    for (size_t i = 0; i < 5; i++) assert_int_equal(s->version[i], (int64_t)i + 1);
    /* run reports a handler error too */
    add(fx->store, "a", 6, 1);
    settle(fx->store, 6);
    s->fail_at = s->calls + 1;
    inc_consumer_run_options ro = {.idle_ms = 20};
    assert_int_equal(inc_consumer_run(c, collect, s, &ro, NULL, &err), -1);
    assert_int_equal(s->n, 5); /* the failed event was not acknowledged */
    assert_string_equal(err.code, "boom");
    inc_consumer_close(c);
    free(s);
}

static void test_filters(void **state) {
    th_fx *fx = *state;
    inc_aggregate_desc other = counter_counter_type;
    other.name = "Other";
    add(fx->store, "a", 1, 2);
    inc_stored_event ev[2];
    th_event(&ev[0], "x", 1);
    th_event(&ev[1], "x", 2);
    ev[0].aggregate_type = ev[1].aggregate_type = "Other";
    ev[1].event_type = "Labeled";
    inc_commit cm = th_commit("x", ev, 2);
    cm.aggregate = &other;
    inc_error err;
    assert_int_equal(inc_store_commit(fx->store, &cm, &err), 0);
    add(fx->store, "a", 3, 1);
    settle(fx->store, 5);

    const char *types[] = {"Other"}, *evs[] = {"Labeled"};
    inc_consumer_options o = {.name = "others", .aggregate_types = types,
                              .n_aggregate_types = 1};
    inc_consumer *c = inc_consumer_open(fx->store, &o, &err);
    seen *s = calloc(1, sizeof *s);
    assert_int_equal(drain(c, s), 2);
    assert_string_equal(s->id[0], "x");
    assert_string_equal(s->id[1], "x");
    inc_consumer_close(c);
    o = (inc_consumer_options){.name = "labels", .event_types = evs,
                               .n_event_types = 1, .batch_size = 1};
    c = inc_consumer_open(fx->store, &o, &err);
    s->n = 0;
    assert_int_equal(drain(c, s), 1);
    assert_int_equal(s->version[0], 2);
    /* the checkpoint moved past what the filter left out */
    inc_log_position cp;
    inc_consumer_checkpoint(c, &cp);
    assert_true(cp.transaction_id > s->tx[0] ||
                (cp.transaction_id == s->tx[0] && cp.position >= s->pos[0]));
    inc_consumer_close(c);
    free(s);
}

static void test_groups_share_streams(void **state) {
    th_fx *fx = *state;
    char id[16];
    for (int k = 0; k < 40; k++) {
        snprintf(id, sizeof id, "s%d", k);
        add(fx->store, id, 1, 2);
    }
    settle(fx->store, 80);
    seen *s[3];
    inc_error err;
    for (unsigned m = 0; m < 3; m++) {
        s[m] = calloc(1, sizeof *s[m]);
        inc_consumer_options o = {.name = "grp", .group_size = 3,
                                  .group_member = m, .batch_size = 7};
        inc_consumer *c = inc_consumer_open(fx->store, &o, &err);
        assert_non_null(c);
        drain(c, s[m]);
        assert_true(s[m]->n > 0); /* 40 streams: each member gets some */
        inc_consumer_close(c);
    }
    assert_int_equal(s[0]->n + s[1]->n + s[2]->n, 80);
    /* each stream on exactly one member, in version order there */
    for (int k = 0; k < 40; k++) {
        snprintf(id, sizeof id, "s%d", k);
        int owners = 0;
        for (unsigned m = 0; m < 3; m++) {
            int64_t last = 0;
            bool has = false;
            for (size_t i = 0; i < s[m]->n; i++)
                if (strcmp(s[m]->id[i], id) == 0) {
                    assert_int_equal(s[m]->version[i], last + 1);
                    last = s[m]->version[i];
                    has = true;
                }
            owners += has;
        }
        assert_int_equal(owners, 1);
    }
    /* another group size on the same name is refused */
    inc_consumer_options o = {.name = "grp", .group_size = 2};
    assert_null(inc_consumer_open(fx->store, &o, &err));
    assert_int_equal(err.kind, INC_ERR_INVALID);
    o = (inc_consumer_options){.name = "grp", .group_size = 3,
                               .group_member = 3};
    assert_null(inc_consumer_open(fx->store, &o, &err));
    for (unsigned m = 0; m < 3; m++) free(s[m]);
}

static void test_checkpoint_compare_and_set(void **state) {
    th_fx *fx = *state;
    add(fx->store, "a", 1, 1);
    settle(fx->store, 1);
    inc_consumer *c1 = open_named(fx->store, "twice");
    inc_consumer *c2 = open_named(fx->store, "twice");
    seen *s = calloc(1, sizeof *s);
    assert_int_equal(inc_consumer_poll(c1, 0, collect, s, NULL), 1);
    inc_error err;
    inc_error_clear(&err);
    /* c2 still holds the old checkpoint: its save loses */
    assert_int_equal(inc_consumer_poll(c2, 0, collect, s, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    assert_string_equal(err.code, "checkpoint_moved");
    /* it reloads and carries on from the stored one */
    add(fx->store, "a", 2, 1);
    settle(fx->store, 2);
    assert_int_equal(inc_consumer_poll(c2, 0, collect, s, &err), 1);
    assert_int_equal(s->version[s->n - 1], 2);
    inc_consumer_close(c1);
    inc_consumer_close(c2);
    free(s);
}

typedef struct listed {
    int n;
    char name[4][32];
    int64_t lag[4];
    unsigned member[4];
} listed;

static int on_info(void *ud, const inc_consumer_info *ci, inc_error *err) {
    listed *l = ud;
    (void)err;
    assert_true(l->n < 4);
    snprintf(l->name[l->n], 32, "%s", ci->name);
    l->lag[l->n] = ci->lag;
    l->member[l->n] = ci->group_member;
    l->n++;
    return 0;
}

static void test_list_and_delete(void **state) {
    th_fx *fx = *state;
    for (int i = 1; i <= 4; i++) add(fx->store, "a", i, 1);
    settle(fx->store, 4);
    inc_consumer_options o = {.name = "b-late", .batch_size = 1};
    inc_consumer *c = inc_consumer_open(fx->store, &o, NULL);
    seen *s = calloc(1, sizeof *s);
    assert_int_equal(inc_consumer_poll(c, 0, collect, s, NULL), 1);
    inc_consumer_close(c);
    c = open_named(fx->store, "a-done");
    drain(c, s);
    inc_consumer_close(c);
    listed l;
    memset(&l, 0, sizeof l);
    inc_error err;
    assert_int_equal(inc_consumers_list(fx->store, on_info, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.name[0], "a-done");
    assert_int_equal(l.lag[0], 0);
    assert_string_equal(l.name[1], "b-late");
    assert_int_equal(l.lag[1], 3);
    assert_int_equal(inc_consumer_delete(fx->store, "b-late", &err), 0);
    memset(&l, 0, sizeof l);
    assert_int_equal(inc_consumers_list(fx->store, on_info, &l, &err), 0);
    assert_int_equal(l.n, 1);
    free(s);
}

static void test_bad_options(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_consumer_options o = {.name = ""};
    assert_null(inc_consumer_open(fx->store, &o, &err));
    assert_int_equal(err.kind, INC_ERR_INVALID);
    o = (inc_consumer_options){.group_size = 2}; /* a group needs a name */
    assert_null(inc_consumer_open(fx->store, &o, &err));
    o = (inc_consumer_options){.transactional = true};
    assert_null(inc_consumer_open(fx->store, &o, &err));
    const char *bad[] = {"\xff"};
    o = (inc_consumer_options){.name = "n", .aggregate_types = bad,
                               .n_aggregate_types = 1};
    inc_consumer *c = inc_consumer_open(fx->store, &o, &err);
    if (c) { /* PostgreSQL refuses at the read, memory finds nothing */
        int rc = inc_consumer_poll(c, 0, collect, NULL, &err);
        assert_true(rc == 0 || err.kind == INC_ERR_INVALID);
        inc_consumer_close(c);
    }
}

/* ---- PostgreSQL ---- */

/* The hazard: a transaction takes an earlier position and commits after a
 * later event was read.  A reader by position skips it for good; the
 * consumer holds the later event back until the earlier one commits and
 * then delivers both, the earlier first. */
static void test_hazard_late_commit(void **state) {
    th_fx *fx = *state;
    add(fx->store, "warm", 1, 1);
    settle(fx->store, 1);
    seen *s = calloc(1, sizeof *s);
    inc_consumer *c = open_named(fx->store, "safe");
    assert_int_equal(drain(c, s), 1);

    PGconn *slow = th_conn(fx);
    exec_ok(slow, "BEGIN");
    raw_insert(slow, "slow", 1); /* takes the earlier position */
    char *early = th_query1(slow, "SELECT max(position) FROM events", 0, NULL);
    add(fx->store, "fast", 1, 1); /* a later position, committed first */

    /* a plain reader by position sees only the later event ... */
    PGconn *plain = th_conn(fx);
    char *after_warm = th_query1(plain, "SELECT min(position) FROM events", 0, NULL);
    const char *p1[1] = {after_warm};
    char *got = th_query1(plain,
                          "SELECT string_agg(aggregate_id, ',' ORDER BY position) "
                          "FROM events WHERE position > $1::int8",
                          1, p1);
    assert_string_equal(got, "fast");
    char *fast_pos = th_query1(plain, "SELECT max(position) FROM events", 0, NULL);
    assert_true(atoll(fast_pos) > atoll(early));
    /* ... while ours waits for the slow transaction */
    assert_int_equal(drain(c, s), 0);

    exec_ok(slow, "COMMIT");
    /* reading on from the later event, the plain reader never sees it */
    const char *p2[1] = {fast_pos};
    char *none = th_query1(plain, "SELECT count(*) FROM events WHERE position > $1::int8",
                           1, p2);
    assert_string_equal(none, "0");
    /* ours delivers both, the slow transaction's first */
    settle(fx->store, 3);
    assert_int_equal(drain(c, s), 2);
    assert_string_equal(s->id[1], "slow");
    assert_int_equal(s->pos[1], atoll(early));
    assert_string_equal(s->id[2], "fast");
    free(early);
    free(after_warm);
    free(got);
    free(fast_pos);
    free(none);
    PQfinish(slow);
    PQfinish(plain);
    inc_consumer_close(c);
    free(s);
}

static void test_aborted_and_own_transaction(void **state) {
    th_fx *fx = *state;
    PGconn *x = th_conn(fx);
    exec_ok(x, "BEGIN");
    raw_insert(x, "gone", 1);
    add(fx->store, "kept", 1, 1);
    exec_ok(x, "ROLLBACK");
    add(fx->store, "kept", 2, 1);
    settle(fx->store, 2);
    seen *s = calloc(1, sizeof *s);
    inc_consumer *c = open_named(fx->store, "ab");
    assert_int_equal(drain(c, s), 2);
    assert_string_equal(s->id[0], "kept");
    assert_string_equal(s->id[1], "kept");
    /* an idle session holding a transaction id delays, never skips */
    exec_ok(x, "BEGIN");
    exec_ok(x, "SELECT pg_current_xact_id()");
    add(fx->store, "kept", 3, 1);
    assert_int_equal(drain(c, s), 0);
    exec_ok(x, "COMMIT");
    settle(fx->store, 3);
    assert_int_equal(drain(c, s), 1);
    PQfinish(x);
    inc_consumer_close(c);
    free(s);
}

/* A transactional consumer's writes commit with its checkpoint: a handler
 * failure rolls back the whole batch, which is then handled again. */
static int tally(void *ud, inc_consumer_tx *tx, const inc_stored_event *ev,
                 const inc_log_position *at, inc_error *err) {
    seen *s = ud;
    (void)at;
    s->calls++;
    const char *p[1] = {ev->aggregate_id};
    if (inc_consumer_exec(tx,
                          "INSERT INTO tally VALUES ($1, 1) ON CONFLICT (id) "
                          "DO UPDATE SET n = tally.n + 1",
                          1, p, err) != 0)
        return -1;
    if (s->fail_at && s->calls == s->fail_at)
        return inc_error_set(err, INC_ERR_INTERNAL, "boom", "no");
    return 0;
}

static void test_transactional_handler(void **state) {
    th_fx *fx = *state;
    PGconn *x = th_conn(fx);
    exec_ok(x, "CREATE TABLE tally (id text PRIMARY KEY, n int NOT NULL)");
    for (int i = 1; i <= 6; i++) add(fx->store, i % 2 ? "odd" : "even", (i + 1) / 2, 1);
    settle(fx->store, 6);
    inc_consumer_options o = {.name = "tx", .transactional = true, .batch_size = 4};
    inc_error err;
    inc_consumer *c = inc_consumer_open(fx->store, &o, &err);
    assert_non_null(c);
    seen s;
    memset(&s, 0, sizeof s);
    s.fail_at = 3;
    assert_int_equal(inc_consumer_poll(c, 0, tally, &s, &err), -1);
    char *sum = th_query1(x, "SELECT coalesce(sum(n), 0) FROM tally", 0, NULL);
    assert_string_equal(sum, "0"); /* the batch's two writes rolled back */
    free(sum);
    s.fail_at = 0;
    assert_int_equal(inc_consumer_poll(c, 0, tally, &s, &err), 4);
    assert_int_equal(inc_consumer_poll(c, 0, tally, &s, &err), 2);
    assert_int_equal(inc_consumer_poll(c, 0, tally, &s, &err), 0);
    sum = th_query1(x, "SELECT string_agg(id || '=' || n, ',' ORDER BY id) FROM tally",
                    0, NULL);
    assert_string_equal(sum, "even=3,odd=3");
    free(sum);
    /* a failing statement is the handler's error: nothing half-done */
    add(fx->store, "odd", 4, 1);
    assert_int_equal(inc_consumer_exec(NULL, "SELECT 1", 0, NULL, &err), -1);
    PQfinish(x);
    inc_consumer_close(c);
}

static void test_wakeup_on_notify(void **state) {
    th_fx *fx = *state;
    inc_store *w = th_open_same(fx);
    inc_pg_store_set_notify(w, true);
    inc_consumer *c = open_named(fx->store, "wake");
    inc_error err;
    /* (the channel is database-wide: writers of other schemas, such as
     * tests running at the same time, may wake it too) */
    while (inc_consumer_wait(c, 0, &err) == 1) {
    }
    add(w, "n", 1, 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(inc_consumer_wait(c, 5000, &err), 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms < 1000);
    seen *s = calloc(1, sizeof *s);
    settle(fx->store, 1);
    assert_int_equal(drain(c, s), 1);
    /* without notifications a wait just times out: polling covers it */
    add(fx->store, "n", 2, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    (void)inc_consumer_wait(c, 20, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
         (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms < 1000);
    settle(fx->store, 2);
    assert_int_equal(drain(c, s), 1);
    inc_consumer_close(c);
    inc_store_close(w);
    free(s);
}

/* The consumer's session killed by the server: a poll fails with
 * UNAVAILABLE at most once, then carries on; run rides over it. */
static void test_connection_loss(void **state) {
    th_fx *fx = *state;
    add(fx->store, "a", 1, 1);
    settle(fx->store, 1);
    /* a store whose sessions carry an application_name of their own, so
     * only this test's consumer session is killed */
    char app[64], kill_sql[160];
    snprintf(app, sizeof app, "sub_lossy_%ld", (long)getpid());
    snprintf(kill_sql, sizeof kill_sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
             "application_name = '%s'",
             app);
    size_t cl = strlen(th_db()) + 96;
    char *ci = malloc(cl);
    assert_non_null(ci);
    snprintf(ci, cl, "%s application_name=%s", th_db(), app);
    inc_pg_options po = {ci, fx->schema};
    inc_error err;
    inc_store *own = inc_pg_store_open(&po, &err);
    assert_non_null(own);
    inc_consumer *c = open_named(own, "lossy");
    seen *s = calloc(1, sizeof *s);
    assert_int_equal(drain(c, s), 1);
    PGconn *x = th_conn(fx);
    exec_ok(x, kill_sql);
    add(fx->store, "a", 2, 1);
    settle(fx->store, 2);
    inc_error_clear(&err);
    int n = inc_consumer_poll(c, 0, collect, s, &err);
    if (n < 0) {
        assert_int_equal(err.kind, INC_ERR_UNAVAILABLE);
        n = inc_consumer_poll(c, 0, collect, s, &err);
    }
    assert_int_equal(n, 1);
    exec_ok(x, kill_sql);
    add(fx->store, "a", 3, 1);
    inc_consumer_run_options ro = {.limit = 1};
    int64_t handled;
    assert_int_equal(inc_consumer_run(c, collect, s, &ro, &handled, &err), 0);
    assert_int_equal(handled, 1);
    assert_int_equal(s->version[s->n - 1], 3);
    PQfinish(x);
    inc_consumer_close(c);
    inc_store_close(own);
    free(ci);
    free(s);
}

/* A version 1 store (no transaction_id, no consumers table) with events
 * written by old INSERTs: one `init` upgrades it and every event is
 * delivered; an INSERT naming only the old columns stays valid. */
static void test_upgrade_from_v1(void **state) {
    th_fx *fx = *state;
    PGconn *x = th_conn(fx);
    exec_ok(x, "DROP TABLE consumers");
    exec_ok(x, "DROP INDEX events_commit_order");
    exec_ok(x, "ALTER TABLE events DROP COLUMN transaction_id");
    exec_ok(x, "ALTER TABLE events DROP COLUMN schema_version");
    exec_ok(x, "DROP TABLE projection_refills");
    exec_ok(x, "DELETE FROM schema_version WHERE version >= 2");
    raw_insert(x, "old", 1);
    raw_insert(x, "old", 2);
    inc_error err;
    assert_null(inc_consumer_open(fx->store, &(inc_consumer_options){.name = "u"}, &err));
    assert_string_equal(err.code, "not_initialised");
    assert_int_equal(inc_store_init(fx->store, &counter_domain, &err), 0);
    char *v = th_query1(x, "SELECT max(version) FROM schema_version", 0, NULL);
    char want[16];
    snprintf(want, sizeof want, "%d", INC_STORE_SCHEMA_VERSION);
    assert_string_equal(v, want);
    free(v);
    raw_insert(x, "old", 3);
    add(fx->store, "old", 4, 1);
    settle(fx->store, 4);
    inc_consumer *c = open_named(fx->store, "u");
    seen *s = calloc(1, sizeof *s);
    assert_int_equal(drain(c, s), 4);
    for (size_t i = 0; i < 4; i++) assert_int_equal(s->version[i], (int64_t)i + 1);
    /* init again changes nothing */
    assert_int_equal(inc_store_init(fx->store, &counter_domain, &err), 0);
    assert_int_equal(drain(c, s), 0);
    PQfinish(x);
    inc_consumer_close(c);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_order_and_checkpoint),
        TH_BOTH(test_batches_and_limit),
        TH_BOTH(test_handler_error_stops_and_retries),
        TH_BOTH(test_filters),
        TH_BOTH(test_groups_share_streams),
        TH_BOTH(test_checkpoint_compare_and_set),
        TH_BOTH(test_list_and_delete),
        TH_BOTH(test_bad_options),
        TH_PG(test_hazard_late_commit),
        TH_PG(test_aborted_and_own_transaction),
        TH_PG(test_transactional_handler),
        TH_PG(test_wakeup_on_notify),
        TH_PG(test_connection_loss),
        TH_PG(test_upgrade_from_v1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
