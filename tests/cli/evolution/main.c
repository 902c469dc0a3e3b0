/* The next version of the bank domain (tests/compiler/against/bank_v2.agg)
 * as a domain CLI, for tests/cli/evolution/run.sh. */
#include "bank.h"
#include <incident/cli.h>
int main(int argc, char **argv) { return inc_cli_main(&bank_domain, argc, argv); }
