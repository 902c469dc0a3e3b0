/* diag.h - compiler diagnostics: `file:line:col: error: message`, the
 * source line, a caret under the column, `note:` lines for related places.
 *
 * Errors are printed as they are reported (in source order within a pass),
 * counted, and capped: after AGG_DIAG_MAX_ERRORS the rest are dropped and a
 * single "too many errors" line says so.  Colour only when asked (the CLI
 * decides: a terminal and no NO_COLOR). */
#ifndef AGGC_DIAG_H
#define AGGC_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ast.h"

#define AGG_DIAG_MAX_ERRORS 50

typedef struct agg_source {
    const char *path;
    const char *text; /* the whole file, NUL-terminated (NULs inside are
                         reported by the scanner) */
    size_t len;
    struct agg_source *next;
} agg_source;

typedef struct agg_diag {
    FILE *out;
    bool color;
    int errors;      /* reported, including dropped ones */
    bool capped;     /* the cap was hit and announced */
    bool last_shown; /* was the last error printed (notes follow it) */
    agg_source *sources;
    int warnings;    /* reported as warnings (not counted in errors) */
    bool werror;     /* --Werror: warnings are reported and counted as errors */
    /* Errors after which the parsed tree is still whole (a keyword used as
     * a field name: the field is left out), so the checker may run. */
    int recoverable;
} agg_diag;

void agg_diag_init(agg_diag *d, FILE *out, bool color);
/* Register a file's text so diagnostics can quote its lines.  The text must
 * outlive the diag. */
void agg_diag_add_source(agg_diag *d, agg_source *src);

void agg_error(agg_diag *d, agg_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* `file:line:col: warning: ...`: a likely mistake in a valid program;
 * an error (and counted as one) under --Werror. */
void agg_warning(agg_diag *d, agg_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A note attached to the previous error (dropped with it past the cap). */
void agg_note(agg_diag *d, agg_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error with no location ("aggc: cannot open ..."). */
void agg_error_plain(agg_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "aggc: N error(s)" if any (", M warning(s)" when there were). */
void agg_diag_summary(agg_diag *d);

#endif
