/* test_store.c - the store interface, run against PostgreSQL and against
 * the in-memory store: both must behave the same. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "counter.h"
#include "harness.h"

/* ---- collecting what a store hands out ---- */

typedef struct got_event {
    int64_t position, version;
    char event_id[INC_UUID_TEXT_SIZE];
    char *type, *id, *event_type, *data, *metadata;
    inc_timestamp date;
    unsigned schema_version;
} got_event;

typedef struct got {
    size_t n;
    got_event ev[64];
    int snapshots;
    int64_t snapshot_version;
    char *snapshot;
} got;

static char *dup(const char *s) {
    char *p = malloc(strlen(s) + 1);
    assert_non_null(p);
    strcpy(p, s);
    return p;
}

static char *dup_or_null(const char *s) { return s ? dup(s) : NULL; }

static int collect(void *ud, const inc_stored_event *e, inc_error *err) {
    got *g = ud;
    (void)err;
    assert_true(g->n < 64);
    got_event *o = &g->ev[g->n++];
    o->position = e->position;
    o->version = e->version;
    memcpy(o->event_id, e->event_id, sizeof o->event_id);
    o->type = dup(e->aggregate_type);
    o->id = dup(e->aggregate_id);
    o->event_type = dup(e->event_type);
    o->data = dup(e->data);
    o->metadata = dup_or_null(e->metadata);
    o->date = e->event_date;
    o->schema_version = e->schema_version;
    return 0;
}

static int collect_snapshot(void *ud, int64_t version, const char *json,
                            inc_error *err) {
    got *g = ud;
    (void)err;
    g->snapshots++;
    g->snapshot_version = version;
    free(g->snapshot);
    g->snapshot = dup(json);
    return 0;
}

static void got_free(got *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->ev[i].type);
        free(g->ev[i].id);
        free(g->ev[i].event_type);
        free(g->ev[i].data);
        free(g->ev[i].metadata);
    }
    free(g->snapshot);
    memset(g, 0, sizeof *g);
}

static void json_same(const char *a, const char *b) {
    json_t *ja = json_loads(a, JSON_DECODE_ANY, NULL);
    json_t *jb = json_loads(b, JSON_DECODE_ANY, NULL);
    assert_non_null(ja);
    assert_non_null(jb);
    if (!json_equal(ja, jb)) {
        fprintf(stderr, "JSON differs:\n  %s\n  %s\n", a, b);
        fail();
    }
    json_decref(ja);
    json_decref(jb);
}

/* ---- building commits ---- */

typedef struct ev_spec {
    int64_t version;
    const char *type, *data;
} ev_spec;

static void make_events(inc_stored_event *out, const ev_spec *spec, size_t n,
                        const char *id, inc_timestamp at) {
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        assert_int_equal(inc_uuid_v4(out[i].event_id, NULL), 0);
        out[i].aggregate_type = "Counter";
        out[i].aggregate_id = id;
        out[i].version = spec[i].version;
        out[i].event_type = spec[i].type;
        out[i].data = spec[i].data;
        out[i].metadata = "{\"command_id\":\"x\"}";
        out[i].event_date = at + (inc_timestamp)i;
    }
}

static int commit_events(inc_store *s, const char *id, inc_stored_event *evs,
                         size_t n, inc_error *err) {
    inc_commit c;
    memset(&c, 0, sizeof c);
    c.aggregate = &counter_counter_type;
    c.aggregate_id = id;
    c.n_events = n;
    c.events = evs;
    int rc = inc_store_commit(s, &c, err);
    if (rc != 0 && getenv("TH_VERBOSE")) fprintf(stderr, "commit: %s\n", err->message);
    return rc;
}

static size_t stream_len(inc_store *s, const char *id) {
    got g;
    memset(&g, 0, sizeof g);
    inc_error err;
    assert_int_equal(inc_store_read_stream(s, "Counter", id, 0, collect, &g,
                                           &err),
                     0);
    size_t n = g.n;
    got_free(&g);
    return n;
}

/* ---- tests ---- */

static void test_uuid(void **state) {
    (void)state;
    char a[INC_UUID_TEXT_SIZE], b[INC_UUID_TEXT_SIZE];
    assert_int_equal(inc_uuid_v4(a, NULL), 0);
    assert_int_equal(inc_uuid_v4(b, NULL), 0);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_string_not_equal(a, b);
    /* version 7: the time first, so later ids sort after earlier ones */
    char c[INC_UUID_TEXT_SIZE], d[INC_UUID_TEXT_SIZE];
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    long long ms0 = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_int_equal(inc_uuid_v7(c, NULL), 0);
    ts.tv_sec = 0;
    ts.tv_nsec = 2000000; /* 2 ms */
    nanosleep(&ts, NULL);
    assert_int_equal(inc_uuid_v7(d, NULL), 0);
    assert_int_equal(strlen(c), 36);
    assert_int_equal(c[14], '7');
    assert_true(strchr("89ab", c[19]) != NULL);
    assert_true(strcmp(c, d) < 0);
    char hex[13];
    memcpy(hex, c, 8);
    memcpy(hex + 8, c + 9, 4);
    hex[12] = '\0';
    long long ms = strtoll(hex, NULL, 16);
    assert_true(ms >= ms0 && ms < ms0 + 1000);
}

static void test_append_and_read_back(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_stored_event evs[3];
    const ev_spec spec[3] = {{1, "Added", "{\"amount\":5}"},
                             {2, "Added", "{\"amount\":-2}"},
                             {3, "Labeled", "{\"label\":\"hi\",\"at\":null}"}};
    inc_timestamp at = INT64_C(1764151200123456); /* 2025-11-26T10:00:00.123456Z */
    make_events(evs, spec, 3, "c1", at);
    int64_t pos[3] = {0, 0, 0};
    inc_commit c;
    memset(&c, 0, sizeof c);
    c.aggregate = &counter_counter_type;
    c.aggregate_id = "c1";
    c.n_events = 3;
    c.events = evs;
    c.positions = pos;
    assert_int_equal(inc_store_commit(fx->store, &c, &err), 0);
    assert_true(pos[0] > 0 && pos[1] > pos[0] && pos[2] > pos[1]);

    got g;
    memset(&g, 0, sizeof g);
    assert_int_equal(
        inc_store_read_stream(fx->store, "Counter", "c1", 0, collect, &g, &err),
        0);
    assert_int_equal(g.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(g.ev[i].version, (int64_t)i + 1);
        assert_int_equal(g.ev[i].position, pos[i]);
        assert_string_equal(g.ev[i].event_id, evs[i].event_id);
        assert_string_equal(g.ev[i].type, "Counter");
        assert_string_equal(g.ev[i].id, "c1");
        assert_string_equal(g.ev[i].event_type, spec[i].type);
        json_same(g.ev[i].data, spec[i].data);
        json_same(g.ev[i].metadata, "{\"command_id\":\"x\"}");
        assert_true(g.ev[i].date == at + (inc_timestamp)i);
    }
    got_free(&g);

    /* after_version */
    assert_int_equal(
        inc_store_read_stream(fx->store, "Counter", "c1", 2, collect, &g, &err),
        0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.ev[0].version, 3);
    got_free(&g);

    /* read_all by position, and from a position */
    make_events(evs, spec, 1, "c2", at);
    assert_int_equal(commit_events(fx->store, "c2", evs, 1, &err), 0);
    assert_int_equal(inc_store_read_all(fx->store, NULL, 0, collect, &g, &err), 0);
    assert_int_equal(g.n, 4);
    for (size_t i = 1; i < g.n; i++)
        assert_true(g.ev[i].position > g.ev[i - 1].position);
    assert_string_equal(g.ev[3].id, "c2");
    got_free(&g);
    assert_int_equal(
        inc_store_read_all(fx->store, "Counter", pos[1], collect, &g, &err), 0);
    assert_int_equal(g.n, 2);
    got_free(&g);
    assert_int_equal(
        inc_store_read_all(fx->store, "Nothing", 0, collect, &g, &err), 0);
    assert_int_equal(g.n, 0);

    /* load = all events when there is no snapshot */
    inc_load_cbs cbs = {collect_snapshot, collect, &g};
    assert_int_equal(
        inc_store_load(fx->store, &counter_counter_type, "c1", 0, &cbs, &err), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.snapshots, 0);
    got_free(&g);
    /* unknown stream: nothing */
    assert_int_equal(
        inc_store_load(fx->store, &counter_counter_type, "none", 0, &cbs, &err),
        0);
    assert_int_equal(g.n, 0);
}

static void test_duplicate_version_refused(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_stored_event evs[2];
    const ev_spec one[1] = {{1, "Added", "{\"amount\":1}"}};
    make_events(evs, one, 1, "dup", 1000);
    assert_int_equal(commit_events(fx->store, "dup", evs, 1, &err), 0);
    make_events(evs, one, 1, "dup", 2000);
    inc_error_clear(&err);
    assert_int_equal(commit_events(fx->store, "dup", evs, 1, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    assert_string_equal(err.code, "conflict");
    assert_int_equal(stream_len(fx->store, "dup"), 1);
    /* the same version in another stream or aggregate id is fine */
    make_events(evs, one, 1, "dup2", 2000);
    assert_int_equal(commit_events(fx->store, "dup2", evs, 1, &err), 0);
}

static int count_rows(void *ud, const void *row, const inc_row_meta *meta,
                      inc_error *err) {
    (void)row;
    (void)meta;
    (void)err;
    (*(int *)ud)++;
    return 0;
}

/* Snapshots `load` offers for Counter `id` (0 or 1), and, on PostgreSQL,
 * the rows of the snapshots table for it, counted from outside the store. */
static int snapshots_of(th_fx *fx, const char *id, int64_t *version) {
    got g;
    memset(&g, 0, sizeof g);
    inc_load_cbs cbs = {collect_snapshot, collect, &g};
    inc_error err;
    assert_int_equal(inc_store_load(fx->store, &counter_counter_type, id, 0,
                                    &cbs, &err),
                     0);
    int n = g.snapshots;
    if (version) *version = g.snapshot_version;
    got_free(&g);
    if (fx->pg) {
        PGconn *c = th_conn(fx);
        const char *p[1] = {id};
        char *v = th_query1(c, "SELECT count(*) FROM snapshots WHERE "
                               "aggregate_id = $1", 1, p);
        assert_non_null(v);
        assert_int_equal(atoi(v), n);
        free(v);
        PQfinish(c);
    }
    return n;
}

static void test_all_or_nothing(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_stored_event evs[3];
    const ev_spec two[2] = {{1, "Added", "{\"amount\":1}"},
                            {2, "Added", "{\"amount\":1}"}};
    make_events(evs, two, 2, "aon", 1000);
    assert_int_equal(commit_events(fx->store, "aon", evs, 2, &err), 0);

    /* versions 3, 4, then 2 again: the last one conflicts, nothing stays */
    const ev_spec three[3] = {{3, "Added", "{\"amount\":1}"},
                              {4, "Added", "{\"amount\":1}"},
                              {2, "Added", "{\"amount\":1}"}};
    make_events(evs, three, 3, "aon", 2000);
    counter_counters_row row;
    memset(&row, 0, sizeof row);
    row.aggregate_id = "aon";
    row.total = 4;
    inc_projection_write w = {&counter_counters_projection, &row, {4, "", 2001}};
    memcpy(w.meta.event_id, evs[1].event_id, INC_UUID_TEXT_SIZE);
    inc_commit c;
    memset(&c, 0, sizeof c);
    c.aggregate = &counter_counter_type;
    c.aggregate_id = "aon";
    c.n_events = 3;
    c.events = evs;
    c.n_rows = 1;
    c.rows = &w;
    c.snapshot_json = "{}";
    c.snapshot_version = 4;
    inc_error_clear(&err);
    assert_int_equal(inc_store_commit(fx->store, &c, &err), -1);
    assert_int_equal(err.kind, INC_ERR_CONFLICT);
    assert_int_equal(stream_len(fx->store, "aon"), 2);
    bool found = true;
    int n = 0;
    assert_int_equal(inc_store_projection_get(fx->store,
                                              &counter_counters_projection,
                                              "aon", count_rows, &n, &found,
                                              &err),
                     0);
    assert_false(found);
    assert_int_equal(n, 0);
    /* nor its snapshot (docs/guarantees.md: events, rows and snapshot) */
    assert_int_equal(snapshots_of(fx, "aon", NULL), 0);

    /* a duplicate event id within the batch: refused, nothing written */
    const ev_spec ok2[2] = {{3, "Added", "{\"amount\":1}"},
                            {4, "Added", "{\"amount\":1}"}};
    make_events(evs, ok2, 2, "aon", 3000);
    memcpy(evs[1].event_id, evs[0].event_id, INC_UUID_TEXT_SIZE);
    c.n_events = 2;
    inc_error_clear(&err);
    assert_int_equal(inc_store_commit(fx->store, &c, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INTERNAL);
    assert_int_equal(stream_len(fx->store, "aon"), 2);
    assert_int_equal(snapshots_of(fx, "aon", NULL), 0);

    /* malformed event data: refused, nothing written */
    make_events(evs, ok2, 2, "aon", 3000);
    evs[1].data = "{not json";
    inc_error_clear(&err);
    assert_int_equal(inc_store_commit(fx->store, &c, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_int_equal(stream_len(fx->store, "aon"), 2);
    assert_int_equal(snapshots_of(fx, "aon", NULL), 0);

    /* and then the good batch goes through with its row and snapshot */
    make_events(evs, ok2, 2, "aon", 3000);
    memcpy(w.meta.event_id, evs[1].event_id, INC_UUID_TEXT_SIZE);
    assert_int_equal(inc_store_commit(fx->store, &c, &err), 0);
    assert_int_equal(stream_len(fx->store, "aon"), 4);
    assert_int_equal(inc_store_projection_get(fx->store,
                                              &counter_counters_projection,
                                              "aon", count_rows, &n, &found,
                                              &err),
                     0);
    assert_true(found);
    assert_int_equal(n, 1);
    int64_t sv = 0;
    assert_int_equal(snapshots_of(fx, "aon", &sv), 1);
    assert_int_equal(sv, 4);
}

typedef struct rows {
    int n;
    counter_counters_row r[8];
    inc_row_meta m[8];
} rows;

static int keep_row(void *ud, const void *row, const inc_row_meta *meta,
                    inc_error *err) {
    rows *rs = ud;
    assert_true(rs->n < 8);
    assert_int_equal(inc_msg_copy(&counter_counters_row_desc, &rs->r[rs->n],
                                  row, err),
                     0);
    rs->m[rs->n++] = *meta;
    return 0;
}

static void rows_free(rows *rs) {
    for (int i = 0; i < rs->n; i++)
        inc_msg_free(&counter_counters_row_desc, &rs->r[i]);
    rs->n = 0;
}

/* Quotes, backslashes, SQL, format specifiers, control characters and
 * non-ASCII: every text must come back byte for byte. */
static const char *const nasty[] = {
    "it's",
    "\"double\" \\backslash\\ \\\\n",
    "'); DROP TABLE events; --",
    "$1 %s %n {}",
    "tab\there\nnewline\r",
    "日本語 ☃ \xF0\x9F\x98\x80 e\xCC\x81",
    "a\x01" "b\x1f",
};

static void test_metacharacters(void **state) {
    th_fx *fx = *state;
    inc_error err;
    for (size_t k = 0; k < sizeof nasty / sizeof *nasty; k++) {
        const char *id = nasty[k];
        json_t *d = json_pack("{s:s, s:n}", "label", nasty[k], "at");
        char *data = json_dumps(d, JSON_COMPACT);
        json_decref(d);
        inc_stored_event ev;
        const ev_spec spec[1] = {{1, "Labeled", data}};
        make_events(&ev, spec, 1, id, 5000);
        counter_counters_row row;
        memset(&row, 0, sizeof row);
        row.aggregate_id = (char *)id;
        row.label = (char *)nasty[k];
        row.has_label = true;
        row.ratio = 0.1;
        row.mood = COUNTER_MOOD_BUSY;
        inc_projection_write w = {&counter_counters_projection, &row,
                                  {1, "", 5000}};
        memcpy(w.meta.event_id, ev.event_id, INC_UUID_TEXT_SIZE);
        inc_commit c;
        memset(&c, 0, sizeof c);
        c.aggregate = &counter_counter_type;
        c.aggregate_id = id;
        c.n_events = 1;
        c.events = &ev;
        c.n_rows = 1;
        c.rows = &w;
        int rc = inc_store_commit(fx->store, &c, &err);
        if (rc != 0) fprintf(stderr, "commit: %s\n", err.message);
        assert_int_equal(rc, 0);

        got g;
        memset(&g, 0, sizeof g);
        assert_int_equal(inc_store_read_stream(fx->store, "Counter", id, 0,
                                               collect, &g, &err),
                         0);
        assert_int_equal(g.n, 1);
        assert_string_equal(g.ev[0].id, id);
        json_t *back = json_loads(g.ev[0].data, 0, NULL);
        assert_non_null(back);
        assert_string_equal(json_string_value(json_object_get(back, "label")),
                            nasty[k]);
        json_decref(back);
        got_free(&g);
        free(data);

        rows rs;
        memset(&rs, 0, sizeof rs);
        bool found;
        assert_int_equal(inc_store_projection_get(fx->store,
                                                  &counter_counters_projection,
                                                  id, keep_row, &rs, &found,
                                                  &err),
                         0);
        assert_true(found);
        assert_string_equal(rs.r[0].aggregate_id, id);
        assert_string_equal(rs.r[0].label, nasty[k]);
        rows_free(&rs);
    }
    /* invalid UTF-8 is refused the same way by both stores */
    inc_stored_event ev;
    const ev_spec spec[1] = {{1, "Added", "{\"amount\":1}"}};
    make_events(&ev, spec, 1, "bad\xff", 5000);
    inc_error_clear(&err);
    assert_int_equal(commit_events(fx->store, "bad\xff", &ev, 1, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
}

static void test_projection_types(void **state) {
    th_fx *fx = *state;
    inc_error err;
    const char *ids[3] = {"b", "a", "B"};
    for (int k = 0; k < 3; k++) {
        inc_stored_event ev;
        const ev_spec spec[1] = {{1, "Added", "{\"amount\":1}"}};
        make_events(&ev, spec, 1, ids[k], 7000);
        counter_counters_row row;
        memset(&row, 0, sizeof row);
        row.aggregate_id = (char *)ids[k];
        row.total = k == 0 ? INT64_MAX : (k == 1 ? INT64_MIN : 0);
        row.ratio = k == 0 ? 0.1 : (k == 1 ? -1e300 : 5e-324);
        row.big = k == 0;
        row.has_label = k != 2;
        row.label = k != 2 ? "L" : NULL;
        row.has_label_at = k == 0;
        row.label_at = INT64_C(-62135596800000000) + 1; /* 0001-01-01 + 1us */
        row.mood = k == 0 ? COUNTER_MOOD_BUSY : COUNTER_MOOD_CALM;
        inc_projection_write w = {&counter_counters_projection, &row,
                                  {1, "", 7000 + k}};
        memcpy(w.meta.event_id, ev.event_id, INC_UUID_TEXT_SIZE);
        inc_commit c;
        memset(&c, 0, sizeof c);
        c.aggregate = &counter_counter_type;
        c.aggregate_id = ids[k];
        c.n_events = 1;
        c.events = &ev;
        c.n_rows = 1;
        c.rows = &w;
        assert_int_equal(inc_store_commit(fx->store, &c, &err), 0);
    }
    rows rs;
    memset(&rs, 0, sizeof rs);
    assert_int_equal(inc_store_projection_list(fx->store,
                                               &counter_counters_projection,
                                               keep_row, &rs, &err),
                     0);
    assert_int_equal(rs.n, 3);
    /* byte order: "B" < "a" < "b" */
    assert_string_equal(rs.r[0].aggregate_id, "B");
    assert_string_equal(rs.r[1].aggregate_id, "a");
    assert_string_equal(rs.r[2].aggregate_id, "b");
    const counter_counters_row *b = &rs.r[2], *a = &rs.r[1], *B = &rs.r[0];
    assert_true(b->total == INT64_MAX);
    assert_true(a->total == INT64_MIN);
    assert_true(b->ratio == 0.1);
    assert_true(a->ratio == -1e300);
    assert_true(B->ratio == 5e-324);
    assert_true(b->big);
    assert_false(a->big);
    assert_true(b->has_label && strcmp(b->label, "L") == 0);
    assert_false(B->has_label);
    assert_null(B->label);
    assert_true(b->has_label_at);
    assert_true(b->label_at == INT64_C(-62135596800000000) + 1);
    assert_false(a->has_label_at);
    assert_int_equal(b->mood, COUNTER_MOOD_BUSY);
    assert_int_equal(a->mood, COUNTER_MOOD_CALM);
    assert_int_equal(rs.m[2].version, 1);
    assert_true(rs.m[2].event_date == 7000);
    assert_true(rs.m[1].event_date == 7001);
    rows_free(&rs);
}

static void test_snapshot_load(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_stored_event evs[3];
    const ev_spec spec[3] = {{1, "Added", "{\"amount\":1}"},
                             {2, "Added", "{\"amount\":2}"},
                             {3, "Added", "{\"amount\":3}"}};
    make_events(evs, spec, 2, "s1", 1000);
    inc_commit c;
    memset(&c, 0, sizeof c);
    c.aggregate = &counter_counter_type;
    c.aggregate_id = "s1";
    c.n_events = 2;
    c.events = evs;
    c.snapshot_json = "{\"marker\":2}";
    c.snapshot_version = 2;
    assert_int_equal(inc_store_commit(fx->store, &c, &err), 0);
    make_events(evs, spec + 2, 1, "s1", 2000);
    assert_int_equal(commit_events(fx->store, "s1", evs, 1, &err), 0);

    got g;
    memset(&g, 0, sizeof g);
    inc_load_cbs cbs = {collect_snapshot, collect, &g};
    assert_int_equal(
        inc_store_load(fx->store, &counter_counter_type, "s1", 0, &cbs, &err), 0);
    assert_int_equal(g.snapshots, 1);
    assert_int_equal(g.snapshot_version, 2);
    json_same(g.snapshot, "{\"marker\":2}");
    assert_int_equal(g.n, 1);
    assert_int_equal(g.ev[0].version, 3);
    got_free(&g);

    /* without snapshots: everything */
    assert_int_equal(inc_store_load(fx->store, &counter_counter_type, "s1",
                                    INC_LOAD_NO_SNAPSHOT, &cbs, &err),
                     0);
    assert_int_equal(g.snapshots, 0);
    assert_int_equal(g.n, 3);
    got_free(&g);

    /* another layout: the snapshot is not offered */
    inc_aggregate_desc other = counter_counter_type;
    other.state_layout_hash ^= UINT64_C(0x8000000000000001);
    assert_int_equal(inc_store_load(fx->store, &other, "s1", 0, &cbs, &err), 0);
    assert_int_equal(g.snapshots, 0);
    assert_int_equal(g.n, 3);
    got_free(&g);
}

/* Two stores of each kind in one process do not see each other. */
static void test_independent_stores(void **state) {
    (void)state;
    inc_error err;
    inc_store *m1 = inc_mem_store_open(&err), *m2 = inc_mem_store_open(&err);
    inc_stored_event ev;
    const ev_spec spec[1] = {{1, "Added", "{\"amount\":1}"}};
    make_events(&ev, spec, 1, "x", 1);
    assert_int_equal(commit_events(m1, "x", &ev, 1, &err), 0);
    assert_int_equal(stream_len(m1, "x"), 1);
    assert_int_equal(stream_len(m2, "x"), 0);
    inc_store_close(m1);
    inc_store_close(m2);
}


/* Load flags: INC_LOAD_NO_METADATA (PostgreSQL leaves the metadata out),
 * INC_LOAD_AFTER in load_many (only the events after a version, no
 * snapshot). */
static void test_load_flags(void **state) {
    th_fx *fx = *state;
    inc_error err;
    inc_stored_event evs[3];
    const ev_spec spec[3] = {{1, "Added", "{\"amount\":5}"},
                             {2, "Added", "{\"amount\":6}"},
                             {3, "Added", "{\"amount\":7}"}};
    make_events(evs, spec, 3, "lf", 1764151200000000);
    assert_int_equal(commit_events(fx->store, "lf", evs, 3, &err), 0);
    got g;
    memset(&g, 0, sizeof g);
    inc_load_cbs cbs = {NULL, collect, &g};
    assert_int_equal(inc_store_load(fx->store, &counter_counter_type, "lf", 0, &cbs, &err), 0);
    assert_int_equal(g.n, 3);
    for (size_t i = 0; i < 3; i++) json_same(g.ev[i].metadata, "{\"command_id\":\"x\"}");
    got_free(&g);
    assert_int_equal(inc_store_load(fx->store, &counter_counter_type, "lf",
                                    INC_LOAD_NO_METADATA, &cbs, &err), 0);
    assert_int_equal(g.n, 3);
    for (size_t i = 0; i < 3; i++) {
        if (fx->pg) assert_null(g.ev[i].metadata);
        json_same(g.ev[i].data, spec[i].data);
        assert_string_equal(g.ev[i].event_id, evs[i].event_id);
    }
    got_free(&g);
    inc_load_req r[2];
    memset(r, 0, sizeof r);
    got g2;
    memset(&g2, 0, sizeof g2);
    r[0].aggregate = r[1].aggregate = &counter_counter_type;
    r[0].aggregate_id = r[1].aggregate_id = "lf";
    r[0].flags = INC_LOAD_AFTER;
    r[0].after_version = 1;
    r[0].cbs = (inc_load_cbs){NULL, collect, &g};
    r[1].flags = INC_LOAD_AFTER | INC_LOAD_NO_METADATA;
    r[1].after_version = 0; /* from version 1 */
    r[1].cbs = (inc_load_cbs){NULL, collect, &g2};
    assert_int_equal(inc_store_load_many(fx->store, r, 2, &err), 0);
    assert_int_equal(r[0].rc, 0);
    assert_int_equal(r[1].rc, 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.ev[0].version, 2);
    assert_int_equal(g.ev[1].version, 3);
    assert_int_equal(g2.n, 3);
    got_free(&g);
    got_free(&g2);
}

/* What a load hands over equals what read_stream does (PostgreSQL reads
 * the one in binary, the other in text): ids, positions, versions, schema
 * versions and dates to the microsecond, on both sides of the Unix and of
 * PostgreSQL's own epoch (2000-01-01) and far from both. */
static void test_load_equals_read(void **state) {
    th_fx *fx = *state;
    inc_error err;
    static const inc_timestamp dates[6] = {
        -1,                      /* 1969-12-31T23:59:59.999999Z */
        0,                       /* the Unix epoch */
        946684799999999,         /* 1999-12-31T23:59:59.999999Z */
        946684800000000,         /* 2000-01-01: PostgreSQL's epoch */
        -62135596800000000 + 1,  /* 0001-01-01T00:00:00.000001Z */
        253402300799999999,      /* 9999-12-31T23:59:59.999999Z */
    };
    inc_stored_event evs[6];
    ev_spec spec[6];
    for (int i = 0; i < 6; i++) spec[i] = (ev_spec){i + 1, "Added", "{\"amount\":1}"};
    make_events(evs, spec, 6, "dates", 0);
    for (int i = 0; i < 6; i++) {
        evs[i].event_date = dates[i];
        evs[i].schema_version = (unsigned)(i % 3 + 1);
    }
    assert_int_equal(commit_events(fx->store, "dates", evs, 6, &err), 0);
    got a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    inc_load_cbs cbs = {NULL, collect, &a};
    assert_int_equal(inc_store_load(fx->store, &counter_counter_type, "dates", 0,
                                    &cbs, &err), 0);
    assert_int_equal(inc_store_read_stream(fx->store, "Counter", "dates", 0,
                                           collect, &b, &err), 0);
    assert_int_equal(a.n, 6);
    assert_int_equal(b.n, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(a.ev[i].date, dates[i]);
        assert_int_equal(b.ev[i].date, dates[i]);
        assert_string_equal(a.ev[i].event_id, evs[i].event_id);
        assert_string_equal(b.ev[i].event_id, evs[i].event_id);
        assert_int_equal(a.ev[i].version, (int64_t)i + 1);
        assert_int_equal(a.ev[i].position, b.ev[i].position);
        assert_int_equal(a.ev[i].schema_version, (unsigned)(i % 3 + 1));
        assert_int_equal(b.ev[i].schema_version, (unsigned)(i % 3 + 1));
        assert_string_equal(a.ev[i].event_type, "Added");
        assert_string_equal(a.ev[i].id, "dates");
        json_same(a.ev[i].data, "{\"amount\":1}");
    }
    assert_true(a.ev[0].position > 0);
    got_free(&a);
    got_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_independent_stores),
        TH_BOTH(test_append_and_read_back),
        TH_BOTH(test_duplicate_version_refused),
        TH_BOTH(test_all_or_nothing),
        TH_BOTH(test_metacharacters),
        TH_BOTH(test_projection_types),
        TH_BOTH(test_snapshot_load),
        TH_BOTH(test_load_flags),
        TH_BOTH(test_load_equals_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
