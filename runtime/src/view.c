/* view.c - views (docs/runtime.md "Views"): one transactional consumer
 * per view, "view:NAME", whose handler turns each event into the
 * statement aggc generated for its type (an upsert setting or adding to
 * columns, or a delete), with the key and values read from the event as
 * parameters; the statements and the checkpoint commit together, so each
 * event counts exactly once.  A batch read from the very beginning of the
 * log first empties the table in the same transaction: that is how
 * `rebuild` and a first run start clean, and why a maintainer that lost
 * a race to a rebuild can never add its events twice. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <incident/app.h>
#include <incident/view.h>

#include "internal.h"
#include "query_internal.h"

const inc_view_desc *inc_domain_view(const inc_domain *d, const char *name) {
    if (!d || !name) return NULL;
    for (size_t i = 0; i < d->n_views; i++)
        if (strcmp(d->views[i]->name, name) == 0) return d->views[i];
    return NULL;
}

/* One view being maintained. */
typedef struct vstate {
    const inc_domain *d;
    const inc_view_desc *v;
    inc_consumer *k;
    char name[INC_VIEW_CONSUMER_MAX + 1];
    const char **types; /* its handlers' event types, once each */
    size_t n_types;
    bool first; /* no event of the current batch handled yet */
    int64_t handled;
} vstate;

static int oom(inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

/* A handler value as a text parameter (NULL: SQL NULL); an expression's
 * text is malloc'd into *owned. */
static int value_text(const inc_view_value *val, const inc_recorded_event *rec,
                      char buf[INCX_QUERY_TEXT], const char **out,
                      char **owned, inc_error *err) {
    const inc_message_desc *ed = rec->desc;
    const void *event = rec->data;
    const char *aggregate_id = rec->aggregate_id;
    switch (val->source) {
    case INC_VIEW_EXPR:
        if (!val->expr)
            return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                                 "view: an expression value without its function");
        if (val->expr(rec, owned, err) != 0) return -1;
        *out = *owned;
        return 0;
    case INC_VIEW_AGGREGATE_ID:
        *out = aggregate_id;
        return 0;
    case INC_VIEW_LITERAL:
        *out = val->literal;
        return 0;
    case INC_VIEW_NULL:
        *out = NULL;
        return 0;
    case INC_VIEW_FIELD: {
        const inc_field_desc *f = incx_field_find(ed, val->field);
        if (!f)
            return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                                 "view: %s has no field %s", ed->name,
                                 val->field);
        incx_query_text(f, event, buf, out);
        return 0;
    }
    }
    return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                         "view: unknown value source");
}

/* The view statements of one event, in the batch's transaction. */
static int apply_event(void *ud, inc_consumer_tx *tx, const inc_stored_event *ev,
                       const inc_log_position *at, inc_error *err) {
    vstate *vs = ud;
    const inc_view_desc *v = vs->v;
    if (vs->first) {
        /* A batch read from the beginning of the log starts from an empty
         * table.  Asked here, not before the poll: a poll that finds its
         * checkpoint moved (a rebuild) reloads it before reading, and the
         * checkpoint stays the batch's start until the batch commits. */
        inc_log_position cp;
        inc_consumer_checkpoint(vs->k, &cp);
        vs->first = false;
        if (cp.transaction_id == 0 && cp.position == 0 &&
            inc_consumer_exec(tx, v->table->truncate_sql, 0, NULL, err) != 0)
            return -1;
    }
    const inc_message_desc *ed = NULL;
    for (size_t i = 0; i < v->n_handlers && !ed; i++)
        if (strcmp(v->handlers[i].event->name, ev->event_type) == 0)
            ed = v->handlers[i].event;
    if (!ed) return 0; /* not one of its events (a filter would skip it) */
    void *event = malloc(ed->size);
    if (!event) return oom(err);
    inc_error local;
    inc_error_clear(&local);
    if (inc_msg_from_text(ed, event, ev->data, strlen(ev->data),
                          INC_JSON_SKIP_IMPLICIT, &local) != 0) {
        free(event);
        return inc_error_set(err, INC_ERR_INTERNAL, "corrupt_event",
                             "view %s: position %lld (%s %s): %s", v->name,
                             (long long)ev->position, ev->event_type,
                             ev->aggregate_id, local.message);
    }
    /* The event's own aggregate_id, which the stored data leaves out: a
     * key expression may read it (event->aggregate_id). */
    for (size_t i = 0; i < ed->n_fields; i++) {
        const inc_field_desc *f = &ed->fields[i];
        if (!(f->flags & INC_FIELD_IMPLICIT) || f->type != INC_TYPE_STRING ||
            strcmp(f->name, "aggregate_id") != 0)
            continue;
        char **slot = (char **)(void *)((char *)event + f->offset);
        free(*slot);
        if (!(*slot = inc_strdup(ev->aggregate_id))) {
            inc_msg_free(ed, event);
            free(event);
            return oom(err);
        }
    }
    /* what a key expression reads (aggc's function for it) */
    inc_recorded_event rec;
    memset(&rec, 0, sizeof rec);
    memcpy(rec.event_id, ev->event_id, INC_UUID_TEXT_SIZE);
    rec.aggregate_type = ev->aggregate_type;
    rec.aggregate_id = (char *)ev->aggregate_id; /* borrowed */
    rec.version = ev->version;
    rec.event_type = ed->name;
    rec.event_date = ev->event_date;
    rec.position = at->position;
    rec.desc = ed;
    rec.data = event;
    int rc = 0;
    char pos[32], date[INC_TIMESTAMP_TEXT_MAX];
    snprintf(pos, sizeof pos, "%lld", (long long)at->position);
    if (inc_timestamp_format(ev->event_date, date) != 0) date[0] = '\0';
    for (size_t i = 0; rc == 0 && i < v->n_handlers; i++) {
        const inc_view_handler *h = &v->handlers[i];
        if (h->event != ed) continue;
        size_t n = 1 + h->n_values + (h->delete_row ? 0 : 3);
        const char **params = calloc(n, sizeof *params);
        char (*bufs)[INCX_QUERY_TEXT] = calloc(h->n_values + 1, sizeof *bufs);
        char **owned = calloc(h->n_values + 1, sizeof *owned);
        if (!params || !bufs || !owned) rc = oom(err);
        if (rc == 0)
            rc = value_text(&h->key, &rec, bufs[0], &params[0], &owned[0], err);
        if (rc == 0 && !params[0])
            rc = inc_error_set(err, INC_ERR_INTERNAL, "null_key",
                               "view %s: %s at position %lld gives no key",
                               v->name, ev->event_type,
                               (long long)ev->position);
        for (size_t k = 0; rc == 0 && k < h->n_values; k++)
            rc = value_text(&h->values[k], &rec, bufs[k + 1], &params[k + 1],
                            &owned[k + 1], err);
        if (rc == 0 && !h->delete_row) {
            params[h->n_values + 1] = pos;
            params[h->n_values + 2] = ev->event_id;
            params[h->n_values + 3] = date;
        }
        if (rc == 0)
            rc = inc_consumer_exec(tx, h->sql, (int)n, params, err);
        for (size_t k = 0; owned && k <= h->n_values; k++) free(owned[k]);
        free(owned);
        free(params);
        free(bufs);
    }
    inc_msg_free(ed, event);
    free(event);
    if (rc == 0) vs->handled++;
    return rc;
}

static void vstate_free(vstate *vs) {
    inc_consumer_close(vs->k);
    free(vs->types);
}

static int vstate_open(inc_store *s, const inc_domain *d,
                       const inc_view_desc *v, vstate *vs, inc_error *err) {
    memset(vs, 0, sizeof *vs);
    vs->d = d;
    vs->v = v;
    if (strlen(v->name) + 5 > INC_VIEW_CONSUMER_MAX)
        return inc_error_set(err, INC_ERR_INVALID, "bad_view",
                             "view name too long: %s", v->name);
    snprintf(vs->name, sizeof vs->name, "view:%s", v->name);
    if (!(vs->types = calloc(v->n_handlers + 1, sizeof *vs->types)))
        return oom(err);
    for (size_t i = 0; i < v->n_handlers; i++) {
        size_t k = 0;
        while (k < vs->n_types &&
               strcmp(vs->types[k], v->handlers[i].event->name) != 0)
            k++;
        if (k == vs->n_types) vs->types[vs->n_types++] = v->handlers[i].event->name;
    }
    inc_consumer_options o;
    memset(&o, 0, sizeof o);
    o.name = vs->name;
    o.event_types = vs->types;
    o.n_event_types = vs->n_types;
    o.transactional = true;
    o.batch_size = 500;
    if (!(vs->k = inc_consumer_open(s, &o, err))) {
        free(vs->types);
        vs->types = NULL;
        return -1;
    }
    return 0;
}

/* One batch of one view; the count, or -1. */
static int vstate_poll(vstate *vs, inc_error *err) {
    vs->first = true;
    return inc_consumer_poll(vs->k, 0, apply_event, vs, err);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Poll every view until idle/limit/stop.  until_caught_up: stop as soon
 * as a round finds nothing (rebuild). */
static int run_views(vstate *vs, size_t n, const inc_consumer_run_options *ro,
                     bool until_caught_up,
                     void (*progress)(void *, int64_t, int64_t), void *pud,
                     int64_t total, int64_t *handled, inc_error *err) {
    int64_t last = now_ms(), done = 0;
    int backoff = 0;
    for (;;) {
        if (ro && ro->stop && *ro->stop) break;
        int64_t got = 0;
        bool failed = false;
        for (size_t i = 0; i < n; i++) {
            inc_error e;
            inc_error_clear(&e);
            int r = vstate_poll(&vs[i], &e);
            if (r < 0) {
                /* another maintainer moved the checkpoint, or the server
                 * went away: the batch was rolled back; try again */
                if (e.kind != INC_ERR_CONFLICT && e.kind != INC_ERR_UNAVAILABLE) {
                    if (err) *err = e;
                    return -1;
                }
                failed = true;
                continue;
            }
            got += r;
        }
        done += got;
        if (progress && got) progress(pud, done, total > done ? total : done);
        if (ro && ro->limit && done >= ro->limit) break;
        if (failed) {
            backoff = backoff ? (backoff < 1000 ? backoff * 2 : 1000) : 10;
            nap(backoff);
            continue;
        }
        backoff = 0;
        if (got) {
            last = now_ms();
            continue;
        }
        if (until_caught_up) break;
        int64_t idle = now_ms() - last;
        if (ro && ro->idle_ms && idle >= ro->idle_ms) break;
        int wait = 1000;
        if (ro && ro->idle_ms && ro->idle_ms - idle < wait)
            wait = (int)(ro->idle_ms - idle);
        inc_error e;
        if (inc_consumer_wait(vs[0].k, wait > 0 ? wait : 1, &e) < 0) nap(50);
    }
    if (handled) *handled = done;
    return 0;
}

int inc_views_run(inc_store *s, const inc_domain *d, const inc_view_desc *only,
                  const inc_consumer_run_options *ro, int64_t *handled,
                  inc_error *err) {
    size_t n = only ? 1 : d->n_views;
    if (handled) *handled = 0;
    if (n == 0) return 0;
    vstate *vs = calloc(n, sizeof *vs);
    if (!vs) return oom(err);
    int rc = 0;
    size_t opened = 0;
    for (; opened < n && rc == 0; opened++)
        rc = vstate_open(s, d, only ? only : d->views[opened], &vs[opened], err);
    if (rc != 0) opened--;
    if (rc == 0)
        rc = run_views(vs, n, ro, false, NULL, NULL, 0, handled, err);
    for (size_t i = 0; i < opened; i++) vstate_free(&vs[i]);
    free(vs);
    return rc;
}

typedef struct lag_of {
    const char *name;
    int64_t lag;
} lag_of;

static int find_lag(void *ud, const inc_consumer_info *ci, inc_error *err) {
    (void)err;
    lag_of *l = ud;
    if (strcmp(ci->name, l->name) == 0) l->lag = ci->lag;
    return 0;
}

int inc_view_rebuild(inc_store *s, const inc_domain *d, const inc_view_desc *v,
                     void (*progress)(void *ud, int64_t done, int64_t total),
                     void *ud, inc_error *err) {
    vstate vs;
    char name[INC_VIEW_CONSUMER_MAX + 1];
    snprintf(name, sizeof name, "view:%s", v->name);
    /* back to the beginning: the next batch read empties the table */
    if (inc_consumer_delete(s, name, err) != 0) return -1;
    if (vstate_open(s, d, v, &vs, err) != 0) return -1;
    lag_of l = {name, 0};
    int rc = inc_consumers_list(s, find_lag, &l, err);
    if (rc == 0)
        rc = run_views(&vs, 1, NULL, true, progress, ud, l.lag, NULL, err);
    if (rc == 0 && progress) progress(ud, l.lag, l.lag);
    vstate_free(&vs);
    return rc;
}
