/* test_list_json.c - JSON of aggc-generated records and lists (the golden
 * domain tests/golden/lists): every input decoded by both the fast path
 * and jansson with the same result or the same error (path included),
 * encodings compared byte for byte with jansson's dump, and hostile input
 * (deep nesting, a million elements) refused the same way by both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lists.h"

/* runtime/src/internal.h (not installed). */
int incx_json_fast_decode(const inc_message_desc *d, void *msg, const char *text,
                          size_t len, unsigned flags);
int incx_msg_from_text_jansson(const inc_message_desc *d, void *msg, const char *text,
                               size_t len, unsigned flags, inc_error *err);

/* inc_msg_to_text, checked byte for byte against jansson's dump. */
static char *encode(const inc_message_desc *d, const void *msg) {
    json_t *j = inc_msg_to_json(d, msg, 0);
    assert_non_null(j);
    char *a = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t n = 0;
    char *b = inc_msg_to_text(d, msg, 0, &n);
    assert_non_null(a);
    assert_non_null(b);
    if (strcmp(a, b) != 0) fail_msg("jansson %s\n   text %s", a, b);
    free(a);
    return b;
}

/* Decode both ways: same rc, same error, same value (compared through its
 * encoding).  On success *out is a malloc'd message (the fast path's). */
static int decode_both(const inc_message_desc *d, const char *text, size_t len, void **out,
                       inc_error *err) {
    void *a = calloc(1, d->size), *b = calloc(1, d->size);
    assert_non_null(a);
    assert_non_null(b);
    inc_error eb;
    inc_error_clear(err);
    inc_error_clear(&eb);
    int ra = inc_msg_from_text(d, a, text, len, 0, err);
    int rb = incx_msg_from_text_jansson(d, b, text, len, 0, &eb);
    if (ra != rb)
        fail_msg("fast rc %d, jansson rc %d (%s) on %.*s", ra, rb, eb.message,
                 (int)(len > 300 ? 300 : len), text);
    assert_int_equal(err->kind, eb.kind);
    assert_string_equal(err->code, eb.code);
    assert_string_equal(err->message, eb.message);
    if (ra == 0) {
        char *ta = encode(d, a), *tb = encode(d, b);
        assert_string_equal(ta, tb);
        free(ta);
        free(tb);
        inc_msg_free(d, b);
        *out = a;
    } else {
        inc_msg_free(d, a);
        inc_msg_free(d, b);
        free(a);
        /* the scanner declined: errors are jansson's to word */
        assert_int_equal(incx_json_fast_decode(d, b, text, len, 0), -1);
        *out = NULL;
    }
    free(b);
    return ra;
}

static void drop(const inc_message_desc *d, void *m) {
    inc_msg_free(d, m);
    free(m);
}

/* Decoding `text` succeeds, and encoding gives `want` (NULL: text). */
static void round_trip(const inc_message_desc *d, const char *text, const char *want) {
    void *m;
    inc_error err;
    if (decode_both(d, text, strlen(text), &m, &err) != 0)
        fail_msg("%s: %s", text, err.message);
    if (inc_msg_validate(d, m, &err) != 0) fail_msg("validate %s: %s", text, err.message);
    char *t = encode(d, m);
    assert_string_equal(t, want ? want : text);
    /* and the encoding decodes to the same value */
    void *m2;
    assert_int_equal(decode_both(d, t, strlen(t), &m2, &err), 0);
    char *t2 = encode(d, m2);
    assert_string_equal(t, t2);
    free(t2);
    free(t);
    drop(d, m2);
    drop(d, m);
}

static void expect_error(const inc_message_desc *d, const char *text, const char *code,
                         const char *message) {
    void *m;
    inc_error err;
    assert_int_equal(decode_both(d, text, strlen(text), &m, &err), -1);
    assert_string_equal(err.code, code);
    assert_string_equal(err.message, message);
}

#define LINE_A                                                                          \
    "{\"sku\":\"a\",\"qty\":2,\"price\":{\"amount\":150,\"currency\":\"EUR\"},"       \
    "\"tags\":[\"x\xc3\xa9" "\\n\",\"\"],\"note\":null}"
#define LINE_B \
    "{\"sku\":\"b\",\"qty\":3,\"price\":{\"amount\":0,\"currency\":\"USD\"},\"tags\":[],\"note\":\"gift\"}"

static void test_round_trips(void **st) {
    (void)st;
    round_trip(&lists_place_desc,
               "{\"aggregate_id\":\"O1\",\"lines\":[" LINE_A "," LINE_B "],"
               "\"address\":{\"city\":\"Oslo\",\"zip\":null},\"colors\":[\"blue\",\"red\"]}",
               NULL);
    /* defaults filled, optionals absent: encoded explicitly */
    round_trip(&lists_place_desc,
               "{\"aggregate_id\":\"O1\",\"lines\":[{\"sku\":\"a\",\"qty\":1,"
               "\"price\":{\"amount\":1},\"tags\":[]}]}",
               "{\"aggregate_id\":\"O1\",\"lines\":[{\"sku\":\"a\",\"qty\":1,"
               "\"price\":{\"amount\":1,\"currency\":\"EUR\"},\"tags\":[],\"note\":null}],"
               "\"address\":null,\"colors\":[]}");
    round_trip(&lists_planted_desc,
               "{\"aggregate_id\":\"O1\",\"tree\":{\"name\":\"r\",\"kids\":[{\"name\":\"a\","
               "\"kids\":[{\"name\":\"b\",\"kids\":[]}]},{\"name\":\"c\",\"kids\":[]}]},"
               "\"maybe\":[1,null,-9223372036854775808,null]}",
               NULL);
    round_trip(&lists_scored_desc,
               "{\"aggregate_id\":\"O1\",\"value\":null,\"extra\":[0.5,-2.0,1e+300]}",
               "{\"aggregate_id\":\"O1\",\"value\":null,"
               "\"extra\":[0.5,-2.0,1.0000000000000001e300]}");
    /* a state with every kind of list field */
    round_trip(&lists_order_state_desc,
               "{\"aggregate_id\":\"O1\",\"version\":3,\"updated_at\":null,"
               "\"lines\":[" LINE_A "],\"skus\":[\"a\"],\"colors\":[\"green\"],"
               "\"maybe\":[null],\"scores\":null,\"address\":null,\"tree\":null,"
               "\"placed\":true}",
               NULL);
}

static void test_errors(void **st) {
    (void)st;
    const inc_message_desc *d = &lists_place_desc;
    expect_error(d,
                 "{\"aggregate_id\":\"O1\",\"lines\":[" LINE_A ",{\"sku\":\"b\",\"qty\":\"3\","
                 "\"price\":{\"amount\":1},\"tags\":[]}]}",
                 "wrong_type", "$.lines[1].qty: expected integer, got string");
    expect_error(d, "{\"aggregate_id\":\"O1\",\"lines\":[],\"address\":{\"zip\":\"1\"}}",
                 "missing_field", "$.address.city: missing required field");
    expect_error(d, "{\"aggregate_id\":\"O1\",\"lines\":{}}", "wrong_type",
                 "$.lines: expected array, got object");
    expect_error(d, "{\"aggregate_id\":\"O1\",\"lines\":[],\"address\":[]}", "wrong_type",
                 "$.address: expected Address object, got array");
    expect_error(d, "{\"aggregate_id\":\"O1\",\"lines\":[],\"colors\":[\"pink\"]}",
                 "invalid_value", "$.colors[0]: unknown Color member \"pink\" (expected one of red, green, "
                 "blue)");
    expect_error(d,
                 "{\"aggregate_id\":\"O1\",\"lines\":[{\"sku\":\"a\",\"qty\":1,"
                 "\"price\":{\"amount\":1,\"cents\":5},\"tags\":[]}]}",
                 "unknown_field", "$.lines[0].price.cents: unknown field");
    expect_error(d, "{\"aggregate_id\":\"O1\",\"lines\":[null]}", "wrong_type",
                 "$.lines[0]: expected Line object, got null");
    expect_error(&lists_planted_desc,
                 "{\"aggregate_id\":\"O1\",\"tree\":{\"name\":\"r\",\"kids\":[]},"
                 "\"maybe\":[1,true]}",
                 "wrong_type", "$.maybe[1]: expected integer, got boolean");
}

/* {"aggregate_id":"O1","maybe":[],"tree":{"name":"n","kids":[...]}} with
 * `levels` nested kids arrays around a leaf. */
static char *deep_tree(int levels) {
    size_t cap = 200 + (size_t)levels * 40, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    n += (size_t)sprintf(s + n, "{\"aggregate_id\":\"O1\",\"maybe\":[],\"tree\":");
    for (int i = 0; i < levels; i++) n += (size_t)sprintf(s + n, "{\"name\":\"n\",\"kids\":[");
    n += (size_t)sprintf(s + n, "{\"name\":\"leaf\",\"kids\":[]}");
    for (int i = 0; i < levels; i++) n += (size_t)sprintf(s + n, "]}");
    sprintf(s + n, "}");
    return s;
}

static void test_deep(void **st) {
    (void)st;
    void *m;
    inc_error err;
    /* the innermost kids array at depth 3 + 2 * levels: 14 = 31 fine,
     * 15 = 33 over INC_JSON_MAX_DEPTH */
    char *s = deep_tree(14);
    assert_int_equal(decode_both(&lists_plant_desc, s, strlen(s), &m, &err), 0);
    assert_int_equal(inc_msg_validate(&lists_plant_desc, m, &err), 0);
    free(encode(&lists_plant_desc, m));
    drop(&lists_plant_desc, m);
    free(s);
    s = deep_tree(15);
    assert_int_equal(decode_both(&lists_plant_desc, s, strlen(s), &m, &err), -1);
    assert_string_equal(err.code, "too_deep");
    assert_non_null(strstr(err.message, ".kids[0].kids: nested deeper than 32 levels"));
    free(s);
    /* far deeper than jansson's own limit: refused, no recursion */
    size_t n = 100000;
    s = malloc(2 * n + 100);
    assert_non_null(s);
    strcpy(s, "{\"aggregate_id\":\"O1\",\"maybe\":");
    char *t = s + strlen(s);
    memset(t, '[', n);
    memset(t + n, ']', n);
    strcpy(t + 2 * n, "}");
    assert_int_equal(decode_both(&lists_plant_desc, s, strlen(s), &m, &err), -1);
    assert_string_equal(err.code, "invalid_json");
    free(s);
}

/* {"aggregate_id":"O1","extra":[0.5,1.5,...]} with n elements and `tail`. */
static char *floats_text(size_t n, const char *tail, size_t *len) {
    size_t cap = 64 + n * 8 + strlen(tail), o = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    o += (size_t)sprintf(s, "{\"aggregate_id\":\"O1\",\"value\":null,\"extra\":[");
    for (size_t i = 0; i < n; i++) o += (size_t)sprintf(s + o, i ? ",%zu.5" : "%zu.5", i % 100);
    o += (size_t)sprintf(s + o, "%s]}", tail);
    *len = o;
    return s;
}

static void test_million(void **st) {
    (void)st;
    void *m;
    inc_error err;
    size_t len, tlen;
    char *s = floats_text(INC_LIST_MAX_ITEMS, "", &len);
    assert_int_equal(decode_both(&lists_scored_desc, s, len, &m, &err), 0);
    lists_scored *sc = m;
    assert_int_equal(sc->extra.len, INC_LIST_MAX_ITEMS);
    assert_true(sc->extra.items[INC_LIST_MAX_ITEMS - 1] == 99.5);
    char *t = inc_msg_to_text(&lists_scored_desc, m, 0, &tlen);
    assert_int_equal(tlen, len);
    assert_memory_equal(t, s, len);
    free(t);
    drop(&lists_scored_desc, m);
    free(s);
    s = floats_text(INC_LIST_MAX_ITEMS, ",7.5", &len);
    assert_int_equal(decode_both(&lists_scored_desc, s, len, &m, &err), -1);
    assert_string_equal(err.code, "too_long");
    assert_string_equal(err.message, "$.extra: more than 1000000 elements");
    free(s);
    s = floats_text(INC_LIST_MAX_ITEMS - 1, ",\"x\"", &len);
    assert_int_equal(decode_both(&lists_scored_desc, s, len, &m, &err), -1);
    assert_string_equal(err.message, "$.extra[999999]: expected number, got string");
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deep),
        cmocka_unit_test(test_million),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
