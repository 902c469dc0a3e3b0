/* error.c - inc_error: filling the one error value of libincident.
 *
 * Errors are fixed-size buffers, so setting one never allocates and never
 * fails; over-long text is truncated at a UTF-8 character boundary so the
 * message stays valid UTF-8 when it is later put into JSON. */
#include <stdio.h>
#include <string.h>

#include <incident/error.h>

static const char *const kind_names[] = {
#define INC_X_NAME(e, s) s,
    INC_ERROR_KINDS(INC_X_NAME)
#undef INC_X_NAME
};

const char *inc_error_kind_name(inc_error_kind kind) {
    if ((unsigned)kind >= sizeof kind_names / sizeof kind_names[0])
        return "unknown";
    return kind_names[kind];
}

void inc_error_clear(inc_error *err) {
    if (!err) return;
    err->kind = INC_OK;
    err->code[0] = '\0';
    err->message[0] = '\0';
}

/* `s` holds `len` bytes plus a NUL; if the formatter cut the last UTF-8
 * sequence short, drop that partial sequence. */
static void trim_utf8_tail(char *s, size_t len) {
    size_t i = len, cont = 0, need;
    unsigned char c;
    while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        cont++;
    }
    if (i == 0) return;
    c = (unsigned char)s[i - 1];
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > 1 && cont + 1 < need) s[i - 1] = '\0';
}

static void copy_truncated(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
        trim_utf8_tail(dst, n);
    } else {
        memcpy(dst, src, n + 1);
    }
}

int inc_error_setv(inc_error *err, inc_error_kind kind, const char *code,
                   const char *fmt, va_list ap) {
    /* Format into locals first: arguments may point into `err` itself
     * (re-prefixing an earlier message). */
    char msg[INC_ERROR_MESSAGE_MAX];
    char cbuf[INC_ERROR_CODE_MAX];
    int n;
    if (!err) return -1;
    copy_truncated(cbuf, sizeof cbuf, code ? code : "");
    msg[0] = '\0';
    if (fmt) {
        n = vsnprintf(msg, sizeof msg, fmt, ap);
        if (n < 0)
            msg[0] = '\0';
        else if ((size_t)n >= sizeof msg)
            trim_utf8_tail(msg, sizeof msg - 1);
    }
    err->kind = kind;
    memcpy(err->code, cbuf, sizeof cbuf);
    memcpy(err->message, msg, sizeof msg);
    return -1;
}

int inc_error_set(inc_error *err, inc_error_kind kind, const char *code,
                  const char *fmt, ...) {
    va_list ap;
    if (!err) return -1;
    va_start(ap, fmt);
    inc_error_setv(err, kind, code, fmt, ap);
    va_end(ap);
    return -1;
}

int inc_reject(inc_error *err, const char *code) {
    return inc_error_set(err, INC_ERR_REJECTED, code, "%s", code ? code : "");
}
