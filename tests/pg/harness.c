/* harness.c - see harness.h. */
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

#include "counter.h"
#include "harness.h"

bool th_mode_pg = true, th_mode_mem = false;

const char *th_db(void) {
    const char *db = getenv("INCIDENT_DB");
    return db && *db ? db : NULL;
}

void th_unique_schema(char out[64]) {
    static unsigned n; /* test-only counter */
    snprintf(out, 64, "inc_t_%ld_%u", (long)getpid(), ++n);
}

char *th_conninfo_for_schema(const char *schema) {
    const char *db = th_db();
    size_t n = strlen(db) + strlen(schema) + 64;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s options='-csearch_path=%s'", db, schema);
    return s;
}

static void quiet(void *ud, const char *msg) {
    (void)ud;
    (void)msg;
}

static PGconn *connect_db(void) {
    PGconn *c = PQconnectdb(th_db());
    PQsetNoticeProcessor(c, quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to $INCIDENT_DB: %s", PQerrorMessage(c));
        fail();
    }
    return c;
}

static void exec_or_fail(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    PQclear(r);
}

void th_create_schema(const char *schema) {
    PGconn *c = connect_db();
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE SCHEMA \"%s\"", schema);
    exec_or_fail(c, sql);
    PQfinish(c);
}

void th_drop_schema(const char *schema) {
    PGconn *c = connect_db();
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema);
    exec_or_fail(c, sql);
    PQfinish(c);
}

int th_setup(void **state) {
    bool pg = *(bool *)*state;
    th_fx *fx = calloc(1, sizeof *fx);
    inc_error err;
    inc_error_clear(&err);
    assert_non_null(fx);
    fx->pg = pg;
    if (pg) {
        /* Never skip: a PostgreSQL test without a server is a failure. */
        if (!th_db()) {
            free(fx);
            fail_msg("INCIDENT_DB is not set: these tests need a real PostgreSQL "
                     "(scripts/pg start DIR; . DIR/env)");
        }
        th_unique_schema(fx->schema);
        inc_pg_options o = {th_db(), fx->schema};
        fx->store = inc_pg_store_open(&o, &err);
    } else {
        fx->store = inc_mem_store_open(&err);
    }
    if (!fx->store) fprintf(stderr, "open: %s\n", err.message);
    assert_non_null(fx->store);
    if (inc_store_init(fx->store, &counter_domain, &err) != 0)
        fprintf(stderr, "init: %s\n", err.message);
    assert_int_equal(err.kind, INC_OK);
    fx->app = inc_app_new(&counter_domain, fx->store, &err);
    assert_non_null(fx->app);
    inc_app_set_max_backoff(fx->app, 2000);
    *state = fx;
    return 0;
}

int th_teardown(void **state) {
    th_fx *fx = *state;
    if (!fx || fx == (void *)&th_mode_pg || fx == (void *)&th_mode_mem)
        return 0;
    inc_app_free(fx->app);
    inc_store_close(fx->store);
    if (fx->pg) th_drop_schema(fx->schema);
    free(fx);
    return 0;
}

inc_store *th_open_same(const th_fx *fx) {
    if (!fx->pg) return NULL;
    inc_error err;
    inc_pg_options o = {th_db(), fx->schema};
    inc_store *s = inc_pg_store_open(&o, &err);
    assert_non_null(s);
    return s;
}

PGconn *th_conn(const th_fx *fx) {
    char *ci = th_conninfo_for_schema(fx->schema);
    PGconn *c = PQconnectdb(ci);
    free(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    return c;
}

char *th_query1(PGconn *c, const char *sql, int n, const char *const *params) {
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    char *out = NULL;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
        const char *v = PQgetvalue(r, 0, 0);
        out = malloc(strlen(v) + 1);
        assert_non_null(out);
        strcpy(out, v);
    }
    PQclear(r);
    return out;
}

int64_t th_total(inc_app *app, const char *id, int64_t *version) {
    counter_counter_state s;
    inc_error err;
    assert_int_equal(inc_app_state(app, &counter_counter_type, id, &s, &err), 0);
    int64_t t = s.total;
    if (version) *version = s.version;
    inc_msg_free(&counter_counter_state_desc, &s);
    return t;
}

void th_event(inc_stored_event *ev, const char *id, int64_t version) {
    memset(ev, 0, sizeof *ev);
    assert_int_equal(inc_uuid_v4(ev->event_id, NULL), 0);
    ev->aggregate_type = "Counter";
    ev->aggregate_id = id;
    ev->version = version;
    ev->event_type = "Added";
    ev->data = "{\"amount\":1}";
    ev->metadata = "{}";
    ev->event_date = inc_timestamp_now();
}

inc_commit th_commit(const char *id, const inc_stored_event *ev, size_t n) {
    inc_commit c;
    memset(&c, 0, sizeof c);
    c.aggregate = &counter_counter_type;
    c.aggregate_id = id;
    c.n_events = n;
    c.events = ev;
    return c;
}
