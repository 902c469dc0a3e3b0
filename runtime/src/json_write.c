/* json_write.c - inc_msg_to_text: a message straight to compact JSON text,
 * driven by its descriptor, without building a jansson tree.
 *
 * The output is byte for byte what json_dumps(inc_msg_to_json(d, msg,
 * flags), JSON_COMPACT) returns with jansson 2.x (tests/runtime/
 * test_json_write.c and the json fuzz target compare the two), so stored
 * event data and snapshots do not change whichever path wrote them.  That
 * means following msg_json.c's encoding rules and jansson's dump rules:
 *
 *   - members in descriptor order (jansson keeps insertion order), implicit
 *     fields left out under INC_JSON_SKIP_IMPLICIT, "," and ":" with no
 *     whitespace;
 *   - absent optionals, non-finite floats, timestamps outside the
 *     representable range and enum values outside the member list: null;
 *   - strings: '"' and '\\' escaped with a backslash, control characters
 *     below 0x20 as \b \f \n \r \t or else \u00XX with upper-case hex
 *     digits; '/' and DEL (0x7f) as they are, non-ASCII as raw UTF-8; a
 *     byte that does not start a valid UTF-8 sequence (the rules of
 *     incx_utf8_seq (store_util.c): no overlongs, surrogates or code points past
 *     U+10FFFF) becomes U+FFFD, as string_to_json does;
 *   - timestamps as inc_timestamp_format prints them (written here without
 *     snprintf; the tests compare every edge of its range);
 *   - integers as %lld (JSON_INTEGER_FORMAT);
 *   - reals as jansson's jsonp_dtostr: "%.17g" in the current locale, the
 *     locale's decimal point turned back into '.', ".0" appended when the
 *     text has neither '.' nor 'e', and in the exponent the character after
 *     'e' dropped unless it is '-' (glibc's '+') along with leading zeros.
 *     (A jansson built with DTOA_ENABLED, the newer shortest-round-trip
 *     printer in its source tree, writes reals differently: the
 *     differential test then fails and this function has to follow.)
 *
 * Field names and enum member names are escaped like any string.  Two
 * differences from the jansson path only a malformed descriptor can show:
 * a field name or enum member that is not valid UTF-8 makes inc_msg_to_json
 * fail (NULL) but is written here with U+FFFD, and a name that appears
 * twice in one descriptor is written twice here where jansson keeps one
 * member (the later value at the earlier position).  aggc emits neither.
 *
 * Records are objects of their fields, lists arrays of their elements
 * (null for a null element of a list<T?>), both written as jansson would
 * write the tree value_to_json builds.
 *
 * No global mutable state: the one table below is const. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/domain.h>

#include "internal.h"
#include "store_util.h"

/* ---- growable output buffer --------------------------------------------- */

typedef struct wbuf {
    char *p;
    size_t n;   /* bytes written */
    size_t cap; /* bytes allocated; n < cap always (room for the NUL) */
} wbuf;

/* Make room for `extra` more bytes plus the final NUL; false on OOM. */
static bool wb_grow(wbuf *b, size_t extra) {
    size_t need, cap;
    char *p;
    if (extra > SIZE_MAX - 1 - b->n) return false;
    need = b->n + extra + 1;
    cap = b->cap;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (!(p = realloc(b->p, cap))) return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static inline bool wb_reserve(wbuf *b, size_t extra) {
    return b->cap - b->n > extra || wb_grow(b, extra);
}

static inline bool wb_put(wbuf *b, const char *s, size_t n) {
    if (!wb_reserve(b, n)) return false;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return true;
}

static inline bool wb_putc(wbuf *b, char c) {
    if (!wb_reserve(b, 1)) return false;
    b->p[b->n++] = c;
    return true;
}

/* ---- strings ------------------------------------------------------------ */

/* What a byte needs inside a string literal: 0 nothing (printable ASCII,
 * '/' and DEL included), 1 an escape, 2 a UTF-8 check (lead >= 0x80). */
static const unsigned char byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* s[0..n) as a JSON string literal, quotes included. */
static bool put_string(wbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    /* the usual case in one go: nothing to escape, valid UTF-8 */
    if (!wb_reserve(b, n + 2)) return false;
    b->p[b->n++] = '"';
    while (p < e) {
        const unsigned char *run = p;
        unsigned c;
        size_t k = 0;
        /* the longest run that is copied as it is */
        while (p < e) {
            unsigned cls = byte_class[*p];
            if (cls == 0) {
                p++;
            } else if (cls == 2 && (k = incx_utf8_seq(p, (size_t)(e - p))) != 0) {
                p += k;
            } else {
                break;
            }
        }
        if (p > run && !wb_put(b, (const char *)run, (size_t)(p - run)))
            return false;
        if (p == e) break;
        c = *p++;
        if (c >= 0x80) { /* not valid UTF-8: U+FFFD for this byte */
            if (!wb_put(b, "\xEF\xBF\xBD", 3)) return false;
            continue;
        }
        if (!wb_reserve(b, 6)) return false;
        b->p[b->n++] = '\\';
        switch (c) {
        case '"': b->p[b->n++] = '"'; break;
        case '\\': b->p[b->n++] = '\\'; break;
        case '\b': b->p[b->n++] = 'b'; break;
        case '\f': b->p[b->n++] = 'f'; break;
        case '\n': b->p[b->n++] = 'n'; break;
        case '\r': b->p[b->n++] = 'r'; break;
        case '\t': b->p[b->n++] = 't'; break;
        default: /* the other control characters: \u00XX */
            b->p[b->n++] = 'u';
            b->p[b->n++] = '0';
            b->p[b->n++] = '0';
            b->p[b->n++] = hex[c >> 4];
            b->p[b->n++] = hex[c & 0xF];
            break;
        }
    }
    return wb_putc(b, '"');
}

static inline bool put_cstring(wbuf *b, const char *s) {
    return put_string(b, s, strlen(s));
}

/* ---- numbers ------------------------------------------------------------ */

/* %lld without printf. */
static bool put_int(wbuf *b, int64_t v) {
    char tmp[24], *q = tmp + sizeof tmp;
    uint64_t u = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--q = '-';
    return wb_put(b, q, (size_t)(tmp + sizeof tmp - q));
}

static inline bool is_number_char(char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e';
}

/* A finite double as jansson's dump writes a real. */
static bool put_real(wbuf *b, double v) {
    char tmp[64], out[72];
    size_t i, o = 0;
    int r = snprintf(tmp, sizeof tmp, "%.17g", v);
    bool has_dot, has_exp;
    if (r < 0 || (size_t)r >= sizeof tmp) return false; /* jansson fails too */
    /* The locale's decimal point, if not '.', back to '.': in %g output of
     * a finite value it is the first byte that is not a digit, sign or 'e'
     * (jansson replaces the first byte of the locale's decimal point). */
    for (i = 0; tmp[i]; i++) {
        if (!is_number_char(tmp[i])) {
            tmp[i] = '.';
            break;
        }
    }
    has_dot = strchr(tmp, '.') != NULL;
    has_exp = strchr(tmp, 'e') != NULL;
    for (i = 0; tmp[i]; i++) {
        out[o++] = tmp[i];
        if (tmp[i] == 'e') {
            /* exponent: "-" kept, anything else there ('+') dropped; then
             * its leading zeros dropped */
            i++;
            if (tmp[i] == '-') out[o++] = '-';
            if (tmp[i]) i++;
            while (tmp[i] == '0') i++;
            while (tmp[i]) out[o++] = tmp[i++];
            break;
        }
    }
    if (!has_dot && !has_exp) { /* "1" would read back as an integer */
        out[o++] = '.';
        out[o++] = '0';
    }
    return wb_put(b, out, o);
}

/* ---- timestamps --------------------------------------------------------- */

/* `width` decimal digits of v (zero-padded) at o. */
static void digits(char *o, unsigned width, unsigned v) {
    while (width--) {
        o[width] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* What inc_timestamp_format writes, quoted, without snprintf; null when it
 * refuses the value (outside years 0000..9999, its representable range). */
static bool put_timestamp(wbuf *b, inc_timestamp ts) {
    const int64_t us_per_day = INT64_C(86400000000);
    int64_t day = ts / us_per_day, us = ts % us_per_day, y;
    unsigned m, d, secs;
    char *o;
    if (us < 0) { /* floor division */
        us += us_per_day;
        day--;
    }
    incx_civil_from_days(day, &y, &m, &d);
    if (y < 0 || y > 9999) return wb_put(b, "null", 4);
    if (!wb_reserve(b, 29)) return false;
    o = b->p + b->n; /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
    secs = (unsigned)(us / 1000000);
    o[0] = '"';
    digits(o + 1, 4, (unsigned)y);
    o[5] = '-';
    digits(o + 6, 2, m);
    o[8] = '-';
    digits(o + 9, 2, d);
    o[11] = 'T';
    digits(o + 12, 2, secs / 3600);
    o[14] = ':';
    digits(o + 15, 2, secs / 60 % 60);
    o[17] = ':';
    digits(o + 18, 2, secs % 60);
    o[20] = '.';
    digits(o + 21, 6, (unsigned)(us % 1000000));
    o[27] = 'Z';
    o[28] = '"';
    b->n += 29;
    return true;
}

/* ---- messages ----------------------------------------------------------- */

static bool put_fields(wbuf *b, const inc_message_desc *d, const void *msg,
                       bool skip);
static bool put_container(wbuf *b, const inc_vtype *t, const void *p);

/* One value, as value_to_json (msg_json.c) encodes it.  Inline for the
 * scalars (the common case: one call per message, not per field, which
 * GCC would otherwise make of the recursion); records and lists go
 * through put_container. */
static inline __attribute__((always_inline)) bool
put_val(wbuf *b, const inc_vtype *t, const void *p) {
    switch (t->type) {
    case INC_TYPE_INT:
        return put_int(b, *(const int64_t *)p);
    case INC_TYPE_FLOAT: {
        double v = *(const double *)p;
        return isfinite(v) ? put_real(b, v) : wb_put(b, "null", 4);
    }
    case INC_TYPE_BOOL:
        return *(const bool *)p ? wb_put(b, "true", 4) : wb_put(b, "false", 5);
    case INC_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return s ? put_cstring(b, s) : wb_put(b, "null", 4);
    }
    case INC_TYPE_TIMESTAMP:
        return put_timestamp(b, *(const int64_t *)p);
    case INC_TYPE_ENUM: {
        int v = *(const int *)p;
        if (!t->en || v < 0 || (size_t)v >= t->en->n_members)
            return wb_put(b, "null", 4);
        return put_cstring(b, t->en->members[v]);
    }
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST:
        return put_container(b, t, p);
    }
    return wb_put(b, "null", 4);
}

static bool put_container(wbuf *b, const inc_vtype *t, const void *p) {
    if (t->type == INC_TYPE_RECORD) {
        if (!t->rec) return wb_put(b, "null", 4);
        return put_fields(b, t->rec, p, false);
    } else {
        inc_list l = inc_list_get(p);
        inc_vtype et;
        size_t es, i;
        bool opt;
        if (!t->list) return wb_put(b, "null", 4);
        et = inc_vtype_elem(t->list);
        es = inc_vtype_size(et);
        opt = inc_list_elem_optional(t->list);
        if (!wb_putc(b, '[')) return false;
        for (i = 0; es && l.items && i < l.len; i++) {
            if (i && !wb_putc(b, ',')) return false;
            if (opt && l.has && !l.has[i]) {
                if (!wb_put(b, "null", 4)) return false;
            } else if (!put_val(b, &et, (const char *)l.items + i * es)) {
                return false;
            }
        }
        return wb_putc(b, ']');
    }
}

/* One field's value, as field_to_json encodes it. */
static inline bool put_value(wbuf *b, const inc_field_desc *f,
                             const void *msg) {
    inc_vtype t;
    if (!inc_field_present(msg, f)) return wb_put(b, "null", 4);
    t = inc_vtype_field(f);
    return put_val(b, &t, INC_CFIELD_AT(msg, f, char));
}

/* An object of d's fields, in descriptor order. */
static bool put_fields(wbuf *b, const inc_message_desc *d, const void *msg,
                       bool skip) {
    bool first = true;
    size_t i;
    if (!wb_putc(b, '{')) return false;
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        if (skip && (f->flags & INC_FIELD_IMPLICIT)) continue;
        if ((!first && !wb_putc(b, ',')) || !put_cstring(b, f->name) ||
            !wb_putc(b, ':') || !put_value(b, f, msg))
            return false;
        first = false;
    }
    return wb_putc(b, '}');
}

char *inc_msg_to_text(const inc_message_desc *d, const void *msg,
                      unsigned flags, size_t *len) {
    bool skip = (flags & INC_JSON_SKIP_IMPLICIT) != 0;
    wbuf b = {NULL, 0, 0};
    /* a guess that holds most messages without a realloc */
    b.cap = 64 + 32 * (d->n_fields < 1024 ? d->n_fields : 1024);
    if (!(b.p = malloc(b.cap))) return NULL;
    if (!put_fields(&b, d, msg, skip)) {
        free(b.p);
        return NULL;
    }
    b.p[b.n] = '\0';
    if (len) *len = b.n;
    return b.p;
}

/* One field's value alone (a record or list column's jsonb text). */
char *incx_field_to_text(const inc_field_desc *f, const void *msg) {
    wbuf b = {NULL, 0, 0};
    b.cap = 64;
    if (!(b.p = malloc(b.cap))) return NULL;
    if (!put_value(&b, f, msg)) {
        free(b.p);
        return NULL;
    }
    b.p[b.n] = '\0';
    return b.p;
}
