#include "notes.h"
#include <incident/cli.h>
int main(int argc, char **argv) { return inc_cli_main(&notes_domain, argc, argv); }
