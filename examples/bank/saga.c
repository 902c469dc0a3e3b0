/* saga.c - the transfer saga of the bank example, written in C as event
 * handlers.
 *
 * Each step is an event handler that dispatches the next command through
 * the runtime, so every follow-up event carries the causation id (the
 * event that triggered it) and the correlation id (the RequestTransfer
 * that started the chain).  A domain rejection of a step is the signal to
 * compensate; any other failure (database down, conflict retries
 * exhausted) is returned: the saga stops where it is and the reactor
 * (`bank react`, docs/runtime.md "Event handlers") runs the handler again
 * later.  That second run is safe because the runtime gives each dispatch
 * a command id derived from the handled event and the handler's name: a
 * step that committed (or was rejected) the first time is answered from
 * its record, so no money step happens twice.  For the same reason the
 * handlers decide only from the event and the transfer's state as of it
 * (inc_handler_event_state), never from a later state. */
#include "saga.h"

#include <stdbool.h>

#include "bank.h"

/* Dispatch a money command on an account; 1 if it was rejected (the caller
 * compensates), 0 if it succeeded, -1 on any other failure. */
static int money(inc_handler_ctx *ctx, const inc_message_desc *d, const char *account,
                 const char *transfer_id, int64_t amount, inc_error *err) {
    /* SendMoney, ReceiveMoney and RevertMoneySent share one layout. */
    bank_send_money cmd;
    inc_msg_init(d, &cmd);
    cmd.aggregate_id = (char *)account;
    cmd.transfer_id = (char *)transfer_id;
    cmd.amount = amount;
    inc_error e;
    int rc = inc_handler_dispatch(ctx, d, &cmd, &e);
    if (rc == 0) return 0;
    if (e.kind == INC_ERR_REJECTED) return 1;
    if (err) *err = e;
    return -1;
}

static int transfer_step(inc_handler_ctx *ctx, const inc_message_desc *d, const char *id,
                         inc_error *err) {
    bank_initiate_transfer cmd; /* all transfer steps carry only the id */
    inc_msg_init(d, &cmd);
    cmd.aggregate_id = (char *)id;
    return inc_handler_dispatch(ctx, d, &cmd, err);
}


static int on_requested(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                        inc_error *err) {
    (void)ud;
    const bank_transfer_requested *r = ev->data;
    int rc = money(ctx, &bank_send_money_desc, r->source_account_number, ev->aggregate_id,
                   r->amount, err);
    if (rc < 0) return -1;
    return transfer_step(ctx, rc == 0 ? &bank_initiate_transfer_desc : &bank_cancel_transfer_desc,
                         ev->aggregate_id, err);
}

/* Load the transfer, run a money command on one of its accounts, then the
 * next transfer step: `ok_next` if the money command succeeded,
 * `rejected_next` if the domain refused it. */
static int money_then_step(inc_handler_ctx *ctx, const inc_recorded_event *ev,
                           const inc_message_desc *money_cmd, bool on_source,
                           const inc_message_desc *ok_next,
                           const inc_message_desc *rejected_next, inc_error *err) {
    bank_transfer_state t;
    if (inc_handler_event_state(ctx, &t, err) != 0) {
        bank_transfer_state_free(&t);
        return -1;
    }
    int rc = money(ctx, money_cmd,
                   on_source ? t.source_account_number : t.destination_account_number,
                   ev->aggregate_id, t.amount, err);
    bank_transfer_state_free(&t);
    if (rc < 0) return -1;
    return transfer_step(ctx, rc == 0 ? ok_next : rejected_next, ev->aggregate_id, err);
}

static int on_initiated(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                        inc_error *err) {
    (void)ud;
    return money_then_step(ctx, ev, &bank_receive_money_desc, false,
                           &bank_complete_transfer_desc, &bank_revert_transfer_desc, err);
}

/* Give the money back, then cancel.  As in Incident, a refusal of the
 * refund does not stop the cancellation (an account cannot vanish here). */
static int on_reverted(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                       inc_error *err) {
    (void)ud;
    return money_then_step(ctx, ev, &bank_revert_money_sent_desc, true,
                           &bank_cancel_transfer_desc, &bank_cancel_transfer_desc, err);
}

/* Named: the names key the steps' command ids, so they must not change
 * while transfers are under way. */
int bank_saga_register(inc_app *app, inc_error *err) {
    if (inc_app_on_named(app, "TransferRequested", "bank.transfer.send", on_requested, NULL,
                         err) != 0)
        return -1;
    if (inc_app_on_named(app, "TransferInitiated", "bank.transfer.receive", on_initiated,
                         NULL, err) != 0)
        return -1;
    if (inc_app_on_named(app, "TransferReverted", "bank.transfer.refund", on_reverted, NULL,
                         err) != 0)
        return -1;
    return 0;
}
