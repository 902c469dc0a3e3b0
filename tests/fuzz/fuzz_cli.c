/* fuzz_cli.c - libFuzzer target: the domain CLI's dispatch path, in
 * process, on the in-memory store.
 *
 * One input is "COMMAND\nJSON": the bytes before the first newline name the
 * command (any bytes: unknown names are part of the test), the rest is the
 * command's JSON (cut at a NUL byte, as argv would).  It runs
 *     bank --memory dispatch COMMAND JSON
 * through inc_cli_main(&bank_domain, ...).  The exit code must be 0 (ok),
 * 2 (bad input) or 3 (rejected): with no database nothing may fail
 * internally (1).  The CLI prints events on stdout, which the target sends
 * to /dev/null (run it with -close_fd_mask=2 to silence its stderr). */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <incident/cli.h>

#include "bank.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) abort();
    close(fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    buf[size] = '\0';
    char *nl = memchr(buf, '\n', size);
    char *json = "";
    if (nl) {
        *nl = '\0';
        json = nl + 1;
    }
    char *argv[] = {"bank", "--memory", "dispatch", buf, json, NULL};
    int rc = inc_cli_main(&bank_domain, 5, argv);
    fflush(stdout);
    if (rc != INC_CLI_OK && rc != INC_CLI_USAGE && rc != INC_CLI_REJECTED) abort();
    free(buf);
    return 0;
}
