/* cli.h - the domain command-line tool (docs/cli.md).
 *
 *   #include "bank.h"
 *   #include <incident/cli.h>
 *   int main(int argc, char **argv) { return inc_cli_main(&bank_domain, argc, argv); }
 *
 * PROG [--db CONNINFO | --memory] SUBCOMMAND ARGS...
 *   init | dispatch COMMAND JSON | state AGGREGATE ID | events AGGREGATE ID
 *   | projection NAME [ID] | rebuild NAME
 * Exit codes: 0 ok, 1 database/internal failure, 2 bad input or usage,
 * 3 the command was rejected. */
#ifndef INCIDENT_CLI_H
#define INCIDENT_CLI_H

#include <incident/app.h>
#include <incident/domain.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes. */
enum {
    INC_CLI_OK = 0,
    INC_CLI_FAILURE = 1,
    INC_CLI_USAGE = 2,
    INC_CLI_REJECTED = 3
};

INC_API int inc_cli_main(const inc_domain *d, int argc, char **argv);

/* Extension: `setup` runs once the app exists, before the subcommand, e.g.
 * to register event handlers (inc_app_on) so `dispatch` runs them too.
 * A non-zero return ends the program with exit code 1. */
INC_API int inc_cli_main_with(const inc_domain *d, int argc, char **argv,
                              int (*setup)(inc_app *app, void *ud,
                                           inc_error *err),
                              void *ud);

#ifdef __cplusplus
}
#endif
#endif
