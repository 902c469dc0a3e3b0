/* timestamp.c - RFC 3339 parsing and formatting of inc_timestamp.
 *
 * inc_timestamp is microseconds since 1970-01-01T00:00:00Z on the
 * proleptic Gregorian calendar without leap seconds (POSIX time).  Calendar
 * arithmetic is done here (Howard Hinnant's days-from-civil algorithms), so
 * nothing depends on the TZ variable, timegm or any global state.  The
 * representable range is 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z,
 * the years RFC 3339's four-digit field can express. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */

#include <stdio.h>
#include <time.h>

#include <incident/domain.h>

#include "internal.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

/* days_from_civil(0, 1, 1) and days_from_civil(9999, 12, 31). */
#define MIN_DAY INT64_C(-719528)
#define MAX_DAY INT64_C(2932896)
#define MIN_TS (MIN_DAY * US_PER_DAY)
#define MAX_TS (MAX_DAY * US_PER_DAY + US_PER_DAY - 1)
_Static_assert(MIN_TS == INC_TIMESTAMP_MIN && MAX_TS == INC_TIMESTAMP_MAX,
               "domain.h publishes the same range");

int64_t incx_days_from_civil(int64_t y, unsigned m, unsigned d) {
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void incx_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Read exactly `n` ASCII digits. */
static bool digits(const char **p, int n, int *out) {
    int v = 0;
    for (; n > 0; n--, (*p)++) {
        if (**p < '0' || **p > '9') return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

static bool lit(const char **p, char c) {
    if (**p != c) return false;
    (*p)++;
    return true;
}

int inc_timestamp_parse(const char *text, inc_timestamp *out) {
    const char *p = text;
    int y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0;
    int64_t frac = 0, secs, ts;
    if (!p) return -1;
    if (!digits(&p, 4, &y) || !lit(&p, '-') || !digits(&p, 2, &mo) ||
        !lit(&p, '-') || !digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ') return -1;
    p++;
    if (!digits(&p, 2, &h) || !lit(&p, ':') || !digits(&p, 2, &mi) ||
        !lit(&p, ':') || !digits(&p, 2, &s))
        return -1;
    if (*p == '.') {
        int n = 0;
        p++;
        /* Any number of digits; keep the first six (truncation). */
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 6) frac = frac * 10 + (*p - '0');
        if (n == 0) return -1;
        for (; n < 6; n++) frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        p++;
        if (!digits(&p, 2, &oh) || !lit(&p, ':') || !digits(&p, 2, &om))
            return -1;
        if (oh > 23 || om > 59) return -1;
    } else {
        return -1; /* RFC 3339 requires an offset */
    }
    if (*p != '\0') return -1;
    if (mo < 1 || mo > 12) return -1;
    if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo)) return -1;
    /* A leap second (:60) has no POSIX-time value; rejecting it is more
     * honest than silently folding it into the next second. */
    if (h > 23 || mi > 59 || s > 59) return -1;
    secs = incx_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
           h * 3600 + mi * 60 + s - sign * (oh * 3600 + om * 60);
    ts = secs * US_PER_SEC + frac;
    if (ts < MIN_TS || ts > MAX_TS) return -1;
    *out = ts;
    return 0;
}

int inc_timestamp_format(inc_timestamp ts, char out[INC_TIMESTAMP_TEXT_MAX]) {
    int64_t day, us, y;
    unsigned m, d;
    out[0] = '\0';
    if (ts < MIN_TS || ts > MAX_TS) return -1;
    day = ts / US_PER_DAY;
    us = ts % US_PER_DAY;
    if (us < 0) { /* floor division */
        us += US_PER_DAY;
        day--;
    }
    incx_civil_from_days(day, &y, &m, &d);
    snprintf(out, INC_TIMESTAMP_TEXT_MAX,
             "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", (int)y, m, d,
             (int)(us / (3600 * US_PER_SEC)),
             (int)(us / (60 * US_PER_SEC) % 60), (int)(us / US_PER_SEC % 60),
             (int)(us % US_PER_SEC));
    return 0;
}

inc_timestamp inc_timestamp_now(void) {
    struct timespec t;
    if (clock_gettime(CLOCK_REALTIME, &t) != 0) return 0;
    return (int64_t)t.tv_sec * US_PER_SEC + t.tv_nsec / 1000;
}
