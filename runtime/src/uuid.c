/* uuid.c - random (version 4) UUIDs for event and command ids, from the
 * kernel's CSPRNG (getrandom), so ids are unpredictable and need no state. */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include <incident/store.h>

int inc_uuid_v4(char out[INC_UUID_TEXT_SIZE], inc_error *err) {
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            out[0] = '\0';
            return inc_error_set(err, INC_ERR_INTERNAL, "random",
                                 "getrandom failed (errno %d)", errno);
        }
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}
