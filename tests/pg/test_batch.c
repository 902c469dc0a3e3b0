/* test_batch.c - inc_dispatch_batch and the stores' commit_many, over both
 * stores: per-item outcomes, rejections that leave their chunk going, the
 * same states as dispatching one by one (snapshots included), all-or-nothing
 * commit_many, and a chunk whose commit conflicts falling back to item by
 * item. */
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

static int64_t total_of(inc_app *app, const char *id, int64_t *version) {
    counter_counter_state s;
    inc_error err;
    assert_int_equal(inc_app_state(app, &counter_counter_type, id, &s, &err), 0);
    int64_t t = s.total;
    if (version) *version = s.version;
    inc_msg_free(&counter_counter_state_desc, &s);
    return t;
}

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
    assert_int_equal(total_of(fx->app, "a", &v), 4);
    assert_int_equal(v, 2);
    assert_int_equal(total_of(fx->app, "b", &v), 5);
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
    assert_int_equal(total_of(fx->app, "x", &v), 5);
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
        assert_int_equal(total_of(fx->app, ids[0][k], &vb),
                         total_of(fx->app, ids[1][k], &vs));
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
            assert_int_equal(total_of(fx->app, id, &v), 102);
            assert_int_equal(v, 3);
            assert_int_equal(res[2].version, 3);
        } else {
            assert_int_equal(total_of(fx->app, id, &v), 2);
            assert_int_equal(v, 2);
        }
        inc_app_free(app);
        inc_app_free(rs.rival);
    }
    int64_t v;
    assert_int_equal(total_of(fx->app, "other", &v), 4);
}

#define BOTH(f)                                                                \
    cmocka_unit_test_prestate_setup_teardown(f, th_setup, th_teardown,         \
                                             &th_mode_mem),                    \
        cmocka_unit_test_prestate_setup_teardown(f, th_setup, th_teardown,     \
                                                 &th_mode_pg)

int main(void) {
    const struct CMUnitTest tests[] = {
        BOTH(test_batch_basic),
        BOTH(test_batch_rejections),
        BOTH(test_batch_equals_single),
        BOTH(test_commit_many_all_or_nothing),
        BOTH(test_conflicting_chunk_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
