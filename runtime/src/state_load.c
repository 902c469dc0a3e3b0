/* state_load.c - the current state of an aggregate for a command.
 *
 * A state is a fold of its stream (snapshot first, then the events after
 * it, folded as the rows arrive).  A state left in the app's cache by the
 * last command catches up instead: one read from its own version, which
 * also proves the cache was current.  While cached states are rarely
 * stale, batch.c may even take them unread ("speculate"): the commit then
 * carries the id of the state's last event and the store refuses it if
 * anything was written since.  An unreadable snapshot is never trusted:
 * the stream is folded again from the start, without it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"
#include "internal.h"
#include "store_util.h"

const char *incx_msg_id(const inc_message_desc *d, const void *msg) {
    const inc_field_desc *f = incx_field_implicit(d, "aggregate_id", INC_TYPE_STRING);
    return f ? *INC_CFIELD_AT(msg, f, char *) : NULL;
}

int64_t incx_state_version(const inc_aggregate_desc *a, const void *state) {
    const inc_field_desc *f = incx_field_implicit(a->state, "version", INC_TYPE_INT);
    return f ? *INC_CFIELD_AT(state, f, int64_t) : 0;
}

/* The event of `a` stored under type `name`: its current name, else one
 * of the names it `was` (docs/evolution.md). */
static const inc_message_desc *stored_type(const inc_aggregate_desc *a,
                                           const char *name) {
    const inc_message_desc *d = inc_aggregate_event(a, name);
    for (size_t i = 0; !d && i < a->n_events; i++)
        for (size_t k = 0; k < a->events[i]->n_was; k++)
            if (a->events[i]->was[k] && strcmp(a->events[i]->was[k], name) == 0)
                return a->events[i];
    return d;
}

/* Decode a stored event's data into a new struct (aggregate_id set): the
 * one decoder of every reader (fold, handlers, reads, rebuild, the CLI),
 * so they all see the current shape.  A `was` name reads as its event;
 * members the program does not know are ignored (written by a newer
 * program that added fields); an older schema version goes through the
 * event's upcast; a newer one is refused, never misread. */
void *incx_decode_event(const inc_aggregate_desc *a, const inc_stored_event *ev,
                        const inc_message_desc **desc_out, inc_error *err) {
    const inc_message_desc *desc = stored_type(a, ev->event_type);
    inc_error local;
    if (!desc) {
        inc_error_set(err, INC_ERR_INTERNAL, "unknown_event",
                      "%s %s version %lld: stored event type '%s' is not an "
                      "event of %s",
                      a->name, ev->aggregate_id, (long long)ev->version,
                      ev->event_type, a->name);
        return NULL;
    }
    unsigned have = incx_schema_version(ev->schema_version);
    unsigned knows = incx_schema_version(desc->schema_version);
    if (have > knows) {
        inc_error_set(err, INC_ERR_INTERNAL, "schema_too_new",
                      "%s %s version %lld: event %s is stored with schema "
                      "version %u; this program knows %s up to schema "
                      "version %u: run a newer build of the domain",
                      a->name, ev->aggregate_id, (long long)ev->version,
                      ev->event_type, have, desc->name, knows);
        return NULL;
    }
    void *data = malloc(desc->size);
    if (!data) {
        incx_oom(err);
        return NULL;
    }
    inc_error_clear(&local);
    size_t len = strlen(ev->data);
    int rc;
    if (have == knows) {
        rc = inc_msg_from_text(desc, data, ev->data, len,
                               INC_JSON_SKIP_IMPLICIT | INC_JSON_IGNORE_UNKNOWN,
                               &local);
    } else {
        inc_msg_init(desc, data);
        rc = desc->upcast ? desc->upcast(have, ev->data, len, data, &local)
                          : inc_error_set(&local, INC_ERR_INTERNAL, "no_upcast",
                                          "no upcast from schema version %u",
                                          have);
        if (rc != 0) inc_msg_free(desc, data);
    }
    if (rc != 0) {
        free(data);
        inc_error_set(err, INC_ERR_INTERNAL, "corrupt_event",
                      "%s %s version %lld (%s): %s", a->name,
                      ev->aggregate_id, (long long)ev->version, ev->event_type,
                      local.message);
        return NULL;
    }
    const inc_field_desc *f =
        incx_field_implicit(desc, "aggregate_id", INC_TYPE_STRING);
    if (f && inc_str_set(INC_FIELD_AT(data, f, char *), ev->aggregate_id, err) != 0) {
        inc_msg_free(desc, data);
        free(data);
        return NULL;
    }
    *desc_out = desc;
    return data;
}


static int fold_snapshot(void *ud, int64_t version, const char *json,
                         inc_error *err) {
    incx_fold *fc = ud;
    inc_error local;
    (void)err;
    void *tmp = malloc(fc->a->state->size);
    if (!tmp) return incx_oom(err);
    inc_error_clear(&local);
    const char *sid;
    if (inc_msg_from_text(fc->a->state, tmp, json, strlen(json), 0, &local) !=
            0 ||
        incx_state_version(fc->a, tmp) != version ||
        !(sid = incx_msg_id(fc->a->state, tmp)) || strcmp(sid, fc->id) != 0) {
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

int incx_fold_event(void *ud, const inc_stored_event *ev, inc_error *err) {
    incx_fold *fc = ud;
    const inc_message_desc *desc;
    if (fc->bad_snapshot || fc->stale) return 0; /* reloaded in full */
    if (fc->max_version > 0 && ev->version > fc->max_version) return 0;
    if (fc->check_pending) {
        fc->check_pending = false;
        fc->stale = ev->version != fc->check_version ||
                    strcmp(ev->event_id, fc->check_id) != 0;
        return 0;
    }
    void *data = incx_decode_event(fc->a, ev, &desc, err);
    if (!data) return -1;
    inc_event_info info = {ev->version, ev->event_date, ev->event_id};
    int rc = inc_state_apply_info(fc->a, fc->state, desc, data, &info, err);
    inc_msg_free(desc, data);
    free(data);
    memcpy(fc->last_id, ev->event_id, INC_UUID_TEXT_SIZE);
    fc->n_applied++;
    return rc;
}

static void fold_init(incx_fold *fc, const inc_aggregate_desc *a,
                      void *state, const char *id) {
    memset(fc, 0, sizeof *fc);
    fc->a = a;
    fc->state = state;
    fc->id = id;
}

/* The read that brings a cached `state` (of event cached_id) up to date:
 * from the cached version itself, to see that it is still there. */
static void catch_up_req(incx_fold *fc, inc_load_req *r,
                         const inc_aggregate_desc *a, const char *id,
                         void *state, const char *cached_id) {
    fold_init(fc, a, state, id);
    fc->check_pending = true;
    fc->check_version = incx_state_version(a, state);
    fc->check_id = cached_id;
    memcpy(fc->last_id, cached_id, INC_UUID_TEXT_SIZE);
    memset(r, 0, sizeof *r);
    r->aggregate = a;
    r->aggregate_id = id;
    r->flags = INC_LOAD_AFTER | INC_LOAD_NO_METADATA;
    r->after_version = fc->check_version - 1;
    r->cbs = (inc_load_cbs){NULL, incx_fold_event, fc};
}

/* Whether a catch-up found the cached state current. */
static bool caught_up(const incx_fold *fc) {
    return !fc->check_pending && !fc->stale;
}

/* Initialise `state` and fold the stream into it, from the snapshot when
 * `snapshot` says so.  An unusable snapshot is never trusted: the stream
 * is folded again from its first event, without it.  last_id (may be
 * NULL): the id of the last event folded, "" when the state came from a
 * snapshot alone or the stream is empty. */
static int load_state(inc_app *app, const inc_aggregate_desc *a,
                      const char *id, void *state, char *last_id,
                      bool snapshot, inc_error *err) {
    incx_fold fc;
    fold_init(&fc, a, state, id);
    inc_load_cbs cbs = {snapshot ? fold_snapshot : NULL, incx_fold_event, &fc};
    unsigned flags = INC_LOAD_NO_METADATA | (snapshot ? 0 : INC_LOAD_NO_SNAPSHOT);
    if (inc_state_init(a, state, id, err) != 0) return -1;
    int rc = inc_store_load(app->store, a, id, flags, &cbs, err);
    if (rc == 0 && fc.bad_snapshot) {
        inc_msg_free(a->state, state);
        return load_state(app, a, id, state, last_id, false, err);
    }
    if (last_id) memcpy(last_id, fc.last_id, INC_UUID_TEXT_SIZE);
    return rc;
}

int incx_load_current(inc_app *app, const inc_aggregate_desc *a,
                      const char *id, void **out,
                      char last_id[INC_UUID_TEXT_SIZE], bool observe,
                      inc_error *err) {
    char cached_id[INC_UUID_TEXT_SIZE];
    void *st = incx_state_cache_take(app->cache, a, id, cached_id);
    *out = NULL;
    if (st) {
        incx_fold fc;
        inc_load_req r;
        catch_up_req(&fc, &r, a, id, st, cached_id);
        int rc = inc_store_load_many(app->store, &r, 1, err);
        if (rc == 0 && r.rc != 0) {
            if (err) *err = r.error;
            rc = -1;
        }
        if (rc == 0 && observe)
            incx_observe_cache(app, !caught_up(&fc) || fc.n_applied > 0);
        if (rc == 0 && caught_up(&fc)) {
            app->cache_hits++;
            memcpy(last_id, fc.last_id, INC_UUID_TEXT_SIZE);
            *out = st;
            return 0;
        }
        incx_state_drop(a, st);
        if (rc != 0) return -1;
        app->cache_stale++;
    } else {
        app->cache_misses++;
    }
    if (!(st = malloc(a->state->size))) return incx_oom(err);
    if (load_state(app, a, id, st, last_id, true, err) != 0) {
        incx_state_drop(a, st); /* load_state leaves it initialised */
        return -1;
    }
    *out = st;
    return 0;
}

int incx_load_at(inc_app *app, const inc_aggregate_desc *a, const char *id,
                 int64_t version, void *state, inc_error *err) {
    incx_fold fc;
    fold_init(&fc, a, state, id);
    fc.max_version = version;
    inc_load_cbs cbs = {NULL, incx_fold_event, &fc};
    if (inc_state_init(a, state, id, err) != 0) return -1;
    return inc_store_load(app->store, a, id,
                          INC_LOAD_NO_METADATA | INC_LOAD_NO_SNAPSHOT, &cbs, err);
}

int inc_app_state(inc_app *app, const inc_aggregate_desc *a, const char *id,
                  void *state, inc_error *err) {
    inc_msg_init(a->state, state);
    if (incx_store_check_text(id, "aggregate_id", err) != 0) return -1;
    inc_msg_free(a->state, state);
    return load_state(app, a, id, state, NULL, true, err);
}

/* ---- several states at once (batch.c) ---- */

/* The arrays of one incx_load_states: for the m requests that go to the
 * store, their folds, load requests, cached ids and indexes in reqs. */
typedef struct load_plan {
    incx_fold *fc;
    inc_load_req *lr;
    char (*cached_id)[INC_UUID_TEXT_SIZE];
    size_t *of, m;
} load_plan;

/* Add r to the plan (or not: failed, or speculative and complete). */
static void plan_one(inc_app *app, load_plan *p, incx_state_req *r, size_t i,
                     bool may_speculate) {
    size_t m = p->m;
    if (incx_store_check_text(r->id, "aggregate_id", &r->error) != 0) {
        r->rc = -1;
        return;
    }
    void *st = incx_state_cache_take(app->cache, r->a, r->id, p->cached_id[m]);
    if (st) {
        /* move the cached struct into the caller's */
        memcpy(r->state, st, r->a->state->size);
        free(st);
        if (may_speculate) { /* not read: the commit will check */
            r->speculative = true;
            memcpy(r->last_id, p->cached_id[m], INC_UUID_TEXT_SIZE);
            return;
        }
        catch_up_req(&p->fc[m], &p->lr[m], r->a, r->id, r->state,
                     p->cached_id[m]);
    } else {
        app->cache_misses++;
        if (inc_state_init(r->a, r->state, r->id, &r->error) != 0) {
            r->rc = -1;
            return;
        }
        fold_init(&p->fc[m], r->a, r->state, r->id);
        p->lr[m].aggregate = r->a;
        p->lr[m].aggregate_id = r->id;
        p->lr[m].flags = INC_LOAD_NO_METADATA;
        p->lr[m].cbs = (inc_load_cbs){fold_snapshot, incx_fold_event, &p->fc[m]};
    }
    p->of[p->m++] = i;
}

/* Request k of the plan after the store's load_many (`together`: it
 * succeeded as a whole).  -1 (err): stop. */
static int finish_one(inc_app *app, load_plan *p, incx_state_req *r, size_t k,
                      bool together, inc_error *err) {
    incx_fold *fc = &p->fc[k];
    bool cached = (p->lr[k].flags & INC_LOAD_AFTER) != 0;
    if (together && p->lr[k].rc != 0) {
        r->rc = -1;
        r->error = p->lr[k].error;
        return 0;
    }
    if (together && !fc->bad_snapshot && !(cached && !caught_up(fc))) {
        if (cached) {
            app->cache_hits++;
            incx_observe_cache(app, fc->n_applied > 0);
        }
        memcpy(r->last_id, fc->last_id, INC_UUID_TEXT_SIZE);
        return 0;
    }
    /* Load this one alone, in full: the store could not load them
     * together (its error may concern one stream), or the snapshot was
     * unusable (then without it), or the cached state was stale. */
    if (together && cached) {
        app->cache_stale++;
        incx_observe_cache(app, true);
    }
    inc_msg_free(r->a->state, r->state);
    if (load_state(app, r->a, r->id, r->state, r->last_id,
                   !(together && fc->bad_snapshot), &r->error) == 0)
        return 0;
    r->rc = -1;
    if (r->error.kind != INC_ERR_UNAVAILABLE) return 0;
    if (err) *err = r->error;
    return -1;
}

int incx_load_states(inc_app *app, incx_state_req *reqs, size_t n,
                     bool may_speculate, inc_error *err) {
    may_speculate = may_speculate && app->stale_rate < INCX_STALE_RATE_LIMIT;
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
    load_plan p = {calloc(n, sizeof *p.fc), calloc(n, sizeof *p.lr),
                   calloc(n, sizeof *p.cached_id), calloc(n, sizeof *p.of), 0};
    int rc = 0;
    if (!p.fc || !p.lr || !p.of || !p.cached_id) {
        rc = incx_oom(err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) plan_one(app, &p, &reqs[i], i, may_speculate);
    inc_error e;
    inc_error_clear(&e);
    bool together = p.m == 0 || inc_store_load_many(app->store, p.lr, p.m, &e) == 0;
    if (!together && e.kind == INC_ERR_UNAVAILABLE) {
        if (err) *err = e;
        rc = -1;
        goto out;
    }
    for (size_t k = 0; rc == 0 && k < p.m; k++)
        rc = finish_one(app, &p, &reqs[p.of[k]], k, together, err);
out:
    free(p.fc);
    free(p.lr);
    free(p.cached_id);
    free(p.of);
    return rc;
}
