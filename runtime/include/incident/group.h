/* group.h - group commit: many threads of one process dispatch commands,
 * and the commands that arrive together share transactions.
 *
 * An inc_app is used by one thread at a time, and each inc_dispatch pays
 * its own WAL flush and round trips.  An inc_group is safe to call from
 * any number of threads at once: inc_group_dispatch queues the command and
 * waits; a committer thread takes everything queued (up to max_group
 * commands) and runs it as one inc_dispatch_batch chunk (one load round
 * trip for the group's aggregates unless their cached states are current,
 * one commit round trip, one flush), then wakes each caller with its own
 * outcome.  Commands that arrive while a group is committing go into the
 * next group.
 *
 * Sharding: the group has `committers` committer threads (default 1),
 * each with its own store (connection), app and state cache; a command
 * goes to the
 * committer of its aggregate id (a hash), so one aggregate is always
 * written by the same committer: committers never conflict with each
 * other and their cached states stay current (a group on current states
 * commits without reading: one round trip).
 *
 * Outcome of each command, as inc_dispatch would give it:
 *   - committed: 0, and its events appended to `out` (n_direct counts
 *     them; command_id = correlation_id = a new id per command, as
 *     inc_dispatch gives a top-level command);
 *   - invalid or rejected (validation, `check`, `require`, `fail`): -1
 *     with that error; nothing written; the rest of the group is not
 *     affected (it goes on without the command);
 *   - a conflict with a writer outside the group (another process or an
 *     inc_app on the same store): the group's commit writes nothing and
 *     its commands run again one by one, each with the app's retry policy
 *     (INC_ERR_CONFLICT only after max_retries); the commands queued
 *     behind that group wait meanwhile (their committer is busy);
 *   - committed, but its events could not be handed over (out of
 *     memory): -1 INC_ERR_INTERNAL, "committed, but its events could not
 *     be returned";
 *   - connection lost while its group committed: -1 INC_ERR_UNAVAILABLE
 *     (committed or not: unknown; check before sending it again); commands
 *     behind it in the same group that did not run: INC_ERR_UNAVAILABLE.
 * Commands of one caller run in the order it sends them (it waits for
 * each).  Commands of different callers on one aggregate run in the order
 * they were queued.
 *
 * Event handlers (inc_app_on) are NOT run for grouped commands, and
 * caller-supplied command ids (inc_dispatch_with_id) are not supported:
 * reactions to grouped commands are left to a consumer of the log (the
 * reactor; docs/runtime.md, "Group commit").
 *
 * A group allocates nothing global; inc_group_free stops its threads
 * after the commands already queued have run. */
#ifndef INCIDENT_GROUP_H
#define INCIDENT_GROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <incident/app.h>
#include <incident/store.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct inc_group inc_group;

/* Opens committer `index`'s store (called from inc_group_new, in the
 * caller's thread, once per committer).  NULL with err: inc_group_new
 * fails. */
typedef inc_store *(*inc_group_open_fn)(void *ud, unsigned index,
                                        inc_error *err);
/* Closes what inc_group_open_fn opened (NULL: inc_store_close). */
typedef void (*inc_group_close_fn)(void *ud, unsigned index, inc_store *s);
/* Optional: configure committer `index`'s app (snapshot interval, state
 * cache, retries) before any command runs.  -1 with err: inc_group_new
 * fails. */
typedef int (*inc_group_setup_fn)(void *ud, unsigned index, inc_app *app,
                                  inc_error *err);

/* inc_group_options.max_wait_us: no latency cap, never wait. */
#define INC_GROUP_NO_WAIT UINT_MAX

typedef struct inc_group_options {
    /* Committer threads, each with its own store (connection).  0 = 1. */
    unsigned committers;
    /* Size cap: commands per transaction at most.  0 = 64. */
    size_t max_group;
    /* Latency cap, in microseconds (0 = 1000): a committer that finds
     * fewer commands queued than its previous group had (and fewer than
     * max_group) waits for more to join, at most this long after the
     * oldest one arrived.  Under a steady load the callers of the last
     * group come back at once and the wait ends when they have; when the
     * load drops, a command waits at most the cap.  INC_GROUP_NO_WAIT:
     * the group is whatever arrived while the previous one committed.
     * Commands never wait longer than this plus one commit for their
     * group to start. */
    unsigned max_wait_us;
    inc_group_open_fn open;   /* required */
    inc_group_close_fn close; /* NULL: inc_store_close */
    inc_group_setup_fn setup; /* may be NULL */
    void *ud;                 /* passed to open, close and setup */
} inc_group_options;

/* Open the stores, make the apps and start the committers.  The group
 * borrows `d`.  NULL with err (nothing is left open). */
INC_API inc_group *inc_group_new(const inc_domain *d,
                                 const inc_group_options *opts,
                                 inc_error *err);
/* The same on PostgreSQL: each committer opens inc_pg_store_open(pg)
 * (conninfo and schema are copied); opts->open, close and ud are ignored
 * (opts may be NULL: the defaults). */
INC_API inc_group *inc_group_new_pg(const inc_domain *d,
                                    const inc_pg_options *pg,
                                    const inc_group_options *opts,
                                    inc_error *err);
/* Run the commands still queued, stop the committers, close the stores.
 * No inc_group_dispatch may be running or start.  NULL-safe. */
INC_API void inc_group_free(inc_group *g);

/* From any thread: run one command in the next group and wait for its
 * outcome (see above).  `out` as for inc_dispatch (may be NULL).  Errors
 * as inc_dispatch's. */
INC_API int inc_group_dispatch(inc_group *g, const inc_message_desc *command,
                               const void *data, inc_result *out,
                               inc_error *err);

typedef struct inc_group_stats {
    uint64_t groups;    /* transactions (groups) committed or tried */
    uint64_t commands;  /* commands in them */
    uint64_t max_size;  /* the largest group */
} inc_group_stats;
/* Totals over every committer so far (from any thread). */
INC_API void inc_group_get_stats(inc_group *g, inc_group_stats *out);

#ifdef __cplusplus
}
#endif
#endif
