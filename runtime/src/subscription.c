/* subscription.c - consumers of the commit-ordered log
 * (<incident/subscription.h>): checkpoints, batches, the handler's
 * transaction, adaptive polling with wake-ups, and the run loop.  The
 * store-specific half is the store's inc_log_ops (pg_log.c, mem_store.c).
 *
 * One batch: read up to batch_size events after the checkpoint, hand them
 * to the handler one by one, then move the stored checkpoint from where it
 * was to the last event handled (compare and set).  A transactional
 * consumer wraps the batch in one transaction, so the handler's
 * inc_consumer_exec writes and the checkpoint commit together. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <incident/subscription.h>

#include "internal.h"

#define DEFAULT_BATCH 2000
#define DEFAULT_MAX_POLL_MS 1000
#define MAX_NAME_BYTES 200
/* After a partial batch the next poll waits this long (or for a
 * notification): a few more commits per batch, a few ms more lag. */
#define GATHER_MS 5

struct inc_consumer_tx {
    inc_consumer *c;
};

struct inc_consumer {
    inc_store *store;
    const struct inc_log_ops *ops;
    inc_log_session *ls;
    char *name; /* NULL: anonymous */
    char **types, **events;
    inc_log_query q;
    size_t batch;
    bool transactional;
    int max_poll_ms, wait_ms;
    inc_log_position cp;     /* delivered and acknowledged */
    inc_log_position stored; /* what the database holds */
    bool reload;             /* read `stored` again before the next batch */
    bool handler_failed;     /* the last poll stopped at a handler error */
    volatile sig_atomic_t *stop;
    inc_consumer_tx tx;
};

static int oom(inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

static void free_names(char **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int copy_names(const char *const *v, size_t n, char ***out,
                      inc_error *err) {
    *out = NULL;
    if (!v || n == 0) return 0;
    char **c = calloc(n, sizeof *c);
    if (!c) return oom(err);
    for (size_t i = 0; i < n; i++)
        if (!v[i] || !(c[i] = inc_strdup(v[i]))) {
            free_names(c, n);
            return v[i] ? oom(err)
                        : inc_error_set(err, INC_ERR_INVALID, "invalid_filter",
                                        "a filter name is NULL");
        }
    *out = c;
    return 0;
}

static bool after(const inc_log_position *a, const inc_log_position *b) {
    return a->transaction_id > b->transaction_id ||
           (a->transaction_id == b->transaction_id && a->position > b->position);
}

void inc_consumer_close(inc_consumer *c) {
    if (!c) return;
    if (c->ls) c->ops->close(c->ls);
    free(c->name);
    free_names(c->types, c->q.n_aggregate_types);
    free_names(c->events, c->q.n_event_types);
    free(c);
}

inc_consumer *inc_consumer_open(inc_store *s, const inc_consumer_options *o,
                                inc_error *err) {
    inc_consumer_options none;
    memset(&none, 0, sizeof none);
    if (!o) o = &none;
    if (!s || !s->ops->log) {
        inc_error_set(err, INC_ERR_INTERNAL, "unsupported",
                      "this store has no event log for consumers");
        return NULL;
    }
    if (o->name && (!*o->name || strlen(o->name) > MAX_NAME_BYTES)) {
        inc_error_set(err, INC_ERR_INVALID, "invalid_name",
                      "a consumer name has 1 to %d bytes", MAX_NAME_BYTES);
        return NULL;
    }
    unsigned size = o->group_size > 1 ? o->group_size : 1;
    if (o->group_member >= size || size > 1024 ||
        (size > 1 && !o->name) || o->max_poll_ms < 0) {
        inc_error_set(err, INC_ERR_INVALID, "invalid_group",
                      "group member %u of %u (a group needs a name and at "
                      "most 1024 members)",
                      o->group_member, size);
        return NULL;
    }
    if (o->transactional && !o->name) {
        inc_error_set(err, INC_ERR_INVALID, "invalid_options",
                      "a transactional consumer needs a name");
        return NULL;
    }
    inc_consumer *c = calloc(1, sizeof *c);
    if (!c) {
        oom(err);
        return NULL;
    }
    c->store = s;
    c->ops = s->ops->log;
    c->tx.c = c;
    c->batch = o->batch_size ? o->batch_size : DEFAULT_BATCH;
    c->transactional = o->transactional;
    c->max_poll_ms = o->max_poll_ms ? o->max_poll_ms : DEFAULT_MAX_POLL_MS;
    c->wait_ms = 1;
    c->q.group_size = size;
    c->q.group_member = o->group_member;
    if ((o->name && !(c->name = inc_strdup(o->name)) && oom(err)) ||
        copy_names(o->aggregate_types, o->n_aggregate_types, &c->types,
                   err) != 0)
        goto fail;
    c->q.n_aggregate_types = c->types ? o->n_aggregate_types : 0;
    if (copy_names(o->event_types, o->n_event_types, &c->events, err) != 0)
        goto fail;
    c->q.n_event_types = c->events ? o->n_event_types : 0;
    c->q.aggregate_types = (const char *const *)c->types;
    c->q.event_types = (const char *const *)c->events;
    if (!(c->ls = c->ops->open(s, err))) goto fail;
    if (c->name &&
        c->ops->checkpoint(c->ls, c->name, c->q.group_member, size, &c->stored,
                           err) != 0)
        goto fail;
    c->cp = c->stored;
    return c;
fail:
    inc_consumer_close(c);
    return NULL;
}

void inc_consumer_checkpoint(const inc_consumer *c, inc_log_position *out) {
    *out = c->cp;
}

int inc_consumer_exec(inc_consumer_tx *tx, const char *sql, int nparams,
                      const char *const *params, inc_error *err) {
    if (!tx) return inc_error_set(err, INC_ERR_INVALID, "invalid_argument",
                                  "exec: no transaction");
    return tx->c->ops->exec(tx->c->ls, sql, nparams, params, err);
}

int inc_consumer_wait(inc_consumer *c, int timeout_ms, inc_error *err) {
    return c->ops->wait(c->ls, timeout_ms, err);
}

/* ---- one batch ---- */

typedef struct batch {
    inc_consumer *c;
    inc_consumer_handler fn;
    void *ud;
    size_t n;
    inc_log_position last;
    bool failed; /* the handler's error */
    bool halted; /* *stop was set: the rest of the batch is left */
} batch;

static int deliver(void *ud, const inc_stored_event *ev,
                   const inc_log_position *at, inc_error *err) {
    batch *b = ud;
    if (b->c->stop && *b->c->stop) {
        b->halted = true;
        return inc_error_set(err, INC_ERR_INTERNAL, "stopped", "stopped");
    }
    inc_error local;
    inc_error_clear(&local);
    if (b->fn(b->ud, &b->c->tx, ev, at, &local) != 0) {
        b->failed = true;
        if (local.kind == INC_OK)
            inc_error_set(&local, INC_ERR_INTERNAL, "handler", "failed");
        return inc_error_set(err, local.kind, local.code,
                             "consumer handler failed at position %lld "
                             "(%s %s version %lld, %s): %s",
                             (long long)ev->position, ev->aggregate_type,
                             ev->aggregate_id, (long long)ev->version,
                             ev->event_type, local.message);
    }
    b->last = *at;
    b->n++;
    return 0;
}

static int save(inc_consumer *c, const inc_log_position *to, inc_error *err) {
    if (!c->name || !after(to, &c->stored)) return 0;
    if (c->ops->save(c->ls, c->name, c->q.group_member, &c->stored, to,
                     err) != 0)
        return -1;
    c->stored = *to;
    return 0;
}

int inc_consumer_poll(inc_consumer *c, size_t max, inc_consumer_handler fn,
                      void *ud, inc_error *err) {
    inc_error local;
    inc_error_clear(&local);
    if (!err) err = &local;
    if (c->reload) {
        if (c->ops->checkpoint(c->ls, c->name, c->q.group_member,
                               c->q.group_size, &c->stored, err) != 0)
            return -1;
        c->cp = c->stored;
        c->reload = false;
    }
    c->handler_failed = false;
    c->q.after = c->cp;
    c->q.limit = max && max < c->batch ? max : c->batch;
    if (c->transactional && c->ops->begin(c->ls, err) != 0) {
        c->reload = c->name != NULL;
        return -1;
    }
    batch b = {c, fn, ud, 0, c->cp, false, false};
    inc_log_position scanned;
    inc_error rerr;
    inc_error_clear(&rerr);
    int rc = c->ops->read(c->ls, &c->q, deliver, &b, &scanned, &rerr);
    if (rc != 0 && !b.failed && !b.halted) {
        /* the read itself failed: nothing acknowledged */
        if (c->transactional) c->ops->rollback(c->ls);
        c->reload = c->name != NULL;
        *err = rerr;
        return -1;
    }
    c->handler_failed = b.failed;
    if (b.failed && c->transactional) {
        /* the batch's writes are undone: the checkpoint stays before it */
        c->ops->rollback(c->ls);
        *err = rerr;
        return -1;
    }
    inc_log_position to = b.last;
    if (rc == 0 && after(&scanned, &to)) to = scanned;
    /* Store the checkpoint only when events were read: an empty read
     * would otherwise write (and take a transaction id) at every poll. */
    int src = b.n > 0 ? save(c, &to, err) : 0;
    if (src == 0 && c->transactional) {
        if (b.n > 0) {
            src = c->ops->commit(c->ls, err);
        } else {
            c->ops->rollback(c->ls);
        }
    }
    if (src != 0) {
        if (c->transactional) c->ops->rollback(c->ls);
        c->reload = c->name != NULL;
        return -1;
    }
    c->cp = to;
    if (b.failed) {
        *err = rerr;
        return -1;
    }
    if (b.n > 0) c->wait_ms = 1;
    return (int)b.n;
}

/* ---- the run loop ---- */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int inc_consumer_run(inc_consumer *c, inc_consumer_handler fn, void *ud,
                     const inc_consumer_run_options *ro, int64_t *handled,
                     inc_error *err) {
    inc_consumer_run_options none;
    memset(&none, 0, sizeof none);
    if (!ro) ro = &none;
    int64_t total = 0, last = now_ms();
    int backoff = 0, rc = 0;
    c->stop = ro->stop;
    for (;;) {
        if (ro->stop && *ro->stop) break;
        if (ro->limit > 0 && total >= ro->limit) break;
        size_t max = ro->limit > 0 ? (size_t)(ro->limit - total) : 0;
        inc_error e;
        inc_error_clear(&e);
        int n = inc_consumer_poll(c, max, fn, ud, &e);
        if (n < 0 && (e.kind == INC_ERR_UNAVAILABLE ||
                      (e.kind == INC_ERR_CONFLICT &&
                       strcmp(e.code, "checkpoint_moved") != 0)) &&
            !c->handler_failed) {
            /* the server went away (or a transient conflict): as dispatch
             * does, keep going once it is back */
            backoff = backoff ? (backoff * 2 > 2000 ? 2000 : backoff * 2) : 50;
            if (ro->idle_ms > 0 && now_ms() - last >= ro->idle_ms) {
                if (err) *err = e;
                rc = -1;
                break;
            }
            inc_consumer_wait(c, backoff, NULL);
            continue;
        }
        if (n < 0) {
            if (err) *err = e;
            rc = -1;
            break;
        }
        backoff = 0;
        if (n > 0) {
            total += n;
            last = now_ms();
            /* a full batch: more is waiting; a partial one: caught up, so
             * let a few commits gather (fewer, larger batches) */
            if ((size_t)n < c->q.limit) inc_consumer_wait(c, GATHER_MS, NULL);
            continue;
        }
        int64_t waited = now_ms() - last;
        if (ro->idle_ms > 0 && waited >= ro->idle_ms) break;
        int t = c->wait_ms;
        if (ro->idle_ms > 0 && t > ro->idle_ms - waited)
            t = (int)(ro->idle_ms - waited);
        if (inc_consumer_wait(c, t, NULL) == 1) {
            c->wait_ms = 1;
        } else if (c->wait_ms < c->max_poll_ms) {
            c->wait_ms = c->wait_ms * 2 > c->max_poll_ms ? c->max_poll_ms
                                                         : c->wait_ms * 2;
        }
    }
    c->stop = NULL;
    if (handled) *handled = total;
    return rc;
}

/* ---- listing ---- */

static int with_session(inc_store *s, inc_log_session **ls, inc_error *err) {
    if (!s || !s->ops->log)
        return inc_error_set(err, INC_ERR_INTERNAL, "unsupported",
                             "this store has no event log for consumers");
    return (*ls = s->ops->log->open(s, err)) ? 0 : -1;
}

int inc_consumers_list(inc_store *s, inc_consumer_info_cb cb, void *ud,
                       inc_error *err) {
    inc_log_session *ls = NULL;
    if (with_session(s, &ls, err) != 0) return -1;
    int rc = s->ops->log->list(ls, cb, ud, err);
    s->ops->log->close(ls);
    return rc;
}

int inc_consumer_delete(inc_store *s, const char *name, inc_error *err) {
    inc_log_session *ls = NULL;
    if (with_session(s, &ls, err) != 0) return -1;
    int rc = s->ops->log->remove(ls, name, err);
    s->ops->log->close(ls);
    return rc;
}
