/* batch.h - dispatch many commands for many aggregates in few transactions:
 * imports, migrations, back-fills.
 *
 * inc_dispatch costs two round trips and one durable commit (a WAL flush)
 * per command.  inc_dispatch_batch runs the same pipeline (validation,
 * execute, reducers, projections, snapshots) over a chunk of commands in
 * memory and commits the whole chunk in ONE transaction (PostgreSQL: one
 * pipeline, one Sync), so the flush and the commit round trip are paid once
 * per chunk.  The chunk's distinct aggregates are loaded together first
 * (the store's load_many; PostgreSQL: one pipeline, rows folded as they
 * arrive): a chunk costs two round trips however many aggregates it
 * touches.
 *
 * Semantics, item by item (`res[i]` says what became of items[i]):
 *   - items run in order; an item sees the effects of the earlier items of
 *     the batch, exactly as if they had been dispatched one by one;
 *   - an invalid item (validation, `check`) or a rejected one (`require`,
 *     `fail`, overflow) is INC_BATCH_FAILED with its error and writes
 *     nothing; the rest of its chunk goes on without it;
 *   - if committing a chunk fails (a concurrent writer took a version:
 *     conflict; or any database error other than a lost connection),
 *     nothing of the chunk is written and the chunk is run again item by
 *     item, each item its own transaction with inc_dispatch's retry policy
 *     (max_retries, jittered backoff), so only the items that really fail
 *     are INC_BATCH_FAILED;
 *   - if the connection is lost while a chunk commits, its items are
 *     INC_BATCH_UNKNOWN (committed or not: check before re-running them),
 *     the later items INC_BATCH_NOT_RUN, and the call returns -1;
 *   - event handlers (inc_app_on) are NOT run for batch items: a batch
 *     rewrites history, it does not react to it;
 *   - each event carries metadata command_id, command_type and
 *     correlation_id (= command_id), as a top-level inc_dispatch does.
 * A store without commit_many (a custom one) commits item by item; one
 * without load_many loads its aggregates one by one. */
#ifndef INCIDENT_BATCH_H
#define INCIDENT_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <incident/app.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Commands per transaction by default. */
#define INC_BATCH_DEFAULT_CHUNK 256

typedef struct inc_batch_item {
    const inc_message_desc *command;
    const void *data; /* a command->size struct; the caller keeps it */
} inc_batch_item;

typedef enum inc_batch_status {
    INC_BATCH_COMMITTED = 0, /* its events (possibly none) are committed */
    INC_BATCH_FAILED,        /* nothing written; see error */
    INC_BATCH_UNKNOWN,       /* connection lost while its chunk committed */
    INC_BATCH_NOT_RUN        /* the batch stopped before this item */
} inc_batch_status;

typedef struct inc_batch_result {
    inc_batch_status status;
    inc_error error;   /* FAILED / UNKNOWN / NOT_RUN: why */
    size_t n_events;   /* COMMITTED: events written by this item */
    int64_t version;   /* COMMITTED: aggregate version after this item */
} inc_batch_result;

/* Run `n` commands in chunks of INC_BATCH_DEFAULT_CHUNK; `res` has room for
 * n results.  Returns the number of FAILED items (0: all committed), or -1
 * when the batch stopped early (err: INC_ERR_UNAVAILABLE, or
 * INC_ERR_INTERNAL for OOM or a broken store); then every item carries its
 * status. */
INC_API int inc_dispatch_batch(inc_app *app, const inc_batch_item *items,
                               size_t n, inc_batch_result *res, inc_error *err);
/* The same with `chunk` commands per transaction (0 = the default).  Big
 * chunks hold more locks for longer; a few hundred is plenty. */
INC_API int inc_dispatch_batch_chunked(inc_app *app,
                                       const inc_batch_item *items, size_t n,
                                       size_t chunk, inc_batch_result *res,
                                       inc_error *err);

#ifdef __cplusplus
}
#endif
#endif
