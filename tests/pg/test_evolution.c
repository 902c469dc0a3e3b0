/* test_evolution.c - schema evolution at run time (docs/evolution.md), on
 * both stores where both apply: a version-1 domain writes, version 2 (an
 * added defaulted field, an added optional field, an event renamed with
 * `was`, an upcast) reads, folds, writes, rebuilds and follows those
 * streams; version 1 reads version-2 events that only added fields and
 * refuses upcast ones with an error naming the event and both versions;
 * snapshots taken under the other event schema are ignored; a store of
 * schema version 2 upgrades with init (its events are version 1, an INSERT
 * naming only the old columns stays valid); a projection column added,
 * removed and retyped migrates with `init` (the CLI says what it changed
 * and refills the table) and commands then succeed.  The two domains are
 * hand-written (evo_domain.c). */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <incident/app.h>
#include <incident/cli.h>
#include <incident/store.h>

#include "counter.h"
#include "evo_domain.h"
#include "harness.h"

/* ---- helpers ---- */

static void init_store(inc_store *s, const inc_domain *d) {
    inc_error err;
    inc_error_clear(&err);
    if (inc_store_init(s, d, &err) != 0) fprintf(stderr, "init: %s\n", err.message);
    assert_int_equal(err.kind, INC_OK);
}

static inc_app *app_for(th_fx *fx, const inc_domain *d) {
    inc_error err;
    inc_app *app = inc_app_new(d, fx->store, &err);
    assert_non_null(app);
    return app;
}

static void dispatch(inc_app *app, const char *cmd, const char *json) {
    inc_result res = INC_RESULT_INIT;
    inc_error err;
    inc_error_clear(&err);
    int rc = inc_dispatch_json(app, cmd, json, &res, &err);
    if (rc != 0) fprintf(stderr, "%s %s: %s\n", cmd, json, err.message);
    assert_int_equal(rc, 0);
    inc_result_free(&res);
}

/* The stored event types and schema versions of a stream, raw. */
typedef struct raw_list {
    size_t n;
    char types[16][32];
    unsigned versions[16];
} raw_list;

static int raw_cb(void *ud, const inc_stored_event *ev, inc_error *err) {
    raw_list *l = ud;
    (void)err;
    assert_true(l->n < 16);
    snprintf(l->types[l->n], 32, "%s", ev->event_type);
    l->versions[l->n++] = ev->schema_version;
    return 0;
}

static raw_list raw_stream(th_fx *fx, const char *id) {
    raw_list l;
    inc_error err;
    memset(&l, 0, sizeof l);
    assert_int_equal(inc_store_read_stream(fx->store, "Book", id, 0, raw_cb, &l,
                                           &err),
                     0);
    return l;
}

static void state_of(inc_app *app, const inc_aggregate_desc *a, const char *id,
                     evo_state *st) {
    inc_error err;
    inc_error_clear(&err);
    int rc = inc_app_state(app, a, id, st, &err);
    if (rc != 0) fprintf(stderr, "state %s: %s\n", id, err.message);
    assert_int_equal(rc, 0);
}

/* The decoded events of a stream, as the app's readers see them. */
typedef struct seen_list {
    size_t n;
    char types[16][32];
    int64_t copies[16]; /* CopiesAdded: its copies (v2) or count (v1) */
} seen_list;

static int seen_cb(void *ud, const inc_recorded_event *ev, inc_error *err) {
    seen_list *l = ud;
    (void)err;
    assert_true(l->n < 16);
    snprintf(l->types[l->n], 32, "%s", ev->event_type);
    if (ev->desc == &evo_v2_copies_added)
        l->copies[l->n] = ((const evo_copies2 *)ev->data)->copies;
    else if (ev->desc == &evo_v1_copies_added)
        l->copies[l->n] = ((const evo_copies1 *)ev->data)->count;
    l->n++;
    return 0;
}

/* Run the domain CLI in this process: stdout and stderr captured
 * (malloc'd), its exit status returned. */
static char *slurp(FILE *f) {
    long n;
    fflush(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}

static int run_cli(const th_fx *fx, const inc_domain *d, const char *a1,
                   const char *a2, const char *a3, const char *a4,
                   char **out, char **errout) {
    char *db = th_conninfo_for_schema(fx->schema);
    char *argv[8] = {"evo", "--db", db};
    int argc = 3;
    const char *rest[4] = {a1, a2, a3, a4};
    for (int i = 0; i < 4 && rest[i]; i++) argv[argc++] = (char *)rest[i];
    FILE *fo = tmpfile(), *fe = tmpfile();
    assert_non_null(fo);
    assert_non_null(fe);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = inc_cli_main(d, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    free(db);
    *out = slurp(fo);
    *errout = slurp(fe);
    return rc;
}

static int row_cb(void *ud, const void *row, const inc_row_meta *meta,
                  inc_error *err) {
    const evo_row2 *r = row;
    evo_row2 *out = ud;
    (void)meta;
    (void)err;
    out->copies = r->copies;
    out->members = r->members;
    out->kind = r->kind;
    return 0;
}

/* ---- version 2 reads, folds and writes what version 1 wrote ---- */

static void write_v1(th_fx *fx, const char *id) {
    inc_app *v1 = app_for(fx, &evo_v1_domain);
    char json[128];
    snprintf(json, sizeof json, "{\"aggregate_id\":\"%s\",\"title\":\"Dune\"}", id);
    dispatch(v1, "AddBook", json);
    snprintf(json, sizeof json, "{\"aggregate_id\":\"%s\",\"count\":3}", id);
    dispatch(v1, "AddCopies", json);
    snprintf(json, sizeof json, "{\"aggregate_id\":\"%s\",\"name\":\"ann\"}", id);
    dispatch(v1, "Join", json);
    inc_app_free(v1);
}

static void test_v2_reads_v1(void **state) {
    th_fx *fx = *state;
    init_store(fx->store, &evo_v1_domain);
    write_v1(fx, "B1");
    raw_list raw = raw_stream(fx, "B1");
    assert_int_equal(raw.n, 3);
    for (size_t i = 0; i < raw.n; i++) assert_int_equal(raw.versions[i], 1);

    init_store(fx->store, &evo_v2_domain);
    inc_app *v2 = app_for(fx, &evo_v2_domain);
    evo_state st;
    state_of(v2, &evo_v2_book, "B1", &st);
    assert_int_equal(st.version, 3);
    assert_string_equal(st.title, "Dune");
    assert_int_equal(st.copies, 3);    /* through the upcast */
    assert_int_equal(st.members, 1);   /* MemberJoined read as MemberRegistered */
    assert_string_equal(st.last_member, "ann");
    inc_msg_free(&evo_v2_state_desc, &st);

    /* version 2 writes on the same stream */
    dispatch(v2, "AddCopies", "{\"aggregate_id\":\"B1\",\"count\":2}");
    dispatch(v2, "Join", "{\"aggregate_id\":\"B1\",\"name\":\"bob\"}");
    raw = raw_stream(fx, "B1");
    assert_int_equal(raw.n, 5);
    assert_string_equal(raw.types[2], "MemberJoined");
    assert_string_equal(raw.types[3], "CopiesAdded");
    assert_int_equal(raw.versions[3], 2);
    assert_string_equal(raw.types[4], "MemberRegistered");
    assert_int_equal(raw.versions[4], 1);

    /* every event in the current shape, under its current name */
    seen_list seen;
    inc_error err;
    memset(&seen, 0, sizeof seen);
    assert_int_equal(inc_app_read_stream(v2, &evo_v2_book, "B1", seen_cb, &seen,
                                         &err),
                     0);
    assert_int_equal(seen.n, 5);
    assert_string_equal(seen.types[1], "CopiesAdded");
    assert_int_equal(seen.copies[1], 3);
    assert_string_equal(seen.types[2], "MemberRegistered");
    assert_int_equal(seen.copies[3], 2);
    assert_string_equal(seen.types[4], "MemberRegistered");

    inc_app *fresh = app_for(fx, &evo_v2_domain); /* no cached state */
    state_of(fresh, &evo_v2_book, "B1", &st);
    assert_int_equal(st.copies, 5);
    assert_int_equal(st.members, 2);
    assert_string_equal(st.last_member, "bob");
    inc_msg_free(&evo_v2_state_desc, &st);

    /* rebuild folds through the same decoder */
    assert_int_equal(inc_app_rebuild(fresh, &evo_v2_books, NULL, NULL, &err), 0);
    evo_row2 row;
    bool found = false;
    memset(&row, 0, sizeof row);
    assert_int_equal(inc_store_projection_get(fx->store, &evo_v2_books, "B1",
                                              row_cb, &row, &found, &err),
                     0);
    assert_true(found);
    assert_int_equal(row.copies, 5);
    assert_int_equal(row.members, 2);
    assert_int_equal(row.kind, 50);
    inc_app_free(fresh);
    inc_app_free(v2);
}

/* ---- version 1 beside version 2 ---- */

static void test_v1_reads_v2(void **state) {
    th_fx *fx = *state;
    init_store(fx->store, &evo_v1_domain);
    inc_app *v1 = app_for(fx, &evo_v1_domain);
    dispatch(v1, "AddCopies", "{\"aggregate_id\":\"B3\",\"count\":1}");

    init_store(fx->store, &evo_v2_domain);
    inc_app *v2 = app_for(fx, &evo_v2_domain);
    dispatch(v2, "AddBook", "{\"aggregate_id\":\"B2\",\"title\":\"Emma\"}");
    dispatch(v2, "AddCopies", "{\"aggregate_id\":\"B3\",\"count\":2}");

    /* BookAdded only added fields (shelf, subtitle): version 1 reads it */
    evo_state st;
    inc_app *old = app_for(fx, &evo_v1_domain);
    state_of(old, &evo_v1_book, "B2", &st);
    assert_int_equal(st.version, 1);
    assert_string_equal(st.title, "Emma");
    inc_msg_free(&evo_v1_state_desc, &st);

    /* CopiesAdded was upcast (schema 2): refused, never misread */
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(inc_app_state(old, &evo_v1_book, "B3", &st, &err), -1);
    inc_msg_free(&evo_v1_state_desc, &st);
    assert_int_equal(err.kind, INC_ERR_INTERNAL);
    assert_string_equal(err.code, "schema_too_new");
    assert_string_equal(err.message,
                        "Book B3 version 2: event CopiesAdded is stored with "
                        "schema version 2; this program knows CopiesAdded up "
                        "to schema version 1: run a newer build of the domain");
    seen_list seen;
    memset(&seen, 0, sizeof seen);
    inc_error_clear(&err);
    assert_int_equal(inc_app_read_stream(old, &evo_v1_book, "B3", seen_cb,
                                         &seen, &err),
                     -1);
    assert_string_equal(err.code, "schema_too_new");
    assert_int_equal(seen.n, 1); /* the version-1 event before it */
    /* and a command on that stream is refused the same way */
    inc_result res = INC_RESULT_INIT;
    inc_error_clear(&err);
    assert_int_equal(inc_dispatch_json(old, "AddCopies",
                                       "{\"aggregate_id\":\"B3\",\"count\":1}",
                                       &res, &err),
                     -1);
    assert_string_equal(err.code, "schema_too_new");
    inc_result_free(&res);
    inc_app_free(old);
    inc_app_free(v1);
    inc_app_free(v2);
}

/* ---- snapshots: keyed by the state layout and the events' schemas ---- */

typedef struct load_count {
    int snapshots;
    int64_t snapshot_version;
    int events;
} load_count;

static int count_snapshot(void *ud, int64_t version, const char *json,
                          inc_error *err) {
    load_count *c = ud;
    (void)json;
    (void)err;
    c->snapshots++;
    c->snapshot_version = version;
    return 0;
}

static int count_event(void *ud, const inc_stored_event *ev, inc_error *err) {
    (void)ev;
    (void)err;
    ((load_count *)ud)->events++;
    return 0;
}

static load_count load_raw(th_fx *fx, const inc_aggregate_desc *a,
                           const char *id) {
    load_count c;
    inc_error err;
    memset(&c, 0, sizeof c);
    inc_load_cbs cbs = {count_snapshot, count_event, &c};
    assert_int_equal(inc_store_load(fx->store, a, id, 0, &cbs, &err), 0);
    return c;
}

static void test_snapshots_and_upcasts(void **state) {
    th_fx *fx = *state;
    inc_error err;
    init_store(fx->store, &evo_v1_domain);
    inc_app *v1 = app_for(fx, &evo_v1_domain);
    assert_int_equal(inc_app_set_snapshot_every(v1, "Book", 2, &err), 0);
    dispatch(v1, "AddCopies", "{\"aggregate_id\":\"S1\",\"count\":1}");
    dispatch(v1, "AddCopies", "{\"aggregate_id\":\"S1\",\"count\":2}");
    dispatch(v1, "AddCopies", "{\"aggregate_id\":\"S1\",\"count\":4}");

    load_count c = load_raw(fx, &evo_v1_book, "S1");
    assert_int_equal(c.snapshots, 1); /* version 1 uses its snapshot */
    assert_int_equal(c.snapshot_version, 2);
    assert_int_equal(c.events, 1);
    c = load_raw(fx, &evo_v2_book, "S1");
    assert_int_equal(c.snapshots, 0); /* another event schema: ignored */
    assert_int_equal(c.events, 3);

    init_store(fx->store, &evo_v2_domain);
    inc_app *v2 = app_for(fx, &evo_v2_domain);
    assert_int_equal(inc_app_set_snapshot_every(v2, "Book", 2, &err), 0);
    evo_state st;
    state_of(v2, &evo_v2_book, "S1", &st);
    assert_int_equal(st.copies, 7); /* every event upcast, none skipped */
    inc_msg_free(&evo_v2_state_desc, &st);
    dispatch(v2, "AddCopies", "{\"aggregate_id\":\"S1\",\"count\":8}");

    c = load_raw(fx, &evo_v2_book, "S1");
    assert_int_equal(c.snapshots, 1); /* taken by version 2 at version 4 */
    assert_int_equal(c.snapshot_version, 4);
    assert_int_equal(c.events, 0);
    c = load_raw(fx, &evo_v1_book, "S1");
    assert_int_equal(c.snapshots, 0); /* and version 1 does not trust it */
    assert_int_equal(c.events, 4);

    inc_app *fresh = app_for(fx, &evo_v2_domain);
    state_of(fresh, &evo_v2_book, "S1", &st);
    assert_int_equal(st.copies, 15);
    assert_int_equal(st.version, 4);
    inc_msg_free(&evo_v2_state_desc, &st);
    inc_app_free(fresh);
    inc_app_free(v1);
    inc_app_free(v2);
}

/* ---- PostgreSQL: the store's own upgrade (schema version 2 -> 3) ---- */

static void test_store_upgrade(void **state) {
    th_fx *fx = *state;
    PGconn *c = th_conn(fx);
    /* back to what a version-2 store looks like */
    free(th_query1(c, "ALTER TABLE events DROP COLUMN schema_version", 0, NULL));
    free(th_query1(c, "DROP TABLE projection_refills", 0, NULL));
    free(th_query1(c, "DELETE FROM schema_version WHERE version = 3", 0, NULL));
    static const char old_insert[] =
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, "
        "event_type, data, metadata, event_date) VALUES (gen_random_uuid(), "
        "'Counter', 'U1', $1::int4, 'Added', '{\"amount\":5}', '{}', now())";
    const char *one[1] = {"1"};
    free(th_query1(c, old_insert, 1, one));

    init_store(fx->store, &counter_domain);
    char *v = th_query1(c, "SELECT max(version)::text FROM schema_version", 0,
                        NULL);
    char want[16];
    snprintf(want, sizeof want, "%d", INC_STORE_SCHEMA_VERSION);
    assert_string_equal(v, want);
    free(v);
    assert_int_equal(INC_STORE_SCHEMA_VERSION, 3);
    /* an INSERT naming only the old columns still appends (version 1) */
    const char *two[1] = {"2"};
    free(th_query1(c, old_insert, 1, two));
    v = th_query1(c,
                  "SELECT string_agg(schema_version::text, ',' ORDER BY "
                  "version) FROM events WHERE aggregate_id = 'U1'",
                  0, NULL);
    assert_string_equal(v, "1,1");
    free(v);
    inc_app *app = app_for(fx, &counter_domain);
    assert_int_equal(th_total(app, "U1", NULL), 10);
    inc_app_free(app);
    PQfinish(c);
}

/* ---- PostgreSQL: init migrates the projection tables ---- */

static char *columns_of(PGconn *c) {
    return th_query1(c,
                     "SELECT string_agg(column_name || ' ' || data_type || ' ' "
                     "|| is_nullable, ', ' ORDER BY column_name) FROM "
                     "information_schema.columns WHERE table_schema = "
                     "current_schema() AND table_name = 'evo_books'",
                     0, NULL);
}

static void test_projection_migration(void **state) {
    th_fx *fx = *state;
    PGconn *c = th_conn(fx);
    init_store(fx->store, &evo_v1_domain);
    write_v1(fx, "B1");
    write_v1(fx, "B2");
    static const char events_sum[] =
        "SELECT md5(string_agg(event_id::text || event_type || data::text || "
        "schema_version::text, ',' ORDER BY position)) FROM events";
    char *before = th_query1(c, events_sum, 0, NULL);

    char *out, *errout;
    int rc = run_cli(fx, &evo_v2_domain, "init", NULL, NULL, NULL, &out,
                     &errout);
    if (rc != 0) fprintf(stderr, "%s", errout);
    assert_int_equal(rc, 0);
    assert_string_equal(
        out,
        "projection evo_books: dropped column legacy (was text NOT NULL)\n"
        "projection evo_books: added column members bigint NOT NULL\n"
        "projection evo_books: retyped column kind from text NOT NULL to "
        "bigint NOT NULL\n"
        "projection evo_sizes: retyped column size from text NOT NULL CHECK "
        "(other members) to text NOT NULL CHECK (small, large, huge)\n"
        "projection evo_books: refilled from the events\n"
        "projection evo_sizes: refilled from the events\n");
    /* progress, per table */
    assert_string_equal(errout, "rebuilt 6/6 events\nrebuilt 6/6 events\n");
    free(out);
    free(errout);

    char *cols = columns_of(c);
    assert_string_equal(cols,
                        "aggregate_id text NO, copies bigint NO, event_date "
                        "timestamp with time zone NO, event_id uuid NO, kind "
                        "bigint NO, members bigint NO, title text YES, "
                        "version bigint NO");
    free(cols);
    char *after = th_query1(c, events_sum, 0, NULL);
    assert_string_equal(before, after); /* the event store untouched */
    free(before);
    free(after);
    char *rows = th_query1(c,
                           "SELECT string_agg(aggregate_id || ':' || copies || "
                           "':' || members || ':' || kind, ' ' ORDER BY "
                           "aggregate_id) FROM evo_books",
                           0, NULL);
    assert_string_equal(rows, "B1:3:1:30 B2:3:1:30");
    free(rows);

    /* commands on the changed projection succeed (a new program: the
     * fixture's connection still holds version 1's statements) */
    inc_store *s2 = th_open_same(fx);
    inc_error err;
    inc_app *v2 = inc_app_new(&evo_v2_domain, s2, &err);
    assert_non_null(v2);
    dispatch(v2, "AddCopies", "{\"aggregate_id\":\"B1\",\"count\":4}");
    dispatch(v2, "AddBook", "{\"aggregate_id\":\"B9\",\"title\":\"New\"}");
    rows = th_query1(c,
                     "SELECT string_agg(aggregate_id || ':' || copies || ':' "
                     "|| members || ':' || kind, ' ' ORDER BY aggregate_id) "
                     "FROM evo_books",
                     0, NULL);
    assert_string_equal(rows, "B1:7:1:70 B2:3:1:30 B9:0:0:0");
    free(rows);
    /* the new enum member passes the new CHECK */
    rows = th_query1(c,
                     "SELECT string_agg(aggregate_id || ':' || size, ' ' "
                     "ORDER BY aggregate_id) FROM evo_sizes",
                     0, NULL);
    assert_string_equal(rows, "B1:huge B2:small B9:small");
    free(rows);
    inc_app_free(v2);
    inc_store_close(s2);

    /* a second init has nothing to do */
    rc = run_cli(fx, &evo_v2_domain, "init", NULL, NULL, NULL, &out, &errout);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "");
    assert_string_equal(errout, "");
    free(out);
    free(errout);
    PQfinish(c);
}

/* An init whose refill did not happen reports it again (the library's
 * init changes the table; the refill is the caller's). */
typedef struct changes {
    int n;
    inc_table_change_kind kinds[8];
} changes;

static int on_change(void *ud, const inc_table_change *ch, inc_error *err) {
    changes *c = ud;
    (void)err;
    assert_true(c->n < 8);
    c->kinds[c->n++] = ch->kind;
    return 0;
}

static void test_refill_pending(void **state) {
    th_fx *fx = *state;
    inc_error err;
    init_store(fx->store, &evo_v1_domain);
    write_v1(fx, "B1");
    changes ch = {0, {0}};
    assert_int_equal(inc_store_init_report(fx->store, &evo_v2_domain, on_change,
                                           &ch, &err),
                     0);
    assert_int_equal(ch.n, 6);
    assert_int_equal(ch.kinds[0], INC_TABLE_COLUMN_DROPPED);
    assert_int_equal(ch.kinds[1], INC_TABLE_COLUMN_ADDED);
    assert_int_equal(ch.kinds[2], INC_TABLE_COLUMN_RETYPED);
    assert_int_equal(ch.kinds[3], INC_TABLE_REFILL);   /* evo_books */
    assert_int_equal(ch.kinds[4], INC_TABLE_COLUMN_RETYPED);
    assert_int_equal(ch.kinds[5], INC_TABLE_REFILL);   /* evo_sizes */
    /* not refilled: still pending */
    ch.n = 0;
    assert_int_equal(inc_store_init_report(fx->store, &evo_v2_domain, on_change,
                                           &ch, &err),
                     0);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.kinds[0], INC_TABLE_REFILL);
    assert_int_equal(ch.kinds[1], INC_TABLE_REFILL);
    inc_app *v2 = app_for(fx, &evo_v2_domain);
    assert_int_equal(inc_app_rebuild(v2, &evo_v2_books, NULL, NULL, &err), 0);
    ch.n = 0;
    assert_int_equal(inc_store_init_report(fx->store, &evo_v2_domain, on_change,
                                           &ch, &err),
                     0);
    assert_int_equal(ch.n, 1); /* evo_sizes still to refill */
    assert_int_equal(inc_app_rebuild(v2, &evo_v2_sizes, NULL, NULL, &err), 0);
    ch.n = 0;
    assert_int_equal(inc_store_init_report(fx->store, &evo_v2_domain, on_change,
                                           &ch, &err),
                     0);
    assert_int_equal(ch.n, 0);

    /* a projection new to a store whose aggregate type has events */
    PGconn *c = th_conn(fx);
    free(th_query1(c, "DROP TABLE evo_sizes", 0, NULL));
    ch.n = 0;
    assert_int_equal(inc_store_init_report(fx->store, &evo_v2_domain, on_change,
                                           &ch, &err),
                     0);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.kinds[0], INC_TABLE_CREATED);
    assert_int_equal(ch.kinds[1], INC_TABLE_REFILL);
    assert_int_equal(inc_app_rebuild(v2, &evo_v2_sizes, NULL, NULL, &err), 0);
    char *rows = th_query1(c, "SELECT string_agg(aggregate_id || ':' || size, "
                              "' ') FROM evo_sizes", 0, NULL);
    assert_string_equal(rows, "B1:small");
    free(rows);
    PQfinish(c);
    inc_app_free(v2);
}

/* ---- PostgreSQL: the CLI's follow and events read the current shape ---- */

static void test_cli_follow(void **state) {
    th_fx *fx = *state;
    init_store(fx->store, &evo_v1_domain);
    write_v1(fx, "B1");
    init_store(fx->store, &evo_v2_domain);
    inc_app *v2 = app_for(fx, &evo_v2_domain);
    dispatch(v2, "AddCopies", "{\"aggregate_id\":\"B1\",\"count\":2}");
    inc_app_free(v2);

    char *out, *errout;
    int rc = run_cli(fx, &evo_v2_domain, "follow", "--limit", "4", NULL, &out,
                     &errout);
    assert_int_equal(rc, 0);
    char *line[4];
    char *save = NULL, *p = out;
    for (int i = 0; i < 4; i++) {
        line[i] = strtok_r(p, "\n", &save);
        p = NULL;
        assert_non_null(line[i]);
    }
    assert_non_null(strstr(line[1], "\"event_type\":\"CopiesAdded\""));
    assert_non_null(strstr(line[1], "\"data\":{\"copies\":3,\"note\":\"v1\"}"));
    assert_non_null(strstr(line[2], "\"event_type\":\"MemberRegistered\""));
    assert_non_null(strstr(line[3], "\"data\":{\"copies\":2,\"note\":null}"));
    free(out);
    free(errout);

    rc = run_cli(fx, &evo_v2_domain, "events", "Book", "B1", NULL, &out,
                 &errout);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"data\":{\"copies\":3,\"note\":\"v1\"}"));
    assert_non_null(strstr(out, "\"event_type\":\"MemberRegistered\""));
    free(out);
    free(errout);

    /* version 1's CLI refuses the upcast event, naming it */
    rc = run_cli(fx, &evo_v1_domain, "follow", "--limit", "4", NULL, &out,
                 &errout);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(errout,
                           "Book B1 version 4: event CopiesAdded is stored "
                           "with schema version 2; this program knows "
                           "CopiesAdded up to schema version 1"));
    free(out);
    free(errout);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        TH_BOTH(test_v2_reads_v1),
        TH_BOTH(test_v1_reads_v2),
        TH_BOTH(test_snapshots_and_upcasts),
        TH_PG(test_store_upgrade),
        TH_PG(test_projection_migration),
        TH_PG(test_refill_pending),
        TH_PG(test_cli_follow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
