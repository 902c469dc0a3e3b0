/* uuid.c - UUIDs for event and command ids: random ones (version 4) from
 * the kernel's CSPRNG (getrandom), so ids are unpredictable and need no
 * state; time-ordered ones (version 7: the time in milliseconds, then 74
 * random bits) for the ids the runtime makes, so that a store's unique
 * index on event ids grows at its right edge instead of touching a random
 * page per insert (docs/performance.md, "Scale"); and name-based ones
 * (version 5, SHA-1) for the deterministic command ids of event handlers
 * (dispatch.c), so the same handler run twice for one event names its
 * commands the same way. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <incident/store.h>

#include "internal.h"

static const char hex_digits[] = "0123456789abcdef";

void incx_uuid_text(const unsigned char b[16], char out[INC_UUID_TEXT_SIZE]) {
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex_digits[b[i] >> 4];
        out[o++] = hex_digits[b[i] & 15];
    }
    out[o] = '\0';
}

static int random_bytes(unsigned char *b, size_t len, char out[INC_UUID_TEXT_SIZE],
                        inc_error *err) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(b + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            out[0] = '\0';
            return inc_error_set(err, INC_ERR_INTERNAL, "random",
                                 "getrandom failed (errno %d)", errno);
        }
        got += (size_t)n;
    }
    return 0;
}

int inc_uuid_v7(char out[INC_UUID_TEXT_SIZE], inc_error *err) {
    unsigned char b[16];
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        out[0] = '\0';
        return inc_error_set(err, INC_ERR_INTERNAL, "clock",
                             "clock_gettime failed (errno %d)", errno);
    }
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (int i = 0; i < 6; i++) b[i] = (unsigned char)(ms >> (40 - 8 * i));
    if (random_bytes(b + 6, 10, out, err) != 0) return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x70); /* version 7 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
    incx_uuid_text(b, out);
    return 0;
}

int inc_uuid_v4(char out[INC_UUID_TEXT_SIZE], inc_error *err) {
    unsigned char b[16];
    if (random_bytes(b, sizeof b, out, err) != 0) return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    incx_uuid_text(b, out);
    return 0;
}

/* ---- SHA-1 (FIPS 180-4), only for version 5 UUIDs: not a security
 * measure, a well-spread deterministic digest. */

typedef struct sha1 {
    uint32_t h[5];
    uint64_t len; /* bytes so far */
    unsigned char buf[64];
    size_t n;
} sha1;

static uint32_t rol(uint32_t x, unsigned k) {
    return (x << k) | (x >> (32 - k));
}

static void sha1_block(sha1 *s, const unsigned char *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
}

static void sha1_init(sha1 *s) {
    static const uint32_t h0[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu,
                                   0x10325476u, 0xc3d2e1f0u};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->n = 0;
}

static void sha1_update(sha1 *s, const void *data, size_t len) {
    const unsigned char *p = data;
    s->len += len;
    while (len > 0) {
        size_t k = 64 - s->n < len ? 64 - s->n : len;
        memcpy(s->buf + s->n, p, k);
        s->n += k;
        p += k;
        len -= k;
        if (s->n == 64) {
            sha1_block(s, s->buf);
            s->n = 0;
        }
    }
}

static void sha1_final(sha1 *s, unsigned char out[20]) {
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, zero = 0, lenb[8];
    sha1_update(s, &pad, 1);
    while (s->n != 56) sha1_update(s, &zero, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(s, lenb, 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)s->h[i];
    }
}

void incx_uuid_v5(const unsigned char ns[16], const char *name, size_t len,
                  char out[INC_UUID_TEXT_SIZE]) {
    sha1 s;
    unsigned char d[20];
    sha1_init(&s);
    sha1_update(&s, ns, 16);
    sha1_update(&s, name, len);
    sha1_final(&s, d);
    d[6] = (unsigned char)((d[6] & 0x0f) | 0x50); /* version 5 */
    d[8] = (unsigned char)((d[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    incx_uuid_text(d, out);
}
