/* reactor.c - inc_reactor_run: the durable run of an app's event handlers.
 * A named consumer (subscription.c) reads every committed event of a type
 * some handler is registered for and hands it to incx_react_event
 * (dispatch.c), which runs the handlers with the inline path's command
 * ids; the checkpoint moves after each batch, and a handler's failure
 * stops the run before the event that failed.  Only events whose metadata
 * says "durable_handlers" are handled (commit_prepare.c): older ones had
 * their handlers run with random command ids, which a second run could
 * not recognise. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <incident/reactor.h>

#include "app_internal.h"

#define DEFAULT_BATCH 100

typedef struct reactor {
    inc_app *app;
    const inc_reactor_options *o;
    inc_reactor_stats stats;
} reactor;

static bool durable(const char *metadata) {
    json_t *m = metadata ? json_loads(metadata, 0, NULL) : NULL;
    bool yes = m && json_is_true(json_object_get(m, "durable_handlers"));
    json_decref(m);
    return yes;
}

static int react_one(void *ud, inc_consumer_tx *tx, const inc_stored_event *ev,
                     const inc_log_position *at, inc_error *err) {
    reactor *r = ud;
    (void)tx;
    (void)at;
    const inc_aggregate_desc *a =
        inc_domain_aggregate(r->app->d, ev->aggregate_type);
    /* another domain's events in the same tables: not ours to handle */
    if (!a || !inc_aggregate_event(a, ev->event_type)) return 0;
    /* Committed by a runtime whose handlers had random command ids (or
     * appended by a tool): its handlers ran, at most once, where it was
     * committed; running them again here would do their work twice. */
    if (!durable(ev->metadata)) return 0;
    inc_recorded_event rec;
    if (incx_recorded_from_stored(a, ev, &rec, err) != 0) return -1;
    int rc = incx_react_event(r->app, &rec, r->o->on_recorded, r->o->ud,
                              &r->stats.events_recorded, err);
    inc_msg_free(rec.desc, rec.data);
    free(rec.data);
    if (rc == 0) r->stats.events_handled++;
    return rc;
}

int inc_reactor_run(inc_app *app, const inc_reactor_options *o,
                    const inc_consumer_run_options *ro,
                    inc_reactor_stats *stats, inc_error *err) {
    inc_reactor_options defaults;
    memset(&defaults, 0, sizeof defaults);
    if (!o) o = &defaults;
    inc_consumer_run_options caught_up = {0, 1, NULL};
    if (!ro) ro = &caught_up;
    reactor r;
    memset(&r, 0, sizeof r);
    r.app = app;
    r.o = o;
    /* only the event types some handler waits for */
    const char **types = malloc((app->n_handlers ? app->n_handlers : 1) *
                                sizeof *types);
    if (!types) return incx_oom(err);
    size_t n_types = 0;
    for (size_t h = 0; h < app->n_handlers; h++) {
        const char *name = app->handlers[h].event->name;
        size_t k = 0;
        while (k < n_types && strcmp(types[k], name) != 0) k++;
        if (k == n_types) types[n_types++] = name;
    }
    /* No handler at all: an event type no event has (an empty filter
     * would mean every type), so the run still waits, stops and obeys
     * the limit, idle time and stop flag as usual. */
    if (n_types == 0) types[n_types++] = "";
    inc_consumer_options co;
    memset(&co, 0, sizeof co);
    co.name = o->name ? o->name : INC_REACTOR_NAME;
    co.event_types = types;
    co.n_event_types = n_types;
    co.batch_size = o->batch_size ? o->batch_size : DEFAULT_BATCH;
    co.group_size = o->group_size;
    co.group_member = o->group_member;
    co.max_poll_ms = o->max_poll_ms;
    int rc = -1;
    inc_consumer *c = inc_consumer_open(app->store, &co, err);
    if (c) {
        rc = inc_consumer_run(c, react_one, &r, ro, NULL, err);
        inc_consumer_close(c);
    }
    free(types);
    if (stats) *stats = r.stats;
    return rc;
}
