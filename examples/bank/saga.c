/* saga.c - the transfer saga of the bank example: its registration and
 * bank_saga_resume.
 *
 * The saga's steps are declared in bank.agg as reactions (send_money,
 * receive_money, refund_money); aggc compiles each into an after-commit
 * event handler that dispatches the next command through the runtime, so
 * every follow-up event carries the causation id (the event that triggered
 * it) and the correlation id (the RequestTransfer that started the chain).
 * A domain rejection of a step is the signal to compensate (`else`); any
 * other failure (database down, conflict retries exhausted) is returned:
 * the saga stops where it is and bank_saga_resume continues it later. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "saga.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"

/* The steps themselves are bank.agg's reactions; register each one for its
 * event (the runtime will do this itself for every inc_domain.reactions). */
int bank_saga_register(inc_app *app, inc_error *err) {
    for (size_t i = 0; i < bank_domain.n_reactions; i++) {
        const inc_reaction_desc *r = &bank_domain.reactions[i];
        if (inc_app_on(app, r->event->name, r->fn, NULL, err) != 0) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- resume */

typedef struct pending {
    char **ids;
    size_t n, cap;
} pending;

static int collect(void *ud, const void *row, const inc_row_meta *meta, inc_error *err) {
    (void)meta;
    pending *p = ud;
    const bank_transfers_row *r = row;
    if (!r->has_status || (r->status != BANK_TRANSFER_STATUS_REQUESTED &&
                           r->status != BANK_TRANSFER_STATUS_INITIATED &&
                           r->status != BANK_TRANSFER_STATUS_REVERTED))
        return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        char **ids = realloc(p->ids, cap * sizeof *ids);
        if (!ids) return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory", "out of memory");
        p->ids = ids;
        p->cap = cap;
    }
    p->ids[p->n] = strdup(r->aggregate_id);
    if (!p->ids[p->n]) return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory", "out of memory");
    p->n++;
    return 0;
}

typedef struct find {
    const char *event;
    const char *transfer_id;
    bool found;
} find;

static int find_cb(void *ud, const inc_recorded_event *ev, inc_error *err) {
    (void)err;
    find *f = ud;
    /* MoneySent, MoneyReceived and MoneySentReverted share one layout. */
    if (strcmp(ev->event_type, f->event) == 0 &&
        strcmp(((const bank_money_sent *)ev->data)->transfer_id, f->transfer_id) == 0)
        f->found = true;
    return 0;
}

/* Did `account` already record `event` for this transfer? */
static int done_on(inc_app *app, const char *account, const char *event, const char *tid,
                   bool *found, inc_error *err) {
    find f = {event, tid, false};
    if (inc_app_read_stream(app, &bank_account_type, account, find_cb, &f, err) != 0)
        return -1;
    *found = f.found;
    return 0;
}

static int top_step(inc_app *app, const inc_message_desc *d, const char *id, inc_error *err) {
    bank_initiate_transfer cmd;
    inc_msg_init(d, &cmd);
    cmd.aggregate_id = (char *)id;
    return inc_dispatch(app, d, &cmd, NULL, err);
}

/* 0 done, 1 rejected, -1 failed */
static int top_money(inc_app *app, const inc_message_desc *d, const char *account,
                     const char *tid, int64_t amount, inc_error *err) {
    bank_send_money cmd;
    inc_msg_init(d, &cmd);
    cmd.aggregate_id = (char *)account;
    cmd.transfer_id = (char *)tid;
    cmd.amount = amount;
    inc_error e;
    if (inc_dispatch(app, d, &cmd, NULL, &e) == 0) return 0;
    if (e.kind == INC_ERR_REJECTED) return 1;
    if (err) *err = e;
    return -1;
}

/* Continue one transfer from the step it reached.  Each money step is
 * looked up in the account's stream first, so a step that committed before
 * the crash is not repeated. */
static int resume_one(inc_app *app, const char *id, inc_error *err) {
    bank_transfer_state t;
    int rc = -1;
    bool found = false;
    if (inc_app_state(app, &bank_transfer_type, id, &t, err) != 0) goto done;
    if (!t.has_status) {
        rc = 0;
        goto done;
    }
    switch (t.status) {
    case BANK_TRANSFER_STATUS_REQUESTED:
        if (done_on(app, t.source_account_number, "MoneySent", id, &found, err) != 0) goto done;
        if (!found) {
            int m = top_money(app, &bank_send_money_desc, t.source_account_number, id, t.amount, err);
            if (m < 0) goto done;
            found = m == 0;
        }
        rc = top_step(app, found ? &bank_initiate_transfer_desc : &bank_cancel_transfer_desc, id, err);
        break;
    case BANK_TRANSFER_STATUS_INITIATED:
        if (done_on(app, t.destination_account_number, "MoneyReceived", id, &found, err) != 0)
            goto done;
        if (!found) {
            int m = top_money(app, &bank_receive_money_desc, t.destination_account_number, id,
                              t.amount, err);
            if (m < 0) goto done;
            found = m == 0;
        }
        rc = top_step(app, found ? &bank_complete_transfer_desc : &bank_revert_transfer_desc, id, err);
        break;
    case BANK_TRANSFER_STATUS_REVERTED:
        if (done_on(app, t.source_account_number, "MoneySentReverted", id, &found, err) != 0)
            goto done;
        if (!found && top_money(app, &bank_revert_money_sent_desc, t.source_account_number, id,
                                t.amount, err) < 0)
            goto done;
        rc = top_step(app, &bank_cancel_transfer_desc, id, err);
        break;
    default:
        rc = 0;
    }
done:
    bank_transfer_state_free(&t);
    return rc;
}

int bank_saga_resume(inc_app *app, int *resumed, inc_error *err) {
    pending p = {NULL, 0, 0};
    int rc = inc_store_projection_list(inc_app_store(app), &bank_transfers_projection, collect,
                                       &p, err);
    int count = 0;
    for (size_t i = 0; rc == 0 && i < p.n; i++) {
        rc = resume_one(app, p.ids[i], err);
        if (rc == 0) count++;
    }
    for (size_t i = 0; i < p.n; i++) free(p.ids[i]);
    free(p.ids);
    if (resumed) *resumed = count;
    return rc;
}
