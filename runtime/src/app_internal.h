/* app_internal.h - what the app's own files share (not installed).
 *
 * The inc_app struct and the pieces a command is made of, one file each:
 *   app.c            settings and statistics of an app
 *   result.c         inc_result and recorded events
 *   state_load.c     loading states: folding, the state cache, speculation,
 *                    several states in one round trip (load_many)
 *   commit_prepare.c from emitted events to one inc_commit (incx_work)
 *   retry.c          the backoff between attempts after a conflict
 *   dispatch.c       inc_dispatch's attempts and the after-commit handlers
 *   batch.c          inc_dispatch_batch, composed of the same pieces
 *   group.c          group commit: concurrent callers share transactions
 *   read.c           reading streams and rebuilding projections
 * Internal functions are named incx_ (never exported, never API). */
#ifndef INCIDENT_APP_INTERNAL_H
#define INCIDENT_APP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <incident/app.h>
#include <incident/domain.h>
#include <incident/store.h>

#include "state_cache.h"

/* Speculate (commit on a cached state without reading it first) while
 * fewer than half of the cached states lately turned out stale. */
#define INCX_STALE_RATE_LIMIT 128

/* The retry policy after a version conflict (retry.c). */
typedef struct incx_retry {
    unsigned max_retries;
    unsigned max_backoff_us;
    uint64_t rng; /* xorshift64* state, only for the jitter */
} incx_retry;

typedef struct incx_handler {
    const inc_message_desc *event;
    inc_event_handler_fn fn;
    void *ud;
    /* What the command ids of its dispatches are derived from (with the
     * handled event's id and the dispatch's number): the reaction's or
     * inc_app_on_named's name, or "EVENT#n" for the n-th inc_app_on of
     * EVENT.  Unique in the app.  Owned. */
    char *key;
} incx_handler;

struct inc_app {
    const inc_domain *d;
    inc_store *store;
    int64_t snapshot_default;
    int64_t *snapshot_every; /* per aggregate (index in d->aggregates); -1 = default */
    incx_retry retry;
    uint64_t conflicts;
    uint64_t cache_hits, cache_misses, cache_stale;
    uint64_t spec_commits, spec_stale;
    /* How often cached states turned out stale lately: a moving average
     * in 1/256 (0: never, 256: always).  Commands commit on a cached state
     * without reading first only while this is below
     * INCX_STALE_RATE_LIMIT. */
    unsigned stale_rate;
    incx_state_cache *cache;
    size_t n_handlers, cap_handlers;
    incx_handler *handlers;
    size_t n_reactions; /* handlers[0..n_reactions): the domain's reactions */
};

static inline int incx_oom(inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

/* Free a malloc'd state struct (NULL-safe). */
static inline void incx_state_drop(const inc_aggregate_desc *a, void *state) {
    if (!state) return;
    inc_msg_free(a->state, state);
    free(state);
}

/* ---- app.c ---- */

/* The snapshot interval that applies to aggregate type `a` (0 = never). */
int64_t incx_snapshot_every(const inc_app *app, const inc_aggregate_desc *a);
/* One more cached state seen current or stale (the stale rate). */
void incx_observe_cache(inc_app *app, bool stale);
/* What speculative commits found: `ok` committed, `stale` refused because
 * a stream had moved on. */
void incx_note_speculation(inc_app *app, size_t ok, size_t stale);

/* Register a handler under `key` (copied; INC_ERR_INVALID
 * "duplicate_handler" when the app has one by that name). */
int incx_app_add_handler(inc_app *app, const inc_message_desc *event,
                         const char *key, inc_event_handler_fn fn, void *ud,
                         inc_error *err);

/* ---- dispatch.c ---- */

/* Run every handler registered for `ev` (an event read back from the
 * store), as the inline path would have after its commit, with the same
 * command ids: what already ran is answered from the command ids' records
 * (looked up first, so a repeat writes nothing and costs one read per
 * command).  Commands the handlers dispatch run their own handlers inline
 * as usual.  0 when every handler returned 0 or a rejection; -1 with err
 * at the first other failure (the event is to be handled again).  The
 * events the commands recorded go to on_recorded (may be NULL) and are
 * counted in *n_recorded (may be NULL). */
int incx_react_event(inc_app *app, const inc_recorded_event *ev,
                     inc_recorded_cb on_recorded, void *ud,
                     int64_t *n_recorded, inc_error *err);

/* ---- result.c ---- */

/* Free what a recorded event owns and zero it (NULL-safe). */
void incx_recorded_free(inc_recorded_event *e);

/* ---- retry.c ---- */

void incx_retry_init(incx_retry *r);
/* Sleep before retry number attempt+1: full jitter below an exponential
 * cap from MIN_BACKOFF_US up to max_backoff_us. */
void incx_backoff(incx_retry *r, unsigned attempt);

/* ---- state_load.c ---- */

/* A message's aggregate_id (NULL if it has none) and a state's version. */
const char *incx_msg_id(const inc_message_desc *d, const void *msg);
int64_t incx_state_version(const inc_aggregate_desc *a, const void *state);
/* Decode a stored event's data into a new struct (aggregate_id set);
 * NULL with err. */
void *incx_decode_event(const inc_aggregate_desc *a, const inc_stored_event *ev,
                        const inc_message_desc **desc_out, inc_error *err);

/* ---- read.c ---- */

/* A stored event decoded (data malloc'd, aggregate_id borrowed from ev). */
int incx_recorded_from_stored(const inc_aggregate_desc *a,
                              const inc_stored_event *ev,
                              inc_recorded_event *r, inc_error *err);

/* ---- command_id.c ---- */

/* A caller-supplied command id and what it is recorded with. */
typedef struct incx_cmdid {
    const char *id;
    const char *type;    /* the command's name */
    char *payload;       /* canonical JSON of the command (owned) */
    const char *aggregate_id; /* the command's (borrowed from its data) */
} incx_cmdid;

/* Check the id and make the payload (free with incx_cmdid_free). */
int incx_cmdid_make(incx_cmdid *c, const char *id,
                    const inc_message_desc *cmd, const void *data,
                    inc_error *err);
void incx_cmdid_free(incx_cmdid *c);
/* Whether a commit was refused because its command id is recorded. */
bool incx_command_id_taken(const inc_error *err);
/* The recorded outcome of c->id appended to `out` (may be NULL): 1, or 0
 * when the id is not recorded; -1 with err: INC_ERR_REJECTED with the
 * recorded code when it was recorded as rejected, INC_ERR_INVALID
 * "command_id_reused" when it was recorded for another command or
 * payload. */
int incx_command_replay(inc_app *app, const incx_cmdid *c, inc_result *out,
                        inc_error *err);

/* Folding a stream into a state, as the store's rows arrive. */
typedef struct incx_fold {
    const inc_aggregate_desc *a;
    void *state;
    const char *id;
    bool bad_snapshot;
    /* A cached state's catch-up: the first event must be check_version
     * with id check_id (then it is skipped: the state has it); else the
     * cache was stale. */
    bool check_pending, stale;
    int64_t check_version;
    const char *check_id;
    size_t n_applied;
    int64_t max_version; /* > 0: events after it are not folded */
    char last_id[INC_UUID_TEXT_SIZE]; /* of the last event folded */
    /* for rebuild: the last event of the current aggregate */
    inc_row_meta last;
    const inc_projection_desc *p;
    void (*progress)(void *ud, int64_t done, int64_t total);
    void *progress_ud;
} incx_fold;
/* An inc_load_cbs event callback; ud is an incx_fold. */
int incx_fold_event(void *ud, const inc_stored_event *ev, inc_error *err);

/* The current state of (a, id) for a command, into *out (malloc'd): the
 * cached one brought up to date, or a full load.  last_id: the id of the
 * state's last event ("" when unknown).  `observe`: count the cached
 * state in the stale rate. */
int incx_load_current(inc_app *app, const inc_aggregate_desc *a,
                      const char *id, void **out,
                      char last_id[INC_UUID_TEXT_SIZE], bool observe,
                      inc_error *err);

/* The state of (a, id) as of `version`, folded from the events (no
 * snapshot, no cache) into `state`, which is left initialised. */
int incx_load_at(inc_app *app, const inc_aggregate_desc *a, const char *id,
                 int64_t version, void *state, inc_error *err);

/* One state for incx_load_states. */
typedef struct incx_state_req {
    const inc_aggregate_desc *a;
    const char *id;
    void *state;     /* a->state struct, uninitialised on entry */
    int rc;          /* out: 0, or -1 with `error` (this state only) */
    inc_error error;
    char last_id[INC_UUID_TEXT_SIZE]; /* out: as incx_state_cache_put wants */
    /* out: the cached state as it was, not read from the store (only when
     * asked to speculate): the first commit on it must carry
     * expect_event_id = last_id, and only commands that emit events may
     * be decided on it. */
    bool speculative;
} incx_state_req;
/* The current states of n aggregates for commands, with the store's
 * load_many (one round trip on PostgreSQL, however many): cached states
 * (taken out of the cache) catch up, the others load in full.  Every
 * state is initialised on return (free each with inc_msg_free, also after
 * errors).  -1 (err): stop, the states mean nothing (connection lost,
 * OOM). */
int incx_load_states(inc_app *app, incx_state_req *reqs, size_t n,
                     bool may_speculate, inc_error *err);

/* ---- batch.c ---- */

/* inc_dispatch_batch_chunked that also hands each committed item's events
 * to outs[i] (appended; `outs` or outs[i] may be NULL): what the group
 * commit (group.c) returns to each caller.  A committed item whose events
 * could not be handed over (OOM) stays INC_BATCH_COMMITTED with an
 * INC_ERR_INTERNAL error. */
struct inc_batch_item;
struct inc_batch_result;
int incx_dispatch_batch_events(inc_app *app, const struct inc_batch_item *items,
                               size_t n, size_t chunk,
                               struct inc_batch_result *res, inc_result **outs,
                               inc_error *err);

/* ---- commit_prepare.c ---- */

/* What one command commits, and everything allocated for it. */
typedef struct incx_work {
    inc_event_list events;  /* what inc_execute emitted */
    void *next;             /* the state after them (malloc'd) */
    inc_stored_event *stored;
    char **data_json;
    inc_projection_write *rows;
    size_t n_rows;
    char *snapshot;
    int64_t *positions;
    /* The attempt's time: what execute saw as now(), the events' date. */
    inc_timestamp now;
} incx_work;
/* After inc_execute_at(..., w->now, ...) put one or more events in
 * w->events on `state` (set w->now first: the events are dated with it;
 * 0 takes the clock's time): apply them to a copy (w->next), give them
 * ids, versions and JSON, make
 * every projection row of the aggregate and the snapshot when one is due,
 * and fill *c to commit it all (`metadata` is borrowed).  -1 (err): free
 * w all the same. */
int incx_work_prepare(inc_app *app, const inc_aggregate_desc *a,
                      const char *id, const void *state, const char *metadata,
                      incx_work *w, inc_commit *c, inc_error *err);
/* Project p's row of `state` into `row` (initialised), its aggregate_id
 * `id` unless the projection set it. */
int incx_project_row(const inc_projection_desc *p, const void *state,
                     void *row, const char *id, inc_error *err);
/* Free and reset; `a` may be NULL when w->next is. */
void incx_work_free(const inc_aggregate_desc *a, incx_work *w);
/* An event's metadata: {"command_id":..,"command_type":..,
 * "correlation_id":.. (command_id when NULL)[,"causation_id":..],
 * "durable_handlers":true}; malloc'd, NULL on OOM.  The last member says
 * that the runtime which committed the event runs handlers with derived
 * command ids, so the reactor may run them again (reactor.c): events
 * committed before, whose handlers had random ids, are left alone. */
char *incx_metadata_text(const char *command_id, const char *command_type,
                         const char *causation, const char *correlation);

#endif
