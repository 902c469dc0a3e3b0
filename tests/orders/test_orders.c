/* test_orders.c - acceptance tests of the orders example (examples/orders,
 * docs/tutorial.md "A second domain: orders"): orders with lines and stock
 * holds through the pipeline, on the in-memory store and on PostgreSQL
 * ($INCIDENT_DB, a schema per test; a missing INCIDENT_DB is a failure),
 * including the jsonb projection columns as SQL sees them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/app.h>
#include <incident/store.h>

#include "harness.h"
#include "orders.h"

typedef th_fx ofx; /* the harness's fixture, set up for orders_domain */

static int setup(void **state) {
    ofx *fx = calloc(1, sizeof *fx);
    inc_error err;
    inc_error_clear(&err);
    assert_non_null(fx);
    fx->pg = *(bool *)*state;
    if (fx->pg) {
        if (!th_db()) {
            free(fx);
            fail_msg("INCIDENT_DB is not set: these tests need a real PostgreSQL");
        }
        th_unique_schema(fx->schema);
        inc_pg_options o = {th_db(), fx->schema};
        fx->store = inc_pg_store_open(&o, &err);
    } else {
        fx->store = inc_mem_store_open(&err);
    }
    assert_non_null(fx->store);
    assert_int_equal(inc_store_init(fx->store, &orders_domain, &err), 0);
    fx->app = inc_app_new(&orders_domain, fx->store, &err);
    assert_non_null(fx->app);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    ofx *fx = *state;
    if (!fx || fx == (void *)&th_mode_pg || fx == (void *)&th_mode_mem) return 0;
    inc_app_free(fx->app);
    inc_store_close(fx->store);
    if (fx->pg) th_drop_schema(fx->schema);
    free(fx);
    return 0;
}

#define BOTH(f)                                                                        \
    cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, &th_mode_mem),        \
        cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, &th_mode_pg)

static void ok(ofx *fx, const char *cmd, const char *json) {
    inc_error err;
    if (inc_dispatch_json(fx->app, cmd, json, NULL, &err) != 0)
        fail_msg("%s %s: %s: %s", cmd, json, err.code, err.message);
}

static void rejected(ofx *fx, const char *cmd, const char *json, const char *code) {
    inc_error err;
    inc_error_clear(&err);
    if (inc_dispatch_json(fx->app, cmd, json, NULL, &err) == 0)
        fail_msg("%s %s: accepted, expected %s", cmd, json, code);
    assert_string_equal(err.code, code);
}

/* One projection row, as JSON text (NULL when absent). */
static int row_text(void *ud, const void *row, const inc_row_meta *meta, inc_error *err) {
    (void)meta, (void)err;
    *(char **)ud = inc_msg_to_text(orders_order_summaries_projection.row, row, 0, NULL);
    return 0;
}

static int stock_text(void *ud, const void *row, const inc_row_meta *meta, inc_error *err) {
    (void)meta, (void)err;
    *(char **)ud = inc_msg_to_text(orders_stock_levels_projection.row, row, 0, NULL);
    return 0;
}

static char *row_of(ofx *fx, const inc_projection_desc *p, const char *id) {
    char *text = NULL;
    bool found = false;
    inc_error err;
    assert_int_equal(inc_store_projection_get(fx->store, p, id,
                                              p == &orders_stock_levels_projection ? stock_text
                                                                                  : row_text,
                                              &text, &found, &err),
                     0);
    return found ? text : NULL;
}

#define PLACE_O1                                                                        \
    "{\"aggregate_id\":\"O1\",\"customer\":\"ada\",\"lines\":["                          \
    "{\"sku\":\"A1\",\"qty\":2,\"price\":150},{\"sku\":\"B2\",\"qty\":1,\"price\":999}]}"

static void test_order_lifecycle(void **state) {
    ofx *fx = *state;
    rejected(fx, "PlaceOrder", "{\"aggregate_id\":\"O1\",\"customer\":\"ada\",\"lines\":[]}",
             "empty_order");
    rejected(fx, "PlaceOrder",
             "{\"aggregate_id\":\"O1\",\"customer\":\"ada\",\"lines\":["
             "{\"sku\":\"A1\",\"qty\":1,\"price\":1},{\"sku\":\"A1\",\"qty\":2,\"price\":1}]}",
             "duplicate_sku");
    rejected(fx, "PlaceOrder",
             "{\"aggregate_id\":\"O1\",\"customer\":\"ada\",\"lines\":["
             "{\"sku\":\"A1\",\"qty\":0,\"price\":1}]}",
             "invalid_line");
    rejected(fx, "AddLine",
             "{\"aggregate_id\":\"O1\",\"line\":{\"sku\":\"C3\",\"qty\":1,\"price\":5}}",
             "order_not_open");
    ok(fx, "PlaceOrder", PLACE_O1);
    rejected(fx, "PlaceOrder", PLACE_O1, "order_exists");
    char *t = row_of(fx, &orders_order_summaries_projection, "O1");
    assert_non_null(t);
    assert_string_equal(t, "{\"aggregate_id\":\"O1\",\"customer\":\"ada\",\"status\":\"placed\","
                           "\"lines\":[{\"sku\":\"A1\",\"qty\":2,\"price\":150},"
                           "{\"sku\":\"B2\",\"qty\":1,\"price\":999}],"
                           "\"n_lines\":2,\"quantity\":3,\"total\":1299}");
    free(t);
    rejected(fx, "AddLine",
             "{\"aggregate_id\":\"O1\",\"line\":{\"sku\":\"A1\",\"qty\":1,\"price\":5}}",
             "duplicate_sku");
    ok(fx, "AddLine", "{\"aggregate_id\":\"O1\",\"line\":{\"sku\":\"C3\",\"qty\":4,\"price\":5}}");
    rejected(fx, "RemoveLine", "{\"aggregate_id\":\"O1\",\"sku\":\"ZZ\"}", "unknown_sku");
    ok(fx, "RemoveLine", "{\"aggregate_id\":\"O1\",\"sku\":\"A1\"}");
    ok(fx, "RemoveLine", "{\"aggregate_id\":\"O1\",\"sku\":\"C3\"}");
    rejected(fx, "RemoveLine", "{\"aggregate_id\":\"O1\",\"sku\":\"B2\"}", "last_line");

    orders_order_state st;
    inc_error err;
    assert_int_equal(inc_app_state(fx->app, &orders_order_type, "O1", &st, &err), 0);
    assert_int_equal(st.version, 4);
    assert_int_equal(st.lines.len, 1);
    assert_string_equal(st.lines.items[0].sku, "B2");
    inc_msg_free(&orders_order_state_desc, &st);

    ok(fx, "CancelOrder", "{\"aggregate_id\":\"O1\"}");
    t = row_of(fx, &orders_order_summaries_projection, "O1");
    assert_non_null(t);
    assert_string_equal(t, "{\"aggregate_id\":\"O1\",\"customer\":\"ada\","
                           "\"status\":\"cancelled\",\"lines\":[{\"sku\":\"B2\",\"qty\":1,"
                           "\"price\":999}],\"n_lines\":1,\"quantity\":1,\"total\":999}");
    free(t);

    if (fx->pg) { /* the jsonb column, as SQL sees it */
        PGconn *c = th_conn(fx);
        char *v = th_query1(c, "SELECT jsonb_array_length(\"lines\")::text || ' ' || "
                               "(\"lines\" @> '[{\"sku\":\"B2\"}]')::text "
                               "FROM \"order_summaries\" WHERE \"aggregate_id\" = 'O1'",
                            0, NULL);
        assert_string_equal(v, "1 true");
        free(v);
        PQfinish(c);
    }
}

static void test_stock_holds(void **state) {
    ofx *fx = *state;
    rejected(fx, "Receive", "{\"aggregate_id\":\"A1\",\"qty\":0}", "invalid_quantity");
    ok(fx, "Receive", "{\"aggregate_id\":\"A1\",\"qty\":10}");
    ok(fx, "HoldStock", "{\"aggregate_id\":\"A1\",\"hold\":{\"order_id\":\"O1\",\"qty\":4}}");
    rejected(fx, "HoldStock",
             "{\"aggregate_id\":\"A1\",\"hold\":{\"order_id\":\"O1\",\"qty\":1}}",
             "already_held");
    rejected(fx, "HoldStock",
             "{\"aggregate_id\":\"A1\",\"hold\":{\"order_id\":\"O2\",\"qty\":7}}",
             "out_of_stock");
    ok(fx, "HoldStock", "{\"aggregate_id\":\"A1\",\"hold\":{\"order_id\":\"O2\",\"qty\":6}}");
    char *t = row_of(fx, &orders_stock_levels_projection, "A1");
    assert_string_equal(t, "{\"aggregate_id\":\"A1\",\"on_hand\":10,\"held\":10,"
                           "\"available\":0,\"holds\":[{\"order_id\":\"O1\",\"qty\":4},"
                           "{\"order_id\":\"O2\",\"qty\":6}]}");
    free(t);
    rejected(fx, "Release", "{\"aggregate_id\":\"A1\",\"order_id\":\"O3\"}", "not_held");
    ok(fx, "Release", "{\"aggregate_id\":\"A1\",\"order_id\":\"O1\"}");
    t = row_of(fx, &orders_stock_levels_projection, "A1");
    assert_string_equal(t, "{\"aggregate_id\":\"A1\",\"on_hand\":10,\"held\":6,"
                           "\"available\":4,\"holds\":[{\"order_id\":\"O2\",\"qty\":6}]}");
    free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        BOTH(test_order_lifecycle),
        BOTH(test_stock_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
