/* cli_internal.h - what cli.c shares with the CLI's other files
 * (cli_describe.c, cli_query.c); not installed. */
#ifndef INCIDENT_CLI_INTERNAL_H
#define INCIDENT_CLI_INTERNAL_H

#include <stdio.h>

#include <incident/domain.h>

/* --help's description of the domain: each command's, event's and
 * projection's fields with their types. */
void incx_cli_describe(const inc_domain *d, FILE *out);

#endif
