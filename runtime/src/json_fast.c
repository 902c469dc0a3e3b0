/* json_fast.c - the fast path of inc_msg_from_text: one pass over the flat
 * JSON object of a message, driven by its descriptor, straight into the
 * struct (no jansson tree).
 *
 * Records (objects) and lists (arrays) are decoded here too, recursively
 * but never deeper than INC_JSON_MAX_DEPTH, lists growing by doubling and
 * never past INC_LIST_MAX_ITEMS elements.
 *
 * It only ever says "decoded" or "not mine": on any error, and on any input
 * it does not handle (very long numbers or keys, ...), it
 * frees what it allocated and inc_msg_from_text runs the jansson path from
 * scratch.  So every error (code, message, path, jansson's own line/column
 * text) is produced by the one strict decoder, and this file must only
 * accept what that decoder accepts, with the same result.  It follows
 * jansson 2.x's grammar (src/load.c) exactly for what it accepts: whitespace
 * is ' ', '\t', '\n', '\r'; strings are UTF-8 checked like jansson
 * (utf8_check_full: no overlongs, surrogates or code points past U+10FFFF),
 * raw control characters are refused, escapes are the JSON eight plus
 * \uXXXX with paired surrogates, \u0000 is refused; integers are exact
 * int64 (strtoll's range); reals go through strtod like jsonp_strtod and an
 * overflow to infinity is refused; a float field given an integer gets the
 * integer converted, as json_number_value does.  tests/runtime/
 * test_json_fast.c and the fuzz target decode every input both ways and
 * compare.
 *
 * Security note: the scanner never reads outside [text, text + len), writes
 * only through the descriptor's offsets and into fixed stack buffers whose
 * bounds are checked before every copy. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <incident/domain.h>

#include "internal.h"
#include "store_util.h"

#define FAST_MAX_FIELDS 256 /* messages with more fields use jansson */
#define FAST_WORDS (FAST_MAX_FIELDS / 64)
#define FAST_KEY_MAX 128    /* decoded bytes of a key, enum or timestamp */
#define FAST_NUM_MAX 64     /* bytes of a real number handed to strtod */

typedef struct fast_in {
    const unsigned char *p, *end;
} fast_in;

static inline void skip_ws(fast_in *in) {
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' ||
                               *in->p == '\r' || *in->p == '\t'))
        in->p++;
}

static inline int hex_val(unsigned c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

/* The value of 4 hex digits at s, or -1. */
static long hex4(const unsigned char *s) {
    long v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        int h = hex_val(s[i]);
        if (h < 0) return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* A string token: the raw bytes between the quotes, and whether they hold
 * escapes.  The syntax, raw control characters and UTF-8 are checked here;
 * what the escapes mean is checked by unescape(). */
typedef struct fast_str {
    const char *raw;
    size_t n;
    bool escaped;
} fast_str;

static bool scan_string(fast_in *in, fast_str *out) {
    const unsigned char *p = in->p + 1, *e = in->end; /* past the quote */
    out->raw = (const char *)p;
    out->escaped = false;
    for (;;) {
        unsigned c;
        if (p >= e) return false;
        c = *p;
        if (c == '"') break;
        if (c == '\\') {
            if (e - p < 2) return false;
            c = p[1];
            if (c == 'u') {
                if (e - p < 6 || hex4(p + 2) < 0) return false;
                p += 6;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' ||
                       c == 'f' || c == 'n' || c == 'r' || c == 't') {
                p += 2;
            } else {
                return false;
            }
            out->escaped = true;
        } else if (c < 0x20) {
            return false; /* jansson: "control character" */
        } else if (c < 0x80) {
            p++;
        } else {
            size_t k = incx_utf8_seq(p, (size_t)(e - p));
            if (k == 0) return false;
            p += k;
        }
    }
    out->n = (size_t)(p - (const unsigned char *)out->raw);
    in->p = p + 1;
    return true;
}

/* Decode the escapes of a scanned string into out (at least s->n bytes:
 * decoding never grows the text).  Refuses unpaired surrogates and \u0000,
 * as jansson does.  *outn: the decoded length. */
static bool unescape(const fast_str *s, char *out, size_t *outn) {
    const unsigned char *p = (const unsigned char *)s->raw, *e = p + s->n;
    unsigned char *o = (unsigned char *)out;
    while (p < e) {
        unsigned long v;
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++; /* scan_string checked the escape is complete */
        switch (*p) {
        case '"': case '\\': case '/': *o++ = *p; p++; continue;
        case 'b': *o++ = '\b'; p++; continue;
        case 'f': *o++ = '\f'; p++; continue;
        case 'n': *o++ = '\n'; p++; continue;
        case 'r': *o++ = '\r'; p++; continue;
        case 't': *o++ = '\t'; p++; continue;
        default: break; /* 'u' */
        }
        v = (unsigned long)hex4(p + 1);
        p += 5;
        if (v == 0) return false;
        if (v >= 0xD800 && v <= 0xDBFF) {
            unsigned long v2;
            if (e - p < 6 || p[0] != '\\' || p[1] != 'u') return false;
            v2 = (unsigned long)hex4(p + 2);
            if (v2 < 0xDC00 || v2 > 0xDFFF) return false;
            p += 6;
            v = 0x10000 + ((v - 0xD800) << 10) + (v2 - 0xDC00);
        } else if (v >= 0xDC00 && v <= 0xDFFF) {
            return false;
        }
        if (v < 0x80) {
            *o++ = (unsigned char)v;
        } else if (v < 0x800) {
            *o++ = (unsigned char)(0xC0 | (v >> 6));
            *o++ = (unsigned char)(0x80 | (v & 0x3F));
        } else if (v < 0x10000) {
            *o++ = (unsigned char)(0xE0 | (v >> 12));
            *o++ = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
            *o++ = (unsigned char)(0x80 | (v & 0x3F));
        } else {
            *o++ = (unsigned char)(0xF0 | (v >> 18));
            *o++ = (unsigned char)(0x80 | ((v >> 12) & 0x3F));
            *o++ = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
            *o++ = (unsigned char)(0x80 | (v & 0x3F));
        }
    }
    *outn = (size_t)(o - (unsigned char *)out);
    return true;
}

/* The decoded text of a short string in buf (NUL-terminated), or false when
 * it is too long for buf or its escapes are refused. */
static bool short_string(const fast_str *s, char *buf, size_t cap,
                         size_t *n) {
    if (s->n >= cap) return false;
    if (!s->escaped) {
        memcpy(buf, s->raw, s->n);
        *n = s->n;
    } else if (!unescape(s, buf, n)) {
        return false;
    }
    buf[*n] = '\0';
    return true;
}

/* A number token, JSON grammar exactly as jansson's lex_scan_number. */
typedef struct fast_num {
    const char *start;
    size_t n;
    bool is_int; /* no fraction, no exponent: jansson makes it an integer */
} fast_num;

static inline bool is_digit(unsigned c) { return c >= '0' && c <= '9'; }

static bool scan_number(fast_in *in, fast_num *out) {
    const unsigned char *p = in->p, *e = in->end;
    out->start = (const char *)p;
    out->is_int = true;
    if (p < e && *p == '-') p++;
    if (p >= e) return false;
    if (*p == '0') {
        p++;
        if (p < e && is_digit(*p)) return false;
    } else if (is_digit(*p)) {
        while (p < e && is_digit(*p)) p++;
    } else {
        return false;
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !is_digit(*p)) return false;
        while (p < e && is_digit(*p)) p++;
        out->is_int = false;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || !is_digit(*p)) return false;
        while (p < e && is_digit(*p)) p++;
        out->is_int = false;
    }
    out->n = (size_t)(p - (const unsigned char *)out->start);
    in->p = p;
    return true;
}

/* Exact int64 value of an integer token; false when strtoll would report
 * ERANGE (jansson's "too big integer"). */
static bool num_int64(const fast_num *num, int64_t *out) {
    const char *p = num->start, *e = p + num->n;
    bool neg = *p == '-';
    uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1u : INT64_MAX;
    if (neg) p++;
    for (; p < e; p++) {
        unsigned dg = (unsigned)(*p - '0');
        if (acc > (limit - dg) / 10) return false;
        acc = acc * 10 + dg;
    }
    if (!neg)
        *out = (int64_t)acc;
    else if (acc == (uint64_t)INT64_MAX + 1u)
        *out = INT64_MIN;
    else
        *out = -(int64_t)acc;
    return true;
}

/* json_number_value of the token: an integer converted, or strtod of the
 * text (what jsonp_strtod does, in the same locale) refusing infinity. */
static bool num_double(const fast_num *num, double *out) {
    char buf[FAST_NUM_MAX];
    char *end;
    if (num->is_int) {
        int64_t i;
        if (!num_int64(num, &i)) return false;
        *out = (double)i;
        return true;
    }
    if (num->n >= sizeof buf) return false;
    memcpy(buf, num->start, num->n);
    buf[num->n] = '\0';
    *out = strtod(buf, &end);
    /* A locale whose decimal point is not '.' stops strtod early: jansson
     * converts for it, so leave such input to jansson. */
    return end == buf + num->n && isfinite(*out);
}

/* The literal `word` (true/false/null) at in->p.  What follows is checked by
 * the caller (only whitespace, ',' or '}' may), as jansson's lexer, which
 * reads a whole run of letters, would reject anything else there. */
static bool scan_literal(fast_in *in, const char *word, size_t n) {
    if ((size_t)(in->end - in->p) < n || memcmp(in->p, word, n) != 0)
        return false;
    in->p += n;
    return true;
}

/* The field named key[0..n) (no NUL inside), starting the search at *hint:
 * messages are usually written in descriptor order. */
static size_t match_key(const inc_message_desc *d, const char *key, size_t n,
                        size_t *hint) {
    size_t i, nf = d->n_fields;
    if (n == 0) return SIZE_MAX;
    for (i = 0; i < nf; i++) {
        size_t j = *hint + i < nf ? *hint + i : *hint + i - nf;
        const char *name = d->fields[j].name;
        if (name[0] == key[0] && strncmp(name, key, n) == 0 &&
            name[n] == '\0') {
            *hint = j + 1 < nf ? j + 1 : 0;
            return j;
        }
    }
    return SIZE_MAX;
}

static bool fast_object(const inc_message_desc *d, void *msg, fast_in *in,
                        unsigned flags, unsigned depth);
static bool fast_list(const inc_vtype *t, void *p, fast_in *in,
                      unsigned depth);
static bool fast_container(const inc_vtype *t, void *p, fast_in *in,
                           unsigned depth);

/* Decode one non-null value of type t at in->p into p (`depth`: that of
 * the object or array holding it); false: not mine.  Inline for the
 * scalars; records and lists go through fast_container. */
/* always inlined: GCC would otherwise call it once per field, which the
 * recursion through records made it do (3% on bench_codec's decode). */
static inline __attribute__((always_inline)) bool
fast_value(const inc_vtype *t, void *p, fast_in *in, unsigned depth) {
    unsigned c = *in->p;
    switch (t->type) {
    case INC_TYPE_INT: {
        fast_num num;
        if (!(c == '-' || is_digit(c)) || !scan_number(in, &num) ||
            !num.is_int)
            return false;
        return num_int64(&num, p);
    }
    case INC_TYPE_FLOAT: {
        fast_num num;
        if (!(c == '-' || is_digit(c)) || !scan_number(in, &num))
            return false;
        return num_double(&num, p);
    }
    case INC_TYPE_BOOL:
        if (c == 't' && scan_literal(in, "true", 4)) {
            *(bool *)p = true;
            return true;
        }
        if (c == 'f' && scan_literal(in, "false", 5)) {
            *(bool *)p = false;
            return true;
        }
        return false;
    case INC_TYPE_STRING: {
        fast_str s;
        char *copy, **dst = p;
        size_t n;
        if (c != '"' || !scan_string(in, &s)) return false;
        if (!(copy = malloc(s.n + 1))) return false; /* jansson reports */
        if (!s.escaped) {
            memcpy(copy, s.raw, s.n);
            n = s.n;
        } else if (!unescape(&s, copy, &n)) {
            free(copy);
            return false;
        }
        copy[n] = '\0';
        free(*dst); /* the default, if any */
        *dst = copy;
        return true;
    }
    case INC_TYPE_TIMESTAMP: {
        fast_str s;
        char buf[FAST_KEY_MAX];
        size_t n;
        if (c != '"' || !scan_string(in, &s) ||
            !short_string(&s, buf, sizeof buf, &n))
            return false;
        return inc_timestamp_parse(buf, p) == 0;
    }
    case INC_TYPE_ENUM: {
        const inc_enum_desc *e = t->en;
        fast_str s;
        char buf[FAST_KEY_MAX];
        size_t n, i;
        if (c != '"' || !e || !scan_string(in, &s) ||
            !short_string(&s, buf, sizeof buf, &n))
            return false;
        for (i = 0; i < e->n_members; i++) {
            if (strlen(e->members[i]) == n &&
                memcmp(e->members[i], buf, n) == 0) {
                *(int *)p = (int)i;
                return true;
            }
        }
        return false;
    }
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST:
        return fast_container(t, p, in, depth);
    }
    return false;
}

static bool fast_container(const inc_vtype *t, void *p, fast_in *in,
                           unsigned depth) {
    unsigned c = *in->p;
    if (depth >= INC_JSON_MAX_DEPTH) return false;
    if (t->type == INC_TYPE_RECORD)
        return c == '{' && t->rec && fast_object(t->rec, p, in, 0, depth + 1);
    return c == '[' && t->list && fast_list(t, p, in, depth + 1);
}

/* The array at in->p into the (empty) list at p, growing it amortised;
 * false: not mine (p holds what was decoded, for the caller to free). */
static bool fast_list(const inc_vtype *t, void *p, fast_in *in,
                      unsigned depth) {
    inc_vtype et = inc_vtype_elem(t->list);
    size_t es = inc_vtype_size(et);
    bool opt = inc_list_elem_optional(t->list), ok = false;
    inc_list l = inc_list_get(p);
    if (!es || l.len) return false;
    in->p++; /* '[' */
    skip_ws(in);
    if (in->p < in->end && *in->p == ']') {
        in->p++;
        return true;
    }
    for (;;) {
        void *item;
        /* over INC_LIST_MAX_ITEMS: jansson's path reports it */
        if (in->p >= in->end || incx_list_grow(&l, es, opt) != 0) break;
        item = (char *)l.items + l.len * es;
        memset(item, 0, es);
        if (opt) l.has[l.len] = false;
        l.len++; /* owned by the list from here, decoded or not */
        if (*in->p == 'n') {
            if (!opt || !scan_literal(in, "null", 4)) break;
        } else {
            if (et.type == INC_TYPE_RECORD) inc_msg_init(et.rec, item);
            if (!fast_value(&et, item, in, depth)) break;
            if (opt) l.has[l.len - 1] = true;
        }
        skip_ws(in);
        if (in->p >= in->end) break;
        if (*in->p == ']') {
            in->p++;
            ok = true;
            break;
        }
        if (*in->p != ',') break;
        in->p++;
        skip_ws(in);
    }
    inc_list_put(p, &l);
    return ok;
}

/* The object at in->p, member by member; false: not mine (msg holds
 * partial results the caller frees). */
static bool fast_object(const inc_message_desc *d, void *msg, fast_in *in,
                        unsigned flags, unsigned depth) {
    bool skip = (flags & INC_JSON_SKIP_IMPLICIT) != 0;
    uint64_t seen[FAST_WORDS] = {0};
    size_t hint = 0, i;
    if (d->n_fields > FAST_MAX_FIELDS) return false;
    if (in->p >= in->end || *in->p != '{') return false;
    in->p++;
    skip_ws(in);
    if (in->p < in->end && *in->p == '}') {
        in->p++;
    } else {
        for (;;) {
            fast_str key;
            char kbuf[FAST_KEY_MAX];
            const char *k;
            size_t kn, fi;
            const inc_field_desc *f;
            inc_vtype t;
            void *p;
            bool *has;
            if (in->p >= in->end || *in->p != '"' || !scan_string(in, &key))
                return false;
            if (key.escaped) {
                if (!short_string(&key, kbuf, sizeof kbuf, &kn)) return false;
                k = kbuf;
            } else {
                k = key.raw;
                kn = key.n;
            }
            fi = match_key(d, k, kn, &hint);
            /* unknown field: an error, or with INC_JSON_IGNORE_UNKNOWN
             * (an older program reading a newer event, rare; in a record
             * too, whose fast_object gets no flags) skipped by the
             * jansson path, which also refuses it when duplicated */
            if (fi == SIZE_MAX) return false;
            f = &d->fields[fi];
            if (skip && (f->flags & INC_FIELD_IMPLICIT)) return false;
            if (seen[fi / 64] & ((uint64_t)1 << (fi % 64)))
                return false; /* duplicate */
            seen[fi / 64] |= (uint64_t)1 << (fi % 64);
            skip_ws(in);
            if (in->p >= in->end || *in->p != ':') return false;
            in->p++;
            skip_ws(in);
            if (in->p >= in->end) return false;
            has = inc_field_has_ptr(msg, f);
            t = inc_vtype_field(f);
            p = INC_FIELD_AT(msg, f, char);
            if (*in->p == 'n') {
                if (!(f->flags & INC_FIELD_OPTIONAL) ||
                    !scan_literal(in, "null", 4))
                    return false;
                /* An explicit null overrides a default. */
                if (f->type == INC_TYPE_STRING) {
                    free(*(char **)p);
                    *(char **)p = NULL;
                }
                if (has) *has = false;
            } else {
                /* An optional record starts absent (zero): its defaults
                 * first. */
                if (f->type == INC_TYPE_RECORD && t.rec &&
                    (f->flags & INC_FIELD_OPTIONAL))
                    inc_msg_init(t.rec, p);
                if (!fast_value(&t, p, in, depth)) return false;
                if (has) *has = true;
            }
            skip_ws(in);
            if (in->p >= in->end) return false;
            if (*in->p == '}') {
                in->p++;
                break;
            }
            if (*in->p != ',') return false;
            in->p++;
            skip_ws(in);
        }
    }
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        if (skip && (f->flags & INC_FIELD_IMPLICIT)) continue;
        if (!(seen[i / 64] & ((uint64_t)1 << (i % 64))) &&
            !(f->flags & (INC_FIELD_OPTIONAL | INC_FIELD_DEFAULTED)))
            return false; /* missing required field */
    }
    return true;
}

int incx_json_fast_decode(const inc_message_desc *d, void *msg,
                          const char *text, size_t len, unsigned flags) {
    fast_in in;
    if (!d || !msg || !text || d->n_fields > FAST_MAX_FIELDS) return -1;
    in.p = (const unsigned char *)text;
    in.end = in.p + len;
    inc_msg_init(d, msg);
    skip_ws(&in);
    if (fast_object(d, msg, &in, flags, 1)) {
        skip_ws(&in);
        if (in.p == in.end) return 0; /* else trailing garbage */
    }
    inc_msg_free(d, msg);
    return -1;
}
