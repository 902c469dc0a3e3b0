/* test_list_rules.c - the compiled rules over records and lists of the
 * golden domain tests/golden/lists (len, in, sum/count/all/any, field
 * access, whole assignment, += and -=), run through the database-free
 * runtime against values computed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lists.h"

typedef struct run_result {
    int n;              /* events, or -1 */
    inc_error err;
    int64_t total;      /* Placed.total of the last run that placed */
} run_result;

/* Decode `json` as command `name`, execute it against `s`, fold the
 * events into `s`. */
static run_result run(lists_order_state *s, const char *name, const char *json) {
    run_result r = {-1, {0}, -1};
    const inc_message_desc *cd = inc_domain_command(&lists_domain, name);
    assert_non_null(cd);
    void *cmd = calloc(1, cd->size);
    assert_non_null(cmd);
    inc_event_list out = INC_EVENT_LIST_INIT;
    inc_error_clear(&r.err);
    if (inc_msg_from_text(cd, cmd, json, strlen(json), 0, &r.err) != 0) goto done;
    if (inc_execute(cd->aggregate, s, cd, cmd, &out, &r.err) != 0) goto done;
    for (size_t i = 0; i < out.count; i++) {
        if (out.items[i].desc == &lists_placed_desc)
            r.total = ((const lists_placed *)out.items[i].data)->total;
        if (inc_state_apply(cd->aggregate, s, out.items[i].desc, out.items[i].data,
                            s->version + 1, INT64_C(1764151200000000), &r.err) != 0)
            goto done;
    }
    r.n = (int)out.count;
done:
    inc_event_list_free(&out);
    inc_msg_free(cd, cmd);
    free(cmd);
    return r;
}

static void expect_reject(lists_order_state *s, const char *name, const char *json,
                          const char *code) {
    run_result r = run(s, name, json);
    if (r.n >= 0) fail_msg("%s %s: accepted, expected %s", name, json, code);
    assert_int_equal(r.err.kind, INC_ERR_REJECTED);
    assert_string_equal(r.err.code, code);
}

static run_result expect_ok(lists_order_state *s, const char *name, const char *json) {
    run_result r = run(s, name, json);
    if (r.n < 0) fail_msg("%s %s: %s: %s", name, json, r.err.code, r.err.message);
    assert_int_equal(r.n, 1);
    return r;
}

static void order(lists_order_state *s) {
    inc_error err;
    assert_int_equal(inc_state_init(&lists_order_type, s, "O1", &err), 0);
}

#define L_A "{\"sku\":\"a\",\"qty\":2,\"price\":{\"amount\":150},\"tags\":[]}"
#define L_B \
    "{\"sku\":\"b\",\"qty\":3,\"price\":{\"amount\":10,\"currency\":\"USD\"},\"tags\":[\"x\"]}"
#define PLACE(lines, rest) "{\"aggregate_id\":\"O1\",\"lines\":[" lines "]" rest "}"

/* check clauses: len, all, any, a field of an optional record */
static void test_checks(void **st) {
    (void)st;
    lists_order_state s;
    order(&s);
    expect_reject(&s, "Place", PLACE("", ""), "empty_order");
    expect_reject(&s, "Place",
                  PLACE(L_A ",{\"sku\":\"c\",\"qty\":0,\"price\":{\"amount\":1},\"tags\":[]}",
                        ""),
                  "bad_quantity");
    expect_reject(&s, "Place",
                  PLACE(L_A ",{\"sku\":\"\",\"qty\":1,\"price\":{\"amount\":1},\"tags\":[]}",
                        ""),
                  "bad_sku");
    expect_reject(&s, "Place", PLACE(L_A, ",\"address\":{\"city\":\"\"}"), "bad_address");
    /* the products, then their sum, overflow: rejections, never UB */
    expect_reject(&s, "Place",
                  PLACE("{\"sku\":\"a\",\"qty\":4611686018427387904,\"price\":{\"amount\":2},"
                        "\"tags\":[]}",
                        ""),
                  "integer_overflow");
    expect_reject(&s, "Place",
                  PLACE("{\"sku\":\"a\",\"qty\":4611686018427387904,\"price\":{\"amount\":1},"
                        "\"tags\":[]},{\"sku\":\"b\",\"qty\":4611686018427387904,"
                        "\"price\":{\"amount\":1},\"tags\":[]}",
                        ""),
                  "integer_overflow");
    assert_int_equal(s.version, 0);
    inc_msg_free(&lists_order_state_desc, &s);
}

static void test_place_and_project(void **st) {
    (void)st;
    lists_order_state s;
    order(&s);
    run_result r = expect_ok(&s, "Place",
                             PLACE(L_A "," L_B, ",\"address\":{\"city\":\"Oslo\"},"
                                                "\"colors\":[\"blue\"]"));
    assert_int_equal(r.total, 2 * 150 + 3 * 10);
    assert_true(s.placed);
    assert_int_equal(s.lines.len, 2);
    assert_string_equal(s.lines.items[1].sku, "b");
    assert_string_equal(s.lines.items[0].price.currency, "EUR"); /* default */
    assert_string_equal(s.lines.items[1].price.currency, "USD");
    assert_string_equal(s.lines.items[1].tags.items[0], "x");
    assert_true(s.has_address);
    assert_string_equal(s.address.city, "Oslo");
    /* colors = event.colors; colors += Color.red */
    assert_int_equal(s.colors.len, 2);
    assert_int_equal(s.colors.items[0], LISTS_COLOR_BLUE);
    assert_int_equal(s.colors.items[1], LISTS_COLOR_RED);
    /* skus = []; skus += "first"; skus -= "first" */
    assert_int_equal(s.skus.len, 0);
    expect_reject(&s, "Place", PLACE(L_A, ""), "already_placed");

    lists_orders_row row;
    inc_msg_init(&lists_orders_row_desc, &row);
    inc_error err;
    assert_int_equal(lists_orders_project(&s, &row, &err), 0);
    assert_int_equal(row.n_lines, 2);
    assert_int_equal(row.quantity, 5);
    assert_true(row.red);
    assert_true(row.shipped);
    assert_int_equal(row.lines.len, 2);
    assert_string_equal(row.address.city, "Oslo");
    assert_true(row.has_address);
    inc_msg_free(&lists_orders_row_desc, &row);
    inc_msg_free(&lists_order_state_desc, &s);
}

/* += one record, membership, remove where, remove a value, xs += xs */
static void test_add_remove(void **st) {
    (void)st;
    lists_order_state s;
    order(&s);
    const char *add_c =
        "{\"aggregate_id\":\"O1\",\"line\":{\"sku\":\"c\",\"qty\":1,\"price\":{\"amount\":5},"
        "\"tags\":[]}}";
    expect_reject(&s, "AddLine", add_c, "not_placed");
    expect_ok(&s, "Place", PLACE(L_A "," L_B, ""));
    assert_false(s.has_address);
    expect_ok(&s, "AddLine", add_c);
    assert_int_equal(s.lines.len, 3);
    assert_string_equal(s.lines.items[2].sku, "c");
    assert_int_equal(s.skus.len, 1);
    expect_reject(&s, "AddLine", add_c, "duplicate_sku");
    const char *add_c2 =
        "{\"aggregate_id\":\"O1\",\"line\":{\"sku\":\"a\",\"qty\":7,\"price\":{\"amount\":5},"
        "\"tags\":[]}}";
    expect_ok(&s, "AddLine", add_c2); /* a second line with sku a */
    assert_int_equal(s.lines.len, 4);
    /* Tag: any(l.sku == sku && !(tag in l.tags)); apply doubles skus */
    expect_reject(&s, "Tag", "{\"aggregate_id\":\"O1\",\"sku\":\"b\",\"tag\":\"x\"}",
                  "unknown_sku");
    expect_ok(&s, "Tag", "{\"aggregate_id\":\"O1\",\"sku\":\"b\",\"tag\":\"y\"}");
    assert_int_equal(s.skus.len, 4); /* c a c a */
    assert_string_equal(s.skus.items[2], "c");
    assert_string_equal(s.skus.items[3], "a");
    /* RemoveSku a: both lines with sku a go, the others keep their order;
     * every "a" in skus goes */
    expect_reject(&s, "RemoveSku", "{\"aggregate_id\":\"O1\",\"sku\":\"zz\"}", "unknown_sku");
    expect_ok(&s, "RemoveSku", "{\"aggregate_id\":\"O1\",\"sku\":\"a\"}");
    assert_int_equal(s.lines.len, 2);
    assert_string_equal(s.lines.items[0].sku, "b");
    assert_string_equal(s.lines.items[1].sku, "c");
    assert_int_equal(s.skus.len, 2);
    assert_string_equal(s.skus.items[0], "c");
    assert_string_equal(s.skus.items[1], "c");
    inc_msg_free(&lists_order_state_desc, &s);
}

/* float sums and count with a filter; an optional list; list<int?> */
static void test_floats_and_optionals(void **st) {
    (void)st;
    lists_order_state s;
    order(&s);
    assert_false(s.has_scores);
    expect_reject(&s, "Score", "{\"aggregate_id\":\"O1\",\"extra\":[999.5,0.5]}", "too_much");
    /* > 1.5 and != 0: 2, 3, 4, 5 = four */
    expect_reject(&s, "Score", "{\"aggregate_id\":\"O1\",\"extra\":[2,3,4,5,0,1]}",
                  "too_many");
    expect_reject(&s, "Score", "{\"aggregate_id\":\"O1\",\"extra\":[1e308,1e308]}",
                  "float_overflow");
    expect_ok(&s, "Score", "{\"aggregate_id\":\"O1\",\"value\":7.5,\"extra\":[2,3,0,1]}");
    assert_true(s.has_scores);
    assert_int_equal(s.scores.len, 5);
    assert_true(s.scores.items[4] == 7.5);
    /* maybe += null; maybe -= x if x == 3 (a null never equals 3) */
    assert_int_equal(s.maybe.len, 1);
    assert_false(s.maybe.has[0]);
    /* a null value cannot be added to a list<float>: the reducer refuses */
    run_result r = run(&s, "Score", "{\"aggregate_id\":\"O1\",\"extra\":[]}");
    assert_int_equal(r.n, -1);
    assert_string_equal(r.err.code, "missing_value");
    inc_msg_free(&lists_order_state_desc, &s);
}

static void test_recursive_records(void **st) {
    (void)st;
    lists_order_state s;
    order(&s);
    char kids[2048] = "";
    strcat(kids, "{\"aggregate_id\":\"O1\",\"maybe\":[1,null,3,2,5],\"tree\":{\"name\":\"r\","
                 "\"kids\":[");
    for (int i = 0; i < 11; i++)
        strcat(kids, i ? ",{\"name\":\"k\",\"kids\":[]}" : "{\"name\":\"k\",\"kids\":[]}");
    strcat(kids, "]}}");
    expect_reject(&s, "Plant", kids, "too_many");
    expect_ok(&s, "Plant",
              "{\"aggregate_id\":\"O1\",\"maybe\":[1,null,3,2,5],\"tree\":{\"name\":\"r\","
              "\"kids\":[{\"name\":\"a\",\"kids\":[{\"name\":\"b\",\"kids\":[]}]}]}}");
    assert_true(s.has_tree);
    assert_string_equal(s.tree.kids.items[0].kids.items[0].name, "b");
    /* maybe -= x if x != null && x > 2: [1, null, 2] */
    assert_int_equal(s.maybe.len, 3);
    assert_int_equal(s.maybe.items[0], 1);
    assert_false(s.maybe.has[1]);
    assert_int_equal(s.maybe.items[2], 2);
    inc_msg_free(&lists_order_state_desc, &s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_place_and_project),
        cmocka_unit_test(test_add_remove),
        cmocka_unit_test(test_floats_and_optionals),
        cmocka_unit_test(test_recursive_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
