/* test_timestamp.c - RFC 3339 parsing and formatting: calendar edges, offsets,
 * fractions, the supported range, and malformed input. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r, the reference calendar */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <incident/domain.h>

#define US INT64_C(1000000)
#define MIN_TS (INT64_C(-719528) * 86400 * US)
#define MAX_TS (INT64_C(2932897) * 86400 * US - 1)

static inc_timestamp parse_ok(const char *text) {
    inc_timestamp ts = 12345;
    if (inc_timestamp_parse(text, &ts) != 0) fail_msg("rejected: %s", text);
    return ts;
}

static void normalises(const char *in, const char *out) {
    char buf[INC_TIMESTAMP_TEXT_MAX];
    assert_int_equal(inc_timestamp_format(parse_ok(in), buf), 0);
    if (strcmp(buf, out) != 0) fail_msg("%s -> %s, want %s", in, buf, out);
}

static void test_known_values(void **state) {
    char buf[INC_TIMESTAMP_TEXT_MAX];
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(inc_timestamp_format(0, buf), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00.000000Z");
    assert_int_equal(parse_ok("2026-11-26T10:00:00Z"),
                     INT64_C(1795687200) * US);
    assert_int_equal(parse_ok("2000-03-01T00:00:00Z"), INT64_C(951868800) * US);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999999Z"), -1);
    assert_int_equal(inc_timestamp_format(-1, buf), 0);
    assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
    assert_int_equal(parse_ok("1900-01-01T00:00:00Z"),
                     INT64_C(-2208988800) * US);
}

static void test_leap_years(void **state) {
    inc_timestamp ts;
    (void)state;
    normalises("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000000Z");
    normalises("2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000000Z");
    normalises("0000-02-29T00:00:00Z", "0000-02-29T00:00:00.000000Z");
    normalises("2024-12-31T23:59:59Z", "2024-12-31T23:59:59.000000Z");
    assert_int_equal(inc_timestamp_parse("2023-02-29T00:00:00Z", &ts), -1);
    assert_int_equal(inc_timestamp_parse("1900-02-29T00:00:00Z", &ts), -1);
    assert_int_equal(inc_timestamp_parse("2100-02-29T00:00:00Z", &ts), -1);
    assert_int_equal(inc_timestamp_parse("2024-02-30T00:00:00Z", &ts), -1);
}

static void test_range(void **state) {
    char buf[INC_TIMESTAMP_TEXT_MAX];
    inc_timestamp ts;
    (void)state;
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999999Z"), MAX_TS);
    normalises("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z");
    assert_int_equal(parse_ok("0000-01-01T00:00:00Z"), MIN_TS);
    normalises("0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000000Z");
    /* an offset may not carry the instant outside the years 0000-9999 */
    assert_int_equal(inc_timestamp_parse("9999-12-31T23:59:59-00:01", &ts), -1);
    assert_int_equal(inc_timestamp_parse("0000-01-01T00:00:00+00:01", &ts), -1);
    normalises("0000-01-01T00:30:00+00:30", "0000-01-01T00:00:00.000000Z");
    assert_int_equal(inc_timestamp_format(MAX_TS + 1, buf), -1);
    assert_string_equal(buf, "");
    assert_int_equal(inc_timestamp_format(MIN_TS - 1, buf), -1);
    assert_int_equal(inc_timestamp_format(INT64_MAX, buf), -1);
    assert_int_equal(inc_timestamp_format(INT64_MIN, buf), -1);
}

static void test_offsets(void **state) {
    (void)state;
    normalises("2026-11-26T23:30:00-05:00", "2026-11-27T04:30:00.000000Z");
    normalises("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000000Z");
    normalises("2024-03-01T00:00:00+00:01", "2024-02-29T23:59:00.000000Z");
    normalises("2026-11-26T10:00:00+23:59", "2026-11-25T10:01:00.000000Z");
    normalises("2026-11-26T10:00:00-23:59", "2026-11-27T09:59:00.000000Z");
    normalises("2026-11-26T10:00:00+00:00", "2026-11-26T10:00:00.000000Z");
    normalises("2026-11-26T10:00:00-00:00", "2026-11-26T10:00:00.000000Z");
    normalises("1970-01-01T00:00:00+01:00", "1969-12-31T23:00:00.000000Z");
}

static void test_fractions_and_case(void **state) {
    (void)state;
    normalises("2026-11-26T10:00:00.5Z", "2026-11-26T10:00:00.500000Z");
    normalises("2026-11-26T10:00:00.1234567Z", "2026-11-26T10:00:00.123456Z");
    normalises("2026-11-26T10:00:00.999999999999999999999999Z",
               "2026-11-26T10:00:00.999999Z");
    normalises("2026-11-26T10:00:00.000001Z", "2026-11-26T10:00:00.000001Z");
    normalises("2026-11-26t10:00:00z", "2026-11-26T10:00:00.000000Z");
    normalises("2026-11-26 10:00:00.25+02:00", "2026-11-26T08:00:00.250000Z");
    assert_int_equal(parse_ok("1969-12-31T23:59:59.5Z"), -500000);
}

static void test_invalid(void **state) {
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11-26",
        "2026-13-01",
        "2026-11-26T10:00:00",       /* no offset: not RFC 3339 */
        "2026-11-26T10:00Z",
        "2026-11-26T24:00:00Z",
        "2026-11-26T10:60:00Z",
        "2026-11-26T10:00:60Z",      /* leap second: rejected */
        "2026-00-10T10:00:00Z",
        "2026-11-00T10:00:00Z",
        "2026-04-31T10:00:00Z",
        "2026-11-26T10:00:00.Z",
        "2026-11-26T10:00:00+0100",
        "2026-11-26T10:00:00+01",
        "2026-11-26T10:00:00+24:00",
        "2026-11-26T10:00:00+01:60",
        "2026-11-26T10:00:00Z ",
        " 2026-11-26T10:00:00Z",
        "2026-11-26T10:00:00ZZ",
        "2026-1-26T10:00:00Z",
        "-001-11-26T10:00:00Z",
        "12026-11-26T10:00:00Z",
        "20261126T100000Z",
        "2026-11-26X10:00:00Z",
        "2026-11-26T10:00:00UTC",
        "2026-11-26T1a:00:00Z",
        "2026/11/26T10:00:00Z",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        inc_timestamp ts = 777;
        if (inc_timestamp_parse(bad[i], &ts) != -1)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_int_equal(ts, 777); /* untouched on failure */
    }
    assert_int_equal(inc_timestamp_parse(NULL, NULL), -1);
}

/* Format and parse agree over the whole range at ~100k points, and the
 * formatted calendar date matches the C library's gmtime_r. */
static void test_round_trip_sweep(void **state) {
    const int64_t step = INT64_C(86400) * US * 37 + INT64_C(3723456789);
    int64_t ts;
    char buf[INC_TIMESTAMP_TEXT_MAX];
    (void)state;
    for (ts = MIN_TS; ts <= MAX_TS - step; ts += step) {
        inc_timestamp back = 0;
        assert_int_equal(inc_timestamp_format(ts, buf), 0);
        assert_int_equal(strlen(buf), 27);
        if (inc_timestamp_parse(buf, &back) != 0 || back != ts)
            fail_msg("%lld -> %s -> %lld", (long long)ts, buf,
                     (long long)back);
        if (sizeof(time_t) == 8) {
            int64_t secs = ts / US - (ts % US < 0);
            time_t t = (time_t)secs;
            struct tm tm;
            char ref[64];
            assert_non_null(gmtime_r(&t, &tm));
            snprintf(ref, sizeof ref, "%04d-%02d-%02dT%02d:%02d:%02d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
            if (strncmp(buf, ref, 19) != 0)
                fail_msg("%lld: %s, gmtime_r says %s", (long long)ts, buf, ref);
        }
    }
}

static void test_now(void **state) {
    inc_timestamp a = inc_timestamp_now(), b;
    (void)state;
    assert_true(a > parse_ok("2020-01-01T00:00:00Z"));
    assert_true(a < parse_ok("2200-01-01T00:00:00Z"));
    b = inc_timestamp_now();
    assert_true(b >= a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_fractions_and_case),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_round_trip_sweep),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
