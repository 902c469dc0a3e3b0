/* main.c - the `bank` program: the domain CLI of bank.agg.  The transfer
 * saga is bank.agg's reactions, which every app of the domain runs, so
 * `bank dispatch RequestTransfer ...` runs the whole transfer, and
 * `bank react` finishes any transfer a crashed or failed process left
 * half-way. */
#include <incident/cli.h>

#include "bank.h"

int main(int argc, char **argv) { return inc_cli_main(&bank_domain, argc, argv); }
