/* store_util.c - checks shared by the stores: both refuse the same text
 * (what a UTF8 PostgreSQL database would refuse), so they behave alike. */
#include <stdint.h>
#include <string.h>

#include "store_util.h"

bool inc_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

int inc_store_check_id(const char *id, const char *what, inc_error *err) {
    if (inc_store_check_text(id, what, err) != 0) return -1;
    size_t n = strlen(id);
    if (n > INC_MAX_ID_BYTES)
        return inc_error_set(err, INC_ERR_INVALID, "id_too_long",
                             "%s: %zu bytes, longer than the limit of %d",
                             what, n, INC_MAX_ID_BYTES);
    return 0;
}

int inc_store_check_text(const char *s, const char *what, inc_error *err) {
    if (!s)
        return inc_error_set(err, INC_ERR_INVALID, "missing_field",
                             "%s is missing", what);
    if (!inc_utf8_valid(s, strlen(s)))
        return inc_error_set(err, INC_ERR_INVALID, "invalid_utf8",
                             "%s is not valid UTF-8", what);
    return 0;
}
