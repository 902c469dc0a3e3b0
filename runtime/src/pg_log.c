/* pg_log.c - the PostgreSQL side of subscriptions: the commit-ordered read
 * of `events`, the consumers' checkpoints and LISTEN wake-ups
 * (<incident/subscription.h>, docs/subscriptions.md).
 *
 * Why the read never skips: every event row carries the id of the
 * transaction that wrote it (events.transaction_id, default
 * pg_current_xact_id()).  A read takes only rows whose transaction id is
 * below the xmin of its own snapshot (pg_snapshot_xmin(pg_current_snapshot())):
 * every transaction below that xmin has ended, so the snapshot already
 * shows all the rows it will ever have, and any transaction still able to
 * commit has an id at or above it, i.e. after the checkpoint the reader
 * keeps, which is a (transaction id, position) pair.  Rows come in
 * (transaction id, position) order from the index events_commit_order.
 *
 * A session is a connection of its own (it LISTENs, and a handler may use
 * the store meanwhile), opened from the store's conninfo and schema. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "internal.h"
#include "pg_internal.h"
#include "store_util.h"

#define NOTIFY_CHANNEL "incident_events"

const char incx_pg_schema_v2[] =
    /* An INSERT naming only the version 1 columns stays a valid append:
     * the default fills the column.  Existing rows get init's own id
     * (the table is rewritten once), which orders them as before. */
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS transaction_id xid8 NOT "
    "NULL DEFAULT pg_current_xact_id();\n"
    "CREATE INDEX IF NOT EXISTS events_commit_order ON events "
    "(transaction_id, position);\n"
    "CREATE TABLE IF NOT EXISTS consumers (\n"
    "    name text NOT NULL,\n"
    "    member int NOT NULL CHECK (member >= 0),\n"
    "    group_size int NOT NULL CHECK (group_size >= 1),\n"
    "    transaction_id xid8 NOT NULL DEFAULT '0',\n"
    "    position bigint NOT NULL DEFAULT 0,\n"
    "    updated_at timestamptz NOT NULL DEFAULT now(),\n"
    "    PRIMARY KEY (name, member)\n"
    ");\n";

/* $1,$2 the checkpoint; $3 aggregate types, $4 event types (text[] or
 * NULL); $5 limit; $6 group size, $7 member.  The first column of every
 * row is the snapshot's xmin, so an empty read still says how far the
 * log is complete.  A stream's group member: its hash modulo the size. */
static const char read_sql[] =
    "WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x) "
    "SELECT h.x::text, e.transaction_id::text, e.position, e.event_id::text, "
    "e.aggregate_type, e.aggregate_id, e.version, e.event_type, "
    "e.data::text, e.metadata::text, "
    "(extract(epoch FROM e.event_date) * 1000000)::int8, e.schema_version "
    "FROM h LEFT JOIN LATERAL (SELECT * FROM events e "
    "WHERE (e.transaction_id, e.position) > ($1::xid8, $2::int8) "
    "AND e.transaction_id < h.x "
    "AND ($3::text[] IS NULL OR e.aggregate_type = ANY ($3::text[])) "
    "AND ($4::text[] IS NULL OR e.event_type = ANY ($4::text[])) "
    "AND ($6::int4 <= 1 OR (hashtextextended(e.aggregate_type || '/' || "
    "e.aggregate_id, 0) & 9223372036854775807) % $6::int4 = $7::int4) "
    "ORDER BY e.transaction_id, e.position LIMIT $5::int8) e ON true";
/* (No ORDER BY outside: a nested loop over the one row of `h` returns
 * the inner rows in their order, which pg_log_read checks anyway.) */
#define READ_STATEMENT "inc_log_read"

/* The read on Citus (docs/scale-out.md): events is distributed, and Citus
 * cannot plan read_sql's lateral join.  The horizon $8 is taken on the
 * coordinator by a statement of its own, before this one reads the
 * shards: events.transaction_id holds the coordinator's transaction ids
 * (column defaults of an INSERT through the coordinator are evaluated
 * there), and a command's one-phase commit commits on the worker before
 * the coordinator, so every transaction below $8 is visible on the
 * workers when they are read.  Same columns as read_sql; no row when
 * nothing matched (the horizon is then $8 itself). */
static const char citus_read_sql[] =
    "SELECT $8::text, e.transaction_id::text, e.position, e.event_id::text, "
    "e.aggregate_type, e.aggregate_id, e.version, e.event_type, "
    "e.data::text, e.metadata::text, "
    "(extract(epoch FROM e.event_date) * 1000000)::int8, e.schema_version "
    "FROM events e "
    "WHERE (e.transaction_id, e.position) > ($1::xid8, $2::int8) "
    "AND e.transaction_id < $8::xid8 "
    "AND ($3::text[] IS NULL OR e.aggregate_type = ANY ($3::text[])) "
    "AND ($4::text[] IS NULL OR e.event_type = ANY ($4::text[])) "
    "AND ($6::int4 <= 1 OR (hashtextextended(e.aggregate_type || '/' || "
    "e.aggregate_id, 0) & 9223372036854775807) % $6::int4 = $7::int4) "
    "ORDER BY e.transaction_id, e.position LIMIT $5::int8";


typedef struct pg_log {
    PGconn *conn;
    char *conninfo, *schema;
    bool in_tx;
    bool prepared; /* READ_STATEMENT on this connection */
    bool citus;    /* the citus extension is in the database (the store's
                      connection found it) */
} pg_log;

/* ---- errors and the connection ---- */

static bool lost(const pg_log *l) { return incx_pg_conn_lost(l->conn); }

static int log_error(pg_log *l, const PGresult *res, const char *what,
                     inc_error *err) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* a missing column: the store predates subscriptions */
    if (state && strcmp(state, "42703") == 0) {
        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        return inc_error_set(err, INC_ERR_INTERNAL, "not_initialised",
                             "%s: %s (run `init` first)", what, m ? m : "");
    }
    return incx_pg_error(l->conn, res, what, err);
}

static int oom(inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

static void quiet(void *ud, const char *m) {
    (void)ud;
    (void)m;
}

/* A statement with text parameters; the result, or NULL (err set). */
static PGresult *run(pg_log *l, const char *sql, int n,
                     const char *const *vals, const char *what,
                     inc_error *err) {
    PGresult *res = PQexecParams(l->conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
    log_error(l, res, what, err);
    PQclear(res);
    if (lost(l)) l->in_tx = false;
    return NULL;
}

static int connect_log(pg_log *l, inc_error *err) {
    if (l->conn) PQfinish(l->conn);
    l->in_tx = false;
    l->prepared = false;
    l->conn = PQconnectdb(l->conninfo ? l->conninfo : "");
    if (!l->conn) return oom(err);
    if (PQstatus(l->conn) != CONNECTION_OK) {
        int rc = log_error(l, NULL, "connect", err);
        PQfinish(l->conn);
        l->conn = NULL;
        return rc;
    }
    PQsetNoticeProcessor(l->conn, quiet, NULL);
    const char *vals[2] = {l->schema, l->citus ? "true" : "false"};
    PGresult *res = run(l,
                        "SELECT set_config('search_path', CASE WHEN $1::text "
                        "IS NULL THEN current_setting('search_path') ELSE "
                        "quote_ident($1) END, false), "
                        /* visible in pg_stat_activity, unless named */
                        "set_config('application_name', CASE WHEN "
                        "current_setting('application_name') = '' THEN "
                        "'incident consumer' ELSE "
                        "current_setting('application_name') END, false), "
                        /* reads keep their row order (see read_sql) */
                        "set_config('max_parallel_workers_per_gather', '0', "
                        "false), "
                        /* the read's one plan serves every batch: planning
                         * it again costs a tenth of reading 2,000 rows */
                        /* (Citus cannot plan a multi-shard read
                         * generically) */
                        "set_config('plan_cache_mode', CASE WHEN $2::bool "
                        "THEN 'force_custom_plan' ELSE 'force_generic_plan' "
                        "END, false)",
                        2, vals, "connect", err);
    if (!res) return -1;
    PQclear(res);
    if (!(res = run(l, "LISTEN " NOTIFY_CHANNEL, 0, NULL, "connect", err)))
        return -1;
    PQclear(res);
    return 0;
}

/* A connection, made again when lost (never inside a transaction: that
 * one is gone, and the caller has been told). */
static int ready(pg_log *l, inc_error *err) {
    if (!lost(l)) return 0;
    if (l->in_tx) {
        l->in_tx = false;
        return inc_error_set(err, INC_ERR_UNAVAILABLE, "unavailable",
                             "connection lost in a transaction");
    }
    return connect_log(l, err);
}

static void pg_log_close(inc_log_session *ls) {
    pg_log *l = (pg_log *)ls;
    if (!l) return;
    if (l->conn) PQfinish(l->conn);
    free(l->conninfo);
    free(l->schema);
    free(l);
}

static inc_log_session *pg_log_open(inc_store *s, inc_error *err) {
    inc_pg_options o;
    bool citus = false;
    incx_pg_store_session_options(s, &o, &citus);
    pg_log *l = calloc(1, sizeof *l);
    if (!l || (o.conninfo && !(l->conninfo = inc_strdup(o.conninfo))) ||
        (o.schema && !(l->schema = inc_strdup(o.schema)))) {
        pg_log_close((inc_log_session *)l);
        oom(err);
        return NULL;
    }
    l->citus = citus;
    if (connect_log(l, err) != 0) {
        pg_log_close((inc_log_session *)l);
        return NULL;
    }
    return (inc_log_session *)l;
}

/* ---- text conversions ---- */

static int to_i64(const char *t, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (errno || end == t || *end) return -1;
    *out = v;
    return 0;
}

static int to_u64(const char *t, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(t, &end, 10);
    if (errno || end == t || *end || *t == '-') return -1;
    *out = v;
    return 0;
}

/* A text[] literal {"a","b"} of n names, or NULL for n == 0 (*out NULL).
 * -1 on OOM or invalid text. */
static int text_array(const char *const *v, size_t n, char **out,
                      inc_error *err) {
    *out = NULL;
    if (!v || n == 0) return 0;
    size_t len = 3;
    for (size_t i = 0; i < n; i++) {
        if (incx_store_check_text(v[i], "filter", err) != 0) return -1;
        len += 2 * strlen(v[i]) + 3;
    }
    char *a = malloc(len), *p = a;
    if (!a) return oom(err);
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = ',';
        *p++ = '"';
        for (const char *c = v[i]; *c; c++) {
            if (*c == '"' || *c == '\\') *p++ = '\\';
            *p++ = *c;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    *out = a;
    return 0;
}

/* ---- read ---- */

/* Whether the event rows come in (transaction id, position) order. */
static bool in_order(const PGresult *res) {
    uint64_t pt = 0, t;
    int64_t pp = 0, p;
    for (int r = 0; r < PQntuples(res); r++) {
        if (PQgetisnull(res, r, 1)) continue;
        if (to_u64(PQgetvalue(res, r, 1), &t) != 0 ||
            to_i64(PQgetvalue(res, r, 2), &p) != 0)
            return true; /* unreadable: reported by the caller's parse */
        if (r > 0 && (t < pt || (t == pt && p <= pp))) return false;
        pt = t;
        pp = p;
    }
    return true;
}

/* Citus: the coordinator's snapshot xmin, in a statement of its own
 * (citus_read_sql). */
static int citus_horizon(pg_log *l, char *out, size_t cap, inc_error *err) {
    PGresult *res = run(l, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text",
                        0, NULL, "read log", err);
    if (!res) return -1;
    int rc = 0;
    if (PQntuples(res) != 1 || strlen(PQgetvalue(res, 0, 0)) >= cap)
        rc = inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                           "read log: unreadable snapshot xmin");
    else
        snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

static int pg_log_read(inc_log_session *ls, const inc_log_query *q,
                       inc_log_cb cb, void *ud, inc_log_position *scanned,
                       inc_error *err) {
    pg_log *l = (pg_log *)ls;
    char tx[32], pos[32], lim[32], gs[16], gm[16];
    char *types = NULL, *events = NULL;
    *scanned = q->after;
    if (text_array(q->aggregate_types, q->n_aggregate_types, &types, err) != 0 ||
        text_array(q->event_types, q->n_event_types, &events, err) != 0) {
        free(types);
        return -1;
    }
    snprintf(tx, sizeof tx, "%" PRIu64, q->after.transaction_id);
    snprintf(pos, sizeof pos, "%" PRId64, q->after.position);
    snprintf(lim, sizeof lim, "%zu", q->limit ? q->limit : 1);
    snprintf(gs, sizeof gs, "%u", q->group_size);
    snprintf(gm, sizeof gm, "%u", q->group_member);
    char horizon[32] = "";
    const char *vals[8] = {tx, pos, types, events, lim, gs, gm, horizon};
    PGresult *res = NULL;
    int ready_rc = ready(l, err);
    if (ready_rc == 0 && l->citus &&
        citus_horizon(l, horizon, sizeof horizon, err) != 0)
        ready_rc = -1;
    if (ready_rc == 0 && !l->prepared) {
        /* prepared once per connection: planning would cost more than
         * reading a batch */
        PGresult *p = PQprepare(l->conn, READ_STATEMENT,
                                l->citus ? citus_read_sql : read_sql,
                                l->citus ? 8 : 7, NULL);
        if (PQresultStatus(p) == PGRES_COMMAND_OK) l->prepared = true;
        else log_error(l, p, "read log", err);
        PQclear(p);
    }
    if (ready_rc == 0 && l->prepared) {
        res = PQexecPrepared(l->conn, READ_STATEMENT, l->citus ? 8 : 7, vals,
                             NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            log_error(l, res, "read log", err);
            PQclear(res);
            res = NULL;
            if (lost(l)) l->in_tx = false;
        }
    }
    free(types);
    free(events);
    if (!res) return -1;
    int rc = 0, nt = PQntuples(res), delivered = 0;
    uint64_t xmin = 0;
    if (l->citus && to_u64(horizon, &xmin) != 0) xmin = 0;
    if (!in_order(res)) {
        PQclear(res);
        return inc_error_set(err, INC_ERR_INTERNAL, "unordered",
                             "read log: rows out of order");
    }
    for (int r = 0; r < nt && rc == 0; r++) {
        if (to_u64(PQgetvalue(res, r, 0), &xmin) != 0) {
            rc = inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                               "unreadable snapshot xmin");
            break;
        }
        if (PQgetisnull(res, r, 1)) continue; /* no event: the xmin row */
        inc_stored_event ev;
        inc_log_position at;
        int64_t sv;
        memset(&ev, 0, sizeof ev);
        if (to_u64(PQgetvalue(res, r, 1), &at.transaction_id) != 0 ||
            to_i64(PQgetvalue(res, r, 2), &at.position) != 0 ||
            to_i64(PQgetvalue(res, r, 6), &ev.version) != 0 ||
            to_i64(PQgetvalue(res, r, 10), &ev.event_date) != 0 ||
            to_i64(PQgetvalue(res, r, 11), &sv) != 0 || sv < 1 ||
            sv > INT32_MAX || strlen(PQgetvalue(res, r, 3)) != 36) {
            rc = inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                               "unreadable event row");
            break;
        }
        ev.position = at.position;
        memcpy(ev.event_id, PQgetvalue(res, r, 3), INC_UUID_TEXT_SIZE);
        ev.aggregate_type = PQgetvalue(res, r, 4);
        ev.aggregate_id = PQgetvalue(res, r, 5);
        ev.event_type = PQgetvalue(res, r, 7);
        ev.data = PQgetvalue(res, r, 8);
        ev.metadata = PQgetvalue(res, r, 9);
        ev.schema_version = (unsigned)sv;
        rc = cb(ud, &ev, &at, err);
        if (rc == 0) {
            *scanned = at;
            delivered++;
        }
    }
    /* Fewer than asked for: every matching event below xmin was read. */
    if (rc == 0 && (size_t)delivered < q->limit && xmin > 0) {
        /* (xmin, 0): every position of a transaction below xmin is
         * behind it, and none of xmin's own (positions start at 1) */
        inc_log_position all = {xmin, 0};
        if (all.transaction_id > scanned->transaction_id ||
            (all.transaction_id == scanned->transaction_id &&
             all.position > scanned->position))
            *scanned = all;
    }
    PQclear(res);
    return rc;
}

/* ---- checkpoints ---- */

static int pg_log_checkpoint(inc_log_session *ls, const char *name,
                             unsigned member, unsigned group_size,
                             inc_log_position *out, inc_error *err) {
    pg_log *l = (pg_log *)ls;
    char m[16], g[16];
    snprintf(m, sizeof m, "%u", member);
    snprintf(g, sizeof g, "%u", group_size);
    const char *vals[3] = {name, m, g};
    if (incx_store_check_text(name, "consumer name", err) != 0 ||
        ready(l, err) != 0)
        return -1;
    PGresult *res = run(
        l,
        "WITH i AS (INSERT INTO consumers (name, member, group_size) VALUES "
        "($1, $2::int4, $3::int4) ON CONFLICT (name, member) DO NOTHING "
        "RETURNING transaction_id, position, group_size) "
        "SELECT transaction_id::text, position, group_size FROM i UNION ALL "
        "SELECT transaction_id::text, position, group_size FROM consumers "
        "WHERE name = $1 AND member = $2::int4",
        3, vals, "consumer checkpoint", err);
    if (!res) return -1;
    int rc = 0;
    int64_t size = 0;
    if (PQntuples(res) != 1 ||
        to_u64(PQgetvalue(res, 0, 0), &out->transaction_id) != 0 ||
        to_i64(PQgetvalue(res, 0, 1), &out->position) != 0 ||
        to_i64(PQgetvalue(res, 0, 2), &size) != 0)
        rc = inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                           "unreadable checkpoint of consumer %s", name);
    else if (size != (int64_t)group_size)
        rc = inc_error_set(err, INC_ERR_INVALID, "group_size",
                           "consumer %s has a group of %lld, not %u", name,
                           (long long)size, group_size);
    PQclear(res);
    return rc;
}

static int pg_log_save(inc_log_session *ls, const char *name,
                       unsigned member, const inc_log_position *from,
                       const inc_log_position *to, inc_error *err) {
    pg_log *l = (pg_log *)ls;
    char m[16], ft[32], fp[32], tt[32], tp[32];
    snprintf(m, sizeof m, "%u", member);
    snprintf(ft, sizeof ft, "%" PRIu64, from->transaction_id);
    snprintf(fp, sizeof fp, "%" PRId64, from->position);
    snprintf(tt, sizeof tt, "%" PRIu64, to->transaction_id);
    snprintf(tp, sizeof tp, "%" PRId64, to->position);
    const char *vals[6] = {name, m, ft, fp, tt, tp};
    if (ready(l, err) != 0) return -1;
    /* Compare and set: a second process running the same consumer loses
     * here instead of moving the checkpoint over events it never saw.
     * On its own (not in a transactional batch) it commits without
     * waiting for the WAL flush: a server crash may forget the last
     * moves, which only repeats events (at least once), and the
     * consumer does not wait for a disk flush per batch. */
    PGresult *res = run(
        l,
        l->in_tx ? "UPDATE consumers SET transaction_id = $5::xid8, position = "
                   "$6::int8, updated_at = now() WHERE name = $1 AND member = "
                   "$2::int4 AND transaction_id = $3::xid8 AND position = "
                   "$4::int8"
                 : "WITH a AS (SELECT set_config('synchronous_commit', 'off', "
                   "true)) UPDATE consumers SET transaction_id = $5::xid8, "
                   "position = $6::int8, updated_at = now() FROM a WHERE name "
                   "= $1 AND member = $2::int4 AND transaction_id = $3::xid8 "
                   "AND position = $4::int8",
        6, vals, "save checkpoint", err);
    if (!res) return -1;
    int rc = 0;
    if (strcmp(PQcmdTuples(res), "1") != 0)
        rc = inc_error_set(err, INC_ERR_CONFLICT, "checkpoint_moved",
                           "consumer %s: the checkpoint was moved by another "
                           "process",
                           name);
    PQclear(res);
    return rc;
}

/* ---- transactions ---- */

static int simple(pg_log *l, const char *sql, const char *what,
                  inc_error *err) {
    PGresult *res = run(l, sql, 0, NULL, what, err);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

static int pg_log_begin(inc_log_session *ls, inc_error *err) {
    pg_log *l = (pg_log *)ls;
    if (ready(l, err) != 0 || simple(l, "BEGIN", "begin", err) != 0) return -1;
    l->in_tx = true;
    return 0;
}

static int pg_log_commit(inc_log_session *ls, inc_error *err) {
    pg_log *l = (pg_log *)ls;
    if (lost(l) || !l->in_tx) {
        l->in_tx = false;
        return inc_error_set(err, INC_ERR_UNAVAILABLE, "unavailable",
                             "commit: the transaction was lost");
    }
    int rc = simple(l, "COMMIT", "commit", err);
    l->in_tx = false;
    if (rc == 0 && PQtransactionStatus(l->conn) != PQTRANS_IDLE)
        rc = inc_error_set(err, INC_ERR_INTERNAL, "database",
                           "commit: transaction still open");
    return rc;
}

static void pg_log_rollback(inc_log_session *ls) {
    pg_log *l = (pg_log *)ls;
    l->in_tx = false;
    if (!lost(l) && PQtransactionStatus(l->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(l->conn, "ROLLBACK");
        PQclear(res);
    }
}

static int pg_log_exec(inc_log_session *ls, const char *sql, int nparams,
                       const char *const *params, inc_error *err) {
    pg_log *l = (pg_log *)ls;
    if (!sql || nparams < 0)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_argument",
                             "exec: no statement");
    if (ready(l, err) != 0) return -1;
    PGresult *res = run(l, sql, nparams, params, "exec", err);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

/* ---- wake-ups ---- */

static int drain(pg_log *l) {
    int got = 0;
    PGnotify *n;
    while ((n = PQnotifies(l->conn)) != NULL) {
        got = 1;
        PQfreemem(n);
    }
    return got;
}

static int pg_log_wait(inc_log_session *ls, int timeout_ms, inc_error *err) {
    pg_log *l = (pg_log *)ls;
    (void)err;
    if (lost(l) || l->in_tx) {
        /* the next read reconnects (and LISTENs again); just wait */
        struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return 0;
    }
    if (PQconsumeInput(l->conn) == 1 && drain(l)) return 1;
    struct pollfd p = {PQsocket(l->conn), POLLIN, 0};
    int r = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (r <= 0) return 0; /* timeout, or a signal (EINTR) */
    if (PQconsumeInput(l->conn) != 1) return 0; /* lost: the read reports */
    return drain(l);
}

/* ---- listing ---- */

/* Citus: events after a checkpoint (pg_log_list). */
static int citus_lag(pg_log *l, const char *tx, const char *pos, int64_t *lag,
                     inc_error *err) {
    const char *vals[2] = {tx, pos};
    PGresult *res = run(l,
                        "SELECT count(*) FROM events e WHERE (e.transaction_id, "
                        "e.position) > ($1::xid8, $2::int8)",
                        2, vals, "consumers", err);
    if (!res) return -1;
    int rc = 0;
    if (PQntuples(res) != 1 || to_i64(PQgetvalue(res, 0, 0), lag) != 0)
        rc = inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                           "consumers: unreadable lag");
    PQclear(res);
    return rc;
}

static int pg_log_list(inc_log_session *ls, inc_consumer_info_cb cb,
                       void *ud, inc_error *err) {
    pg_log *l = (pg_log *)ls;
    if (ready(l, err) != 0) return -1;
    /* On Citus consumers is a local table and events a distributed one,
     * which one statement cannot join: the lag is counted row by row. */
    PGresult *res = run(
        l,
        l->citus
            ? "SELECT c.name, c.member, c.group_size, c.transaction_id::text, "
              "c.position, (extract(epoch FROM c.updated_at) * 1000000)::int8, "
              "NULL FROM consumers c ORDER BY c.name COLLATE \"C\", c.member"
            : "SELECT c.name, c.member, c.group_size, c.transaction_id::text, "
              "c.position, (extract(epoch FROM c.updated_at) * 1000000)::int8, "
              "(SELECT count(*) FROM events e WHERE (e.transaction_id, "
              "e.position) > (c.transaction_id, c.position)) FROM consumers c "
              "ORDER BY c.name COLLATE \"C\", c.member",
        0, NULL, "consumers", err);
    if (!res) return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        inc_consumer_info ci;
        int64_t m, g;
        memset(&ci, 0, sizeof ci);
        ci.name = PQgetvalue(res, r, 0);
        if (to_i64(PQgetvalue(res, r, 1), &m) != 0 ||
            to_i64(PQgetvalue(res, r, 2), &g) != 0 ||
            to_u64(PQgetvalue(res, r, 3), &ci.checkpoint.transaction_id) != 0 ||
            to_i64(PQgetvalue(res, r, 4), &ci.checkpoint.position) != 0 ||
            to_i64(PQgetvalue(res, r, 5), &ci.updated_at) != 0 ||
            (!l->citus && to_i64(PQgetvalue(res, r, 6), &ci.lag) != 0)) {
            rc = inc_error_set(err, INC_ERR_INTERNAL, "corrupt_row",
                               "unreadable consumers row");
            break;
        }
        if (l->citus && citus_lag(l, PQgetvalue(res, r, 3),
                                  PQgetvalue(res, r, 4), &ci.lag, err) != 0) {
            rc = -1;
            break;
        }
        ci.group_member = (unsigned)m;
        ci.group_size = (unsigned)g;
        rc = cb(ud, &ci, err);
    }
    PQclear(res);
    return rc;
}

static int pg_log_remove(inc_log_session *ls, const char *name,
                         inc_error *err) {
    pg_log *l = (pg_log *)ls;
    const char *vals[1] = {name};
    if (incx_store_check_text(name, "consumer name", err) != 0 ||
        ready(l, err) != 0)
        return -1;
    PGresult *res = run(l, "DELETE FROM consumers WHERE name = $1", 1, vals,
                        "delete consumer", err);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

const struct inc_log_ops incx_pg_log_ops = {
    pg_log_open,  pg_log_close,  pg_log_read, pg_log_checkpoint,
    pg_log_save,  pg_log_begin,  pg_log_commit, pg_log_rollback,
    pg_log_exec,  pg_log_wait,   pg_log_list, pg_log_remove,
};
