/* test_query.c - inc_store_query (docs/api.md, "Queries"): the same
 * commands dispatched to a PostgreSQL store and a memory store give the
 * same rows in the same order for every query; each answer also equals
 * the rows filtered and ordered here, from the full listing; fields and
 * values are checked before the store is asked; a value full of SQL
 * metacharacters is only a value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "counter.h"
#include "harness.h"

static const char *const nasty = "x'); DROP TABLE events; -- \" \\ %s $1";

/* Rows as JSON lines without event_id/event_date (they differ between
 * the two stores' runs). */
typedef struct lines {
    char *text;
    size_t len;
    int n;
} lines;

static int add_line(void *ud, const void *row, const inc_row_meta *meta,
                    inc_error *err) {
    (void)err;
    lines *l = ud;
    char *j = inc_msg_to_text(&counter_counters_row_desc, row, 0, NULL);
    assert_non_null(j);
    char buf[64];
    snprintf(buf, sizeof buf, " v%lld\n", (long long)meta->version);
    size_t k = strlen(j) + strlen(buf);
    l->text = realloc(l->text, l->len + k + 1);
    assert_non_null(l->text);
    snprintf(l->text + l->len, k + 1, "%s%s", j, buf);
    l->len += k;
    l->n++;
    free(j);
    return 0;
}

static void fill(inc_app *app) {
    inc_error err;
    char json[512];
    for (int i = 0; i < 40; i++) {
        inc_result r;
        inc_result_init(&r);
        /* totals repeat (ties), some counters get labels (nulls elsewhere),
         * one the nasty text, two share a label */
        snprintf(json, sizeof json, "{\"aggregate_id\":\"C%02d\",\"amount\":%d}",
                 i, (i * 7) % 11 - 3 ? (i * 7) % 11 - 3 : 1200);
        assert_int_equal(inc_dispatch_json(app, "Add", json, &r, &err), 0);
        inc_result_free(&r);
        if (i % 3 == 0) {
            inc_result_init(&r);
            const char *label = i == 9 ? nasty : i % 2 ? "odd" : "é-even";
            json_t *o = json_pack("{s:s,s:s,s:s}", "aggregate_id",
                                  json + 17 /* "C.." */, "label", label, "at",
                                  "2026-01-02T03:04:05Z");
            assert_non_null(o);
            char id[4] = {json[17], json[18], json[19], 0};
            json_object_set_new(o, "aggregate_id", json_string(id));
            char *t = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            assert_int_equal(inc_dispatch_json(app, "Label", t, &r, &err), 0);
            free(t);
            inc_result_free(&r);
        }
    }
}

static lines run(inc_store *s, const inc_query *q) {
    lines l = {NULL, 0, 0};
    inc_error err;
    inc_error_clear(&err);
    int rc = inc_store_query(s, &counter_counters_projection, q, add_line, &l,
                             &err);
    if (rc != 0) fprintf(stderr, "query: %s\n", err.message);
    assert_int_equal(rc, 0);
    return l;
}

/* Kept here to recompute an answer from the full listing. */
typedef struct all_rows {
    counter_counters_row r[64];
    int64_t v[64];
    int n;
} all_rows;

static int keep(void *ud, const void *row, const inc_row_meta *meta,
                inc_error *err) {
    all_rows *a = ud;
    assert_true(a->n < 64);
    assert_int_equal(inc_msg_copy(&counter_counters_row_desc, &a->r[a->n], row,
                                  err),
                     0);
    a->v[a->n++] = meta->version;
    return 0;
}

/* A PostgreSQL and a memory fixture, the same commands dispatched to each. */
static void both_filled(void **sp, void **sm, th_fx **P, th_fx **M) {
    th_setup(sp);
    th_setup(sm);
    *P = *sp;
    *M = *sm;
    fill((*P)->app);
    fill((*M)->app);
}

static void test_same_rows(void **state) {
    (void)state;
    bool pg = true, mem = false;
    void *sp = &pg, *sm = &mem;
    th_fx *P, *M;
    both_filled(&sp, &sm, &P, &M);
    inc_query_where w_total[] = {{"total", "4"}};
    inc_query_where w_two[] = {{"mood", "calm"}, {"big", "false"}};
    inc_query_where w_label[] = {{"label", "odd"}};
    inc_query_where w_nasty[] = {{"label", nasty}};
    inc_query_where w_at[] = {{"label_at", "2026-01-02T04:04:05+01:00"}};
    inc_query_where w_ratio[] = {{"ratio", "1"}};
    inc_query_where w_id[] = {{"aggregate_id", "C07"}};
    inc_query_where w_none[] = {{"total", "-999"}};
    const struct {
        inc_query q;
        int expect; /* rows; -1: not checked here */
    } qs[] = {
        {{0, NULL, NULL, false, 0}, 40},
        {{1, w_total, NULL, false, 0}, -1},
        {{2, w_two, "total", false, 0}, -1},
        {{2, w_two, "total", true, 5}, 5},
        {{0, NULL, "label", false, 0}, 40},
        {{0, NULL, "label", true, 0}, 40},
        {{0, NULL, "mood", true, 7}, 7},
        {{0, NULL, "ratio", false, 0}, 40},
        {{0, NULL, "label_at", true, 3}, 3},
        {{1, w_label, "aggregate_id", true, 0}, -1},
        {{1, w_nasty, NULL, false, 0}, 1},
        {{1, w_at, NULL, false, 0}, 14},
        {{1, w_ratio, NULL, false, 0}, -1},
        {{1, w_id, NULL, false, 0}, 1},
        {{1, w_none, NULL, false, 0}, 0},
        {{0, NULL, NULL, false, 1000}, 40},
    };
    all_rows all;
    all.n = 0;
    inc_error err;
    assert_int_equal(inc_store_projection_list(P->store,
                                               &counter_counters_projection,
                                               keep, &all, &err),
                     0);
    assert_int_equal(all.n, 40);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        lines a = run(P->store, &qs[i].q), b = run(M->store, &qs[i].q);
        if (a.n != b.n || (a.len && strcmp(a.text, b.text) != 0))
            fail_msg("query %zu: PostgreSQL:\n%s\nmemory:\n%s", i,
                     a.text ? a.text : "", b.text ? b.text : "");
        if (qs[i].expect >= 0) assert_int_equal(a.n, qs[i].expect);
        /* recompute the where-only answers from the listing */
        if (!qs[i].q.order && !qs[i].q.limit && qs[i].q.n_where == 1 &&
            strcmp(qs[i].q.where[0].field, "total") == 0) {
            int n = 0;
            for (int k = 0; k < all.n; k++)
                n += all.r[k].total == atoll(qs[i].q.where[0].value);
            assert_int_equal(a.n, n);
            if (qs[i].expect < 0) assert_true(n > 0);
        }
        free(a.text);
        free(b.text);
    }
    /* the nasty label is a value: the events table is still there */
    assert_int_equal(th_total(P->app, "C09", NULL), th_total(M->app, "C09", NULL));
    for (int k = 0; k < all.n; k++)
        inc_msg_free(&counter_counters_row_desc, &all.r[k]);
    th_teardown(&sp);
    th_teardown(&sm);
}

static int never(void *ud, const void *row, const inc_row_meta *meta,
                 inc_error *err) {
    (void)ud, (void)row, (void)meta;
    return inc_error_set(err, INC_ERR_INTERNAL, "called", "called");
}

/* Bad fields and values: INC_ERR_INVALID naming them, on both stores. */
static void test_checked(void **state) {
    th_fx *fx = *state;
    inc_error err;
    const struct {
        const char *field, *value, *order, *code, *names;
    } bad[] = {
        {"nope", "1", NULL, "unknown_field", "nope"},
        {"total", "1.5", NULL, "invalid_value", "total"},
        {"total", "99999999999999999999", NULL, "invalid_value", "total"},
        {"big", "yes", NULL, "invalid_value", "big"},
        {"mood", "angry", NULL, "invalid_value", "mood"},
        {"label_at", "yesterday", NULL, "invalid_value", "label_at"},
        {"ratio", "nan", NULL, "invalid_value", "ratio"},
        {"total", "1", "version", "unknown_field", "version"},
        {"total';--", "1", NULL, "unknown_field", "total';--"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        inc_query_where w = {bad[i].field, bad[i].value};
        inc_query q = {1, &w, bad[i].order, false, 0};
        inc_error_clear(&err);
        assert_int_equal(inc_store_query(fx->store,
                                         &counter_counters_projection, &q,
                                         never, NULL, &err),
                         -1);
        assert_int_equal(err.kind, INC_ERR_INVALID);
        assert_string_equal(err.code, bad[i].code);
        assert_non_null(strstr(err.message, bad[i].names));
    }
    inc_query q = {0, NULL, NULL, false, -1};
    assert_int_equal(inc_store_query(fx->store, &counter_counters_projection,
                                     &q, never, NULL, &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
}

/* Typed queries (docs/api.md "Typed queries"): each find_by gives the
 * rows the untyped query with its value as text gives, on both stores;
 * counter_counters_query(NULL) lists them all; on PostgreSQL the declared
 * index serves the find_by's condition. */
static int add_typed(void *ud, const counter_counters_row *row,
                     const inc_row_meta *meta, inc_error *err) {
    return add_line(ud, row, meta, err);
}

typedef enum { BY_TOTAL, BY_LABEL, BY_NASTY, BY_RATIO, BY_BIG, BY_AT, BY_MOOD } by;

static lines typed(inc_store *s, by k) {
    lines l = {NULL, 0, 0};
    inc_error err;
    inc_timestamp at;
    assert_int_equal(inc_timestamp_parse("2026-01-02T03:04:05Z", &at), 0);
    int rc = -1;
    switch (k) {
    case BY_TOTAL: rc = counter_counters_find_by_total(s, 4, 0, add_typed, &l, &err); break;
    case BY_LABEL: rc = counter_counters_find_by_label(s, "odd", 0, add_typed, &l, &err); break;
    case BY_NASTY: rc = counter_counters_find_by_label(s, nasty, 0, add_typed, &l, &err); break;
    case BY_RATIO: rc = counter_counters_find_by_ratio(s, 1.0, 5, add_typed, &l, &err); break;
    case BY_BIG: rc = counter_counters_find_by_big(s, false, 0, add_typed, &l, &err); break;
    case BY_AT: rc = counter_counters_find_by_label_at(s, at, 0, add_typed, &l, &err); break;
    case BY_MOOD:
        rc = counter_counters_find_by_mood(s, COUNTER_MOOD_CALM, 3, add_typed, &l, &err);
        break;
    }
    if (rc != 0) fprintf(stderr, "typed query: %s\n", err.message);
    assert_int_equal(rc, 0);
    return l;
}

static void test_typed(void **state) {
    (void)state;
    bool pg = true, mem = false;
    void *sp = &pg, *sm = &mem;
    th_fx *P, *M;
    both_filled(&sp, &sm, &P, &M);
    const struct {
        by k;
        const char *field, *value;
        int64_t limit;
    } cases[] = {
        {BY_TOTAL, "total", "4", 0},     {BY_LABEL, "label", "odd", 0},
        {BY_NASTY, "label", nasty, 0},   {BY_RATIO, "ratio", "1", 5},
        {BY_BIG, "big", "false", 0},     {BY_AT, "label_at", "2026-01-02T03:04:05Z", 0},
        {BY_MOOD, "mood", "calm", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        inc_query_where w = {cases[i].field, cases[i].value};
        inc_query q = {1, &w, NULL, false, cases[i].limit};
        lines tp = typed(P->store, cases[i].k), tm = typed(M->store, cases[i].k),
              up = run(P->store, &q);
        if (tp.n == 0) fail_msg("case %zu (%s): no rows", i, cases[i].field);
        assert_int_equal(tp.n, up.n);
        assert_string_equal(tp.text, up.text);
        assert_int_equal(tm.n, tp.n);
        assert_string_equal(tm.text, tp.text);
        free(tp.text);
        free(tm.text);
        free(up.text);
    }
    lines all = {NULL, 0, 0};
    inc_error err;
    assert_int_equal(counter_counters_query(P->store, NULL, add_typed, &all, &err), 0);
    assert_int_equal(all.n, 40);
    free(all.text);
    assert_int_equal(counter_counters_query(P->store, NULL, NULL, NULL, &err), -1);
    assert_string_equal(err.code, "bad_argument");
    /* the declared index serves the condition (seq scans priced out: the
     * table is small) */
    PGconn *c = th_conn(P);
    PGresult *r = PQexec(c, "SET enable_seqscan = off");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    r = PQexec(c, "EXPLAIN SELECT * FROM counters WHERE mood = 'calm'");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    bool uses = false;
    for (int i = 0; i < PQntuples(r); i++)
        uses = uses || strstr(PQgetvalue(r, i, 0), "counters_mood_idx") != NULL;
    PQclear(r);
    PQfinish(c);
    assert_true(uses);
    th_teardown(&sp);
    th_teardown(&sm);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_rows),
        cmocka_unit_test(test_typed),
        TH_BOTH(test_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
