/* main.c - the counter test domain's command-line tool: the three-line
 * main every domain gets (docs/cli.md). */
#include <incident/cli.h>

#include "counter.h"

int main(int argc, char **argv) { return inc_cli_main(&counter_domain, argc, argv); }
