#include "ledger.h"
#include <incident/cli.h>
int main(int argc, char **argv) { return inc_cli_main(&ledger_domain, argc, argv); }
