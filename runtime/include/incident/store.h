/* store.h - the event store + projection store interface of libincident.
 *
 * A store is a small vtable (`inc_store_ops`) plus an instance pointer; two
 * implementations ship with the runtime: PostgreSQL (libpq, pipelined,
 * prepared statements) and in memory.  Both behave the same way; the test
 * suite runs the same behavioural tests against each.  Stores hold no global
 * state: any number may live in one process.  A store is used by one thread
 * at a time.
 *
 * The store works at the granularity of the command pipeline so that
 * PostgreSQL needs few round trips:
 *   load    - the latest usable snapshot + the stream's later events, streamed
 *             row by row to a callback (memory does not grow with history);
 *   commit  - N events with consecutive versions + projection rows + an
 *             optional snapshot + a notification, in ONE transaction;
 *   load_many / commit_many - the same for many streams at once, in one
 *             round trip each (batches; optional);
 *   read_stream / read_all / projection_get / projection_list / rebuild.
 * Event data, metadata and snapshots travel as JSON text; the caller decodes
 * them through the descriptors (the store only needs descriptors for SQL and
 * projection rows). */
#ifndef INCIDENT_STORE_H
#define INCIDENT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <incident/domain.h>
#include <incident/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" plus the NUL. */
#define INC_UUID_TEXT_SIZE 37

/* A random (version 4) UUID from getrandom(), lower-case text. */
INC_API int inc_uuid_v4(char out[INC_UUID_TEXT_SIZE], inc_error *err);
/* A time-ordered (version 7, RFC 9562) UUID: the Unix time in
 * milliseconds, then 74 random bits from getrandom(); lower-case text.
 * The ids the runtime makes for events and commands: index entries of
 * later ids sort after earlier ones. */
INC_API int inc_uuid_v7(char out[INC_UUID_TEXT_SIZE], inc_error *err);

/* Version of the event store's own tables (events, snapshots,
 * schema_version) that this library writes; see docs/runtime.md. */
#define INC_STORE_SCHEMA_VERSION 3

/* One event as stored.  Strings are borrowed: valid during the callback (or
 * the call) that hands the struct over. */
typedef struct inc_stored_event {
    int64_t position;                   /* global order; 0 before commit */
    char event_id[INC_UUID_TEXT_SIZE];
    const char *aggregate_type;
    const char *aggregate_id;
    int64_t version;                    /* 1, 2, ... within the stream */
    const char *event_type;
    const char *data;                   /* JSON object, implicit fields left out */
    const char *metadata;               /* JSON object */
    inc_timestamp event_date;
    /* The schema version of the event's type it was written with
     * (inc_message_desc.schema_version; 0 reads as 1, and events stored
     * before stores recorded it are 1).  The runtime's readers decode
     * older versions through the event's upcast and refuse newer ones
     * (docs/evolution.md). */
    unsigned schema_version;
} inc_stored_event;

typedef int (*inc_event_cb)(void *ud, const inc_stored_event *ev,
                            inc_error *err);

/* ---- load ---- */
typedef enum inc_load_flags {
    INC_LOAD_NO_SNAPSHOT = 1u << 0, /* full replay from version 1 */
    /* load_many only: no snapshot, only the events with a version above
     * the request's after_version (a cached state catching up) */
    INC_LOAD_AFTER = 1u << 1,
    /* the caller does not read the events' metadata: a store may leave it
     * out (NULL), as PostgreSQL does (folding a state needs none) */
    INC_LOAD_NO_METADATA = 1u << 2
} inc_load_flags;

typedef struct inc_load_cbs {
    /* Called at most once, first, with a snapshot whose layout hash equals
     * the aggregate's state_layout_hash.  May be NULL (then snapshots are
     * not used). */
    int (*snapshot)(void *ud, int64_t version, const char *state_json,
                    inc_error *err);
    /* Every event after the snapshot (or from version 1), in version order
     * (`metadata` NULL with INC_LOAD_NO_METADATA). */
    inc_event_cb event;
    void *ud;
} inc_load_cbs;

/* One stream of a load_many: what `load` takes, plus its own outcome. */
typedef struct inc_load_req {
    const inc_aggregate_desc *aggregate;
    const char *aggregate_id;
    unsigned flags;                     /* inc_load_flags */
    inc_load_cbs cbs;
    /* out: 0, or -1 when this stream alone failed (a bad id, a callback
     * error, an unreadable row): `error` says why; the other streams are
     * loaded regardless. */
    int rc;
    inc_error error;
    int64_t after_version; /* with INC_LOAD_AFTER */
} inc_load_req;

/* ---- commit ---- */
typedef struct inc_row_meta {
    int64_t version;
    char event_id[INC_UUID_TEXT_SIZE];
    inc_timestamp event_date;
} inc_row_meta;

typedef struct inc_projection_write {
    const inc_projection_desc *projection;
    const void *row;                    /* a projection->row struct */
    inc_row_meta meta;
} inc_projection_write;

typedef struct inc_commit {
    const inc_aggregate_desc *aggregate;
    const char *aggregate_id;
    size_t n_events;                    /* may be 0: then nothing is written */
    const inc_stored_event *events;     /* versions consecutive; position ignored */
    size_t n_rows;
    const inc_projection_write *rows;
    const char *snapshot_json;          /* NULL: no snapshot */
    int64_t snapshot_version;
    int64_t *positions;                 /* optional out: n_events positions */
    /* Optional: the id of the stream's event at version events[0].version
     * - 1, as the writer last saw it.  The commit then fails with
     * INC_ERR_CONFLICT unless the stream still ends with that event (not
     * deleted, rewritten or followed by anything since), checked in the
     * same transaction.  Lets a writer that cached the state commit
     * without reading first. */
    const char *expect_event_id;
    /* Optional: a caller-supplied command id (1 to INC_COMMAND_ID_MAX
     * bytes of UTF-8).  The commit then also records it (with the command
     * type, the canonical payload text, the stream and the versions it
     * wrote) in the same transaction, before anything else, also when
     * n_events is 0.  An id already recorded fails the commit with
     * INC_ERR_CONFLICT, code "command_id_exists", and writes nothing,
     * also when the other commit runs at the same time (a unique key, not
     * a read).  Not in commit_many (INC_ERR_INVALID). */
    const char *command_id;
    const char *command_type;    /* with command_id */
    const char *command_payload; /* with command_id */
    /* Optional, with command_id and n_events 0: record the id as rejected
     * with this code (the .agg rejection code), so a repeat of the id
     * answers with the same rejection (docs/runtime.md, "Idempotent
     * commands"). */
    const char *command_rejection;
} inc_commit;

/* Longest command id, in bytes. */
#define INC_COMMAND_ID_MAX 128

/* A recorded command id (strings borrowed for the callback). */
typedef struct inc_command_record {
    const char *command_id;
    const char *command_type;
    const char *payload;         /* canonical JSON of the command */
    const char *aggregate_type;
    const char *aggregate_id;
    int64_t first_version;       /* of its first event (0: it emitted none) */
    int64_t n_events;            /* consecutive versions from first_version */
    inc_timestamp recorded_at;
    const char *rejection;       /* NULL, or the code it was rejected with */
} inc_command_record;

typedef int (*inc_command_cb)(void *ud, const inc_command_record *r,
                              inc_error *err);

/* ---- projection reads ---- */
/* `row` is a projection->row struct owned by the store (valid during the
 * callback); copy it with inc_msg_copy to keep it. */
typedef int (*inc_row_cb)(void *ud, const void *row, const inc_row_meta *meta,
                          inc_error *err);

/* ---- rebuild ---- */
typedef struct inc_rebuild_cbs {
    /* Every event of the projection's aggregate type, grouped by aggregate
     * id (byte order) and in version order within an aggregate. */
    inc_event_cb event;
    /* The aggregate whose events were just delivered is complete: fill
     * `row` (initialised as projection->row) and `meta`; return 1 to write
     * the row, 0 to skip it, -1 on error. */
    int (*row)(void *ud, void *row, inc_row_meta *meta, inc_error *err);
    /* Optional: `done` of `total` events processed. */
    void (*progress)(void *ud, int64_t done, int64_t total);
    void *ud;
} inc_rebuild_cbs;

/* ---- init: what it changed in the projection tables ---- */
typedef enum inc_table_change_kind {
    /* a projection table created for an aggregate type that already has
     * events (a new projection) */
    INC_TABLE_CREATED = 1,
    INC_TABLE_COLUMN_ADDED,   /* declared, not in the table */
    INC_TABLE_COLUMN_DROPPED, /* in the table, no longer declared */
    INC_TABLE_COLUMN_RETYPED, /* another type or nullability */
    /* the table's rows must be refilled from the events (its shape
     * changed, now or at an earlier init whose refill did not finish):
     * inc_app_rebuild refills it and clears this; the CLI's init does */
    INC_TABLE_REFILL,
    /* On Citus (docs/scale-out.md): `table` was made a distributed table,
     * by aggregate_id, colocated with events (projection: the projection
     * whose table it is, or NULL for the event store's own tables). */
    INC_TABLE_DISTRIBUTED
} inc_table_change_kind;

typedef struct inc_table_change {
    const inc_projection_desc *projection;
    inc_table_change_kind kind;
    const char *column;   /* COLUMN_*: its name; NULL otherwise */
    const char *old_type; /* DROPPED, RETYPED: as the table had it */
    const char *new_type; /* ADDED, RETYPED: as declared ("bigint NOT NULL") */
    const char *table;    /* DISTRIBUTED: the table's name */
} inc_table_change;

/* Strings borrowed for the call. */
typedef int (*inc_table_change_cb)(void *ud, const inc_table_change *c,
                                   inc_error *err);
/* ---- projection queries (docs/api.md, "Queries") ---- */

/* One condition: the column `field` equals `value`, given as text and
 * read by the column's type (int decimal, float, bool true/false, string
 * as is, timestamp RFC 3339, enum member name).  Only scalar columns. */
typedef struct inc_query_where {
    const char *field;
    const char *value;
} inc_query_where;

typedef struct inc_query {
    size_t n_where;                 /* all of them hold (AND) */
    const inc_query_where *where;
    /* Order by this column (then by aggregate_id); NULL: by aggregate_id.
     * Strings and enum names in byte order, NULLs last either way. */
    const char *order;
    bool descending;
    int64_t limit;                  /* at most this many rows; 0: all */
} inc_query;

typedef struct inc_store inc_store;
struct inc_log_ops;

/* The interface.  Every operation returns 0 or -1 with `err` filled:
 * INC_ERR_CONFLICT for a version already taken (commit only),
 * INC_ERR_UNAVAILABLE when the database cannot be reached or the connection
 * was lost (the next call reconnects), INC_ERR_INTERNAL otherwise.  An
 * error returned by a callback is passed through unchanged. */
typedef struct inc_store_ops {
    const char *name; /* "postgres", "memory" */
    void (*close)(inc_store *s);
    /* Create or upgrade the store's tables and the domain's projection
     * tables (idempotent). */
    int (*init)(inc_store *s, const inc_domain *d, inc_error *err);
    int (*load)(inc_store *s, const inc_aggregate_desc *a, const char *id,
                unsigned flags, const inc_load_cbs *cbs, inc_error *err);
    int (*commit)(inc_store *s, const inc_commit *c, inc_error *err);
    /* All events of one stream with version > after_version, in order. */
    int (*read_stream)(inc_store *s, const char *aggregate_type,
                       const char *id, int64_t after_version, inc_event_cb cb,
                       void *ud, inc_error *err);
    /* Every event with position > after_position, in position order;
     * aggregate_type NULL means every type. */
    int (*read_all)(inc_store *s, const char *aggregate_type,
                    int64_t after_position, inc_event_cb cb, void *ud,
                    inc_error *err);
    /* *found is set to whether the row exists; cb runs only if it does. */
    int (*projection_get)(inc_store *s, const inc_projection_desc *p,
                          const char *id, inc_row_cb cb, void *ud, bool *found,
                          inc_error *err);
    /* Every row, ordered by aggregate_id. */
    int (*projection_list)(inc_store *s, const inc_projection_desc *p,
                           inc_row_cb cb, void *ud, inc_error *err);
    /* Empty the projection and refill it from the events, in one
     * transaction (readers see the old rows until it commits). */
    int (*rebuild)(inc_store *s, const inc_projection_desc *p,
                   const inc_rebuild_cbs *cbs, inc_error *err);
    /* Optional (NULL: not supported; callers then commit one by one).
     * Commit `n` commits, in order, in ONE transaction: all or nothing.
     * Several may target the same stream with consecutive versions.  On
     * failure nothing is written and *failed (may be NULL) is the index of
     * the commit that failed, or n when no single commit is to blame.
     * Used by inc_dispatch_batch (<incident/batch.h>). */
    int (*commit_many)(inc_store *s, const inc_commit *commits, size_t n,
                       size_t *failed, inc_error *err);
    /* Optional (NULL: callers load one by one).  Load `n` streams as `load`
     * does, each to its own callbacks, in few round trips (PostgreSQL: the
     * loads in one pipeline, one Sync; rows still streamed one by one).
     * Streams are delivered whole, in request order.  0: each request's
     * rc/error says how it went; -1 (err: INC_ERR_UNAVAILABLE, or
     * INC_ERR_INTERNAL e.g. missing tables): the store could not load
     * them and callbacks may have run for some: discard what they built.
     * A wrapper store that copies another store's ops must set this too
     * (or NULL), as for every op.  Used by inc_dispatch_batch. */
    int (*load_many)(inc_store *s, inc_load_req *reqs, size_t n,
                     inc_error *err);
    /* The record of a command id: *found says whether there is one; cb
     * runs only if there is. */
    int (*command_get)(inc_store *s, const char *command_id, inc_command_cb cb,
                       void *ud, bool *found, inc_error *err);
    /* Forget the command ids recorded before `older_than`; *n_pruned (may
     * be NULL) is how many. */
    int (*prune_command_ids)(inc_store *s, inc_timestamp older_than,
                             int64_t *n_pruned, inc_error *err);
    /* Optional (NULL: no subscriptions).  The commit-ordered log and the
     * consumers' checkpoints, <incident/subscription.h>. */
    const struct inc_log_ops *log;
    /* Optional (NULL: `init`, reporting nothing).  `init`, and each change
     * it made to a projection table (and each table still to refill) to
     * cb (may be NULL), in the domain's projection order.  PostgreSQL
     * brings every projection table to its declared columns (the changes
     * and the table's emptying, to be refilled, in init's transaction);
     * the event store is never touched (docs/evolution.md). */
    int (*init_report)(inc_store *s, const inc_domain *d,
                       inc_table_change_cb cb, void *ud, inc_error *err);
    /* Optional (NULL: inc_store_query lists the rows and filters, orders
     * and limits them in the client, as the memory store does).  The rows
     * of `p` that `q` selects, in its order; `q` was checked against the
     * row descriptor by inc_store_query (incx_query_check). */
    int (*query)(inc_store *s, const inc_projection_desc *p,
                 const inc_query *q, inc_row_cb cb, void *ud, inc_error *err);
    /* Optional (NULL: command_get).  The record of a command id, looked up
     * by a command to aggregate `aggregate_id`: a store distributed by
     * aggregate id reads that one shard, and finds only the ids recorded
     * for that aggregate (docs/scale-out.md). */
    int (*command_get_in)(inc_store *s, const char *aggregate_id,
                          const char *command_id, inc_command_cb cb, void *ud,
                          bool *found, inc_error *err);
} inc_store_ops;

struct inc_store {
    const inc_store_ops *ops;
};

/* ---- implementations ---- */

typedef struct inc_pg_options {
    /* libpq connection string or URI; NULL or "" = libpq's PG* defaults. */
    const char *conninfo;
    /* If set, the session's search_path is this schema (created by init if
     * missing): several independent stores in one database. */
    const char *schema;
} inc_pg_options;

/* Connect and prepare the statements (one round trip after the
 * handshake).  NULL with INC_ERR_UNAVAILABLE if the server can't be
 * reached. */
INC_API inc_store *inc_pg_store_open(const inc_pg_options *opts,
                                     inc_error *err);
INC_API inc_store *inc_mem_store_open(inc_error *err);
/* PostgreSQL store: send (on) or leave out (off, the default) a
 * pg_notify('incident_events', '{"aggregate_type":..,"first_version":..,
 * "last_version":..,"aggregate_id":..}') for every commit, for LISTENers.
 * It goes in the commit's pipeline (no extra round trip) but in a small
 * transaction of its own right after the commit, sent only if the commit's
 * events are there and committed without waiting for a WAL flush: a NOTIFY
 * inside the commit would hold PostgreSQL's notify lock across the flush
 * and serialise every writer (docs/performance.md).  Even so it costs
 * some server work per commit, hence off unless asked for; a listener must
 * still read from its last `position` (notifications are hints: one can
 * be lost if the client dies between the two transactions).  Batches
 * notify inside their transaction (one commit per chunk).  No-op on other
 * stores. */
INC_API void inc_pg_store_set_notify(inc_store *s, bool on);

/* ---- thin wrappers over the vtable ---- */
INC_API void inc_store_close(inc_store *s); /* NULL-safe */
INC_API int inc_store_init(inc_store *s, const inc_domain *d, inc_error *err);
/* inc_store_init, telling cb what it changed (see init_report). */
INC_API int inc_store_init_report(inc_store *s, const inc_domain *d,
                                  inc_table_change_cb cb, void *ud,
                                  inc_error *err);
INC_API int inc_store_load(inc_store *s, const inc_aggregate_desc *a,
                           const char *id, unsigned flags,
                           const inc_load_cbs *cbs, inc_error *err);
INC_API int inc_store_commit(inc_store *s, const inc_commit *c, inc_error *err);
INC_API int inc_store_read_stream(inc_store *s, const char *aggregate_type,
                                  const char *id, int64_t after_version,
                                  inc_event_cb cb, void *ud, inc_error *err);
INC_API int inc_store_read_all(inc_store *s, const char *aggregate_type,
                               int64_t after_position, inc_event_cb cb,
                               void *ud, inc_error *err);
INC_API int inc_store_projection_get(inc_store *s, const inc_projection_desc *p,
                                     const char *id, inc_row_cb cb, void *ud,
                                     bool *found, inc_error *err);
INC_API int inc_store_projection_list(inc_store *s,
                                      const inc_projection_desc *p,
                                      inc_row_cb cb, void *ud, inc_error *err);
INC_API int inc_store_rebuild(inc_store *s, const inc_projection_desc *p,
                              const inc_rebuild_cbs *cbs, inc_error *err);
/* The rows of projection `p` that `q` selects, in its order, each to
 * `cb` (a row owned by the store, as for projection_list).  A field that
 * is not a scalar column of the row, or a value its column's type cannot
 * read, is INC_ERR_INVALID naming it, before the store is asked.  Values
 * reach SQL only as parameters.  Both stores return the same rows in the
 * same order. */
INC_API int inc_store_query(inc_store *s, const inc_projection_desc *p,
                            const inc_query *q, inc_row_cb cb, void *ud,
                            inc_error *err);
/* Without load_many: `load` one by one (a lost connection stops it: -1). */
INC_API int inc_store_load_many(inc_store *s, inc_load_req *reqs, size_t n,
                                inc_error *err);
/* INC_ERR_INTERNAL "unsupported" when the store has no commit_many. */
INC_API int inc_store_commit_many(inc_store *s, const inc_commit *commits,
                                  size_t n, size_t *failed, inc_error *err);
/* Command ids (docs/runtime.md, "Idempotent commands"): INC_ERR_INTERNAL
 * "unsupported" when the store has no such op. */
INC_API int inc_store_command_get(inc_store *s, const char *command_id,
                                  inc_command_cb cb, void *ud, bool *found,
                                  inc_error *err);
/* command_get_in, or command_get when the store has none. */
INC_API int inc_store_command_get_in(inc_store *s, const char *aggregate_id,
                                     const char *command_id, inc_command_cb cb,
                                     void *ud, bool *found, inc_error *err);
INC_API int inc_store_prune_command_ids(inc_store *s, inc_timestamp older_than,
                                        int64_t *n_pruned, inc_error *err);

#ifdef __cplusplus
}
#endif
#endif
