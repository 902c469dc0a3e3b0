/* app.c - an app's settings and statistics: inc_app_new, the options
 * (snapshot interval, retries, state cache), the registered handlers, and
 * the stale rate of cached states that decides when to speculate.
 *
 * What a command does is elsewhere: state_load.c (loading), commit_prepare.c
 * (the commit), retry.c (after a conflict), dispatch.c (the attempts and
 * handlers), batch.c (many commands), read.c (reads and rebuild). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"

#define DEFAULT_SNAPSHOT_EVERY 100
#define DEFAULT_STATE_CACHE 4096

inc_app *inc_app_new(const inc_domain *d, inc_store *store, inc_error *err) {
    if (!d || !store) {
        inc_error_set(err, INC_ERR_INTERNAL, "bad_argument",
                      "inc_app_new needs a domain and a store");
        return NULL;
    }
    if (d->abi_version != INC_ABI_VERSION) {
        inc_error_set(err, INC_ERR_INTERNAL, "abi_mismatch",
                      "domain built for ABI %u, runtime is %u", d->abi_version,
                      INC_ABI_VERSION);
        return NULL;
    }
    inc_app *app = calloc(1, sizeof *app);
    if (!app ||
        !(app->snapshot_every = malloc((d->n_aggregates ? d->n_aggregates : 1) *
                                       sizeof *app->snapshot_every)) ||
        !(app->cache = incx_state_cache_new(DEFAULT_STATE_CACHE))) {
        if (app) free(app->snapshot_every);
        free(app);
        incx_oom(err);
        return NULL;
    }
    for (size_t i = 0; i < d->n_aggregates; i++) app->snapshot_every[i] = -1;
    app->d = d;
    app->store = store;
    app->snapshot_default = DEFAULT_SNAPSHOT_EVERY;
    incx_retry_init(&app->retry);
    return app;
}

void inc_app_free(inc_app *app) {
    if (!app) return;
    incx_state_cache_free(app->cache);
    free(app->snapshot_every);
    free(app->handlers);
    free(app);
}

const inc_domain *inc_app_domain(const inc_app *app) { return app->d; }
inc_store *inc_app_store(const inc_app *app) { return app->store; }
uint64_t inc_app_conflicts(const inc_app *app) { return app->conflicts; }

void inc_app_set_state_cache(inc_app *app, size_t max_states) {
    incx_state_cache_resize(app->cache, max_states);
}

void inc_app_get_stats(const inc_app *app, inc_app_stats *out) {
    out->conflicts = app->conflicts;
    out->cache_hits = app->cache_hits;
    out->cache_misses = app->cache_misses;
    out->cache_stale = app->cache_stale;
    out->speculative_commits = app->spec_commits;
    out->speculative_stale = app->spec_stale;
}

void incx_observe_cache(inc_app *app, bool stale) {
    app->stale_rate = app->stale_rate - app->stale_rate / 8 + (stale ? 32 : 0);
}

void inc_app_set_max_retries(inc_app *app, unsigned retries) {
    app->retry.max_retries = retries;
}

void inc_app_set_max_backoff(inc_app *app, unsigned max_us) {
    app->retry.max_backoff_us = max_us;
}

int inc_app_set_snapshot_every(inc_app *app, const char *aggregate,
                               int64_t every, inc_error *err) {
    if (every < 0)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                             "snapshot_every must be >= 0");
    if (!aggregate) {
        app->snapshot_default = every;
        return 0;
    }
    for (size_t i = 0; i < app->d->n_aggregates; i++)
        if (strcmp(app->d->aggregates[i]->name, aggregate) == 0) {
            app->snapshot_every[i] = every;
            return 0;
        }
    return inc_error_set(err, INC_ERR_NOT_FOUND, "unknown_aggregate",
                         "unknown aggregate '%s'", aggregate);
}

int64_t incx_snapshot_every(const inc_app *app, const inc_aggregate_desc *a) {
    for (size_t i = 0; i < app->d->n_aggregates; i++)
        if (app->d->aggregates[i] == a)
            return app->snapshot_every[i] >= 0 ? app->snapshot_every[i]
                                               : app->snapshot_default;
    return app->snapshot_default;
}

int inc_app_on(inc_app *app, const char *event, inc_event_handler_fn fn,
               void *ud, inc_error *err) {
    const inc_message_desc *e = inc_domain_event(app->d, event);
    if (!e)
        return inc_error_set(err, INC_ERR_NOT_FOUND, "unknown_event",
                             "unknown event '%s'", event ? event : "(null)");
    if (!fn)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_argument",
                             "no handler function");
    if (app->n_handlers == app->cap_handlers) {
        size_t cap = app->cap_handlers ? app->cap_handlers * 2 : 8;
        incx_handler *h = realloc(app->handlers, cap * sizeof *h);
        if (!h) return incx_oom(err);
        app->handlers = h;
        app->cap_handlers = cap;
    }
    app->handlers[app->n_handlers].event = e;
    app->handlers[app->n_handlers].fn = fn;
    app->handlers[app->n_handlers].ud = ud;
    app->n_handlers++;
    return 0;
}

void incx_note_speculation(inc_app *app, size_t ok, size_t stale) {
    app->spec_commits += ok;
    app->spec_stale += stale;
    incx_observe_cache(app, stale > 0);
}
