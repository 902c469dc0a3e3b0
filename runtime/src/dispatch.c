/* dispatch.c - inc_dispatch: one command, attempt after attempt, then the
 * after-commit event handlers (which may dispatch more commands).
 *
 * One attempt: load the state (state_load.c) or take the cached one
 * unread -> execute -> prepare the commit (commit_prepare.c) -> commit in
 * one store transaction.  A version conflict means another writer got
 * there first: start again from load, after the backoff of retry.c, at
 * most max_retries times.
 *
 * A command with a command id (the caller's, or a handler's derived one)
 * that did not commit is settled: a rejection is recorded under the id,
 * and an id found taken answers with what is recorded (command_id.c).
 * Handlers run inline after a commit, and again from the reactor
 * (reactor.c, through incx_react_event) for events read back from the
 * log; the derived ids make the second run a no-op. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"
#include "internal.h"
#include "store_util.h"

#define MAX_HANDLER_DEPTH 32

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
    const char *key;       /* the handler's (incx_handler.key) */
    unsigned n_dispatched; /* commands dispatched so far in this call */
    bool lookup_first;     /* (reactor) read the id's record before trying */
};

/* Where a command comes from, and how it is identified. */
typedef struct origin {
    const char *causation_id;   /* NULL: a top-level command */
    const char *correlation_id; /* NULL: its own command id */
    int depth;
    const incx_cmdid *cid;      /* NULL: no command id */
    const char *meta_id;        /* the events' command_id; NULL: a new v4 */
    bool lookup_first;          /* with cid: read its record first */
} origin;

/* The namespace of handlers' command ids (a random constant). */
static const unsigned char handler_ns[16] = {
    0x6b, 0x1f, 0x3a, 0x52, 0x9e, 0x07, 0x4c, 0x1d,
    0xa8, 0x33, 0x5f, 0xe2, 0x10, 0x94, 0xc7, 0x6e};

static int rec_add(rec_list *l, inc_recorded_event *e, inc_error *err) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        inc_recorded_event **items = realloc(l->items, cap * sizeof *items);
        if (!items) return incx_oom(err);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = e;
    return 0;
}

static void rec_list_free(rec_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        incx_recorded_free(l->items[i]);
        free(l->items[i]);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Everything one attempt allocates. */
typedef struct attempt {
    void *state;                      /* the state the command ran on */
    char last_id[INC_UUID_TEXT_SIZE]; /* of its version ("" unknown) */
    incx_work w;                       /* what it commits, from `state` */
} attempt;

static void attempt_free(const inc_aggregate_desc *a, attempt *t) {
    incx_state_drop(a, t->state);
    incx_work_free(a, &t->w);
    memset(t, 0, sizeof *t);
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
    if (app->stale_rate >= INCX_STALE_RATE_LIMIT) return;
    if (!(t->state = incx_state_cache_take(app->cache, a, id, t->last_id)))
        return;
    if (inc_execute_at(a, t->state, cmd, data, t->w.now, &t->w.events,
                       &ignored) == 0 &&
        t->w.events.count > 0) {
        *speculated = true;
        return;
    }
    inc_event_list_free(&t->w.events);
    incx_state_cache_put(app->cache, a, id, t->state, t->last_id);
    t->state = NULL;
}

/* One attempt: load (or speculate), execute, apply, project, commit.
 * Returns 0 (events committed or none), -1 with err. */
static int run_attempt(inc_app *app, const inc_aggregate_desc *a,
                       const inc_message_desc *cmd, const void *data,
                       const char *id, const char *metadata,
                       const incx_cmdid *cid, attempt *t, bool may_speculate,
                       bool *speculated, bool *sent, inc_error *err) {
    *speculated = *sent = false;
    /* one time per attempt: now() in execute and the events' date */
    t->w.now = inc_timestamp_now();
    if (may_speculate) try_speculate(app, a, cmd, data, id, t, speculated);
    if (!*speculated) {
        /* (after a refused unread commit, that refusal was the observation) */
        if (incx_load_current(app, a, id, &t->state, t->last_id, may_speculate,
                         err) != 0)
            return -1;
        if (inc_execute_at(a, t->state, cmd, data, t->w.now, &t->w.events,
                           err) != 0)
            return -1;
    }
    inc_commit c;
    if (t->w.events.count == 0) {
        if (!cid) return 0;
        /* no events, but the command id is recorded all the same */
        memset(&c, 0, sizeof c);
        c.aggregate = a;
        c.aggregate_id = id;
    } else if (incx_work_prepare(app, a, id, t->state, metadata, &t->w, &c,
                                 err) != 0) {
        return -1;
    }
    c.expect_event_id = *speculated ? t->last_id : NULL;
    if (cid) {
        c.command_id = cid->id;
        c.command_type = cid->type;
        c.command_payload = cid->payload;
    }
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
        incx_state_cache_put(app->cache, a, id, t->w.next,
                             t->w.stored[t->w.events.count - 1].event_id);
        t->w.next = NULL;
        incx_state_drop(a, t->state);
    } else if (t->state) {
        incx_state_cache_put(app->cache, a, id, t->state, t->last_id);
    }
    t->state = NULL;
}

static int run_handlers(inc_app *app, rec_list *list, size_t from, size_t to,
                        const char *correlation_id, int depth);

/* Attempts of one command until it commits (or emits nothing), fails for
 * another reason than a conflict, or runs out of retries.  *t holds the
 * last attempt (free it with attempt_free). */
static int run_attempts(inc_app *app, const inc_aggregate_desc *a,
                        const inc_message_desc *cmd, const void *data,
                        const char *id, const char *metadata,
                        const incx_cmdid *cid, attempt *t, inc_error *err) {
    int rc;
    bool may_speculate = true;
    for (unsigned attempt_no = 0;; attempt_no++) {
        bool speculated, sent;
        rc = run_attempt(app, a, cmd, data, id, metadata, cid, t,
                         may_speculate, &speculated, &sent, err);
        /* the command id is taken: the caller answers from its record */
        if (rc != 0 && incx_command_id_taken(err)) {
            keep_state(app, a, id, t, rc);
            return rc;
        }
        bool conflict = rc != 0 && err->kind == INC_ERR_CONFLICT;
        if (speculated && (rc == 0 || conflict))
            incx_note_speculation(app, rc == 0, conflict);
        keep_state(app, a, id, t, rc);
        /* Unread, the cached state may be behind: a refused commit, or a
         * failure before the commit (an apply or projection rule said no),
         * is decided again on the current state, at once (this is not
         * contention).  A commit that failed otherwise after it was sent
         * is reported as it is (its outcome may be unknown). */
        if (speculated && rc != 0 && (conflict || !sent)) {
            attempt_free(a, t);
            may_speculate = false;
            attempt_no--; /* wraps back to 0 at the first try: fine */
            continue;
        }
        if (rc == 0 || !conflict) return rc;
        app->conflicts++;
        if (attempt_no >= app->retry.max_retries)
            return inc_error_set(err, INC_ERR_CONFLICT, "conflict",
                                 "%s %s: still conflicting after %u retries",
                                 a->name, id, app->retry.max_retries);
        attempt_free(a, t);
        incx_backoff(&app->retry, attempt_no);
    }
}

/* Add the events the attempt committed to the list (their structs move
 * out of t). */
static int record_events(rec_list *list, const inc_aggregate_desc *a,
                         const char *id, attempt *t, const char *command_id,
                         const char *causation_id, const char *correlation_id,
                         inc_error *err) {
    for (size_t i = 0; i < t->w.events.count; i++) {
        inc_recorded_event *r = calloc(1, sizeof *r);
        if (!r || rec_add(list, r, err) != 0) {
            free(r);
            return incx_oom(err);
        }
        memcpy(r->event_id, t->w.stored[i].event_id, INC_UUID_TEXT_SIZE);
        r->aggregate_type = a->name;
        r->aggregate_id = inc_strdup(id);
        r->version = t->w.stored[i].version;
        r->event_type = t->w.events.items[i].desc->name;
        r->event_date = t->w.stored[i].event_date;
        r->position = t->w.positions[i];
        r->desc = t->w.events.items[i].desc;
        /* take the event struct from the list (a NULL item frees fine) */
        r->data = t->w.events.items[i].data;
        t->w.events.items[i].data = NULL;
        memcpy(r->command_id, command_id, INC_UUID_TEXT_SIZE);
        snprintf(r->correlation_id, sizeof r->correlation_id, "%s",
                 correlation_id ? correlation_id : command_id);
        snprintf(r->causation_id, sizeof r->causation_id, "%s",
                 causation_id ? causation_id : "");
        if (!r->aggregate_id) return incx_oom(err);
    }
    return 0;
}

/* Move the events of `r` to the list (they stay in `r` on failure). */
static int take_events(rec_list *list, inc_result *r, inc_error *err) {
    while (r->count > 0) {
        inc_recorded_event *e = malloc(sizeof *e);
        if (!e || rec_add(list, e, err) != 0) {
            free(e);
            return incx_oom(err);
        }
        /* in order: the first left in r goes next */
        *e = r->events[0];
        memmove(r->events, r->events + 1, --r->count * sizeof *r->events);
    }
    return 0;
}

/* A command with an id that did not commit (err says why).  A rejection
 * is recorded under the id in a transaction of its own; an id found taken
 * (also by that record: a concurrent run committed first) answers with the
 * recorded outcome, appended to `out` (may be NULL).  Returns 0 when the
 * recorded outcome is a commit, else -1 with err: the recorded or the new
 * rejection, or why it could not be recorded (then its outcome is
 * unknown and the rejection must not be acted on). */
static int settle(inc_app *app, const inc_aggregate_desc *a, const char *id,
                  const incx_cmdid *cid, inc_result *out, inc_error *err) {
    if (err->kind == INC_ERR_REJECTED) {
        inc_error rejection = *err;
        inc_commit c;
        memset(&c, 0, sizeof c);
        c.aggregate = a;
        c.aggregate_id = id;
        c.command_id = cid->id;
        c.command_type = cid->type;
        c.command_payload = cid->payload;
        c.command_rejection = rejection.code[0] ? rejection.code : "rejected";
        if (inc_store_commit(app->store, &c, err) == 0) {
            *err = rejection;
            return -1;
        }
    }
    if (!incx_command_id_taken(err)) return -1;
    inc_error first = *err;
    int found = incx_command_replay(app, cid, out, err);
    if (found == 1) {
        inc_error_clear(err);
        return 0;
    }
    if (found == 0) *err = first; /* (taken, then pruned at once: report it) */
    return -1;
}

static int dispatch_one(inc_app *app, const inc_message_desc *cmd,
                        const void *data, const origin *o, rec_list *list,
                        inc_error *err) {
    inc_error local; /* the retry decisions read the error */
    if (!err) err = &local;
    if (!cmd || cmd->kind != INC_MSG_COMMAND || !cmd->aggregate)
        return inc_error_set(err, INC_ERR_INVALID, "unknown_command",
                             "not a command descriptor");
    if (o->depth > MAX_HANDLER_DEPTH)
        return inc_error_set(err, INC_ERR_INTERNAL, "handler_depth",
                             "event handlers nested deeper than %d commands",
                             MAX_HANDLER_DEPTH);
    const inc_aggregate_desc *a = cmd->aggregate;
    /* Validation before any I/O. */
    if (inc_msg_validate(cmd, data, err) != 0) return -1;
    const char *id = incx_msg_id(cmd, data);
    if (incx_store_check_id(id, "$.aggregate_id", err) != 0) return -1;
    /* A repeat answers a top-level caller with the first run's events.
     * An inline handler's command found taken was done by a reactor that
     * got there first: its events join the outer result all the same (the
     * caller sees the whole chain).  The reactor's own repeats only need
     * the outcome (those events were delivered the first time). */
    const incx_cmdid *cid = o->cid;
    if (cid && o->lookup_first) {
        int found = incx_command_replay(app, cid, NULL, err);
        if (found != 0) return found == 1 ? 0 : -1;
    }

    char command_id[INC_UUID_TEXT_SIZE];
    if (o->meta_id)
        snprintf(command_id, sizeof command_id, "%s", o->meta_id);
    else if (inc_uuid_v7(command_id, err) != 0)
        return -1;
    char *metadata = incx_metadata_text(command_id, cmd->name, o->causation_id,
                                        o->correlation_id);
    if (!metadata) return incx_oom(err);

    attempt t;
    memset(&t, 0, sizeof t);
    int rc = run_attempts(app, a, cmd, data, id, metadata, cid, &t, err);
    size_t from = list->n;
    if (rc == 0 && t.w.events.count > 0)
        rc = record_events(list, a, id, &t, command_id, o->causation_id,
                           o->correlation_id, err);
    bool committed = rc == 0 && t.w.events.count > 0;
    attempt_free(a, &t);
    free(metadata);
    if (!committed && rc != 0 && cid && list->n == from) {
        if (!o->causation_id) return settle(app, a, id, cid, list->result, err);
        if (o->lookup_first) return settle(app, a, id, cid, NULL, err);
        inc_result replayed;
        inc_result_init(&replayed);
        rc = settle(app, a, id, cid, &replayed, err);
        if (rc == 0) rc = take_events(list, &replayed, err);
        inc_result_free(&replayed);
        return rc;
    }
    /* (rc != 0 after a commit: out of memory reporting it) */
    if (!committed) return rc;
    run_handlers(app, list, from, list->n,
                 o->correlation_id ? o->correlation_id : command_id, o->depth);
    return 0;
}

static void note_handler_error(rec_list *list, const inc_error *e) {
    if (list->result && !list->result->handler_failed) {
        list->result->handler_failed = true;
        list->result->handler_error = *e;
    }
}

/* Every handler of one event.  `stop_at_failure` (the reactor): return
 * -1 with err at the first handler that fails for another reason than a
 * rejection; otherwise note the failure in the result and go on. */
static int handlers_of(inc_app *app, rec_list *list,
                       const inc_recorded_event *ev, const char *correlation_id,
                       int depth, bool stop_at_failure, inc_error *err) {
    for (size_t h = 0; h < app->n_handlers; h++) {
        if (app->handlers[h].event != ev->desc) continue;
        inc_handler_ctx ctx = {app,          ev, correlation_id,
                               list,         depth + 1,
                               app->handlers[h].key, 0, stop_at_failure};
        inc_error herr;
        inc_error_clear(&herr);
        if (app->handlers[h].fn(&ctx, ev, app->handlers[h].ud, &herr) == 0)
            continue;
        if (herr.kind == INC_OK)
            inc_error_set(&herr, INC_ERR_INTERNAL, "handler_failed",
                          "handler %s for %s failed", app->handlers[h].key,
                          ev->event_type);
        /* a rejection passed up is an outcome: recorded, stable */
        if (stop_at_failure && herr.kind != INC_ERR_REJECTED) {
            if (err) *err = herr;
            return -1;
        }
        note_handler_error(list, &herr);
    }
    return 0;
}

static int run_handlers(inc_app *app, rec_list *list, size_t from, size_t to,
                        const char *correlation_id, int depth) {
    char corr[INC_UUID_TEXT_SIZE];
    snprintf(corr, sizeof corr, "%s", correlation_id);
    for (size_t k = from; k < to; k++)
        handlers_of(app, list, list->items[k], corr, depth, false, NULL);
    return 0;
}

int incx_react_event(inc_app *app, const inc_recorded_event *ev,
                     inc_recorded_cb on_recorded, void *ud,
                     int64_t *n_recorded, inc_error *err) {
    rec_list list;
    memset(&list, 0, sizeof list);
    /* the chain's correlation id as the inline run had it */
    const char *corr = ev->correlation_id[0] ? ev->correlation_id
                       : ev->command_id[0]   ? ev->command_id
                                             : ev->event_id;
    int rc = handlers_of(app, &list, ev, corr, 0, true, err);
    if (n_recorded) *n_recorded += (int64_t)list.n;
    /* committed whatever happened after: reported all the same */
    for (size_t i = 0; on_recorded && i < list.n; i++) {
        inc_error cerr;
        inc_error_clear(&cerr);
        if (on_recorded(ud, list.items[i], &cerr) != 0 && rc == 0) {
            if (err) *err = cerr;
            rc = -1;
        }
    }
    rec_list_free(&list);
    return rc;
}

/* Move the recorded events into the caller's result. */
static int deliver(rec_list *list, inc_result *out, size_t n_direct,
                   inc_error *err) {
    if (!out) return 0;
    if (list->n > out->cap - out->count) {
        size_t cap = out->count + list->n;
        inc_recorded_event *ev = realloc(out->events, cap * sizeof *ev);
        if (!ev) return incx_oom(err);
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

/* A top-level command, with a command id or without (cid NULL). */
static int dispatch_top(inc_app *app, const inc_message_desc *command,
                        const void *data, const incx_cmdid *cid,
                        inc_result *out, inc_error *err) {
    rec_list list;
    memset(&list, 0, sizeof list);
    list.result = out;
    origin o = {NULL, NULL, 0, cid, NULL, false};
    int rc = dispatch_one(app, command, data, &o, &list, err);
    /* direct events are those of the command itself: they come first and
     * all share its command_id */
    size_t n_direct = 0;
    while (n_direct < list.n && list.items[n_direct]->causation_id[0] == '\0')
        n_direct++;
    if (deliver(&list, out, n_direct, rc == 0 ? err : NULL) != 0) rc = -1;
    rec_list_free(&list);
    return rc;
}

int inc_dispatch(inc_app *app, const inc_message_desc *command,
                 const void *data, inc_result *out, inc_error *err) {
    if (!app)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_argument", "no app");
    return dispatch_top(app, command, data, NULL, out, err);
}

bool incx_command_id_taken(const inc_error *err) {
    return err->kind == INC_ERR_CONFLICT &&
           strcmp(err->code, "command_id_exists") == 0;
}

int inc_dispatch_with_id(inc_app *app, const inc_message_desc *command,
                         const void *data, const char *command_id,
                         inc_result *out, inc_error *err) {
    inc_error local;
    if (!err) err = &local;
    if (!app)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_argument", "no app");
    if (!command_id) return inc_dispatch(app, command, data, out, err);
    if (!command || command->kind != INC_MSG_COMMAND || !command->aggregate)
        return inc_error_set(err, INC_ERR_INVALID, "unknown_command",
                             "not a command descriptor");
    if (inc_msg_validate(command, data, err) != 0) return -1;
    incx_cmdid cid;
    if (incx_cmdid_make(&cid, command_id, command, data, err) != 0) return -1;
    /* Optimistic: run it as new, the id recorded in its commit; only a
     * commit refused for the id looks the id up (dispatch_one's settle),
     * and a rejection is recorded under it. */
    int rc = dispatch_top(app, command, data, &cid, out, err);
    incx_cmdid_free(&cid);
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
        incx_oom(err);
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

int inc_dispatch_json_with_id(inc_app *app, const char *command,
                              const char *json, const char *command_id,
                              inc_result *out, inc_error *err) {
    const inc_message_desc *d;
    void *msg = decode_command(app->d, command, json, &d, err);
    if (!msg) return -1;
    int rc = inc_dispatch_with_id(app, d, msg, command_id, out, err);
    free_command(d, msg);
    return rc;
}

int inc_handler_dispatch(inc_handler_ctx *ctx, const inc_message_desc *command,
                         const void *data, inc_error *err) {
    inc_error local;
    if (!err) err = &local;
    if (!command || command->kind != INC_MSG_COMMAND || !command->aggregate)
        return inc_error_set(err, INC_ERR_INVALID, "unknown_command",
                             "not a command descriptor");
    if (inc_msg_validate(command, data, err) != 0) return -1;
    /* the id: (handled event, handler, n-th dispatch of this call), so a
     * second run of the handler for this event names its commands alike */
    char name[INC_UUID_TEXT_SIZE + INC_HANDLER_NAME_MAX + 48];
    int len = snprintf(name, sizeof name, "%s\n%s\n%u", ctx->cause->event_id,
                       ctx->key, ctx->n_dispatched++);
    if (len < 0 || (size_t)len >= sizeof name)
        return inc_error_set(err, INC_ERR_INTERNAL, "handler_key",
                             "handler key too long");
    char id[INC_UUID_TEXT_SIZE];
    incx_uuid_v5(handler_ns, name, (size_t)len, id);
    incx_cmdid cid;
    if (incx_cmdid_make(&cid, id, command, data, err) != 0) return -1;
    origin o = {ctx->cause->event_id, ctx->correlation_id, ctx->depth,
                &cid, id, ctx->lookup_first};
    int rc = dispatch_one(ctx->app, command, data, &o, ctx->list, err);
    incx_cmdid_free(&cid);
    return rc;
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

int inc_handler_event_state(inc_handler_ctx *ctx, void *state, inc_error *err) {
    const inc_recorded_event *ev = ctx->cause;
    return incx_load_at(ctx->app, ev->desc->aggregate, ev->aggregate_id,
                        ev->version, state, err);
}
