/* rel.h - shared helpers of the reliability suites (tests/reliability):
 * a schema per test on a given server, bank apps (with or without the
 * transfer saga), and the consistency checks every scenario ends with.
 *
 * The checks read the database from outside the store (libpq) and through
 * the runtime, and report every problem they find on stderr:
 *   rel_verify_streams    every stream's versions are 1..N, no gap, no dup;
 *   rel_verify_replay     for every stream: a full replay from version 1
 *                         (no snapshot) equals inc_app_state (snapshot +
 *                         tail), and every projection row of the aggregate
 *                         equals the projection of that replay, with the
 *                         stream's last version; no row without a stream;
 *   rel_verify_money      sum of bank_accounts balances = deposits -
 *                         withdrawals - money in flight (sent, neither
 *                         received nor given back), summed over the events;
 *                         no transfer moved money twice;
 *   rel_verify_transfers  (once no transfer is unfinished) completed
 *                         transfers sent and received exactly once;
 *                         cancelled ones received nothing and gave back
 *                         what they sent; nothing in flight;
 *   rel_count_unfinished  transfers not completed/cancelled. */
#ifndef REL_H
#define REL_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <incident/app.h>
#include <incident/store.h>

/* $INCIDENT_DB; fails the test (never skips) when unset. */
const char *rel_db(void);

/* Create a fresh schema "rel_<tag>_<pid>_<n>" on `db`; out: its name. */
void rel_schema_create(const char *db, const char *tag, char out[64]);
void rel_schema_drop(const char *db, const char *schema);

/* A libpq connection to `db` with search_path = schema (fails the test). */
PGconn *rel_conn(const char *db, const char *schema);
/* First value of the first row as int64 (0 for NULL / no row). */
int64_t rel_q_int(PGconn *c, const char *sql);
/* Run a statement; returns 0, or -1 with the error printed. */
int rel_exec(PGconn *c, const char *sql);

/* A PostgreSQL store on db/schema and a bank app on it, optionally with
 * the transfer saga registered, retries raised for contention.  NULL on
 * failure with *err set (usable in children: no cmocka asserts). */
inc_app *rel_app_open(const char *db, const char *schema, bool saga,
                      inc_error *err);
void rel_app_close(inc_app *app); /* frees the app and closes its store */

/* Bank commands (0, or -1 with *err). */
int rel_open_account(inc_app *app, const char *id, inc_error *err);
int rel_deposit(inc_app *app, const char *id, int64_t amount, inc_error *err);
int rel_withdraw(inc_app *app, const char *id, int64_t amount, inc_error *err);
/* The same, with the events the dispatch recorded in *res (may be NULL). */
int rel_deposit_r(inc_app *app, const char *id, int64_t amount, inc_result *res,
                  inc_error *err);
int rel_withdraw_r(inc_app *app, const char *id, int64_t amount, inc_result *res,
                   inc_error *err);
int rel_transfer(inc_app *app, const char *tid, const char *from,
                 const char *to, int64_t amount, inc_result *res,
                 inc_error *err);

/* The checks; each returns the number of problems (0 = holds). */
int rel_verify_streams(PGconn *c);
int rel_verify_replay(PGconn *c, inc_app *app, int64_t *streams_checked);
int rel_verify_money(PGconn *c, int64_t *balance_sum, int64_t *in_flight);
int rel_verify_transfers(PGconn *c);
int64_t rel_count_unfinished(PGconn *c);
/* streams + replay + money (not transfers: some may be unfinished). */
int rel_verify_all(PGconn *c, inc_app *app, const char *label);

/* Monotonic seconds. */
double rel_now(void);

#endif
