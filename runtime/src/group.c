/* group.c - group commit (see <incident/group.h> for the semantics).
 *
 * Each committer is a thread with its own store, app and queue.  A caller
 * puts a `pending` (on its own stack) at the tail of its committer's queue
 * and sleeps on the pending's semaphore; the committer takes up to
 * max_group pendings off the head, runs them as one batch chunk
 * (incx_dispatch_batch_events: per-item outcomes, events handed to each
 * caller's result), then settles each pending and posts its semaphore.
 * While the batch runs the queue is unlocked, so what arrives meanwhile
 * forms the next group.  Everything a group needs is in the inc_group: no
 * global state.
 *
 * Wake-ups are the committer's serial cost on a virtual machine (a futex
 * wake and a context switch each): callers are woken each by its own
 * semaphore, not by a condition variable under the queue's mutex (the
 * woken callers would queue up on that mutex behind each other and behind
 * the committer), and a caller wakes the committer only when the
 * committer waits for exactly that (the first command, or a full group),
 * not on every command it queues. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <incident/batch.h>
#include <incident/group.h>

#include "app_internal.h"
#include "internal.h"

#define DEFAULT_COMMITTERS 1
#define DEFAULT_MAX_GROUP 64
#define DEFAULT_MAX_WAIT_US 1000

/* One command waiting for its group; lives on the caller's stack. */
typedef struct pending {
    const inc_message_desc *cmd;
    const void *data;
    inc_result *out;
    struct timespec arrived; /* CLOCK_MONOTONIC */
    sem_t done;              /* posted by the committer once rc, err are set */
    int rc;
    inc_error err;
    struct pending *next;
} pending;

typedef struct committer {
    inc_group *g;
    unsigned index;
    pthread_t thread;
    bool started;
    inc_store *store;
    inc_app *app;
    pthread_mutex_t mu;
    pthread_cond_t work; /* `wake_at` commands are queued, or stop */
    pending *head, *tail;
    size_t queued;
    /* The committer sleeps on `work` until `wake_at` commands are queued
     * (0: it is not sleeping; no signal needed). */
    size_t wake_at;
    bool stop;
    uint64_t groups, commands, max_size; /* under mu */
    size_t last_size; /* of the previous group (committer thread) */
    /* scratch for one group, max_group entries each (committer thread) */
    pending **taken;
    inc_batch_item *items;
    inc_batch_result *res;
    inc_result **outs;
} committer;

struct inc_group {
    const inc_domain *d;
    inc_group_options o;
    unsigned n;
    committer *cs;
    /* inc_group_new_pg's store settings (copies) */
    char *pg_conninfo, *pg_schema;
};

static void ts_add_us(struct timespec *t, unsigned us) {
    t->tv_sec += (time_t)(us / 1000000u);
    t->tv_nsec += (long)(us % 1000000u) * 1000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Make a pending's outcome from its batch result. */
static void settle(pending *p, const inc_batch_result *r) {
    switch (r->status) {
    case INC_BATCH_COMMITTED:
        p->rc = r->error.kind == INC_OK ? 0 : -1; /* OOM handing events over */
        p->err = r->error;
        break;
    case INC_BATCH_FAILED:
        p->rc = -1;
        p->err = r->error;
        break;
    case INC_BATCH_UNKNOWN:
    case INC_BATCH_NOT_RUN:
        p->rc = -1;
        p->err = r->error;
        if (p->err.kind == INC_OK)
            inc_error_set(&p->err, INC_ERR_UNAVAILABLE, "not_run",
                          "the group stopped before this command");
        break;
    }
}

/* Under c->mu: wait for the first command, then (latency cap) for the
 * group to fill: until max_group are queued, or as many as the previous
 * group had (under a steady load its callers come back with their next
 * commands: waiting for them makes full groups, waiting longer would only
 * add latency), or the cap runs out.  false: stop, nothing queued. */
static bool wait_for_group(committer *c) {
    const inc_group_options *o = &c->g->o;
    while (!c->stop && c->queued == 0) {
        c->wake_at = 1;
        pthread_cond_wait(&c->work, &c->mu);
    }
    c->wake_at = 0;
    if (c->queued == 0) return false;
    size_t want = o->max_group;
    if (c->last_size && c->last_size < want) want = c->last_size;
    if (o->max_wait_us && !c->stop && c->queued < want) {
        struct timespec deadline = c->head->arrived;
        ts_add_us(&deadline, o->max_wait_us);
        int rc = 0;
        while (!c->stop && c->queued < want && rc != ETIMEDOUT) {
            c->wake_at = want;
            rc = pthread_cond_timedwait(&c->work, &c->mu, &deadline);
        }
        c->wake_at = 0;
    }
    return true;
}

static void *committer_main(void *ud) {
    committer *c = ud;
    size_t cap = c->g->o.max_group;
    pthread_mutex_lock(&c->mu);
    while (wait_for_group(c)) {
        size_t n = 0;
        while (c->head && n < cap) {
            pending *p = c->head;
            c->head = p->next;
            c->taken[n] = p;
            c->items[n] = (inc_batch_item){p->cmd, p->data};
            c->outs[n] = p->out;
            n++;
        }
        if (!c->head) c->tail = NULL;
        c->queued -= n;
        c->last_size = n;
        c->groups++;
        c->commands += n;
        if (n > c->max_size) c->max_size = n;
        pthread_mutex_unlock(&c->mu);

        /* The group: one chunk (n <= max_group), outcomes per item. */
        inc_error e;
        inc_error_clear(&e);
        incx_dispatch_batch_events(c->app, c->items, n, n, c->res, c->outs, &e);

        /* The pendings are the committer's until posted: no lock. */
        for (size_t i = 0; i < n; i++) {
            pending *p = c->taken[i];
            settle(p, &c->res[i]);
            sem_post(&p->done);
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* FNV-1a of the aggregate id: which committer writes that aggregate. */
static unsigned shard_of(const inc_group *g, const inc_message_desc *cmd,
                         const void *data) {
    if (g->n == 1 || !cmd || cmd->kind != INC_MSG_COMMAND || !data) return 0;
    const char *id = incx_msg_id(cmd, data);
    if (!id) return 0;
    uint32_t h = 2166136261u;
    for (const unsigned char *s = (const unsigned char *)id; *s; s++)
        h = (h ^ *s) * 16777619u;
    return h % g->n;
}

int inc_group_dispatch(inc_group *g, const inc_message_desc *command,
                       const void *data, inc_result *out, inc_error *err) {
    if (!g)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_argument",
                             "inc_group_dispatch needs a group");
    committer *c = &g->cs[shard_of(g, command, data)];
    pending p;
    memset(&p, 0, sizeof p);
    p.cmd = command;
    p.data = data;
    p.out = out;
    if (sem_init(&p.done, 0, 0) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "thread",
                             "cannot make a semaphore");
    clock_gettime(CLOCK_MONOTONIC, &p.arrived);
    pthread_mutex_lock(&c->mu);
    if (c->tail) c->tail->next = &p;
    else c->head = &p;
    c->tail = &p;
    c->queued++;
    /* wakes an idle committer, or one waiting for its group to fill */
    if (c->wake_at && c->queued >= c->wake_at) {
        c->wake_at = 0; /* one signal is enough */
        pthread_cond_signal(&c->work);
    }
    pthread_mutex_unlock(&c->mu);
    while (sem_wait(&p.done) != 0) {} /* EINTR: a signal handler ran */
    sem_destroy(&p.done);
    if (p.rc != 0 && err) *err = p.err;
    return p.rc;
}

void inc_group_get_stats(inc_group *g, inc_group_stats *out) {
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; g && i < g->n; i++) {
        committer *c = &g->cs[i];
        pthread_mutex_lock(&c->mu);
        out->groups += c->groups;
        out->commands += c->commands;
        if (c->max_size > out->max_size) out->max_size = c->max_size;
        pthread_mutex_unlock(&c->mu);
    }
}

static void committer_free(inc_group *g, committer *c) {
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        pthread_cond_signal(&c->work);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    inc_app_free(c->app);
    if (c->store) {
        if (g->o.close) g->o.close(g->o.ud, c->index, c->store);
        else inc_store_close(c->store);
    }
    pthread_cond_destroy(&c->work);
    pthread_mutex_destroy(&c->mu);
    free(c->taken);
    free(c->items);
    free(c->res);
    free(c->outs);
}

void inc_group_free(inc_group *g) {
    if (!g) return;
    for (unsigned i = 0; g->cs && i < g->n; i++) committer_free(g, &g->cs[i]);
    free(g->cs);
    free(g->pg_conninfo);
    free(g->pg_schema);
    free(g);
}

/* inc_group_new_pg's stores: the settings are the group's copies. */
static inc_store *open_pg(const inc_group *g, inc_error *err) {
    inc_pg_options o = {g->pg_conninfo, g->pg_schema};
    return inc_pg_store_open(&o, err);
}

/* Everything of committer i but its thread. */
static int committer_init(inc_group *g, unsigned i, inc_error *err) {
    committer *c = &g->cs[i];
    c->g = g;
    c->index = i;
    size_t cap = g->o.max_group;
    c->taken = calloc(cap, sizeof *c->taken);
    c->items = calloc(cap, sizeof *c->items);
    c->res = calloc(cap, sizeof *c->res);
    c->outs = calloc(cap, sizeof *c->outs);
    if (!c->taken || !c->items || !c->res || !c->outs) return incx_oom(err);
    c->store = g->o.open ? g->o.open(g->o.ud, i, err) : open_pg(g, err);
    if (!c->store) return -1;
    if (!(c->app = inc_app_new(g->d, c->store, err))) return -1;
    if (g->o.setup && g->o.setup(g->o.ud, i, c->app, err) != 0) return -1;
    return 0;
}

/* A group with its settings (the defaults filled in) and its committers'
 * mutexes; NULL with err. */
static inc_group *group_alloc(const inc_domain *d, const inc_group_options *opts,
                              inc_error *err) {
    inc_group *g = calloc(1, sizeof *g);
    if (!g) {
        incx_oom(err);
        return NULL;
    }
    g->d = d;
    if (opts) g->o = *opts;
    if (!g->o.committers) g->o.committers = DEFAULT_COMMITTERS;
    if (!g->o.max_group) g->o.max_group = DEFAULT_MAX_GROUP;
    if (!g->o.max_wait_us) g->o.max_wait_us = DEFAULT_MAX_WAIT_US;
    else if (g->o.max_wait_us == INC_GROUP_NO_WAIT) g->o.max_wait_us = 0;
    if (!(g->cs = calloc(g->o.committers, sizeof *g->cs))) {
        free(g);
        incx_oom(err);
        return NULL;
    }
    /* the mutexes first, so that inc_group_free can tear down any prefix */
    for (; g->n < g->o.committers; g->n++) {
        committer *c = &g->cs[g->n];
        if (pthread_mutex_init(&c->mu, NULL) != 0) break;
        /* the latency cap's deadline is on the monotonic clock */
        pthread_condattr_t ca;
        bool ok = pthread_condattr_init(&ca) == 0;
        ok = ok && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&c->work, &ca) == 0;
        pthread_condattr_destroy(&ca);
        if (!ok) {
            pthread_mutex_destroy(&c->mu);
            break;
        }
    }
    if (g->n < g->o.committers) {
        inc_error_set(err, INC_ERR_INTERNAL, "thread",
                      "cannot make a mutex or condition variable");
        inc_group_free(g);
        return NULL;
    }
    return g;
}

/* Open every committer's store and app, start the threads; frees g and
 * returns NULL on failure. */
static inc_group *group_start(inc_group *g, inc_error *err) {
    for (unsigned i = 0; i < g->n; i++) {
        committer *c = &g->cs[i];
        if (committer_init(g, i, err) != 0) {
            inc_group_free(g);
            return NULL;
        }
        if (pthread_create(&c->thread, NULL, committer_main, c) != 0) {
            inc_error_set(err, INC_ERR_INTERNAL, "thread",
                          "cannot start a committer thread");
            inc_group_free(g);
            return NULL;
        }
        c->started = true;
    }
    return g;
}

inc_group *inc_group_new(const inc_domain *d, const inc_group_options *opts,
                         inc_error *err) {
    if (!d || !opts || !opts->open) {
        inc_error_set(err, INC_ERR_INTERNAL, "bad_argument",
                      "inc_group_new needs a domain and an open function");
        return NULL;
    }
    inc_group *g = group_alloc(d, opts, err);
    return g ? group_start(g, err) : NULL;
}

inc_group *inc_group_new_pg(const inc_domain *d, const inc_pg_options *pg,
                            const inc_group_options *opts, inc_error *err) {
    if (!d) {
        inc_error_set(err, INC_ERR_INTERNAL, "bad_argument",
                      "inc_group_new_pg needs a domain");
        return NULL;
    }
    inc_group *g = group_alloc(d, opts, err);
    if (!g) return NULL;
    g->o.open = NULL; /* open_pg */
    g->o.close = NULL;
    if (pg && ((pg->conninfo && !(g->pg_conninfo = inc_strdup(pg->conninfo))) ||
               (pg->schema && !(g->pg_schema = inc_strdup(pg->schema))))) {
        inc_group_free(g);
        incx_oom(err);
        return NULL;
    }
    return group_start(g, err);
}
