/* msg_json.c - JSON encoding and strict decoding of generated messages.
 *
 * Encoding follows docs/language.md section 3.4 (types and their JSON).
 * Decoding is strict: unknown, duplicate, missing-required and ill-typed
 * fields are INC_ERR_INVALID errors whose message starts with the JSON path
 * of the offending value, and a failed decode frees everything it
 * allocated and leaves the message in its inc_msg_init state.
 *
 * Security note: decoding hostile input is safe.  Every string copied into an
 * error is length-capped and escaped, jansson limits nesting depth, and no
 * input can make this code read or write outside the message struct that the
 * descriptor describes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <incident/domain.h>

#include "internal.h"
#include "store_util.h"

#define PATH_MAX_LEN 160  /* bytes of a JSON path quoted in an error */
#define VALUE_MAX_LEN 80  /* bytes of a bad input value quoted in an error */

/* ---- small text helpers ------------------------------------------------- */

/* Append `s` (n bytes) to buf as the body of a JSON string literal, stopping
 * at `max` input bytes (then "..." is appended).  buf is always
 * NUL-terminated; `*used` is its current length. */
static void append_escaped(char *buf, size_t cap, size_t *used, const char *s,
                           size_t n, size_t max) {
    size_t i = 0;
    while (i < n && *used + 8 < cap) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t k;
        if (i >= max) {
            *used += (size_t)snprintf(buf + *used, cap - *used, "...");
            break;
        }
        if (*u == '"' || *u == '\\') {
            buf[(*used)++] = '\\';
            buf[(*used)++] = (char)*u;
            i++;
        } else if (*u < 0x20 || *u == 0x7F) {
            *used += (size_t)snprintf(buf + *used, cap - *used, "\\u%04x", *u);
            i++;
        } else if ((k = incx_utf8_seq(u, n - i)) == 0) {
            *used += (size_t)snprintf(buf + *used, cap - *used, "\\x%02x", *u);
            i++;
        } else {
            memcpy(buf + *used, u, k);
            *used += k;
            i += k;
        }
    }
    buf[*used] = '\0';
}

static bool is_identifier(const char *s, size_t n) {
    size_t i;
    if (n == 0) return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

/* Append one member step: ".key", or ["key"] when the key is not an
 * identifier.  `raw` says the key is still JSON-escaped source text. */
static void append_key(char *buf, size_t cap, size_t *used, const char *key,
                       size_t n, bool raw) {
    if (*used + 8 >= cap) return;
    if (is_identifier(key, n) && *used + n + 2 < cap) {
        buf[(*used)++] = '.';
        memcpy(buf + *used, key, n);
        *used += n;
        buf[*used] = '\0';
        return;
    }
    buf[(*used)++] = '[';
    buf[(*used)++] = '"';
    if (raw) {
        size_t k = n < cap - *used - 4 ? n : cap - *used - 4;
        memcpy(buf + *used, key, k);
        *used += k;
    } else {
        append_escaped(buf, cap - 3, used, key, n, 48);
    }
    buf[(*used)++] = '"';
    buf[(*used)++] = ']';
    buf[*used] = '\0';
}

/* The JSON path of the value being read at byte `pos` of `text`: jansson
 * reports duplicate keys and numeric overflow by position only.  The text
 * before `pos` has already been accepted by jansson, so this scanner only
 * tracks structure: open containers, their current key or index. */
#define SCAN_DEPTH (INC_JSON_MAX_DEPTH + 1)
static void text_path(char *buf, size_t cap, const char *text, size_t len,
                      size_t pos) {
    struct {
        char kind;
        bool expect_key;
        size_t index;
        const char *key;
        size_t klen;
    } st[SCAN_DEPTH];
    size_t depth = 0, i, used = 1; /* depth counts beyond SCAN_DEPTH too */
    if (pos > len) pos = len;
    for (i = 0; i < pos; i++) {
        char c = text[i];
        if (c == '"') {
            size_t start = ++i;
            while (i < pos && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
            if (depth > 0 && depth <= SCAN_DEPTH &&
                st[depth - 1].kind == '{' && st[depth - 1].expect_key) {
                st[depth - 1].key = text + start;
                st[depth - 1].klen = (i < pos ? i : pos) - start;
            }
        } else if (c == '{' || c == '[') {
            if (depth < SCAN_DEPTH) {
                st[depth].kind = c;
                st[depth].expect_key = c == '{';
                st[depth].index = 0;
                st[depth].key = NULL;
                st[depth].klen = 0;
            }
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        } else if (depth > 0 && depth <= SCAN_DEPTH) {
            if (c == ':') {
                st[depth - 1].expect_key = false;
            } else if (c == ',') {
                if (st[depth - 1].kind == '{') {
                    st[depth - 1].expect_key = true;
                    st[depth - 1].key = NULL;
                } else {
                    st[depth - 1].index++;
                }
            }
        }
    }
    buf[0] = '$';
    buf[1] = '\0';
    for (i = 0; i < depth && i < SCAN_DEPTH; i++) {
        if (st[i].kind == '{') {
            if (st[i].key)
                append_key(buf, cap, &used, st[i].key, st[i].klen, true);
        } else if (used + 24 < cap) {
            used += (size_t)snprintf(buf + used, cap - used, "[%zu]",
                                     st[i].index);
        }
    }
}

static const char *json_kind(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

/* ---- encoding ----------------------------------------------------------- */

/* A string that is not valid UTF-8 (hand-written code can produce one) is
 * encoded with U+FFFD for each bad byte rather than failing the whole
 * encode; inc_msg_validate rejects such strings before they are stored. */
static json_t *string_to_json(const char *s) {
    size_t n = strlen(s), i, o = 0;
    char *fixed;
    json_t *j;
    /* jansson validates UTF-8 exactly as incx_utf8_seq does (no overlongs,
     * surrogates or code points past U+10FFFF): try it first, so valid
     * text (the usual case) is scanned once. */
    if ((j = json_stringn(s, n)) != NULL) return j;
    if (n > (SIZE_MAX - 1) / 3 || !(fixed = malloc(n * 3 + 1))) return NULL;
    for (i = 0; i < n;) {
        size_t k = incx_utf8_seq((const unsigned char *)s + i, n - i);
        if (k == 0) {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(fixed + o, s + i, k);
            o += k;
            i += k;
        }
    }
    j = json_stringn(fixed, o);
    free(fixed);
    return j;
}

static json_t *record_to_json(const inc_message_desc *d, const void *msg,
                              unsigned flags);

/* Values JSON cannot carry (NaN, out-of-range timestamps and enum values)
 * are written as null; inc_msg_validate rejects them. */
static json_t *value_to_json(inc_vtype t, const void *p) {
    switch (t.type) {
    case INC_TYPE_INT:
        return json_integer((json_int_t)*(const int64_t *)p);
    case INC_TYPE_FLOAT: {
        double v = *(const double *)p;
        return isfinite(v) ? json_real(v) : json_null();
    }
    case INC_TYPE_BOOL:
        return json_boolean(*(const bool *)p);
    case INC_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return s ? string_to_json(s) : json_null();
    }
    case INC_TYPE_TIMESTAMP: {
        char buf[INC_TIMESTAMP_TEXT_MAX];
        if (inc_timestamp_format(*(const int64_t *)p, buf) != 0)
            return json_null();
        return json_string(buf);
    }
    case INC_TYPE_ENUM: {
        int v = *(const int *)p;
        if (!t.en || v < 0 || (size_t)v >= t.en->n_members)
            return json_null();
        return json_string(t.en->members[v]);
    }
    case INC_TYPE_RECORD:
        return t.rec ? record_to_json(t.rec, p, 0) : json_null();
    case INC_TYPE_LIST: {
        inc_list l = inc_list_get(p);
        inc_vtype et;
        size_t es, i;
        bool opt;
        json_t *arr;
        if (!t.list) return json_null();
        et = inc_vtype_elem(t.list);
        es = inc_vtype_size(et);
        opt = inc_list_elem_optional(t.list);
        if (!(arr = json_array())) return NULL;
        for (i = 0; es && l.items && i < l.len; i++) {
            json_t *v = opt && l.has && !l.has[i]
                            ? json_null()
                            : value_to_json(et, (const char *)l.items + i * es);
            /* append_new steals v even when it fails. */
            if (!v || json_array_append_new(arr, v) != 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    }
    return json_null();
}

static json_t *field_to_json(const inc_field_desc *f, const void *msg) {
    if (!inc_field_present(msg, f)) return json_null();
    return value_to_json(inc_vtype_field(f), INC_CFIELD_AT(msg, f, char));
}

static json_t *record_to_json(const inc_message_desc *d, const void *msg,
                              unsigned flags) {
    json_t *obj = json_object();
    size_t i;
    if (!obj) return NULL;
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        json_t *v;
        if ((flags & INC_JSON_SKIP_IMPLICIT) && (f->flags & INC_FIELD_IMPLICIT))
            continue;
        v = field_to_json(f, msg);
        /* set_new steals v even when it fails. */
        if (!v || json_object_set_new(obj, f->name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *inc_msg_to_json(const inc_message_desc *d, const void *msg,
                        unsigned flags) {
    return record_to_json(d, msg, flags);
}

/* ---- decoding ----------------------------------------------------------- */

/* The JSON path of the value being decoded, grown and cut back as the
 * decoder walks down ("$", "$.lines", "$.lines[2]", "$.lines[2].qty");
 * cut at PATH_MAX_LEN bytes. */
typedef struct jpath {
    char buf[PATH_MAX_LEN];
    size_t used;
    /* INC_JSON_IGNORE_UNKNOWN of the whole decode, for the records inside
     * (the path goes everywhere the decode does) */
    unsigned record_flags;
} jpath;

/* ".name" for a descriptor's field name (an identifier) without snprintf:
 * this runs for every field decoded.  Returns the length to pop back to. */
static size_t jp_field(jpath *p, const char *name) {
    size_t old = p->used, n = strlen(name);
    if (old + 2 < sizeof p->buf) {
        if (n > sizeof p->buf - 2 - old) n = sizeof p->buf - 2 - old;
        p->buf[p->used++] = '.';
        memcpy(p->buf + p->used, name, n);
        p->used += n;
        p->buf[p->used] = '\0';
    }
    return old;
}

static size_t jp_index(jpath *p, size_t i) {
    size_t old = p->used;
    if (old + 24 < sizeof p->buf)
        p->used += (size_t)snprintf(p->buf + old, sizeof p->buf - old, "[%zu]",
                                    i);
    return old;
}

static void jp_pop(jpath *p, size_t old) {
    p->used = old;
    p->buf[old] = '\0';
}

/* What a value must be, for "expected X, got Y". */
static const char *expected_kind(inc_vtype t, char *buf, size_t cap) {
    switch (t.type) {
    case INC_TYPE_INT: return "integer";
    case INC_TYPE_FLOAT: return "number";
    case INC_TYPE_BOOL: return "boolean";
    case INC_TYPE_STRING: return "string";
    case INC_TYPE_TIMESTAMP: return "timestamp string";
    case INC_TYPE_ENUM:
        snprintf(buf, cap, "%s member name (string)",
                 t.en ? t.en->name : "enum");
        return buf;
    case INC_TYPE_RECORD:
        snprintf(buf, cap, "%s object", t.rec ? t.rec->name : "record");
        return buf;
    case INC_TYPE_LIST: return "array";
    }
    return "value";
}

static int wrong_type(inc_error *err, const char *path, inc_vtype t,
                      const json_t *v) {
    char buf[96];
    return inc_error_set(err, INC_ERR_INVALID, "wrong_type",
                         "%s: expected %s, got %s", path,
                         expected_kind(t, buf, sizeof buf), json_kind(v));
}

static int bad_string_value(inc_error *err, const char *path,
                            const char *what, const json_t *v,
                            const char *hint) {
    char quoted[VALUE_MAX_LEN * 6 + 8];
    size_t used = 0;
    append_escaped(quoted, sizeof quoted, &used, json_string_value(v),
                   json_string_length(v), VALUE_MAX_LEN);
    return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                         "%s: %s \"%s\" (%s)", path, what, quoted, hint);
}

static int decode_enum(const inc_enum_desc *e, int *out, const json_t *v,
                       const char *path, inc_error *err) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), i, used = 0;
    char expected[INC_ERROR_MESSAGE_MAX], what[96];
    for (i = 0; e && i < e->n_members; i++) {
        if (strlen(e->members[i]) == n && memcmp(e->members[i], s, n) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    used = (size_t)snprintf(expected, sizeof expected, "expected one of ");
    for (i = 0; e && i < e->n_members && used < sizeof expected; i++)
        used += (size_t)snprintf(expected + used, sizeof expected - used,
                                 "%s%s", i ? ", " : "", e->members[i]);
    snprintf(what, sizeof what, "unknown %s member", e ? e->name : "enum");
    return bad_string_value(err, path, what, v, expected);
}

static int decode_object(const inc_message_desc *d, void *msg,
                         const json_t *json, unsigned flags, jpath *path,
                         unsigned depth, inc_error *err);

static int decode_value(inc_vtype t, void *p, const json_t *v, jpath *path,
                        unsigned depth, inc_error *err);

static int bad_descriptor(inc_error *err, const char *path) {
    return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                         "%s: record or list field without its descriptor",
                         path);
}

/* A container (record or list) one level below `depth`. */
static int too_deep(inc_error *err, const char *path) {
    return inc_error_set(err, INC_ERR_INVALID, "too_deep",
                         "%s: nested deeper than %d levels", path,
                         INC_JSON_MAX_DEPTH);
}

static int decode_list(inc_vtype t, void *p, const json_t *v, jpath *path,
                       unsigned depth, inc_error *err) {
    inc_list l = {0, 0, NULL, NULL};
    inc_vtype et;
    size_t n = json_array_size(v), es, i;
    bool opt;
    if (!t.list) return bad_descriptor(err, path->buf);
    et = inc_vtype_elem(t.list);
    if (!(es = inc_vtype_size(et))) return bad_descriptor(err, path->buf);
    opt = inc_list_elem_optional(t.list);
    if (n > INC_LIST_MAX_ITEMS)
        return inc_error_set(err, INC_ERR_INVALID, "too_long",
                             "%s: more than %zu elements", path->buf,
                             INC_LIST_MAX_ITEMS);
    incx_value_free(t, p); /* nothing, unless a caller decodes twice */
    if (n == 0) return 0;
    /* n <= INC_LIST_MAX_ITEMS and es is a struct size: no overflow */
    l.items = malloc(n * es);
    l.has = opt ? malloc(n * sizeof *l.has) : NULL;
    if (!l.items || (opt && !l.has)) {
        free(l.items);
        free(l.has);
        return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                             "%s: out of memory", path->buf);
    }

    l.cap = n;
    for (i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        void *item = (char *)l.items + i * es;
        size_t old = jp_index(path, i);
        int rc = 0;
        /* the element belongs to the list before it is decoded, so that
         * a failure frees what it holds (zeroed one by one: GCC turns
         * malloc + memset of the whole array into calloc, which the
         * allocation-failure tests cannot see) */
        memset(item, 0, es);
        if (opt) l.has[i] = false;
        l.len = i + 1;
        inc_list_put(p, &l);
        if (json_is_null(e)) {
            if (!opt) rc = wrong_type(err, path->buf, et, e);
        } else {
            if (et.type == INC_TYPE_RECORD) inc_msg_init(et.rec, item);
            rc = decode_value(et, item, e, path, depth, err);
            if (opt) l.has[i] = true;
        }
        if (rc != 0) return -1;
        jp_pop(path, old);
    }
    return 0;
}

/* Decode one non-null JSON value `v` of type t into p; `depth` is the
 * depth of the object or array holding it. */
static int decode_value(inc_vtype t, void *p, const json_t *v, jpath *path,
                        unsigned depth, inc_error *err) {
    switch (t.type) {
    case INC_TYPE_INT:
        if (!json_is_integer(v)) return wrong_type(err, path->buf, t, v);
        *(int64_t *)p = (int64_t)json_integer_value(v);
        return 0;
    case INC_TYPE_FLOAT:
        if (!json_is_number(v)) return wrong_type(err, path->buf, t, v);
        *(double *)p = json_number_value(v);
        return 0;
    case INC_TYPE_BOOL:
        if (!json_is_boolean(v)) return wrong_type(err, path->buf, t, v);
        *(bool *)p = json_is_true(v);
        return 0;
    case INC_TYPE_STRING: {
        char **dst = p, *copy;
        if (!json_is_string(v)) return wrong_type(err, path->buf, t, v);
        /* Possible in a json_t built with json_stringn; C strings cannot
         * hold it. */
        if (strlen(json_string_value(v)) != json_string_length(v))
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: string contains a NUL character",
                                 path->buf);
        if (!(copy = inc_strdup(json_string_value(v))))
            return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                                 "%s: out of memory", path->buf);
        free(*dst); /* the default, if any */
        *dst = copy;
        return 0;
    }
    case INC_TYPE_TIMESTAMP: {
        const char *s = json_string_value(v);
        if (!json_is_string(v))
            return wrong_type(err, path->buf, t, v);
        if (strlen(s) != json_string_length(v) ||
            inc_timestamp_parse(s, p) != 0)
            return bad_string_value(
                err, path->buf, "invalid timestamp", v,
                "expected RFC 3339, e.g. 2026-11-26T10:00:00Z");
        return 0;
    }
    case INC_TYPE_ENUM:
        if (!json_is_string(v)) return wrong_type(err, path->buf, t, v);
        return decode_enum(t.en, p, v, path->buf, err);
    case INC_TYPE_RECORD:
        if (!t.rec) return bad_descriptor(err, path->buf);
        if (!json_is_object(v)) return wrong_type(err, path->buf, t, v);
        if (depth >= INC_JSON_MAX_DEPTH) return too_deep(err, path->buf);
        return decode_object(t.rec, p, v, path->record_flags, path, depth + 1,
                             err);
    case INC_TYPE_LIST:
        if (!json_is_array(v)) return wrong_type(err, path->buf, t, v);
        if (depth >= INC_JSON_MAX_DEPTH) return too_deep(err, path->buf);
        return decode_list(t, p, v, path, depth + 1, err);
    }
    return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                         "%s: field type %d unknown", path->buf, (int)t.type);
}

/* The members of `json` into the fields of d at msg (initialised). */
static int decode_object(const inc_message_desc *d, void *msg,
                         const json_t *json, unsigned flags, jpath *path,
                         unsigned depth, inc_error *err) {
    bool skip = (flags & INC_JSON_SKIP_IMPLICIT) != 0;
    void *it;
    size_t i;
    /* Unknown keys first, in input order, so the error names the key the
     * caller actually wrote. jansson's iterator API is not const-clean.
     * Tolerant reads skip them (an implicit field in event data stays an
     * error: it is never a field added later). */
    for (it = json_object_iter((json_t *)json); it;
         it = json_object_iter_next((json_t *)json, it)) {
        const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
        /* Keys with an embedded NUL (json_object_setn) match no field. */
        size_t klen = json_object_iter_key_len(it);
#else
        size_t klen = strlen(key);
#endif
        const inc_field_desc *f =
            strlen(key) == klen ? incx_field_find(d, key) : NULL;
        if (!f && (flags & INC_JSON_IGNORE_UNKNOWN)) continue;
        if (!f || (skip && (f->flags & INC_FIELD_IMPLICIT))) {
            append_key(path->buf, sizeof path->buf, &path->used, key, klen,
                       false);
            return inc_error_set(err, INC_ERR_INVALID, "unknown_field",
                                 "%s: unknown field", path->buf);
        }
    }
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        bool optional = (f->flags & INC_FIELD_OPTIONAL) != 0;
        const json_t *v;
        bool *has = inc_field_has_ptr(msg, f);
        void *p = INC_FIELD_AT(msg, f, char);
        inc_vtype t;
        size_t old;
        if (skip && (f->flags & INC_FIELD_IMPLICIT)) continue;
        v = json_object_get(json, f->name);
        if (!v && (optional || (f->flags & INC_FIELD_DEFAULTED))) continue;
        old = jp_field(path, f->name);
        if (!v)
            return inc_error_set(err, INC_ERR_INVALID, "missing_field",
                                 "%s: missing required field", path->buf);
        t = inc_vtype_field(f);
        if (json_is_null(v)) {
            if (!optional) return wrong_type(err, path->buf, t, v);
            /* An explicit null overrides a default. */
            incx_value_free(t, p);
            if (has) *has = false;
            jp_pop(path, old);
            continue;
        }
        /* An optional record starts absent (zero): give it its defaults. */
        if (t.type == INC_TYPE_RECORD && optional && t.rec)
            inc_msg_init(t.rec, p);
        if (decode_value(t, p, v, path, depth, err) != 0) return -1;
        if (has) *has = true;
        jp_pop(path, old);
    }
    return 0;
}

static int decode_message(const inc_message_desc *d, void *msg,
                          const json_t *json, unsigned flags, inc_error *err) {
    jpath path;
    path.buf[0] = '$';
    path.buf[1] = '\0';
    path.used = 1;
    path.record_flags = flags & INC_JSON_IGNORE_UNKNOWN;
    if (!json || !json_is_object(json))
        return inc_error_set(err, INC_ERR_INVALID, "not_an_object",
                             "$: expected a JSON object");
    return decode_object(d, msg, json, flags, &path, 1, err);
}

int inc_msg_from_json(const inc_message_desc *d, void *msg, const json_t *json,
                      unsigned flags, inc_error *err) {
    inc_msg_init(d, msg);
    if (decode_message(d, msg, json, flags, err) == 0) return 0;
    inc_msg_free(d, msg);
    inc_msg_init(d, msg);
    return -1;
}

int incx_field_from_text(const inc_field_desc *f, void *msg,
                         const char *text, inc_error *err) {
    inc_vtype t = inc_vtype_field(f);
    void *p = INC_FIELD_AT(msg, f, char);
    bool *has = inc_field_has_ptr(msg, f);
    json_error_t je;
    json_t *v;
    jpath path;
    int rc;
    path.buf[0] = '$';
    path.buf[1] = '\0';
    path.used = 1;
    path.record_flags = 0; /* projection columns: strict */
    jp_field(&path, f->name);
    incx_value_free(t, p);
    if (has) *has = false;
    v = text ? json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je)
             : NULL;
    if (!v)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_json",
                             "%s: invalid JSON", path.buf);
    if (json_is_null(v)) {
        rc = f->flags & INC_FIELD_OPTIONAL ? 0
                                           : wrong_type(err, path.buf, t, v);
    } else {
        if (t.type == INC_TYPE_RECORD && t.rec) inc_msg_init(t.rec, p);
        rc = decode_value(t, p, v, &path, 1, err);
        if (rc != 0) incx_value_free(t, p);
        else if (has) *has = true;
    }
    json_decref(v);
    return rc;
}

/* Reports a parse failure; `msg` is initialised first, as promised. */
static int text_error(const inc_message_desc *d, void *msg, const char *text,
                      size_t len, const json_error_t *je, inc_error *err) {
    char path[PATH_MAX_LEN];
    inc_msg_init(d, msg);
    if (!text)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_json",
                             "$: invalid JSON: no input");
    switch (json_error_code(je)) {
    case json_error_duplicate_key:
        text_path(path, sizeof path, text, len, (size_t)je->position);
        return inc_error_set(err, INC_ERR_INVALID, "duplicate_field",
                             "%s: duplicate field at line %d column %d", path,
                             je->line, je->column);
    case json_error_numeric_overflow:
        text_path(path, sizeof path, text, len, (size_t)je->position);
        return inc_error_set(err, INC_ERR_INVALID, "out_of_range",
                             "%s: number out of range at line %d column %d: "
                             "%s",
                             path, je->line, je->column, je->text);
    case json_error_out_of_memory:
        return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                             "$: out of memory parsing JSON");
    default:
        return inc_error_set(err, INC_ERR_INVALID, "invalid_json",
                             "$: invalid JSON at line %d column %d: %s",
                             je->line, je->column, je->text);
    }
}

int incx_msg_from_text_jansson(const inc_message_desc *d, void *msg,
                               const char *text, size_t len, unsigned flags,
                               inc_error *err) {
    json_error_t je;
    json_t *json;
    int rc;
    if (!text) return text_error(d, msg, NULL, 0, NULL, err);
    /* No JSON_DECODE_ANY: the top level must be an object (or an array,
     * which the decoder then rejects); jansson also rejects trailing
     * garbage, NUL bytes, invalid UTF-8 and \u0000 by default. */
    json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json) return text_error(d, msg, text, len, &je, err);
    rc = inc_msg_from_json(d, msg, json, flags, err); /* initialises msg */
    json_decref(json);
    return rc;
}

/* The scanner of json_fast.c decodes the inputs it accepts without a
 * jansson tree; everything else, every error included, goes through jansson,
 * so error codes and messages come from one place. */
int inc_msg_from_text(const inc_message_desc *d, void *msg, const char *text,
                      size_t len, unsigned flags, inc_error *err) {
#if INC_JSON_FAST
    if (text && incx_json_fast_decode(d, msg, text, len, flags) == 0) return 0;
#endif
    if (incx_msg_from_text_jansson(d, msg, text, len, flags, err) != 0) return -1;
    /* jansson skips a raw NUL right after a number or literal (the fast
     * path never accepts one); JSON has no raw NULs, so refuse it here. */
    const char *nul = text ? memchr(text, '\0', len) : NULL;
    if (nul) {
        inc_msg_free(d, msg);
        inc_msg_init(d, msg);
        return inc_error_set(err, INC_ERR_INVALID, "invalid_json",
                             "$: invalid JSON: NUL byte at offset %zu",
                             (size_t)(nul - text));
    }
    return 0;
}
