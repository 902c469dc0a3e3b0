/* saga.h - the bank's transfer saga (Incident's TransferEventHandler) as
 * libincident event handlers, exactly once in effect: run inline after
 * each commit and durably by the reactor (`bank react`). */
#ifndef BANK_SAGA_H
#define BANK_SAGA_H

#include <incident/app.h>

/* Register the handlers that drive a Transfer to completed or cancelled:
 *   TransferRequested -> SendMoney(source);      ok: InitiateTransfer, else CancelTransfer
 *   TransferInitiated -> ReceiveMoney(destination); ok: CompleteTransfer, else RevertTransfer
 *   TransferReverted  -> RevertMoneySent(source), then CancelTransfer
 * Every process that dispatches transfers or runs `react` registers them. */
int bank_saga_register(inc_app *app, inc_error *err);

#endif
