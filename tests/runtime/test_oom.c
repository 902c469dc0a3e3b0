/* test_oom.c - allocation-failure injection.  malloc/realloc/free are
 * wrapped at link time (-Wl,--wrap): each scenario is run failing its 1st,
 * 2nd, ... allocation until it runs without an injected failure; every run
 * must fail cleanly (out_of_memory, outputs untouched) and free exactly what
 * it allocated.  jansson's own allocations are not wrapped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/domain.h>
#include <incident/gen.h>

#include "fixtures.h"
#include "lists_fixtures.h"

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static long target = -1;  /* which allocation of the armed region fails */
static long fail_at = -1; /* armed: == target; disarmed: -1 */
static long calls, live;

static bool should_fail(void) {
    return fail_at >= 0 && calls++ == fail_at;
}

void *__wrap_malloc(size_t n) {
    void *p;
    if (should_fail()) return NULL;
    p = __real_malloc(n);
    if (p) live++;
    return p;
}

void *__wrap_realloc(void *p, size_t n) {
    void *q;
    if (should_fail()) return NULL;
    q = __real_realloc(p, n);
    if (q && !p) live++;
    return q;
}

void __wrap_free(void *p) {
    if (p) live--;
    __real_free(p);
}

/* Scenarios call arm() once their setup is done. */
static void arm(void) {
    calls = 0;
    fail_at = target;
}

typedef int (*scenario)(inc_error *err);

static void run(scenario fn) {
    long n;
    for (n = 0;; n++) {
        long live0 = live;
        inc_error err;
        int rc;
        inc_error_clear(&err);
        target = n;
        rc = fn(&err);
        fail_at = -1;
        if (live != live0) fail_msg("leak of %ld blocks failing allocation %ld",
                                    live - live0, n);
        if (rc != 0) {
            if (strcmp(err.code, "out_of_memory") != 0)
                fail_msg("allocation %ld: unexpected error %s: %s", n,
                         err.code, err.message);
        }
        if (calls <= n) { /* nothing was injected: the normal path */
            assert_int_equal(rc, 0);
            break;
        }
    }
    assert_true(n > 0);
}

static int decode_kitchen(inc_error *err) {
    static const char text[] =
        "{\"aggregate_id\":\"K1\",\"i\":1,\"f\":1,\"b\":false,\"s\":\"s\","
        "\"t\":\"1970-01-01T00:00:00Z\",\"e\":\"red\",\"os\":\"o\","
        "\"ds\":\"d\"}";
    t_kitchen k;
    int rc;
    arm();
    rc = inc_msg_from_text(&t_kitchen_desc, &k, text, sizeof text - 1, 0, err);
    if (rc == 0) {
        /* only a default string may have been lost to the failure */
        assert_string_equal(k.s, "s");
        assert_string_equal(k.os, "o");
        assert_string_equal(k.ds, "d");
    } else {
        assert_null(k.s);
        assert_null(k.aggregate_id);
    }
    inc_msg_free(&t_kitchen_desc, &k);
    return rc;
}

static int init_kitchen(inc_error *err) {
    t_kitchen k;
    (void)err;
    arm();
    inc_msg_init(&t_kitchen_desc, &k); /* cannot fail; defaults may be NULL */
    if (!k.ods) assert_false(k.has_ods);
    inc_msg_free(&t_kitchen_desc, &k);
    return 0;
}

static int copy_kitchen(inc_error *err) {
    t_kitchen a, b;
    int rc;
    inc_msg_init(&t_kitchen_desc, &a);
    assert_int_equal(inc_str_set(&a.aggregate_id, "K", err), 0);
    assert_int_equal(inc_str_set(&a.s, "s", err), 0);
    arm();
    rc = inc_msg_copy(&t_kitchen_desc, &b, &a, err);
    fail_at = -1;
    if (rc == 0) {
        assert_string_equal(b.s, "s");
        inc_msg_free(&t_kitchen_desc, &b);
    } else {
        assert_null(b.s);
        assert_null(b.ds);
    }
    inc_msg_free(&t_kitchen_desc, &a);
    return rc;
}

static int execute_and_fold(inc_error *err) {
    t_account_state s;
    t_open_account c = {NULL, NULL};
    inc_event_list out = INC_EVENT_LIST_INIT;
    int rc;
    size_t i;
    for (i = 0; i < 4; i++) /* fill `out` to capacity: the move must grow */
        assert_non_null(
            inc_event_list_add(&out, &t_money_deposited_desc, "A1", err));
    assert_int_equal(inc_str_set(&c.aggregate_id, "A1", err), 0);
    assert_int_equal(inc_str_set(&c.account_number, "NL01", err), 0);
    arm();
    rc = inc_state_init(&t_account_type, &s, "A1", err);
    if (rc == 0) {
        rc = inc_execute(&t_account_type, &s, &t_open_account_desc, &c, &out,
                         err);
        if (rc != 0) assert_int_equal(out.count, 4);
    }
    if (rc == 0) {
        assert_int_equal(out.count, 5);
        rc = inc_state_apply(&t_account_type, &s, out.items[4].desc,
                             out.items[4].data, 1, 0, err);
        if (rc != 0) assert_int_equal(s.version, 0);
    }
    if (rc == 0) assert_string_equal(s.account_number, "NL01");
    inc_msg_free(&t_account_state_desc, &s);
    inc_event_list_free(&out);
    inc_msg_free(&t_open_account_desc, &c);
    return rc;
}

static int event_list_growth(inc_error *err) {
    inc_event_list l = INC_EVENT_LIST_INIT;
    int i, rc = 0;
    arm();
    for (i = 0; i < 9 && rc == 0; i++)
        if (!inc_event_list_add(&l, &t_money_deposited_desc, "A1", err))
            rc = -1;
    if (rc != 0) assert_int_equal(l.count, (size_t)(i - 1));
    inc_event_list_free(&l);
    return rc;
}

static int scratch_and_strings(inc_error *err) {
    inc_scratch sc = INC_SCRATCH_INIT;
    char *s = NULL;
    const char *r = "";
    int i, rc = 0;
    assert_int_equal(inc_str_set(&s, "keep", err), 0);
    arm();
    for (i = 0; i < 10 && r; i++) r = inc_scratch_concat(&sc, r, "x", err);
    if (!r) rc = -1;
    if (rc == 0 && inc_str_set(&s, "new", err) != 0) {
        rc = -1;
        assert_string_equal(s, "keep"); /* unchanged on failure */
    }
    fail_at = -1;
    inc_scratch_free(&sc);
    free(s);
    return rc;
}

/* inc_msg_to_text: its first buffer and every growth of it. */
static int encode_kitchen(inc_error *err) {
    t_kitchen k;
    char big[2000], *text;
    size_t len = 0;
    int rc = 0;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    inc_msg_init(&t_kitchen_desc, &k);
    assert_int_equal(inc_str_set(&k.aggregate_id, "K1", err), 0);
    assert_int_equal(inc_str_set(&k.s, big, err), 0);
    arm();
    text = inc_msg_to_text(&t_kitchen_desc, &k, 0, &len);
    fail_at = -1;
    if (text) {
        assert_int_equal(strlen(text), len);
        assert_true(len > sizeof big);
        free(text);
    } else {
        rc = inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                           "inc_msg_to_text failed");
    }
    inc_msg_free(&t_kitchen_desc, &k);
    return rc;
}

static void test_decode(void **state) { (void)state; run(decode_kitchen); }
static void test_init(void **state) { (void)state; run(init_kitchen); }
static void test_copy(void **state) { (void)state; run(copy_kitchen); }
static void test_core(void **state) { (void)state; run(execute_and_fold); }
static void test_list(void **state) { (void)state; run(event_list_growth); }
static void test_gen(void **state) { (void)state; run(scratch_and_strings); }
static void test_encode(void **state) { (void)state; run(encode_kitchen); }

/* Records and lists (lists_fixtures.h): decoding (the scanner gives up on
 * a failed allocation and the jansson path runs), deep copy, encoding. */
static const char order_text[] =
    "{\"aggregate_id\":\"O1\",\"lines\":[{\"sku\":\"A\",\"qty\":2,"
    "\"price\":{\"amount\":1},\"tags\":[\"t1\",\"t2\",\"t3\",\"t4\",\"t5\"]},"
    "{\"sku\":\"B\",\"qty\":1,\"price\":{\"amount\":7,\"currency\":\"USD\"},"
    "\"tags\":[],\"note\":\"n\"}],\"address\":{\"city\":\"L\",\"zip\":\"6\"},"
    "\"billing\":{\"city\":\"P\"},\"colors\":[\"red\",\"blue\"],"
    "\"stamps\":[\"2026-11-26T10:00:00Z\"],\"maybe\":[1,null,3,4,5,6],"
    "\"scores\":[1.5],\"flags\":[true],"
    "\"tree\":{\"name\":\"r\",\"kids\":[{\"name\":\"k\",\"kids\":[]}]}}";

static int decode_order(inc_error *err) {
    l_order o;
    int rc;
    arm();
    rc = inc_msg_from_text(&l_order_desc, &o, order_text,
                           sizeof order_text - 1, 0, err);
    fail_at = -1;
    if (rc == 0) {
        assert_int_equal(o.lines.len, 2);
        assert_int_equal(o.lines.items[0].tags.len, 5);
        assert_string_equal(o.tree.kids.items[0].name, "k");
        assert_int_equal(o.maybe.len, 6);
    } else {
        assert_int_equal(o.lines.len, 0);
        assert_null(o.lines.items);
        assert_false(o.has_tree);
    }
    inc_msg_free(&l_order_desc, &o);
    return rc;
}

static int copy_order(inc_error *err) {
    l_order a, b;
    int rc;
    assert_int_equal(inc_msg_from_text(&l_order_desc, &a, order_text,
                                       sizeof order_text - 1, 0, err),
                     0);
    arm();
    rc = inc_msg_copy(&l_order_desc, &b, &a, err);
    fail_at = -1;
    if (rc == 0) {
        assert_string_equal(b.lines.items[0].tags.items[4], "t5");
        inc_msg_free(&l_order_desc, &b);
    } else {
        assert_null(b.lines.items);
        assert_null(b.tree.kids.items);
    }
    inc_msg_free(&l_order_desc, &a);
    return rc;
}

static int encode_order(inc_error *err) {
    l_order o;
    char *text;
    int rc = 0;
    assert_int_equal(inc_msg_from_text(&l_order_desc, &o, order_text,
                                       sizeof order_text - 1, 0, err),
                     0);
    arm();
    text = inc_msg_to_text(&l_order_desc, &o, 0, NULL);
    fail_at = -1;
    if (text)
        free(text);
    else
        rc = inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                           "inc_msg_to_text failed");
    inc_msg_free(&l_order_desc, &o);
    return rc;
}

/* inc_list_push / inc_value_assign: a failure leaves the list as it was. */
static int list_ops(inc_error *err) {
    l_order a, b;
    const inc_type_desc *lt = inc_field_type_desc(&l_order_desc.fields[1]);
    int rc = 0, i;
    assert_int_equal(inc_msg_from_text(&l_order_desc, &a, order_text,
                                       sizeof order_text - 1, 0, err),
                     0);
    inc_msg_init(&l_order_desc, &b);
    arm();
    for (i = 0; i < 9 && rc == 0; i++)
        if (!inc_list_push(&b.lines, lt, err)) rc = -1;
    if (rc != 0) assert_int_equal(b.lines.len, (size_t)(i - 1));
    if (rc == 0) {
        rc = inc_value_assign(&b.lines, &a.lines, lt, err);
        assert_int_equal(b.lines.len, rc == 0 ? 2 : 9);
    }
    fail_at = -1;
    inc_msg_free(&l_order_desc, &a);
    inc_msg_free(&l_order_desc, &b);
    return rc;
}

static void test_lists_decode(void **state) { (void)state; run(decode_order); }
static void test_lists_copy(void **state) { (void)state; run(copy_order); }
static void test_lists_encode(void **state) { (void)state; run(encode_order); }
static void test_lists_ops(void **state) { (void)state; run(list_ops); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode), cmocka_unit_test(test_init),
        cmocka_unit_test(test_copy),   cmocka_unit_test(test_core),
        cmocka_unit_test(test_list),   cmocka_unit_test(test_gen),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_lists_decode),
        cmocka_unit_test(test_lists_copy),
        cmocka_unit_test(test_lists_encode),
        cmocka_unit_test(test_lists_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
