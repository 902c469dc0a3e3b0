/* test_json.c - JSON encoding and strict decoding through descriptors:
 * round trips of every type, every decode error with its exact message,
 * and allocation safety of init/free/copy/decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/domain.h>

#include "fixtures.h"

typedef union any_msg {
    t_kitchen k;
    t_deposit_money dm;
    t_account_state st;
} any_msg;

static char *dump(const inc_message_desc *d, const void *msg, unsigned flags) {
    json_t *j = inc_msg_to_json(d, msg, flags);
    char *s;
    assert_non_null(j);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void assert_dump(const inc_message_desc *d, const void *msg,
                        unsigned flags, const char *expected) {
    char *s = dump(d, msg, flags);
    assert_string_equal(s, expected);
    free(s);
}

static int decode(const inc_message_desc *d, void *msg, const char *text,
                  unsigned flags, inc_error *err) {
    return inc_msg_from_text(d, msg, text, strlen(text), flags, err);
}

/* After a failed decode the message must equal a fresh inc_msg_init. */
static void assert_initialised(const inc_message_desc *d, void *msg) {
    any_msg fresh;
    char *a, *b;
    inc_msg_init(d, &fresh);
    a = dump(d, msg, 0);
    b = dump(d, &fresh, 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    inc_msg_free(d, &fresh);
}

static void expect_fail_n(const inc_message_desc *d, const char *text,
                          size_t len, unsigned flags, const char *code,
                          const char *message) {
    any_msg m;
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(inc_msg_from_text(d, &m, text, len, flags, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_string_equal(err.code, code);
    assert_string_equal(err.message, message);
    assert_initialised(d, &m);
    inc_msg_free(d, &m);
}

static void expect_fail(const inc_message_desc *d, const char *text,
                        const char *code, const char *message) {
    expect_fail_n(d, text, strlen(text), 0, code, message);
}

#define KITCHEN_MIN                                                          \
    "\"aggregate_id\":\"K1\",\"i\":1,\"f\":1,\"b\":false,\"s\":\"\","     \
    "\"t\":\"1970-01-01T00:00:00Z\",\"e\":\"red\""

/* ---- encoding / round trips -------------------------------------------- */

static void test_init_defaults(void **state) {
    t_kitchen k;
    (void)state;
    memset(&k, 0xAB, sizeof k); /* init must not depend on prior contents */
    inc_msg_init(&t_kitchen_desc, &k);
    assert_null(k.aggregate_id);
    assert_null(k.s);
    assert_int_equal(k.i, 0);
    assert_false(k.has_oi);
    assert_false(k.has_os);
    assert_null(k.os);
    assert_int_equal(k.di, 42);
    assert_true(k.df == 1.5);
    assert_true(k.db);
    assert_string_equal(k.ds, "hello");
    assert_int_equal(k.dt, T_KITCHEN_DT);
    assert_int_equal(k.de, T_COLOR_GREEN);
    assert_true(k.has_ods);
    assert_string_equal(k.ods, "dflt");
    assert_dump(&t_kitchen_desc, &k, 0,
                "{\"aggregate_id\":null,\"i\":0,\"f\":0.0,\"b\":false,"
                "\"s\":null,\"t\":\"1970-01-01T00:00:00.000000Z\","
                "\"e\":\"red\",\"oi\":null,\"of\":null,\"ob\":null,"
                "\"os\":null,\"ot\":null,\"oe\":null,\"di\":42,\"df\":1.5,"
                "\"db\":true,\"ds\":\"hello\","
                "\"dt\":\"2026-11-26T10:00:00.000000Z\",\"de\":\"green\","
                "\"ods\":\"dflt\"}");
    inc_msg_free(&t_kitchen_desc, &k);
}

static void test_kitchen_round_trip(void **state) {
    const char *in =
        "{\"aggregate_id\":\"K1\",\"i\":-5,\"f\":2.5,\"b\":true,"
        "\"s\":\"h\\u00e9llo \xe2\x82\xac \\ud83d\\ude00 \\\"q\\\" \\n\","
        "\"t\":\"2026-11-26T23:30:00.1234567-05:00\",\"e\":\"blue\","
        "\"oi\":null,\"of\":1,\"ob\":false,\"os\":\"x\",\"ot\":null,"
        "\"oe\":\"red\",\"di\":7,\"df\":0.25,\"db\":false,\"ds\":\"bye\","
        "\"dt\":\"2026-11-26T11:00:00+01:00\",\"de\":\"red\",\"ods\":null}";
    const char *out =
        "{\"aggregate_id\":\"K1\",\"i\":-5,\"f\":2.5,\"b\":true,"
        "\"s\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \\\"q\\\" \\n\","
        "\"t\":\"2026-11-27T04:30:00.123456Z\",\"e\":\"blue\","
        "\"oi\":null,\"of\":1.0,\"ob\":false,\"os\":\"x\",\"ot\":null,"
        "\"oe\":\"red\",\"di\":7,\"df\":0.25,\"db\":false,\"ds\":\"bye\","
        "\"dt\":\"2026-11-26T10:00:00.000000Z\",\"de\":\"red\",\"ods\":null}";
    t_kitchen k, k2;
    inc_error err;
    char *s;
    (void)state;
    assert_int_equal(decode(&t_kitchen_desc, &k, in, 0, &err), 0);
    assert_string_equal(k.aggregate_id, "K1");
    assert_int_equal(k.i, -5);
    assert_true(k.f == 2.5);
    assert_true(k.b);
    assert_string_equal(k.s, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \"q\" \n");
    assert_int_equal(k.e, T_COLOR_BLUE);
    assert_false(k.has_oi);
    assert_true(k.has_of);
    assert_true(k.of == 1.0);
    assert_true(k.has_ob);
    assert_false(k.ob);
    assert_true(k.has_os);
    assert_string_equal(k.os, "x");
    assert_false(k.has_ot);
    assert_true(k.has_oe);
    assert_int_equal(k.oe, T_COLOR_RED);
    assert_int_equal(k.di, 7);
    assert_string_equal(k.ds, "bye");
    assert_int_equal(k.dt, T_KITCHEN_DT);
    assert_false(k.has_ods);
    assert_null(k.ods);
    assert_dump(&t_kitchen_desc, &k, 0, out);
    /* and the normalised form decodes to the same value */
    s = dump(&t_kitchen_desc, &k, 0);
    assert_int_equal(decode(&t_kitchen_desc, &k2, s, 0, &err), 0);
    free(s);
    assert_dump(&t_kitchen_desc, &k2, 0, out);
    inc_msg_free(&t_kitchen_desc, &k);
    inc_msg_free(&t_kitchen_desc, &k2);
}

static void test_absent_optional_and_defaults(void **state) {
    t_kitchen k;
    inc_error err;
    (void)state;
    assert_int_equal(decode(&t_kitchen_desc, &k, "{" KITCHEN_MIN "}", 0, &err),
                     0);
    assert_false(k.has_oi || k.has_of || k.has_ob || k.has_os || k.has_ot ||
                 k.has_oe);
    assert_int_equal(k.di, 42);
    assert_string_equal(k.ds, "hello");
    assert_int_equal(k.de, T_COLOR_GREEN);
    assert_true(k.has_ods);
    assert_string_equal(k.ods, "dflt");
    assert_string_equal(k.s, "");
    assert_dump(&t_kitchen_desc, &k, INC_JSON_SKIP_IMPLICIT,
                "{\"i\":1,\"f\":1.0,\"b\":false,\"s\":\"\","
                "\"t\":\"1970-01-01T00:00:00.000000Z\",\"e\":\"red\","
                "\"oi\":null,\"of\":null,\"ob\":null,\"os\":null,"
                "\"ot\":null,\"oe\":null,\"di\":42,\"df\":1.5,\"db\":true,"
                "\"ds\":\"hello\",\"dt\":\"2026-11-26T10:00:00.000000Z\","
                "\"de\":\"green\",\"ods\":\"dflt\"}");
    inc_msg_free(&t_kitchen_desc, &k);
    /* a present value replaces the string default without leaking it */
    assert_int_equal(decode(&t_kitchen_desc, &k,
                            "{" KITCHEN_MIN ",\"ods\":\"mine\"}", 0, &err),
                     0);
    assert_true(k.has_ods);
    assert_string_equal(k.ods, "mine");
    inc_msg_free(&t_kitchen_desc, &k);
    assert_false(k.has_ods);
    assert_null(k.ods);
}

static void test_int64_limits(void **state) {
    t_deposit_money m;
    inc_error err;
    (void)state;
    assert_int_equal(decode(&t_deposit_money_desc, &m,
                            "{\"aggregate_id\":\"A\","
                            "\"amount\":9223372036854775807}",
                            0, &err),
                     0);
    assert_true(m.amount == INT64_MAX);
    assert_dump(&t_deposit_money_desc, &m, 0,
                "{\"aggregate_id\":\"A\",\"amount\":9223372036854775807}");
    inc_msg_free(&t_deposit_money_desc, &m);
    assert_int_equal(decode(&t_deposit_money_desc, &m,
                            "{\"aggregate_id\":\"A\","
                            "\"amount\":-9223372036854775808}",
                            0, &err),
                     0);
    assert_true(m.amount == INT64_MIN);
    assert_dump(&t_deposit_money_desc, &m, INC_JSON_SKIP_IMPLICIT,
                "{\"amount\":-9223372036854775808}");
    inc_msg_free(&t_deposit_money_desc, &m);
}

static void test_float_accepts_integers_and_reals(void **state) {
    t_kitchen k;
    inc_error err;
    (void)state;
    assert_int_equal(
        decode(&t_kitchen_desc, &k,
               "{" KITCHEN_MIN ",\"of\":-3,\"df\":1e300}", 0, &err),
        0);
    assert_true(k.f == 1.0);
    assert_true(k.of == -3.0);
    assert_true(k.df == 1e300);
    inc_msg_free(&t_kitchen_desc, &k);
}

static void test_skip_implicit(void **state) {
    t_deposit_money m;
    inc_error err;
    (void)state;
    assert_int_equal(
        decode(&t_deposit_money_desc, &m, "{\"amount\":5}",
               INC_JSON_SKIP_IMPLICIT, &err),
        0);
    assert_null(m.aggregate_id);
    assert_int_equal(m.amount, 5);
    inc_msg_free(&t_deposit_money_desc, &m);
    expect_fail_n(&t_deposit_money_desc,
                  "{\"aggregate_id\":\"A\",\"amount\":5}", 31,
                  INC_JSON_SKIP_IMPLICIT, "unknown_field",
                  "$.aggregate_id: unknown field");
}

static void test_state_snapshot(void **state) {
    t_account_state s;
    inc_error err;
    (void)state;
    assert_int_equal(
        decode(&t_account_state_desc, &s,
               "{\"aggregate_id\":\"A1\",\"version\":3,"
               "\"updated_at\":\"2026-11-26T10:00:00Z\",\"balance\":10}",
               0, &err),
        0);
    assert_int_equal(s.version, 3);
    assert_true(s.has_updated_at);
    assert_int_equal(s.updated_at, T_KITCHEN_DT);
    assert_false(s.opened);
    assert_dump(&t_account_state_desc, &s, 0,
                "{\"aggregate_id\":\"A1\",\"version\":3,"
                "\"updated_at\":\"2026-11-26T10:00:00.000000Z\","
                "\"account_number\":null,\"balance\":10,\"opened\":false}");
    inc_msg_free(&t_account_state_desc, &s);
    expect_fail(&t_account_state_desc, "{\"aggregate_id\":\"A1\"}",
                "missing_field", "$.version: missing required field");
}

/* ---- decode errors: exact codes and messages --------------------------- */

static void test_not_an_object(void **state) {
    any_msg m;
    inc_error err;
    json_t *j = json_integer(1);
    (void)state;
    expect_fail(&t_deposit_money_desc, "[1]", "not_an_object",
                "$: expected a JSON object");
    assert_int_equal(inc_msg_from_json(&t_deposit_money_desc, &m, j, 0, &err),
                     -1);
    assert_string_equal(err.message, "$: expected a JSON object");
    assert_int_equal(inc_msg_from_json(&t_deposit_money_desc, &m, NULL, 0, &err),
                     -1);
    assert_string_equal(err.code, "not_an_object");
    json_decref(j);
}

static void test_missing_and_unknown(void **state) {
    (void)state;
    expect_fail(&t_deposit_money_desc, "{\"aggregate_id\":\"A\"}",
                "missing_field", "$.amount: missing required field");
    expect_fail(&t_kitchen_desc, "{}", "missing_field",
                "$.aggregate_id: missing required field");
    /* the first missing field in descriptor order */
    expect_fail(&t_kitchen_desc, "{\"aggregate_id\":\"K\",\"b\":true}",
                "missing_field", "$.i: missing required field");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":1,\"foo\":2}",
                "unknown_field", "$.foo: unknown field");
    /* unknown keys are reported before missing or ill-typed ones */
    expect_fail(&t_deposit_money_desc, "{\"amount\":\"x\",\"foo\":1}",
                "unknown_field", "$.foo: unknown field");
    expect_fail(&t_deposit_money_desc, "{\"a b\":1}", "unknown_field",
                "$[\"a b\"]: unknown field");
    expect_fail(&t_deposit_money_desc, "{\"q\\\"\\n\":1}", "unknown_field",
                "$[\"q\\\"\\u000a\"]: unknown field");
    expect_fail(&t_deposit_money_desc, "{\"Amount\":1}", "unknown_field",
                "$.Amount: unknown field");
}

static void test_wrong_types(void **state) {
    (void)state;
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":\"1\"}", "wrong_type",
                "$.amount: expected integer, got string");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":1.0}", "wrong_type",
                "$.amount: expected integer, got real");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":true}", "wrong_type",
                "$.amount: expected integer, got boolean");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":[1]}", "wrong_type",
                "$.amount: expected integer, got array");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":{}}", "wrong_type",
                "$.amount: expected integer, got object");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":null,\"amount\":1}", "wrong_type",
                "$.aggregate_id: expected string, got null");
    expect_fail(&t_deposit_money_desc, "{\"aggregate_id\":7,\"amount\":1}",
                "wrong_type", "$.aggregate_id: expected string, got integer");
    expect_fail(&t_kitchen_desc, "{" KITCHEN_MIN ",\"s\":null}",
                "duplicate_field", "$.s: duplicate field at line 1 column 90");
}

static void test_wrong_types_kitchen(void **state) {
    static const struct {
        const char *field, *value, *code, *message;
    } cases[] = {
        {"s", "null", "wrong_type", "$.s: expected string, got null"},
        {"i", "null", "wrong_type", "$.i: expected integer, got null"},
        {"f", "\"x\"", "wrong_type", "$.f: expected number, got string"},
        {"f", "null", "wrong_type", "$.f: expected number, got null"},
        {"b", "1", "wrong_type", "$.b: expected boolean, got integer"},
        {"b", "\"true\"", "wrong_type", "$.b: expected boolean, got string"},
        {"t", "5", "wrong_type", "$.t: expected timestamp string, got integer"},
        {"e", "1", "wrong_type",
         "$.e: expected Color member name (string), got integer"},
        {"e", "\"x\"", "invalid_value",
         "$.e: unknown Color member \"x\" (expected one of red, green, blue)"},
        {"e", "\"Red\"", "invalid_value",
         "$.e: unknown Color member \"Red\" (expected one of red, green, "
         "blue)"},
        {"t", "\"2026-13-01\"", "invalid_value",
         "$.t: invalid timestamp \"2026-13-01\" (expected RFC 3339, e.g. "
         "2026-11-26T10:00:00Z)"},
        {"t", "\"2026-02-29T00:00:00Z\"", "invalid_value",
         "$.t: invalid timestamp \"2026-02-29T00:00:00Z\" (expected RFC "
         "3339, e.g. 2026-11-26T10:00:00Z)"},
        {"t", "\"\"", "invalid_value",
         "$.t: invalid timestamp \"\" (expected RFC 3339, e.g. "
         "2026-11-26T10:00:00Z)"},
        {"di", "null", "wrong_type", "$.di: expected integer, got null"},
        {"de", "null", "wrong_type",
         "$.de: expected Color member name (string), got null"},
        {"ds", "null", "wrong_type", "$.ds: expected string, got null"},
        {"oi", "1.5", "wrong_type", "$.oi: expected integer, got real"},
        {"oe", "\"purple\"", "invalid_value",
         "$.oe: unknown Color member \"purple\" (expected one of red, green, "
         "blue)"},
        {"ot", "\"2026-11-26\"", "invalid_value",
         "$.ot: invalid timestamp \"2026-11-26\" (expected RFC 3339, e.g. "
         "2026-11-26T10:00:00Z)"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* replace the field's value in a complete object */
        json_t *j = json_loads("{" KITCHEN_MIN "}", 0, NULL), *v;
        char *text;
        assert_non_null(j);
        v = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        json_object_set_new(j, cases[i].field, v);
        text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        expect_fail(&t_kitchen_desc, text, cases[i].code, cases[i].message);
        free(text);
    }
}

static void test_long_bad_value_is_truncated(void **state) {
    char text[600];
    char big[300];
    any_msg m;
    inc_error err;
    (void)state;
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(text, sizeof text, "{" KITCHEN_MIN ",\"oe\":\"%s\"}", big);
    assert_int_equal(decode(&t_kitchen_desc, &m, text, 0, &err), -1);
    assert_string_equal(err.code, "invalid_value");
    assert_non_null(strstr(err.message, "zzz...\" (expected one of red"));
    assert_true(strlen(err.message) < 200);
    inc_msg_free(&t_kitchen_desc, &m); /* initialised: holds the defaults */
}

static void test_text_errors(void **state) {
    (void)state;
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":1,\"amount\":2}",
                "duplicate_field",
                "$.amount: duplicate field at line 1 column 39");
    expect_fail(&t_deposit_money_desc,
                "{\n  \"amount\": 1,\n  \"aggregate_id\": \"A\",\n"
                "  \"amount\": 2\n}",
                "duplicate_field",
                "$.amount: duplicate field at line 4 column 10");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":{\"x\":1,\"x\":2}}",
                "duplicate_field",
                "$.amount.x: duplicate field at line 1 column 39");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":[1,{\"x\":1,\"x\":2}]}",
                "duplicate_field",
                "$.amount[1].x: duplicate field at line 1 column 42");
    expect_fail(&t_deposit_money_desc,
                "{\"a\\\"b\":1,\"a\\\"b\":2}", "duplicate_field",
                "$[\"a\\\"b\"]: duplicate field at line 1 column 16");
    expect_fail(&t_deposit_money_desc, "{\"amount\":}", "invalid_json",
                "$: invalid JSON at line 1 column 11: unexpected token near "
                "'}'");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":9223372036854775808}",
                "out_of_range",
                "$.amount: number out of range at line 1 column 48: too big "
                "integer near '9223372036854775808'");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":-9223372036854775809}",
                "out_of_range",
                "$.amount: number out of range at line 1 column 49: too big "
                "negative integer near '-9223372036854775809'");
    expect_fail(&t_kitchen_desc, "{\"f\":1e400}", "out_of_range",
                "$.f: number out of range at line 1 column 10: real number "
                "overflow near '1e400'");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\",\"amount\":1} x", "invalid_json",
                "$: invalid JSON at line 1 column 33: end of file expected "
                "near 'x'");
    expect_fail(&t_deposit_money_desc, "42", "invalid_json",
                "$: invalid JSON at line 1 column 2: '[' or '{' expected near "
                "'42'");
    expect_fail(&t_deposit_money_desc, "", "invalid_json",
                "$: invalid JSON at line 1 column 0: '[' or '{' expected near "
                "end of file");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\\u0000B\",\"amount\":1}",
                "invalid_json",
                "$: invalid JSON at line 1 column 26: \\u0000 is not allowed "
                "without JSON_ALLOW_NUL near '\"A\\u0000B\"'");
    expect_fail_n(&t_deposit_money_desc,
                  "{\"aggregate_id\":\"A\0B\",\"amount\":1}", 33, 0,
                  "invalid_json",
                  "$: invalid JSON at line 1 column 18: control character 0x0 "
                  "near '\"A'");
    expect_fail(&t_deposit_money_desc,
                "{\"aggregate_id\":\"A\xff\",\"amount\":1}", "invalid_json",
                "$: invalid JSON at line 1 column 18: unable to decode byte "
                "0xff near '\"A'");
    /* the length is honoured: text past `len` is not read */
    expect_fail_n(&t_deposit_money_desc,
                  "{\"aggregate_id\":\"A\"},\"amount\":1}", 20, 0,
                  "missing_field", "$.amount: missing required field");
}

/* jansson skips a raw NUL after a number; we refuse it (regression). */
static void test_raw_nul_refused(void **state) {
    (void)state;
    static const char text[] = "{\"aggregate_id\":\"A\",\"amount\":5\0}";
    t_deposit_money m;
    inc_error err;
    assert_int_equal(inc_msg_from_text(&t_deposit_money_desc, &m, text, sizeof text - 1, 0,
                                       &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_string_equal(err.code, "invalid_json");
    assert_string_equal(err.message, "$: invalid JSON: NUL byte at offset 30");
    inc_msg_free(&t_deposit_money_desc, &m);
}

static void test_text_errors_null_text(void **state) {
    any_msg m;
    inc_error err;
    (void)state;
    assert_int_equal(inc_msg_from_text(&t_deposit_money_desc, &m, NULL, 0, 0,
                                       &err),
                     -1);
    assert_string_equal(err.code, "invalid_json");
    assert_null(m.dm.aggregate_id);
    /* err == NULL is allowed */
    assert_int_equal(decode(&t_deposit_money_desc, &m, "[", 0, NULL), -1);
}

static void test_hand_built_json(void **state) {
    any_msg m;
    inc_error err;
    json_t *j = json_loads("{" KITCHEN_MIN "}", 0, NULL);
    (void)state;
    assert_non_null(j);
    json_object_set_new(j, "s", json_stringn("a\0b", 3));
    assert_int_equal(inc_msg_from_json(&t_kitchen_desc, &m, j, 0, &err), -1);
    assert_string_equal(err.code, "invalid_value");
    assert_string_equal(err.message, "$.s: string contains a NUL character");
    assert_initialised(&t_kitchen_desc, &m);
    inc_msg_free(&t_kitchen_desc, &m);
    json_object_set_new(j, "s", json_string("ok"));
    json_object_setn_new(j, "i\0x", 3, json_integer(1));
    assert_int_equal(inc_msg_from_json(&t_kitchen_desc, &m, j, 0, &err), -1);
    assert_string_equal(err.code, "unknown_field");
    assert_string_equal(err.message, "$[\"i\\u0000x\"]: unknown field");
    inc_msg_free(&t_kitchen_desc, &m);
    json_decref(j);
}

/* A failure after strings were decoded frees them (ASan checks the leak). */
static void test_decode_failure_frees(void **state) {
    t_kitchen k;
    inc_error err;
    (void)state;
    assert_int_equal(
        decode(&t_kitchen_desc, &k,
               "{" KITCHEN_MIN ",\"os\":\"x\",\"ods\":\"y\",\"ds\":\"z\","
               "\"de\":\"nope\"}",
               0, &err),
        -1);
    assert_string_equal(err.message,
                        "$.de: unknown Color member \"nope\" (expected one of "
                        "red, green, blue)");
    assert_null(k.aggregate_id);
    assert_null(k.os);
    assert_false(k.has_os);
    assert_string_equal(k.ds, "hello");
    assert_string_equal(k.ods, "dflt");
    inc_msg_free(&t_kitchen_desc, &k);
}

/* ---- encoding of values JSON cannot carry ----------------------------- */

static void test_encode_unrepresentable(void **state) {
    t_kitchen k;
    (void)state;
    inc_msg_init(&t_kitchen_desc, &k);
    k.f = 0.0 / 0.0;
    k.e = (t_color)7;
    k.t = INT64_MAX;
    k.s = malloc(4);
    memcpy(k.s, "a\xff" "b", 4);
    k.has_os = true; /* has_ set but NULL: absent */
    {
        json_t *j = inc_msg_to_json(&t_kitchen_desc, &k, 0);
        assert_non_null(j);
        assert_true(json_is_null(json_object_get(j, "f")));
        assert_true(json_is_null(json_object_get(j, "e")));
        assert_true(json_is_null(json_object_get(j, "t")));
        assert_true(json_is_null(json_object_get(j, "os")));
        assert_string_equal(json_string_value(json_object_get(j, "s")),
                            "a\xef\xbf\xbd" "b");
        json_decref(j);
    }
    inc_msg_free(&t_kitchen_desc, &k);
}

/* ---- free / copy / validate ------------------------------------------- */

static void test_free_safety(void **state) {
    t_kitchen k;
    (void)state;
    inc_msg_free(&t_kitchen_desc, NULL);
    inc_msg_free(NULL, &k);
    inc_msg_init(&t_kitchen_desc, &k);
    inc_msg_free(&t_kitchen_desc, &k);
    inc_msg_free(&t_kitchen_desc, &k); /* twice */
    assert_null(k.ds);
    assert_null(k.ods);
    assert_false(k.has_ods);
    /* hand-built: no init, strings from malloc */
    memset(&k, 0, sizeof k);
    k.aggregate_id = malloc(3);
    memcpy(k.aggregate_id, "K1", 3);
    k.os = malloc(2);
    memcpy(k.os, "x", 2);
    k.has_os = true;
    inc_msg_free(&t_kitchen_desc, &k);
    assert_null(k.aggregate_id);
    assert_null(k.os);
    assert_false(k.has_os);
    inc_msg_free(&t_kitchen_desc, &k);
}

static void test_copy(void **state) {
    t_kitchen a, b;
    inc_error err;
    char *sa, *sb;
    (void)state;
    assert_int_equal(decode(&t_kitchen_desc, &a,
                            "{" KITCHEN_MIN ",\"os\":\"o\",\"oi\":3}", 0, &err),
                     0);
    assert_int_equal(inc_msg_copy(&t_kitchen_desc, &b, &a, &err), 0);
    assert_ptr_not_equal(a.aggregate_id, b.aggregate_id);
    assert_ptr_not_equal(a.os, b.os);
    sa = dump(&t_kitchen_desc, &a, 0);
    inc_msg_free(&t_kitchen_desc, &a); /* b must survive */
    sb = dump(&t_kitchen_desc, &b, 0);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    inc_msg_free(&t_kitchen_desc, &b);
}

static void test_validate(void **state) {
    t_kitchen k;
    t_deposit_money m;
    inc_error err;
    (void)state;
    assert_int_equal(decode(&t_kitchen_desc, &k, "{" KITCHEN_MIN "}", 0, &err),
                     0);
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), 0);
    k.oe = (t_color)9; /* absent optional: not checked */
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), 0);
    k.has_oe = true;
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_string_equal(err.code, "invalid_value");
    assert_string_equal(err.message, "oe: 9 is not a Color member");
    k.has_oe = false;
    k.e = (t_color)-1;
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), -1);
    assert_string_equal(err.message, "e: -1 is not a Color member");
    k.e = T_COLOR_RED;
    k.df = 1.0 / 0.0;
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), -1);
    assert_string_equal(err.message, "df: not a finite number");
    k.df = 0;
    k.dt = INT64_MIN;
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), -1);
    assert_string_equal(err.code, "invalid_value");
    k.dt = 0;
    /* text the JSON decoder would refuse, set from C */
    free(k.s);
    k.s = malloc(32);
    strcpy(k.s, "ok \xC0\xAF overlong");
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), -1);
    assert_string_equal(err.code, "invalid_value");
    assert_string_equal(err.message, "s: not valid UTF-8");
    free(k.s);
    k.s = malloc(32);
    strcpy(k.s, "caf\xC3\xA9 \xF0\x9F\x98\x80");
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), 0);
    free(k.s);
    k.s = NULL;
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), -1);
    assert_string_equal(err.code, "missing_field");
    assert_string_equal(err.message, "s: required");
    free(k.aggregate_id);
    k.aggregate_id = NULL;
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), -1);
    assert_string_equal(err.message, "aggregate_id: required");
    k.aggregate_id = malloc(1);
    k.aggregate_id[0] = '\0';
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, &err), -1);
    assert_string_equal(err.message, "aggregate_id: must not be empty");
    assert_int_equal(inc_msg_validate(&t_kitchen_desc, &k, NULL), -1);
    inc_msg_free(&t_kitchen_desc, &k);

    /* then the generated `check` clauses */
    assert_int_equal(decode(&t_deposit_money_desc, &m,
                            "{\"aggregate_id\":\"A\",\"amount\":0}", 0, &err),
                     0);
    assert_int_equal(inc_msg_validate(&t_deposit_money_desc, &m, &err), -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, "invalid_amount");
    m.amount = 1;
    assert_int_equal(inc_msg_validate(&t_deposit_money_desc, &m, &err), 0);
    inc_msg_free(&t_deposit_money_desc, &m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_defaults),
        cmocka_unit_test(test_kitchen_round_trip),
        cmocka_unit_test(test_absent_optional_and_defaults),
        cmocka_unit_test(test_int64_limits),
        cmocka_unit_test(test_float_accepts_integers_and_reals),
        cmocka_unit_test(test_skip_implicit),
        cmocka_unit_test(test_state_snapshot),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_missing_and_unknown),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_wrong_types_kitchen),
        cmocka_unit_test(test_long_bad_value_is_truncated),
        cmocka_unit_test(test_text_errors),
        cmocka_unit_test(test_raw_nul_refused),
        cmocka_unit_test(test_text_errors_null_text),
        cmocka_unit_test(test_hand_built_json),
        cmocka_unit_test(test_decode_failure_frees),
        cmocka_unit_test(test_encode_unrepresentable),
        cmocka_unit_test(test_free_safety),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
