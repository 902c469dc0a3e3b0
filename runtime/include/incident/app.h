/* app.h - the command pipeline (Incident's Command Handler) and the
 * after-commit event handlers, over any inc_store.
 *
 * An inc_app ties a domain (descriptors), a store and the options together.
 * inc_dispatch runs one command:
 *   validate -> load (snapshot + later events) and fold -> execute ->
 *   apply the new events to a copy of the state -> project every projection
 *   of the aggregate -> commit events + rows (+ snapshot) in ONE transaction
 *   -> on a version conflict, retry from load (bounded, jittered backoff)
 *   -> after commit, run the registered event handlers, which may dispatch
 *   further commands (their events carry causation_id/correlation_id).
 * A rejected or failed command writes nothing.  Like a store, an app is
 * used by one thread at a time; it holds no global state. */
#ifndef INCIDENT_APP_H
#define INCIDENT_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <incident/domain.h>
#include <incident/error.h>
#include <incident/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An event as committed, decoded.  In an inc_result everything is owned by
 * the result; in callbacks it is borrowed for the duration of the call. */
typedef struct inc_recorded_event {
    char event_id[INC_UUID_TEXT_SIZE];
    const char *aggregate_type;        /* descriptor name */
    char *aggregate_id;
    int64_t version;
    const char *event_type;            /* descriptor name */
    inc_timestamp event_date;
    int64_t position;                  /* 0 when unknown (just committed) */
    const inc_message_desc *desc;      /* the event's descriptor */
    void *data;                        /* a desc->size struct */
    /* From the metadata; "" when absent. */
    char command_id[INC_UUID_TEXT_SIZE];
    char causation_id[INC_UUID_TEXT_SIZE];   /* event that caused the command */
    char correlation_id[INC_UUID_TEXT_SIZE]; /* first command of the chain */
} inc_recorded_event;

/* The events a dispatch recorded: the command's own events first, then
 * those of commands dispatched by event handlers, in commit order. */
typedef struct inc_result {
    size_t count, cap;
    inc_recorded_event *events;
    size_t n_direct;             /* how many came from the command itself */
    /* The command committed, but an event handler failed (the first such
     * error).  inc_dispatch still returns 0: the events are durable. */
    bool handler_failed;
    inc_error handler_error;
} inc_result;

#define INC_RESULT_INIT {0, 0, NULL, 0, false, {INC_OK, "", ""}}
INC_API void inc_result_init(inc_result *r);
/* NULL-safe; leaves r initialised. */
INC_API void inc_result_free(inc_result *r);

/* {"event_id","aggregate_id","aggregate_type","version","event_type",
 *  "event_date","data":{...}} - the CLI's line format.  NULL on OOM. */
INC_API json_t *inc_recorded_event_to_json(const inc_recorded_event *ev);

typedef struct inc_app inc_app;
typedef struct inc_handler_ctx inc_handler_ctx;

/* The app borrows `d` and `store` (close the store after freeing the app). */
INC_API inc_app *inc_app_new(const inc_domain *d, inc_store *store,
                             inc_error *err);
INC_API void inc_app_free(inc_app *app); /* NULL-safe */

INC_API const inc_domain *inc_app_domain(const inc_app *app);
INC_API inc_store *inc_app_store(const inc_app *app);

/* Write a snapshot whenever a commit crosses a multiple of `every` events
 * (0 = never).  `aggregate` NULL sets the default for every aggregate type
 * (100); a name sets one type (INC_ERR_NOT_FOUND if unknown). */
INC_API int inc_app_set_snapshot_every(inc_app *app, const char *aggregate,
                                       int64_t every, inc_error *err);
/* Retries after a version conflict before INC_ERR_CONFLICT (default 10). */
INC_API void inc_app_set_max_retries(inc_app *app, unsigned retries);
/* Upper bound of the jittered backoff between retries, in microseconds
 * (default 20000; the bound doubles per retry from 500 up to this). */
INC_API void inc_app_set_max_backoff(inc_app *app, unsigned max_us);
/* Conflicts seen (and retried or given up on) since the app was created. */
INC_API uint64_t inc_app_conflicts(const inc_app *app);

/* State cache.  After a command the app keeps the aggregate's new state
 * (up to `max_states` of them, least recently used dropped first; default
 * 4096, 0 turns the cache off and frees it).  The next command for that
 * aggregate then reads only the events from the cached version on instead
 * of the snapshot and the history: the cached version's own event must
 * still be there with the same event id, or the entry is dropped and the
 * stream loaded in full.  Other writers are safe: their events are read
 * and applied before the command runs, and the commit's version check
 * catches the rest.  Memory: max_states x the state struct and its
 * strings.  Reads (inc_app_state) always load from the store. */
INC_API void inc_app_set_state_cache(inc_app *app, size_t max_states);

typedef struct inc_app_stats {
    uint64_t conflicts;     /* as inc_app_conflicts */
    uint64_t cache_hits;    /* loads served by a cached state + its later events */
    uint64_t cache_misses;  /* loads of a stream with no cached state */
    uint64_t cache_stale;   /* cached states found invalid and reloaded */
    /* Commits made on a cached state without reading the stream first
     * (while cached states have mostly been current lately), and such
     * commits refused because the stream had moved on (then the command
     * reads what it missed and runs again at once). */
    uint64_t speculative_commits;
    uint64_t speculative_stale;
} inc_app_stats;
INC_API void inc_app_get_stats(const inc_app *app, inc_app_stats *out);

/* ---- event handlers (process managers), run after commit ---- */
typedef int (*inc_event_handler_fn)(inc_handler_ctx *ctx,
                                    const inc_recorded_event *ev, void *ud,
                                    inc_error *err);
/* Call `fn` for every committed event of type `event` (a domain event
 * name), in registration order (the domain's reactions, registered by
 * inc_app_new, come first).  INC_ERR_NOT_FOUND for an unknown event.
 *
 * Handlers are exactly once in effect (docs/runtime.md, "Event handlers"):
 * they run inline right after the commit, and the reactor
 * (<incident/reactor.h>, `PROG react`) runs them for every committed event
 * the inline path did not get to.  Every command a handler dispatches gets
 * a command id derived from the handled event's id, the handler's key and
 * the dispatch's number within the call, so a second run of a handler for
 * the same event writes nothing and sees the outcomes of the first
 * (rejections included).  Hence a handler must decide only from the event,
 * inc_handler_event_state and the outcomes of its own dispatches, and
 * every process of a domain must register the same handlers.
 *
 * The key of an inc_app_on handler is "EVENT#n" (the n-th one of EVENT in
 * registration order); inc_app_on_named gives it a name instead (1 to
 * INC_HANDLER_NAME_MAX bytes, no '#', unique in the app: INC_ERR_INVALID
 * "duplicate_handler"), which stays valid when handlers are added or
 * reordered. */
INC_API int inc_app_on(inc_app *app, const char *event, inc_event_handler_fn fn,
                       void *ud, inc_error *err);
#define INC_HANDLER_NAME_MAX 200
INC_API int inc_app_on_named(inc_app *app, const char *event, const char *name,
                             inc_event_handler_fn fn, void *ud, inc_error *err);
/* inc_app_new registers the domain's reactions (inc_domain.reactions) as
 * handlers.  This takes them off this app again: for a tool or a test
 * that dispatches a saga's steps by hand.  A reactor run over such an app
 * performs no reaction either. */
INC_API void inc_app_drop_reactions(inc_app *app);

/* From a handler: dispatch a command caused by the handled event (its
 * events get causation_id = that event, correlation_id = the first
 * command).  Its events are added to the outer result.  A rejection is
 * returned to the handler, which may react (e.g. compensate).  The
 * command carries the handler's deterministic command id (its events'
 * command_id): when that id is recorded already, this returns the
 * recorded outcome (0, or the recorded rejection) and writes nothing. */
INC_API int inc_handler_dispatch(inc_handler_ctx *ctx,
                                 const inc_message_desc *command,
                                 const void *data, inc_error *err);
INC_API int inc_handler_dispatch_json(inc_handler_ctx *ctx, const char *command,
                                      const char *json, inc_error *err);
INC_API inc_app *inc_handler_app(inc_handler_ctx *ctx);
/* From a handler: the state of the aggregate that emitted the handled
 * event, as of that event (later events are not folded in, so a handler
 * that runs again later sees the same state).  `state` is a struct of the
 * aggregate's state type; free it with inc_msg_free, also on failure. */
INC_API int inc_handler_event_state(inc_handler_ctx *ctx, void *state,
                                    inc_error *err);

/* ---- commands ---- */

/* Run one command (`data` is a command->size struct; the caller keeps
 * ownership).  `out` may be NULL; otherwise it must be initialised and
 * receives the recorded events (appended).  Errors: INC_ERR_INVALID (bad
 * field), INC_ERR_REJECTED (code = the .agg rejection code),
 * INC_ERR_CONFLICT (retries exhausted), INC_ERR_UNAVAILABLE,
 * INC_ERR_INTERNAL. */
INC_API int inc_dispatch(inc_app *app, const inc_message_desc *command,
                         const void *data, inc_result *out, inc_error *err);
/* Same from a command name and its JSON text (strict decoding;
 * INC_ERR_NOT_FOUND for an unknown command). */
INC_API int inc_dispatch_json(inc_app *app, const char *command,
                              const char *json, inc_result *out,
                              inc_error *err);

/* Idempotent commands (docs/runtime.md, "Idempotent commands").  As
 * inc_dispatch, with a caller-supplied command id (1 to
 * INC_COMMAND_ID_MAX bytes of UTF-8; NULL = inc_dispatch) recorded in the
 * commit's transaction, also when the command emits no events.  Sending
 * the same id again with the same command and payload (compared as
 * canonical JSON) writes nothing and returns 0 with the events the first
 * run recorded (n_direct of them; event handlers do not run again), also
 * when the repeats run at the same time.  The same id with another
 * command or payload: INC_ERR_INVALID, code "command_id_reused", nothing
 * written.  A rejection is recorded too (in a transaction of its own; if
 * a concurrent run of the same id committed first, its outcome is
 * returned instead): a repeat returns INC_ERR_REJECTED with the same code,
 * never a later success.  So after INC_ERR_UNAVAILABLE or
 * INC_ERR_CONFLICT, send it again with the same id; to try again after a
 * rejection, use a new id. */
INC_API int inc_dispatch_with_id(inc_app *app, const inc_message_desc *command,
                                 const void *data, const char *command_id,
                                 inc_result *out, inc_error *err);
INC_API int inc_dispatch_json_with_id(inc_app *app, const char *command,
                                      const char *json, const char *command_id,
                                      inc_result *out, inc_error *err);

/* ---- reads ---- */

/* Current state of one aggregate (version 0 if it has no events).  `state`
 * is a a->state struct, uninitialised on entry; free it with inc_msg_free
 * (also after an error). */
INC_API int inc_app_state(inc_app *app, const inc_aggregate_desc *a,
                          const char *id, void *state, inc_error *err);

typedef int (*inc_recorded_cb)(void *ud, const inc_recorded_event *ev,
                               inc_error *err);
/* One aggregate's events in version order, decoded. */
INC_API int inc_app_read_stream(inc_app *app, const inc_aggregate_desc *a,
                                const char *id, inc_recorded_cb cb, void *ud,
                                inc_error *err);

/* Truncate the projection and replay every event of its aggregate type
 * through fold + project, in one transaction. */
INC_API int inc_app_rebuild(inc_app *app, const inc_projection_desc *p,
                            void (*progress)(void *ud, int64_t done,
                                             int64_t total),
                            void *ud, inc_error *err);

#ifdef __cplusplus
}
#endif
#endif
