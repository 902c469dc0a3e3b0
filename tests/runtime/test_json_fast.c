/* test_json_fast.c - differential test of inc_msg_from_text's fast scanner
 * (runtime/src/json_fast.c) against the jansson path it stands in front
 * of: every input is decoded both ways, as several messages of the test
 * domain, with and without INC_JSON_SKIP_IMPLICIT, and the results must be
 * identical: return code, error kind, code and message, and the decoded
 * struct (its bytes with the string pointers left out, its strings, and
 * its JSON encoding).  Inputs: hand-picked edge cases (escapes, surrogates,
 * UTF-8, numbers at the int64 and double limits, whitespace, null, defaults,
 * duplicates, trailing garbage), then every one-byte deletion, duplication
 * and substitution of a few valid documents.  Also checks that the usual
 * inputs do take the fast path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/domain.h>

#include "fixtures.h"

/* runtime/src/internal.h (not installed). */
int incx_json_fast_decode(const inc_message_desc *d, void *msg,
                          const char *text, size_t len, unsigned flags);
int incx_msg_from_text_jansson(const inc_message_desc *d, void *msg,
                               const char *text, size_t len, unsigned flags,
                               inc_error *err);

typedef union any_msg {
    t_kitchen k;
    t_deposit_money dm;
    t_account_state st;
    t_money_deposited md;
} any_msg;

static const inc_message_desc *const descs[] = {
    &t_kitchen_desc, &t_account_state_desc, &t_deposit_money_desc,
    &t_money_deposited_desc};

static long compared, fast_ok;

static char *dump(const inc_message_desc *d, const void *msg) {
    json_t *j = inc_msg_to_json(d, msg, 0);
    char *s;
    assert_non_null(j);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

/* The two structs hold the same values: the bytes (string pointers zeroed
 * in copies), the strings, and the JSON encoding. */
static void assert_same_msg(const inc_message_desc *d, const void *a,
                            const void *b) {
    any_msg ca, cb;
    size_t i;
    char *ja, *jb;
    memcpy(&ca, a, d->size);
    memcpy(&cb, b, d->size);
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        const char *sa, *sb;
        if (f->type != INC_TYPE_STRING) continue;
        sa = *(char *const *)(const void *)((const char *)a + f->offset);
        sb = *(char *const *)(const void *)((const char *)b + f->offset);
        if ((sa == NULL) != (sb == NULL) || (sa && strcmp(sa, sb) != 0))
            fail_msg("field %s differs: %s / %s", f->name, sa ? sa : "NULL",
                     sb ? sb : "NULL");
        *(char **)(void *)((char *)&ca + f->offset) = NULL;
        *(char **)(void *)((char *)&cb + f->offset) = NULL;
    }
    assert_memory_equal(&ca, &cb, d->size);
    ja = dump(d, a);
    jb = dump(d, b);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
}

static void compare_one(const inc_message_desc *d, const char *text,
                        size_t len, unsigned flags) {
    any_msg a, b;
    inc_error ea, eb;
    int ra, rb;
    inc_error_clear(&ea);
    inc_error_clear(&eb);
    ra = inc_msg_from_text(d, &a, text, len, flags, &ea);
    rb = incx_msg_from_text_jansson(d, &b, text, len, flags, &eb);
    if (rb == 0 && memchr(text, '\0', len)) {
        /* jansson skips a raw NUL after a number or literal; the public
         * entry point refuses it on top of jansson */
        assert_int_equal(ra, -1);
        assert_string_equal(ea.code, "invalid_json");
        assert_non_null(strstr(ea.message, "NUL byte"));
        inc_msg_free(d, &a);
        inc_msg_free(d, &b);
        compared++;
        return;
    }
    if (ra != rb)
        fail_msg("%s flags %u: fast rc %d, jansson rc %d (%s) on %.*s",
                 d->name, flags, ra, rb, eb.message, (int)len, text);
    assert_int_equal(ea.kind, eb.kind);
    assert_string_equal(ea.code, eb.code);
    assert_string_equal(ea.message, eb.message);
    assert_same_msg(d, &a, &b);
    inc_msg_free(d, &a);
    inc_msg_free(d, &b);
    if (ra == 0) {
        /* was it the scanner? (counted, not required: it may decline) */
        if (incx_json_fast_decode(d, &a, text, len, flags) == 0) {
            fast_ok++;
            inc_msg_free(d, &a);
        }
    }
    compared++;
}

static void compare_n(const char *text, size_t len) {
    size_t i;
    for (i = 0; i < sizeof descs / sizeof descs[0]; i++) {
        compare_one(descs[i], text, len, 0);
        compare_one(descs[i], text, len, INC_JSON_SKIP_IMPLICIT);
    }
}

static void compare(const char *text) { compare_n(text, strlen(text)); }

#define KITCHEN_MIN                                                          \
    "\"aggregate_id\":\"K1\",\"i\":1,\"f\":1,\"b\":false,\"s\":\"\","     \
    "\"t\":\"1970-01-01T00:00:00Z\",\"e\":\"red\""

static const char *const cases[] = {
    "{" KITCHEN_MIN "}",
    " \t\r\n{ \t\r\n" KITCHEN_MIN " \t\r\n} \t\r\n",
    "{\"aggregate_id\" : \"K1\" , \"i\" :1,\"f\":1,\"b\":false,\"s\":\"\","
    "\"t\":\"1970-01-01T00:00:00Z\",\"e\":\"red\"}",
    "{\"e\":\"red\",\"t\":\"1970-01-01T00:00:00Z\",\"s\":\"\",\"b\":false,"
    "\"f\":1,\"i\":1,\"aggregate_id\":\"K1\"}",
    "{\"aggregate_id\":\"K1\",\"i\":-5,\"f\":2.5,\"b\":true,"
    "\"s\":\"h\\u00e9llo \xe2\x82\xac \\ud83d\\ude00 \\\"q\\\" \\n\","
    "\"t\":\"2026-11-26T23:30:00.1234567-05:00\",\"e\":\"blue\","
    "\"oi\":null,\"of\":1,\"ob\":false,\"os\":\"x\",\"ot\":null,"
    "\"oe\":\"red\",\"di\":7,\"df\":0.25,\"db\":false,\"ds\":\"bye\","
    "\"dt\":\"2026-11-26T11:00:00+01:00\",\"de\":\"red\",\"ods\":null}",
    /* every escape, keys with escapes */
    "{" KITCHEN_MIN ",\"os\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00FF"
    "\\u0800\\uFFFF\\uD800\\uDC00\\uDBFF\\uDFFF\"}",
    "{\"\\u0061ggregate_id\":\"K1\",\"i\":1,\"f\":1,\"b\":false,\"s\":\"\","
    "\"t\":\"1970-01-01T00:00:00Z\",\"e\":\"r\\u0065d\"}",
    "{" KITCHEN_MIN ",\"\\u006fs\":\"x\",\"os\":\"y\"}",
    "{" KITCHEN_MIN ",\"os\":\"\\u0000\"}",
    "{" KITCHEN_MIN ",\"os\":\"a\\ud800\"}",
    "{" KITCHEN_MIN ",\"os\":\"a\\ud800b\"}",
    "{" KITCHEN_MIN ",\"os\":\"a\\udc00\"}",
    "{" KITCHEN_MIN ",\"os\":\"a\\ud800\\u0041\"}",
    "{" KITCHEN_MIN ",\"os\":\"a\\ud800\\ud800\"}",
    "{" KITCHEN_MIN ",\"os\":\"\\u12\"}",
    "{" KITCHEN_MIN ",\"os\":\"\\u12G4\"}",
    "{" KITCHEN_MIN ",\"os\":\"\\x\"}",
    "{" KITCHEN_MIN ",\"os\":\"\\\"}",
    "{" KITCHEN_MIN ",\"os\":\"tab\there\"}",
    "{" KITCHEN_MIN ",\"os\":\"\x7f\"}",
    /* UTF-8: valid edges, overlong, surrogate, past U+10FFFF, truncated */
    "{" KITCHEN_MIN ",\"os\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}",
    "{" KITCHEN_MIN ",\"os\":\"\xc0\xaf\"}",
    "{" KITCHEN_MIN ",\"os\":\"\xc1\xbf\"}",
    "{" KITCHEN_MIN ",\"os\":\"\xe0\x9f\xbf\"}",
    "{" KITCHEN_MIN ",\"os\":\"\xed\xa0\x80\"}",
    "{" KITCHEN_MIN ",\"os\":\"\xf4\x90\x80\x80\"}",
    "{" KITCHEN_MIN ",\"os\":\"\xf5\x80\x80\x80\"}",
    "{" KITCHEN_MIN ",\"os\":\"\xe2\x82\"}",
    "{" KITCHEN_MIN ",\"os\":\"\x80\"}",
    "{" KITCHEN_MIN ",\"os\":\"x\"}\xe2\x82",
    /* integers */
    "{" KITCHEN_MIN ",\"oi\":9223372036854775807}",
    "{" KITCHEN_MIN ",\"oi\":-9223372036854775808}",
    "{" KITCHEN_MIN ",\"oi\":9223372036854775808}",
    "{" KITCHEN_MIN ",\"oi\":-9223372036854775809}",
    "{" KITCHEN_MIN ",\"oi\":99999999999999999999999}",
    "{" KITCHEN_MIN ",\"oi\":-0}",
    "{" KITCHEN_MIN ",\"oi\":0}",
    "{" KITCHEN_MIN ",\"oi\":00}",
    "{" KITCHEN_MIN ",\"oi\":01}",
    "{" KITCHEN_MIN ",\"oi\":-}",
    "{" KITCHEN_MIN ",\"oi\":+1}",
    "{" KITCHEN_MIN ",\"oi\":1.0}",
    "{" KITCHEN_MIN ",\"oi\":1e2}",
    "{" KITCHEN_MIN ",\"oi\":\"1\"}",
    "{" KITCHEN_MIN ",\"oi\":true}",
    /* reals */
    "{" KITCHEN_MIN ",\"of\":-0}",
    "{" KITCHEN_MIN ",\"of\":-0.0}",
    "{" KITCHEN_MIN ",\"of\":1.7976931348623157e308}",
    "{" KITCHEN_MIN ",\"of\":1.8e308}",
    "{" KITCHEN_MIN ",\"of\":-1e999}",
    "{" KITCHEN_MIN ",\"of\":4.9e-324}",
    "{" KITCHEN_MIN ",\"of\":1e-400}",
    "{" KITCHEN_MIN ",\"of\":9223372036854775807}",
    "{" KITCHEN_MIN ",\"of\":9223372036854775808}",
    "{" KITCHEN_MIN ",\"of\":9007199254740993}",
    "{" KITCHEN_MIN ",\"of\":0.1}",
    "{" KITCHEN_MIN ",\"of\":1E+2}",
    "{" KITCHEN_MIN ",\"of\":1e-2}",
    "{" KITCHEN_MIN ",\"of\":1.}",
    "{" KITCHEN_MIN ",\"of\":.5}",
    "{" KITCHEN_MIN ",\"of\":1e}",
    "{" KITCHEN_MIN ",\"of\":1.5.5}",
    "{" KITCHEN_MIN ",\"of\":0.1000000000000000055511151231257827021181583404541015625}",
    "{" KITCHEN_MIN ",\"of\":NaN}",
    "{" KITCHEN_MIN ",\"of\":Infinity}",
    /* literals, null, defaults */
    "{" KITCHEN_MIN ",\"ob\":true}",
    "{" KITCHEN_MIN ",\"ob\":tru}",
    "{" KITCHEN_MIN ",\"ob\":truex}",
    "{" KITCHEN_MIN ",\"ob\":True}",
    "{" KITCHEN_MIN ",\"ob\":nul}",
    "{" KITCHEN_MIN ",\"ob\":nullx}",
    "{" KITCHEN_MIN ",\"ob\":1}",
    "{" KITCHEN_MIN ",\"ods\":null,\"ds\":\"x\",\"di\":null}",
    "{" KITCHEN_MIN ",\"ods\":null,\"oe\":null,\"ot\":null,\"of\":null}",
    "{" KITCHEN_MIN ",\"ods\":\"q\",\"de\":\"blue\",\"dt\":"
    "\"2000-02-29T12:00:00Z\",\"db\":false,\"df\":-2,\"di\":-1}",
    "{\"aggregate_id\":null,\"i\":1,\"f\":1,\"b\":false,\"s\":\"\","
    "\"t\":\"1970-01-01T00:00:00Z\",\"e\":\"red\"}",
    /* enums and timestamps */
    "{" KITCHEN_MIN ",\"oe\":\"Red\"}",
    "{" KITCHEN_MIN ",\"oe\":\"gre\"}",
    "{" KITCHEN_MIN ",\"oe\":\"greenx\"}",
    "{" KITCHEN_MIN ",\"oe\":\"\"}",
    "{" KITCHEN_MIN ",\"oe\":1}",
    "{" KITCHEN_MIN ",\"ot\":\"2026-13-01T00:00:00Z\"}",
    "{" KITCHEN_MIN ",\"ot\":\"2026-01-01T00:00:00\"}",
    "{" KITCHEN_MIN ",\"ot\":\"2026-01-01t00:00:00z\"}",
    "{" KITCHEN_MIN ",\"ot\":\"2026-01-01 00:00:00Z\"}",
    "{" KITCHEN_MIN ",\"ot\":\"2026-01-01T00:00:00.123456789012345678901234"
    "5678901234567890123456789012345678901234567890123456789012345678901234"
    "5678901234567890123456789012345678901234567890Z\"}",
    "{" KITCHEN_MIN ",\"ot\":\"\\u0032026-01-01T00:00:00Z\"}",
    "{" KITCHEN_MIN ",\"ot\":1}",
    /* structure */
    "{" KITCHEN_MIN ",\"oi\":1,\"oi\":2}",
    "{" KITCHEN_MIN ",\"zz\":1}",
    "{" KITCHEN_MIN ",\"zz\":{\"a\":[1,2,{}]}}",
    "{" KITCHEN_MIN ",\"os\":[]}",
    "{" KITCHEN_MIN ",\"os\":{}}",
    "{" KITCHEN_MIN ",}",
    "{" KITCHEN_MIN "} x",
    "{" KITCHEN_MIN "}{}",
    "{" KITCHEN_MIN "",
    "{" KITCHEN_MIN ",\"os\"}",
    "{" KITCHEN_MIN ",\"os\":}",
    "{" KITCHEN_MIN ";\"os\":1}",
    "{" KITCHEN_MIN ",\"\":1}",
    "{\"i\":1}",
    "{}",
    " {} ",
    "[]",
    "[{" KITCHEN_MIN "}]",
    "\"x\"",
    "1",
    "null",
    "",
    " ",
    "\xef\xbb\xbf{" KITCHEN_MIN "}",
    "{" KITCHEN_MIN "}\f",
    "\v{" KITCHEN_MIN "}",
    /* the other messages */
    "{\"aggregate_id\":\"A1\",\"amount\":5}",
    "{\"amount\":5}",
    "{\"amount\":-9223372036854775808}",
    "{\"aggregate_id\":\"A1\",\"version\":3,\"updated_at\":"
    "\"2026-11-26T10:00:00.123456Z\",\"account_number\":\"n\","
    "\"balance\":1,\"opened\":true}",
    "{\"version\":3,\"updated_at\":null,\"account_number\":null,"
    "\"balance\":1,\"opened\":true}",
};

static void test_cases(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) compare(cases[i]);
    /* embedded NUL bytes: jansson skips one right after a number or a
     * literal; the scanner leaves every NUL to jansson */
#define COMPARE_LIT(s) compare_n(s, sizeof s - 1)
    COMPARE_LIT("{\"amount\":5\0}");
    COMPARE_LIT("{\"amount\":5}\0");
    COMPARE_LIT("{\"amount\"\0:5}");
    COMPARE_LIT("{\"am\0unt\":5}");
    COMPARE_LIT("{\"aggregate_id\":\"A\0\",\"amount\":5}");
    COMPARE_LIT("{\"aggregate_id\":\"A\",\"amount\":5,\"x\":true\0}");
#undef COMPARE_LIT
}

/* Every one-byte deletion, duplication and substitution of a few valid
 * documents. */
static void test_mutations(void **state) {
    static const char *const docs[] = {
        "{" KITCHEN_MIN ",\"oi\":-12,\"of\":-1.5e-3,\"ob\":true,\"os\":"
        "\"\\u00e9\\ud83d\\ude00\xe2\x82\xac\",\"ot\":null,\"oe\":\"blue\","
        "\"ods\":null}",
        "{\"aggregate_id\":\"A1\",\"version\":3,\"updated_at\":"
        "\"2026-11-26T10:00:00.123456Z\",\"account_number\":\"n\","
        "\"balance\":9223372036854775807,\"opened\":false}",
        "{\"amount\":-9223372036854775808}",
    };
    static const char subs[] = "\"\\{}[],:0123456789-+.eEtfnul \t\r\nx\x80\xff";
    char buf[1024];
    size_t di, i, k;
    (void)state;
    for (di = 0; di < sizeof docs / sizeof docs[0]; di++) {
        const char *doc = docs[di];
        size_t n = strlen(doc);
        assert_true(n + 2 < sizeof buf);
        for (i = 0; i <= n; i++) {
            /* delete byte i */
            if (i < n) {
                memcpy(buf, doc, i);
                memcpy(buf + i, doc + i + 1, n - i - 1);
                compare_n(buf, n - 1);
            }
            /* insert each substitute before byte i, and replace byte i */
            for (k = 0; k < sizeof subs - 1; k++) {
                memcpy(buf, doc, i);
                buf[i] = subs[k];
                memcpy(buf + i + 1, doc + i, n - i);
                compare_n(buf, n + 1);
                if (i < n) {
                    memcpy(buf, doc, n);
                    buf[i] = subs[k];
                    compare_n(buf, n);
                }
            }
            /* truncate */
            compare_n(doc, i);
        }
    }
}

/* The usual inputs must not fall back to jansson. */
static void test_fast_path_taken(void **state) {
    static const char *const good[] = {
        "{" KITCHEN_MIN "}",
        "{\"aggregate_id\":\"A1\",\"version\":3,\"updated_at\":"
        "\"2026-11-26T10:00:00.123456Z\",\"account_number\":\"n\","
        "\"balance\":1,\"opened\":true}",
    };
    size_t i;
    any_msg m;
    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        const inc_message_desc *d = i == 0 ? &t_kitchen_desc
                                           : &t_account_state_desc;
        assert_int_equal(
            incx_json_fast_decode(d, &m, good[i], strlen(good[i]), 0), 0);
        inc_msg_free(d, &m);
    }
    assert_int_equal(incx_json_fast_decode(&t_money_deposited_desc, &m,
                                           "{\"amount\":1}", 12,
                                           INC_JSON_SKIP_IMPLICIT),
                     0);
    inc_msg_free(&t_money_deposited_desc, &m);
}

static void test_summary(void **state) {
    (void)state;
    print_message("compared %ld decodes, %ld successful ones on the fast "
                  "path\n", compared, fast_ok);
    assert_true(fast_ok > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_fast_path_taken),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
