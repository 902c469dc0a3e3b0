/* test_command_id.c - idempotent commands (inc_dispatch_with_id) over both
 * stores: a repeat answered with the first run's events and nothing
 * written, the same id with another payload or command refused, a command
 * with no events recorded, a rejection recorded and answered again,
 * pruning; and, against
 * PostgreSQL only, six processes sending the same id at once and a store
 * whose tables predate command ids. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "counter.h"
#include "harness.h"

static int add_id(inc_app *app, const char *id, int64_t amount,
                  const char *command_id, inc_result *res, inc_error *err) {
    counter_add c = {(char *)id, amount};
    inc_error_clear(err);
    return inc_dispatch_with_id(app, &counter_add_desc, &c, command_id, res,
                                err);
}

static int64_t total_of(th_fx *fx, const char *id, int64_t *version) {
    return th_total(fx->app, id, version);
}

static int keep_record(void *ud, const inc_command_record *r, inc_error *err) {
    (void)err;
    *(inc_command_record *)ud = *r; /* only the numbers are read later */
    return 0;
}

static bool recorded(th_fx *fx, const char *command_id,
                     inc_command_record *out) {
    inc_error err;
    bool found;
    inc_command_record r;
    memset(&r, 0, sizeof r);
    assert_int_equal(inc_store_command_get(fx->store, command_id, keep_record,
                                           &r, &found, &err),
                     0);
    if (out) *out = r;
    return found;
}

static void same_events(const inc_result *a, const inc_result *b) {
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->n_direct, b->n_direct);
    for (size_t i = 0; i < a->count; i++) {
        assert_string_equal(a->events[i].event_id, b->events[i].event_id);
        assert_int_equal(a->events[i].version, b->events[i].version);
        assert_int_equal(a->events[i].position, b->events[i].position);
        assert_true(a->events[i].event_date == b->events[i].event_date);
        assert_string_equal(a->events[i].command_id, b->events[i].command_id);
        assert_string_equal(a->events[i].aggregate_id, b->events[i].aggregate_id);
        assert_ptr_equal(a->events[i].desc, b->events[i].desc);
        assert_int_equal(((counter_added *)a->events[i].data)->amount,
                         ((counter_added *)b->events[i].data)->amount);
    }
}

static void test_repeat_returns_first_outcome(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_result first, again;
    inc_result_init(&first);
    assert_int_equal(add_id(fx->app, "c1", 5, "order-1", &first, &err), 0);
    assert_int_equal(first.count, 1);
    assert_int_equal(first.events[0].version, 1);
    /* other writes to the stream in between */
    assert_int_equal(add_id(fx->app, "c1", 7, NULL, NULL, &err), 0);
    for (int i = 0; i < 3; i++) {
        inc_result_init(&again);
        assert_int_equal(add_id(fx->app, "c1", 5, "order-1", &again, &err), 0);
        same_events(&first, &again);
        inc_result_free(&again);
    }
    /* another app (so no cached state) on the same store answers alike */
    inc_app *other = inc_app_new(&counter_domain, fx->store, &err);
    assert_non_null(other);
    inc_result_init(&again);
    assert_int_equal(add_id(other, "c1", 5, "order-1", &again, &err), 0);
    same_events(&first, &again);
    inc_result_free(&again);
    inc_app_free(other);
    int64_t v;
    assert_int_equal(total_of(fx, "c1", &v), 12);
    assert_int_equal(v, 2);
    inc_command_record r;
    assert_true(recorded(fx, "order-1", &r));
    assert_int_equal(r.first_version, 1);
    assert_int_equal(r.n_events, 1);
    /* the JSON entry point, with the fields in another order and spacing:
     * the payload compares as canonical JSON */
    inc_result_init(&again);
    assert_int_equal(inc_dispatch_json_with_id(
                         fx->app, "Add",
                         "{ \"amount\": 5, \"aggregate_id\": \"c1\" }",
                         "order-1", &again, &err),
                     0);
    same_events(&first, &again);
    inc_result_free(&again);
    inc_result_free(&first);
    /* without a result to fill, a repeat still writes nothing */
    assert_int_equal(add_id(fx->app, "c1", 5, "order-1", NULL, &err), 0);
    assert_int_equal(total_of(fx, "c1", NULL), 12);
}

static void test_reused_id_refused(void **state) {
    th_fx *fx = *state;
    inc_error err;
    assert_int_equal(add_id(fx->app, "c1", 5, "k", NULL, &err), 0);
    /* another payload */
    inc_result res;
    inc_result_init(&res);
    assert_int_equal(add_id(fx->app, "c1", 6, "k", &res, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_string_equal(err.code, "command_id_reused");
    assert_int_equal(res.count, 0);
    /* another aggregate */
    assert_int_equal(add_id(fx->app, "c2", 5, "k", NULL, &err), -1);
    assert_string_equal(err.code, "command_id_reused");
    /* another command */
    counter_noop n = {"c1"};
    assert_int_equal(inc_dispatch_with_id(fx->app, &counter_noop_desc, &n, "k",
                                          NULL, &err),
                     -1);
    assert_string_equal(err.code, "command_id_reused");
    /* nothing written */
    int64_t v;
    assert_int_equal(total_of(fx, "c1", &v), 5);
    assert_int_equal(v, 1);
    assert_int_equal(total_of(fx, "c2", &v), 0);
    assert_int_equal(v, 0);
    inc_command_record r;
    assert_true(recorded(fx, "k", &r));
    assert_int_equal(r.n_events, 1);
    inc_result_free(&res);
}

static void test_bad_ids(void **state) {
    th_fx *fx = *state;
    inc_error err;
    char long_id[INC_COMMAND_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(add_id(fx->app, "c1", 1, long_id, NULL, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_string_equal(err.code, "invalid_command_id");
    assert_int_equal(add_id(fx->app, "c1", 1, "", NULL, &err), -1);
    assert_string_equal(err.code, "invalid_command_id");
    assert_int_equal(add_id(fx->app, "c1", 1, "\xff", NULL, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    long_id[INC_COMMAND_ID_MAX] = '\0'; /* 128 bytes: fine */
    assert_int_equal(add_id(fx->app, "c1", 1, long_id, NULL, &err), 0);
    assert_int_equal(add_id(fx->app, "c1", 1, long_id, NULL, &err), 0);
    assert_int_equal(total_of(fx, "c1", NULL), 1);
}

static void test_no_events_recorded(void **state) {
    th_fx *fx = *state;
    inc_error err;
    counter_noop n = {"c1"};
    inc_result res;
    inc_result_init(&res);
    assert_int_equal(inc_dispatch_with_id(fx->app, &counter_noop_desc, &n,
                                          "noop-1", &res, &err),
                     0);
    assert_int_equal(res.count, 0);
    inc_command_record r;
    assert_true(recorded(fx, "noop-1", &r));
    assert_int_equal(r.n_events, 0);
    assert_int_equal(r.first_version, 0);
    assert_int_equal(inc_dispatch_with_id(fx->app, &counter_noop_desc, &n,
                                          "noop-1", &res, &err),
                     0);
    assert_int_equal(res.count, 0);
    /* the id is taken: another command under it is refused */
    assert_int_equal(add_id(fx->app, "c1", 3, "noop-1", NULL, &err), -1);
    assert_string_equal(err.code, "command_id_reused");
    int64_t v;
    assert_int_equal(total_of(fx, "c1", &v), 0);
    assert_int_equal(v, 0);
    inc_result_free(&res);
}

/* A rejection is an outcome: recorded under the id, and a repeat returns
 * it, even after the state changed so that the command would now pass
 * (a compensation that ran on the rejection must never be followed by a
 * late success).  The events written meanwhile are untouched. */
static void test_rejection_recorded(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_command_record r;
    /* Label needs a counter with events: rejected on a new one */
    counter_label l = {"c1", "hello", 0, false};
    assert_int_equal(inc_dispatch_with_id(fx->app, &counter_label_desc, &l,
                                          "lab", NULL, &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, "counter_not_found");
    assert_true(recorded(fx, "lab", &r));
    assert_int_equal(r.n_events, 0);
    assert_int_equal(add_id(fx->app, "c1", 1, NULL, NULL, &err), 0);
    /* now it would pass: the repeat still answers the recorded rejection */
    inc_result again;
    inc_result_init(&again);
    assert_int_equal(inc_dispatch_with_id(fx->app, &counter_label_desc, &l,
                                          "lab", &again, &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, "counter_not_found");
    assert_int_equal(again.count, 0);
    int64_t v;
    assert_int_equal(total_of(fx, "c1", &v), 1);
    assert_int_equal(v, 1);
    /* another payload under the id is still refused as reused */
    counter_label other = {"c1", "other", 0, false};
    assert_int_equal(inc_dispatch_with_id(fx->app, &counter_label_desc,
                                          &other, "lab", NULL, &err),
                     -1);
    assert_string_equal(err.code, "command_id_reused");
    /* a new id decides again */
    assert_int_equal(inc_dispatch_with_id(fx->app, &counter_label_desc, &l,
                                          "lab2", &again, &err),
                     0);
    assert_int_equal(again.count, 1);
    inc_result_free(&again);
}

static void test_prune(void **state) {
    th_fx *fx = *state;
    inc_error err;
    assert_int_equal(add_id(fx->app, "c1", 1, "old-1", NULL, &err), 0);
    assert_int_equal(add_id(fx->app, "c1", 1, "old-2", NULL, &err), 0);
    int64_t n = -1;
    /* nothing is older than an hour ago */
    assert_int_equal(inc_store_prune_command_ids(
                         fx->store, inc_timestamp_now() - 3600000000LL, &n,
                         &err),
                     0);
    assert_int_equal(n, 0);
    assert_true(recorded(fx, "old-1", NULL));
    assert_int_equal(inc_store_prune_command_ids(
                         fx->store, inc_timestamp_now() + 1000000, &n, &err),
                     0);
    assert_int_equal(n, 2);
    assert_false(recorded(fx, "old-1", NULL));
    assert_false(recorded(fx, "old-2", NULL));
    /* a pruned id is new again: the command runs a second time */
    assert_int_equal(add_id(fx->app, "c1", 1, "old-1", NULL, &err), 0);
    assert_int_equal(total_of(fx, "c1", NULL), 3);
    assert_true(recorded(fx, "old-1", NULL));
}

/* Batches take no command ids: the stores refuse one in commit_many. */
static void test_commit_many_refuses_ids(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_stored_event ev;
    th_event(&ev, "c1", 1);
    inc_commit c = th_commit("c1", &ev, 1);
    c.command_id = "x";
    c.command_type = "Add";
    c.command_payload = "{}";
    size_t failed = 9;
    assert_int_equal(inc_store_commit_many(fx->store, &c, 1, &failed, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_int_equal(failed, 0);
    assert_int_equal(total_of(fx, "c1", NULL), 0);
}

/* ---- PostgreSQL only ---- */

enum { RACERS = 6 };

/* Six processes, each with its own store, released together, send the
 * same command id: stored once, the same event returned to each. */
static void test_racing_repeats(void **state) {
    th_fx *fx = *state;
    for (int round = 0; round < 3; round++) {
        char cid[32];
        snprintf(cid, sizeof cid, "race-%d", round);
        int go[2], back[2];
        assert_int_equal(pipe(go), 0);
        assert_int_equal(pipe(back), 0);
        pid_t kids[RACERS];
        fflush(NULL);
        for (int k = 0; k < RACERS; k++) {
            kids[k] = fork();
            assert_true(kids[k] >= 0);
            if (kids[k] == 0) {
                close(go[1]);
                close(back[0]);
                inc_error err;
                inc_store *s = th_open_same(fx);
                inc_app *app = s ? inc_app_new(&counter_domain, s, &err) : NULL;
                char line[128] = "open failed\n", b;
                /* the barrier: every child blocks until the write end closes */
                if (app && read(go[0], &b, 1) == 0) {
                    inc_result res;
                    inc_result_init(&res);
                    if (add_id(app, "hot", 1, cid, &res, &err) == 0 &&
                        res.count == 1)
                        snprintf(line, sizeof line, "%s %lld\n",
                                 res.events[0].event_id,
                                 (long long)res.events[0].version);
                    else
                        snprintf(line, sizeof line, "error %.80s\n",
                                 err.message);
                    inc_result_free(&res);
                }
                ssize_t w = write(back[1], line, strlen(line));
                inc_app_free(app);
                inc_store_close(s);
                _exit(w > 0 ? 0 : 1);
            }
        }
        close(go[0]);
        close(back[1]);
        /* let all of them connect and wait */
        struct timespec nap = {0, 200000000L};
        nanosleep(&nap, NULL);
        close(go[1]);
        char buf[4096];
        size_t got = 0;
        ssize_t r;
        while ((r = read(back[0], buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)r;
        buf[got] = '\0';
        close(back[0]);
        for (int k = 0; k < RACERS; k++) {
            int status;
            assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        /* six identical lines */
        char *first = strtok(buf, "\n");
        assert_non_null(first);
        assert_true(strncmp(first, "error", 5) != 0);
        int lines = 1;
        for (char *l; (l = strtok(NULL, "\n")); lines++)
            assert_string_equal(l, first);
        assert_int_equal(lines, RACERS);
        int64_t v;
        assert_int_equal(total_of(fx, "hot", &v), round + 1);
        assert_int_equal(v, round + 1);
    }
    PGconn *c = th_conn(fx);
    char *n = th_query1(c, "SELECT count(*) FROM command_ids", 0, NULL);
    assert_string_equal(n, "3");
    free(n);
    PQfinish(c);
}

/* A store initialised before command ids (no command_ids table): commands
 * without an id still run; with one they fail until `init` runs again,
 * which adds the table. */
static void test_init_adds_table(void **state) {
    th_fx *fx = *state;
    inc_error err;
    PGconn *c = th_conn(fx);
    char *x = th_query1(c, "DROP TABLE command_ids", 0, NULL);
    free(x);
    inc_store *s = th_open_same(fx);
    inc_app *app = inc_app_new(&counter_domain, s, &err);
    assert_int_equal(add_id(app, "c1", 1, NULL, NULL, &err), 0);
    assert_int_equal(add_id(app, "c1", 1, "late", NULL, &err), -1);
    assert_string_equal(err.code, "not_initialised");
    assert_int_equal(inc_store_init(s, &counter_domain, &err), 0);
    assert_int_equal(inc_store_init(s, &counter_domain, &err), 0);
    assert_int_equal(add_id(app, "c1", 1, "late", NULL, &err), 0);
    assert_int_equal(add_id(app, "c1", 1, "late", NULL, &err), 0);
    assert_int_equal(th_total(app, "c1", NULL), 2);
    /* The table needs no version step: the store stays at this library's. */
    x = th_query1(c, "SELECT max(version) FROM schema_version", 0, NULL);
    char want[16];
    snprintf(want, sizeof want, "%d", INC_STORE_SCHEMA_VERSION);
    assert_string_equal(x, want);
    free(x);
    inc_app_free(app);
    inc_store_close(s);
    PQfinish(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_repeat_returns_first_outcome),
        TH_BOTH(test_reused_id_refused),
        TH_BOTH(test_bad_ids),
        TH_BOTH(test_no_events_recorded),
        TH_BOTH(test_rejection_recorded),
        TH_BOTH(test_prune),
        TH_BOTH(test_commit_many_refuses_ids),
        TH_PG(test_racing_repeats),
        TH_PG(test_init_adds_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
