/* fuzz_agg.c - libFuzzer target: the .agg front end end to end.
 *
 * One input is one .agg file.  It goes through the scanner and parser
 * (agg_parse); when that is clean, through the checker
 * (agg_check_program, also after errors the tree survives whole, as
 * aggc does); when that is clean too, through the warnings and every
 * generator (header, source, SQL, dot, stubs) into in-memory sbufs, and
 * through `--against` with itself as the old version (which must find
 * nothing: a domain reads what it stores).  No files are
 * written.  Diagnostics go to /dev/null: what is checked is that no input
 * crashes, overflows, leaks or trips UBSan, and that a program the checker
 * accepts is accepted by every generator without a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "against.h"
#include "arena.h"
#include "check.h"
#include "diag.h"
#include "gen.h"
#include "parse.h"
#include "sbuf.h"
#include "warn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void) {
    static FILE *devnull; /* fuzz harness only: one sink for every run */
    if (!devnull) devnull = fopen("/dev/null", "w");
    if (!devnull) abort();
    return devnull;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The front end wants a NUL-terminated text (NULs inside are errors). */
    char *text = malloc(size + 1);
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = '\0';

    agg_arena arena;
    agg_arena_init(&arena);
    agg_diag diag;
    agg_diag_init(&diag, sink(), false);
    agg_source src = {"fuzz.agg", text, size, NULL};
    agg_diag_add_source(&diag, &src);
    agg_program prog;
    memset(&prog, 0, sizeof prog);
    prog.files = agg_parse(&arena, &diag, src.path, text, size);
    if (!prog.files) abort(); /* documented: never NULL */
    if (diag.errors == diag.recoverable && agg_check_program(&prog, &arena, &diag) &&
        diag.errors == 0) {
        agg_warn_program(&prog, &diag);
        agg_gen_opts o = {"fuzz.agg"};
        void (*gens[])(sbuf *, const agg_program *, agg_arena *,
                       const agg_gen_opts *) = {agg_gen_header, agg_gen_source,
                                                agg_gen_sql, agg_gen_dot,
                                                agg_gen_stubs};
        for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
            sbuf out;
            sb_init(&out);
            gens[i](&out, &prog, &arena, &o);
            /* every back end produces text for a checked program */
            if (!out.data || out.len == 0 || strlen(out.data) != out.len) abort();
            sb_free(&out);
        }
        agg_against(&prog, &prog, &arena, &diag);
        if (diag.errors != 0) abort();
    }
    agg_diag_summary(&diag);
    agg_arena_free(&arena);
    free(text);
    return 0;
}
