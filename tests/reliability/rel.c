/* rel.c - see rel.h. */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "bank.h"
#include "rel.h"

const char *rel_db(void) {
    const char *db = getenv("INCIDENT_DB");
    if (!db || !*db)
        fail_msg("INCIDENT_DB is not set: the reliability tests need a real "
                 "PostgreSQL (scripts/pg start DIR; . DIR/env)");
    return db;
}

double rel_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void quiet(void *ud, const char *msg) {
    (void)ud;
    (void)msg;
}

static PGconn *connect_raw(const char *conninfo) {
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect (%s): %s", conninfo, PQerrorMessage(c));
        PQfinish(c);
        fail();
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

int rel_exec(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "SQL failed: %s\n  %s", sql, PQresultErrorMessage(r));
        rc = -1;
    }
    PQclear(r);
    return rc;
}

void rel_schema_create(const char *db, const char *tag, char out[64]) {
    static unsigned n; /* test-only counter */
    snprintf(out, 64, "rel_%s_%ld_%u", tag, (long)getpid(), ++n);
    PGconn *c = connect_raw(db);
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE SCHEMA \"%s\"", out);
    assert_int_equal(rel_exec(c, sql), 0);
    PQfinish(c);
}

void rel_schema_drop(const char *db, const char *schema) {
    PGconn *c = connect_raw(db);
    char sql[160];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema);
    assert_int_equal(rel_exec(c, sql), 0);
    PQfinish(c);
}

PGconn *rel_conn(const char *db, const char *schema) {
    size_t n = strlen(db) + strlen(schema) + 64;
    char *ci = malloc(n);
    assert_non_null(ci);
    snprintf(ci, n, "%s options='-csearch_path=%s'", db, schema);
    PGconn *c = connect_raw(ci);
    free(ci);
    return c;
}

int64_t rel_q_int(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "SQL failed: %s\n  %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    int64_t v = 0;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* ---- apps ---- */

inc_app *rel_app_open(const char *db, const char *schema, bool saga,
                      inc_error *err) {
    inc_pg_options o = {.conninfo = db, .schema = schema};
    inc_store *s = inc_pg_store_open(&o, err);
    if (!s) return NULL;
    inc_app *app = inc_app_new(&bank_domain, s, err);
    if (!app) {
        inc_store_close(s);
        return NULL;
    }
    /* Ten accounts shared by eight writers: contention is the point, so
     * give the optimistic retries room (every conflict is still counted). */
    inc_app_set_max_retries(app, 200);
    inc_app_set_max_backoff(app, 20000);
    if (!saga) inc_app_drop_reactions(app);
    return app;
}

void rel_app_close(inc_app *app) {
    if (!app) return;
    inc_store *s = inc_app_store(app);
    inc_app_free(app);
    inc_store_close(s);
}

int rel_open_account(inc_app *app, const char *id, inc_error *err) {
    bank_open_account c;
    inc_msg_init(&bank_open_account_desc, &c);
    c.aggregate_id = (char *)id;
    return inc_dispatch(app, &bank_open_account_desc, &c, NULL, err);
}

int rel_deposit_r(inc_app *app, const char *id, int64_t amount, inc_result *res,
                  inc_error *err) {
    bank_deposit_money c;
    inc_msg_init(&bank_deposit_money_desc, &c);
    c.aggregate_id = (char *)id;
    c.amount = amount;
    return inc_dispatch(app, &bank_deposit_money_desc, &c, res, err);
}

int rel_withdraw_r(inc_app *app, const char *id, int64_t amount, inc_result *res,
                   inc_error *err) {
    bank_withdraw_money c;
    inc_msg_init(&bank_withdraw_money_desc, &c);
    c.aggregate_id = (char *)id;
    c.amount = amount;
    return inc_dispatch(app, &bank_withdraw_money_desc, &c, res, err);
}

int rel_deposit(inc_app *app, const char *id, int64_t amount, inc_error *err) {
    return rel_deposit_r(app, id, amount, NULL, err);
}

int rel_withdraw(inc_app *app, const char *id, int64_t amount, inc_error *err) {
    return rel_withdraw_r(app, id, amount, NULL, err);
}

int rel_transfer(inc_app *app, const char *tid, const char *from,
                 const char *to, int64_t amount, inc_result *res,
                 inc_error *err) {
    bank_request_transfer c;
    inc_msg_init(&bank_request_transfer_desc, &c);
    c.aggregate_id = (char *)tid;
    c.source_account_number = (char *)from;
    c.destination_account_number = (char *)to;
    c.amount = amount;
    return inc_dispatch(app, &bank_request_transfer_desc, &c, res, err);
}

/* ---- checks ---- */

int rel_verify_streams(PGconn *c) {
    /* A stream is consistent when its versions are exactly 1..N. */
    PGresult *r = PQexec(c,
        "SELECT aggregate_type, aggregate_id, count(*), count(DISTINCT version), "
        "min(version), max(version) FROM events GROUP BY 1, 2 "
        "HAVING min(version) <> 1 OR max(version) <> count(*) "
        "OR count(DISTINCT version) <> count(*)");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "verify_streams: %s", PQresultErrorMessage(r));
        PQclear(r);
        return 1;
    }
    int bad = PQntuples(r);
    for (int i = 0; i < bad; i++)
        fprintf(stderr,
                "PROBLEM: stream %s/%s: %s events, %s distinct versions, "
                "versions %s..%s (gap or duplicate)\n",
                PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
    PQclear(r);
    return bad;
}

typedef struct replay {
    const inc_aggregate_desc *a;
    void *state;
    int failed;
    inc_error err;
} replay;

static int replay_cb(void *ud, const inc_recorded_event *ev, inc_error *err) {
    replay *rp = ud;
    if (inc_state_apply(rp->a, rp->state, ev->desc, ev->data, ev->version,
                        ev->event_date, err) != 0) {
        rp->failed = 1;
        return -1;
    }
    return 0;
}

typedef struct row_got {
    const inc_projection_desc *p;
    json_t *row;
    int64_t version;
} row_got;

static int row_cb(void *ud, const void *row, const inc_row_meta *meta,
                  inc_error *err) {
    (void)err;
    row_got *g = ud;
    g->row = inc_msg_to_json(g->p->row, row, 0);
    g->version = meta->version;
    return 0;
}

static bool json_same(json_t *a, json_t *b) { return a && b && json_equal(a, b); }

/* One stream: replay (no snapshot) == inc_app_state; every projection row
 * == project(replay).  Returns the number of problems. */
static int verify_one(inc_app *app, const inc_aggregate_desc *a,
                      const char *id) {
    int bad = 0;
    inc_error err;
    inc_error_clear(&err);
    void *full = malloc(a->state->size), *cur = malloc(a->state->size);
    assert_non_null(full);
    assert_non_null(cur);
    replay rp = {a, full, 0, {INC_OK, "", ""}};
    if (inc_state_init(a, full, id, &err) != 0 ||
        inc_app_read_stream(app, a, id, replay_cb, &rp, &err) != 0) {
        fprintf(stderr, "PROBLEM: %s %s: replay failed: %s\n", a->name, id,
                err.message);
        bad++;
    }
    if (inc_app_state(app, a, id, cur, &err) != 0) {
        fprintf(stderr, "PROBLEM: %s %s: state failed: %s\n", a->name, id,
                err.message);
        bad++;
    }
    json_t *jf = inc_msg_to_json(a->state, full, 0);
    json_t *jc = inc_msg_to_json(a->state, cur, 0);
    if (!bad && !json_same(jf, jc)) {
        char *x = json_dumps(jf, JSON_COMPACT), *y = json_dumps(jc, JSON_COMPACT);
        fprintf(stderr, "PROBLEM: %s %s: replay %s != state %s\n", a->name, id,
                x, y);
        free(x);
        free(y);
        bad++;
    }
    int64_t version = json_integer_value(json_object_get(jf, "version"));
    for (size_t i = 0; !bad && i < a->n_projections; i++) {
        const inc_projection_desc *p = a->projections[i];
        void *want = malloc(p->row->size);
        assert_non_null(want);
        inc_msg_init(p->row, want);
        if (p->project(full, want, &err) != 0) {
            fprintf(stderr, "PROBLEM: %s %s: project %s: %s\n", a->name, id,
                    p->name, err.message);
            bad++;
        } else {
            /* the runtime fills aggregate_id when project leaves it NULL */
            json_t *jw = inc_msg_to_json(p->row, want, 0);
            json_object_set_new(jw, "aggregate_id", json_string(id));
            row_got g = {p, NULL, 0};
            bool found = false;
            if (inc_store_projection_get(inc_app_store(app), p, id, row_cb, &g,
                                         &found, &err) != 0) {
                fprintf(stderr, "PROBLEM: %s %s: read %s: %s\n", a->name, id,
                        p->name, err.message);
                bad++;
            } else if (!found) {
                fprintf(stderr,
                        "PROBLEM: %s %s has %lld events but no %s row "
                        "(event without its projection)\n",
                        a->name, id, (long long)version, p->name);
                bad++;
            } else if (!json_same(jw, g.row) || g.version != version) {
                char *x = json_dumps(jw, JSON_COMPACT);
                char *y = json_dumps(g.row, JSON_COMPACT);
                fprintf(stderr,
                        "PROBLEM: %s %s: %s row %s (version %lld) != replay "
                        "%s (version %lld)\n",
                        a->name, id, p->name, y, (long long)g.version, x,
                        (long long)version);
                free(x);
                free(y);
                bad++;
            }
            json_decref(jw);
            json_decref(g.row);
        }
        inc_msg_free(p->row, want);
        free(want);
    }
    json_decref(jf);
    json_decref(jc);
    inc_msg_free(a->state, full);
    inc_msg_free(a->state, cur);
    free(full);
    free(cur);
    return bad;
}

int rel_verify_replay(PGconn *c, inc_app *app, int64_t *streams_checked) {
    int bad = 0;
    int64_t n = 0;
    const inc_domain *d = inc_app_domain(app);
    for (size_t k = 0; k < d->n_aggregates; k++) {
        const inc_aggregate_desc *a = d->aggregates[k];
        const char *params[1] = {a->name};
        PGresult *r = PQexecParams(c,
            "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = $1 "
            "ORDER BY 1", 1, NULL, params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) bad += verify_one(app, a, PQgetvalue(r, i, 0));
        n += rows;
        PQclear(r);
        /* No row without a stream (a projection row of a rolled-back
         * command would be one). */
        for (size_t i = 0; i < a->n_projections; i++) {
            char sql[512];
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM \"%s\" p WHERE NOT EXISTS (SELECT 1 "
                     "FROM events e WHERE e.aggregate_type = '%s' AND "
                     "e.aggregate_id = p.aggregate_id)",
                     a->projections[i]->name, a->name);
            int64_t orphans = rel_q_int(c, sql);
            if (orphans) {
                fprintf(stderr, "PROBLEM: %lld %s rows without events\n",
                        (long long)orphans, a->projections[i]->name);
                bad++;
            }
        }
    }
    if (streams_checked) *streams_checked = n;
    return bad;
}

static int64_t sum_of(PGconn *c, const char *event) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum((data->>'amount')::bigint), 0) FROM events "
             "WHERE aggregate_type = 'Account' AND event_type = '%s'", event);
    return rel_q_int(c, sql);
}

int rel_verify_money(PGconn *c, int64_t *balance_sum, int64_t *in_flight) {
    int bad = 0;
    int64_t bal = rel_q_int(c, "SELECT coalesce(sum(balance), 0) FROM bank_accounts");
    int64_t dep = sum_of(c, "MoneyDeposited"), wd = sum_of(c, "MoneyWithdrawn");
    int64_t sent = sum_of(c, "MoneySent"), recv = sum_of(c, "MoneyReceived");
    int64_t back = sum_of(c, "MoneySentReverted");
    int64_t flight = sent - recv - back;
    if (bal != dep - wd - flight) {
        fprintf(stderr,
                "PROBLEM: balances sum to %lld, but deposits %lld - "
                "withdrawals %lld - in flight %lld = %lld\n",
                (long long)bal, (long long)dep, (long long)wd,
                (long long)flight, (long long)(dep - wd - flight));
        bad++;
    }
    /* A transfer's money moves at most once per step. */
    int64_t dups = rel_q_int(c,
        "SELECT count(*) FROM (SELECT event_type, data->>'transfer_id' FROM events "
        "WHERE event_type IN ('MoneySent', 'MoneyReceived', 'MoneySentReverted') "
        "GROUP BY 1, 2 HAVING count(*) > 1) d");
    if (dups) {
        fprintf(stderr, "PROBLEM: %lld transfer steps moved money twice\n",
                (long long)dups);
        bad++;
    }
    if (balance_sum) *balance_sum = bal;
    if (in_flight) *in_flight = flight;
    return bad;
}

int64_t rel_count_unfinished(PGconn *c) {
    return rel_q_int(c,
        "SELECT count(*) FROM transfers WHERE status IS NULL OR status NOT IN "
        "('completed', 'cancelled')");
}

int rel_verify_transfers(PGconn *c) {
    int bad = 0;
    /* per transfer: how often each money step happened */
    static const char *const q =
        "WITH t AS (SELECT aggregate_id, status FROM transfers), "
        "m AS (SELECT data->>'transfer_id' AS tid, "
        "  count(*) FILTER (WHERE event_type = 'MoneySent') AS sent, "
        "  count(*) FILTER (WHERE event_type = 'MoneyReceived') AS recv, "
        "  count(*) FILTER (WHERE event_type = 'MoneySentReverted') AS back "
        "  FROM events WHERE aggregate_type = 'Account' AND data ? 'transfer_id' "
        "  GROUP BY 1) "
        "SELECT t.aggregate_id, t.status, coalesce(m.sent, 0), "
        "coalesce(m.recv, 0), coalesce(m.back, 0) FROM t LEFT JOIN m "
        "ON m.tid = t.aggregate_id WHERE NOT ("
        " (t.status = 'completed' AND coalesce(m.sent, 0) = 1 AND "
        "  coalesce(m.recv, 0) = 1 AND coalesce(m.back, 0) = 0) OR "
        " (t.status = 'cancelled' AND coalesce(m.recv, 0) = 0 AND "
        "  coalesce(m.sent, 0) = coalesce(m.back, 0) AND coalesce(m.sent, 0) <= 1))";
    PGresult *r = PQexec(c, q);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(r); i++) {
        fprintf(stderr,
                "PROBLEM: transfer %s status %s: sent %s, received %s, "
                "given back %s\n",
                PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
        bad++;
    }
    PQclear(r);
    /* money of a transfer nobody knows about */
    int64_t stray = rel_q_int(c,
        "SELECT count(*) FROM events e WHERE e.aggregate_type = 'Account' AND "
        "e.data ? 'transfer_id' AND NOT EXISTS (SELECT 1 FROM transfers t "
        "WHERE t.aggregate_id = e.data->>'transfer_id')");
    if (stray) {
        fprintf(stderr, "PROBLEM: %lld money events of unknown transfers\n",
                (long long)stray);
        bad++;
    }
    return bad;
}

int rel_verify_all(PGconn *c, inc_app *app, const char *label) {
    int64_t streams = 0, bal = 0, flight = 0;
    int bad = rel_verify_streams(c);
    bad += rel_verify_replay(c, app, &streams);
    bad += rel_verify_money(c, &bal, &flight);
    int64_t events = rel_q_int(c, "SELECT count(*) FROM events");
    printf("[%s] %lld events in %lld streams checked: %s (balances %lld, in "
           "flight %lld)\n",
           label, (long long)events, (long long)streams,
           bad ? "PROBLEMS" : "consistent", (long long)bal, (long long)flight);
    fflush(stdout);
    return bad;
}
