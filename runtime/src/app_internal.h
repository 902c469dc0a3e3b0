/* app_internal.h - what batch.c needs from the app (not installed). */
#ifndef INCIDENT_APP_INTERNAL_H
#define INCIDENT_APP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <incident/app.h>
#include <incident/domain.h>
#include <incident/store.h>

/* The snapshot interval that applies to aggregate type `a` (0 = never). */
int64_t inc_app_snapshot_every_of(const inc_app *app,
                                  const inc_aggregate_desc *a);
unsigned inc_app_max_retries_of(const inc_app *app);

/* One state for inc_app_states. */
typedef struct inc_state_req {
    const inc_aggregate_desc *a;
    const char *id;
    void *state;     /* a->state struct, uninitialised on entry */
    int rc;          /* out: 0, or -1 with `error` (this state only) */
    inc_error error;
    char last_id[INC_UUID_TEXT_SIZE]; /* out: as inc_app_cache_put wants */
    /* out: the cached state as it was, not read from the store (only when
     * inc_app_states was asked to speculate): the first commit on it must
     * carry expect_event_id = last_id, and only commands that emit events
     * may be decided on it. */
    bool speculative;
} inc_state_req;
/* The current states of n aggregates for commands, with the store's
 * load_many (one round trip on PostgreSQL, however many): cached states
 * (taken out of the cache) catch up, the others load in full.  Every
 * state is initialised on return (free each with inc_msg_free, also after
 * errors).  -1 (err): stop, the states mean nothing (connection lost,
 * OOM). */
int inc_app_states(inc_app *app, inc_state_req *reqs, size_t n,
                   bool may_speculate, inc_error *err);
/* A message's aggregate_id (NULL if it has none) and a state's version. */
const char *inc_app_msg_id(const inc_message_desc *d, const void *msg);
int64_t inc_app_state_version(const inc_aggregate_desc *a, const void *state);

/* What one command commits, and everything allocated for it. */
typedef struct inc_work {
    inc_event_list events;  /* what inc_execute emitted */
    void *next;             /* the state after them (malloc'd) */
    inc_stored_event *stored;
    char **data_json;
    inc_projection_write *rows;
    size_t n_rows;
    char *snapshot;
    int64_t *positions;
} inc_work;
/* After inc_execute put one or more events in w->events on `state`:
 * apply them to a copy (w->next), give them ids, versions and JSON, make
 * every projection row of the aggregate and the snapshot when one is due,
 * and fill *c to commit it all (`metadata` is borrowed).  -1 (err): free
 * w all the same. */
int inc_work_prepare(inc_app *app, const inc_aggregate_desc *a,
                     const char *id, const void *state, const char *metadata,
                     inc_work *w, inc_commit *c, inc_error *err);
/* Free and reset; `a` may be NULL when w->next is. */
void inc_work_free(const inc_aggregate_desc *a, inc_work *w);
/* An event's metadata: {"command_id":..,"command_type":..,
 * "correlation_id":.. (command_id when NULL)[,"causation_id":..]};
 * malloc'd, NULL on OOM. */
char *inc_metadata_text(const char *command_id, const char *command_type,
                        const char *causation, const char *correlation);
/* What a batch's speculative commits found: `ok` committed, `stale`
 * refused because a stream had moved on (feeds the app's stale rate). */
void inc_app_note_speculation(inc_app *app, size_t ok, size_t stale);
/* Hand a malloc'd state of (a, id), whose version is that of event
 * last_id, to the app's state cache (freed if it cannot be kept). */
void inc_app_cache_put(inc_app *app, const inc_aggregate_desc *a,
                       const char *id, void *state, const char *last_id);
unsigned inc_app_max_backoff_of(const inc_app *app);

#endif
