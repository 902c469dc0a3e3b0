/* batch.c - inc_dispatch_batch (see <incident/batch.h> for the semantics).
 *
 * A chunk: validate the items, load each distinct aggregate once, all in
 * one store load_many (one round trip on PostgreSQL), run the items in
 * order on the in-memory states (execute -> apply to a copy -> project ->
 * snapshot, the same steps as inc_dispatch), then hand every resulting
 * inc_commit to the store's commit_many: one transaction, one round trip,
 * one WAL flush for the chunk.  So a chunk costs two round trips however
 * many aggregates it touches.  A chunk whose commit fails is run again item by item
 * (chunks of one, committed with the plain commit and retried on conflict),
 * so one bad item cannot take its neighbours down. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/batch.h>
#include <incident/gen.h>
#include <incident/store.h>

#include "app_internal.h"
#include "internal.h"
#include "store_util.h"

/* One aggregate of a chunk and its state as the chunk's items left it. */
typedef struct agg_slot {
    const inc_aggregate_desc *a;
    const char *id;
    void *state;
    char last_id[INC_UUID_TEXT_SIZE]; /* the event of state's version */
    /* The cached state, not read: its first commit of the chunk expects
     * the stream to still end with event expect_id. */
    bool speculative, expect_sent;
    char expect_id[INC_UUID_TEXT_SIZE]; /* the event of the loaded state */
    /* While some slot of the chunk is speculative: a copy of the state as
     * loaded, back to the cache if the chunk has to run again. */
    void *orig;
    bool bad;          /* loading failed: its items fail with load_err */
    inc_error load_err;
} agg_slot;

/* What one item commits (incx_work) and its own metadata. */
typedef struct item_work {
    incx_work w;
    char *metadata;
    char command_id[INC_UUID_TEXT_SIZE];
} item_work;

static void work_free(const inc_aggregate_desc *a, item_work *w) {
    incx_work_free(a, &w->w);
    free(w->metadata);
    w->metadata = NULL;
}

/* {"command_id":..,"command_type":..,"correlation_id":..}: what a top-level
 * inc_dispatch writes. */
static char *make_metadata(const char *command_type,
                           char id[INC_UUID_TEXT_SIZE], inc_error *err) {
    if (inc_uuid_v7(id, err) != 0) return NULL;
    char *s = incx_metadata_text(id, command_type, NULL, NULL);
    if (!s) incx_oom(err);
    return s;
}

static agg_slot *find_slot(agg_slot *slots, size_t n,
                           const inc_aggregate_desc *a, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (slots[i].a == a && strcmp(slots[i].id, id) == 0) return &slots[i];
    return NULL;
}

/* Execute one item on `state`; on success *next is the new state and `w`
 * holds its commit (none when the command emitted nothing: *next NULL). */
static int run_item(inc_app *app, const inc_aggregate_desc *a,
                    const inc_message_desc *cmd, const void *data,
                    const char *id, const void *state, void **next,
                    item_work *w, inc_commit *c, inc_error *err) {
    *next = NULL;
    /* one time per item: now() in execute and its events' date */
    w->w.now = inc_timestamp_now();
    if (inc_execute_at(a, state, cmd, data, w->w.now, &w->w.events, err) != 0)
        return -1;
    if (w->w.events.count == 0) return 0;
    if (!(w->metadata = make_metadata(cmd->name, w->command_id, err)) ||
        incx_work_prepare(app, a, id, state, w->metadata, &w->w, c, err) != 0)
        return -1;
    *next = w->w.next;
    w->w.next = NULL;
    return 0;
}

static void set_status(inc_batch_result *r, inc_batch_status st,
                       const inc_error *e) {
    r->status = st;
    r->n_events = 0;
    r->version = 0;
    if (e) r->error = *e;
    else inc_error_clear(&r->error);
}

/* Load every slot's state with one incx_load_states (one round trip on
 * PostgreSQL).  A slot that cannot be loaded is `bad` (its items fail with
 * load_err).  -1 (cerr): stop; slot states are then initialised or NULL. */
static int load_slots(inc_app *app, agg_slot *slots, size_t n,
                      bool may_speculate, inc_error *cerr) {
    incx_state_req *reqs = calloc(n ? n : 1, sizeof *reqs);
    size_t *of = calloc(n ? n : 1, sizeof *of), m = 0;
    if (!reqs || !of) {
        free(reqs);
        free(of);
        return incx_oom(cerr);
    }
    for (size_t k = 0; k < n; k++) {
        agg_slot *s = &slots[k];
        if (!(s->state = malloc(s->a->state->size))) {
            incx_oom(&s->load_err);
            s->bad = true;
            continue;
        }
        reqs[m] = (incx_state_req){s->a, s->id, s->state, 0, {INC_OK, "", ""}, "", false};
        of[m++] = k;
    }
    int rc = incx_load_states(app, reqs, m, may_speculate, cerr);
    for (size_t j = 0; rc == 0 && j < m; j++) {
        agg_slot *s = &slots[of[j]];
        memcpy(s->last_id, reqs[j].last_id, INC_UUID_TEXT_SIZE);
        memcpy(s->expect_id, reqs[j].last_id, INC_UUID_TEXT_SIZE);
        s->speculative = reqs[j].speculative;
        if (reqs[j].rc == 0) continue;
        s->load_err = reqs[j].error;
        s->bad = true;
        incx_state_drop(s->a, s->state);
        s->state = NULL;
    }
    free(reqs);
    free(of);
    return rc;
}

/* How a chunk ended. */
typedef enum chunk_outcome {
    CHUNK_DONE,          /* every item has its status */
    CHUNK_COMMIT_FAILED, /* nothing was written (*cerr says why; the
                          * statuses mean nothing): run item by item */
    CHUNK_READ_FIRST,    /* a state taken from the cache unread may have
                          * been stale (an item on it emitted nothing, or
                          * the commit was refused): nothing was written,
                          * run the chunk again reading first */
    CHUNK_STOP           /* stop (*cerr; statuses set) */
} chunk_outcome;

/* Everything one chunk of n items allocates. */
typedef struct chunk_run {
    agg_slot *slots;      /* the distinct aggregates, n_slots of them */
    item_work *works;     /* per item */
    inc_commit *commits;  /* n_commits, in item order */
    size_t *commit_item;  /* the item of each commit */
    size_t *slot_of;      /* per item: its slot + 1 (0: the item failed) */
    size_t n, n_slots, n_commits;
    inc_result **outs;    /* per item, NULL or where its events go */
} chunk_run;

static bool chunk_alloc(chunk_run *ch, size_t n) {
    memset(ch, 0, sizeof *ch);
    ch->n = n;
    ch->slots = calloc(n, sizeof *ch->slots);
    ch->works = calloc(n, sizeof *ch->works);
    ch->commits = calloc(n, sizeof *ch->commits);
    ch->commit_item = calloc(n, sizeof *ch->commit_item);
    ch->slot_of = calloc(n, sizeof *ch->slot_of);
    return ch->slots && ch->works && ch->commits && ch->commit_item &&
           ch->slot_of;
}

/* A committed item's events, moved out of its work into `out` (as
 * inc_dispatch records them: no causation, correlation = command id). */
static int give_events(inc_result *out, const agg_slot *s, item_work *w,
                       inc_error *err) {
    size_t n = w->w.events.count;
    if (out->count + n > out->cap) {
        size_t cap = out->cap ? out->cap : 4;
        while (cap < out->count + n) cap *= 2;
        inc_recorded_event *ev = realloc(out->events, cap * sizeof *ev);
        if (!ev) return incx_oom(err);
        out->events = ev;
        out->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        char *id = inc_strdup(s->id);
        if (!id) return incx_oom(err);
        inc_recorded_event *r = &out->events[out->count++];
        memset(r, 0, sizeof *r);
        memcpy(r->event_id, w->w.stored[i].event_id, INC_UUID_TEXT_SIZE);
        r->aggregate_type = s->a->name;
        r->aggregate_id = id;
        r->version = w->w.stored[i].version;
        r->event_type = w->w.events.items[i].desc->name;
        r->event_date = w->w.stored[i].event_date;
        r->position = w->w.positions[i];
        r->desc = w->w.events.items[i].desc;
        r->data = w->w.events.items[i].data; /* taken from the list */
        w->w.events.items[i].data = NULL;
        memcpy(r->command_id, w->command_id, INC_UUID_TEXT_SIZE);
        memcpy(r->correlation_id, w->command_id, INC_UUID_TEXT_SIZE);
    }
    out->n_direct += n;
    return 0;
}

/* Committed (or nothing to commit): the states are current, keep them for
 * the next chunks and commands.  Otherwise they never happened. */
static void chunk_free(inc_app *app, chunk_run *ch, chunk_outcome out,
                       inc_batch_result *res) {
    for (size_t k = 0; out == CHUNK_DONE && ch->outs && k < ch->n_commits; k++) {
        size_t i = ch->commit_item[k];
        /* committed all the same: the error says its events are missing */
        if (ch->outs[i] && give_events(ch->outs[i], &ch->slots[ch->slot_of[i] - 1],
                                       &ch->works[i], &res[i].error) != 0)
            inc_error_set(&res[i].error, INC_ERR_INTERNAL, "out_of_memory",
                          "committed, but its events could not be returned");
    }
    for (size_t i = 0; ch->slots && i < ch->n_slots; i++) {
        agg_slot *sl = &ch->slots[i];
        if (out == CHUNK_DONE && sl->state)
            incx_state_cache_put(app->cache, sl->a, sl->id, sl->state, sl->last_id);
        else
            incx_state_drop(sl->a, sl->state);
        /* running again: the states as loaded, for the reads to catch up */
        if (out == CHUNK_READ_FIRST && sl->orig)
            incx_state_cache_put(app->cache, sl->a, sl->id, sl->orig, sl->expect_id);
        else
            incx_state_drop(sl->a, sl->orig);
    }
    /* (what an item's commit held but its new state, taken or freed above) */
    for (size_t i = 0; ch->works && i < ch->n; i++) work_free(NULL, &ch->works[i]);
    free(ch->slots);
    free(ch->works);
    free(ch->commits);
    free(ch->commit_item);
    free(ch->slot_of);
}

/* Validate every item and gather the chunk's distinct aggregates. */
static void gather_slots(chunk_run *ch, const inc_batch_item *items,
                         inc_batch_result *res) {
    inc_error e;
    for (size_t i = 0; i < ch->n; i++) {
        const inc_message_desc *cmd = items[i].command;
        const void *data = items[i].data;
        inc_error_clear(&e);
        set_status(&res[i], INC_BATCH_COMMITTED, NULL);
        if (!cmd || cmd->kind != INC_MSG_COMMAND || !cmd->aggregate || !data) {
            inc_error_set(&e, INC_ERR_INVALID, "unknown_command",
                          "item %zu: not a command descriptor", i);
            set_status(&res[i], INC_BATCH_FAILED, &e);
            continue;
        }
        const inc_aggregate_desc *a = cmd->aggregate;
        const char *id = incx_msg_id(cmd, data);
        if (inc_msg_validate(cmd, data, &e) != 0 ||
            incx_store_check_id(id, "$.aggregate_id", &e) != 0) {
            set_status(&res[i], INC_BATCH_FAILED, &e);
            continue;
        }
        agg_slot *s = find_slot(ch->slots, ch->n_slots, a, id);
        if (!s) {
            s = &ch->slots[ch->n_slots++];
            s->a = a;
            s->id = id;
        }
        ch->slot_of[i] = (size_t)(s - ch->slots) + 1;
    }
}

/* While some slot is speculative: a copy of every state as loaded, back
 * to the cache if the chunk has to run again. */
static void keep_originals(chunk_run *ch) {
    bool any_spec = false;
    for (size_t k = 0; k < ch->n_slots; k++)
        any_spec = any_spec || ch->slots[k].speculative;
    for (size_t k = 0; any_spec && k < ch->n_slots; k++) {
        agg_slot *sl = &ch->slots[k];
        if (!sl->state || !(sl->orig = malloc(sl->a->state->size))) continue;
        if (inc_msg_copy(sl->a->state, sl->orig, sl->state, NULL) != 0) {
            free(sl->orig);
            sl->orig = NULL;
        }
    }
}

/* Run the items in order, each on the state its aggregate's previous item
 * of the chunk left: CHUNK_DONE or CHUNK_READ_FIRST. */
static chunk_outcome run_items(inc_app *app, chunk_run *ch,
                               const inc_batch_item *items,
                               inc_batch_result *res) {
    inc_error e;
    for (size_t i = 0; i < ch->n; i++) {
        if (!ch->slot_of[i]) continue;
        agg_slot *s = &ch->slots[ch->slot_of[i] - 1];
        const inc_aggregate_desc *a = s->a;
        item_work *w = &ch->works[i];
        inc_error_clear(&e);
        if (s->bad) {
            set_status(&res[i], INC_BATCH_FAILED, &s->load_err);
            continue;
        }
        void *next;
        int irc = run_item(app, a, items[i].command, items[i].data, s->id,
                           s->state, &next, w, &ch->commits[ch->n_commits], &e);
        if (s->speculative && (irc != 0 || !next)) {
            /* decided on a state that may be stale: read first instead */
            work_free(a, w);
            return CHUNK_READ_FIRST;
        }
        if (irc != 0) {
            work_free(a, w);
            set_status(&res[i], INC_BATCH_FAILED, &e);
            continue;
        }
        if (next && s->speculative && !s->expect_sent) {
            ch->commits[ch->n_commits].expect_event_id = s->expect_id;
            s->expect_sent = true;
        }
        if (next) {
            incx_state_drop(a, s->state);
            s->state = next;
            memcpy(s->last_id, w->w.stored[w->w.events.count - 1].event_id,
                   INC_UUID_TEXT_SIZE);
            ch->commit_item[ch->n_commits++] = i;
            res[i].n_events = w->w.events.count;
        }
        res[i].version = incx_state_version(a, s->state);
    }
    return CHUNK_DONE;
}

/* Every commit of the chunk in one store transaction. */
static chunk_outcome commit_chunk(inc_app *app, chunk_run *ch,
                                  inc_batch_result *res, inc_error *cerr) {
    inc_error e;
    if (ch->n_commits == 0) return CHUNK_DONE;
    inc_error_clear(&e);
    int crc = ch->n_commits == 1
                  ? inc_store_commit(app->store, &ch->commits[0], &e)
                  : inc_store_commit_many(app->store, ch->commits,
                                          ch->n_commits, NULL, &e);
    size_t n_spec = 0;
    for (size_t k = 0; k < ch->n_slots; k++) n_spec += ch->slots[k].expect_sent;
    if (n_spec && (crc == 0 || e.kind == INC_ERR_CONFLICT))
        incx_note_speculation(app, crc == 0 ? n_spec : 0, crc != 0);
    if (crc == 0) return CHUNK_DONE;
    if (n_spec && e.kind == INC_ERR_CONFLICT) return CHUNK_READ_FIRST;
    *cerr = e;
    if (e.kind != INC_ERR_UNAVAILABLE) return CHUNK_COMMIT_FAILED;
    for (size_t k = 0; k < ch->n_commits; k++)
        set_status(&res[ch->commit_item[k]], INC_BATCH_UNKNOWN, &e);
    return CHUNK_STOP;
}

/* One chunk: validate, load in one go, run the items, commit. */
static chunk_outcome run_chunk(inc_app *app, const inc_batch_item *items,
                               size_t n, inc_batch_result *res,
                               inc_result **outs, bool may_speculate,
                               inc_error *cerr) {
    chunk_run ch;
    chunk_outcome out = CHUNK_DONE;
    bool ok = chunk_alloc(&ch, n);
    ch.outs = outs;
    if (!ok) {
        incx_oom(cerr);
        for (size_t i = 0; i < n; i++) set_status(&res[i], INC_BATCH_NOT_RUN, cerr);
        out = CHUNK_STOP;
    } else {
        gather_slots(&ch, items, res);
        if (load_slots(app, ch.slots, ch.n_slots, may_speculate, cerr) != 0) {
            /* Nothing of this chunk is written yet. */
            for (size_t j = 0; j < n; j++)
                set_status(&res[j], INC_BATCH_NOT_RUN, cerr);
            out = CHUNK_STOP;
        }
    }
    if (out == CHUNK_DONE) {
        keep_originals(&ch);
        out = run_items(app, &ch, items, res);
    }
    if (out == CHUNK_DONE) out = commit_chunk(app, &ch, res, cerr);
    chunk_free(app, &ch, out, res);
    return out;
}

/* run_chunk, speculating where the app's cache allows, and again reading
 * first when that did not pay. */
static chunk_outcome run_chunk_any(inc_app *app, const inc_batch_item *items,
                                   size_t n, inc_batch_result *res,
                                   inc_result **outs, inc_error *cerr) {
    chunk_outcome out = run_chunk(app, items, n, res, outs, true, cerr);
    return out == CHUNK_READ_FIRST
               ? run_chunk(app, items, n, res, outs, false, cerr)
               : out;
}

/* One item in its own transaction, retried on conflict like inc_dispatch.
 * 0 (status set) or -1 (stop). */
static int run_single(inc_app *app, const inc_batch_item *item,
                      inc_batch_result *res, inc_result **out_of,
                      inc_error *cerr) {
    unsigned max = app->retry.max_retries;
    for (unsigned attempt = 0;; attempt++) {
        inc_error e;
        inc_error_clear(&e);
        chunk_outcome out = run_chunk_any(app, item, 1, res, out_of, &e);
        if (out == CHUNK_DONE) return 0;
        if (out == CHUNK_STOP) {
            *cerr = e;
            return -1;
        }
        if (e.kind == INC_ERR_CONFLICT && attempt < max) {
            incx_backoff(&app->retry, attempt);
            continue;
        }
        if (e.kind == INC_ERR_CONFLICT)
            inc_error_set(&e, INC_ERR_CONFLICT, "conflict",
                          "still conflicting after %u retries", max);
        set_status(res, INC_BATCH_FAILED, &e);
        return 0;
    }
}

int incx_dispatch_batch_events(inc_app *app, const inc_batch_item *items,
                               size_t n, size_t chunk, inc_batch_result *res,
                               inc_result **outs, inc_error *err) {
    inc_error e;
    if (!app || (n && (!items || !res)))
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_argument",
                             "inc_dispatch_batch needs an app, items and "
                             "results");
    inc_store *store = app->store;
    if (chunk == 0) chunk = INC_BATCH_DEFAULT_CHUNK;
    /* Without commit_many every transaction holds one item. */
    if (!store || !store->ops || !store->ops->commit_many) chunk = 1;
    for (size_t start = 0; start < n;) {
        size_t m = n - start < chunk ? n - start : chunk;
        inc_error_clear(&e);
        chunk_outcome out = run_chunk_any(app, items + start, m, res + start,
                                          outs ? outs + start : NULL, &e);
        for (size_t j = 0; out == CHUNK_COMMIT_FAILED && j < m; j++) {
            /* the chunk wrote nothing: item by item */
            if (run_single(app, items + start + j, res + start + j,
                           outs ? outs + start + j : NULL, &e) != 0) {
                for (size_t k = j + 1; k < m; k++)
                    set_status(&res[start + k], INC_BATCH_NOT_RUN, &e);
                out = CHUNK_STOP;
            }
        }
        if (out == CHUNK_STOP) {
            for (size_t k = start + m; k < n; k++)
                set_status(&res[k], INC_BATCH_NOT_RUN, &e);
            if (err) *err = e;
            return -1;
        }
        start += m;
    }
    int failed = 0;
    for (size_t i = 0; i < n; i++) failed += res[i].status == INC_BATCH_FAILED;
    return failed;
}

int inc_dispatch_batch_chunked(inc_app *app, const inc_batch_item *items,
                               size_t n, size_t chunk, inc_batch_result *res,
                               inc_error *err) {
    return incx_dispatch_batch_events(app, items, n, chunk, res, NULL, err);
}

int inc_dispatch_batch(inc_app *app, const inc_batch_item *items, size_t n,
                       inc_batch_result *res, inc_error *err) {
    return inc_dispatch_batch_chunked(app, items, n, 0, res, err);
}
