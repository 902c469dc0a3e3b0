/* saga.c - the transfer saga of the bank example.
 *
 * Each step is an after-commit event handler that dispatches the next
 * command through the runtime, so every follow-up event carries the
 * causation id (the event that triggered it) and the correlation id (the
 * RequestTransfer that started the chain).  A domain rejection of a step is
 * the signal to compensate; any other failure (database down, conflict
 * retries exhausted) is returned: the saga stops where it is and
 * bank_saga_resume continues it later. */
#include "saga.h"

#include <stdlib.h>
#include <string.h>

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

static int load_transfer(inc_handler_ctx *ctx, const char *id, bank_transfer_state *t,
                         inc_error *err) {
    return inc_app_state(inc_handler_app(ctx), &bank_transfer_type, id, t, err);
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

static int on_initiated(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                        inc_error *err) {
    (void)ud;
    bank_transfer_state t;
    if (load_transfer(ctx, ev->aggregate_id, &t, err) != 0) {
        bank_transfer_state_free(&t);
        return -1;
    }
    int rc = money(ctx, &bank_receive_money_desc, t.destination_account_number,
                   ev->aggregate_id, t.amount, err);
    bank_transfer_state_free(&t);
    if (rc < 0) return -1;
    return transfer_step(ctx, rc == 0 ? &bank_complete_transfer_desc : &bank_revert_transfer_desc,
                         ev->aggregate_id, err);
}

static int on_reverted(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                       inc_error *err) {
    (void)ud;
    bank_transfer_state t;
    if (load_transfer(ctx, ev->aggregate_id, &t, err) != 0) {
        bank_transfer_state_free(&t);
        return -1;
    }
    /* Give the money back.  As in Incident, a refusal here does not stop
     * the cancellation (the source account cannot vanish in this domain). */
    int rc = money(ctx, &bank_revert_money_sent_desc, t.source_account_number,
                   ev->aggregate_id, t.amount, err);
    bank_transfer_state_free(&t);
    if (rc < 0) return -1;
    return transfer_step(ctx, &bank_cancel_transfer_desc, ev->aggregate_id, err);
}

int bank_saga_register(inc_app *app, inc_error *err) {
    if (inc_app_on(app, "TransferRequested", on_requested, NULL, err) != 0) return -1;
    if (inc_app_on(app, "TransferInitiated", on_initiated, NULL, err) != 0) return -1;
    if (inc_app_on(app, "TransferReverted", on_reverted, NULL, err) != 0) return -1;
    return 0;
}
