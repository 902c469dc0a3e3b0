/* compile.h - the whole of aggc's work as one library call: read and parse
 * the .agg files, check them, generate the outputs asked for, write them
 * (all or none) and the depfile.  aggc.c is a thin shell over it that only
 * parses options and exits with its status.  The command line it serves is
 * described in docs/aggc.1. */
#ifndef AGGC_COMPILE_H
#define AGGC_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The outputs of one domain (bits of agg_compile_opts.emit). */
enum {
    AGG_EMIT_C = 1,    /* DIR/<domain>.h and DIR/<domain>.c */
    AGG_EMIT_SQL = 2,  /* DIR/<domain>.sql */
    AGG_EMIT_DOT = 4,  /* DIR/<domain>.dot */
    AGG_EMIT_STUBS = 8 /* DIR/<domain>_stubs.c, only if absent */
};

typedef struct agg_compile_opts {
    const char *const *files; /* the .agg files of one domain, as given */
    size_t n_files;
    const char *outdir;  /* created (with its parents) if missing; NULL = "." */
    unsigned emit;       /* AGG_EMIT_* bits */
    bool check_only;     /* parse and check; write nothing */
    const char *depfile; /* Make-style dependency file, or NULL */
    FILE *diag_out;      /* where diagnostics go (stderr for aggc) */
    bool color;          /* colour diagnostics */
    /* --against: the .agg files of the old domain; the new files must read
     * every event it could have stored (against.h) */
    const char *const *against;
    size_t n_against;
    bool werror;         /* warnings are errors (--Werror) */
} agg_compile_opts;

/* 0 on success; 1 after errors in the input or an output that could not
 * be written, every one reported on o->diag_out.  On failure no output is
 * left behind: every file is written to a temporary name first and renamed
 * into place only when all of them were written. */
int agg_compile(const agg_compile_opts *o);

#endif
