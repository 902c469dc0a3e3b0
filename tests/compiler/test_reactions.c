/* test_reactions.c - the reactions aggc compiles (tests/golden/reactions),
 * run by the pipeline on the memory store: the first command and its
 * `then` step, the `else` step on a rejection, a rejection with no `else`
 * and a failed field computation reported as the handler's error, fields
 * read from the event and from the emitting aggregate's state, and the
 * order in which the commands are dispatched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/app.h>
#include <incident/store.h>

#include "shop.h"

/* The extern execute of Audit: refuses a stock above 100 units. */
int shop_stock_execute_audit(const shop_stock_state *state, const shop_audit *command,
                             inc_event_list *out, inc_error *err) {
    if (state->units > 100) return inc_reject(err, "too_many_units");
    return inc_event_list_add(out, &shop_audited_desc, command->aggregate_id, err) ? 0 : -1;
}

typedef struct fixture {
    inc_store *store;
    inc_app *app;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    inc_error err;
    fx->store = inc_mem_store_open(&err);
    assert_non_null(fx->store);
    assert_int_equal(inc_store_init(fx->store, &shop_domain, &err), 0);
    fx->app = inc_app_new(&shop_domain, fx->store, &err);
    assert_non_null(fx->app);
    /* inc_app_new registered the domain's reactions */
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    inc_app_free(fx->app);
    inc_store_close(fx->store);
    free(fx);
    return 0;
}

/* Dispatch; the command itself must succeed.  The events, as
 * "Type:aggregate_id" joined by spaces, go to `trail`. */
static void dispatch(fixture *fx, const char *command, const char *json, inc_result *res,
                     char *trail, size_t cap) {
    inc_error err;
    inc_result_init(res);
    if (inc_dispatch_json(fx->app, command, json, res, &err) != 0)
        fail_msg("%s %s: %s: %s", command, json, err.code, err.message);
    size_t n = 0;
    trail[0] = '\0';
    for (size_t i = 0; i < res->count; i++)
        n += (size_t)snprintf(trail + n, cap - n, "%s%s:%s", i ? " " : "",
                              res->events[i].event_type, res->events[i].aggregate_id);
    assert_true(n < cap);
}

static int64_t stock_units(fixture *fx, const char *id) {
    shop_stock_state s;
    inc_error err;
    assert_int_equal(inc_app_state(fx->app, &shop_stock_type, id, &s, &err), 0);
    int64_t units = s.units;
    shop_stock_state_free(&s);
    return units;
}

/* The reason of the first OrderRejected in the result. */
static const char *first_reason(const inc_result *res) {
    for (size_t i = 0; i < res->count; i++)
        if (strcmp(res->events[i].event_type, "OrderRejected") == 0)
            return ((const shop_order_rejected *)res->events[i].data)->reason;
    return NULL;
}

/* Reserved: the `then` step confirms the order, and the audit that reacts
 * to the confirmation runs before the next reaction to OrderPlaced. */
static void test_then(void **state) {
    fixture *fx = *state;
    inc_result res;
    char trail[1024];
    dispatch(fx, "Restock", "{\"aggregate_id\":\"stock-apple\",\"units\":10}", &res, trail,
             sizeof trail);
    inc_result_free(&res);
    dispatch(fx, "PlaceOrder",
             "{\"aggregate_id\":\"O1\",\"sku\":\"apple\",\"qty\":3,\"note\":\"gift\"}", &res,
             trail, sizeof trail);
    assert_false(res.handler_failed);
    assert_string_equal(trail, "OrderPlaced:O1 Reserved:stock-apple OrderConfirmed:O1 "
                               "Audited:stock-apple Restocked:overflow OrderRejected:O1 "
                               "Restocked:stock-apple");
    /* units = event.qty * 2 - state.qty, order_id = the event's aggregate */
    const shop_reserved *r = res.events[1].data;
    assert_int_equal(r->units, 3);
    assert_string_equal(r->order_id, "O1");
    assert_string_equal(first_reason(&res), "set aside");
    /* events caused by a reaction carry the triggering event as causation */
    assert_string_equal(res.events[1].causation_id, res.events[0].event_id);
    inc_result_free(&res);
    assert_int_equal(stock_units(fx, "stock-apple"), 10); /* 10 - 3 + 3 */
    assert_int_equal(stock_units(fx, "overflow"), 1);     /* 3 / 2 */
}

/* Out of stock: the `else` step rejects the order, its reason computed from
 * the order's state; put_back then restocks what the order held. */
static void test_else(void **state) {
    fixture *fx = *state;
    inc_result res;
    char trail[1024];
    dispatch(fx, "PlaceOrder", "{\"aggregate_id\":\"O2\",\"sku\":\"pear\",\"qty\":4}", &res,
             trail, sizeof trail);
    assert_false(res.handler_failed);
    assert_string_equal(trail, "OrderPlaced:O2 OrderRejected:O2 Restocked:stock-pear "
                               "Restocked:overflow OrderRejected:O2 Restocked:stock-pear");
    assert_string_equal(first_reason(&res), "no stock for pear");
    inc_result_free(&res);
    assert_int_equal(stock_units(fx, "stock-pear"), 8);
}

/* A rejection with no `else` is the reaction's error; the commands before
 * it stay committed and the other reactions still run. */
static void test_rejected_without_else(void **state) {
    fixture *fx = *state;
    inc_result res;
    char trail[1024];
    dispatch(fx, "Restock", "{\"aggregate_id\":\"stock-fig\",\"units\":500}", &res, trail,
             sizeof trail);
    inc_result_free(&res);
    dispatch(fx, "PlaceOrder", "{\"aggregate_id\":\"O3\",\"sku\":\"fig\",\"qty\":1}", &res,
             trail, sizeof trail);
    assert_true(res.handler_failed);
    assert_int_equal(res.handler_error.kind, INC_ERR_REJECTED);
    assert_string_equal(res.handler_error.code, "too_many_units");
    assert_string_equal(trail, "OrderPlaced:O3 Reserved:stock-fig OrderConfirmed:O3 "
                               "Restocked:overflow OrderRejected:O3 Restocked:stock-fig");
    inc_result_free(&res);
}

/* A field that cannot be computed (event.qty * 2 overflows) fails the
 * reaction before it dispatched anything. */
static void test_computation_fails(void **state) {
    fixture *fx = *state;
    inc_result res;
    char trail[1024];
    dispatch(fx, "PlaceOrder",
             "{\"aggregate_id\":\"O4\",\"sku\":\"plum\",\"qty\":9223372036854775807}", &res,
             trail, sizeof trail);
    assert_true(res.handler_failed);
    assert_string_equal(res.handler_error.code, "integer_overflow");
    /* reserve_stock dispatched nothing; set_aside ran */
    assert_string_equal(trail, "OrderPlaced:O4 Restocked:overflow OrderRejected:O4 "
                               "Restocked:stock-plum");
    assert_string_equal(first_reason(&res), "set aside");
    inc_result_free(&res);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_then, setup, teardown),
        cmocka_unit_test_setup_teardown(test_else, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_without_else, setup, teardown),
        cmocka_unit_test_setup_teardown(test_computation_fails, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
