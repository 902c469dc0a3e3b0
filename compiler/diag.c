/* diag.c - see diag.h. */
#include "diag.h"

#include <stdarg.h>
#include <string.h>

#define C_BOLD "\033[1m"
#define C_RED "\033[1;31m"
#define C_CYAN "\033[1;36m"
#define C_GREEN "\033[1;32m"
#define C_MAGENTA "\033[1;35m"
#define C_RESET "\033[0m"

void agg_diag_init(agg_diag *d, FILE *out, bool color) {
    memset(d, 0, sizeof *d);
    d->out = out;
    d->color = color;
}

void agg_diag_add_source(agg_diag *d, agg_source *src) {
    src->next = d->sources;
    d->sources = src;
}

static const agg_source *find_source(const agg_diag *d, const char *path) {
    for (const agg_source *s = d->sources; s; s = s->next)
        if (path && strcmp(s->path, path) == 0) return s;
    return NULL;
}

/* Quote line `line` of the file and put a caret under column `col`.  Long
 * lines are cut around the column so a 100,000-character line stays
 * readable; control bytes print as spaces so the caret stays aligned. */
static void quote(agg_diag *d, agg_loc loc) {
    const agg_source *s = find_source(d, loc.file);
    if (!s || loc.line <= 0) return;
    const char *p = s->text, *end = s->text + s->len;
    for (int l = 1; l < loc.line && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return;
        p = nl + 1;
    }
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    size_t len = (size_t)(eol - p);
    size_t col = loc.col > 0 ? (size_t)loc.col - 1 : 0;
    if (col > len) col = len;
    size_t from = 0, to = len;
    const size_t width = 100;
    if (len > width) {
        from = col > width / 2 ? col - width / 2 : 0;
        to = from + width < len ? from + width : len;
    }
    fputs("  ", d->out);
    if (from > 0) fputs("...", d->out);
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)p[i];
        fputc(c == '\t' ? ' ' : (c < 0x20 || c == 0x7f ? ' ' : c), d->out);
    }
    if (to < len) fputs("...", d->out);
    fputs("\n  ", d->out);
    if (from > 0) fputs("   ", d->out);
    for (size_t i = from; i < col; i++) {
        /* continuation bytes of UTF-8 take no column on a terminal */
        if (((unsigned char)p[i] & 0xC0) != 0x80) fputc(' ', d->out);
    }
    fputs(d->color ? C_GREEN "^" C_RESET "\n" : "^\n", d->out);
}

static void emit(agg_diag *d, agg_loc loc, const char *kind, const char *kcolor,
                 const char *fmt, va_list ap) {
    if (d->color) fputs(C_BOLD, d->out);
    if (loc.file) fprintf(d->out, "%s:%d:%d: ", loc.file, loc.line, loc.col);
    if (d->color) fprintf(d->out, "%s%s:" C_RESET C_BOLD " ", kcolor, kind);
    else fprintf(d->out, "%s: ", kind);
    vfprintf(d->out, fmt, ap);
    if (d->color) fputs(C_RESET, d->out);
    fputc('\n', d->out);
    quote(d, loc);
}

void agg_error(agg_diag *d, agg_loc loc, const char *fmt, ...) {
    d->errors++;
    if (d->errors > AGG_DIAG_MAX_ERRORS) {
        d->last_shown = false;
        if (!d->capped) {
            d->capped = true;
            fprintf(d->out, "aggc: too many errors (stopping after %d)\n",
                    AGG_DIAG_MAX_ERRORS);
        }
        return;
    }
    d->last_shown = true;
    va_list ap;
    va_start(ap, fmt);
    emit(d, loc, "error", C_RED, fmt, ap);
    va_end(ap);
}

void agg_warning(agg_diag *d, agg_loc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (d->werror) {
        /* an error in every respect, the cap included */
        char msg[1024];
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        agg_error(d, loc, "%s [--Werror]", msg);
        return;
    }
    d->warnings++;
    d->last_shown = true;
    emit(d, loc, "warning", C_MAGENTA, fmt, ap);
    va_end(ap);
}

void agg_note(agg_diag *d, agg_loc loc, const char *fmt, ...) {
    if (!d->last_shown) return;
    va_list ap;
    va_start(ap, fmt);
    emit(d, loc, "note", C_CYAN, fmt, ap);
    va_end(ap);
}

void agg_error_plain(agg_diag *d, const char *fmt, ...) {
    d->errors++;
    d->last_shown = false;
    va_list ap;
    va_start(ap, fmt);
    fputs("aggc: ", d->out);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    va_end(ap);
}

void agg_diag_summary(agg_diag *d) {
    if (d->errors > 0 && d->warnings > 0)
        fprintf(d->out, "aggc: %d error%s, %d warning%s\n", d->errors,
                d->errors == 1 ? "" : "s", d->warnings, d->warnings == 1 ? "" : "s");
    else if (d->errors > 0)
        fprintf(d->out, "aggc: %d error%s\n", d->errors, d->errors == 1 ? "" : "s");
}
