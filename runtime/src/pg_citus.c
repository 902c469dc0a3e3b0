/* pg_citus.c - `init` on a database with the citus extension: the event
 * store's per-aggregate tables become distributed tables (docs/scale-out.md).
 *
 * Every table a command writes (events, snapshots, command_ids and the
 * projection tables) is distributed by aggregate_id and colocated with
 * events, so a command's transaction touches one shard group: Citus runs
 * it on one worker, with a one-phase commit.  Citus needs every unique
 * constraint of a distributed table to include the distribution column,
 * so events' primary key becomes (aggregate_id, position) and its event id
 * key (aggregate_id, event_id), and command_ids' key (aggregate_id,
 * command_id); (aggregate_type, aggregate_id, version) already has it.
 * The rest stays plain tables on the coordinator: consumers (a view's rows
 * and its checkpoint commit in one local transaction), schema_version,
 * projection_refills and the views' tables.
 *
 * Runs inside init's transaction, after every table exists; a table that
 * is already distributed is left alone, so init stays idempotent and an
 * existing local store is converted (its rows are copied to the shards).
 * Table names come from the descriptors; they reach SQL as parameters
 * (regclass text, quoted with quote_ident), never as SQL text. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "internal.h"
#include "pg_internal.h"

/* (pg_migrate.c's statement runner: a failure is init's) */
static int run(PGconn *conn, const char *sql, int n, const char *const *vals,
               bool *t, inc_error *err) {
    return t ? incx_pg_run_bool(conn, sql, n, vals, t, err)
             : incx_pg_run(conn, sql, n, vals, NULL, err);
}

int incx_pg_citus_installed(PGconn *conn, bool *installed, inc_error *err) {
    return run(conn,
               "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = "
               "'citus')",
               0, NULL, installed, err);
}

/* Whether table `name` (resolved through search_path) is distributed. */
static int distributed(PGconn *conn, const char *name, bool *yes,
                       inc_error *err) {
    const char *vals[1] = {name};
    return run(conn,
               "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE "
               "logicalrelid = to_regclass(quote_ident($1)))",
               1, vals, yes, err);
}

/* Replace constraint `con` of `table` with the same kind of constraint
 * over `cols`, unless it already has aggregate_id first.  The names are
 * ours (the event store's DDL), the statement is built from constants. */
static int rekey(PGconn *conn, const char *table, const char *con,
                 const char *kind, const char *cols, inc_error *err) {
    const char *vals[2] = {table, con};
    bool has = false;
    if (run(conn,
            "SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE "
            "c.conrelid = to_regclass(quote_ident($1)) AND c.conname = $2 AND "
            "a.attname = 'aggregate_id')",
            2, vals, &has, err) != 0)
        return -1;
    if (has) return 0;
    char sql[256];
    snprintf(sql, sizeof sql,
             "ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s, ADD CONSTRAINT %s "
             "%s (%s)",
             table, con, con, kind, cols);
    return run(conn, sql, 0, NULL, NULL, err);
}

static int report(inc_table_change_cb cb, void *ud,
                  const inc_projection_desc *p, const char *table,
                  inc_error *err) {
    if (!cb) return 0;
    inc_table_change ch;
    memset(&ch, 0, sizeof ch);
    ch.kind = INC_TABLE_DISTRIBUTED;
    ch.projection = p;
    ch.table = table;
    return cb(ud, &ch, err);
}

/* Distribute `name` by aggregate_id, colocated with events (events
 * itself: the first of its colocation group). */
static int distribute(PGconn *conn, const char *name,
                      const inc_projection_desc *p, inc_table_change_cb cb,
                      void *ud, inc_error *err) {
    bool done = false;
    if (distributed(conn, name, &done, err) != 0) return -1;
    if (done) return 0;
    const char *vals[1] = {name};
    int rc = strcmp(name, "events") == 0
                 ? run(conn,
                       "SELECT create_distributed_table(quote_ident($1), "
                       "'aggregate_id')",
                       1, vals, NULL, err)
                 : run(conn,
                       "SELECT create_distributed_table(quote_ident($1), "
                       "'aggregate_id', colocate_with => 'events')",
                       1, vals, NULL, err);
    if (rc != 0) return -1;
    return report(cb, ud, p, name, err);
}

int incx_pg_citus_distribute(PGconn *conn, const inc_domain *d,
                             inc_table_change_cb cb, void *ud,
                             inc_error *err) {
    bool installed = false;
    if (incx_pg_citus_installed(conn, &installed, err) != 0) return -1;
    if (!installed) return 0;
    bool done = false;
    if (distributed(conn, "events", &done, err) != 0) return -1;
    if (!done &&
        (rekey(conn, "events", "events_pkey", "PRIMARY KEY",
               "aggregate_id, position", err) != 0 ||
         rekey(conn, "events", "events_event_id_key", "UNIQUE",
               "aggregate_id, event_id", err) != 0))
        return -1;
    if (distribute(conn, "events", NULL, cb, ud, err) != 0 ||
        distribute(conn, "snapshots", NULL, cb, ud, err) != 0)
        return -1;
    if (distributed(conn, "command_ids", &done, err) != 0) return -1;
    if (!done && rekey(conn, "command_ids", "command_ids_pkey", "PRIMARY KEY",
                       "aggregate_id, command_id", err) != 0)
        return -1;
    if (distribute(conn, "command_ids", NULL, cb, ud, err) != 0) return -1;
    for (size_t i = 0; d && i < d->n_projections; i++)
        if (distribute(conn, d->projections[i]->name, d->projections[i], cb,
                       ud, err) != 0)
            return -1;
    return 0;
}
