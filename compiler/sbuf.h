/* sbuf.h - growable text buffer the generators write into; the whole
 * output is built in memory and written only after every pass succeeded. */
#ifndef AGGC_SBUF_H
#define AGGC_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *data;
    size_t len, cap;
} sbuf;

void sb_init(sbuf *b);
void sb_free(sbuf *b);
void sb_put(sbuf *b, const char *s);
void sb_putn(sbuf *b, const char *s, size_t n);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `depth` levels of four spaces, then printf. */
void sb_line(sbuf *b, int depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append a C string literal (quotes included) for `n` bytes of `s`. */
void sb_c_string(sbuf *b, const char *s, size_t n);
/* Append `s` with every line indented by `depth` more levels. */
void sb_indent(sbuf *b, const char *s, int depth);

#endif
