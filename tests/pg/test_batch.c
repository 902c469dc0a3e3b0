/* test_batch.c - inc_dispatch_batch and the stores' commit_many, over both
 * stores: per-item outcomes, rejections that leave their chunk going, the
 * same states as dispatching one by one (snapshots included), all-or-nothing
 * commit_many, and a chunk whose commit conflicts falling back to item by
 * item; load_many (streams delivered whole, in order, failures confined to
 * their request) and chunks over many aggregates, each several times. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/batch.h>

#include "counter.h"
#include "harness.h"

static int count_cb(void *ud, const inc_recorded_event *ev, inc_error *err) {
    (void)ev;
    (void)err;
    (*(int *)ud)++;
    return 0;
}

static int n_events(inc_app *app, const char *id) {
    int n = 0;
    inc_error err;
    assert_int_equal(inc_app_read_stream(app, &counter_counter_type, id,
                                         count_cb, &n, &err),
                     0);
    return n;
}

static int keep_total(void *ud, const void *row, const inc_row_meta *meta,
                      inc_error *err) {
    (void)meta;
    (void)err;
    *(int64_t *)ud = ((const counter_counters_row *)row)->total;
    return 0;
}

static void test_batch_basic(void **state) {
    th_fx *fx = *state;
    counter_add a1 = {"a", 1}, b2 = {"b", 2}, a3 = {"a", 3};
    counter_add_many bm = {"b", 1, 3};
    counter_noop nc = {"c"};
    inc_batch_item items[] = {{&counter_add_desc, &a1},
                              {&counter_add_desc, &b2},
                              {&counter_add_desc, &a3},
                              {&counter_add_many_desc, &bm},
                              {&counter_noop_desc, &nc}};
    inc_batch_result res[5];
    inc_error err;
    assert_int_equal(inc_dispatch_batch(fx->app, items, 5, res, &err), 0);
    for (int i = 0; i < 5; i++) assert_int_equal(res[i].status, INC_BATCH_COMMITTED);
    assert_int_equal(res[0].version, 1);
    assert_int_equal(res[2].version, 2);
    assert_int_equal(res[3].n_events, 3);
    assert_int_equal(res[3].version, 4);
    assert_int_equal(res[4].n_events, 0);
    assert_int_equal(res[4].version, 0);
    int64_t v;
    assert_int_equal(th_total(fx->app, "a", &v), 4);
    assert_int_equal(v, 2);
    assert_int_equal(th_total(fx->app, "b", &v), 5);
    assert_int_equal(v, 4);
    assert_int_equal(n_events(fx->app, "c"), 0);
    /* the projection row was written with the events */
    int64_t row_total = -1;
    bool found = false;
    assert_int_equal(inc_store_projection_get(fx->store,
                                              &counter_counters_projection,
                                              "b", keep_total, &row_total,
                                              &found, &err),
                     0);
    assert_true(found);
    assert_int_equal(row_total, 5);
    /* an empty batch is fine */
    assert_int_equal(inc_dispatch_batch(fx->app, NULL, 0, NULL, &err), 0);
}

static void test_batch_rejections(void **state) {
    th_fx *fx = *state;
    counter_label early = {"x", "too soon", 0, false};
    counter_add zero = {"x", 0}, five = {"x", 5}, huge = {"x", INT64_MAX};
    counter_fail fail = {"x"};
    counter_label ok = {"x", "hi", 0, false};
    counter_add noid = {"", 1};
    inc_batch_item items[] = {{&counter_label_desc, &early},
                              {&counter_add_desc, &zero},
                              {&counter_add_desc, &five},
                              {&counter_fail_desc, &fail},
                              {&counter_label_desc, &ok},
                              {&counter_add_desc, &huge},
                              {&counter_add_desc, &noid},
                              {&counter_added_desc, &five}};
    inc_batch_result res[8];
    inc_error err;
    assert_int_equal(inc_dispatch_batch(fx->app, items, 8, res, &err), 6);
    assert_int_equal(res[0].status, INC_BATCH_FAILED);
    assert_int_equal(res[0].error.kind, INC_ERR_REJECTED);
    assert_int_equal(res[1].status, INC_BATCH_FAILED);
    assert_string_equal(res[1].error.code, "zero_amount");
    assert_int_equal(res[2].status, INC_BATCH_COMMITTED);
    assert_int_equal(res[2].version, 1);
    assert_int_equal(res[3].status, INC_BATCH_FAILED);
    assert_int_equal(res[3].error.kind, INC_ERR_REJECTED);
    assert_int_equal(res[4].status, INC_BATCH_COMMITTED);
    assert_int_equal(res[4].version, 2);
    assert_int_equal(res[5].status, INC_BATCH_FAILED); /* overflow */
    assert_int_equal(res[5].error.kind, INC_ERR_REJECTED);
    assert_int_equal(res[6].status, INC_BATCH_FAILED);
    assert_int_equal(res[6].error.kind, INC_ERR_INVALID);
    assert_int_equal(res[7].status, INC_BATCH_FAILED); /* not a command */
    int64_t v;
    assert_int_equal(th_total(fx->app, "x", &v), 5);
    assert_int_equal(v, 2);
}

/* The same commands through a batch (small chunks, snapshots every 5) and
 * one by one give the same states. */
static void test_batch_equals_single(void **state) {
    th_fx *fx = *state;
    enum { N = 300, IDS = 7 };
    static counter_add cmds[2][N];
    static char ids[2][IDS][16];
    inc_batch_item items[N];
    inc_batch_result res[N];
    inc_error err;
    assert_int_equal(inc_app_set_snapshot_every(fx->app, NULL, 5, &err), 0);
    for (int k = 0; k < IDS; k++) {
        snprintf(ids[0][k], 16, "bat-%d", k);
        snprintf(ids[1][k], 16, "one-%d", k);
    }
    for (int i = 0; i < N; i++)
        for (int m = 0; m < 2; m++) {
            cmds[m][i].aggregate_id = ids[m][(i * 3) % IDS];
            cmds[m][i].amount = 1 + i % 5;
        }
    for (int i = 0; i < N; i++) items[i] = (inc_batch_item){&counter_add_desc, &cmds[0][i]};
    assert_int_equal(inc_dispatch_batch_chunked(fx->app, items, N, 16, res, &err), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(inc_dispatch(fx->app, &counter_add_desc, &cmds[1][i],
                                      NULL, &err),
                         0);
    for (int k = 0; k < IDS; k++) {
        int64_t vb, vs;
        assert_int_equal(th_total(fx->app, ids[0][k], &vb),
                         th_total(fx->app, ids[1][k], &vs));
        assert_int_equal(vb, vs);
        assert_int_equal(n_events(fx->app, ids[0][k]), (int)vb);
    }
}

/* Two commits in one commit_many; the second conflicts: nothing of the
 * first is written either. */
static void test_commit_many_all_or_nothing(void **state) {
    th_fx *fx = *state;
    inc_error err;
    counter_add q = {"q", 1};
    assert_int_equal(inc_dispatch(fx->app, &counter_add_desc, &q, NULL, &err), 0);
    inc_stored_event e[2];
    inc_commit c[2];
    memset(e, 0, sizeof e);
    memset(c, 0, sizeof c);
    const char *ids[2] = {"p", "q"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(inc_uuid_v4(e[i].event_id, &err), 0);
        e[i].aggregate_type = "Counter";
        e[i].aggregate_id = ids[i];
        e[i].version = 1;
        e[i].event_type = "Added";
        e[i].data = "{\"amount\":1}";
        e[i].metadata = "{}";
        e[i].event_date = inc_timestamp_now();
        c[i].aggregate = &counter_counter_type;
        c[i].aggregate_id = ids[i];
        c[i].n_events = 1;
        c[i].events = &e[i];
    }
    size_t failed = 99;
    assert_int_equal(inc_store_commit_many(fx->store, c, 2, &failed, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    assert_int_equal(failed, 1);
    assert_int_equal(n_events(fx->app, "p"), 0);
    /* and succeeds once the conflict is gone */
    e[1].version = 2;
    int64_t pos[1] = {0};
    c[1].positions = pos;
    assert_int_equal(inc_store_commit_many(fx->store, c, 2, &failed, &err), 0);
    assert_true(pos[0] > 0);
    assert_int_equal(n_events(fx->app, "p"), 1);
    assert_int_equal(n_events(fx->app, "q"), 2);
}

/* ---- load_many ---- */

typedef struct seen {
    int64_t last;     /* last version delivered */
    int snapshots, events;
    bool fail_at_2;   /* the event callback fails at version 2 */
    int *order;       /* shared: which request delivered last */
    int me;
    bool interleaved; /* rows of another request came in between */
} seen;

static int seen_snapshot(void *ud, int64_t version, const char *json,
                         inc_error *err) {
    seen *sn = ud;
    (void)json;
    (void)err;
    if (*sn->order != sn->me && sn->events + sn->snapshots > 0)
        sn->interleaved = true;
    *sn->order = sn->me;
    sn->snapshots++;
    sn->last = version;
    return 0;
}

static int seen_event(void *ud, const inc_stored_event *ev, inc_error *err) {
    seen *sn = ud;
    if (*sn->order != sn->me && sn->events + sn->snapshots > 0)
        sn->interleaved = true;
    *sn->order = sn->me;
    if (ev->version != sn->last + 1)
        return inc_error_set(err, INC_ERR_INTERNAL, "order", "out of order");
    if (sn->fail_at_2 && ev->version == 2)
        return inc_error_set(err, INC_ERR_INTERNAL, "cb_failed", "as asked");
    sn->last = ev->version;
    sn->events++;
    return 0;
}

/* Streams of different lengths (one with a snapshot, one empty, one with a
 * bad id, one whose callback fails, many with long ids so PostgreSQL needs
 * more than one pipeline): each delivered whole and in order, failures
 * confined to their request. */
static void test_load_many(void **state) {
    th_fx *fx = *state;
    enum { N = 700, LONG = 240 };
    inc_error err;
    assert_int_equal(inc_app_set_snapshot_every(fx->app, NULL, 4, &err), 0);
    static char ids[N][LONG + 16];
    for (int i = 0; i < N; i++) {
        if (i < 5) snprintf(ids[i], sizeof ids[i], "lm-%d", i);
        else snprintf(ids[i], sizeof ids[i], "lm-%d-%0*d", i, LONG, 0);
    }
    /* lm-0: 6 events (snapshot at 4), lm-1: 2, lm-2: none, lm-3: bad id,
     * lm-4: 3 (callback fails at 2); the long ones: i % 3 events */
    for (int i = 0; i < N; i++) {
        int k = i == 0 ? 6 : i == 1 ? 2 : i == 2 || i == 3 ? 0 : i == 4 ? 3 : i % 3;
        counter_add c = {ids[i], 1};
        for (int j = 0; j < k; j++)
            assert_int_equal(inc_dispatch(fx->app, &counter_add_desc, &c, NULL, &err), 0);
    }
    strcpy(ids[3], "bad-\xff");
    static inc_load_req reqs[N];
    static seen sn[N];
    int order = -1;
    memset(reqs, 0, sizeof reqs);
    memset(sn, 0, sizeof sn);
    for (int i = 0; i < N; i++) {
        sn[i].order = &order;
        sn[i].me = i;
        sn[i].fail_at_2 = i == 4;
        reqs[i].aggregate = &counter_counter_type;
        reqs[i].aggregate_id = ids[i];
        reqs[i].cbs = (inc_load_cbs){seen_snapshot, seen_event, &sn[i]};
        reqs[i].rc = 99;
    }
    assert_int_equal(inc_store_load_many(fx->store, reqs, N, &err), 0);
    assert_int_equal(reqs[0].rc, 0);
    assert_int_equal(sn[0].snapshots, 1);
    assert_int_equal(sn[0].events, 2);
    assert_int_equal(sn[0].last, 6);
    assert_int_equal(reqs[1].rc, 0);
    assert_int_equal(sn[1].last, 2);
    assert_int_equal(reqs[2].rc, 0);
    assert_int_equal(sn[2].last, 0);
    assert_int_equal(reqs[3].rc, -1);
    assert_int_equal(reqs[3].error.kind, INC_ERR_INVALID);
    assert_int_equal(reqs[4].rc, -1);
    assert_string_equal(reqs[4].error.code, "cb_failed");
    for (int i = 5; i < N; i++) {
        assert_int_equal(reqs[i].rc, 0);
        assert_int_equal(sn[i].last, i % 3);
        assert_int_equal(sn[i].snapshots, 0);
    }
    for (int i = 0; i < N; i++) assert_false(sn[i].interleaved);
    /* without snapshots: a full replay */
    memset(&sn[0], 0, sizeof sn[0]);
    sn[0].order = &order;
    reqs[0].flags = INC_LOAD_NO_SNAPSHOT;
    assert_int_equal(inc_store_load_many(fx->store, reqs, 1, &err), 0);
    assert_int_equal(sn[0].snapshots, 0);
    assert_int_equal(sn[0].events, 6);
    /* nothing to load */
    assert_int_equal(inc_store_load_many(fx->store, reqs, 0, &err), 0);
}

/* A store that counts how its loads are asked for. */
typedef struct count_store {
    inc_store base;
    inc_store *inner;
    inc_store_ops ops;
    int loads, load_manys;
    size_t streams;
} count_store;

static int cnt_load(inc_store *s, const inc_aggregate_desc *a, const char *id,
                    unsigned flags, const inc_load_cbs *cbs, inc_error *err) {
    ((count_store *)s)->loads++;
    return inc_store_load(((count_store *)s)->inner, a, id, flags, cbs, err);
}

static int cnt_load_many(inc_store *s, inc_load_req *reqs, size_t n,
                         inc_error *err) {
    ((count_store *)s)->load_manys++;
    ((count_store *)s)->streams += n;
    return inc_store_load_many(((count_store *)s)->inner, reqs, n, err);
}

static int cnt_commit(inc_store *s, const inc_commit *c, inc_error *err) {
    return inc_store_commit(((count_store *)s)->inner, c, err);
}

static int cnt_commit_many(inc_store *s, const inc_commit *c, size_t n,
                           size_t *failed, inc_error *err) {
    return inc_store_commit_many(((count_store *)s)->inner, c, n, failed, err);
}

/* One chunk over many aggregates, each several times and interleaved, some
 * with history and snapshots (one of them unreadable): one load_many for
 * the chunk; every item sees the state its aggregate's previous item left;
 * versions, totals, event counts and projection rows as one by one. */
static void test_batch_many_aggregates(void **state) {
    th_fx *fx = *state;
    enum { N = 600, IDS = 150, CHUNK = 300 };
    static char ids[IDS][16];
    static counter_add adds[N];
    static counter_fail fails[N];
    inc_batch_item items[N];
    inc_batch_result res[N];
    int64_t total[IDS], version[IDS];
    inc_error err;
    assert_int_equal(inc_app_set_snapshot_every(fx->app, NULL, 3, &err), 0);
    for (int k = 0; k < IDS; k++) {
        snprintf(ids[k], sizeof ids[k], "ma-%d", k);
        total[k] = version[k] = 0;
        /* history: k % 5 events before the batch (snapshots at 3) */
        for (int j = 0; j < k % 5; j++) {
            counter_add c = {ids[k], 10};
            assert_int_equal(inc_dispatch(fx->app, &counter_add_desc, &c, NULL, &err), 0);
            total[k] += 10;
            version[k]++;
        }
    }
    if (fx->pg) {
        /* an unreadable snapshot is never trusted: the stream is replayed */
        PGconn *c = th_conn(fx);
        free(th_query1(c,
                       "UPDATE snapshots SET state = '{\"nonsense\": 1}' "
                       "WHERE aggregate_id = 'ma-3' RETURNING 1",
                       0, NULL));
        PQfinish(c);
    }
    for (int i = 0; i < N; i++) {
        /* ids cycle with a stride, so repeats are interleaved with others */
        int k = (i * 7) % IDS;
        if (i % 13 == 5) {
            fails[i].aggregate_id = ids[k];
            items[i] = (inc_batch_item){&counter_fail_desc, &fails[i]};
        } else {
            adds[i].aggregate_id = ids[k];
            adds[i].amount = 1 + i % 4;
            items[i] = (inc_batch_item){&counter_add_desc, &adds[i]};
        }
    }
    count_store cs;
    memset(&cs, 0, sizeof cs);
    cs.inner = fx->store;
    cs.ops = *fx->store->ops;
    cs.ops.load = cnt_load;
    cs.ops.load_many = cnt_load_many;
    cs.ops.commit = cnt_commit;
    cs.ops.commit_many = cnt_commit_many;
    cs.base.ops = &cs.ops;
    inc_app *app = inc_app_new(&counter_domain, &cs.base, &err);
    assert_non_null(app);
    assert_int_equal(inc_app_set_snapshot_every(app, NULL, 3, &err), 0);
    int failed = inc_dispatch_batch_chunked(app, items, N, CHUNK, res, &err);
    int want_failed = 0;
    for (int i = 0; i < N; i++) {
        int k = (i * 7) % IDS;
        if (i % 13 == 5) {
            want_failed++;
            assert_int_equal(res[i].status, INC_BATCH_FAILED);
            assert_int_equal(res[i].error.kind, INC_ERR_REJECTED);
            continue;
        }
        version[k]++;
        total[k] += adds[i].amount;
        assert_int_equal(res[i].status, INC_BATCH_COMMITTED);
        assert_int_equal(res[i].n_events, 1);
        assert_int_equal(res[i].version, version[k]);
    }
    assert_int_equal(failed, want_failed);
    /* one load_many per chunk, for its distinct aggregates (the second
     * chunk first tries the cached states unread, meets a rejection on one
     * and runs again reading first: catch-ups); no single load but the
     * replay of ma-3 in the first chunk (its snapshot is unreadable; the
     * second chunk catches up from the cached state instead) */
    assert_int_equal(cs.load_manys, N / CHUNK);
    assert_int_equal(cs.loads, fx->pg ? 1 : 0);
    assert_int_equal(cs.streams, (size_t)(N / CHUNK) * IDS);
    for (int k = 0; k < IDS; k++) {
        int64_t v;
        assert_int_equal(th_total(fx->app, ids[k], &v), total[k]);
        assert_int_equal(v, version[k]);
        assert_int_equal(n_events(fx->app, ids[k]), (int)version[k]);
        int64_t row_total = -1;
        bool found = false;
        assert_int_equal(inc_store_projection_get(fx->store,
                                                  &counter_counters_projection,
                                                  ids[k], keep_total,
                                                  &row_total, &found, &err),
                         0);
        assert_true(found);
        assert_int_equal(row_total, total[k]);
    }
    inc_app_free(app);
}

/* A store whose first commit_many lets a competing writer in first (so
 * the chunk conflicts), or that has no commit_many at all. */
typedef struct race_store {
    inc_store base;
    inc_store *inner;
    inc_store_ops ops;
    inc_app *rival;
    int many_calls;
} race_store;

static int rs_load(inc_store *s, const inc_aggregate_desc *a, const char *id,
                   unsigned flags, const inc_load_cbs *cbs, inc_error *err) {
    return inc_store_load(((race_store *)s)->inner, a, id, flags, cbs, err);
}

static int rs_load_many(inc_store *s, inc_load_req *reqs, size_t n,
                        inc_error *err) {
    return inc_store_load_many(((race_store *)s)->inner, reqs, n, err);
}

static int rs_commit(inc_store *s, const inc_commit *c, inc_error *err) {
    return inc_store_commit(((race_store *)s)->inner, c, err);
}

static int rs_commit_many(inc_store *s, const inc_commit *c, size_t n,
                          size_t *failed, inc_error *err) {
    race_store *rs = (race_store *)s;
    if (rs->many_calls++ == 0) {
        counter_add rival = {(char *)c[0].aggregate_id, 100};
        inc_error e2;
        assert_int_equal(inc_dispatch(rs->rival, &counter_add_desc, &rival,
                                      NULL, &e2),
                         0);
    }
    return inc_store_commit_many(rs->inner, c, n, failed, err);
}

static void race_setup(race_store *rs, th_fx *fx, bool with_many) {
    inc_error err;
    memset(rs, 0, sizeof *rs);
    rs->inner = fx->store;
    rs->ops = *fx->store->ops;
    rs->ops.load = rs_load;
    rs->ops.load_many = rs_load_many;
    rs->ops.commit = rs_commit;
    rs->ops.commit_many = with_many ? rs_commit_many : NULL;
    rs->base.ops = &rs->ops;
    rs->rival = inc_app_new(&counter_domain, fx->store, &err);
    assert_non_null(rs->rival);
}

static void test_conflicting_chunk_falls_back(void **state) {
    th_fx *fx = *state;
    for (int with_many = 1; with_many >= 0; with_many--) {
        race_store rs;
        inc_error err;
        race_setup(&rs, fx, with_many);
        inc_app *app = inc_app_new(&counter_domain, &rs.base, &err);
        assert_non_null(app);
        inc_app_set_max_backoff(app, 100);
        const char *id = with_many ? "r1" : "r0";
        counter_add a = {(char *)id, 1}, b = {"other", 2};
        inc_batch_item items[] = {{&counter_add_desc, &a},
                                  {&counter_add_desc, &b},
                                  {&counter_add_desc, &a}};
        inc_batch_result res[3];
        assert_int_equal(inc_dispatch_batch(app, items, 3, res, &err), 0);
        for (int i = 0; i < 3; i++)
            assert_int_equal(res[i].status, INC_BATCH_COMMITTED);
        int64_t v;
        if (with_many) {
            /* the rival's 100 first, then the chunk item by item */
            assert_int_equal(rs.many_calls, 1);
            assert_int_equal(th_total(fx->app, id, &v), 102);
            assert_int_equal(v, 3);
            assert_int_equal(res[2].version, 3);
        } else {
            assert_int_equal(th_total(fx->app, id, &v), 2);
            assert_int_equal(v, 2);
        }
        inc_app_free(app);
        inc_app_free(rs.rival);
    }
    int64_t v;
    assert_int_equal(th_total(fx->app, "other", &v), 4);
}

/* ---- multi-row commits (PostgreSQL's commit_many) ---- */

/* Statement-level triggers count the INSERT statements on events and
 * counters: how many statements commit_many sent. */
static void count_statements(PGconn *c) {
    PGresult *r = PQexec(
        c,
        "CREATE TABLE stmts (tbl text PRIMARY KEY, n int NOT NULL);"
        "CREATE FUNCTION count_stmt() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN INSERT INTO stmts VALUES (TG_TABLE_NAME, 1) ON CONFLICT (tbl) "
        "DO UPDATE SET n = stmts.n + 1; RETURN NULL; END $$;"
        "CREATE TRIGGER count_ev AFTER INSERT ON events FOR EACH STATEMENT "
        "EXECUTE FUNCTION count_stmt();"
        "CREATE TRIGGER count_pr AFTER INSERT ON counters FOR EACH STATEMENT "
        "EXECUTE FUNCTION count_stmt();");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("%s", PQerrorMessage(c));
    PQclear(r);
}

static int64_t statements(PGconn *c, const char *tbl) {
    const char *p[1] = {tbl};
    char *r = th_query1(c, "SELECT coalesce((SELECT n FROM stmts WHERE tbl = $1), 0)",
                        1, p);
    int64_t n = r ? atoll(r) : -1;
    free(r);
    r = th_query1(c, "DELETE FROM stmts WHERE tbl = $1 RETURNING 1", 1, p);
    free(r);
    return n;
}

static int64_t query_int(PGconn *c, const char *sql) {
    char *r = th_query1(c, sql, 0, NULL);
    assert_non_null(r);
    int64_t n = atoll(r);
    free(r);
    return n;
}

/* A chunk of commands over several aggregates, some more than once (each
 * further command on an aggregate is one more statement, a "wave"), with
 * every column type, optional values absent and present, strings that
 * need escaping in JSON and SQL, and commands that emit several events:
 * ONE events INSERT and one projection upsert per wave, and the same
 * events, rows and positions as the same commands dispatched one by one
 * (onto the "-1" twin of each aggregate). */
static void test_multirow_equals_single(void **state) {
    th_fx *fx = *state;
    PGconn *c = th_conn(fx);
    count_statements(c);
    inc_error err;
    const char *ids[4] = {"m\"a", "m\\b", "m'c", "m\xc3\xa9\td"};
    char twin[4][16];
    counter_label lab[4];
    counter_add add[4];
    counter_add_many many = {NULL, 7, 3};
    for (int i = 0; i < 4; i++) {
        snprintf(twin[i], sizeof twin[i], "%s-1", ids[i]);
        counter_label_init(&lab[i]);
        add[i] = (counter_add){(char *)ids[i], 400 * (i + 1)};
    }
    lab[0] = (counter_label){(char *)ids[0], "quote \" and \\ and \n", 0, false};
    lab[1] = (counter_label){(char *)ids[1], "caf\xc3\xa9 \x01 ctl", 1700000000123456, true};
    lab[2] = (counter_label){(char *)ids[2], "it's", -86400000000, true};
    lab[3] = (counter_label){(char *)ids[3], "", 0, false};
    many.aggregate_id = (char *)ids[2];
    /* wave 0: the adds; wave 1: the labels; wave 2: one more add, the
     * AddMany */
    inc_batch_item items[10];
    size_t n = 0;
    for (int i = 0; i < 4; i++) items[n++] = (inc_batch_item){&counter_add_desc, &add[i]};
    for (int i = 0; i < 4; i++) items[n++] = (inc_batch_item){&counter_label_desc, &lab[i]};
    items[n++] = (inc_batch_item){&counter_add_desc, &add[0]};
    items[n++] = (inc_batch_item){&counter_add_many_desc, &many};
    inc_batch_result res[10];
    assert_int_equal(inc_dispatch_batch(fx->app, items, n, res, &err), 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(res[i].status, INC_BATCH_COMMITTED);
    assert_int_equal(statements(c, "events"), 3);
    assert_int_equal(statements(c, "counters"), 3);
    /* the same commands one by one, on the twins */
    for (size_t i = 0; i < n; i++) {
        const inc_message_desc *d = items[i].command;
        /* every command struct here starts with its aggregate id */
        char **idp = (char **)(void *)items[i].data, *was = *idp;
        for (int k = 0; k < 4; k++)
            if (strcmp(was, ids[k]) == 0) *idp = twin[k];
        assert_int_equal(inc_dispatch(fx->app, d, items[i].data, NULL, &err), 0);
        *idp = was;
    }
    /* one by one: an INSERT per event (AddMany emits 3) */
    assert_int_equal(statements(c, "events"), (int64_t)n + 2);
    /* rows: every column equal to the twin's */
    assert_int_equal(
        query_int(c, "SELECT count(*) FROM counters a JOIN counters b ON "
                     "b.aggregate_id = a.aggregate_id || '-1' WHERE (a.total, "
                     "a.label, a.ratio, a.big, a.label_at, a.mood, a.version) "
                     "IS NOT DISTINCT FROM (b.total, b.label, b.ratio, b.big, "
                     "b.label_at, b.mood, b.version)"),
        4);
    assert_int_equal(query_int(c, "SELECT count(*) FROM counters WHERE big AND "
                                  "mood = 'busy' AND label_at IS NOT NULL"),
                     2); /* m'c (1,221, labelled at a time) and its twin */
    /* events: the same data, types and versions; positions in version
     * order in each stream */
    assert_int_equal(
        query_int(c, "SELECT count(*) FROM events a JOIN events b ON "
                     "b.aggregate_id = a.aggregate_id || '-1' AND b.version = "
                     "a.version WHERE a.data = b.data AND a.event_type = "
                     "b.event_type AND a.schema_version = b.schema_version AND "
                     "a.metadata - 'command_id' - 'correlation_id' = "
                     "b.metadata - 'command_id' - 'correlation_id'"),
        12);
    assert_int_equal(query_int(c, "SELECT count(*) FROM events"), 24);
    assert_int_equal(
        query_int(c, "SELECT count(*) FROM (SELECT position, lag(position) "
                     "OVER (PARTITION BY aggregate_id ORDER BY version) AS prev "
                     "FROM events) e WHERE e.prev >= e.position"),
        0);
    assert_string_equal(lab[0].label, "quote \" and \\ and \n");
    PQfinish(c);
}

/* commit_many straight: positions handed back for every event, a guard
 * (expect_event_id) that holds commits, one that no longer holds fails
 * its commit alone (the others are not written), in one statement or
 * more. */
static void test_multirow_positions_and_guards(void **state) {
    th_fx *fx = *state;
    PGconn *c = th_conn(fx);
    count_statements(c);
    inc_error err;
    enum { N = 5 };
    const char *ids[N] = {"g0", "g1", "g2", "g1", "g3"};
    inc_stored_event e[N][2];
    inc_commit cm[N];
    int64_t pos[N][2];
    memset(cm, 0, sizeof cm);
    for (int i = 0; i < N; i++) {
        int64_t v = i == 3 ? 3 : 1;
        th_event(&e[i][0], ids[i], v);
        th_event(&e[i][1], ids[i], v + 1);
        cm[i] = th_commit(ids[i], e[i], 2);
        pos[i][0] = pos[i][1] = 0;
        cm[i].positions = pos[i];
    }
    size_t failed = 99;
    assert_int_equal(inc_store_commit_many(fx->store, cm, N, &failed, &err), 0);
    assert_int_equal(statements(c, "events"), 2); /* g1 twice: two waves */
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 2; k++) {
            const char *p[1] = {e[i][k].event_id};
            char *r = th_query1(c, "SELECT position FROM events WHERE event_id = $1",
                                1, p);
            assert_non_null(r);
            assert_int_equal(atoll(r), pos[i][k]);
            free(r);
        }
    assert_true(pos[3][0] > pos[1][1]);
    /* guards: g0 and g2 still end with what we saw; g3 does not */
    inc_stored_event f[3];
    const char *gid[3] = {"g0", "g2", "g3"};
    const char *expect[3] = {e[0][1].event_id, e[2][1].event_id, e[4][0].event_id};
    inc_commit g[3];
    for (int i = 0; i < 3; i++) {
        th_event(&f[i], gid[i], 3);
        g[i] = th_commit(gid[i], &f[i], 1);
        g[i].expect_event_id = expect[i];
    }
    assert_int_equal(inc_store_commit_many(fx->store, g, 3, &failed, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    assert_int_equal(failed, 2);
    assert_int_equal(query_int(c, "SELECT count(*) FROM events WHERE version = 3 "
                                  "AND aggregate_id IN ('g0', 'g2')"),
                     0);
    g[2].expect_event_id = e[4][1].event_id;
    assert_int_equal(inc_store_commit_many(fx->store, g, 3, &failed, &err), 0);
    assert_int_equal(statements(c, "events"), 1);
    assert_int_equal(query_int(c, "SELECT count(*) FROM events WHERE version = 3 "
                                  "AND aggregate_id <> 'g1'"),
                     3);
    PQfinish(c);
}

/* Text from the store API's caller that is not one JSON value, or an id
 * that is not a UUID, cannot reach the multi-row statement's other rows:
 * the commit is refused, named, and nothing is written. */
static void test_multirow_bad_text(void **state) {
    th_fx *fx = *state;
    PGconn *c = th_conn(fx);
    inc_error err;
    static const char *const bad_data[] = {
        "{\"amount\":1},\"a\":\"victim\"", "{\"amount\":1}}", "1 2",
        "\"x\\\"", "{\"amount\":\"}\"", "[1,{]", "",
    };
    for (size_t k = 0; k < sizeof bad_data / sizeof *bad_data + 1; k++) {
        inc_stored_event e[3];
        inc_commit cm[3];
        const char *ids[3] = {"h0", "h1", "h2"};
        for (int i = 0; i < 3; i++) {
            th_event(&e[i], ids[i], 1);
            cm[i] = th_commit(ids[i], &e[i], 1);
        }
        if (k < sizeof bad_data / sizeof *bad_data) e[1].data = bad_data[k];
        else strcpy(e[1].event_id, "0000\",\"a\":\"victim"); /* (fits: 36) */
        size_t failed = 99;
        assert_int_equal(inc_store_commit_many(fx->store, cm, 3, &failed, &err), -1);
        assert_int_equal(failed, 1);
        assert_int_equal(err.kind, INC_ERR_INVALID);
        assert_int_equal(query_int(c, "SELECT count(*) FROM events"), 0);
    }
    PQfinish(c);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_batch_basic),
        TH_BOTH(test_batch_rejections),
        TH_BOTH(test_batch_equals_single),
        TH_BOTH(test_commit_many_all_or_nothing),
        TH_BOTH(test_conflicting_chunk_falls_back),
        TH_BOTH(test_load_many),
        TH_BOTH(test_batch_many_aggregates),
        TH_PG(test_multirow_equals_single),
        TH_PG(test_multirow_positions_and_guards),
        TH_PG(test_multirow_bad_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
