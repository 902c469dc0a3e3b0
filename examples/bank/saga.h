/* saga.h - the bank's transfer saga (Incident's TransferEventHandler) as
 * reactions declared in bank.agg, registered as libincident event handlers. */
#ifndef BANK_SAGA_H
#define BANK_SAGA_H

#include <incident/app.h>

/* Register bank.agg's reactions, which drive a Transfer to completed or
 * cancelled:
 *   TransferRequested -> SendMoney(source);      ok: InitiateTransfer, else CancelTransfer
 *   TransferInitiated -> ReceiveMoney(destination); ok: CompleteTransfer, else RevertTransfer
 *   TransferReverted  -> RevertMoneySent(source), then CancelTransfer */
int bank_saga_register(inc_app *app, inc_error *err);

/* Drive every transfer that stopped half-way (status requested, initiated
 * or reverted: the process died between two steps) to its end, by
 * replaying the handler of the step it reached.  *resumed counts them. */
int bank_saga_resume(inc_app *app, int *resumed, inc_error *err);

#endif
