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

static void key_path(char *buf, size_t cap, const char *key, size_t n) {
    size_t used = 1;
    buf[0] = '$';
    buf[1] = '\0';
    append_key(buf, cap, &used, key, n, false);
}

/* The JSON path of the value being read at byte `pos` of `text`: jansson
 * reports duplicate keys and numeric overflow by position only.  The text
 * before `pos` has already been accepted by jansson, so this scanner only
 * tracks structure: open containers, their current key or index. */
#define SCAN_DEPTH 16
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

/* Values JSON cannot carry (NaN, out-of-range timestamps and enum values)
 * are written as null; inc_msg_validate rejects them. */
static json_t *field_to_json(const inc_field_desc *f, const void *msg) {
    if (!inc_field_present(msg, f)) return json_null();
    switch (f->type) {
    case INC_TYPE_INT:
        return json_integer((json_int_t)*INC_CFIELD_AT(msg, f, int64_t));
    case INC_TYPE_FLOAT: {
        double v = *INC_CFIELD_AT(msg, f, double);
        return isfinite(v) ? json_real(v) : json_null();
    }
    case INC_TYPE_BOOL:
        return json_boolean(*INC_CFIELD_AT(msg, f, bool));
    case INC_TYPE_STRING:
        return string_to_json(*INC_CFIELD_AT(msg, f, char *));
    case INC_TYPE_TIMESTAMP: {
        char buf[INC_TIMESTAMP_TEXT_MAX];
        if (inc_timestamp_format(*INC_CFIELD_AT(msg, f, int64_t), buf) != 0)
            return json_null();
        return json_string(buf);
    }
    case INC_TYPE_ENUM: {
        int v = *INC_CFIELD_AT(msg, f, int);
        if (!f->enum_desc || v < 0 || (size_t)v >= f->enum_desc->n_members)
            return json_null();
        return json_string(f->enum_desc->members[v]);
    }
    }
    return json_null();
}

json_t *inc_msg_to_json(const inc_message_desc *d, const void *msg,
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

/* ---- decoding ----------------------------------------------------------- */

/* What a field's JSON value must be, for "expected X, got Y". */
static const char *expected_kind(const inc_field_desc *f, char *buf,
                                 size_t cap) {
    switch (f->type) {
    case INC_TYPE_INT: return "integer";
    case INC_TYPE_FLOAT: return "number";
    case INC_TYPE_BOOL: return "boolean";
    case INC_TYPE_STRING: return "string";
    case INC_TYPE_TIMESTAMP: return "timestamp string";
    case INC_TYPE_ENUM:
        snprintf(buf, cap, "%s member name (string)",
                 f->enum_desc ? f->enum_desc->name : "enum");
        return buf;
    }
    return "value";
}

static int wrong_type(inc_error *err, const char *path,
                      const inc_field_desc *f, const json_t *v) {
    char buf[96];
    return inc_error_set(err, INC_ERR_INVALID, "wrong_type",
                         "%s: expected %s, got %s", path,
                         expected_kind(f, buf, sizeof buf), json_kind(v));
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

static int decode_enum(const inc_field_desc *f, void *msg, const json_t *v,
                       const char *path, inc_error *err) {
    const inc_enum_desc *e = f->enum_desc;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), i, used = 0;
    char expected[INC_ERROR_MESSAGE_MAX], what[96];
    for (i = 0; e && i < e->n_members; i++) {
        if (strlen(e->members[i]) == n && memcmp(e->members[i], s, n) == 0) {
            *INC_FIELD_AT(msg, f, int) = (int)i;
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

static int decode_field(const inc_field_desc *f, void *msg, const json_t *v,
                        const char *path, inc_error *err) {
    switch (f->type) {
    case INC_TYPE_INT:
        if (!json_is_integer(v)) return wrong_type(err, path, f, v);
        *INC_FIELD_AT(msg, f, int64_t) = (int64_t)json_integer_value(v);
        return 0;
    case INC_TYPE_FLOAT:
        if (!json_is_number(v)) return wrong_type(err, path, f, v);
        *INC_FIELD_AT(msg, f, double) = json_number_value(v);
        return 0;
    case INC_TYPE_BOOL:
        if (!json_is_boolean(v)) return wrong_type(err, path, f, v);
        *INC_FIELD_AT(msg, f, bool) = json_is_true(v);
        return 0;
    case INC_TYPE_STRING: {
        char **dst = INC_FIELD_AT(msg, f, char *), *copy;
        if (!json_is_string(v)) return wrong_type(err, path, f, v);
        /* Possible in a json_t built with json_stringn; C strings cannot
         * hold it. */
        if (strlen(json_string_value(v)) != json_string_length(v))
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: string contains a NUL character", path);
        if (!(copy = inc_strdup(json_string_value(v))))
            return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                                 "%s: out of memory", path);
        free(*dst); /* the default, if any */
        *dst = copy;
        return 0;
    }
    case INC_TYPE_TIMESTAMP: {
        const char *s = json_string_value(v);
        if (!json_is_string(v))
            return wrong_type(err, path, f, v);
        if (strlen(s) != json_string_length(v) ||
            inc_timestamp_parse(s, INC_FIELD_AT(msg, f, int64_t)) != 0)
            return bad_string_value(
                err, path, "invalid timestamp", v,
                "expected RFC 3339, e.g. 2026-11-26T10:00:00Z");
        return 0;
    }
    case INC_TYPE_ENUM:
        if (!json_is_string(v)) return wrong_type(err, path, f, v);
        return decode_enum(f, msg, v, path, err);
    }
    return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                         "%s: field type %d unknown", path, (int)f->type);
}

static int decode_object(const inc_message_desc *d, void *msg,
                         const json_t *json, unsigned flags, inc_error *err) {
    bool skip = (flags & INC_JSON_SKIP_IMPLICIT) != 0;
    char path[PATH_MAX_LEN];
    void *it;
    size_t i;
    if (!json || !json_is_object(json))
        return inc_error_set(err, INC_ERR_INVALID, "not_an_object",
                             "$: expected a JSON object");
    /* Unknown keys first, in input order, so the error names the key the
     * caller actually wrote. jansson's iterator API is not const-clean. */
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
        if (!f || (skip && (f->flags & INC_FIELD_IMPLICIT))) {
            key_path(path, sizeof path, key, klen);
            return inc_error_set(err, INC_ERR_INVALID, "unknown_field",
                                 "%s: unknown field", path);
        }
    }
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        bool optional = (f->flags & INC_FIELD_OPTIONAL) != 0;
        const json_t *v;
        bool *has = inc_field_has_ptr(msg, f);
        size_t nlen = strlen(f->name);
        if (skip && (f->flags & INC_FIELD_IMPLICIT)) continue;
        /* "$.name" without snprintf: this runs for every field decoded */
        if (nlen > sizeof path - 3) nlen = sizeof path - 3;
        path[0] = '$';
        path[1] = '.';
        memcpy(path + 2, f->name, nlen);
        path[nlen + 2] = '\0';
        v = json_object_get(json, f->name);
        if (!v) {
            if (optional || (f->flags & INC_FIELD_DEFAULTED)) continue;
            return inc_error_set(err, INC_ERR_INVALID, "missing_field",
                                 "%s: missing required field", path);
        }
        if (json_is_null(v)) {
            if (!optional) return wrong_type(err, path, f, v);
            /* An explicit null overrides a default. */
            if (f->type == INC_TYPE_STRING) {
                free(*INC_FIELD_AT(msg, f, char *));
                *INC_FIELD_AT(msg, f, char *) = NULL;
            }
            if (has) *has = false;
            continue;
        }
        if (decode_field(f, msg, v, path, err) != 0) return -1;
        if (has) *has = true;
    }
    return 0;
}

int inc_msg_from_json(const inc_message_desc *d, void *msg, const json_t *json,
                      unsigned flags, inc_error *err) {
    inc_msg_init(d, msg);
    if (decode_object(d, msg, json, flags, err) == 0) return 0;
    inc_msg_free(d, msg);
    inc_msg_init(d, msg);
    return -1;
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
