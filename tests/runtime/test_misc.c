/* test_misc.c - inc_error and the helpers of <incident/gen.h> that generated
 * code relies on: overflow-checked arithmetic, string assignment, scratch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/error.h>
#include <incident/gen.h>

static void test_error_basics(void **state) {
    inc_error err;
    (void)state;
    assert_string_equal(inc_error_kind_name(INC_OK), "ok");
    assert_string_equal(inc_error_kind_name(INC_ERR_INVALID), "invalid");
    assert_string_equal(inc_error_kind_name(INC_ERR_REJECTED), "rejected");
    assert_string_equal(inc_error_kind_name(INC_ERR_CONFLICT), "conflict");
    assert_string_equal(inc_error_kind_name(INC_ERR_NOT_FOUND), "not_found");
    assert_string_equal(inc_error_kind_name(INC_ERR_UNAVAILABLE),
                        "unavailable");
    assert_string_equal(inc_error_kind_name(INC_ERR_INTERNAL), "internal");
    assert_string_equal(inc_error_kind_name((inc_error_kind)99), "unknown");
    assert_int_equal(inc_error_set(&err, INC_ERR_INVALID, "wrong_type",
                                   "$.%s: expected %s", "amount", "integer"),
                     -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_string_equal(err.code, "wrong_type");
    assert_string_equal(err.message, "$.amount: expected integer");
    inc_error_clear(&err);
    assert_int_equal(err.kind, INC_OK);
    assert_string_equal(err.code, "");
    assert_string_equal(err.message, "");
    inc_error_clear(NULL);
    assert_int_equal(inc_error_set(NULL, INC_ERR_INTERNAL, "x", "y"), -1);
    assert_int_equal(inc_reject(NULL, "x"), -1);
    assert_int_equal(inc_reject(&err, "no_enough_balance"), -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, "no_enough_balance");
    assert_string_equal(err.message, "no_enough_balance");
    assert_int_equal(inc_error_set(&err, INC_ERR_INTERNAL, NULL, NULL), -1);
    assert_string_equal(err.code, "");
    assert_string_equal(err.message, "");
}

static void test_error_truncation(void **state) {
    inc_error err;
    char big[2000];
    size_t i;
    (void)state;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    inc_error_set(&err, INC_ERR_INVALID, big, "%s", big);
    assert_int_equal(strlen(err.code), INC_ERROR_CODE_MAX - 1);
    assert_int_equal(strlen(err.message), INC_ERROR_MESSAGE_MAX - 1);
    /* a multi-byte character cut by the limit is dropped whole */
    for (i = 0; i + 2 < sizeof big - 1; i += 3) memcpy(big + i, "\xe2\x82\xac", 3);
    big[i] = '\0';
    inc_error_set(&err, INC_ERR_INVALID, "c", "a%s", big);
    assert_int_equal(strlen(err.message), 511); /* 'a' + 170 whole euros */
    assert_int_equal((unsigned char)err.message[510], 0xac);
    inc_error_set(&err, INC_ERR_INVALID, "c", "ab%s", big);
    assert_int_equal(strlen(err.message), 509); /* 2 of 3 bytes dropped */
    assert_int_equal((unsigned char)err.message[508], 0xac);
    inc_error_set(&err, INC_ERR_INVALID, "c", "abc%s", big);
    assert_int_equal(strlen(err.message), 510); /* 1 of 3 bytes dropped */
    inc_error_set(&err, INC_ERR_INVALID, "c", "abcd%s", big);
    assert_int_equal(strlen(err.message), 511);
    /* arguments may point into the error itself */
    inc_error_set(&err, INC_ERR_INVALID, "inner", "field: bad");
    inc_error_set(&err, INC_ERR_INTERNAL, err.code, "outer: %s", err.message);
    assert_string_equal(err.code, "inner");
    assert_string_equal(err.message, "outer: field: bad");
}

static void test_overflow_helpers(void **state) {
    int64_t r;
    (void)state;
    assert_true(inc_i64_add(INT64_MAX, 1, &r));
    assert_true(inc_i64_add(INT64_MIN, -1, &r));
    assert_false(inc_i64_add(INT64_MAX, 0, &r));
    assert_true(r == INT64_MAX);
    assert_false(inc_i64_add(-5, 3, &r));
    assert_int_equal(r, -2);
    assert_true(inc_i64_sub(INT64_MIN, 1, &r));
    assert_true(inc_i64_sub(0, INT64_MIN, &r));
    assert_false(inc_i64_sub(-1, INT64_MIN, &r));
    assert_true(r == INT64_MAX);
    assert_true(inc_i64_mul(INT64_MAX, 2, &r));
    assert_true(inc_i64_mul(INT64_MIN, -1, &r));
    assert_true(inc_i64_mul(INT64_C(4294967296), INT64_C(4294967296), &r));
    assert_false(inc_i64_mul(-3, 7, &r));
    assert_int_equal(r, -21);
    assert_true(inc_i64_neg(INT64_MIN, &r));
    assert_false(inc_i64_neg(INT64_MAX, &r));
    assert_true(r == -INT64_MAX);
    assert_true(inc_i64_div(INT64_MIN, -1, &r));
    assert_false(inc_i64_div(INT64_MIN, 1, &r));
    assert_true(r == INT64_MIN);
    assert_false(inc_i64_div(-7, 2, &r));
    assert_int_equal(r, -3); /* C truncation */
    assert_false(inc_i64_mod(INT64_MIN, -1, &r));
    assert_int_equal(r, 0);
    assert_false(inc_i64_mod(-7, 2, &r));
    assert_int_equal(r, -1);
}

static void test_string_helpers(void **state) {
    char *s = NULL, *old;
    inc_error err;
    (void)state;
    assert_true(inc_str_eq(NULL, NULL));
    assert_false(inc_str_eq("a", NULL));
    assert_false(inc_str_eq(NULL, ""));
    assert_true(inc_str_eq("ab", "ab"));
    assert_true(inc_str_cmp(NULL, "") == 0);
    assert_true(inc_str_cmp("a", "b") < 0);
    assert_int_equal(inc_str_set(&s, "hello", &err), 0);
    assert_string_equal(s, "hello");
    old = s;
    assert_int_equal(inc_str_set(&s, s, &err), 0); /* self-assignment */
    assert_string_equal(s, "hello");
    assert_ptr_not_equal(s, old);
    assert_int_equal(inc_str_set(&s, s + 3, &err), 0); /* overlapping */
    assert_string_equal(s, "lo");
    assert_int_equal(inc_str_set(&s, NULL, &err), 0);
    assert_null(s);
    assert_int_equal(inc_str_set(&s, "", NULL), 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_scratch(void **state) {
    inc_scratch sc = INC_SCRATCH_INIT;
    const char *a, *b = NULL;
    inc_error err;
    int i;
    (void)state;
    a = inc_scratch_concat(&sc, "foo", "bar", &err);
    assert_string_equal(a, "foobar");
    for (i = 0; i < 20; i++) b = inc_scratch_concat(&sc, b, "x", &err);
    assert_int_equal(strlen(b), 20);
    assert_string_equal(a, "foobar"); /* earlier results stay valid */
    assert_string_equal(inc_scratch_concat(&sc, NULL, NULL, &err), "");
    assert_string_equal(inc_scratch_concat(&sc, "a", NULL, &err), "a");
    assert_int_equal(sc.count, 23);
    inc_scratch_free(&sc);
    assert_int_equal(sc.count, 0);
    assert_null(sc.items);
    inc_scratch_free(&sc); /* twice */
    inc_scratch_free(NULL);
    /* reusable after free */
    assert_string_equal(inc_scratch_concat(&sc, "q", "r", &err), "qr");
    inc_scratch_free(&sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_basics),
        cmocka_unit_test(test_error_truncation),
        cmocka_unit_test(test_overflow_helpers),
        cmocka_unit_test(test_string_helpers),
        cmocka_unit_test(test_scratch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
