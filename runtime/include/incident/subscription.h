/* subscription.h - following the event log in commit order: named
 * consumers with durable checkpoints, filters, batches, consumer groups
 * and wake-ups (docs/subscriptions.md).
 *
 * The log is read in (transaction id, position) order and only below the
 * oldest transaction still running, so an event whose transaction commits
 * after later events were read is still delivered, never skipped.  A named
 * consumer's checkpoint lives in the database (table `consumers`, created
 * by `init`); delivery is at least once, and exactly once for a handler
 * whose effects are written through inc_consumer_exec (they commit in the
 * same transaction as the checkpoint).
 *
 *   inc_consumer_options o = {.name = "mailer"};
 *   inc_consumer *c = inc_consumer_open(store, &o, &err);
 *   inc_consumer_run(c, handle, ud, &(inc_consumer_run_options){0}, &n, &err);
 *   inc_consumer_close(c);
 *
 * A consumer uses its own database session (PostgreSQL: its own
 * connection), so the handler may use `store` (or an app on it) freely. */
#ifndef INCIDENT_SUBSCRIPTION_H
#define INCIDENT_SUBSCRIPTION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <incident/error.h>
#include <incident/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A place in the commit-ordered log: the writing transaction's id
 * (PostgreSQL xid8; the memory store's commit order) and the event's
 * position.  {0, 0} is before the first event. */
typedef struct inc_log_position {
    uint64_t transaction_id;
    int64_t position;
} inc_log_position;

typedef struct inc_consumer inc_consumer;
/* The transaction a handler runs in (see inc_consumer_exec). */
typedef struct inc_consumer_tx inc_consumer_tx;

/* One event for a handler.  0 = handled; -1 (err set) stops the consumer
 * at this event: its checkpoint stays before it (transactional consumers:
 * before the batch, whose writes are rolled back) and the event is
 * delivered again by the next poll or run. */
typedef int (*inc_consumer_handler)(void *ud, inc_consumer_tx *tx,
                                    const inc_stored_event *ev,
                                    const inc_log_position *at,
                                    inc_error *err);

typedef struct inc_consumer_options {
    /* The consumer's name (checkpoint key, 1..200 bytes).  NULL: an
     * anonymous reader from the beginning of the log, checkpoint kept in
     * memory only. */
    const char *name;
    /* Only these aggregate types / event types (NULL or 0: all). */
    const char *const *aggregate_types;
    size_t n_aggregate_types;
    const char *const *event_types;
    size_t n_event_types;
    size_t batch_size;    /* events per read and checkpoint; 0 = 2000 */
    /* Consumer groups: group_size members of one name share the streams
     * by a hash of (aggregate type, aggregate id); this is member
     * group_member (0-based).  0 or 1: no group. */
    unsigned group_size, group_member;
    /* The handler's inc_consumer_exec writes and the checkpoint commit in
     * one transaction per batch (exactly once for effects in the same
     * database).  Off: the checkpoint is saved after each batch (at least
     * once; a crash repeats at most the batch in flight). */
    bool transactional;
    /* Longest sleep between two polls when no notification arrives, in
     * ms; 0 = 1000.  The wait starts at 1 ms after a batch and doubles
     * while the log stays quiet. */
    int max_poll_ms;
} inc_consumer_options;

/* Opens the consumer's session (PostgreSQL: a new connection that LISTENs
 * for commits) and reads its checkpoint, creating it ({0, 0}) the first
 * time.  INC_ERR_INVALID: bad options, or a group whose size differs from
 * the stored one; INC_ERR_INTERNAL "unsupported": a store without a log. */
INC_API inc_consumer *inc_consumer_open(inc_store *s, const inc_consumer_options *o,
                                inc_error *err);
INC_API void inc_consumer_close(inc_consumer *c); /* NULL-safe */

/* One batch: read up to `max` events (0: batch_size) after the
 * checkpoint, hand each to `fn`, save the checkpoint.  Returns the number
 * of events handled (0: nothing new), or -1.  A checkpoint moved by
 * another process meanwhile is INC_ERR_CONFLICT (transactional: nothing
 * of the batch committed); the consumer reloads it. */
INC_API int inc_consumer_poll(inc_consumer *c, size_t max, inc_consumer_handler fn,
                      void *ud, inc_error *err);

/* Wait until a commit may have added events (notification) or timeout_ms
 * passed (or a signal arrived): 1 notified, 0 not. */
INC_API int inc_consumer_wait(inc_consumer *c, int timeout_ms, inc_error *err);

typedef struct inc_consumer_run_options {
    int64_t limit;   /* stop after this many events; 0 = no limit */
    int idle_ms;     /* stop once nothing arrived for this long; 0 = never */
    /* stop when it becomes non-zero (e.g. set by a signal handler); the
     * event being handled finishes and the checkpoint is saved */
    volatile sig_atomic_t *stop;
} inc_consumer_run_options;

/* poll + wait until the limit, the idle time or *stop.  Connection
 * losses are retried (with backoff, as long as the run goes on); a
 * handler error or any other failure returns -1.  *handled (may be NULL)
 * counts the events handled. */
INC_API int inc_consumer_run(inc_consumer *c, inc_consumer_handler fn, void *ud,
                     const inc_consumer_run_options *ro, int64_t *handled,
                     inc_error *err);

/* Run one parameterised statement (text parameters, NULL = SQL NULL) in
 * the handler's transaction: with `transactional` it commits with the
 * checkpoint or not at all.  Without it, the statement commits on its own.
 * Memory store: INC_ERR_INTERNAL "unsupported". */
INC_API int inc_consumer_exec(inc_consumer_tx *tx, const char *sql, int nparams,
                      const char *const *params, inc_error *err);

/* The checkpoint: the last event delivered and acknowledged. */
INC_API void inc_consumer_checkpoint(const inc_consumer *c, inc_log_position *out);

/* ---- listing ---- */

typedef struct inc_consumer_info {
    const char *name;
    unsigned group_member, group_size;
    inc_log_position checkpoint;
    int64_t lag;            /* committed events after the checkpoint */
    inc_timestamp updated_at;
} inc_consumer_info;

typedef int (*inc_consumer_info_cb)(void *ud, const inc_consumer_info *ci,
                                    inc_error *err);
/* Every stored consumer (name, then member order). */
INC_API int inc_consumers_list(inc_store *s, inc_consumer_info_cb cb, void *ud,
                       inc_error *err);
/* Forget a consumer's checkpoints (every member); 0 also when unknown. */
INC_API int inc_consumer_delete(inc_store *s, const char *name, inc_error *err);

/* ---- for store back ends ---- */

/* The part of a store that serves subscriptions; inc_store_ops.log points
 * to it (NULL: no subscriptions).  A session is the back end's own. */
typedef struct inc_log_session inc_log_session;

typedef struct inc_log_query {
    inc_log_position after;
    size_t limit;
    const char *const *aggregate_types;
    size_t n_aggregate_types;
    const char *const *event_types;
    size_t n_event_types;
    unsigned group_size, group_member;
} inc_log_query;

/* One event of a read, with its place in the log. */
typedef int (*inc_log_cb)(void *ud, const inc_stored_event *ev,
                          const inc_log_position *at, inc_error *err);

struct inc_log_ops {
    inc_log_session *(*open)(inc_store *s, inc_error *err);
    void (*close)(inc_log_session *ls);
    /* Up to q->limit events after q->after, in (transaction id, position)
     * order, of transactions that can no longer commit anything earlier.
     * The whole batch is read before the first callback, so callbacks may
     * use the session (exec).  *scanned: how far the log is known complete
     * for this query (at least the last event delivered; further when
     * fewer than `limit` matched), for the next read. */
    int (*read)(inc_log_session *ls, const inc_log_query *q, inc_log_cb cb,
                void *ud, inc_log_position *scanned, inc_error *err);
    /* Read `name`/member's checkpoint, creating it as {0, 0} with
     * group_size; INC_ERR_INVALID if stored with another group size. */
    int (*checkpoint)(inc_log_session *ls, const char *name, unsigned member,
                      unsigned group_size, inc_log_position *out,
                      inc_error *err);
    /* Move the checkpoint from `from` to `to`; INC_ERR_CONFLICT when it is
     * no longer `from` (another process moved it). */
    int (*save)(inc_log_session *ls, const char *name, unsigned member,
                const inc_log_position *from, const inc_log_position *to,
                inc_error *err);
    int (*begin)(inc_log_session *ls, inc_error *err);
    int (*commit)(inc_log_session *ls, inc_error *err);
    void (*rollback)(inc_log_session *ls);
    int (*exec)(inc_log_session *ls, const char *sql, int nparams,
                const char *const *params, inc_error *err);
    /* 1 when notified of a commit, 0 after timeout_ms or a signal. */
    int (*wait)(inc_log_session *ls, int timeout_ms, inc_error *err);
    int (*list)(inc_log_session *ls, inc_consumer_info_cb cb, void *ud,
                inc_error *err);
    int (*remove)(inc_log_session *ls, const char *name, inc_error *err);
};

#ifdef __cplusplus
}
#endif
#endif
