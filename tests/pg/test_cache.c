/* test_cache.c - the app's state cache (inc_app_set_state_cache) over both
 * stores: hits that catch up with other writers, decisions on the current
 * state, eviction, the cache off, batches; against PostgreSQL also stale
 * entries (history deleted or rewritten behind the app's back) and the
 * after-commit pg_notify. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include <cmocka.h>
#include <jansson.h>

#include <incident/batch.h>

#include "counter.h"
#include "counter_twin.h"
#include "harness.h"

/* The Add command add_on dispatches: the generated one, or the writable
 * twin's while a test changes the aggregate's projections. */
static const inc_message_desc *counter_add_cmd = &counter_add_desc;

static int add_on(inc_app *app, const char *id, int64_t amount, inc_error *err) {
    counter_add c = {(char *)id, amount};
    inc_error_clear(err);
    return inc_dispatch(app, counter_add_cmd, &c, NULL, err);
}

static inc_app_stats stats(const inc_app *app) {
    inc_app_stats st;
    inc_app_get_stats(app, &st);
    return st;
}

/* A second writer: another app on the same store (memory) or on another
 * connection to the same schema (PostgreSQL). */
typedef struct other {
    inc_store *store; /* owned only for PostgreSQL */
    inc_app *app;
} other;

static other other_open(th_fx *fx) {
    other o = {NULL, NULL};
    inc_error err;
    o.store = fx->pg ? th_open_same(fx) : NULL;
    o.app = inc_app_new(&counter_domain, o.store ? o.store : fx->store, &err);
    assert_non_null(o.app);
    return o;
}

static void other_close(other *o) {
    inc_app_free(o->app);
    inc_store_close(o->store);
}

static void test_hit_catches_up(void **state) {
    th_fx *fx = *state;
    inc_error err;
    assert_int_equal(add_on(fx->app, "x", 1, &err), 0);
    /* the cached state is current: committed without reading first */
    assert_int_equal(add_on(fx->app, "x", 2, &err), 0);
    inc_app_stats st = stats(fx->app);
    assert_int_equal(st.cache_misses, 1);
    assert_int_equal(st.cache_hits, 0);
    assert_int_equal(st.speculative_commits, 1);
    /* another writer adds two events the cached state does not have */
    other o = other_open(fx);
    assert_int_equal(add_on(o.app, "x", 10, &err), 0);
    assert_int_equal(add_on(o.app, "x", 10, &err), 0);
    inc_result res;
    inc_result_init(&res);
    counter_add c = {"x", 100};
    assert_int_equal(inc_dispatch(fx->app, &counter_add_desc, &c, &res, &err), 0);
    assert_int_equal(res.count, 1);
    assert_int_equal(res.events[0].version, 5); /* after the other's 3 and 4 */
    inc_result_free(&res);
    /* that commit was refused (the stream had moved on), then the state
     * caught up: no conflict for the caller */
    st = stats(fx->app);
    assert_int_equal(st.speculative_stale, 1);
    assert_int_equal(st.speculative_commits, 1);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.cache_stale, 0);
    assert_int_equal(st.conflicts, 0);
    int64_t v;
    assert_int_equal(th_total(fx->app, "x", &v), 123);
    assert_int_equal(v, 5);
    /* and the other app's cache catches up with ours the same way */
    assert_int_equal(add_on(o.app, "x", 1000, &err), 0);
    assert_int_equal(th_total(o.app, "x", NULL), 1123);
    other_close(&o);
}

/* A check is decided on the current state, not on the cached one: with
 * the cached total the add would overflow and be rejected. */
static void test_decides_on_current_state(void **state) {
    th_fx *fx = *state;
    inc_error err;
    assert_int_equal(add_on(fx->app, "big", INT64_MAX - 10, &err), 0);
    other o = other_open(fx);
    assert_int_equal(add_on(o.app, "big", -20, &err), 0);
    assert_int_equal(add_on(fx->app, "big", 25, &err), 0);
    assert_true(th_total(fx->app, "big", NULL) == INT64_MAX - 5);
    /* and a rejection on the current state keeps the cache usable */
    assert_int_equal(add_on(fx->app, "big", 6, &err), -1);
    assert_string_equal(err.code, "integer_overflow");
    assert_int_equal(add_on(fx->app, "big", 5, &err), 0);
    assert_true(th_total(fx->app, "big", NULL) == INT64_MAX);
    inc_app_stats st = stats(fx->app);
    assert_int_equal(st.cache_misses, 1);
    /* the two rejections on the cached state were checked after reading */
    assert_int_equal(st.cache_hits, 2);
    assert_int_equal(st.speculative_commits, 1);
    assert_int_equal(st.speculative_stale, 0);
    other_close(&o);
}

static void test_eviction_and_off(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_app_set_state_cache(fx->app, 2);
    assert_int_equal(add_on(fx->app, "a", 1, &err), 0);
    assert_int_equal(add_on(fx->app, "b", 1, &err), 0);
    assert_int_equal(add_on(fx->app, "c", 1, &err), 0); /* a is dropped */
    assert_int_equal(stats(fx->app).cache_misses, 3);
    assert_int_equal(add_on(fx->app, "c", 1, &err), 0);
    assert_int_equal(add_on(fx->app, "b", 1, &err), 0);
    assert_int_equal(stats(fx->app).speculative_commits, 2);
    assert_int_equal(add_on(fx->app, "a", 1, &err), 0);
    assert_int_equal(stats(fx->app).cache_misses, 4);
    /* off: every command loads in full */
    inc_app_set_state_cache(fx->app, 0);
    assert_int_equal(add_on(fx->app, "a", 1, &err), 0);
    assert_int_equal(add_on(fx->app, "a", 1, &err), 0);
    inc_app_stats st = stats(fx->app);
    assert_int_equal(st.speculative_commits, 2);
    assert_int_equal(st.cache_misses, 6);
    assert_int_equal(th_total(fx->app, "a", NULL), 4);
    assert_int_equal(th_total(fx->app, "b", NULL), 2);
    assert_int_equal(th_total(fx->app, "c", NULL), 2);
}

/* A batch leaves its states in the cache and commits on cached ones
 * without reading; when a stream moved on, the chunk runs again reading
 * first; an app that sees stale states often reads (catches up) first. */
static void test_batch_and_cache(void **state) {
    th_fx *fx = *state;
    inc_error err;
    enum { N = 40 };
    counter_add adds[N];
    inc_batch_item items[N];
    inc_batch_result res[N];
    const char *ids[2] = {"b1", "b2"};
    for (int i = 0; i < N; i++) {
        adds[i] = (counter_add){(char *)ids[i % 2], 1};
        items[i] = (inc_batch_item){&counter_add_desc, &adds[i]};
    }
    assert_int_equal(add_on(fx->app, "b1", 1000, &err), 0); /* cached */
    other o = other_open(fx);
    assert_int_equal(add_on(o.app, "b1", 1000, &err), 0); /* not in our cache */
    assert_int_equal(inc_dispatch_batch_chunked(fx->app, items, N, 8, res, &err), 0);
    for (int i = 0; i < N; i++) assert_int_equal(res[i].status, INC_BATCH_COMMITTED);
    assert_int_equal(res[N - 2].version, 2 + N / 2); /* b1: 2 before */
    assert_int_equal(res[N - 1].version, N / 2);
    inc_app_stats st = stats(fx->app);
    /* chunk 1: b1 from the cache unread, b2 loaded (empty); the commit is
     * refused (b1 moved on), the chunk runs again reading first: b1 catches
     * up from its cached state, b2 (nothing to cache) loads again; chunks
     * 2-5 commit on the cached states unread */
    assert_int_equal(st.cache_misses, 1 + 1 + 1);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.speculative_stale, 1);
    assert_int_equal(st.speculative_commits, 2 * 4);
    assert_int_equal(st.cache_stale, 0);
    assert_int_equal(add_on(o.app, "b2", 5, &err), 0);
    assert_int_equal(add_on(fx->app, "b2", 5, &err), 0); /* refused, caught up */
    assert_int_equal(stats(fx->app).cache_hits, 2);
    assert_int_equal(stats(fx->app).speculative_stale, 2);
    assert_int_equal(th_total(fx->app, "b1", NULL), 2000 + N / 2);
    assert_int_equal(th_total(fx->app, "b2", NULL), N / 2 + 10);

    /* make the app see stale states often: it then reads first */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(add_on(o.app, "b1", 1, &err), 0);
        assert_int_equal(add_on(fx->app, "b1", 1, &err), 0);
    }
    assert_int_equal(add_on(o.app, "b1", 1, &err), 0);
    assert_int_equal(add_on(o.app, "b2", 1, &err), 0);
    inc_app_stats before = stats(fx->app);
    assert_int_equal(inc_dispatch_batch_chunked(fx->app, items, 4, 8, res, &err), 0);
    for (int i = 0; i < 4; i++) assert_int_equal(res[i].status, INC_BATCH_COMMITTED);
    st = stats(fx->app);
    assert_int_equal(st.cache_hits - before.cache_hits, 2); /* caught up */
    assert_int_equal(st.cache_misses, before.cache_misses);
    assert_int_equal(st.speculative_commits, before.speculative_commits);
    assert_int_equal(st.speculative_stale, before.speculative_stale);
    assert_int_equal(th_total(fx->app, "b1", NULL), 2000 + N / 2 + 21 + 2);
    assert_int_equal(th_total(fx->app, "b2", NULL), N / 2 + 10 + 1 + 2);
    other_close(&o);
}

/* A projection rule that says no to a total of 14. */
static int picky_project(const void *state, void *row, inc_error *err) {
    const counter_counter_state *st = state;
    if (st->total == 14) return inc_reject(err, "fourteen");
    return counter_counters_projection.project(state, row, err);
}

/* A rule after execute (apply, project) that fails on the cached state,
 * which is behind, is not the answer: the command reads the stream and is
 * decided on the current state. */
static void test_failure_on_unread_state_is_retried(void **state) {
    th_fx *fx = *state;
    inc_error err;
    counter_twin *tw = counter_twin_reset(); /* its projections change below */
    counter_add_cmd = &tw->add;
    assert_int_equal(add_on(fx->app, "pk", 13, &err), 0); /* cached at 13 */
    other o = other_open(fx);
    assert_int_equal(add_on(o.app, "pk", 1, &err), 0); /* 14 in the store */
    /* static: the memory store keeps the descriptor with its rows */
    static inc_projection_desc picky;
    picky = counter_counters_projection;
    picky.project = picky_project;
    static const inc_projection_desc *const list[1] = {&picky};
    tw->type.projections = list;
    /* on the cached 13, +1 gives 14: refused by the rule; on the current
     * 14 it gives 15 */
    int rc = add_on(fx->app, "pk", 1, &err);
    inc_app_stats st = stats(fx->app);
    counter_add_cmd = &counter_add_desc;
    assert_int_equal(rc, 0);
    assert_int_equal(th_total(fx->app, "pk", NULL), 15);
    assert_int_equal(st.cache_hits, 1); /* read after the refusal */
    assert_int_equal(st.speculative_commits, 0);
    other_close(&o);
}

/* A NULL error pointer changes nothing about the retries. */
static void test_null_err(void **state) {
    th_fx *fx = *state;
    inc_error err;
    assert_int_equal(add_on(fx->app, "ne", 1, &err), 0);
    other o = other_open(fx);
    assert_int_equal(add_on(o.app, "ne", 1, &err), 0);
    counter_add c = {"ne", 1};
    assert_int_equal(inc_dispatch(fx->app, &counter_add_desc, &c, NULL, NULL), 0);
    assert_int_equal(stats(fx->app).speculative_stale, 1);
    assert_int_equal(th_total(fx->app, "ne", NULL), 3);
    other_close(&o);
}

/* While another writer keeps moving the stream, the app stops committing
 * blind after a few refusals and reads first; once it is alone again it
 * goes back to committing without reading. */
static void test_speculation_adapts(void **state) {
    th_fx *fx = *state;
    inc_error err;
    other o = other_open(fx);
    assert_int_equal(add_on(fx->app, "busy", 1, &err), 0);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(add_on(o.app, "busy", 1, &err), 0);
        assert_int_equal(add_on(fx->app, "busy", 1, &err), 0);
    }
    inc_app_stats st = stats(fx->app);
    assert_true(st.speculative_stale >= 1 && st.speculative_stale <= 8);
    assert_int_equal(st.speculative_commits, 0);
    assert_int_equal(st.cache_hits, 20);
    assert_int_equal(st.conflicts, 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(add_on(fx->app, "busy", 1, &err), 0);
    st = stats(fx->app);
    assert_true(st.speculative_commits >= 10);
    int64_t v;
    assert_int_equal(th_total(fx->app, "busy", &v), 61);
    assert_int_equal(v, 61);
    other_close(&o);
}

/* inc_commit.expect_event_id at the store: the previous event must be
 * there with that id, checked with the commit, in commit and commit_many. */
static void test_expect_event_id(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_stored_event e1, e2, e3;
    th_event(&e1, "ex", 1);
    th_event(&e2, "ex", 2);
    inc_commit cm = th_commit("ex", &e1, 1);
    assert_int_equal(inc_store_commit(fx->store, &cm, &err), 0);
    cm.events = &e2;
    cm.expect_event_id = e2.event_id; /* not the id of version 1 */
    assert_int_equal(inc_store_commit(fx->store, &cm, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    cm.expect_event_id = "not-a-uuid"; /* refused as input, both stores */
    assert_int_equal(inc_store_commit(fx->store, &cm, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    cm.expect_event_id = e1.event_id;
    assert_int_equal(inc_store_commit(fx->store, &cm, &err), 0);
    /* commit_many: the expected event may come earlier in the list */
    th_event(&e3, "ex", 3);
    inc_stored_event e4;
    th_event(&e4, "ex", 4);
    inc_commit two[2];
    memset(two, 0, sizeof two);
    two[0] = cm;
    two[0].events = &e3;
    two[0].expect_event_id = e2.event_id;
    two[1] = cm;
    two[1].events = &e4;
    two[1].expect_event_id = e1.event_id; /* wrong: version 3 is e3 */
    size_t failed = 99;
    assert_int_equal(inc_store_commit_many(fx->store, two, 2, &failed, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    if (!fx->pg) assert_int_equal(failed, 1);
    two[1].expect_event_id = e3.event_id;
    assert_int_equal(inc_store_commit_many(fx->store, two, 2, &failed, &err), 0);
    assert_int_equal(th_total(fx->app, "ex", NULL), 4);
}

/* ---- PostgreSQL only ---- */

static void exec_ok(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* History changed behind the app's back: the cached entry is not trusted
 * and the stream is loaded in full. */
static void test_stale_entries(void **state) {
    th_fx *fx = *state;
    inc_error err;
    PGconn *c = th_conn(fx);
    assert_int_equal(add_on(fx->app, "gone", 7, &err), 0);
    assert_int_equal(add_on(fx->app, "redo", 7, &err), 0);
    exec_ok(c, "DELETE FROM events WHERE aggregate_id = 'gone'");
    /* same version, another event id and other data */
    exec_ok(c, "UPDATE events SET event_id = gen_random_uuid(), data = "
               "'{\"amount\": 1000}' WHERE aggregate_id = 'redo'");
    assert_int_equal(add_on(fx->app, "gone", 1, &err), 0);
    assert_int_equal(add_on(fx->app, "redo", 1, &err), 0);
    inc_app_stats st = stats(fx->app);
    assert_int_equal(st.speculative_stale, 2); /* refused by the guard */
    assert_int_equal(st.cache_stale, 2);
    assert_int_equal(st.cache_hits, 0);
    int64_t v;
    assert_int_equal(th_total(fx->app, "gone", &v), 1);
    assert_int_equal(v, 1);
    assert_int_equal(th_total(fx->app, "redo", &v), 1001);
    assert_int_equal(v, 2);
    PQfinish(c);
}

/* Wait up to `ms` for a notification on `c`; its payload (malloc'd) or
 * NULL. */
static char *next_notify(PGconn *c, int ms) {
    for (int waited = 0;; waited += 10) {
        assert_int_equal(PQconsumeInput(c), 1);
        PGnotify *n = PQnotifies(c);
        if (n) {
            char *p = strdup(n->extra);
            assert_string_equal(n->relname, "incident_events");
            PQfreemem(n);
            return p;
        }
        if (waited >= ms) return NULL;
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(PQsocket(c), &fds);
        struct timeval tv = {0, 10000};
        select(PQsocket(c) + 1, &fds, NULL, NULL, &tv);
    }
}

static void test_notify_after_commit(void **state) {
    th_fx *fx = *state;
    inc_error err;
    PGconn *c = th_conn(fx);
    exec_ok(c, "LISTEN incident_events");
    /* off by default */
    assert_int_equal(add_on(fx->app, "n0", 3, &err), 0);
    assert_null(next_notify(c, 200));
    inc_pg_store_set_notify(fx->store, true);
    assert_int_equal(add_on(fx->app, "n1", 3, &err), 0);
    char *p = next_notify(c, 5000);
    assert_non_null(p);
    json_t *j = json_loads(p, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "aggregate_type")),
                        "Counter");
    assert_string_equal(json_string_value(json_object_get(j, "aggregate_id")), "n1");
    assert_int_equal(json_integer_value(json_object_get(j, "first_version")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "last_version")), 1);
    json_decref(j);
    free(p);
    /* several events: one notification with the range */
    counter_add_many m = {"n1", 1, 3};
    assert_int_equal(inc_dispatch(fx->app, &counter_add_many_desc, &m, NULL, &err), 0);
    p = next_notify(c, 5000);
    assert_non_null(p);
    assert_non_null(strstr(p, "\"first_version\":2,\"last_version\":4"));
    free(p);
    /* nothing committed, nothing notified: a rejection, a lost race */
    assert_int_equal(add_on(fx->app, "n1", 0, &err), -1);
    assert_null(next_notify(c, 200));
    /* off */
    inc_pg_store_set_notify(fx->store, false);
    assert_int_equal(add_on(fx->app, "n1", 1, &err), 0);
    assert_null(next_notify(c, 200));
    inc_pg_store_set_notify(fx->store, true);
    assert_int_equal(add_on(fx->app, "n1", 1, &err), 0);
    p = next_notify(c, 5000);
    assert_non_null(p);
    assert_non_null(strstr(p, "\"first_version\":6"));
    free(p);
    /* the commits still wait for their flush: only the notification's own
     * transaction turns synchronous_commit off, never the store's session.
     * The setting is read inside the store's own session, by a trigger on
     * events that records it for every event the store inserts. */
    free(th_query1(c, "CREATE TABLE sync_seen (version bigint, setting text)",
                   0, NULL));
    free(th_query1(c,
                   "CREATE FUNCTION sync_seen_record() RETURNS trigger "
                   "LANGUAGE plpgsql AS $$BEGIN INSERT INTO sync_seen VALUES "
                   "(NEW.version, current_setting('synchronous_commit')); "
                   "RETURN NEW; END$$",
                   0, NULL));
    free(th_query1(c,
                   "CREATE TRIGGER sync_seen AFTER INSERT ON events FOR EACH "
                   "ROW EXECUTE FUNCTION sync_seen_record()",
                   0, NULL));
    /* two commits, each after a notification on the same session */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(add_on(fx->app, "n1", 1, &err), 0);
        p = next_notify(c, 5000);
        assert_non_null(p);
        free(p);
    }
    char *sc = th_query1(c,
                         "SELECT string_agg(version || '=' || setting, ',' "
                         "ORDER BY version) FROM sync_seen",
                         0, NULL);
    assert_string_equal(sc, "7=on,8=on");
    free(sc);
    PQfinish(c);
}

/* A commit that loses the race notifies nothing: the notification is
 * conditional on the commit's first event being there. */
static void test_no_notify_on_conflict(void **state) {
    th_fx *fx = *state;
    inc_error err;
    PGconn *c = th_conn(fx);
    exec_ok(c, "LISTEN incident_events");
    inc_pg_store_set_notify(fx->store, true);
    inc_stored_event ev;
    th_event(&ev, "race", 1);
    inc_commit cm = th_commit("race", &ev, 1);
    assert_int_equal(inc_store_commit(fx->store, &cm, &err), 0);
    char *p = next_notify(c, 5000);
    assert_non_null(p);
    free(p);
    /* version 1 again, with another id: a conflict */
    assert_int_equal(inc_uuid_v4(ev.event_id, &err), 0);
    assert_int_equal(inc_store_commit(fx->store, &cm, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    assert_null(next_notify(c, 200));
    /* and the connection is fine afterwards */
    assert_int_equal(add_on(fx->app, "race", 1, &err), 0);
    p = next_notify(c, 5000);
    assert_non_null(p);
    free(p);
    PQfinish(c);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_hit_catches_up),
        TH_BOTH(test_decides_on_current_state),
        TH_BOTH(test_eviction_and_off),
        TH_BOTH(test_batch_and_cache),
        TH_BOTH(test_speculation_adapts),
        TH_BOTH(test_failure_on_unread_state_is_retried),
        TH_BOTH(test_null_err),
        TH_BOTH(test_expect_event_id),
        TH_PG(test_stale_entries),
        TH_PG(test_notify_after_commit),
        TH_PG(test_no_notify_on_conflict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
