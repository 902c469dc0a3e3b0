/* app.c - the command pipeline (inc_dispatch), event handlers, and the
 * read helpers that fold stored events through the descriptors.
 *
 * One attempt of a command: load (snapshot + later events, folded as they
 * stream in) -> execute -> apply the new events to a copy of the state ->
 * project -> commit everything in one store transaction.  A version
 * conflict means another writer got there first: start again from load,
 * after a jittered exponential backoff, at most max_retries times. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"
#include "internal.h"
#include "state_cache.h"
#include "store_util.h"

#define DEFAULT_SNAPSHOT_EVERY 100
#define DEFAULT_MAX_RETRIES 10
#define DEFAULT_MAX_BACKOFF_US 20000u
#define MIN_BACKOFF_US 500u
#define MAX_HANDLER_DEPTH 32
#define DEFAULT_STATE_CACHE 4096

typedef struct handler {
    const inc_message_desc *event;
    inc_event_handler_fn fn;
    void *ud;
} handler;

struct inc_app {
    const inc_domain *d;
    inc_store *store;
    int64_t snapshot_default;
    int64_t *snapshot_every; /* per aggregate (index in d->aggregates); -1 = default */
    unsigned max_retries;
    unsigned max_backoff_us;
    uint64_t rng;
    uint64_t conflicts;
    uint64_t cache_hits, cache_misses, cache_stale;
    uint64_t spec_commits, spec_stale;
    /* How often cached states turned out stale lately: a moving average
     * in 1/256 (0: never, 256: always).  Commands commit on a cached state
     * without reading first only while this is low (see run_attempt). */
    unsigned stale_rate;
    inc_state_cache *cache;
    size_t n_handlers, cap_handlers;
    handler *handlers;
};

/* Events recorded during one top-level dispatch: each separately allocated
 * so handlers can hold a pointer while more events are added. */
typedef struct rec_list {
    size_t n, cap;
    inc_recorded_event **items;
    inc_result *result; /* may be NULL */
} rec_list;

struct inc_handler_ctx {
    inc_app *app;
    const inc_recorded_event *cause;
    const char *correlation_id;
    rec_list *list;
    int depth;
};

static int oom(inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

/* ---- results ---- */

static void recorded_free(inc_recorded_event *e) {
    if (!e) return;
    free(e->aggregate_id);
    if (e->data) {
        inc_msg_free(e->desc, e->data);
        free(e->data);
    }
    memset(e, 0, sizeof *e);
}

void inc_result_init(inc_result *r) {
    if (!r) return;
    memset(r, 0, sizeof *r);
    inc_error_clear(&r->handler_error);
}

void inc_result_free(inc_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++) recorded_free(&r->events[i]);
    free(r->events);
    inc_result_init(r);
}

json_t *inc_recorded_event_to_json(const inc_recorded_event *ev) {
    char ts[INC_TIMESTAMP_TEXT_MAX];
    json_t *o = json_object();
    json_t *data = inc_msg_to_json(ev->desc, ev->data, INC_JSON_SKIP_IMPLICIT);
    if (!o || !data || inc_timestamp_format(ev->event_date, ts) != 0) goto fail;
    /* set_new steals the value even on failure */
    if (json_object_set_new(o, "event_id", json_string(ev->event_id)) ||
        json_object_set_new(o, "aggregate_id",
                            json_string(ev->aggregate_id ? ev->aggregate_id
                                                         : "")) ||
        json_object_set_new(o, "aggregate_type",
                            json_string(ev->aggregate_type)) ||
        json_object_set_new(o, "version", json_integer(ev->version)) ||
        json_object_set_new(o, "event_type", json_string(ev->event_type)) ||
        json_object_set_new(o, "event_date", json_string(ts)))
        goto fail;
    if (json_object_set_new(o, "data", data)) {
        data = NULL;
        goto fail;
    }
    return o;
fail:
    json_decref(data);
    json_decref(o);
    return NULL;
}

/* ---- app ---- */

static uint64_t rng_next(inc_app *app) {
    /* xorshift64*: only for retry jitter */
    uint64_t x = app->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    app->rng = x;
    return x * 2685821657736338717u;
}

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
        !(app->cache = inc_state_cache_new(DEFAULT_STATE_CACHE))) {
        if (app) free(app->snapshot_every);
        free(app);
        oom(err);
        return NULL;
    }
    for (size_t i = 0; i < d->n_aggregates; i++) app->snapshot_every[i] = -1;
    app->d = d;
    app->store = store;
    app->snapshot_default = DEFAULT_SNAPSHOT_EVERY;
    app->max_retries = DEFAULT_MAX_RETRIES;
    app->max_backoff_us = DEFAULT_MAX_BACKOFF_US;
    char seed[INC_UUID_TEXT_SIZE];
    inc_uuid_v4(seed, NULL);
    app->rng = 0x9e3779b97f4a7c15u;
    for (const char *p = seed; *p; p++) app->rng = (app->rng ^ (uint64_t)*p) * 1099511628211u;
    if (!app->rng) app->rng = 1;
    return app;
}

void inc_app_free(inc_app *app) {
    if (!app) return;
    inc_state_cache_free(app->cache);
    free(app->snapshot_every);
    free(app->handlers);
    free(app);
}

const inc_domain *inc_app_domain(const inc_app *app) { return app->d; }
inc_store *inc_app_store(const inc_app *app) { return app->store; }
uint64_t inc_app_conflicts(const inc_app *app) { return app->conflicts; }

void inc_app_set_state_cache(inc_app *app, size_t max_states) {
    inc_state_cache_resize(app->cache, max_states);
}

void inc_app_get_stats(const inc_app *app, inc_app_stats *out) {
    out->conflicts = app->conflicts;
    out->cache_hits = app->cache_hits;
    out->cache_misses = app->cache_misses;
    out->cache_stale = app->cache_stale;
    out->speculative_commits = app->spec_commits;
    out->speculative_stale = app->spec_stale;
}

#define STALE_RATE_LIMIT 128 /* speculate while fewer than half are stale */

static void observe_cache(inc_app *app, bool stale) {
    app->stale_rate = app->stale_rate - app->stale_rate / 8 + (stale ? 32 : 0);
}

void inc_app_set_max_retries(inc_app *app, unsigned retries) {
    app->max_retries = retries;
}

void inc_app_set_max_backoff(inc_app *app, unsigned max_us) {
    app->max_backoff_us = max_us;
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

static int64_t snapshot_every(const inc_app *app, const inc_aggregate_desc *a) {
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
        handler *h = realloc(app->handlers, cap * sizeof *h);
        if (!h) return oom(err);
        app->handlers = h;
        app->cap_handlers = cap;
    }
    app->handlers[app->n_handlers].event = e;
    app->handlers[app->n_handlers].fn = fn;
    app->handlers[app->n_handlers].ud = ud;
    app->n_handlers++;
    return 0;
}

/* ---- decoding stored events ---- */

const char *inc_app_msg_id(const inc_message_desc *d, const void *msg) {
    const inc_field_desc *f = inc_field_implicit(d, "aggregate_id", INC_TYPE_STRING);
    return f ? *INC_CFIELD_AT(msg, f, char *) : NULL;
}

int64_t inc_app_state_version(const inc_aggregate_desc *a, const void *state) {
    const inc_field_desc *f = inc_field_implicit(a->state, "version", INC_TYPE_INT);
    return f ? *INC_CFIELD_AT(state, f, int64_t) : 0;
}

/* Decode a stored event's data into a new struct (aggregate_id set). */
static void *decode_event(const inc_aggregate_desc *a,
                          const inc_stored_event *ev,
                          const inc_message_desc **desc_out, inc_error *err) {
    const inc_message_desc *desc = inc_aggregate_event(a, ev->event_type);
    inc_error local;
    if (!desc) {
        inc_error_set(err, INC_ERR_INTERNAL, "unknown_event",
                      "%s %s version %lld: stored event type '%s' is not an "
                      "event of %s",
                      a->name, ev->aggregate_id, (long long)ev->version,
                      ev->event_type, a->name);
        return NULL;
    }
    void *data = malloc(desc->size);
    if (!data) {
        oom(err);
        return NULL;
    }
    inc_error_clear(&local);
    if (inc_msg_from_text(desc, data, ev->data, strlen(ev->data),
                          INC_JSON_SKIP_IMPLICIT, &local) != 0) {
        free(data);
        inc_error_set(err, INC_ERR_INTERNAL, "corrupt_event",
                      "%s %s version %lld (%s): %s", a->name,
                      ev->aggregate_id, (long long)ev->version, ev->event_type,
                      local.message);
        return NULL;
    }
    const inc_field_desc *f =
        inc_field_implicit(desc, "aggregate_id", INC_TYPE_STRING);
    if (f && inc_str_set(INC_FIELD_AT(data, f, char *), ev->aggregate_id, err) != 0) {
        inc_msg_free(desc, data);
        free(data);
        return NULL;
    }
    *desc_out = desc;
    return data;
}

/* Pick command_id/causation_id/correlation_id out of the metadata. */
static void read_metadata(const char *text, inc_recorded_event *r) {
    r->command_id[0] = r->causation_id[0] = r->correlation_id[0] = '\0';
    if (!text) return;
    json_t *m = json_loads(text, 0, NULL);
    if (!m) return;
    const char *keys[3] = {"command_id", "causation_id", "correlation_id"};
    char *dst[3] = {r->command_id, r->causation_id, r->correlation_id};
    for (int i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(m, keys[i]));
        if (v && strlen(v) == INC_UUID_TEXT_SIZE - 1)
            memcpy(dst[i], v, INC_UUID_TEXT_SIZE);
    }
    json_decref(m);
}

/* ---- folding ---- */

typedef struct fold_ctx {
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
    char last_id[INC_UUID_TEXT_SIZE]; /* of the last event folded */
    /* for rebuild: the last event of the current aggregate */
    inc_row_meta last;
    const inc_projection_desc *p;
    void (*progress)(void *ud, int64_t done, int64_t total);
    void *progress_ud;
} fold_ctx;

static int fold_snapshot(void *ud, int64_t version, const char *json,
                         inc_error *err) {
    fold_ctx *fc = ud;
    inc_error local;
    (void)err;
    void *tmp = malloc(fc->a->state->size);
    if (!tmp) return oom(err);
    inc_error_clear(&local);
    const char *sid;
    if (inc_msg_from_text(fc->a->state, tmp, json, strlen(json), 0, &local) !=
            0 ||
        inc_app_state_version(fc->a, tmp) != version ||
        !(sid = inc_app_msg_id(fc->a->state, tmp)) || strcmp(sid, fc->id) != 0) {
        /* Unreadable or inconsistent: never trusted; replay instead. */
        inc_msg_free(fc->a->state, tmp);
        free(tmp);
        fc->bad_snapshot = true;
        return 0;
    }
    inc_msg_free(fc->a->state, fc->state);
    memcpy(fc->state, tmp, fc->a->state->size);
    free(tmp);
    return 0;
}

static int fold_event(void *ud, const inc_stored_event *ev, inc_error *err) {
    fold_ctx *fc = ud;
    const inc_message_desc *desc;
    if (fc->bad_snapshot || fc->stale) return 0; /* reloaded in full */
    if (fc->check_pending) {
        fc->check_pending = false;
        fc->stale = ev->version != fc->check_version ||
                    strcmp(ev->event_id, fc->check_id) != 0;
        return 0;
    }
    void *data = decode_event(fc->a, ev, &desc, err);
    if (!data) return -1;
    int rc = inc_state_apply(fc->a, fc->state, desc, data, ev->version,
                             ev->event_date, err);
    inc_msg_free(desc, data);
    free(data);
    memcpy(fc->last_id, ev->event_id, INC_UUID_TEXT_SIZE);
    fc->n_applied++;
    return rc;
}

/* Initialise `state` and fold the stream into it (snapshot first).
 * last_id (may be NULL): the id of the last event folded, "" when the
 * state came from a snapshot alone or the stream is empty. */
static int load_state(inc_app *app, const inc_aggregate_desc *a,
                      const char *id, void *state, char *last_id,
                      inc_error *err) {
    fold_ctx fc;
    memset(&fc, 0, sizeof fc);
    fc.a = a;
    fc.state = state;
    fc.id = id;
    inc_load_cbs cbs = {fold_snapshot, fold_event, &fc};
    if (inc_state_init(a, state, id, err) != 0) return -1;
    int rc = inc_store_load(app->store, a, id, INC_LOAD_NO_METADATA, &cbs, err);
    if (rc == 0 && fc.bad_snapshot) {
        inc_msg_free(a->state, state);
        if (inc_state_init(a, state, id, err) != 0) return -1;
        fc.bad_snapshot = false;
        fc.last_id[0] = '\0';
        cbs.snapshot = NULL;
        rc = inc_store_load(app->store, a, id,
                            INC_LOAD_NO_SNAPSHOT | INC_LOAD_NO_METADATA, &cbs, err);
    }
    if (last_id) memcpy(last_id, fc.last_id, INC_UUID_TEXT_SIZE);
    return rc;
}

static void state_drop(const inc_aggregate_desc *a, void *state) {
    if (!state) return;
    inc_msg_free(a->state, state);
    free(state);
}

/* The current state of (a, id) for a command, into *out (malloc'd):
 * the cached one brought up to date with the events after it (one
 * read of few rows), or a full load.  last_id as load_state. */
static int load_current(inc_app *app, const inc_aggregate_desc *a,
                        const char *id, void **out,
                        char last_id[INC_UUID_TEXT_SIZE], bool observe,
                        inc_error *err) {
    char cached_id[INC_UUID_TEXT_SIZE];
    void *st = inc_state_cache_take(app->cache, a, id, cached_id);
    *out = NULL;
    if (st) {
        fold_ctx fc;
        memset(&fc, 0, sizeof fc);
        fc.a = a;
        fc.state = st;
        fc.id = id;
        fc.check_pending = true;
        fc.check_version = inc_app_state_version(a, st);
        fc.check_id = cached_id;
        memcpy(fc.last_id, cached_id, INC_UUID_TEXT_SIZE);
        /* from the cached version itself, to see that it is still there */
        inc_load_req r;
        memset(&r, 0, sizeof r);
        r.aggregate = a;
        r.aggregate_id = id;
        r.flags = INC_LOAD_AFTER | INC_LOAD_NO_METADATA;
        r.after_version = fc.check_version - 1;
        r.cbs = (inc_load_cbs){NULL, fold_event, &fc};
        int rc = inc_store_load_many(app->store, &r, 1, err);
        if (rc == 0 && r.rc != 0) {
            if (err) *err = r.error;
            rc = -1;
        }
        if (rc == 0 && observe)
            observe_cache(app, fc.check_pending || fc.stale || fc.n_applied > 0);
        if (rc == 0 && !fc.check_pending && !fc.stale) {
            app->cache_hits++;
            memcpy(last_id, fc.last_id, INC_UUID_TEXT_SIZE);
            *out = st;
            return 0;
        }
        state_drop(a, st);
        if (rc != 0) return -1;
        app->cache_stale++;
    } else {
        app->cache_misses++;
    }
    if (!(st = malloc(a->state->size))) return oom(err);
    if (load_state(app, a, id, st, last_id, err) != 0) {
        inc_msg_free(a->state, st); /* load_state leaves it initialised */
        free(st);
        return -1;
    }
    *out = st;
    return 0;
}

int inc_app_state(inc_app *app, const inc_aggregate_desc *a, const char *id,
                  void *state, inc_error *err) {
    inc_msg_init(a->state, state);
    if (inc_store_check_text(id, "aggregate_id", err) != 0) return -1;
    inc_msg_free(a->state, state);
    return load_state(app, a, id, state, NULL, err);
}

/* Several states at once, for batch.c: the store's load_many (one round
 * trip on PostgreSQL), each stream folded as its rows arrive. */
int inc_app_states(inc_app *app, inc_state_req *reqs, size_t n,
                   bool may_speculate, inc_error *err) {
    may_speculate = may_speculate && app->stale_rate < STALE_RATE_LIMIT;
    for (size_t i = 0; i < n; i++) {
        /* zeroed, not inc_msg_init: defaults would be allocated only to be
         * overwritten below (and leak) */
        memset(reqs[i].state, 0, reqs[i].a->state->size);
        reqs[i].rc = 0;
        reqs[i].speculative = false;
        reqs[i].last_id[0] = '\0';
        inc_error_clear(&reqs[i].error);
    }
    if (n == 0) return 0;
    fold_ctx *fc = calloc(n, sizeof *fc);
    inc_load_req *lr = calloc(n, sizeof *lr);
    char (*cached_id)[INC_UUID_TEXT_SIZE] = calloc(n, sizeof *cached_id);
    size_t *of = calloc(n, sizeof *of), m = 0;
    int rc = 0;
    if (!fc || !lr || !of || !cached_id) {
        rc = oom(err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        inc_state_req *r = &reqs[i];
        if (inc_store_check_text(r->id, "aggregate_id", &r->error) != 0) {
            r->rc = -1;
            continue;
        }
        fc[m].a = r->a;
        fc[m].state = r->state;
        fc[m].id = r->id;
        lr[m].aggregate = r->a;
        lr[m].aggregate_id = r->id;
        void *st = inc_state_cache_take(app->cache, r->a, r->id, cached_id[m]);
        if (st) {
            /* move the cached struct into the caller's */
            memcpy(r->state, st, r->a->state->size);
            free(st);
            if (may_speculate) { /* not read: the commit will check */
                r->speculative = true;
                memcpy(r->last_id, cached_id[m], INC_UUID_TEXT_SIZE);
                continue;
            }
            fc[m].check_pending = true;
            fc[m].check_version = inc_app_state_version(r->a, r->state);
            fc[m].check_id = cached_id[m];
            memcpy(fc[m].last_id, cached_id[m], INC_UUID_TEXT_SIZE);
            lr[m].flags = INC_LOAD_AFTER | INC_LOAD_NO_METADATA;
            lr[m].after_version = fc[m].check_version - 1;
            lr[m].cbs = (inc_load_cbs){NULL, fold_event, &fc[m]};
        } else {
            app->cache_misses++;
            if (inc_state_init(r->a, r->state, r->id, &r->error) != 0) {
                r->rc = -1;
                continue;
            }
            lr[m].flags = INC_LOAD_NO_METADATA;
            lr[m].cbs = (inc_load_cbs){fold_snapshot, fold_event, &fc[m]};
        }
        of[m++] = i;
    }
    inc_error e;
    inc_error_clear(&e);
    bool together = m == 0 || inc_store_load_many(app->store, lr, m, &e) == 0;
    if (!together && e.kind == INC_ERR_UNAVAILABLE) {
        if (err) *err = e;
        rc = -1;
        goto out;
    }
    for (size_t k = 0; k < m; k++) {
        inc_state_req *r = &reqs[of[k]];
        bool cached = (lr[k].flags & INC_LOAD_AFTER) != 0;
        if (together && lr[k].rc != 0) {
            r->rc = -1;
            r->error = lr[k].error;
            continue;
        }
        if (together && !fc[k].bad_snapshot &&
            !(cached && (fc[k].check_pending || fc[k].stale))) {
            if (cached) {
                app->cache_hits++;
                observe_cache(app, fc[k].n_applied > 0);
            }
            memcpy(r->last_id, fc[k].last_id, INC_UUID_TEXT_SIZE);
            continue;
        }
        /* Load this one alone, in full: the store could not load them
         * together (its error may concern one stream), or the snapshot was
         * unusable (then without it), or the cached state was stale. */
        if (together && cached) {
            app->cache_stale++;
            observe_cache(app, true);
        }
        inc_msg_free(r->a->state, r->state);
        int lrc;
        if (together && fc[k].bad_snapshot) {
            fold_ctx f;
            memset(&f, 0, sizeof f);
            f.a = r->a;
            f.state = r->state;
            f.id = r->id;
            inc_load_cbs cbs = {NULL, fold_event, &f};
            lrc = inc_state_init(r->a, r->state, r->id, &r->error) != 0 ||
                          inc_store_load(app->store, r->a, r->id,
                                         INC_LOAD_NO_SNAPSHOT | INC_LOAD_NO_METADATA,
                                         &cbs, &r->error) != 0
                      ? -1
                      : 0;
            memcpy(r->last_id, f.last_id, INC_UUID_TEXT_SIZE);
        } else {
            lrc = load_state(app, r->a, r->id, r->state, r->last_id, &r->error);
        }
        if (lrc != 0) {
            r->rc = -1;
            if (r->error.kind == INC_ERR_UNAVAILABLE) {
                if (err) *err = r->error;
                rc = -1;
                goto out;
            }
        }
    }
out:
    free(fc);
    free(lr);
    free(cached_id);
    free(of);
    return rc;
}

void inc_app_note_speculation(inc_app *app, size_t ok, size_t stale) {
    app->spec_commits += ok;
    app->spec_stale += stale;
    observe_cache(app, stale > 0);
}

void inc_app_cache_put(inc_app *app, const inc_aggregate_desc *a,
                       const char *id, void *state, const char *last_id) {
    inc_state_cache_put(app->cache, a, id, state, last_id);
}

/* ---- dispatch ---- */

static int rec_add(rec_list *l, inc_recorded_event *e, inc_error *err) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        inc_recorded_event **items = realloc(l->items, cap * sizeof *items);
        if (!items) return oom(err);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = e;
    return 0;
}

static void rec_list_free(rec_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        recorded_free(l->items[i]);
        free(l->items[i]);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

static char *dump_compact(json_t *j) {
    if (!j) return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

static void backoff(inc_app *app, unsigned attempt) {
    uint64_t cap = MIN_BACKOFF_US;
    for (unsigned i = 0; i < attempt && cap < app->max_backoff_us; i++) cap *= 2;
    if (cap > app->max_backoff_us) cap = app->max_backoff_us;
    if (cap == 0) return;
    uint64_t us = rng_next(app) % cap; /* full jitter */
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Everything one attempt allocates. */
typedef struct attempt {
    void *state;                      /* the state the command ran on */
    char last_id[INC_UUID_TEXT_SIZE]; /* of its version ("" unknown) */
    inc_work w;                       /* what it commits, from `state` */
} attempt;

static void attempt_free(const inc_aggregate_desc *a, attempt *t) {
    state_drop(a, t->state);
    inc_work_free(a, &t->w);
    memset(t, 0, sizeof *t);
}

void inc_work_free(const inc_aggregate_desc *a, inc_work *w) {
    state_drop(a, w->next);
    if (w->data_json)
        for (size_t i = 0; i < w->events.count; i++) free(w->data_json[i]);
    free(w->data_json);
    inc_event_list_free(&w->events);
    free(w->stored);
    for (size_t i = 0; i < w->n_rows; i++) {
        const inc_projection_desc *p = w->rows[i].projection;
        inc_msg_free(p->row, (void *)w->rows[i].row);
        free((void *)w->rows[i].row);
    }
    free(w->rows);
    free(w->snapshot);
    free(w->positions);
    memset(w, 0, sizeof *w);
}

int inc_work_prepare(inc_app *app, const inc_aggregate_desc *a,
                     const char *id, const void *state, const char *metadata,
                     inc_work *w, inc_commit *c, inc_error *err) {
    size_t n = w->events.count;
    /* The new state: a copy, so a failing apply leaves nothing half-done. */
    if (!(w->next = malloc(a->state->size))) return oom(err);
    if (inc_msg_copy(a->state, w->next, state, err) != 0) {
        free(w->next);
        w->next = NULL;
        return -1;
    }
    int64_t v0 = inc_app_state_version(a, state), v1 = v0 + (int64_t)n;
    inc_timestamp now = inc_timestamp_now();
    w->stored = calloc(n, sizeof *w->stored);
    w->data_json = calloc(n, sizeof *w->data_json);
    w->positions = calloc(n, sizeof *w->positions);
    if (!w->stored || !w->data_json || !w->positions) return oom(err);
    for (size_t i = 0; i < n; i++) {
        const inc_event_item *it = &w->events.items[i];
        inc_stored_event *e = &w->stored[i];
        if (inc_state_apply(a, w->next, it->desc, it->data, v0 + 1 + (int64_t)i,
                            now, err) != 0)
            return -1;
        if (inc_uuid_v4(e->event_id, err) != 0) return -1;
        w->data_json[i] =
            inc_msg_to_text(it->desc, it->data, INC_JSON_SKIP_IMPLICIT, NULL);
        if (!w->data_json[i]) return oom(err);
        e->aggregate_type = a->name;
        e->aggregate_id = id;
        e->version = v0 + 1 + (int64_t)i;
        e->event_type = it->desc->name;
        e->data = w->data_json[i];
        e->metadata = metadata;
        e->event_date = now;
    }

    /* Every projection of the aggregate, from the new state. */
    if (a->n_projections &&
        !(w->rows = calloc(a->n_projections, sizeof *w->rows)))
        return oom(err);
    for (size_t i = 0; i < a->n_projections; i++) {
        const inc_projection_desc *p = a->projections[i];
        void *row = malloc(p->row->size);
        if (!row) return oom(err);
        inc_msg_init(p->row, row);
        w->rows[i].projection = p;
        w->rows[i].row = row;
        w->n_rows++;
        if (!p->project)
            return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                                 "projection %s has no project function",
                                 p->name);
        if (p->project(w->next, row, err) != 0) return -1;
        const inc_field_desc *f =
            inc_field_implicit(p->row, "aggregate_id", INC_TYPE_STRING);
        if (f && !*INC_FIELD_AT(row, f, char *) &&
            inc_str_set(INC_FIELD_AT(row, f, char *), id, err) != 0)
            return -1;
        w->rows[i].meta.version = v1;
        memcpy(w->rows[i].meta.event_id, w->stored[n - 1].event_id,
               INC_UUID_TEXT_SIZE);
        w->rows[i].meta.event_date = now;
    }

    /* A snapshot whenever this commit crosses a multiple of `every`. */
    int64_t every = snapshot_every(app, a);
    if (every > 0 && v1 / every > v0 / every &&
        !(w->snapshot = inc_msg_to_text(a->state, w->next, 0, NULL)))
        return oom(err);

    memset(c, 0, sizeof *c);
    c->aggregate = a;
    c->aggregate_id = id;
    c->n_events = n;
    c->events = w->stored;
    c->n_rows = w->n_rows;
    c->rows = w->rows;
    c->snapshot_json = w->snapshot;
    c->snapshot_version = v1;
    c->positions = w->positions;
    return 0;
}

/* Whether s needs no JSON escaping (ids and .agg names always). */
static bool plain(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

char *inc_metadata_text(const char *command_id, const char *command_type,
                        const char *causation, const char *correlation) {
    if (!correlation) correlation = command_id;
    if (plain(command_id) && plain(command_type) && plain(correlation) &&
        (!causation || plain(causation))) {
        /* the common case, without building a jansson object */
        size_t n = strlen(command_id) + strlen(command_type) +
                   strlen(correlation) + (causation ? strlen(causation) : 0) + 96;
        char *out = malloc(n);
        if (!out) return NULL;
        snprintf(out, n,
                 "{\"command_id\":\"%s\",\"command_type\":\"%s\","
                 "\"correlation_id\":\"%s\"%s%s%s}",
                 command_id, command_type, correlation,
                 causation ? ",\"causation_id\":\"" : "",
                 causation ? causation : "", causation ? "\"" : "");
        return out;
    }
    json_t *m = json_object();
    if (!m) return NULL;
    json_object_set_new(m, "command_id", json_string(command_id));
    json_object_set_new(m, "command_type", json_string(command_type));
    json_object_set_new(m, "correlation_id", json_string(correlation));
    if (causation) json_object_set_new(m, "causation_id", json_string(causation));
    return dump_compact(m);
}

/* Execute on the cached state without reading the stream first, when
 * that tends to pay (*speculated then says so): the commit carries the
 * id of the state's last event, so the store refuses it (a conflict) if
 * anything was written since.  Only a command that emits events goes
 * ahead this way; a rejection or no events on a possibly stale state
 * decides nothing, so the state goes back for the reading path. */
static void try_speculate(inc_app *app, const inc_aggregate_desc *a,
                          const inc_message_desc *cmd, const void *data,
                          const char *id, attempt *t, bool *speculated) {
    inc_error ignored;
    *speculated = false;
    if (app->stale_rate >= STALE_RATE_LIMIT) return;
    if (!(t->state = inc_state_cache_take(app->cache, a, id, t->last_id)))
        return;
    if (inc_execute(a, t->state, cmd, data, &t->w.events, &ignored) == 0 &&
        t->w.events.count > 0) {
        *speculated = true;
        return;
    }
    inc_event_list_free(&t->w.events);
    inc_state_cache_put(app->cache, a, id, t->state, t->last_id);
    t->state = NULL;
}

/* One attempt: load (or speculate), execute, apply, project, commit.
 * Returns 0 (events committed or none), -1 with err. */
static int run_attempt(inc_app *app, const inc_aggregate_desc *a,
                       const inc_message_desc *cmd, const void *data,
                       const char *id, const char *metadata, attempt *t,
                       bool may_speculate, bool *speculated, bool *sent,
                       inc_error *err) {
    *speculated = *sent = false;
    if (may_speculate) try_speculate(app, a, cmd, data, id, t, speculated);
    if (!*speculated) {
        /* (after a refused unread commit, that refusal was the observation) */
        if (load_current(app, a, id, &t->state, t->last_id, may_speculate,
                         err) != 0)
            return -1;
        if (inc_execute(a, t->state, cmd, data, &t->w.events, err) != 0)
            return -1;
    }
    if (t->w.events.count == 0) return 0;
    inc_commit c;
    if (inc_work_prepare(app, a, id, t->state, metadata, &t->w, &c, err) != 0)
        return -1;
    c.expect_event_id = *speculated ? t->last_id : NULL;
    *sent = true;
    return inc_store_commit(app->store, &c, err);
}

/* After an attempt: the state to cache.  Committed events: the new
 * state.  Anything else (rejected, conflict, a failed commit whose outcome
 * is unknown...): the state as loaded, which was current when read; the
 * next load checks it against the store either way. */
static void keep_state(inc_app *app, const inc_aggregate_desc *a,
                       const char *id, attempt *t, int rc) {
    if (rc == 0 && t->w.events.count > 0 && t->w.next) {
        inc_state_cache_put(app->cache, a, id, t->w.next,
                            t->w.stored[t->w.events.count - 1].event_id);
        t->w.next = NULL;
        state_drop(a, t->state);
    } else if (t->state) {
        inc_state_cache_put(app->cache, a, id, t->state, t->last_id);
    }
    t->state = NULL;
}

static int run_handlers(inc_app *app, rec_list *list, size_t from, size_t to,
                        const char *correlation_id, int depth);

static int dispatch_one(inc_app *app, const inc_message_desc *cmd,
                        const void *data, const char *causation_id,
                        const char *correlation_id, int depth, rec_list *list,
                        inc_error *err) {
    inc_error local; /* the retry decisions below read the error */
    if (!err) err = &local;
    if (!cmd || cmd->kind != INC_MSG_COMMAND || !cmd->aggregate)
        return inc_error_set(err, INC_ERR_INVALID, "unknown_command",
                             "not a command descriptor");
    if (depth > MAX_HANDLER_DEPTH)
        return inc_error_set(err, INC_ERR_INTERNAL, "handler_depth",
                             "event handlers nested deeper than %d commands",
                             MAX_HANDLER_DEPTH);
    const inc_aggregate_desc *a = cmd->aggregate;
    /* Validation before any I/O. */
    if (inc_msg_validate(cmd, data, err) != 0) return -1;
    const char *id = inc_app_msg_id(cmd, data);
    if (inc_store_check_id(id, "$.aggregate_id", err) != 0) return -1;

    char command_id[INC_UUID_TEXT_SIZE];
    if (inc_uuid_v4(command_id, err) != 0) return -1;
    char *metadata = inc_metadata_text(command_id, cmd->name, causation_id,
                                       correlation_id);
    if (!metadata) return oom(err);

    attempt t;
    memset(&t, 0, sizeof t);
    int rc;
    bool may_speculate = true;
    for (unsigned attempt_no = 0;; attempt_no++) {
        bool speculated, sent;
        rc = run_attempt(app, a, cmd, data, id, metadata, &t, may_speculate,
                         &speculated, &sent, err);
        bool conflict = rc != 0 && err->kind == INC_ERR_CONFLICT;
        if (speculated && (rc == 0 || conflict)) {
            observe_cache(app, conflict);
            app->spec_commits += rc == 0;
            app->spec_stale += conflict;
        }
        keep_state(app, a, id, &t, rc);
        /* Unread, the cached state may be behind: a refused commit, or a
         * failure before the commit (an apply or projection rule said no),
         * is decided again on the current state, at once (this is not
         * contention).  A commit that failed otherwise after it was sent
         * is reported as it is (its outcome may be unknown). */
        if (speculated && rc != 0 && (conflict || !sent)) {
            attempt_free(a, &t);
            may_speculate = false;
            attempt_no--; /* wraps back to 0 at the first try: fine */
            continue;
        }
        if (rc == 0 || !conflict) break;
        app->conflicts++;
        if (attempt_no >= app->max_retries) {
            inc_error_set(err, INC_ERR_CONFLICT, "conflict",
                          "%s %s: still conflicting after %u retries",
                          a->name, id, app->max_retries);
            break;
        }
        attempt_free(a, &t);
        backoff(app, attempt_no);
    }
    if (rc != 0 || t.w.events.count == 0) {
        attempt_free(a, &t);
        free(metadata);
        return rc;
    }

    /* Committed: record the events. */
    size_t from = list->n;
    for (size_t i = 0; i < t.w.events.count; i++) {
        inc_recorded_event *r = calloc(1, sizeof *r);
        if (!r || rec_add(list, r, err) != 0) {
            free(r);
            rc = oom(err);
            break;
        }
        memcpy(r->event_id, t.w.stored[i].event_id, INC_UUID_TEXT_SIZE);
        r->aggregate_type = a->name;
        r->aggregate_id = inc_strdup(id);
        r->version = t.w.stored[i].version;
        r->event_type = t.w.events.items[i].desc->name;
        r->event_date = t.w.stored[i].event_date;
        r->position = t.w.positions[i];
        r->desc = t.w.events.items[i].desc;
        /* take the event struct from the list */
        r->data = t.w.events.items[i].data;
        t.w.events.items[i].data = NULL;
        memcpy(r->command_id, command_id, INC_UUID_TEXT_SIZE);
        snprintf(r->correlation_id, sizeof r->correlation_id, "%s",
                 correlation_id ? correlation_id : command_id);
        snprintf(r->causation_id, sizeof r->causation_id, "%s",
                 causation_id ? causation_id : "");
        if (!r->aggregate_id) {
            rc = oom(err);
            break;
        }
    }
    /* (items whose data moved out are NULL: the list frees them fine) */
    attempt_free(a, &t);
    free(metadata);
    if (rc != 0) return rc; /* committed, but out of memory reporting it */
    size_t to = list->n;
    run_handlers(app, list, from, to, correlation_id ? correlation_id : command_id,
                 depth);
    return 0;
}

static void note_handler_error(rec_list *list, const inc_error *e) {
    if (list->result && !list->result->handler_failed) {
        list->result->handler_failed = true;
        list->result->handler_error = *e;
    }
}

static int run_handlers(inc_app *app, rec_list *list, size_t from, size_t to,
                        const char *correlation_id, int depth) {
    char corr[INC_UUID_TEXT_SIZE];
    snprintf(corr, sizeof corr, "%s", correlation_id);
    for (size_t k = from; k < to; k++) {
        const inc_recorded_event *ev = list->items[k];
        for (size_t h = 0; h < app->n_handlers; h++) {
            if (app->handlers[h].event != ev->desc) continue;
            inc_handler_ctx ctx = {app, ev, corr, list, depth + 1};
            inc_error herr;
            inc_error_clear(&herr);
            if (app->handlers[h].fn(&ctx, ev, app->handlers[h].ud, &herr) != 0) {
                if (herr.kind == INC_OK)
                    inc_error_set(&herr, INC_ERR_INTERNAL, "handler_failed",
                                  "handler for %s failed", ev->event_type);
                note_handler_error(list, &herr);
            }
        }
    }
    return 0;
}

/* Move the recorded events into the caller's result. */
static int deliver(rec_list *list, inc_result *out, size_t n_direct,
                   inc_error *err) {
    if (!out) return 0;
    if (list->n > out->cap - out->count) {
        size_t cap = out->count + list->n;
        inc_recorded_event *ev = realloc(out->events, cap * sizeof *ev);
        if (!ev) return oom(err);
        out->events = ev;
        out->cap = cap;
    }
    for (size_t i = 0; i < list->n; i++) {
        out->events[out->count++] = *list->items[i];
        free(list->items[i]);
    }
    out->n_direct += n_direct;
    list->n = 0;
    return 0;
}

int inc_dispatch(inc_app *app, const inc_message_desc *command,
                 const void *data, inc_result *out, inc_error *err) {
    rec_list list;
    memset(&list, 0, sizeof list);
    list.result = out;
    if (!app)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_argument", "no app");
    int rc = dispatch_one(app, command, data, NULL, NULL, 0, &list, err);
    /* direct events are those of the command itself: they come first and
     * all share its command_id */
    size_t n_direct = 0;
    while (n_direct < list.n && list.items[n_direct]->causation_id[0] == '\0')
        n_direct++;
    if (deliver(&list, out, n_direct, rc == 0 ? err : NULL) != 0) rc = -1;
    rec_list_free(&list);
    return rc;
}

/* `command` named in the domain, decoded from `json` into a malloc'd
 * struct (free with free_command); NULL with err. */
static void *decode_command(const inc_domain *dom, const char *command,
                            const char *json, const inc_message_desc **d,
                            inc_error *err) {
    if (!(*d = inc_domain_command(dom, command))) {
        inc_error_set(err, INC_ERR_NOT_FOUND, "unknown_command",
                      "unknown command '%s'", command ? command : "(null)");
        return NULL;
    }
    void *msg = malloc((*d)->size);
    if (!msg) {
        oom(err);
        return NULL;
    }
    if (inc_msg_from_text(*d, msg, json, json ? strlen(json) : 0, 0, err) != 0) {
        inc_msg_free(*d, msg); /* left initialised */
        free(msg);
        return NULL;
    }
    return msg;
}

static void free_command(const inc_message_desc *d, void *msg) {
    inc_msg_free(d, msg);
    free(msg);
}

int inc_dispatch_json(inc_app *app, const char *command, const char *json,
                      inc_result *out, inc_error *err) {
    const inc_message_desc *d;
    void *msg = decode_command(app->d, command, json, &d, err);
    if (!msg) return -1;
    int rc = inc_dispatch(app, d, msg, out, err);
    free_command(d, msg);
    return rc;
}

int inc_handler_dispatch(inc_handler_ctx *ctx, const inc_message_desc *command,
                         const void *data, inc_error *err) {
    return dispatch_one(ctx->app, command, data, ctx->cause->event_id,
                        ctx->correlation_id, ctx->depth, ctx->list, err);
}

int inc_handler_dispatch_json(inc_handler_ctx *ctx, const char *command,
                              const char *json, inc_error *err) {
    const inc_message_desc *d;
    void *msg = decode_command(ctx->app->d, command, json, &d, err);
    if (!msg) return -1;
    int rc = inc_handler_dispatch(ctx, d, msg, err);
    free_command(d, msg);
    return rc;
}

inc_app *inc_handler_app(inc_handler_ctx *ctx) { return ctx->app; }

/* ---- reads ---- */

typedef struct stream_ctx {
    const inc_aggregate_desc *a;
    inc_recorded_cb cb;
    void *ud;
} stream_ctx;

static int stream_event(void *ud, const inc_stored_event *ev, inc_error *err) {
    stream_ctx *sc = ud;
    inc_recorded_event r;
    memset(&r, 0, sizeof r);
    r.data = decode_event(sc->a, ev, &r.desc, err);
    if (!r.data) return -1;
    memcpy(r.event_id, ev->event_id, INC_UUID_TEXT_SIZE);
    r.aggregate_type = sc->a->name;
    r.aggregate_id = (char *)ev->aggregate_id; /* borrowed for the call */
    r.version = ev->version;
    r.event_type = r.desc->name;
    r.event_date = ev->event_date;
    r.position = ev->position;
    read_metadata(ev->metadata, &r);
    int rc = sc->cb(sc->ud, &r, err);
    inc_msg_free(r.desc, r.data);
    free(r.data);
    return rc;
}

int inc_app_read_stream(inc_app *app, const inc_aggregate_desc *a,
                        const char *id, inc_recorded_cb cb, void *ud,
                        inc_error *err) {
    stream_ctx sc = {a, cb, ud};
    return inc_store_read_stream(app->store, a->name, id, 0, stream_event, &sc,
                                 err);
}

static int rebuild_event(void *ud, const inc_stored_event *ev,
                         inc_error *err) {
    fold_ctx *fc = ud;
    const char *cur = fc->state ? inc_app_msg_id(fc->a->state, fc->state) : NULL;
    if (!cur || strcmp(cur, ev->aggregate_id) != 0) {
        inc_msg_free(fc->a->state, fc->state);
        if (inc_state_init(fc->a, fc->state, ev->aggregate_id, err) != 0)
            return -1;
    }
    if (fold_event(fc, ev, err) != 0) return -1;
    fc->last.version = ev->version;
    memcpy(fc->last.event_id, ev->event_id, INC_UUID_TEXT_SIZE);
    fc->last.event_date = ev->event_date;
    return 0;
}

static int rebuild_row(void *ud, void *row, inc_row_meta *meta,
                       inc_error *err) {
    fold_ctx *fc = ud;
    if (!fc->p->project)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "projection %s has no project function",
                             fc->p->name);
    if (fc->p->project(fc->state, row, err) != 0) return -1;
    const inc_field_desc *f =
        inc_field_implicit(fc->p->row, "aggregate_id", INC_TYPE_STRING);
    if (f && !*INC_FIELD_AT(row, f, char *) &&
        inc_str_set(INC_FIELD_AT(row, f, char *),
                    inc_app_msg_id(fc->a->state, fc->state), err) != 0)
        return -1;
    *meta = fc->last;
    return 1;
}

static void rebuild_progress(void *ud, int64_t done, int64_t total) {
    fold_ctx *fc = ud;
    if (fc->progress) fc->progress(fc->progress_ud, done, total);
}

int inc_app_rebuild(inc_app *app, const inc_projection_desc *p,
                    void (*progress)(void *ud, int64_t done, int64_t total),
                    void *ud, inc_error *err) {
    fold_ctx fc;
    memset(&fc, 0, sizeof fc);
    fc.a = p->aggregate;
    fc.p = p;
    fc.progress = progress;
    fc.progress_ud = ud;
    fc.state = malloc(fc.a->state->size);
    if (!fc.state) return oom(err);
    inc_msg_init(fc.a->state, fc.state); /* aggregate_id NULL: "no aggregate yet" */
    inc_rebuild_cbs cbs = {rebuild_event, rebuild_row, rebuild_progress, &fc};
    int rc = inc_store_rebuild(app->store, p, &cbs, err);
    inc_msg_free(fc.a->state, fc.state);
    free(fc.state);
    return rc;
}

/* ---- for batch.c ---- */

int64_t inc_app_snapshot_every_of(const inc_app *app,
                                  const inc_aggregate_desc *a) {
    return snapshot_every(app, a);
}
unsigned inc_app_max_retries_of(const inc_app *app) { return app->max_retries; }
unsigned inc_app_max_backoff_of(const inc_app *app) {
    return app->max_backoff_us;
}
