/* sbuf.c - see sbuf.h. */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(sbuf *b) {
    b->data = NULL;
    b->len = b->cap = 0;
}

void sb_free(sbuf *b) {
    free(b->data);
    sb_init(b);
}

static void reserve(sbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        fputs("aggc: out of memory\n", stderr);
        exit(1);
    }
    b->data = p;
    b->cap = cap;
}

void sb_putn(sbuf *b, const char *s, size_t n) {
    reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sb_put(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

/* Formats straight into the free space; only a text that does not fit is
 * formatted a second time, after growing (most of aggc's time is here). */
static void vprintf_sb(sbuf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    reserve(b, 0);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->data + b->len, room, fmt, ap);
    if (n > 0 && (size_t)n >= room) {
        reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    }
    if (n > 0) b->len += (size_t)n;
    b->data[b->len] = '\0';
    va_end(ap2);
}

void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf_sb(b, fmt, ap);
    va_end(ap);
}

void sb_line(sbuf *b, int depth, const char *fmt, ...) {
    for (int i = 0; i < depth; i++) sb_put(b, "    ");
    va_list ap;
    va_start(ap, fmt);
    vprintf_sb(b, fmt, ap);
    va_end(ap);
    sb_put(b, "\n");
}

void sb_c_string(sbuf *b, const char *s, size_t n) {
    sb_put(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': sb_put(b, "\\\""); break;
        case '\\': sb_put(b, "\\\\"); break;
        case '\n': sb_put(b, "\\n"); break;
        case '\t': sb_put(b, "\\t"); break;
        case '?': sb_put(b, "\\?"); break; /* no trigraphs */
        default:
            /* octal escapes: unlike \x they never swallow the next char */
            if (c < 0x20 || c >= 0x7f) sb_printf(b, "\\%03o", c);
            else sb_putn(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"");
}

void sb_indent(sbuf *b, const char *s, int depth) {
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        if (n > 0)
            for (int i = 0; i < depth; i++) sb_put(b, "    ");
        sb_putn(b, s, n);
        sb_put(b, "\n");
        s += n + (nl ? 1 : 0);
    }
}
