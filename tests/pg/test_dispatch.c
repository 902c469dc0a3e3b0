/* test_dispatch.c - the command pipeline over both stores: events and
 * projections written together, rejections writing nothing, snapshots,
 * event handlers, rebuilds; and, against PostgreSQL only, concurrent
 * processes, visibility from another connection and lost connections. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <signal.h>
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
#include <jansson.h>

#include "counter.h"
#include "counter_twin.h"
#include "harness.h"

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The Counter descriptors add, state_json and count_load use: the
 * generated ones, or a writable twin while a test runs under another state
 * layout (use_counter). */
static const inc_aggregate_desc *counter_type = &counter_counter_type;
static const inc_message_desc *counter_add_cmd = &counter_add_desc;

static void use_counter(const inc_aggregate_desc *type,
                        const inc_message_desc *add_cmd) {
    counter_type = type;
    counter_add_cmd = add_cmd;
}

static int add(th_fx *fx, const char *id, int64_t amount, inc_result *res,
               inc_error *err) {
    counter_add c = {(char *)id, amount};
    inc_error_clear(err);
    return inc_dispatch(fx->app, counter_add_cmd, &c, res, err);
}

static char *state_json(inc_app *app, const char *id) {
    counter_counter_state s;
    inc_error err;
    if (inc_app_state(app, counter_type, id, &s, &err) != 0) {
        fprintf(stderr, "state: %s\n", err.message);
        fail();
    }
    json_t *j = inc_msg_to_json(&counter_counter_state_desc, &s, 0);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    inc_msg_free(&counter_counter_state_desc, &s);
    return text;
}

typedef struct one_row {
    bool found;
    counter_counters_row r;
    inc_row_meta m;
} one_row;

static int keep_row(void *ud, const void *row, const inc_row_meta *meta,
                    inc_error *err) {
    one_row *o = ud;
    o->m = *meta;
    return inc_msg_copy(&counter_counters_row_desc, &o->r, row, err);
}

static one_row get_row(th_fx *fx, const char *id) {
    one_row o;
    inc_error err;
    memset(&o, 0, sizeof o);
    assert_int_equal(inc_store_projection_get(fx->store,
                                              &counter_counters_projection, id,
                                              keep_row, &o, &o.found, &err),
                     0);
    return o;
}

static void row_free(one_row *o) {
    if (o->found) inc_msg_free(&counter_counters_row_desc, &o->r);
}

static int count_cb(void *ud, const inc_recorded_event *ev, inc_error *err) {
    (void)ev;
    (void)err;
    (*(int *)ud)++;
    return 0;
}

static int n_events(th_fx *fx, const char *id) {
    int n = 0;
    inc_error err;
    assert_int_equal(inc_app_read_stream(fx->app, &counter_counter_type, id,
                                         count_cb, &n, &err),
                     0);
    return n;
}

/* ---- tests over both stores ---- */

static void test_dispatch_basic(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_result res;
    inc_result_init(&res);
    assert_int_equal(add(fx, "c1", 5, &res, &err), 0);
    assert_int_equal(res.count, 1);
    assert_int_equal(res.n_direct, 1);
    const inc_recorded_event *e = &res.events[0];
    assert_int_equal(e->version, 1);
    assert_string_equal(e->aggregate_id, "c1");
    assert_string_equal(e->aggregate_type, "Counter");
    assert_string_equal(e->event_type, "Added");
    assert_int_equal(((counter_added *)e->data)->amount, 5);
    assert_int_equal(strlen(e->event_id), 36);
    assert_string_equal(e->correlation_id, e->command_id);
    assert_string_equal(e->causation_id, "");
    assert_true(e->position > 0);

    json_t *j = inc_recorded_event_to_json(e);
    char *line = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char want[512];
    char ts[INC_TIMESTAMP_TEXT_MAX];
    inc_timestamp_format(e->event_date, ts);
    snprintf(want, sizeof want,
             "{\"event_id\":\"%s\",\"aggregate_id\":\"c1\",\"aggregate_type\":"
             "\"Counter\",\"version\":1,\"event_type\":\"Added\",\"event_date\":"
             "\"%s\",\"data\":{\"amount\":5}}",
             e->event_id, ts);
    assert_string_equal(line, want);
    free(line);

    one_row o = get_row(fx, "c1");
    assert_true(o.found);
    assert_int_equal(o.r.total, 5);
    assert_int_equal(o.m.version, 1);
    assert_string_equal(o.m.event_id, e->event_id);
    assert_true(o.m.event_date == e->event_date);
    row_free(&o);
    inc_result_free(&res);

    assert_int_equal(add(fx, "c1", 7, &res, &err), 0);
    assert_int_equal(res.events[0].version, 2);
    int64_t v;
    assert_int_equal(th_total(fx->app, "c1", &v), 12);
    assert_int_equal(v, 2);
    o = get_row(fx, "c1");
    assert_int_equal(o.r.total, 12);
    assert_int_equal(o.m.version, 2);
    assert_int_equal(o.r.mood, COUNTER_MOOD_CALM);
    row_free(&o);
    inc_result_free(&res);

    /* the events read back decode to the same thing */
    assert_int_equal(n_events(fx, "c1"), 2);
    /* a state with no events: version 0, defaults */
    assert_int_equal(th_total(fx->app, "nobody", &v), 0);
    assert_int_equal(v, 0);
    char *sj = state_json(fx->app, "nobody");
    assert_string_equal(sj,
                        "{\"aggregate_id\":\"nobody\",\"version\":0,\"updated_at\":"
                        "null,\"total\":0,\"label\":null,\"ratio\":0.0,\"big\":"
                        "false,\"label_at\":null,\"mood\":\"calm\"}");
    free(sj);
}

static void test_rejected_writes_nothing(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_result res;
    inc_result_init(&res);
    counter_fail f = {"r1"};
    assert_int_equal(inc_dispatch(fx->app, &counter_fail_desc, &f, &res, &err), -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, "always_fails");
    assert_int_equal(res.count, 0);
    /* a failed check */
    assert_int_equal(add(fx, "r1", 0, &res, &err), -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, "zero_amount");
    /* a require on the state */
    counter_label l = {"r1", "x", 0, false};
    assert_int_equal(inc_dispatch(fx->app, &counter_label_desc, &l, &res, &err), -1);
    assert_string_equal(err.code, "counter_not_found");
    assert_int_equal(n_events(fx, "r1"), 0);
    one_row o = get_row(fx, "r1");
    assert_false(o.found);

    /* after some history, a rejection changes nothing either */
    assert_int_equal(add(fx, "r1", INT64_MAX, &res, &err), 0);
    inc_result_free(&res);
    assert_int_equal(add(fx, "r1", 1, &res, &err), -1);
    assert_string_equal(err.code, "integer_overflow");
    assert_int_equal(res.count, 0);
    assert_int_equal(n_events(fx, "r1"), 1);
    o = get_row(fx, "r1");
    assert_int_equal(o.m.version, 1);
    assert_true(o.r.total == INT64_MAX);
    row_free(&o);
    /* back off to INT64_MAX - 3 (three events) ... */
    counter_add_many m = {"r1", -1, 3};
    assert_int_equal(inc_dispatch(fx->app, &counter_add_many_desc, &m, &res, &err), 0);
    inc_result_free(&res);
    assert_int_equal(n_events(fx, "r1"), 4);
    /* ... then an AddMany whose first event fits (INT64_MAX - 1) and whose
     * second overflows: rejected, and none of its events is written */
    counter_add_many over = {"r1", 2, 3};
    assert_int_equal(inc_dispatch(fx->app, &counter_add_many_desc, &over, &res, &err), -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, "integer_overflow");
    assert_int_equal(res.count, 0);
    assert_int_equal(n_events(fx, "r1"), 4);
    o = get_row(fx, "r1");
    assert_int_equal(o.m.version, 4);
    assert_true(o.r.total == INT64_MAX - 3);
    row_free(&o);
}

static void test_several_events_one_command(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_result res;
    inc_result_init(&res);
    counter_add_many m = {"m1", 400, 3};
    assert_int_equal(inc_dispatch(fx->app, &counter_add_many_desc, &m, &res, &err), 0);
    assert_int_equal(res.count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(res.events[i].version, (int64_t)i + 1);
        assert_string_equal(res.events[i].command_id, res.events[0].command_id);
        assert_true(res.events[i].event_date == res.events[0].event_date);
    }
    assert_string_not_equal(res.events[0].event_id, res.events[1].event_id);
    one_row o = get_row(fx, "m1");
    assert_int_equal(o.r.total, 1200);
    assert_true(o.r.big);
    assert_int_equal(o.r.mood, COUNTER_MOOD_BUSY);
    assert_int_equal(o.m.version, 3);
    assert_string_equal(o.m.event_id, res.events[2].event_id);
    row_free(&o);
    inc_result_free(&res);
}

static void test_zero_events(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_result res;
    inc_result_init(&res);
    counter_noop n = {"z1"};
    assert_int_equal(inc_dispatch(fx->app, &counter_noop_desc, &n, &res, &err), 0);
    assert_int_equal(res.count, 0);
    assert_int_equal(n_events(fx, "z1"), 0);
    one_row o = get_row(fx, "z1");
    assert_false(o.found);
    /* a NULL result is fine too */
    assert_int_equal(inc_dispatch(fx->app, &counter_noop_desc, &n, NULL, &err), 0);
}

static void test_invalid_input(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_result res;
    inc_result_init(&res);
    assert_int_equal(add(fx, "", 1, &res, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_int_equal(inc_dispatch_json(fx->app, "Add",
                                       "{\"aggregate_id\":\"j\",\"amount\":\"x\"}",
                                       &res, &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_non_null(strstr(err.message, "$.amount"));
    assert_int_equal(inc_dispatch_json(fx->app, "Add",
                                       "{\"aggregate_id\":\"j\",\"amount\":1,"
                                       "\"extra\":1}",
                                       &res, &err),
                     -1);
    assert_non_null(strstr(err.message, "$.extra"));
    assert_int_equal(inc_dispatch_json(fx->app, "Nope", "{}", &res, &err), -1);
    assert_int_equal(err.kind, INC_ERR_NOT_FOUND);
    assert_int_equal(add(fx, "bad\xc3", 1, &res, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_int_equal(res.count, 0);
    assert_int_equal(inc_dispatch_json(fx->app, "Add",
                                       "{\"aggregate_id\":\"j\",\"amount\":2}",
                                       &res, &err),
                     0);
    assert_int_equal(res.count, 1);
    inc_result_free(&res);
    assert_int_equal(inc_app_set_snapshot_every(fx->app, "Nope", 5, &err), -1);
    assert_int_equal(err.kind, INC_ERR_NOT_FOUND);
    assert_int_equal(inc_app_on(fx->app, "Nope", NULL, NULL, &err), -1);
    assert_int_equal(err.kind, INC_ERR_NOT_FOUND);
}

typedef struct load_count {
    int snapshots, events;
    int64_t snapshot_version;
} load_count;

static int lc_snap(void *ud, int64_t v, const char *json, inc_error *err) {
    load_count *lc = ud;
    (void)json;
    (void)err;
    lc->snapshots++;
    lc->snapshot_version = v;
    return 0;
}

static int lc_event(void *ud, const inc_stored_event *e, inc_error *err) {
    (void)e;
    (void)err;
    ((load_count *)ud)->events++;
    return 0;
}

static load_count count_load(th_fx *fx, const char *id) {
    load_count lc = {0, 0, 0};
    inc_load_cbs cbs = {lc_snap, lc_event, &lc};
    inc_error err;
    assert_int_equal(
        inc_store_load(fx->store, counter_type, id, 0, &cbs, &err), 0);
    return lc;
}

static void test_snapshots_equal_replay(void **state) {
    th_fx *fx = *state;
    inc_error err;
    /* every aggregate type: the twin of another layout below too */
    assert_int_equal(inc_app_set_snapshot_every(fx->app, NULL, 10, &err), 0);
    for (int i = 1; i <= 25; i++) {
        if (i == 12) {
            counter_label l = {"s1", "mid \"label\"", 1234567, true};
            assert_int_equal(
                inc_dispatch(fx->app, &counter_label_desc, &l, NULL, &err), 0);
            continue;
        }
        assert_int_equal(add(fx, "s1", i * 3, NULL, &err), 0);
    }
    /* AddMany across a multiple: 25 -> 28 no snapshot, then 28 -> 31 yes */
    counter_add_many m = {"s1", 2, 3};
    assert_int_equal(inc_dispatch(fx->app, &counter_add_many_desc, &m, NULL, &err), 0);
    load_count lc = count_load(fx, "s1");
    assert_int_equal(lc.snapshots, 1);
    assert_int_equal(lc.snapshot_version, 20);
    assert_int_equal(lc.events, 8);
    assert_int_equal(inc_dispatch(fx->app, &counter_add_many_desc, &m, NULL, &err), 0);
    lc = count_load(fx, "s1");
    /* the snapshot is of the state after the crossing commit */
    assert_int_equal(lc.snapshot_version, 31);
    assert_int_equal(lc.events, 0);

    char *with_snapshot = state_json(fx->app, "s1");
    /* another state layout: the snapshot is ignored, full replay */
    counter_twin *other = counter_twin_reset();
    other->type.state_layout_hash ^= 1;
    use_counter(&other->type, &other->add);
    lc = count_load(fx, "s1");
    assert_int_equal(lc.snapshots, 0);
    assert_int_equal(lc.events, 31);
    char *replayed = state_json(fx->app, "s1");
    assert_string_equal(with_snapshot, replayed);
    /* writing under the new layout replaces the snapshot at the next
     * multiple; the old layout then ignores it */
    for (int i = 0; i < 9; i++) assert_int_equal(add(fx, "s1", 1, NULL, &err), 0);
    lc = count_load(fx, "s1");
    assert_int_equal(lc.snapshot_version, 40);
    char *new_layout = state_json(fx->app, "s1");
    use_counter(&counter_counter_type, &counter_add_desc);
    lc = count_load(fx, "s1");
    assert_int_equal(lc.snapshots, 0);
    char *old_layout = state_json(fx->app, "s1");
    assert_string_equal(new_layout, old_layout);
    free(with_snapshot);
    free(replayed);
    free(new_layout);
    free(old_layout);

    /* snapshot_every 0: none */
    assert_int_equal(inc_app_set_snapshot_every(fx->app, NULL, 0, &err), 0);
    assert_int_equal(inc_app_set_snapshot_every(fx->app, "Counter", 0, &err), 0);
    for (int i = 0; i < 12; i++) assert_int_equal(add(fx, "s2", 1, NULL, &err), 0);
    lc = count_load(fx, "s2");
    assert_int_equal(lc.snapshots, 0);
    assert_int_equal(lc.events, 12);
}

static void test_bad_snapshot_ignored(void **state) {
    th_fx *fx = *state;
    inc_error err;
    assert_int_equal(add(fx, "b1", 10, NULL, &err), 0);
    /* a snapshot with the right layout hash but an unreadable body, and one
     * whose version disagrees: both must be ignored */
    const char *bad[2] = {"{\"bogus\":1}",
                          "{\"aggregate_id\":\"b1\",\"version\":1,\"updated_at\":null,"
                          "\"total\":999,\"label\":null,\"ratio\":0,\"big\":false,"
                          "\"label_at\":null,\"mood\":\"calm\"}"};
    for (int k = 0; k < 2; k++) {
        inc_stored_event ev;
        th_event(&ev, "b1", 2 + k);
        inc_commit c = th_commit("b1", &ev, 1);
        c.snapshot_json = bad[k];
        c.snapshot_version = 2 + k;
        assert_int_equal(inc_store_commit(fx->store, &c, &err), 0);
        assert_int_equal(count_load(fx, "b1").snapshots, 1);
        int64_t v;
        assert_int_equal(th_total(fx->app, "b1", &v), 11 + k);
        assert_int_equal(v, 2 + k);
    }
    assert_int_equal(add(fx, "b1", 1, NULL, &err), 0);
    assert_int_equal(th_total(fx->app, "b1", NULL), 13);
}

/* Handlers: every Added on a counter not starting with "mirror-" adds the
 * same amount to "mirror-<id>"; a second handler records what it saw. */
typedef struct seen {
    int calls;
    char last_causation[INC_UUID_TEXT_SIZE];
    bool fail_next;
} seen;

static int mirror(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                  inc_error *err) {
    (void)ud;
    if (strncmp(ev->aggregate_id, "mirror-", 7) == 0) return 0;
    char id[256];
    snprintf(id, sizeof id, "mirror-%s", ev->aggregate_id);
    counter_add c = {id, ((const counter_added *)ev->data)->amount};
    if (inc_handler_dispatch(ctx, &counter_add_desc, &c, err) != 0) return -1;
    /* a rejection comes back to the handler, which may ignore it */
    counter_fail f = {id};
    inc_error inner;
    assert_int_equal(inc_handler_dispatch(ctx, &counter_fail_desc, &f, &inner), -1);
    assert_int_equal(inner.kind, INC_ERR_REJECTED);
    /* the ev pointer stays valid while the handler dispatches */
    assert_int_equal(ev->version >= 1, 1);
    return 0;
}

static int watcher(inc_handler_ctx *ctx, const inc_recorded_event *ev,
                   void *ud, inc_error *err) {
    seen *s = ud;
    (void)ctx;
    s->calls++;
    memcpy(s->last_causation, ev->causation_id, INC_UUID_TEXT_SIZE);
    if (s->fail_next) {
        s->fail_next = false;
        return inc_error_set(err, INC_ERR_INTERNAL, "watcher", "watcher broke");
    }
    return 0;
}

typedef struct meta_seen {
    int n;
    inc_recorded_event ev[4];
} meta_seen;

static int keep_meta(void *ud, const inc_recorded_event *ev, inc_error *err) {
    meta_seen *m = ud;
    (void)err;
    m->ev[m->n] = *ev;
    m->ev[m->n].aggregate_id = NULL;
    m->ev[m->n].data = NULL;
    m->n++;
    return 0;
}

static void test_handlers_chain(void **state) {
    th_fx *fx = *state;
    inc_error err;
    seen s;
    memset(&s, 0, sizeof s);
    assert_int_equal(inc_app_on(fx->app, "Added", mirror, NULL, &err), 0);
    assert_int_equal(inc_app_on(fx->app, "Added", watcher, &s, &err), 0);
    inc_result res;
    inc_result_init(&res);
    assert_int_equal(add(fx, "h1", 4, &res, &err), 0);
    assert_false(res.handler_failed);
    assert_int_equal(res.count, 2);
    assert_int_equal(res.n_direct, 1);
    const inc_recorded_event *a = &res.events[0], *b = &res.events[1];
    assert_string_equal(a->aggregate_id, "h1");
    assert_string_equal(b->aggregate_id, "mirror-h1");
    assert_string_equal(a->causation_id, "");
    assert_string_equal(a->correlation_id, a->command_id);
    assert_string_equal(b->causation_id, a->event_id);
    assert_string_equal(b->correlation_id, a->command_id);
    assert_string_not_equal(b->command_id, a->command_id);
    assert_int_equal(s.calls, 2); /* h1's event and the mirror's */
    /* depth first: the mirror's event was handled inside the handling of
     * h1's, so the watcher saw h1's event (no causation) last */
    assert_string_equal(s.last_causation, "");
    assert_int_equal(th_total(fx->app, "mirror-h1", NULL), 4);

    /* the ids are stored in the metadata */
    meta_seen m;
    memset(&m, 0, sizeof m);
    assert_int_equal(inc_app_read_stream(fx->app, &counter_counter_type,
                                         "mirror-h1", keep_meta, &m, &err),
                     0);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.ev[0].event_id, b->event_id);
    assert_string_equal(m.ev[0].causation_id, a->event_id);
    assert_string_equal(m.ev[0].correlation_id, a->command_id);
    assert_string_equal(m.ev[0].command_id, b->command_id);
    inc_result_free(&res);

    /* a failing handler: the command still succeeded */
    s.fail_next = true;
    assert_int_equal(add(fx, "h2", 1, &res, &err), 0);
    assert_true(res.handler_failed);
    assert_string_equal(res.handler_error.code, "watcher");
    assert_int_equal(res.count, 2);
    assert_int_equal(th_total(fx->app, "h2", NULL), 1);
    assert_int_equal(th_total(fx->app, "mirror-h2", NULL), 1);
    inc_result_free(&res);
}

static const char *const nasty[] = {
    "it's \"quoted\"",
    "back\\slash \\\\ \\n",
    "'); DELETE FROM events; --",
    "日本語 ☃ \xF0\x9F\x98\x80",
    "$1 %s %%",
};

static void test_metachar_dispatch(void **state) {
    th_fx *fx = *state;
    inc_error err;
    for (size_t k = 0; k < sizeof nasty / sizeof *nasty; k++) {
        assert_int_equal(add(fx, nasty[k], 1, NULL, &err), 0);
        counter_label l = {(char *)nasty[k], (char *)nasty[k], 0, false};
        assert_int_equal(inc_dispatch(fx->app, &counter_label_desc, &l, NULL, &err), 0);
        counter_counter_state s;
        assert_int_equal(inc_app_state(fx->app, &counter_counter_type, nasty[k],
                                       &s, &err),
                         0);
        assert_string_equal(s.aggregate_id, nasty[k]);
        assert_string_equal(s.label, nasty[k]);
        assert_int_equal(s.version, 2);
        inc_msg_free(&counter_counter_state_desc, &s);
        one_row o = get_row(fx, nasty[k]);
        assert_true(o.found);
        assert_string_equal(o.r.aggregate_id, nasty[k]);
        assert_string_equal(o.r.label, nasty[k]);
        row_free(&o);
    }
}

typedef struct lines {
    size_t n;
    char *line[16];
} lines;

static int row_line(void *ud, const void *row, const inc_row_meta *meta,
                    inc_error *err) {
    lines *l = ud;
    (void)err;
    json_t *j = inc_msg_to_json(&counter_counters_row_desc, row, 0);
    json_object_set_new(j, "version", json_integer(meta->version));
    json_object_set_new(j, "event_id", json_string(meta->event_id));
    json_object_set_new(j, "event_date", json_integer(meta->event_date));
    assert_true(l->n < 16);
    l->line[l->n++] = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return 0;
}

static lines list_rows(th_fx *fx) {
    lines l;
    inc_error err;
    memset(&l, 0, sizeof l);
    assert_int_equal(inc_store_projection_list(fx->store,
                                               &counter_counters_projection,
                                               row_line, &l, &err),
                     0);
    return l;
}

static void lines_free(lines *l) {
    for (size_t i = 0; i < l->n; i++) free(l->line[i]);
}

typedef struct prog {
    int calls;
    int64_t done, total;
} prog;

static void on_progress(void *ud, int64_t done, int64_t total) {
    prog *p = ud;
    p->calls++;
    p->done = done;
    p->total = total;
}

static void test_rebuild(void **state) {
    th_fx *fx = *state;
    inc_error err;
    const char *ids[3] = {"r-b", "r-a", "r-c\xc3\xa9"};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i <= k; i++)
            assert_int_equal(add(fx, ids[k], 10 * (k + 1), NULL, &err), 0);
    counter_label l = {"r-a", "labelled", 42, true};
    assert_int_equal(inc_dispatch(fx->app, &counter_label_desc, &l, NULL, &err), 0);
    lines before = list_rows(fx);
    assert_int_equal(before.n, 3);
    if (fx->pg) {
        /* damage the table behind the store's back: one row changed, one
         * deleted; the rebuild must bring both back from the events */
        PGconn *c = th_conn(fx);
        free(th_query1(c,
                       "WITH u AS (UPDATE counters SET total = total + 1000 "
                       "WHERE aggregate_id = 'r-a' RETURNING 1) "
                       "SELECT count(*) FROM u",
                       0, NULL));
        free(th_query1(c,
                       "WITH d AS (DELETE FROM counters WHERE aggregate_id = "
                       "'r-b' RETURNING 1) SELECT count(*) FROM d",
                       0, NULL));
        PQfinish(c);
        lines damaged = list_rows(fx);
        assert_int_equal(damaged.n, 2);
        one_row o = get_row(fx, "r-a");
        assert_int_equal(o.r.total, 1040);
        row_free(&o);
        lines_free(&damaged);
    }
    prog p = {0, 0, 0};
    assert_int_equal(inc_app_rebuild(fx->app, &counter_counters_projection,
                                     on_progress, &p, &err),
                     0);
    assert_true(p.calls >= 1);
    assert_int_equal(p.total, 7);
    assert_int_equal(p.done, 7);
    lines after = list_rows(fx);
    assert_int_equal(after.n, before.n);
    for (size_t i = 0; i < before.n; i++)
        assert_string_equal(before.line[i], after.line[i]);
    lines_free(&before);
    lines_free(&after);
    /* and the pipeline keeps working on the rebuilt table */
    assert_int_equal(add(fx, "r-a", 1, NULL, &err), 0);
    one_row o = get_row(fx, "r-a");
    assert_int_equal(o.r.total, 41);
    assert_int_equal(o.m.version, 4);
    row_free(&o);
}

/* ---- PostgreSQL only ---- */

#define PG_ONLY(fx)                                                            \
    do {                                                                       \
        assert_true((fx)->pg); /* registered with PG() only */            \
    } while (0)

static void test_event_never_without_projection(void **state) {
    th_fx *fx = *state;
    PG_ONLY(fx);
    inc_error err;
    assert_int_equal(add(fx, "vis", 1, NULL, &err), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        inc_store *s = th_open_same(fx);
        inc_app *app = inc_app_new(&counter_domain, s, &err);
        int ok = 1;
        for (int i = 0; i < 150 && ok; i++) {
            counter_add_many m = {"vis", 1, 1 + i % 4};
            if (inc_dispatch(app, &counter_add_many_desc, &m, NULL, &err) != 0)
                ok = 0;
        }
        inc_app_free(app);
        inc_store_close(s);
        _exit(ok ? 0 : 1);
    }
    PGconn *c = th_conn(fx);
    const char *p[1] = {"vis"};
    int checks = 0, status = 0;
    for (;;) {
        pid_t w = waitpid(child, &status, WNOHANG);
        /* one statement: one snapshot of both tables */
        PGresult *r = PQexecParams(
            c,
            "SELECT (SELECT max(version) FROM events WHERE aggregate_type = "
            "'Counter' AND aggregate_id = $1), (SELECT version FROM counters "
            "WHERE aggregate_id = $1)",
            1, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
        PQclear(r);
        checks++;
        if (w == child) break;
    }
    PQfinish(c);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(checks > 1);
}

static void test_concurrent_processes(void **state) {
    th_fx *fx = *state;
    PG_ONLY(fx);
    enum { PROCS = 6, EACH = 25 };
    /* what a child reports: its conflicts and the versions it was
     * acknowledged, in order */
    typedef struct report {
        uint64_t conflicts;
        int64_t version[EACH];
    } report;
    pid_t kids[PROCS];
    int go[2], out[PROCS][2];
    assert_int_equal(pipe(go), 0); /* closed by the parent: all start */
    fflush(NULL);
    for (int k = 0; k < PROCS; k++) {
        assert_int_equal(pipe(out[k]), 0);
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            close(go[1]);
            close(out[k][0]);
            report r;
            memset(&r, 0, sizeof r);
            inc_error err;
            inc_store *s = th_open_same(fx);
            inc_app *app = inc_app_new(&counter_domain, s, &err);
            inc_app_set_max_retries(app, 1000);
            inc_app_set_max_backoff(app, 5000);
            inc_app_set_snapshot_every(app, NULL, 7, &err);
            char c;
            int ok = read(go[0], &c, 1) == 0;
            for (int i = 0; i < EACH && ok; i++) {
                counter_add a = {"hot", 1};
                inc_result res;
                inc_result_init(&res);
                if (inc_dispatch(app, &counter_add_desc, &a, &res, &err) != 0 ||
                    res.count != 1) {
                    fprintf(stderr, "child: %s\n", err.message);
                    ok = 0;
                } else {
                    r.version[i] = res.events[0].version;
                }
                inc_result_free(&res);
            }
            r.conflicts = inc_app_conflicts(app);
            inc_app_free(app);
            inc_store_close(s);
            if (write(out[k][1], &r, sizeof r) != (ssize_t)sizeof r) ok = 0;
            _exit(ok ? 0 : 1);
        }
        close(out[k][1]);
    }
    /* Force the race rather than hope for it: every child reads version 0
     * and then waits on this lock for its first INSERT, so all of them
     * commit at once and all but one must retry. */
    PGconn *lk = th_conn(fx);
    PGresult *pr = PQexec(lk, "BEGIN; LOCK TABLE events IN EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(pr), PGRES_COMMAND_OK);
    PQclear(pr);
    close(go[0]);
    close(go[1]);
    int waiting = 0;
    for (int t = 0; t < 6000 && waiting < PROCS; t++) { /* up to 30 s */
        char *w = th_query1(lk,
                            "SELECT count(*) FROM pg_locks WHERE NOT granted "
                            "AND relation = 'events'::regclass",
                            0, NULL);
        waiting = atoi(w);
        free(w);
        struct timespec ts = {0, 5000000};
        if (waiting < PROCS) nanosleep(&ts, NULL);
    }
    assert_int_equal(waiting, PROCS);
    pr = PQexec(lk, "COMMIT");
    assert_int_equal(PQresultStatus(pr), PGRES_COMMAND_OK);
    PQclear(pr);
    PQfinish(lk);
    report r[PROCS];
    uint64_t conflicts = 0;
    for (int k = 0; k < PROCS; k++) {
        assert_int_equal(read(out[k][0], &r[k], sizeof r[k]), (ssize_t)sizeof r[k]);
        close(out[k][0]);
        int status;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        conflicts += r[k].conflicts;
    }
    /* each version acknowledged to exactly one process; and the processes
     * really raced: conflicts were retried, and some process was
     * acknowledged a version between two of another's */
    bool taken[PROCS * EACH + 1] = {false};
    int interleaved = 0;
    for (int k = 0; k < PROCS; k++) {
        for (int i = 0; i < EACH; i++) {
            int64_t v = r[k].version[i];
            assert_true(v >= 1 && v <= PROCS * EACH);
            assert_false(taken[v]);
            taken[v] = true;
            if (i > 0) assert_true(v > r[k].version[i - 1]);
        }
        for (int j = 0; j < PROCS; j++)
            if (j != k && r[j].version[0] < r[k].version[EACH - 1] &&
                r[k].version[0] < r[j].version[EACH - 1])
                interleaved++;
    }
    print_message("%llu conflicts retried; %d process pairs interleaved\n",
                  (unsigned long long)conflicts, interleaved / 2);
    assert_true(conflicts > 0);
    assert_true(interleaved > 0);
    /* versions 1..N, no gap, no duplicate, nothing lost */
    PGconn *c = th_conn(fx);
    char *v = th_query1(c,
                        "SELECT count(*) || ' ' || count(DISTINCT version) || ' ' "
                        "|| min(version) || ' ' || max(version) FROM events "
                        "WHERE aggregate_id = 'hot'",
                        0, NULL);
    char want[64];
    snprintf(want, sizeof want, "%d %d 1 %d", PROCS * EACH, PROCS * EACH,
             PROCS * EACH);
    assert_string_equal(v, want);
    free(v);
    /* a commit that lost the race consumed a position: the gaps show that
     * the processes really did conflict (informational) */
    v = th_query1(c, "SELECT max(position) - min(position) + 1 - count(*) FROM "
                     "events WHERE aggregate_id = 'hot'",
                  0, NULL);
    print_message("conflicting commits retried: %s\n", v);
    free(v);
    v = th_query1(c, "SELECT total || ' ' || version FROM counters WHERE "
                     "aggregate_id = 'hot'",
                  0, NULL);
    snprintf(want, sizeof want, "%d %d", PROCS * EACH, PROCS * EACH);
    assert_string_equal(v, want);
    free(v);
    PQfinish(c);
    int64_t version;
    assert_int_equal(th_total(fx->app, "hot", &version), PROCS * EACH);
    assert_int_equal(version, PROCS * EACH);
}

/* A store whose commit always reports a conflict, around a real store. */
typedef struct conflict_store {
    inc_store base;
    inc_store *inner;
    inc_store_ops ops;
    int commits;
} conflict_store;

static int cs_load(inc_store *s, const inc_aggregate_desc *a, const char *id,
                   unsigned flags, const inc_load_cbs *cbs, inc_error *err) {
    conflict_store *cs = (conflict_store *)s;
    return inc_store_load(cs->inner, a, id, flags, cbs, err);
}

static int cs_commit(inc_store *s, const inc_commit *c, inc_error *err) {
    conflict_store *cs = (conflict_store *)s;
    (void)c;
    cs->commits++;
    return inc_error_set(err, INC_ERR_CONFLICT, "conflict", "forced");
}

static void test_conflict_retries_exhausted(void **state) {
    th_fx *fx = *state;
    inc_error err;
    conflict_store cs;
    memset(&cs, 0, sizeof cs);
    cs.inner = fx->store;
    cs.ops = *fx->store->ops;
    cs.ops.load = cs_load;
    cs.ops.commit = cs_commit;
    cs.base.ops = &cs.ops;
    inc_app *app = inc_app_new(&counter_domain, &cs.base, &err);
    assert_non_null(app);
    inc_app_set_max_retries(app, 3);
    inc_app_set_max_backoff(app, 100);
    counter_add c = {"cx", 1};
    inc_result res;
    inc_result_init(&res);
    assert_int_equal(inc_dispatch(app, &counter_add_desc, &c, &res, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    assert_string_equal(err.code, "conflict");
    assert_int_equal(cs.commits, 4); /* first try + 3 retries */
    assert_int_equal(inc_app_conflicts(app), 4);
    assert_int_equal(res.count, 0);
    inc_app_free(app);
}

static void test_unreachable(void **state) {
    (void)state;
    inc_error err;
    inc_error_clear(&err);
    inc_pg_options o = {"host=/nonexistent-incident-dir port=1 connect_timeout=2",
                        NULL};
    inc_store *s = inc_pg_store_open(&o, &err);
    assert_null(s);
    assert_int_equal(err.kind, INC_ERR_UNAVAILABLE);
}

static void test_connection_loss(void **state) {
    th_fx *fx = *state;
    PG_ONLY(fx);
    inc_error err;
    PGconn *c = th_conn(fx);
    /* a dedicated store so we know which backend to kill */
    char *ci = th_conninfo_for_schema(fx->schema);
    size_t n = strlen(ci) + 64;
    char *ci2 = malloc(n);
    snprintf(ci2, n, "%s application_name=inc_loss_%ld", ci, (long)getpid());
    inc_pg_options o = {ci2, fx->schema};
    inc_store *s = inc_pg_store_open(&o, &err);
    assert_non_null(s);
    inc_app *app = inc_app_new(&counter_domain, s, &err);
    counter_add a = {"loss", 1};
    assert_int_equal(inc_dispatch(app, &counter_add_desc, &a, NULL, &err), 0);

    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE application_name = 'inc_loss_%ld'",
             (long)getpid());
    char *killed = th_query1(c, sql, 0, NULL);
    assert_string_equal(killed, "1");
    free(killed);
    nap_ms(100);
    /* a read notices, reconnects and retries (reading is harmless) */
    if (inc_dispatch(app, &counter_add_desc, &a, NULL, &err) != 0)
        fail_msg("dispatch after loss: %s", err.message);
    assert_int_equal(th_total(app, "loss", NULL), 2);

    /* a commit on a connection killed while idle: */
    killed = th_query1(c, sql, 0, NULL);
    assert_string_equal(killed, "1");
    free(killed);
    nap_ms(100);
    inc_stored_event ev;
    th_event(&ev, "loss", 3);
    inc_commit cm = th_commit("loss", &ev, 1);
    inc_error_clear(&err);
    /* the store sees that the server ended the idle session before it
     * sends anything, so it starts over on a new connection (a commit
     * whose request may have reached the server is never retried: see
     * reliability.faults) */
    if (inc_store_commit(s, &cm, &err) != 0)
        fail_msg("commit after loss: %s", err.message);
    assert_int_equal(inc_dispatch(app, &counter_add_desc, &a, NULL, &err), 0);
    assert_int_equal(th_total(app, "loss", NULL), 4);
    inc_app_free(app);
    inc_store_close(s);
    free(ci);
    free(ci2);
    PQfinish(c);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_dispatch_basic),
        TH_BOTH(test_rejected_writes_nothing),
        TH_BOTH(test_several_events_one_command),
        TH_BOTH(test_zero_events),
        TH_BOTH(test_invalid_input),
        TH_BOTH(test_snapshots_equal_replay),
        TH_BOTH(test_bad_snapshot_ignored),
        TH_BOTH(test_handlers_chain),
        TH_BOTH(test_metachar_dispatch),
        TH_BOTH(test_rebuild),
        TH_BOTH(test_conflict_retries_exhausted),
        cmocka_unit_test(test_unreachable),
        TH_PG(test_event_never_without_projection),
        TH_PG(test_concurrent_processes),
        TH_PG(test_connection_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
