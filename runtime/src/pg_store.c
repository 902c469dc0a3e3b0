/* pg_store.c - the PostgreSQL event + projection store (libpq).
 *
 * Round trips are the cost that matters, so:
 *   - statements are prepared once per connection (the fixed ones at
 *     connect time, projection upserts lazily inside the first commit that
 *     needs them, in the same pipeline);
 *   - load is ONE statement (snapshot + later events) read in single-row
 *     mode, so client memory does not grow with the stream's history;
 *   - commit is ONE pipeline (libpq pipeline mode): the event INSERTs, the
 *     projection upserts and the snapshot upsert, closed by a single Sync:
 *     one implicit transaction, one round trip (the optional pg_notify
 *     follows in the same pipeline, in a transaction of its own);
 *   - a batch's loads (load_many) and commits (commit_many) are one
 *     pipeline each, whatever the number of streams (loads: one per
 *     LOAD_MANY_BYTES of requests); commit_many writes the events of
 *     distinct streams with ONE multi-row INSERT and each projection's rows
 *     with one upsert (commit_multirow, pg_multirow.c);
 *   - loads are read in binary (no printing of ids, dates, integers).
 * Only parameterised SQL; identifiers come from the descriptors.  A lost
 * connection is INC_ERR_UNAVAILABLE and the next call reconnects (a load
 * that finds the connection dead before reading anything reconnects and
 * retries once, since reading is harmless). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include <incident/store.h>

#include "internal.h"
#include "pg_internal.h"
#include "query_internal.h"
#include "store_util.h"

#define STREAM_VERSION_CONSTRAINT "events_stream_version"
#define COMMAND_ID_CONSTRAINT "command_ids_pkey"
#define NOTIFY_CHANNEL "incident_events"
#define REBUILD_BATCH "1000"

/* Fixed statements, prepared on every new connection. */
enum {
    ST_LOAD,
    ST_INSERT,
    ST_INSERT_GUARDED,
    ST_SNAPSHOT,
    ST_NOTIFY_AFTER,
    ST_STREAM,
    ST_ALL,
    ST_INSERT_MANY,
    ST_COUNT
};

#define EVENT_COLUMNS                                                          \
    "position, event_id::text, aggregate_type, aggregate_id, version, "        \
    "event_type, data::text, metadata::text, event_date, schema_version"

/* `citus`/`citus_n`: the form used on a distributed store (NULL: the same
 * statement), see docs/scale-out.md. */
static const struct {
    const char *name, *sql;
    int n;
    const char *citus;
    int citus_n;
} fixed[ST_COUNT] = {
    {"inc_load",
     /* The snapshot row (kind 0) first, then the events after it (their
      * metadata only if $6: folding does not read it); one statement, so
      * one consistent view of the stream.  Read in binary (load_row): the
      * server then sends the uuid, the date and the integers as they are
      * stored instead of printing them, a third of the statement's work
      * (docs/performance.md, "Cold path"). */
     "WITH s AS (SELECT version, state FROM snapshots WHERE aggregate_type = "
     "$1 AND aggregate_id = $2 AND layout_hash = $3::int8 AND $4::bool) "
     "SELECT 0 AS kind, s.version::int8, NULL::uuid, NULL::text, "
     "s.state::text, NULL::text, NULL::timestamptz, NULL::int8, NULL::int4 "
     "FROM s UNION ALL SELECT 1, e.version, e.event_id, e.event_type, "
     "e.data::text, CASE WHEN $6::bool THEN e.metadata::text END, "
     "e.event_date, e.position, e.schema_version FROM events e "
     "WHERE e.aggregate_type = $1 AND e.aggregate_id = $2 AND e.version > "
     "GREATEST((SELECT version FROM s), $5::int8) ORDER BY 1, 2",
     6, NULL, 0},
    {"inc_insert",
     "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, "
     "event_type, data, metadata, event_date, schema_version) VALUES "
     "($1::uuid, $2, $3, $4::int4, $5, $6::jsonb, $7::jsonb, "
     "$8::timestamptz, $9::int4) RETURNING position",
     9, NULL, 0},
    /* inc_insert whose version is NULL, so the NOT NULL constraint aborts
     * the transaction, unless the stream ends with event $10 at the version
     * before (inc_commit.expect_event_id). */
    {"inc_insert_guarded",
     "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, "
     "event_type, data, metadata, event_date, schema_version) VALUES "
     "($1::uuid, $2, $3, CASE "
     "WHEN EXISTS (SELECT 1 FROM events WHERE aggregate_type = $2 AND "
     "aggregate_id = $3 AND version = $4::int4 - 1 AND event_id = $10::uuid) "
     "AND NOT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $2 AND "
     "aggregate_id = $3 AND version >= $4::int4) "
     "THEN $4::int4 END, $5, $6::jsonb, $7::jsonb, $8::timestamptz, "
     "$9::int4) RETURNING position",
     10,
     /* Citus refuses subqueries in INSERT ... VALUES, and pushes an INSERT
      * ... SELECT down whole, so the defaults (transaction_id, position)
      * would be the worker's, not the coordinator's.  So the guard is a
      * statement of its own, before a plain inc_insert in the same
      * transaction: it divides by zero, failing the transaction, unless
      * the stream ends with event $4 at version $3 - 1 (a concurrent
      * append after it still meets the unique version key).  Router
      * executed: it reads one stream. */
     "SELECT 1 / coalesce(bool_or(version = $3::int4 - 1 AND event_id = "
     "$4::uuid) AND NOT bool_or(version >= $3::int4), false)::int FROM events "
     "WHERE aggregate_type = $1 AND aggregate_id = $2 AND version >= "
     "$3::int4 - 1",
     4},
    {"inc_snapshot",
     "INSERT INTO snapshots (aggregate_type, aggregate_id, version, state, "
     "layout_hash) VALUES ($1, $2, $3::int8, $4::jsonb, $5::int8) ON "
     "CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET version = "
     "EXCLUDED.version, state = EXCLUDED.state, layout_hash = "
     "EXCLUDED.layout_hash, taken_at = now() WHERE snapshots.version < "
     "EXCLUDED.version OR snapshots.layout_hash <> EXCLUDED.layout_hash",
     5, NULL, 0},
    /* After a commit, in its own transaction (see queue_notifications): only if the
     * event is there, and without waiting for a flush. */
    {"inc_notify_after",
     "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, "
     "$2) FROM events WHERE event_id = $3::uuid",
     3,
     /* pg_notify must run on the coordinator (its listeners are there):
      * no FROM here; the existence check is a router subquery */
     "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, "
     "$2) WHERE EXISTS (SELECT 1 FROM events WHERE aggregate_id = $4 AND "
     "event_id = $3::uuid)",
     4},
    {"inc_stream",
     "SELECT " EVENT_COLUMNS " FROM events WHERE aggregate_type = $1 AND "
     "aggregate_id = $2 AND version > $3::int8 ORDER BY version",
     3, NULL, 0},
    {"inc_all",
     "SELECT " EVENT_COLUMNS " FROM events WHERE position > $1::int8 AND "
     "($2::text IS NULL OR aggregate_type = $2) ORDER BY position",
     2, NULL, 0},
    /* A group's events in one statement (commit_multirow; pg_multirow.c
     * writes $1): each row as inc_insert, inserted in the order o (so
     * positions follow the versions of each stream); where it carries x,
     * guarded as inc_insert_guarded is: the stream's last event must be x
     * at the version before.  The guard is a scalar subquery, one probe
     * of events_stream_version per row: as EXISTS, the planner may make
     * it a hashed subplan that reads the whole table (seen on a store
     * that was not analyzed yet: 640 us of server CPU per command). */
    {"inc_insert_many",
     "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, "
     "event_type, data, metadata, event_date, schema_version) SELECT e.i, "
     "e.t, e.a, CASE WHEN e.x IS NULL OR (SELECT p.version = e.v - 1 AND "
     "p.event_id = e.x FROM events p WHERE p.aggregate_type = e.t AND "
     "p.aggregate_id = e.a ORDER BY p.version DESC LIMIT 1) THEN e.v END, "
     "e.y, e.d, e.m, e.ts, e.s FROM "
     "jsonb_to_recordset($1::jsonb) AS e(i uuid, t text, a text, v int4, y "
     "text, d jsonb, m jsonb, ts timestamptz, s int4, o int8, x uuid) ORDER "
     "BY e.o RETURNING position, event_id::text",
     1,
     /* never used on Citus (no commit_many there) */
     "SELECT $1::jsonb", 1},
};

/* The event store's own tables, version 1 (see docs/runtime.md for how a
 * later version upgrades). */
static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS events (\n"
    "    position bigserial PRIMARY KEY,\n"
    "    event_id uuid NOT NULL UNIQUE,\n"
    "    aggregate_type text NOT NULL,\n"
    "    aggregate_id text NOT NULL,\n"
    "    version int NOT NULL CHECK (version > 0),\n"
    "    event_type text NOT NULL,\n"
    "    data jsonb NOT NULL,\n"
    "    metadata jsonb NOT NULL DEFAULT '{}',\n"
    "    event_date timestamptz NOT NULL,\n"
    "    CONSTRAINT " STREAM_VERSION_CONSTRAINT
    " UNIQUE (aggregate_type, aggregate_id, version)\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS events_type_position ON events "
    "(aggregate_type, position);\n"
    "CREATE TABLE IF NOT EXISTS snapshots (\n"
    "    aggregate_type text NOT NULL,\n"
    "    aggregate_id text NOT NULL,\n"
    "    version bigint NOT NULL CHECK (version > 0),\n"
    "    state jsonb NOT NULL,\n"
    "    layout_hash bigint NOT NULL,\n"
    "    taken_at timestamptz NOT NULL DEFAULT now(),\n"
    "    PRIMARY KEY (aggregate_type, aggregate_id)\n"
    ");\n";

/* A projection's upsert statement on the current connection. */
typedef enum { PREP_NO, PREP_QUEUED, PREP_READY } prep_state;
typedef struct prep_slot {
    char *projection;
    prep_state state;
} prep_slot;

typedef struct pg_store {
    inc_store base;
    PGconn *conn;
    char *conninfo;
    char *schema;
    bool fixed_ready;   /* the fixed statements are prepared */
    bool notify;        /* inc_pg_store_set_notify */
    bool cmd_ready;     /* the command-id INSERT is prepared */
    bool citus;         /* the citus extension is in the database */
    size_t n_prep, cap_prep;
    prep_slot *prepared; /* projection upserts; slot i is "inc_up_<i>" */
} pg_store;

/* ---- errors ---- */
/* (on a connection rather than the store, so pg_log.c maps its errors the
 * same way) */

bool incx_pg_conn_lost(const PGconn *conn) {
    return !conn || PQstatus(conn) != CONNECTION_OK;
}

static bool conn_lost(const pg_store *s) { return incx_pg_conn_lost(s->conn); }

/* Whether a failure means the session is gone (server shutdown, admin
 * termination, network). */
bool incx_pg_disconnected(const PGconn *conn, const PGresult *res) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* A failed result without SQLSTATE was made by libpq, not the server:
     * the session broke.  After a server restart, a write to the dead
     * socket is only noticed when the result is read ("server closed the
     * connection unexpectedly"), while PQstatus still says CONNECTION_OK. */
    if (res && !state && PQresultStatus(res) == PGRES_FATAL_ERROR) return true;
    return incx_pg_conn_lost(conn) ||
           (state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                      strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0));
}

static bool disconnected(const pg_store *s, const PGresult *res) {
    return incx_pg_disconnected(s->conn, res);
}

/* Whether `got` names relation `name`, or a Citus shard of it: a
 * worker's error names the shard ("events_102008",
 * "events_stream_version_102008"). */
static bool names_relation(const char *got, const char *name) {
    size_t n = strlen(name);
    if (!got || strncmp(got, name, n) != 0) return false;
    if (got[n] == '\0') return true;
    if (got[n] != '_' || got[n + 1] == '\0') return false;
    for (const char *p = got + n + 1; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

/* Citus passes a worker's error on without its fields (constraint,
 * table): the constraint's name is then the message's first quoted
 * name, e.g. `duplicate key value violates unique constraint
 * "events_stream_version_102008"`.  NULL when there is none. */
#define NAMEDATALEN_MAX 128
static const char *quoted_name(const char *msg, char out[NAMEDATALEN_MAX]) {
    const char *a = msg ? strchr(msg, '"') : NULL;
    const char *b = a ? strchr(a + 1, '"') : NULL;
    if (!b || (size_t)(b - a - 1) >= NAMEDATALEN_MAX) return NULL;
    memcpy(out, a + 1, (size_t)(b - a - 1));
    out[b - a - 1] = '\0';
    return out;
}

/* Map a failed result (may be NULL) to an inc_error. */
int incx_pg_error(const PGconn *conn, const PGresult *res, const char *what,
                 inc_error *err) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !*msg) msg = conn ? PQerrorMessage(conn) : "no connection";
    char clean[INC_ERROR_MESSAGE_MAX];
    snprintf(clean, sizeof clean, "%s", msg);
    size_t n = strlen(clean);
    while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == ' '))
        clean[--n] = '\0';
    if (incx_pg_disconnected(conn, res))
        return inc_error_set(err, INC_ERR_UNAVAILABLE, "unavailable",
                             "%s: database unavailable: %s", what, clean);
    if (state && strcmp(state, "23505") == 0) {
        char from_msg[NAMEDATALEN_MAX];
        const char *c = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        if (!c) c = quoted_name(msg, from_msg);
        if (names_relation(c, STREAM_VERSION_CONSTRAINT))
            return inc_error_set(err, INC_ERR_CONFLICT, "conflict",
                                 "%s: a concurrent writer took this version",
                                 what);
        if (names_relation(c, COMMAND_ID_CONSTRAINT))
            return inc_error_set(err, INC_ERR_CONFLICT, "command_id_exists",
                                 "%s: command id already recorded", what);
    }
    if (state && strcmp(state, "23502") == 0) {
        const char *t = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
        const char *c = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
        if (names_relation(t, "events") && c && strcmp(c, "version") == 0)
            return inc_error_set(err, INC_ERR_CONFLICT, "conflict",
                                 "%s: the stream changed since it was read",
                                 what);
    }
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        return inc_error_set(err, INC_ERR_CONFLICT, "conflict", "%s: %s", what,
                             clean);
    /* a missing table, or a missing column: a store or projection table
     * older than the program (init upgrades both, docs/evolution.md) */
    if (state && (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0))
        return inc_error_set(err, INC_ERR_INTERNAL, "not_initialised",
                             "%s: %s (run `init` first)", what, clean);
    if (state && strncmp(state, "22", 2) == 0)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_value", "%s: %s",
                             what, clean);
    return inc_error_set(err, INC_ERR_INTERNAL, "database", "%s: %s", what,
                         clean);
}

static int pg_error(pg_store *s, const PGresult *res, const char *what,
                    inc_error *err) {
    return incx_pg_error(s->conn, res, what, err);
}

static int oom(inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

/* ---- connection ---- */

static void forget_prepared(pg_store *s) {
    for (size_t i = 0; i < s->n_prep; i++) s->prepared[i].state = PREP_NO;
    s->fixed_ready = false;
    s->cmd_ready = false;
}

/* Close the connection, whatever state it is in (a half-sent pipeline is
 * abandoned: the server rolls back what was not synced); the next call
 * reconnects and prepares again. */
static void drop_conn(pg_store *s) {
    if (s->conn) PQfinish(s->conn);
    s->conn = NULL;
    forget_prepared(s);
}

/* Read the results of `n` pipelined commands and the Sync that closes them.
 * The first failure is reported; `on_result(i, res)` sees each successful
 * result.  Leaves pipeline mode. */
typedef int (*pipe_result_fn)(void *ud, int i, const PGresult *res,
                              inc_error *err);

static int pipe_read(pg_store *s, int n, const char *what,
                     pipe_result_fn on_result, void *ud, inc_error *err) {
    int rc = 0;
    bool have_err = false;
    for (int i = 0; i < n; i++) {
        PGresult *res = PQgetResult(s->conn);
        if (!res) {
            if (!have_err) pg_error(s, NULL, what, err);
            have_err = true;
            rc = -1;
            if (conn_lost(s)) return -1;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (on_result && on_result(ud, i, res, err) != 0 && !have_err) {
                have_err = true;
                rc = -1;
            }
        } else if (st != PGRES_PIPELINE_ABORTED) {
            if (!have_err) pg_error(s, res, what, err);
            have_err = true;
            rc = -1;
        }
        PQclear(res);
        if (conn_lost(s)) {
            if (!have_err) pg_error(s, NULL, what, err);
            return -1;
        }
        /* each command's results end with a NULL */
        while ((res = PQgetResult(s->conn)) != NULL) PQclear(res);
    }
    PGresult *res = PQgetResult(s->conn);
    if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
        if (!have_err) pg_error(s, res, what, err);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* pipe_read, then leave pipeline mode. */
static int pipe_finish(pg_store *s, int n, const char *what,
                       pipe_result_fn on_result, void *ud, inc_error *err) {
    int rc = pipe_read(s, n, what, on_result, ud, err);
    if (conn_lost(s)) return rc; /* read whole, or failed with err set */
    if (PQexitPipelineMode(s->conn) != 1) {
        if (rc == 0) pg_error(s, NULL, what, err);
        rc = -1;
    }
    return rc;
}

static const char *fixed_sql(const pg_store *s, int i) {
    return s->citus && fixed[i].citus ? fixed[i].citus : fixed[i].sql;
}

static int fixed_n(const pg_store *s, int i) {
    return s->citus && fixed[i].citus ? fixed[i].citus_n : fixed[i].n;
}

/* Prepare the fixed statements (a missing table is not an error here:
 * `init` has not run yet). */
static int prepare_fixed(pg_store *s, inc_error *err) {
    if (s->fixed_ready) return 0;
    if (PQenterPipelineMode(s->conn) != 1) return pg_error(s, NULL, "prepare", err);
    for (int i = 0; i < ST_COUNT; i++)
        if (PQsendPrepare(s->conn, fixed[i].name, fixed_sql(s, i),
                          fixed_n(s, i), NULL) != 1) {
            pg_error(s, NULL, "prepare", err);
            PQpipelineSync(s->conn);
            pipe_finish(s, i, "prepare", NULL, NULL, NULL);
            return -1;
        }
    if (PQpipelineSync(s->conn) != 1) return pg_error(s, NULL, "prepare", err);
    if (pipe_finish(s, ST_COUNT, "prepare", NULL, NULL, err) != 0) return -1;
    s->fixed_ready = true;
    return 0;
}

static int session_setup(pg_store *s, inc_error *err) {
    /* UTC + ISO dates so timestamps come back parseable; shortest exact
     * float output. */
    static const char *const sql =
        "SELECT set_config('TimeZone', 'UTC', false), "
        "set_config('DateStyle', 'ISO, YMD', false), "
        "set_config('extra_float_digits', '3', false), "
        "set_config('search_path', CASE WHEN $1::text IS NULL THEN "
        "current_setting('search_path') ELSE quote_ident($1) END, false), "
        /* a few statements take another form on Citus (fixed[]) */
        "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')";
    const char *vals[1] = {s->schema};
    PGresult *res = PQexecParams(s->conn, sql, 1, NULL, vals, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) rc = pg_error(s, res, "connect", err);
    else s->citus = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    PQclear(res);
    return rc;
}

static void quiet_notices(void *ud, const char *message) {
    (void)ud;
    (void)message;
}

static int pg_connect(pg_store *s, inc_error *err) {
    drop_conn(s);
    s->conn = PQconnectdb(s->conninfo ? s->conninfo : "");
    if (!s->conn) return oom(err);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        int rc = pg_error(s, NULL, "connect", err);
        drop_conn(s);
        return rc;
    }
    /* "already exists, skipping" and the like are not for the caller's
     * stderr. */
    PQsetNoticeProcessor(s->conn, quiet_notices, NULL);
    if (session_setup(s, err) != 0) return -1;
    inc_error ignore;
    if (prepare_fixed(s, &ignore) != 0 && conn_lost(s))
        return pg_error(s, NULL, "connect", err);
    return 0;
}

/* Whether the server ended the idle session (restart,
 * pg_terminate_backend, idle timeout): it then sent an error and closed
 * the socket.  Seen here, before anything is sent on it, even a commit
 * can start over on a new connection.  One poll() that does not wait; the
 * usual answer is "nothing arrived". */
static void drop_if_ended(pg_store *s) {
    if (conn_lost(s)) return;
    struct pollfd p = {PQsocket(s->conn), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return;
    /* the message, then (a second read) the end of the stream */
    if (PQconsumeInput(s->conn) != 1 || PQconsumeInput(s->conn) != 1 ||
        PQstatus(s->conn) != CONNECTION_OK)
        drop_conn(s);
}

/* A usable connection with the fixed statements prepared. */
static int pg_ready(pg_store *s, inc_error *err) {
    drop_if_ended(s);
    if (conn_lost(s) && pg_connect(s, err) != 0) return -1;
    if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF) {
        /* left over from an interrupted operation: start clean */
        if (pg_connect(s, err) != 0) return -1;
    }
    return prepare_fixed(s, err);
}

static void pg_close(inc_store *base) {
    pg_store *s = (pg_store *)base;
    drop_conn(s);
    for (size_t i = 0; i < s->n_prep; i++) free(s->prepared[i].projection);
    free(s->prepared);
    free(s->conninfo);
    free(s->schema);
    free(s);
}

/* ---- text conversions ---- */

/* timestamptz as PostgreSQL prints it with DateStyle ISO and TimeZone UTC
 * ("2026-11-26 10:00:00.5+00"), or RFC 3339. */
static int parse_pg_timestamp(const char *text, inc_timestamp *out) {
    char buf[64];
    size_t n = strlen(text);
    if (n + 4 > sizeof buf) return -1;
    memcpy(buf, text, n + 1);
    if (n >= 3 && (buf[n - 3] == '+' || buf[n - 3] == '-') &&
        buf[n - 2] >= '0' && buf[n - 2] <= '9') {
        memcpy(buf + n, ":00", 4); /* "+00" -> "+00:00" */
    }
    return inc_timestamp_parse(buf, out);
}

static int parse_i64(const char *text, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end) return -1;
    *out = v;
    return 0;
}

/* One column value as a text parameter (docs/language.md: int decimal, float %.17g,
 * bool true/false, string as is, timestamp RFC 3339, enum member name). */
#define PARAM_BUF 48
static int field_param(const inc_field_desc *f, const void *row,
                       char buf[PARAM_BUF], const char **out, inc_error *err) {
    if (!inc_field_present(row, f)) {
        *out = NULL;
        return 0;
    }
    switch (f->type) {
    case INC_TYPE_INT:
        snprintf(buf, PARAM_BUF, "%" PRId64, *INC_CFIELD_AT(row, f, int64_t));
        break;
    case INC_TYPE_FLOAT:
        snprintf(buf, PARAM_BUF, "%.17g", *INC_CFIELD_AT(row, f, double));
        break;
    case INC_TYPE_BOOL:
        snprintf(buf, PARAM_BUF, "%s",
                 *INC_CFIELD_AT(row, f, bool) ? "true" : "false");
        break;
    case INC_TYPE_STRING:
        *out = *INC_CFIELD_AT(row, f, char *);
        return incx_store_check_text(*out, f->name, err);
    case INC_TYPE_TIMESTAMP:
        if (inc_timestamp_format(*INC_CFIELD_AT(row, f, int64_t), buf) != 0)
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: timestamp out of range", f->name);
        break;
    case INC_TYPE_ENUM: {
        int v = *INC_CFIELD_AT(row, f, int);
        if (!f->enum_desc || v < 0 || (size_t)v >= f->enum_desc->n_members)
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: enum value %d out of range", f->name, v);
        *out = f->enum_desc->members[v];
        return 0;
    }
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST: /* jsonb text, owned: see row_params_make */
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "%s: not a scalar column", f->name);
    }
    *out = buf;
    return 0;
}

/* Fill one field of a row from a column's text (NULL = absent). */
static int field_from_text(const inc_field_desc *f, void *row,
                           const char *text, inc_error *err) {
    bool *has = inc_field_has_ptr(row, f);
    if (!text) {
        if (has) *has = false;
        return 0;
    }
    switch (f->type) {
    case INC_TYPE_INT:
        if (parse_i64(text, INC_FIELD_AT(row, f, int64_t)) != 0) goto bad;
        break;
    case INC_TYPE_FLOAT: {
        char *end;
        *INC_FIELD_AT(row, f, double) = strtod(text, &end);
        if (end == text || *end) goto bad;
        break;
    }
    case INC_TYPE_BOOL:
        if (strcmp(text, "t") == 0 || strcmp(text, "true") == 0)
            *INC_FIELD_AT(row, f, bool) = true;
        else if (strcmp(text, "f") == 0 || strcmp(text, "false") == 0)
            *INC_FIELD_AT(row, f, bool) = false;
        else goto bad;
        break;
    case INC_TYPE_STRING: {
        char *copy = inc_strdup(text);
        if (!copy) return oom(err);
        free(*INC_FIELD_AT(row, f, char *));
        *INC_FIELD_AT(row, f, char *) = copy;
        break;
    }
    case INC_TYPE_TIMESTAMP:
        if (parse_pg_timestamp(text, INC_FIELD_AT(row, f, int64_t)) != 0)
            goto bad;
        break;
    case INC_TYPE_ENUM: {
        size_t i;
        if (!f->enum_desc) goto bad;
        for (i = 0; i < f->enum_desc->n_members; i++)
            if (strcmp(f->enum_desc->members[i], text) == 0) break;
        if (i == f->enum_desc->n_members) goto bad;
        *INC_FIELD_AT(row, f, int) = (int)i;
        break;
    }
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST: { /* a jsonb column; refused = an altered table */
        inc_error e;
        if (incx_field_from_text(f, row, text, &e) == 0) return 0;
        if (e.kind == INC_ERR_INTERNAL)
            return inc_error_set(err, e.kind, e.code, "%s", e.message);
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                             "column %s: %s", f->name, e.message);
    }
    }
    if (has) *has = true;
    return 0;
bad:
    return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                         "column %s: unexpected value \"%.80s\"", f->name,
                         text);
}

/* ---- single-row streaming ---- */

typedef int (*row_fn)(void *ud, const PGresult *res, inc_error *err);

/* Run a statement (prepared `name`, or `sql` if name is NULL) and hand each
 * row to `fn` as it arrives (single-row mode).  It runs as a one-statement
 * pipeline: libpq 14/15 keeps single-row mode switched on after a
 * non-pipelined single-row query, which would break the next pipeline.  A
 * dead connection found before the first row is reconnected and the
 * statement retried once (reading is harmless). */
static int pg_stream_fmt(pg_store *s, const char *name, const char *sql,
                         int nparams, const char *const *values, int binary,
                         row_fn fn, void *ud, const char *what,
                         inc_error *err) {
    for (int attempt = 0;; attempt++) {
        int delivered = 0, rc = 0, nulls = 0;
        bool retry = false, synced = false;
        if (pg_ready(s, err) != 0) return -1;
        if (PQenterPipelineMode(s->conn) != 1) return pg_error(s, NULL, what, err);
        int sent = name ? PQsendQueryPrepared(s->conn, name, nparams, values,
                                              NULL, NULL, binary)
                        : PQsendQueryParams(s->conn, sql, nparams, NULL, values,
                                            NULL, NULL, binary);
        if (sent != 1 || PQsetSingleRowMode(s->conn) != 1 ||
            PQpipelineSync(s->conn) != 1) {
            if (conn_lost(s) && attempt == 0) continue;
            rc = pg_error(s, NULL, what, err);
            drop_conn(s); /* abandon the half-sent pipeline */
            return rc;
        }
        while (!synced) {
            PGresult *res = PQgetResult(s->conn);
            if (!res) {
                /* one NULL ends the statement's results; more mean trouble */
                if (conn_lost(s) || ++nulls > 1) break;
                continue;
            }
            nulls = 0;
            ExecStatusType st = PQresultStatus(res);
            if (st == PGRES_SINGLE_TUPLE) {
                if (rc == 0 && fn(ud, res, err) != 0) rc = -1;
                delivered++;
            } else if (st == PGRES_PIPELINE_SYNC) {
                synced = true;
            } else if (st != PGRES_TUPLES_OK && rc == 0) {
                if (disconnected(s, res) && delivered == 0 && attempt == 0)
                    retry = true;
                else pg_error(s, res, what, err);
                rc = -1;
            }
            PQclear(res);
            if (retry || conn_lost(s)) break;
        }
        if (retry) {
            drop_conn(s); /* pg_ready reconnects */
            continue;
        }
        if (!synced || conn_lost(s)) {
            if (rc == 0) rc = pg_error(s, NULL, what, err);
            drop_conn(s);
            return -1;
        }
        if (PQexitPipelineMode(s->conn) != 1 && rc == 0)
            rc = pg_error(s, NULL, what, err);
        return rc;
    }
}

/* pg_stream_fmt with results in text. */
static int pg_stream(pg_store *s, const char *name, const char *sql,
                     int nparams, const char *const *values, row_fn fn,
                     void *ud, const char *what, inc_error *err) {
    return pg_stream_fmt(s, name, sql, nparams, values, 0, fn, ud, what, err);
}

/* ---- events ---- */

typedef struct event_rows {
    inc_event_cb cb;
    void *ud;
} event_rows;

/* An event's stored schema version (a positive int4). */
static int parse_schema_version(const char *text, unsigned *out,
                                inc_error *err) {
    int64_t v;
    if (parse_i64(text, &v) != 0 || v < 1 || v > INT32_MAX)
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                             "unreadable event schema version");
    *out = (unsigned)v;
    return 0;
}

/* Row r of a result with the columns of EVENT_COLUMNS (strings borrowed
 * from res). */
static int parse_event_row(const PGresult *res, int r, inc_stored_event *ev,
                           inc_error *err) {
    memset(ev, 0, sizeof *ev);
    if (parse_i64(PQgetvalue(res, r, 0), &ev->position) != 0 ||
        parse_i64(PQgetvalue(res, r, 4), &ev->version) != 0 ||
        parse_pg_timestamp(PQgetvalue(res, r, 8), &ev->event_date) != 0 ||
        strlen(PQgetvalue(res, r, 1)) != 36)
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                             "unreadable event row");
    memcpy(ev->event_id, PQgetvalue(res, r, 1), INC_UUID_TEXT_SIZE);
    ev->aggregate_type = PQgetvalue(res, r, 2);
    ev->aggregate_id = PQgetvalue(res, r, 3);
    ev->event_type = PQgetvalue(res, r, 5);
    ev->data = PQgetvalue(res, r, 6);
    ev->metadata = PQgetvalue(res, r, 7);
    return parse_schema_version(PQgetvalue(res, r, 9), &ev->schema_version,
                                err);
}

static int event_row(void *ud, const PGresult *res, inc_error *err) {
    event_rows *er = ud;
    inc_stored_event ev;
    if (parse_event_row(res, 0, &ev, err) != 0) return -1;
    return er->cb(er->ud, &ev, err);
}

typedef struct load_rows {
    const inc_aggregate_desc *a;
    const char *id;
    const inc_load_cbs *cbs;
    int row; /* the row of `res` to read (0 in single-row mode) */
} load_rows;

/* Binary integers of the load's result (network byte order). */
static uint64_t be_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static bool bin_i64(const PGresult *res, int r, int c, int64_t *out) {
    if (PQgetisnull(res, r, c) || PQgetlength(res, r, c) != 8) return false;
    *out = (int64_t)be_u64((const unsigned char *)PQgetvalue(res, r, c));
    return true;
}

static bool bin_i32(const PGresult *res, int r, int c, int32_t *out) {
    if (PQgetisnull(res, r, c) || PQgetlength(res, r, c) != 4) return false;
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, r, c);
    *out = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                     (uint32_t)p[2] << 8 | (uint32_t)p[3]);
    return true;
}

/* timestamptz is sent as microseconds since 2000-01-01 (integer
 * datetimes: the only kind since PostgreSQL 10). */
#define PG_EPOCH_US INT64_C(946684800000000)

/* A row of the load statement, read in binary: text columns arrive as
 * their bytes, which libpq ends with a NUL. */
static int load_row(void *ud, const PGresult *res, inc_error *err) {
    load_rows *lr = ud;
    int r = lr->row;
    int32_t kind, schema_version;
    int64_t version, date;
    if (!bin_i32(res, r, 0, &kind) || !bin_i64(res, r, 1, &version))
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                             "unreadable version");
    if (kind == 0)
        return lr->cbs->snapshot(lr->cbs->ud, version, PQgetvalue(res, r, 4),
                                 err);
    inc_stored_event ev;
    memset(&ev, 0, sizeof ev);
    ev.version = version;
    if (PQgetlength(res, r, 2) != 16 || !bin_i64(res, r, 6, &date) ||
        date > INT64_MAX - PG_EPOCH_US || !bin_i64(res, r, 7, &ev.position) ||
        !bin_i32(res, r, 8, &schema_version) || schema_version < 1)
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                             "unreadable event row");
    incx_uuid_text((const unsigned char *)PQgetvalue(res, r, 2), ev.event_id);
    ev.event_date = date + PG_EPOCH_US;
    ev.schema_version = (unsigned)schema_version;
    ev.aggregate_type = lr->a->name;
    ev.aggregate_id = lr->id;
    ev.event_type = PQgetvalue(res, r, 3);
    ev.data = PQgetvalue(res, r, 4);
    ev.metadata = PQgetisnull(res, r, 5) ? NULL : PQgetvalue(res, r, 5);
    return lr->cbs->event(lr->cbs->ud, &ev, err);
}

static int pg_load(inc_store *base, const inc_aggregate_desc *a,
                   const char *id, unsigned flags, const inc_load_cbs *cbs,
                   inc_error *err) {
    pg_store *s = (pg_store *)base;
    char hash[32];
    if (incx_store_check_text(id, "aggregate_id", err) != 0) return -1;
    snprintf(hash, sizeof hash, "%" PRId64, (int64_t)incx_snapshot_hash(a));
    bool use = cbs->snapshot && !(flags & INC_LOAD_NO_SNAPSHOT);
    const char *vals[6] = {a->name, id, hash, use ? "true" : "false", "0",
                           flags & INC_LOAD_NO_METADATA ? "false" : "true"};
    load_rows lr = {a, id, cbs, 0};
    return pg_stream_fmt(s, fixed[ST_LOAD].name, NULL, 6, vals, 1, load_row,
                         &lr, "load", err);
}

/* ---- many loads in one round trip (inc_dispatch_batch) ---- */

/* Bytes of load requests per pipeline.  Far below what the socket buffers
 * hold, so the requests are all written before the first result is read
 * and libpq never has to buffer results while it still sends (memory stays
 * one row per stream); a chunk of a few hundred loads fits in one. */
#define LOAD_MANY_BYTES (128 * 1024)

static bool load_wanted(const inc_load_req *r) {
    return r->cbs.snapshot &&
           !(r->flags & (INC_LOAD_NO_SNAPSHOT | INC_LOAD_AFTER));
}

/* The requests reqs[0..m) whose rc is 0 as ONE pipeline of the prepared
 * load, closed by one Sync; each statement in single-row mode, its rows
 * handed to its request's callbacks as they arrive.  A callback failure
 * only fails its request.  A dead connection found before any row was
 * delivered is reconnected and the pipeline sent again once, as pg_stream
 * does.  -1: the pipeline failed (err). */
static int load_group(pg_store *s, inc_load_req *reqs, size_t m,
                      inc_error *err) {
    for (int attempt = 0;; attempt++) {
        bool delivered = false, retry = false, broken = false, sent = true;
        int rc = 0;
        if (pg_ready(s, err) != 0) return -1;
        if (PQenterPipelineMode(s->conn) != 1) return pg_error(s, NULL, "load", err);
        for (size_t i = 0; i < m && sent; i++) {
            const inc_load_req *r = &reqs[i];
            char hash[32], after[32];
            if (r->rc != 0) continue;
            snprintf(hash, sizeof hash, "%" PRId64,
                     (int64_t)incx_snapshot_hash(r->aggregate));
            snprintf(after, sizeof after, "%" PRId64,
                     (r->flags & INC_LOAD_AFTER) && r->after_version > 0
                         ? r->after_version
                         : 0);
            const char *vals[6] = {
                r->aggregate->name, r->aggregate_id, hash,
                load_wanted(r) ? "true" : "false", after,
                r->flags & INC_LOAD_NO_METADATA ? "false" : "true"};
            sent = PQsendQueryPrepared(s->conn, fixed[ST_LOAD].name, 6, vals,
                                       NULL, NULL, 1) == 1;
        }
        if (!sent || PQpipelineSync(s->conn) != 1) {
            if (conn_lost(s) && attempt == 0) continue;
            rc = pg_error(s, NULL, "load", err);
            drop_conn(s); /* abandon the half-sent pipeline */
            return rc;
        }
        /* Results come back in request order.  A request's rc only changes
         * while its own results are read, so `rc != 0` here still means
         * "not sent". */
        for (size_t i = 0; i < m && !broken; i++) {
            inc_load_req *r = &reqs[i];
            if (r->rc != 0) continue;
            load_rows lr = {r->aggregate, r->aggregate_id, &r->cbs, 0};
            /* Must be set per statement, before its first result; when it
             * does not take, the rows come in one result (handled below). */
            (void)PQsetSingleRowMode(s->conn);
            for (;;) {
                PGresult *res = PQgetResult(s->conn);
                if (!res) {
                    if (conn_lost(s)) broken = true;
                    break; /* this statement's results are complete */
                }
                ExecStatusType st = PQresultStatus(res);
                if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
                    int nt = PQntuples(res);
                    for (lr.row = 0; lr.row < nt; lr.row++) {
                        delivered = true;
                        if (r->rc == 0 && load_row(&lr, res, &r->error) != 0)
                            r->rc = -1;
                    }
                } else if (st != PGRES_PIPELINE_ABORTED && rc == 0) {
                    if (disconnected(s, res) && !delivered && attempt == 0)
                        retry = true;
                    else pg_error(s, res, "load", err);
                    rc = -1;
                }
                PQclear(res);
                if (retry || conn_lost(s)) {
                    broken = true;
                    break;
                }
            }
        }
        if (!broken) {
            PGresult *res = PQgetResult(s->conn);
            if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
                if (rc == 0) pg_error(s, res, "load", err);
                rc = -1;
                broken = true;
            }
            PQclear(res);
        }
        if (retry) {
            for (size_t i = 0; i < m; i++) inc_error_clear(&reqs[i].error);
            drop_conn(s); /* pg_ready reconnects */
            continue;
        }
        if (broken || conn_lost(s)) {
            if (rc == 0) rc = pg_error(s, NULL, "load", err);
            drop_conn(s);
            return -1;
        }
        if (PQexitPipelineMode(s->conn) != 1 && rc == 0)
            rc = pg_error(s, NULL, "load", err);
        return rc;
    }
}

static int pg_load_many(inc_store *base, inc_load_req *reqs, size_t n,
                        inc_error *err) {
    pg_store *s = (pg_store *)base;
    for (size_t i = 0; i < n; i++) {
        inc_error_clear(&reqs[i].error);
        reqs[i].rc = incx_store_check_text(reqs[i].aggregate_id, "aggregate_id",
                                           &reqs[i].error);
    }
    for (size_t start = 0, end; start < n; start = end) {
        size_t bytes = 0;
        for (end = start; end < n; end++) {
            /* parameters + the Bind/Describe/Execute framing */
            size_t b = 64 + strlen(reqs[end].aggregate->name) +
                       (reqs[end].rc == 0 ? strlen(reqs[end].aggregate_id) : 0);
            if (end > start && bytes + b > LOAD_MANY_BYTES) break;
            bytes += b;
        }
        if (load_group(s, reqs + start, end - start, err) != 0) return -1;
    }
    return 0;
}

static int pg_read_stream(inc_store *base, const char *type, const char *id,
                          int64_t after, inc_event_cb cb, void *ud,
                          inc_error *err) {
    pg_store *s = (pg_store *)base;
    char v[32];
    if (incx_store_check_text(id, "aggregate_id", err) != 0 ||
        incx_store_check_text(type, "aggregate_type", err) != 0)
        return -1;
    snprintf(v, sizeof v, "%" PRId64, after);
    const char *vals[3] = {type, id, v};
    event_rows er = {cb, ud};
    return pg_stream(s, fixed[ST_STREAM].name, NULL, 3, vals, event_row, &er,
                     "read_stream", err);
}

static int pg_read_all(inc_store *base, const char *type, int64_t after,
                       inc_event_cb cb, void *ud, inc_error *err) {
    pg_store *s = (pg_store *)base;
    char v[32];
    if (type && incx_store_check_text(type, "aggregate_type", err) != 0)
        return -1;
    snprintf(v, sizeof v, "%" PRId64, after);
    const char *vals[2] = {v, type};
    event_rows er = {cb, ud};
    return pg_stream(s, fixed[ST_ALL].name, NULL, 2, vals, event_row, &er,
                     "read_all", err);
}

/* ---- projection rows ---- */

static size_t n_columns(const inc_projection_desc *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->row->n_fields; i++)
        if (!(p->row->fields[i].flags & INC_FIELD_IMPLICIT)) n++;
    return n;
}

/* The projection's statement slot (created on first use), or -1 on OOM. */
static int prep_slot_of(pg_store *s, const char *name, inc_error *err) {
    for (size_t i = 0; i < s->n_prep; i++)
        if (strcmp(s->prepared[i].projection, name) == 0) return (int)i;
    if (s->n_prep == s->cap_prep) {
        size_t cap = s->cap_prep ? s->cap_prep * 2 : 8;
        prep_slot *np = realloc(s->prepared, cap * sizeof *np);
        if (!np) return oom(err);
        s->prepared = np;
        s->cap_prep = cap;
    }
    char *copy = inc_strdup(name);
    if (!copy) return oom(err);
    s->prepared[s->n_prep].projection = copy;
    s->prepared[s->n_prep].state = PREP_NO;
    return (int)s->n_prep++;
}

/* Parameters of one upsert: $1 id, the columns, version, event_id,
 * event_date.  `bufs` holds the converted values. */
typedef struct row_params {
    int n;
    const char **vals;
    char (*bufs)[PARAM_BUF];
    char **json; /* record and list columns: their JSON text (jsonb) */
} row_params;

static void row_params_free(row_params *rp) {
    for (int i = 0; rp->json && i < rp->n; i++) free(rp->json[i]);
    free(rp->json);
    free(rp->vals);
    free(rp->bufs);
    memset(rp, 0, sizeof *rp);
}

static int row_params_make(const inc_projection_desc *p, const char *id,
                           const void *row, const inc_row_meta *meta,
                           row_params *rp, inc_error *err) {
    size_t nc = n_columns(p);
    memset(rp, 0, sizeof *rp);
    rp->n = (int)nc + 4;
    rp->vals = calloc((size_t)rp->n, sizeof *rp->vals);
    rp->bufs = calloc((size_t)rp->n, sizeof *rp->bufs);
    rp->json = calloc((size_t)rp->n, sizeof *rp->json);
    if (!rp->vals || !rp->bufs || !rp->json) {
        row_params_free(rp);
        return oom(err);
    }
    int k = 0;
    rp->vals[k++] = id;
    for (size_t i = 0; i < p->row->n_fields; i++) {
        const inc_field_desc *f = &p->row->fields[i];
        if (f->flags & INC_FIELD_IMPLICIT) continue;
        if (f->type == INC_TYPE_RECORD || f->type == INC_TYPE_LIST) {
            if (inc_field_present(row, f) &&
                !(rp->vals[k] = rp->json[k] = incx_field_to_text(f, row))) {
                row_params_free(rp);
                return oom(err);
            }
        } else if (field_param(f, row, rp->bufs[k], &rp->vals[k], err) != 0) {
            row_params_free(rp);
            return -1;
        }
        k++;
    }
    snprintf(rp->bufs[k], PARAM_BUF, "%" PRId64, meta->version);
    rp->vals[k] = rp->bufs[k];
    k++;
    rp->vals[k++] = meta->event_id;
    if (inc_timestamp_format(meta->event_date, rp->bufs[k]) != 0) {
        row_params_free(rp);
        return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                             "event_date out of range");
    }
    rp->vals[k] = rp->bufs[k];
    return 0;
}

/* Queue (in pipeline mode) the upsert of one row; its statement must be
 * prepared or queued for preparing in the same pipeline. */
static int send_upsert(pg_store *s, const inc_projection_desc *p, int slot,
                       const char *id, const void *row,
                       const inc_row_meta *meta, inc_error *err) {
    row_params rp;
    char name[32];
    if (row_params_make(p, id, row, meta, &rp, err) != 0) return -1;
    snprintf(name, sizeof name, "inc_up_%d", slot);
    int ok = PQsendQueryPrepared(s->conn, name, rp.n, rp.vals, NULL, NULL, 0);
    row_params_free(&rp);
    if (ok != 1) return pg_error(s, NULL, "upsert", err);
    return 0;
}

/* Queue the PREPARE of a projection's upsert unless done; returns its slot
 * and sets *queued. */
static int queue_prepare(pg_store *s, const inc_projection_desc *p,
                         bool *queued, inc_error *err) {
    int slot = prep_slot_of(s, p->name, err);
    *queued = false;
    if (slot < 0) return -1;
    if (s->prepared[slot].state != PREP_NO) return slot;
    char name[32];
    snprintf(name, sizeof name, "inc_up_%d", slot);
    if (PQsendPrepare(s->conn, name, p->upsert_sql, (int)n_columns(p) + 4,
                      NULL) != 1)
        return pg_error(s, NULL, "prepare upsert", err);
    s->prepared[slot].state = PREP_QUEUED;
    *queued = true;
    return slot;
}

/* Outside a pipeline: prepare a projection's upsert now (one round trip). */
static int prepare_now(pg_store *s, const inc_projection_desc *p, int *slot,
                       inc_error *err) {
    *slot = prep_slot_of(s, p->name, err);
    if (*slot < 0) return -1;
    if (s->prepared[*slot].state == PREP_READY) return 0;
    char name[32];
    snprintf(name, sizeof name, "inc_up_%d", *slot);
    PGresult *res = PQprepare(s->conn, name, p->upsert_sql,
                              (int)n_columns(p) + 4, NULL);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_error(s, res, "prepare upsert", err);
    else s->prepared[*slot].state = PREP_READY;
    PQclear(res);
    return rc;
}

/* What each queued pipeline command of a commit was, to read its result. */
typedef enum { Q_OTHER, Q_PREPARE, Q_INSERT, Q_GUARD, Q_INSERT_MANY } q_kind;

/* The commands queued for commits cs[..]: per command its kind, its
 * argument (Q_PREPARE: slot; Q_INSERT: event index) and the commit it
 * belongs to.  n_ok: the results read so far (they come back in order, so
 * the first failing command is number n_ok). */
typedef struct pipe_log {
    size_t n, cap;
    q_kind *kind;
    int *arg;
    size_t *commit;
    const inc_commit *cs;
    size_t n_cs;     /* Q_INSERT_MANY: the commits of the group */
    const unsigned char *wave; /* and which statement wrote each */
    size_t n_ok;
    bool bad_result; /* a result the server sent could not be read */
    pg_store *s;
} pipe_log;

static void log_free(pipe_log *l) {
    free(l->kind);
    free(l->arg);
    free(l->commit);
}

static int log_add(pipe_log *l, q_kind k, int arg, size_t ci) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        q_kind *nk = realloc(l->kind, cap * sizeof *nk);
        if (!nk) return -1;
        l->kind = nk;
        int *na = realloc(l->arg, cap * sizeof *na);
        if (!na) return -1;
        l->arg = na;
        size_t *nc = realloc(l->commit, cap * sizeof *nc);
        if (!nc) return -1;
        l->commit = nc;
        l->cap = cap;
    }
    l->kind[l->n] = k;
    l->commit[l->n] = ci;
    l->arg[l->n++] = arg;
    return 0;
}

/* Q_INSERT_MANY's rows (position, event_id): each position to its event.
 * They come in insertion order, which is the events' order; matched by
 * event id all the same, not assumed. */
static int many_positions(const pipe_log *l, int w, const PGresult *res) {
    size_t total = 0, ci = 0, ei = 0;
    for (size_t k = 0; k < l->n_cs; k++)
        if (l->wave[k] == w) total += l->cs[k].n_events;
    if (PQnfields(res) != 2 || (size_t)PQntuples(res) != total) return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *id = PQgetvalue(res, r, 1);
        while (ci < l->n_cs && (l->wave[ci] != w || ei >= l->cs[ci].n_events)) {
            ci++;
            ei = 0;
        }
        size_t fc = ci, fe = ei;
        if (ci == l->n_cs || strcasecmp(l->cs[ci].events[ei].event_id, id) != 0) {
            for (fc = 0; fc < l->n_cs; fc++) {
                for (fe = 0; l->wave[fc] == w && fe < l->cs[fc].n_events; fe++)
                    if (strcasecmp(l->cs[fc].events[fe].event_id, id) == 0) break;
                if (l->wave[fc] == w && fe < l->cs[fc].n_events) break;
            }
            if (fc == l->n_cs) return -1;
        } else ei++;
        int64_t *pos = l->cs[fc].positions;
        if (pos && parse_i64(PQgetvalue(res, r, 0), &pos[fe]) != 0) return -1;
    }
    return 0;
}

static int pipe_result(void *ud, int i, const PGresult *res, inc_error *err) {
    pipe_log *l = ud;
    l->n_ok = (size_t)i + 1;
    if (l->kind[i] == Q_PREPARE && l->arg[i] < 0) l->s->cmd_ready = true;
    else if (l->kind[i] == Q_PREPARE)
        l->s->prepared[l->arg[i]].state = PREP_READY;
    if (l->kind[i] == Q_INSERT) {
        int64_t *pos = l->cs[l->commit[i]].positions;
        if (pos && (PQntuples(res) != 1 ||
                    parse_i64(PQgetvalue(res, 0, 0), &pos[l->arg[i]]) != 0))
            return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                                 "INSERT returned no position");
    }
    if (l->kind[i] == Q_INSERT_MANY && many_positions(l, l->arg[i], res) != 0) {
        l->bad_result = true;
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                             "INSERT returned no position for an event");
    }
    return 0;
}

/* PREPAREs whose result never came back OK did not happen. */
static void unqueue_prepares(pg_store *s) {
    for (size_t i = 0; i < s->n_prep; i++)
        if (s->prepared[i].state == PREP_QUEUED) s->prepared[i].state = PREP_NO;
}

static int notify_payload(const inc_commit *c, char *buf, size_t cap) {
    json_t *o = json_pack("{s:s, s:I, s:I}", "aggregate_type",
                          c->aggregate->name, "first_version",
                          (json_int_t)c->events[0].version, "last_version",
                          (json_int_t)c->events[c->n_events - 1].version);
    if (!o) return -1;
    /* The id may be long; NOTIFY payloads must stay under 8000 bytes. */
    if (strlen(c->aggregate_id) < 4000) {
        json_t *idj = json_string(c->aggregate_id);
        if (idj) json_object_set_new(o, "aggregate_id", idj);
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text) return -1;
    snprintf(buf, cap, "%s", text);
    free(text);
    return 0;
}

/* Queue (in pipeline mode) the INSERT of c->events[i]; the first one is
 * guarded when the commit expects an event before it. */
static int send_insert(pg_store *s, const inc_commit *c, size_t i,
                       inc_error *err) {
    const inc_stored_event *e = &c->events[i];
    char tbuf[INC_TIMESTAMP_TEXT_MAX], vbuf[32], sbuf[16];
    if (inc_timestamp_format(e->event_date, tbuf) != 0)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                             "event_date out of range");
    snprintf(vbuf, sizeof vbuf, "%" PRId64, e->version);
    snprintf(sbuf, sizeof sbuf, "%u", incx_schema_version(e->schema_version));
    const char *vals[10] = {e->event_id,   c->aggregate->name,
                            c->aggregate_id, vbuf,
                            e->event_type, e->data,
                            e->metadata ? e->metadata : "{}", tbuf,
                            sbuf,         c->expect_event_id};
    int st = i == 0 && c->expect_event_id && !s->citus ? ST_INSERT_GUARDED
                                                        : ST_INSERT;
    if (PQsendQueryPrepared(s->conn, fixed[st].name, fixed[st].n, vals, NULL,
                            NULL, 0) != 1)
        return pg_error(s, NULL, "commit", err);
    return 0;
}

/* Citus: queue the guard that stands for inc_insert_guarded (fixed[]). */
static int send_guard(pg_store *s, const inc_commit *c, inc_error *err) {
    char vbuf[32];
    snprintf(vbuf, sizeof vbuf, "%" PRId64, c->events[0].version);
    const char *vals[4] = {c->aggregate->name, c->aggregate_id, vbuf,
                           c->expect_event_id};
    if (PQsendQueryPrepared(s->conn, fixed[ST_INSERT_GUARDED].name, 4, vals,
                            NULL, NULL, 0) != 1)
        return pg_error(s, NULL, "commit", err);
    return 0;
}

/* Queue the snapshot upsert of commit c. */
static int send_snapshot(pg_store *s, const inc_commit *c, inc_error *err) {
    char hbuf[32], sbuf[32];
    snprintf(sbuf, sizeof sbuf, "%" PRId64, c->snapshot_version);
    snprintf(hbuf, sizeof hbuf, "%" PRId64,
             (int64_t)incx_snapshot_hash(c->aggregate));
    const char *vals[5] = {c->aggregate->name, c->aggregate_id, sbuf,
                           c->snapshot_json, hbuf};
    if (PQsendQueryPrepared(s->conn, fixed[ST_SNAPSHOT].name, 5, vals, NULL,
                            NULL, 0) != 1)
        return pg_error(s, NULL, "commit", err);
    return 0;
}

/* ---- command ids (inc_commit.command_id) ---- */

/* Created by every `init` (IF NOT EXISTS), so stores made before command
 * ids get the table without a new schema version. */
static const char command_ids_ddl[] =
    "CREATE TABLE IF NOT EXISTS command_ids (\n"
    "    command_id text NOT NULL,\n"
    "    command_type text NOT NULL,\n"
    "    payload text NOT NULL,\n"
    "    aggregate_type text NOT NULL,\n"
    "    aggregate_id text NOT NULL,\n"
    "    first_version int NOT NULL,\n"
    "    n_events int NOT NULL,\n"
    "    recorded_at timestamptz NOT NULL DEFAULT now(),\n"
    "    CONSTRAINT " COMMAND_ID_CONSTRAINT " PRIMARY KEY (command_id)\n"
    ");\n"
    /* added with recorded rejections; NULL: the command committed */
    "ALTER TABLE command_ids ADD COLUMN IF NOT EXISTS rejection text;\n";
/* (no index on recorded_at: every command would pay for it, while only a
 * prune, rare and in the background, would use it) */

/* Prepared by the first commit that needs it, in its pipeline, not at
 * connect time: a store whose `init` predates the table must keep working
 * for commands without an id. */
#define COMMAND_ID_STATEMENT "inc_command_id"
#define COMMAND_ID_INSERT                                                      \
    "INSERT INTO command_ids (command_id, command_type, payload, "            \
    "aggregate_type, aggregate_id, first_version, n_events, rejection) "     \
    "VALUES ($1, $2, $3, $4, $5, $6::int4, $7::int4, $8)"

static int check_command_id(const inc_commit *c, inc_error *err) {
    if (!c->command_id) return 0;
    if (incx_store_check_text(c->command_id, "command_id", err) != 0 ||
        incx_store_check_text(c->command_type, "command_type", err) != 0 ||
        incx_store_check_text(c->command_payload, "command_payload", err) != 0 ||
        (c->command_rejection &&
         incx_store_check_text(c->command_rejection, "command_rejection",
                               err) != 0))
        return -1;
    return 0;
}

/* Queue the command id's INSERT (and its PREPARE, the first time). */
static int send_command_id(pg_store *s, pipe_log *l, size_t ci,
                           inc_error *err) {
    const inc_commit *c = &l->cs[ci];
    char fbuf[32], nbuf[32];
    if (!s->cmd_ready) {
        if (PQsendPrepare(s->conn, COMMAND_ID_STATEMENT, COMMAND_ID_INSERT, 8,
                          NULL) != 1)
            return pg_error(s, NULL, "commit", err);
        if (log_add(l, Q_PREPARE, -1, ci) != 0) return oom(err);
    }
    snprintf(fbuf, sizeof fbuf, "%" PRId64,
             c->n_events ? c->events[0].version : (int64_t)0);
    snprintf(nbuf, sizeof nbuf, "%zu", c->n_events);
    const char *vals[8] = {c->command_id,      c->command_type,
                           c->command_payload, c->aggregate->name,
                           c->aggregate_id,    fbuf,
                           nbuf,               c->command_rejection};
    if (PQsendQueryPrepared(s->conn, COMMAND_ID_STATEMENT, 8, vals, NULL, NULL,
                            0) != 1)
        return pg_error(s, NULL, "commit", err);
    if (log_add(l, Q_OTHER, 0, ci) != 0) return oom(err);
    return 0;
}

typedef struct command_rows {
    inc_command_cb cb;
    void *ud;
    bool *found;
} command_rows;

static int command_row(void *ud, const PGresult *res, inc_error *err) {
    command_rows *cr = ud;
    inc_command_record r;
    *cr->found = true;
    memset(&r, 0, sizeof r);
    r.command_id = PQgetvalue(res, 0, 0);
    r.command_type = PQgetvalue(res, 0, 1);
    r.payload = PQgetvalue(res, 0, 2);
    r.aggregate_type = PQgetvalue(res, 0, 3);
    r.aggregate_id = PQgetvalue(res, 0, 4);
    if (parse_i64(PQgetvalue(res, 0, 5), &r.first_version) != 0 ||
        parse_i64(PQgetvalue(res, 0, 6), &r.n_events) != 0 ||
        parse_pg_timestamp(PQgetvalue(res, 0, 7), &r.recorded_at) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                             "command_ids: unreadable row");
    if (!PQgetisnull(res, 0, 8)) r.rejection = PQgetvalue(res, 0, 8);
    return cr->cb(cr->ud, &r, err);
}

/* The record of a command id; with `aggregate_id` (not NULL) only that
 * aggregate's, which on Citus reads one shard. */
static int command_lookup(pg_store *s, const char *command_id,
                          const char *aggregate_id, inc_command_cb cb,
                          void *ud, bool *found, inc_error *err) {
#define COMMAND_SELECT                                                         \
    "SELECT command_id, command_type, payload, aggregate_type, aggregate_id, " \
    "first_version, n_events, recorded_at, rejection FROM command_ids WHERE "  \
    "command_id = $1"
    *found = false;
    if (incx_store_check_text(command_id, "command_id", err) != 0 ||
        (aggregate_id &&
         incx_store_check_text(aggregate_id, "aggregate_id", err) != 0))
        return -1;
    const char *vals[2] = {command_id, aggregate_id};
    command_rows cr = {cb, ud, found};
    return pg_stream(s, NULL,
                     aggregate_id ? COMMAND_SELECT " AND aggregate_id = $2"
                                  : COMMAND_SELECT,
                     aggregate_id ? 2 : 1, vals, command_row, &cr,
                     "command_get", err);
#undef COMMAND_SELECT
}

static int pg_command_get(inc_store *base, const char *command_id,
                          inc_command_cb cb, void *ud, bool *found,
                          inc_error *err) {
    return command_lookup((pg_store *)base, command_id, NULL, cb, ud, found,
                          err);
}

/* On Citus, the one shard of the command's aggregate (command_ids is
 * distributed by aggregate_id); elsewhere every record, so an id used for
 * another aggregate is still found. */
static int pg_command_get_in(inc_store *base, const char *aggregate_id,
                             const char *command_id, inc_command_cb cb,
                             void *ud, bool *found, inc_error *err) {
    pg_store *s = (pg_store *)base;
    return command_lookup(s, command_id, s->citus ? aggregate_id : NULL, cb,
                          ud, found, err);
}

static int count_row(void *ud, const PGresult *res, inc_error *err) {
    if (parse_i64(PQgetvalue(res, 0, 0), ud) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                             "prune: unreadable count");
    return 0;
}

static int pg_prune_command_ids(inc_store *base, inc_timestamp older_than,
                                int64_t *n_pruned, inc_error *err) {
    pg_store *s = (pg_store *)base;
    char tbuf[INC_TIMESTAMP_TEXT_MAX];
    int64_t n = 0;
    if (inc_timestamp_format(older_than, tbuf) != 0)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                             "prune: timestamp out of range");
    const char *vals[1] = {tbuf};
    int rc = pg_stream(s, NULL,
                       "WITH d AS (DELETE FROM command_ids WHERE recorded_at "
                       "< $1::timestamptz RETURNING 1) SELECT count(*) FROM d",
                       1, vals, count_row, &n, "prune_command_ids", err);
    if (rc == 0 && n_pruned) *n_pruned = n;
    return rc;
}

/* Queue (in pipeline mode) everything commit l->cs[ci] writes: the
 * PREPAREs it needs first (so a failing INSERT cannot skip them), the
 * event INSERTs, the projection upserts, the snapshot.  Single commits
 * and a batch's commit_many both queue through here. */
static int queue_commit(pg_store *s, pipe_log *l, size_t ci, inc_error *err) {
    const inc_commit *c = &l->cs[ci];
    int slot;
    if (c->command_id) {
        /* first: a repeat racing this commit waits here on the key */
        if (send_command_id(s, l, ci, err) != 0) return -1;
    }
    if (c->n_events == 0) return 0;
    for (size_t i = 0; i < c->n_rows; i++) {
        bool queued;
        slot = queue_prepare(s, c->rows[i].projection, &queued, err);
        if (slot < 0) return -1;
        if (queued && log_add(l, Q_PREPARE, slot, ci) != 0) return oom(err);
    }
    if (s->citus && c->expect_event_id) {
        if (send_guard(s, c, err) != 0) return -1;
        if (log_add(l, Q_GUARD, 0, ci) != 0) return oom(err);
    }
    for (size_t i = 0; i < c->n_events; i++) {
        if (send_insert(s, c, i, err) != 0) return -1;
        if (log_add(l, Q_INSERT, (int)i, ci) != 0) return oom(err);
    }
    for (size_t i = 0; i < c->n_rows; i++) {
        slot = prep_slot_of(s, c->rows[i].projection->name, err);
        if (slot < 0 ||
            send_upsert(s, c->rows[i].projection, slot, c->aggregate_id,
                        c->rows[i].row, &c->rows[i].meta, err) != 0)
            return -1;
        if (log_add(l, Q_OTHER, 0, ci) != 0) return oom(err);
    }
    if (c->snapshot_json) {
        if (send_snapshot(s, c, err) != 0) return -1;
        if (log_add(l, Q_OTHER, 0, ci) != 0) return oom(err);
    }
    return 0;
}

/* What queue_notifications did. */
typedef enum { NOTIFY_NONE, NOTIFY_SENT, NOTIFY_HALF_SENT } notify_sent;

/* After the commit's Sync, in the same pipeline (no round trip of its
 * own): the notifications of its commits, in a transaction of their own
 * closed by a second Sync.  A NOTIFY in the commit would hold
 * PostgreSQL's notify lock across the WAL flush and serialise every
 * writer's commits (docs/performance.md); this one notifies only if the
 * commit's first event is there and does not wait for a flush. */
static notify_sent queue_notifications(pg_store *s, const inc_commit *cs,
                                       size_t n, int *n_sent) {
    char payload[8100];
    *n_sent = 0;
    if (!s->notify) return NOTIFY_NONE;
    for (size_t i = 0; i < n; i++) {
        if (cs[i].n_events == 0 ||
            notify_payload(&cs[i], payload, sizeof payload) != 0)
            continue;
        const char *vals[4] = {NOTIFY_CHANNEL, payload,
                               cs[i].events[0].event_id, cs[i].aggregate_id};
        if (PQsendQueryPrepared(s->conn, fixed[ST_NOTIFY_AFTER].name,
                                fixed_n(s, ST_NOTIFY_AFTER), vals,
                                NULL, NULL, 0) != 1)
            return *n_sent ? NOTIFY_HALF_SENT : NOTIFY_NONE;
        ++*n_sent;
    }
    if (*n_sent == 0) return NOTIFY_NONE;
    return PQpipelineSync(s->conn) == 1 ? NOTIFY_SENT : NOTIFY_HALF_SENT;
}

/* Read the notifications' results and Sync.  Their failure changes
 * nothing about the commit (notifications are hints); a broken connection
 * is dropped so the next call starts afresh. */
static void finish_notify(pg_store *s, int n_sent) {
    for (int i = 0; i < 4 * n_sent + 4; i++) {
        PGresult *res = PQgetResult(s->conn);
        if (!res) {
            if (conn_lost(s)) break;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC) return;
    }
    drop_conn(s);
}

/* Queue a statement without parameters (BEGIN, COMMIT) in the pipeline. */
static int send_simple(pg_store *s, pipe_log *l, const char *sql,
                       inc_error *err) {
    if (PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0) != 1)
        return pg_error(s, NULL, "commit", err);
    if (log_add(l, Q_OTHER, 0, 0) != 0) return oom(err);
    return 0;
}

/* Close a commit's queued pipeline (log l) with its Sync, queue the
 * notifications after it, read every result and leave pipeline mode;
 * *committed: every result and the Sync came back, so it is done (whatever
 * happens to the notifications).  The PREPAREs that did not come back did
 * not happen.  -1 with err on any failure. */
static int sync_and_read(pg_store *s, pipe_log *l, const inc_commit *cs,
                         size_t n, bool *committed, inc_error *err) {
    int rc, n_notify;
    *committed = false;
    if (PQpipelineSync(s->conn) != 1) {
        rc = pg_error(s, NULL, "commit", err);
    } else {
        notify_sent ns = queue_notifications(s, cs, n, &n_notify);
        rc = pipe_read(s, (int)l->n, "commit", pipe_result, l, err);
        *committed = rc == 0;
        if (ns == NOTIFY_HALF_SENT) drop_conn(s); /* an unsynced statement */
        if (ns == NOTIFY_SENT && !conn_lost(s)) finish_notify(s, n_notify);
        if (!conn_lost(s) && PQexitPipelineMode(s->conn) != 1 && rc == 0)
            rc = pg_error(s, NULL, "commit", err);
    }
    unqueue_prepares(s);
    return rc;
}

/* Commits cs[0..n) in ONE pipeline closed by one Sync: one transaction,
 * one round trip, one WAL flush (then the notifications).  *failed (may
 * be NULL): the commit a failure concerns (n: unknown). */
static int commit_pipeline(pg_store *s, const inc_commit *cs, size_t n,
                           size_t *failed, inc_error *err) {
    inc_error local;
    pipe_log l;
    size_t ci;
    int rc = 0;
    if (failed) *failed = n;
    for (ci = 0; ci < n && cs[ci].n_events == 0 && !cs[ci].command_id; ci++) {}
    if (ci == n) return 0;
    for (ci = 0; ci < n; ci++)
        if ((cs[ci].n_events || cs[ci].command_id) &&
            (incx_store_check_text(cs[ci].aggregate_id, "aggregate_id", err) != 0 ||
             check_command_id(&cs[ci], err) != 0)) {
            if (failed) *failed = ci;
            return -1;
        }
    inc_error_clear(&local);
    if (!err) err = &local;
    if (pg_ready(s, err) != 0) return -1;
    if (PQenterPipelineMode(s->conn) != 1) return pg_error(s, NULL, "commit", err);
    memset(&l, 0, sizeof l);
    l.s = s;
    l.cs = cs;
    /* On Citus an explicit transaction: outside a transaction block it
     * runs each single-shard statement of the pipeline as a transaction
     * of its own on the worker, so a failed statement would not undo the
     * ones before it.  (Same round trip.) */
    bool queued = !s->citus || send_simple(s, &l, "BEGIN", err) == 0;
    for (ci = 0; queued && ci < n; ci++)
        if (queue_commit(s, &l, ci, err) != 0) {
            queued = false;
            break;
        }
    if (queued && s->citus && send_simple(s, &l, "COMMIT", err) != 0)
        queued = false;
    if (!queued) {
        /* Nothing synced: drop the connection (the server rolls back). */
        if (failed) *failed = ci < n ? ci : n;
        drop_conn(s);
        log_free(&l);
        return -1;
    }
    bool committed;
    rc = sync_and_read(s, &l, cs, n, &committed, err);
    /* Citus: a failure leaves the explicit transaction aborted (the Sync
     * ends only an implicit one) */
    if (rc != 0 && s->citus && !conn_lost(s) &&
        PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF &&
        PQtransactionStatus(s->conn) == PQTRANS_INERROR) {
        PGresult *rb = PQexec(s->conn, "ROLLBACK");
        if (PQresultStatus(rb) != PGRES_COMMAND_OK) drop_conn(s);
        PQclear(rb);
    }
    /* the Citus guard failed by design: the stream moved on */
    if (rc != 0 && l.n_ok < l.n && l.kind[l.n_ok] == Q_GUARD &&
        err->kind == INC_ERR_INVALID)
        inc_error_set(err, INC_ERR_CONFLICT, "conflict",
                      "commit: the stream changed since it was read");
    if (rc != 0 && failed && l.n_ok < l.n) *failed = l.commit[l.n_ok];
    /* the session is gone: start afresh on the next call */
    if (rc != 0 && err->kind == INC_ERR_UNAVAILABLE) drop_conn(s);
    if (conn_lost(s)) {
        forget_prepared(s);
        /* (losing it over the notification changes nothing: committed) */
        if (rc == 0 && !committed) rc = pg_error(s, NULL, "commit", err);
    }
    log_free(&l);
    return rc;
}

static int pg_commit(inc_store *base, const inc_commit *c, inc_error *err) {
    return commit_pipeline((pg_store *)base, c, 1, NULL, err);
}

typedef struct proj_rows {
    const inc_projection_desc *p;
    inc_row_cb cb;
    void *ud;
} proj_rows;

/* select_sql columns: aggregate_id, the columns, version, event_id,
 * event_date. */
static int proj_row(void *ud, const PGresult *res, inc_error *err) {
    proj_rows *pr = ud;
    const inc_message_desc *rd = pr->p->row;
    size_t nc = n_columns(pr->p);
    if ((size_t)PQnfields(res) != nc + 4)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "projection %s: select returns %d columns, "
                             "expected %zu",
                             pr->p->name, PQnfields(res), nc + 4);
    void *row = malloc(rd->size);
    if (!row) return oom(err);
    inc_msg_init(rd, row);
    inc_row_meta meta;
    memset(&meta, 0, sizeof meta);
    int rc = 0, col = 1;
    /* aggregate_id, or a view's own key */
    const inc_field_desc *idf = incx_row_key(rd);
    if (idf) rc = field_from_text(idf, row, PQgetvalue(res, 0, 0), err);
    for (size_t i = 0; rc == 0 && i < rd->n_fields; i++) {
        const inc_field_desc *f = &rd->fields[i];
        if (f->flags & INC_FIELD_IMPLICIT) continue;
        rc = field_from_text(f, row,
                             PQgetisnull(res, 0, col) ? NULL
                                                       : PQgetvalue(res, 0, col),
                             err);
        col++;
    }
    if (rc == 0) {
        const char *eid = PQgetvalue(res, 0, col + 1);
        if (parse_i64(PQgetvalue(res, 0, col), &meta.version) != 0 ||
            strlen(eid) != 36 ||
            parse_pg_timestamp(PQgetvalue(res, 0, col + 2), &meta.event_date) !=
                0)
            rc = inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                               "projection %s: unreadable row", pr->p->name);
        else memcpy(meta.event_id, eid, INC_UUID_TEXT_SIZE);
    }
    if (rc == 0) rc = pr->cb(pr->ud, row, &meta, err);
    inc_msg_free(rd, row);
    free(row);
    return rc;
}

typedef struct found_rows {
    proj_rows pr;
    bool *found;
} found_rows;

static int found_row(void *ud, const PGresult *res, inc_error *err) {
    found_rows *fr = ud;
    *fr->found = true;
    return proj_row(&fr->pr, res, err);
}

static int pg_projection_get(inc_store *base, const inc_projection_desc *p,
                             const char *id, inc_row_cb cb, void *ud,
                             bool *found, inc_error *err) {
    pg_store *s = (pg_store *)base;
    *found = false;
    if (incx_store_check_text(id, "aggregate_id", err) != 0) return -1;
    const char *vals[1] = {id};
    found_rows fr = {{p, cb, ud}, found};
    return pg_stream(s, NULL, p->select_one_sql, 1, vals, found_row, &fr,
                     "projection", err);
}

static int pg_projection_list(inc_store *base, const inc_projection_desc *p,
                              inc_row_cb cb, void *ud, inc_error *err) {
    pg_store *s = (pg_store *)base;
    proj_rows pr = {p, cb, ud};
    return pg_stream(s, NULL, p->select_sql, 0, NULL, proj_row, &pr,
                     "projection", err);
}

int incx_pg_projection_rows(inc_store *base, const inc_projection_desc *p,
                            const char *sql, int nparams,
                            const char *const *values, inc_row_cb cb, void *ud,
                            inc_error *err) {
    proj_rows pr = {p, cb, ud};
    return pg_stream((pg_store *)base, NULL, sql, nparams, values, proj_row,
                     &pr, "query", err);
}

/* ---- init ---- */

static int exec_simple(pg_store *s, const char *sql, const char *what,
                       inc_error *err) {
    PGresult *res = PQexec(s->conn, sql);
    int rc = 0;
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_error(s, res, what, err);
    PQclear(res);
    return rc;
}

static void rollback(pg_store *s) {
    if (!conn_lost(s) &&
        PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(s->conn, "ROLLBACK");
        PQclear(res);
    }
}

static int pg_init_report(inc_store *base, const inc_domain *d,
                          inc_table_change_cb cb, void *ud, inc_error *err) {
    pg_store *s = (pg_store *)base;
    bool *existed = NULL;
    if (d && d->abi_version != INC_ABI_VERSION)
        return inc_error_set(err, INC_ERR_INTERNAL, "abi_mismatch",
                             "domain built for ABI %u, runtime is %u",
                             d->abi_version, INC_ABI_VERSION);
    if (conn_lost(s) && pg_connect(s, err) != 0) return -1;
    if (exec_simple(s, "BEGIN", "init", err) != 0) goto fail;
    /* Serialise concurrent inits of one database (CREATE ... IF NOT EXISTS
     * alone races). */
    if (exec_simple(s, "SELECT pg_advisory_xact_lock(7370001)", "init", err) !=
        0)
        goto fail;
    if (s->schema) {
        char *q = PQescapeIdentifier(s->conn, s->schema, strlen(s->schema));
        if (!q) {
            pg_error(s, NULL, "init", err);
            goto fail;
        }
        size_t n = strlen(q) + 40;
        char *sql = malloc(n);
        if (!sql) {
            PQfreemem(q);
            oom(err);
            goto fail;
        }
        snprintf(sql, n, "CREATE SCHEMA IF NOT EXISTS %s", q);
        PQfreemem(q);
        int rc = exec_simple(s, sql, "init", err);
        free(sql);
        if (rc != 0) goto fail;
    }
    if (exec_simple(s,
                    "CREATE TABLE IF NOT EXISTS schema_version (version int "
                    "NOT NULL, installed_at timestamptz NOT NULL DEFAULT "
                    "now())",
                    "init", err) != 0)
        goto fail;
    PGresult *res = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM "
                                    "schema_version");
    int64_t have = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
        parse_i64(PQgetvalue(res, 0, 0), &have) != 0) {
        pg_error(s, res, "init", err);
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    if (have > INC_STORE_SCHEMA_VERSION) {
        inc_error_set(err, INC_ERR_INTERNAL, "schema_too_new",
                      "the event store has schema version %lld; this "
                      "libincident knows up to %d: upgrade libincident",
                      (long long)have, INC_STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (have < 1) {
        if (exec_simple(s, schema_v1, "init", err) != 0 ||
            exec_simple(s, "INSERT INTO schema_version (version) VALUES (1)",
                        "init", err) != 0)
            goto fail;
    }
    /* Version 2: commit-ordered reads and consumers (pg_log.c). */
    if (have < 2) {
        if (exec_simple(s, incx_pg_schema_v2, "init", err) != 0 ||
            exec_simple(s, "INSERT INTO schema_version (version) VALUES (2)",
                        "init", err) != 0)
            goto fail;
    }
    /* Idempotent commands' table: CREATE ... IF NOT EXISTS on every init,
     * so it needs no version step of its own. */
    if (exec_simple(s, command_ids_ddl, "init", err) != 0) goto fail;
    /* Version 3: each event's schema version (docs/evolution.md); an
     * INSERT naming only the older columns still appends version 1. */
    if (have < 3) {
        if (exec_simple(s, incx_pg_schema_v3, "init", err) != 0 ||
            exec_simple(s, "INSERT INTO schema_version (version) VALUES (3)",
                        "init", err) != 0)
            goto fail;
    }
    /* Later versions: `if (have < 4) { ALTER ...; INSERT 4 }` and so on. */
    if (d && incx_pg_projections_existing(s->conn, d, &existed, err) != 0)
        goto fail;
    if (d && d->ddl && *d->ddl && exec_simple(s, d->ddl, "init", err) != 0)
        goto fail;
    /* Existing projection tables to their declared columns. */
    if (d && incx_pg_migrate_projections(s->conn, d, existed, cb, ud, err) != 0)
        goto fail;
    /* On Citus: the per-aggregate tables distributed (pg_citus.c). */
    if (incx_pg_citus_distribute(s->conn, d, cb, ud, err) != 0) goto fail;
    free(existed);
    existed = NULL;
    if (exec_simple(s, "COMMIT", "init", err) != 0) goto fail;
    forget_prepared(s); /* the tables may be new: prepare against them */
    s->fixed_ready = false;
    /* DEALLOCATE ALL: statements prepared before the tables existed. */
    if (exec_simple(s, "DEALLOCATE ALL", "init", err) != 0) return -1;
    return prepare_fixed(s, err);
fail:
    free(existed);
    rollback(s);
    return -1;
}

static int pg_init(inc_store *base, const inc_domain *d, inc_error *err) {
    return pg_init_report(base, d, NULL, NULL, err);
}

/* ---- rebuild ---- */

typedef struct rebuild_state {
    pg_store *s;
    const inc_projection_desc *p;
    const inc_rebuild_cbs *cbs;
    char *current; /* aggregate id being folded */
    void *row;
    int slot;      /* the prepared upsert */
    int queued;    /* upserts in the open pipeline */
    bool in_pipe;
} rebuild_state;

/* The aggregate in `current` is complete: ask for its row, queue it. */
static int rebuild_flush(rebuild_state *rs, inc_error *err) {
    const inc_projection_desc *p = rs->p;
    if (!rs->current) return 0;
    inc_row_meta meta;
    memset(&meta, 0, sizeof meta);
    inc_msg_init(p->row, rs->row);
    int want = rs->cbs->row(rs->cbs->ud, rs->row, &meta, err);
    int rc = 0;
    if (want < 0) rc = -1;
    else if (want == 1) {
        if (!rs->in_pipe) {
            if (PQenterPipelineMode(rs->s->conn) != 1) {
                rc = pg_error(rs->s, NULL, "rebuild", err);
                goto out;
            }
            rs->in_pipe = true;
        }
        if (send_upsert(rs->s, p, rs->slot, rs->current, rs->row, &meta,
                        err) != 0)
            rc = -1;
        else rs->queued++;
    }
out:
    inc_msg_free(p->row, rs->row);
    free(rs->current);
    rs->current = NULL;
    return rc;
}

/* Send the queued upserts and wait for them. */
static int rebuild_sync(rebuild_state *rs, inc_error *err) {
    if (!rs->in_pipe) return 0;
    rs->in_pipe = false;
    if (PQpipelineSync(rs->s->conn) != 1) return pg_error(rs->s, NULL, "rebuild", err);
    int rc = pipe_finish(rs->s, rs->queued, "rebuild", NULL, NULL, err);
    rs->queued = 0;
    return rc;
}

/* Fold the events of one FETCH, flushing each aggregate's row when the
 * next aggregate starts. */
static int rebuild_rows(rebuild_state *rs, const PGresult *res, int64_t *done,
                        inc_error *err) {
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        inc_stored_event ev;
        if (parse_event_row(res, i, &ev, err) != 0) return -1;
        if (rs->current && strcmp(rs->current, ev.aggregate_id) != 0 &&
            rebuild_flush(rs, err) != 0)
            return -1;
        if (!rs->current && !(rs->current = inc_strdup(ev.aggregate_id)))
            return oom(err);
        if (rs->cbs->event(rs->cbs->ud, &ev, err) != 0) return -1;
        (*done)++;
    }
    return 0;
}

static int pg_rebuild(inc_store *base, const inc_projection_desc *p,
                      const inc_rebuild_cbs *cbs, inc_error *err) {
    pg_store *s = (pg_store *)base;
    rebuild_state rs;
    memset(&rs, 0, sizeof rs);
    rs.s = s;
    rs.p = p;
    rs.cbs = cbs;
    int64_t total = 0, done = 0;
    if (pg_ready(s, err) != 0 || prepare_now(s, p, &rs.slot, err) != 0)
        return -1;
    if (!(rs.row = malloc(p->row->size))) return oom(err);
    if (exec_simple(s, "BEGIN ISOLATION LEVEL REPEATABLE READ", "rebuild",
                    err) != 0 ||
        exec_simple(s, p->truncate_sql, "rebuild", err) != 0)
        goto fail;
    const char *vals[1] = {p->aggregate->name};
    PGresult *res = PQexecParams(
        s->conn, "SELECT count(*) FROM events WHERE aggregate_type = $1", 1,
        NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK ||
        parse_i64(PQgetvalue(res, 0, 0), &total) != 0) {
        pg_error(s, res, "rebuild", err);
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    res = PQexecParams(s->conn,
                       "DECLARE inc_rebuild NO SCROLL CURSOR FOR SELECT " EVENT_COLUMNS
                       " FROM events WHERE aggregate_type = $1 ORDER BY "
                       "aggregate_id COLLATE \"C\", version",
                       1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_error(s, res, "rebuild", err);
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    if (cbs->progress) cbs->progress(cbs->ud, 0, total);
    for (;;) {
        res = PQexec(s->conn, "FETCH " REBUILD_BATCH " FROM inc_rebuild");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            pg_error(s, res, "rebuild", err);
            PQclear(res);
            goto fail;
        }
        int n = PQntuples(res);
        int brc = rebuild_rows(&rs, res, &done, err);
        PQclear(res);
        if (brc != 0) goto fail;
        if (n == 0 && rebuild_flush(&rs, err) != 0) goto fail;
        if (rebuild_sync(&rs, err) != 0) goto fail;
        if (cbs->progress && (n > 0 || done == total))
            cbs->progress(cbs->ud, done, total);
        if (n == 0) break;
    }
    if (exec_simple(s, "CLOSE inc_rebuild", "rebuild", err) != 0 ||
        incx_pg_refill_done(s->conn, p, err) != 0 ||
        exec_simple(s, "COMMIT", "rebuild", err) != 0)
        goto fail;
    free(rs.row);
    return 0;
fail:
    if (rs.in_pipe && !conn_lost(s)) {
        inc_error ignore;
        rebuild_sync(&rs, &ignore);
    }
    free(rs.current);
    free(rs.row);
    rollback(s);
    return -1;
}

/* ---- several commits in one transaction (inc_dispatch_batch) ---- */

/* ---- a group's commits as multi-row statements (pg_multirow.c) ---- */

/* More commits than this go statement by statement (the check for
 * distinct streams below is quadratic). */
#define MULTIROW_MAX 256
/* More commits on one aggregate than this: statement by statement. */
#define MULTIROW_WAVES 4

/* Whether commits cs[0..n) can be written as multi-row statements: not on
 * Citus, at least two that write, no projection twice in one commit (and
 * many_rows_make: every projection's upsert of the shape aggc writes).
 * wave[i]: how many commits
 * before cs[i] write its aggregate id.  Each wave is a statement of its
 * own (a guard cannot see an event of its own statement, and an upsert
 * cannot set one row twice), in order; *n_waves: how many. */
static bool multirow_fits(const pg_store *s, const inc_commit *cs, size_t n,
                          unsigned char *wave, unsigned *n_waves) {
    size_t writing = 0;
    *n_waves = 0;
    if (s->citus || n < 2 || n > MULTIROW_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        const inc_commit *c = &cs[i];
        wave[i] = 0;
        if (c->command_id) return false;
        if (c->n_events == 0) continue;
        writing++;
        if (incx_store_check_text(c->aggregate_id, "aggregate_id", NULL) != 0)
            return false;
        for (size_t j = i; j-- > 0;)
            if (cs[j].n_events && strcmp(cs[j].aggregate_id, c->aggregate_id) == 0) {
                if (wave[j] == MULTIROW_WAVES - 1) return false;
                wave[i] = (unsigned char)(wave[j] + 1);
                break;
            }
        if (wave[i] + 1u > *n_waves) *n_waves = wave[i] + 1u;
        for (size_t r = 0; r < c->n_rows; r++) {
            for (size_t q = 0; q < r; q++)
                if (c->rows[q].projection == c->rows[r].projection) return false;
        }
    }
    return writing >= 2;
}

/* The projections the rows of cs[] write, each with its rows as the
 * multi-row upsert's parameter. */
typedef struct many_rows {
    const inc_projection_desc *p;
    incx_sbuf rows;
    int slot; /* of its prepared statement */
} many_rows;

static void many_rows_free(many_rows *m, size_t n) {
    for (size_t i = 0; i < n; i++) incx_sb_free(&m[i].rows);
    free(m);
}

/* -1: out of memory or a value the row-by-row path must report. */
static int many_rows_make(const inc_commit *cs, size_t n,
                          const unsigned char *wave, unsigned w,
                          many_rows **out, size_t *n_out) {
    size_t cap = 0, np = 0;
    for (size_t i = 0; i < n; i++)
        if (cs[i].n_events && wave[i] == w) cap += cs[i].n_rows;
    many_rows *m = calloc(cap ? cap : 1, sizeof *m);
    if (!m) return -1;
    for (size_t i = 0; i < n; i++) {
        const inc_commit *c = &cs[i];
        if (wave[i] != w) continue;
        for (size_t r = 0; c->n_events && r < c->n_rows; r++) {
            const inc_projection_desc *p = c->rows[r].projection;
            size_t j = 0;
            while (j < np && m[j].p != p) j++;
            if (j == np) {
                if (!incx_pg_upsert_many_fits(p)) { /* not aggc's shape */
                    many_rows_free(m, np);
                    return -1;
                }
                m[np].p = p;
                incx_sb_puts(&m[np++].rows, "[");
            }
            row_params rp;
            if (row_params_make(p, c->aggregate_id, c->rows[r].row,
                                &c->rows[r].meta, &rp, NULL) != 0) {
                many_rows_free(m, np);
                return -1;
            }
            incx_pg_row_json(&m[j].rows, m[j].rows.n == 1, rp.n, rp.vals,
                             rp.json);
            row_params_free(&rp);
        }
    }
    for (size_t j = 0; j < np; j++) {
        incx_sb_puts(&m[j].rows, "]");
        if (m[j].rows.oom) {
            many_rows_free(m, np);
            return -1;
        }
    }
    *out = m;
    *n_out = np;
    return 0;
}

/* Queue the PREPARE of p's multi-row upsert unless done (slot "NAME*",
 * a name no projection has); returns its slot and sets *queued. */
static int queue_prepare_many(pg_store *s, const inc_projection_desc *p,
                              bool *queued, inc_error *err) {
    char key[128];
    *queued = false;
    if (snprintf(key, sizeof key, "%s*", p->name) >= (int)sizeof key)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "projection name too long");
    int slot = prep_slot_of(s, key, err);
    if (slot < 0 || s->prepared[slot].state != PREP_NO) return slot;
    char *sql = incx_pg_upsert_many_sql(p), name[32];
    if (!sql) return oom(err);
    snprintf(name, sizeof name, "inc_up_%d", slot);
    int ok = PQsendPrepare(s->conn, name, sql, 1, NULL);
    free(sql);
    if (ok != 1) return pg_error(s, NULL, "prepare upsert", err);
    s->prepared[slot].state = PREP_QUEUED;
    *queued = true;
    return slot;
}

/* Commits cs[0..n) as ONE events INSERT and one upsert per projection
 * (then the snapshots, one by one), in one pipeline and transaction as
 * commit_pipeline.  0: committed.  1: not tried (multirow_fits), or the
 * server refused it and nothing was written: the caller runs the commits
 * statement by statement, which also tells which one failed (a conflict
 * or a rejected value costs one more round trip, rare in a group whose
 * states are current).  -1 with err: the connection failed or a result
 * could not be read (committed or not: unknown). */
static int commit_multirow(pg_store *s, const inc_commit *cs, size_t n,
                           inc_error *err) {
    unsigned char wave[MULTIROW_MAX];
    unsigned n_waves;
    if (!multirow_fits(s, cs, n, wave, &n_waves)) return 1;
    incx_sbuf ev[MULTIROW_WAVES];
    many_rows *m[MULTIROW_WAVES];
    size_t np[MULTIROW_WAVES];
    memset(ev, 0, sizeof ev);
    memset(m, 0, sizeof m);
    memset(np, 0, sizeof np);
    int rc = 0;
    pipe_log l;
    memset(&l, 0, sizeof l);
    l.s = s;
    l.cs = cs;
    l.n_cs = n;
    l.wave = wave;
    for (unsigned w = 0; w < n_waves; w++)
        if (incx_pg_events_json(cs, n, wave, w, &ev[w]) != 0 ||
            many_rows_make(cs, n, wave, w, &m[w], &np[w]) != 0) {
            rc = 1;
            goto out;
        }
    if (pg_ready(s, err) != 0) {
        rc = -1;
        goto out;
    }
    if (PQenterPipelineMode(s->conn) != 1) {
        rc = pg_error(s, NULL, "commit", err);
        goto out;
    }
    bool queued = true, q;
    for (unsigned w = 0; w < n_waves; w++) {
        for (size_t j = 0; queued && j < np[w]; j++) {
            many_rows *r = &m[w][j];
            r->slot = queue_prepare_many(s, r->p, &q, err);
            queued = r->slot >= 0 && (!q || log_add(&l, Q_PREPARE, r->slot, 0) == 0);
        }
        const char *v1[1] = {ev[w].p};
        queued = queued &&
                 PQsendQueryPrepared(s->conn, fixed[ST_INSERT_MANY].name, 1, v1,
                                     NULL, NULL, 0) == 1 &&
                 log_add(&l, Q_INSERT_MANY, (int)w, 0) == 0;
        for (size_t j = 0; queued && j < np[w]; j++) {
            char name[32];
            snprintf(name, sizeof name, "inc_up_%d", m[w][j].slot);
            const char *vr[1] = {m[w][j].rows.p};
            queued = PQsendQueryPrepared(s->conn, name, 1, vr, NULL, NULL, 0) == 1 &&
                     log_add(&l, Q_OTHER, 0, 0) == 0;
        }
    }
    for (size_t i = 0; queued && i < n; i++)
        if (cs[i].n_events && cs[i].snapshot_json)
            queued = send_snapshot(s, &cs[i], err) == 0 &&
                     log_add(&l, Q_OTHER, 0, i) == 0;
    if (!queued) {
        /* nothing synced: the server rolls back */
        if (err->kind == INC_OK) pg_error(s, NULL, "commit", err);
        drop_conn(s);
        rc = -1;
        goto out;
    }
    bool committed;
    rc = sync_and_read(s, &l, cs, n, &committed, err);
    if (conn_lost(s)) {
        forget_prepared(s);
        if (rc == 0 && !committed) rc = pg_error(s, NULL, "commit", err);
    } else if (rc != 0 && !l.bad_result && err->kind != INC_ERR_UNAVAILABLE) {
        /* the server refused the transaction: nothing was written */
        if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF) drop_conn(s);
        inc_error_clear(err);
        rc = 1;
    }
out:
    log_free(&l);
    for (unsigned w = 0; w < MULTIROW_WAVES; w++) {
        incx_sb_free(&ev[w]);
        many_rows_free(m[w], np[w]);
    }
    return rc;
}

static int pg_commit_many(inc_store *base, const inc_commit *cs, size_t n,
                          size_t *failed, inc_error *err) {
    pg_store *s = (pg_store *)base;
    inc_error local;
    for (size_t k = 0; k < n; k++)
        if (cs[k].command_id) { /* as the memory store: batches take none */
            if (failed) *failed = k;
            return inc_error_set(err, INC_ERR_INVALID, "unsupported",
                                 "commit_many: commits carry no command id");
        }
    if (!err) {
        inc_error_clear(&local);
        err = &local;
    }
    int rc = commit_multirow(s, cs, n, err);
    if (rc <= 0) {
        if (rc < 0 && failed) *failed = n;
        return rc;
    }
    return commit_pipeline(s, cs, n, failed, err);
}

/* ---- construction ---- */

#define PG_OPS(commit_many)                                                    \
    {                                                                          \
        "postgres",        pg_close,          pg_init,                        \
        pg_load,           pg_commit,         pg_read_stream,                 \
        pg_read_all,       pg_projection_get, pg_projection_list,             \
        pg_rebuild,        commit_many,       pg_load_many,                   \
        pg_command_get,    pg_prune_command_ids,                              \
        &incx_pg_log_ops,  pg_init_report,                                    \
        incx_pg_query,     pg_command_get_in,                                 \
    }
static const inc_store_ops pg_ops = PG_OPS(pg_commit_many);
/* On Citus, no commit_many: one transaction per command, so none spans
 * shards.  A transaction over several workers commits in two phases, and
 * the workers' COMMIT PREPARED comes after the coordinator's own commit,
 * which would let a follower's horizon pass rows not yet visible
 * (docs/scale-out.md).  Batches and groups then commit command by
 * command. */
static const inc_store_ops pg_citus_ops = PG_OPS(NULL);

void inc_pg_store_set_notify(inc_store *base, bool on) {
    if (base && (base->ops == &pg_ops || base->ops == &pg_citus_ops))
        ((pg_store *)base)->notify = on;
}

void incx_pg_store_session_options(const inc_store *base, inc_pg_options *out,
                                   bool *citus) {
    const pg_store *s = (const pg_store *)base;
    out->conninfo = s->conninfo;
    out->schema = s->schema;
    *citus = s->citus;
}

inc_store *inc_pg_store_open(const inc_pg_options *opts, inc_error *err) {
    pg_store *s = calloc(1, sizeof *s);
    if (!s) {
        oom(err);
        return NULL;
    }
    s->base.ops = &pg_ops;
    /* checked before anything reaches the server (docs/runtime.md) */
    if (opts && opts->schema && *opts->schema &&
        incx_check_schema_name(opts->schema, err) != 0) {
        pg_close(&s->base);
        return NULL;
    }
    if (opts && opts->conninfo && !(s->conninfo = inc_strdup(opts->conninfo)))
        goto nomem;
    if (opts && opts->schema && *opts->schema &&
        !(s->schema = inc_strdup(opts->schema)))
        goto nomem;
    if (pg_connect(s, err) != 0) {
        pg_close(&s->base);
        return NULL;
    }
    if (s->citus) s->base.ops = &pg_citus_ops;
    return &s->base;
nomem:
    oom(err);
    pg_close(&s->base);
    return NULL;
}
