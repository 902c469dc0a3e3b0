/* app.c - an app's settings and statistics: inc_app_new, the options
 * (snapshot interval, retries, state cache), the registered handlers (the
 * domain's reactions first, then inc_app_on/inc_app_on_named, each under
 * the key its command ids derive from), and the stale rate of cached
 * states that decides when to speculate.
 *
 * What a command does is elsewhere: state_load.c (loading), commit_prepare.c
 * (the commit), retry.c (after a conflict), dispatch.c (the attempts and
 * handlers), batch.c (many commands), read.c (reads and rebuild). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"
#include "internal.h"

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
    /* the domain's reactions, in declaration order, before any handler
     * the program registers */
    for (size_t i = 0; i < d->n_reactions; i++) {
        const inc_reaction_desc *r = &d->reactions[i];
        if (!r->name || !r->event || !r->fn) {
            inc_error_set(err, INC_ERR_INTERNAL, "bad_domain",
                          "reaction %zu lacks a name, event or function", i);
            inc_app_free(app);
            return NULL;
        }
        if (incx_app_add_handler(app, r->event, r->name, r->fn, NULL, err) !=
            0) {
            inc_app_free(app);
            return NULL;
        }
    }
    app->n_reactions = d->n_reactions;
    return app;
}

void inc_app_drop_reactions(inc_app *app) {
    size_t k = app->n_reactions;
    for (size_t i = 0; i < k; i++) free(app->handlers[i].key);
    memmove(app->handlers, app->handlers + k,
            (app->n_handlers - k) * sizeof *app->handlers);
    app->n_handlers -= k;
    app->n_reactions = 0;
}

void inc_app_free(inc_app *app) {
    if (!app) return;
    incx_state_cache_free(app->cache);
    free(app->snapshot_every);
    for (size_t i = 0; i < app->n_handlers; i++) free(app->handlers[i].key);
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

int incx_app_add_handler(inc_app *app, const inc_message_desc *event,
                         const char *key, inc_event_handler_fn fn, void *ud,
                         inc_error *err) {
    for (size_t i = 0; i < app->n_handlers; i++)
        if (strcmp(app->handlers[i].key, key) == 0)
            return inc_error_set(err, INC_ERR_INVALID, "duplicate_handler",
                                 "a handler named '%s' is registered already",
                                 key);
    if (app->n_handlers == app->cap_handlers) {
        size_t cap = app->cap_handlers ? app->cap_handlers * 2 : 8;
        incx_handler *h = realloc(app->handlers, cap * sizeof *h);
        if (!h) return incx_oom(err);
        app->handlers = h;
        app->cap_handlers = cap;
    }
    char *k = inc_strdup(key);
    if (!k) return incx_oom(err);
    incx_handler *h = &app->handlers[app->n_handlers++];
    h->event = event;
    h->fn = fn;
    h->ud = ud;
    h->key = k;
    return 0;
}

/* The event descriptor of a registration, checked. */
static const inc_message_desc *handler_event(inc_app *app, const char *event,
                                             inc_event_handler_fn fn,
                                             inc_error *err) {
    const inc_message_desc *e = inc_domain_event(app->d, event);
    if (!e) {
        inc_error_set(err, INC_ERR_NOT_FOUND, "unknown_event",
                      "unknown event '%s'", event ? event : "(null)");
        return NULL;
    }
    if (!fn) {
        inc_error_set(err, INC_ERR_INTERNAL, "bad_argument",
                      "no handler function");
        return NULL;
    }
    return e;
}

int inc_app_on(inc_app *app, const char *event, inc_event_handler_fn fn,
               void *ud, inc_error *err) {
    const inc_message_desc *e = handler_event(app, event, fn, err);
    if (!e) return -1;
    /* "EVENT#n": the n-th unnamed handler of EVENT (a name cannot hold a
     * '#': inc_app_on_named refuses it) */
    size_t n = 1;
    for (size_t i = 0; i < app->n_handlers; i++)
        if (app->handlers[i].event == e && strchr(app->handlers[i].key, '#'))
            n++;
    char key[INC_HANDLER_NAME_MAX + 32];
    if (snprintf(key, sizeof key, "%s#%zu", e->name, n) >= (int)sizeof key)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_handler_name",
                             "event name too long for a handler key");
    return incx_app_add_handler(app, e, key, fn, ud, err);
}

int inc_app_on_named(inc_app *app, const char *event, const char *name,
                     inc_event_handler_fn fn, void *ud, inc_error *err) {
    const inc_message_desc *e = handler_event(app, event, fn, err);
    if (!e) return -1;
    if (!name || !*name || strlen(name) > INC_HANDLER_NAME_MAX ||
        strchr(name, '#'))
        return inc_error_set(err, INC_ERR_INVALID, "invalid_handler_name",
                             "a handler name is 1 to %d bytes without '#'",
                             INC_HANDLER_NAME_MAX);
    return incx_app_add_handler(app, e, name, fn, ud, err);
}

void incx_note_speculation(inc_app *app, size_t ok, size_t stale) {
    app->spec_commits += ok;
    app->spec_stale += stale;
    incx_observe_cache(app, stale > 0);
}
