/* pg_internal.h - what the PostgreSQL store (pg_store.c) and its
 * subscription side (pg_log.c) share (not installed). */
#ifndef INCIDENT_PG_INTERNAL_H
#define INCIDENT_PG_INTERNAL_H

#include <stdbool.h>

#include <libpq-fe.h>

#include <incident/store.h>
#include <incident/subscription.h>

/* The log and consumer operations of the PostgreSQL store (pg_log.c). */
extern const struct inc_log_ops incx_pg_log_ops;

/* Schema version 2 (run by pg_store.c's init inside its transaction):
 * events.transaction_id, its index and the consumers table. */
extern const char incx_pg_schema_v2[];

/* Schema version 3 (pg_migrate.c): events.schema_version (earlier events
 * read as 1) and projection_refills. */
extern const char incx_pg_schema_v3[];

/* Projection tables (pg_migrate.c), inside init's transaction: which of
 * d's tables exist before its DDL runs (*existed: malloc'd, one per
 * projection), then, after it, every table brought to its declared
 * columns, the changes and the pending refills reported to cb. */
int incx_pg_projections_existing(PGconn *conn, const inc_domain *d,
                                 bool **existed, inc_error *err);
int incx_pg_migrate_projections(PGconn *conn, const inc_domain *d,
                                const bool *existed, inc_table_change_cb cb,
                                void *ud, inc_error *err);
/* The SQL type of a projection column (pg_migrate.c; as information_schema
 * spells it, also valid in DDL and column definition lists). */
const char *incx_pg_column_type(const inc_field_desc *f);
/* In a rebuild's transaction: p is refilled, no longer pending. */
int incx_pg_refill_done(PGconn *conn, const inc_projection_desc *p,
                        inc_error *err);

/* pg_store.c's error mapping, on any connection: whether it is gone,
 * whether a failed result (may be NULL) means the session is gone, and
 * the inc_error for it (kind by SQLSTATE; returns -1). */
/* One statement with text parameters (pg_migrate.c): -1 with err (what
 * "init") on failure; the result in *out when out is not NULL.  _bool:
 * whether the one row's first value is 't'. */
int incx_pg_run(PGconn *conn, const char *sql, int n, const char *const *vals,
                PGresult **out, inc_error *err);
int incx_pg_run_bool(PGconn *conn, const char *sql, int n,
                     const char *const *vals, bool *out, inc_error *err);

/* Citus (pg_citus.c, docs/scale-out.md): whether the extension is in
 * the database; init's distribution of the per-aggregate tables. */
int incx_pg_citus_installed(PGconn *conn, bool *installed, inc_error *err);
int incx_pg_citus_distribute(PGconn *conn, const inc_domain *d,
                             inc_table_change_cb cb, void *ud,
                             inc_error *err);

bool incx_pg_conn_lost(const PGconn *conn);
bool incx_pg_disconnected(const PGconn *conn, const PGresult *res);
int incx_pg_error(const PGconn *conn, const PGresult *res, const char *what,
                 inc_error *err);

/* The conninfo and schema the store was opened with, for another session
 * of the same store (borrowed: valid while the store is open). */
void incx_pg_store_session_options(const inc_store *s, inc_pg_options *out,
                                   bool *citus);

/* Run `sql` (text parameters) and hand each row, read as p's row the
 * way projection_get reads it (select_sql's columns), to `cb`
 * (pg_store.c, for pg_query.c). */
int incx_pg_projection_rows(inc_store *s, const inc_projection_desc *p,
                            const char *sql, int nparams,
                            const char *const *values, inc_row_cb cb, void *ud,
                            inc_error *err);

/* The `query` operation (pg_query.c). */
int incx_pg_query(inc_store *s, const inc_projection_desc *p,
                  const inc_query *q, inc_row_cb cb, void *ud, inc_error *err);

/* Multi-row statements for a group's commits (pg_multirow.c, used by
 * pg_store.c's commit_many).  A growable text; `oom` once an allocation
 * failed (then nothing more is added). */
typedef struct incx_sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} incx_sbuf;
void incx_sb_put(incx_sbuf *b, const char *s, size_t n);
void incx_sb_puts(incx_sbuf *b, const char *s);
void incx_sb_json_string(incx_sbuf *b, const char *s);
void incx_sb_free(incx_sbuf *b);
/* The events of the commits cs[i] with wave[i] == w as the multi-row
 * INSERT's jsonb parameter; -1: out of memory or a date out of range. */
int incx_pg_events_json(const inc_commit *cs, size_t n,
                        const unsigned char *wave, unsigned w, incx_sbuf *b);
/* Whether p's upsert_sql is of the shape aggc writes, and p's upsert
 * for many rows (one jsonb parameter), malloc'd (NULL: not that shape, or
 * out of memory). */
bool incx_pg_upsert_many_fits(const inc_projection_desc *p);
char *incx_pg_upsert_many_sql(const inc_projection_desc *p);
/* Append one row (upsert_sql's n parameters) to that parameter. */
void incx_pg_row_json(incx_sbuf *b, bool first, int n, const char *const *vals,
                      char *const *json);

#endif
