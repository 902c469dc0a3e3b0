/* main.c - the `bank` program: the domain CLI of bank.agg with the
 * transfer saga registered, so `bank dispatch RequestTransfer ...` runs the
 * whole transfer, and `bank react` finishes any transfer a crashed or
 * failed process left half-way. */
#include <incident/cli.h>

#include "bank.h"
#include "saga.h"

static int setup(inc_app *app, void *ud, inc_error *err) {
    (void)ud;
    return bank_saga_register(app, err);
}

int main(int argc, char **argv) {
    return inc_cli_main_with(&bank_domain, argc, argv, setup, NULL);
}
