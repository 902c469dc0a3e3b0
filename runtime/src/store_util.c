/* store_util.c - checks shared by the stores: both refuse the same text
 * (what a UTF8 PostgreSQL database would refuse), so they behave alike. */
#include <stdint.h>
#include <string.h>

#include "store_util.h"

size_t incx_utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0], cp;
    size_t len, i;
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0; /* continuation byte or overlong lead */
    len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    cp = c & (0x7Fu >> len);
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

bool incx_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0, k; i < n; i += k)
        if ((k = incx_utf8_seq(s + i, n - i)) == 0) return false;
    return true;
}

int incx_store_check_id(const char *id, const char *what, inc_error *err) {
    if (incx_store_check_text(id, what, err) != 0) return -1;
    size_t n = strlen(id);
    if (n > INC_MAX_ID_BYTES)
        return inc_error_set(err, INC_ERR_INVALID, "id_too_long",
                             "%s: %zu bytes, longer than the limit of %d",
                             what, n, INC_MAX_ID_BYTES);
    return 0;
}

int incx_store_check_text(const char *s, const char *what, inc_error *err) {
    if (!s)
        return inc_error_set(err, INC_ERR_INVALID, "missing_field",
                             "%s is missing", what);
    if (!incx_utf8_valid(s, strlen(s)))
        return inc_error_set(err, INC_ERR_INVALID, "invalid_utf8",
                             "%s is not valid UTF-8", what);
    return 0;
}

/* FNV-1a over bytes, continuing from h. */
static uint64_t fnv1a_more(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t incx_snapshot_hash(const inc_aggregate_desc *a) {
    uint64_t h = a->state_layout_hash;
    bool mixed = false;
    for (size_t i = 0; i < a->n_events; i++) {
        const inc_message_desc *e = a->events[i];
        unsigned v = incx_schema_version(e->schema_version);
        if (v == 1) continue; /* unchanged since before evolution */
        if (!mixed) h = fnv1a_more(0xcbf29ce484222325ULL ^ h, "evolved", 7);
        mixed = true;
        h = fnv1a_more(h, e->name, strlen(e->name) + 1);
        h = fnv1a_more(h, &v, sizeof v);
    }
    return h;
}

int incx_check_schema_name(const char *name, inc_error *err) {
    size_t n = name ? strlen(name) : 0;
    bool ok = n >= 1 && n <= INC_SCHEMA_NAME_MAX &&
              !(name[0] >= '0' && name[0] <= '9');
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '_';
    }
    if (ok) return 0;
    return inc_error_set(err, INC_ERR_INVALID, "bad_schema",
                         "schema name '%.80s': 1 to %d letters, digits or "
                         "'_', not starting with a digit",
                         name ? name : "", INC_SCHEMA_NAME_MAX);
}
