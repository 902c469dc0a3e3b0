/* aggc.c - the command line of the compiler (docs/aggc.1, a contract):
 *
 *   aggc [-o DIR] [--emit=c,sql,dot,stubs] [--check] [--Werror]
 *        [--against OLD.agg]... [-M DEPFILE] [--version] [--help] FILE.agg...
 *
 * Exit 0 on success (warnings alone too), 1 on errors in the input, 2 on
 * usage errors.  Only the options are handled here; the work is agg_compile's (compile.h), as a
 * thin shell over a library, so that a build tool or a test can call the
 * compiler without a process. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "gen.h"

static const char usage[] =
    "usage: aggc [-o DIR] [--emit=c,sql,dot,stubs] [--check] [--Werror] [--against OLD.agg]...\n"
    "            [-M DEPFILE] [--version] [--help] FILE.agg...\n";

static const char help[] =
    "Compile .agg domain files into C (structs, JSON codecs, validation,\n"
    "reducers, execute rules, descriptors for libincident) and SQL.\n"
    "\n"
    "  -o DIR             write outputs into DIR (default: the current directory)\n"
    "  --emit=LIST        outputs to write, comma-separated (default: c,sql):\n"
    "                       c      DIR/<domain>.h and DIR/<domain>.c\n"
    "                       sql    DIR/<domain>.sql (projection tables)\n"
    "                       dot    DIR/<domain>.dot (Graphviz picture)\n"
    "                       stubs  DIR/<domain>_stubs.c for extern rules, only if absent\n"
    "  --check            parse and check only; write nothing\n"
    "  --against OLD.agg  also check that the new files read every event the old\n"
    "                     domain could have stored (repeat, one per old file)\n"
    "  --Werror           treat warnings as errors (exit 1, nothing written)\n"
    "  -M DEPFILE         also write a Make-style dependency file\n"
    "  --version          print the version and exit\n"
    "  --help             print this help and exit\n"
    "\n"
    "Files given together form one domain.  Exit status: 0 success (warnings\n"
    "alone included), 1 errors in the input (reported as file:line:col),\n"
    "2 usage errors.\n"
    "Diagnostics are coloured on a terminal unless NO_COLOR is set.\n";

static int usage_error(const char *fmt, const char *arg) {
    fputs("aggc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(usage, stderr);
    return 2;
}

static int parse_emit(const char *list, unsigned *out) {
    unsigned e = 0;
    char *copy = strdup(list);
    if (!copy) return -1;
    int rc = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "c") == 0) e |= AGG_EMIT_C;
        else if (strcmp(t, "sql") == 0) e |= AGG_EMIT_SQL;
        else if (strcmp(t, "dot") == 0) e |= AGG_EMIT_DOT;
        else if (strcmp(t, "stubs") == 0) e |= AGG_EMIT_STUBS;
        else {
            usage_error("unknown output '%s' in --emit (expected c, sql, dot, stubs)", t);
            rc = -1;
            break;
        }
    }
    free(copy);
    if (rc == 0 && e == 0) {
        usage_error("--emit needs at least one output%s", "");
        rc = -1;
    }
    *out = e;
    return rc;
}

/* An option that takes a value, as "-o DIR" or "-oDIR"; NULL when `a` is
 * not `name`.  *i moves past a separate value. */
static const char *value_of(const char *name, int argc, char **argv, int *i, bool *missing) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] != '\0') {
        if (n == 2) return a + n; /* -oDIR */
        return a[n] == '=' ? a + n + 1 : NULL; /* --emit=LIST */
    }
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Fills `o` from the command line; returns -1 to go on compiling, or the
 * exit status (0 after --help/--version, 2 after a usage error). */
static int parse_args(int argc, char **argv, agg_compile_opts *o, const char **files,
                      const char **against) {
    bool opts_done = false;
    size_t n = 0, n_against = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;
        if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
            files[n++] = a;
        } else if (strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            fputs(help, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("aggc %s (libincident ABI %d)\n", AGGC_VERSION, AGG_ABI_VERSION);
            return 0;
        } else if (strcmp(a, "--check") == 0) {
            o->check_only = true;
        } else if (strcmp(a, "--Werror") == 0) {
            o->werror = true;
        } else if ((v = value_of("-o", argc, argv, &i, &missing))) {
            o->outdir = v;
        } else if ((v = value_of("-M", argc, argv, &i, &missing))) {
            o->depfile = v;
        } else if ((v = value_of("--against", argc, argv, &i, &missing))) {
            against[n_against++] = v;
        } else if ((v = value_of("--emit", argc, argv, &i, &missing))) {
            if (parse_emit(v, &o->emit) != 0) return 2;
        } else if (missing) {
            return usage_error("option %s needs an argument", a);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (n == 0) return usage_error("no input files%s", "");
    o->files = files;
    o->n_files = n;
    o->against = against;
    o->n_against = n_against;
    return -1;
}

int main(int argc, char **argv) {
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    const char **against = calloc((size_t)argc + 1, sizeof *against);
    if (!files || !against) {
        free(files);
        free(against);
        return 1;
    }
    agg_compile_opts o = {0};
    o.outdir = ".";
    o.emit = AGG_EMIT_C | AGG_EMIT_SQL;
    o.diag_out = stderr;
    int rc = parse_args(argc, argv, &o, files, against);
    if (rc < 0) {
        const char *nc = getenv("NO_COLOR");
        const char *term = getenv("TERM");
        o.color = isatty(fileno(stderr)) && !(nc && *nc) &&
                  !(term && strcmp(term, "dumb") == 0);
        rc = agg_compile(&o);
    }
    free(files);
    free(against);
    return rc;
}
