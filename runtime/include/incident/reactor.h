/* reactor.h - the durable half of event handlers: a consumer of the
 * commit-ordered log (<incident/subscription.h>) that runs an app's
 * handlers (the domain's reactions and those registered with inc_app_on
 * or inc_app_on_named) for every committed event, with the same
 * deterministic command ids as the inline run after the commit, so what
 * the inline path already did is answered from the command ids' records
 * and nothing happens twice (docs/runtime.md, "Event handlers").
 *
 *   inc_reactor_options o = {0};            (name "incident.reactor")
 *   inc_consumer_run_options ro = {.idle_ms = 1000};
 *   inc_reactor_run(app, &o, &ro, &stats, &err);
 *
 * The checkpoint is saved after each batch.  A handler that fails for
 * another reason than a rejection (database down, conflicts exhausted)
 * stops the run at that event, its checkpoint before it: the next run
 * handles it again.  `PROG react` runs it from the domain CLI. */
#ifndef INCIDENT_REACTOR_H
#define INCIDENT_REACTOR_H

#include <stddef.h>
#include <stdint.h>

#include <incident/app.h>
#include <incident/error.h>
#include <incident/subscription.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The consumer name a reactor uses unless told otherwise. */
#define INC_REACTOR_NAME "incident.reactor"

typedef struct inc_reactor_options {
    const char *name;     /* its consumer's name; NULL = INC_REACTOR_NAME */
    size_t batch_size;    /* events per read and checkpoint; 0 = 100 */
    /* As inc_consumer_options: members of one group share the streams. */
    unsigned group_size, group_member;
    int max_poll_ms;      /* 0 = the consumer's default */
    /* Optional: called with every event the handlers' commands recorded
     * during the run (new ones, not those answered from a record). */
    inc_recorded_cb on_recorded;
    void *ud;
} inc_reactor_options;

typedef struct inc_reactor_stats {
    int64_t events_handled;  /* log events the handlers ran for */
    int64_t events_recorded; /* events their commands recorded */
} inc_reactor_stats;

/* Run `app`'s handlers for every committed event after the reactor's
 * checkpoint until ro's limit, idle time or stop (ro NULL: until the log
 * has been idle for 1 ms, i.e. caught up).  The app's store must support
 * subscriptions; the reactor reads through a session of its own and
 * dispatches through the app (one thread at a time, as always).  `o` and
 * `stats` may be NULL.  0, or -1 with err (a handler's failure, as above,
 * or the consumer's). */
INC_API int inc_reactor_run(inc_app *app, const inc_reactor_options *o,
                            const inc_consumer_run_options *ro,
                            inc_reactor_stats *stats, inc_error *err);

#ifdef __cplusplus
}
#endif
#endif
