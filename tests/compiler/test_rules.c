/* test_rules.c - the bank and kitchen domains' compiled checks, execute
 * rules and reducers, against expectations computed by hand, through the
 * database-free runtime (inc_execute / inc_state_apply). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bank.h"
#include "edge.h"
#include "kitchen.h"

/* Decode `json` as command `name`, execute it against `state`, fold the
 * new events into `state`.  Returns the number of events, or -1 with err. */
static int run(const inc_domain *d, void *state, const char *name, const char *json,
               inc_error *err) {
    const inc_message_desc *cd = inc_domain_command(d, name);
    assert_non_null(cd);
    void *cmd = calloc(1, cd->size);
    assert_non_null(cmd);
    inc_event_list out = INC_EVENT_LIST_INIT;
    int n = -1;
    if (inc_msg_from_text(cd, cmd, json, strlen(json), 0, err) != 0) goto done;
    if (inc_execute(cd->aggregate, state, cd, cmd, &out, err) != 0) goto done;
    int64_t version = *(const int64_t *)((const char *)state +
                                         cd->aggregate->state->fields[1].offset);
    for (size_t i = 0; i < out.count; i++)
        if (inc_state_apply(cd->aggregate, state, out.items[i].desc, out.items[i].data,
                            ++version, INT64_C(1764151200000000), err) != 0)
            goto done;
    n = (int)out.count;
done:
    inc_event_list_free(&out);
    inc_msg_free(cd, cmd);
    free(cmd);
    return n;
}

static void expect_reject(const inc_domain *d, void *state, const char *name,
                          const char *json, const char *code) {
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(run(d, state, name, json, &err), -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, code);
}

static void expect_ok(const inc_domain *d, void *state, const char *name, const char *json,
                      int events) {
    inc_error err;
    inc_error_clear(&err);
    int n = run(d, state, name, json, &err);
    if (n < 0) fail_msg("%s %s: %s: %s", name, json, err.code, err.message);
    assert_int_equal(n, events);
}

/* ------------------------------------------------------------ bank */

static void account(bank_account_state *s, const char *id) {
    inc_error err;
    assert_int_equal(inc_state_init(&bank_account_type, s, id, &err), 0);
}

static void test_account_lifecycle(void **st) {
    (void)st;
    bank_account_state s;
    account(&s, "A1");
    assert_int_equal(s.version, 0);
    assert_false(s.has_updated_at);
    assert_string_equal(s.account_number, "");
    expect_reject(&bank_domain, &s, "DepositMoney", "{\"aggregate_id\":\"A1\",\"amount\":100}",
                  "account_not_found");
    expect_ok(&bank_domain, &s, "OpenAccount", "{\"aggregate_id\":\"A1\"}", 1);
    assert_string_equal(s.account_number, "A1"); /* defaults to the id */
    assert_true(s.opened);
    expect_reject(&bank_domain, &s, "OpenAccount", "{\"aggregate_id\":\"A1\"}",
                  "account_already_opened");
    expect_ok(&bank_domain, &s, "DepositMoney", "{\"aggregate_id\":\"A1\",\"amount\":100}", 1);
    expect_ok(&bank_domain, &s, "DepositMoney", "{\"aggregate_id\":\"A1\",\"amount\":100}", 1);
    assert_int_equal(s.balance, 200);
    assert_int_equal(s.version, 3);
    assert_true(s.has_updated_at);
    expect_ok(&bank_domain, &s, "WithdrawMoney", "{\"aggregate_id\":\"A1\",\"amount\":125}", 1);
    assert_int_equal(s.balance, 75);
    assert_int_equal(s.version, 4);
    expect_reject(&bank_domain, &s, "WithdrawMoney", "{\"aggregate_id\":\"A1\",\"amount\":125}",
                  "no_enough_balance");
    expect_ok(&bank_domain, &s, "WithdrawMoney", "{\"aggregate_id\":\"A1\",\"amount\":75}", 1);
    assert_int_equal(s.balance, 0); /* the whole balance may be withdrawn */
    expect_reject(&bank_domain, &s, "DepositMoney", "{\"aggregate_id\":\"A1\",\"amount\":0}",
                  "invalid_amount");
    expect_reject(&bank_domain, &s, "DepositMoney", "{\"aggregate_id\":\"A1\",\"amount\":-5}",
                  "invalid_amount");
    assert_int_equal(s.version, 5);
    bank_account_state_free(&s);
}

static void test_account_named(void **st) {
    (void)st;
    bank_account_state s;
    account(&s, "A2");
    expect_ok(&bank_domain, &s, "OpenAccount",
              "{\"aggregate_id\":\"A2\",\"account_number\":\"NL01 BANK 0001\"}", 1);
    assert_string_equal(s.account_number, "NL01 BANK 0001");
    bank_account_state_free(&s);
}

static void test_overflow_is_a_rejection(void **st) {
    (void)st;
    bank_account_state s;
    account(&s, "A1");
    expect_ok(&bank_domain, &s, "OpenAccount", "{\"aggregate_id\":\"A1\"}", 1);
    expect_ok(&bank_domain, &s, "DepositMoney",
              "{\"aggregate_id\":\"A1\",\"amount\":9223372036854775807}", 1);
    expect_reject(&bank_domain, &s, "DepositMoney", "{\"aggregate_id\":\"A1\",\"amount\":1}",
                  "integer_overflow");
    assert_int_equal(s.balance, INT64_MAX);
    bank_account_state_free(&s);
}

static void test_bad_command_json(void **st) {
    (void)st;
    bank_account_state s;
    account(&s, "A1");
    inc_error err;
    assert_int_equal(run(&bank_domain, &s, "DepositMoney",
                         "{\"aggregate_id\":\"A1\",\"amount\":\"100\"}", &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_non_null(strstr(err.message, "$.amount"));
    assert_int_equal(run(&bank_domain, &s, "DepositMoney", "{\"aggregate_id\":\"A1\"}", &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_non_null(strstr(err.message, "$.amount"));
    assert_int_equal(run(&bank_domain, &s, "DepositMoney",
                         "{\"aggregate_id\":\"\",\"amount\":1}", &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_non_null(strstr(err.message, "aggregate_id"));
    assert_int_equal(s.version, 0);
    bank_account_state_free(&s);
}

static void test_rejection_enum(void **st) {
    (void)st;
    inc_error err;
    inc_reject(&err, "no_enough_balance");
    assert_int_equal(bank_rejection_of(&err), BANK_REJECT_NO_ENOUGH_BALANCE);
    assert_string_equal(bank_rejection_name(BANK_REJECT_TRANSFER_INVALID_STATUS),
                        "transfer_invalid_status");
    inc_reject(&err, "integer_overflow");
    assert_int_equal(bank_rejection_of(&err), BANK_REJECT_NONE);
    assert_int_equal(bank_domain.n_rejections, 7);
}

static void transfer(bank_transfer_state *s) {
    inc_error err;
    assert_int_equal(inc_state_init(&bank_transfer_type, s, "T", &err), 0);
}

#define REQ "{\"aggregate_id\":\"T\",\"source_account_number\":\"A1\"," \
            "\"destination_account_number\":\"A2\",\"amount\":100}"
#define T_ "{\"aggregate_id\":\"T\"}"

static void test_transfer_state_machine(void **st) {
    (void)st;
    const char *cmds[] = {"InitiateTransfer", "CompleteTransfer", "RevertTransfer",
                          "CancelTransfer"};
    bank_transfer_state s;
    transfer(&s);
    for (size_t i = 0; i < 4; i++)
        expect_reject(&bank_domain, &s, cmds[i], T_, "transfer_not_found");
    expect_ok(&bank_domain, &s, "RequestTransfer", REQ, 1);
    assert_true(s.has_status);
    assert_int_equal(s.status, BANK_TRANSFER_STATUS_REQUESTED);
    assert_int_equal(s.amount, 100);
    assert_string_equal(s.source_account_number, "A1");
    expect_reject(&bank_domain, &s, "RequestTransfer", REQ, "transfer_already_initiated");
    expect_reject(&bank_domain, &s, "CompleteTransfer", T_, "transfer_invalid_status");
    expect_reject(&bank_domain, &s, "RevertTransfer", T_, "transfer_invalid_status");
    expect_ok(&bank_domain, &s, "InitiateTransfer", T_, 1);
    expect_reject(&bank_domain, &s, "InitiateTransfer", T_, "transfer_invalid_status");
    expect_reject(&bank_domain, &s, "CancelTransfer", T_, "transfer_invalid_status");
    expect_ok(&bank_domain, &s, "RevertTransfer", T_, 1);
    assert_int_equal(s.status, BANK_TRANSFER_STATUS_REVERTED);
    expect_ok(&bank_domain, &s, "CancelTransfer", T_, 1);
    assert_int_equal(s.status, BANK_TRANSFER_STATUS_CANCELLED);
    assert_int_equal(s.version, 4);
    expect_reject(&bank_domain, &s, "CancelTransfer", T_, "transfer_invalid_status");
    bank_transfer_state_free(&s);

    transfer(&s);
    expect_ok(&bank_domain, &s, "RequestTransfer", REQ, 1);
    expect_ok(&bank_domain, &s, "CancelTransfer", T_, 1); /* requested -> cancelled */
    bank_transfer_state_free(&s);
    transfer(&s);
    expect_ok(&bank_domain, &s, "RequestTransfer", REQ, 1);
    expect_ok(&bank_domain, &s, "InitiateTransfer", T_, 1);
    expect_ok(&bank_domain, &s, "CompleteTransfer", T_, 1);
    assert_int_equal(s.status, BANK_TRANSFER_STATUS_COMPLETED);
    bank_transfer_state_free(&s);
}

static void test_projection_row(void **st) {
    (void)st;
    bank_account_state s;
    account(&s, "A1");
    expect_ok(&bank_domain, &s, "OpenAccount", "{\"aggregate_id\":\"A1\"}", 1);
    expect_ok(&bank_domain, &s, "DepositMoney", "{\"aggregate_id\":\"A1\",\"amount\":42}", 1);
    bank_bank_accounts_row row;
    bank_bank_accounts_row_init(&row);
    inc_error err;
    assert_int_equal(bank_bank_accounts_project(&s, &row, &err), 0);
    assert_string_equal(row.aggregate_id, "A1");
    assert_string_equal(row.account_number, "A1");
    assert_int_equal(row.balance, 42);
    bank_bank_accounts_row_free(&row);
    bank_bank_accounts_row_free(&row); /* twice is fine */
    bank_account_state_free(&s);
}

/* ---------------------------------------------------------- kitchen */

static void pantry(kitchen_pantry_state *s) {
    inc_error err;
    assert_int_equal(inc_state_init(&kitchen_pantry_type, s, "P", &err), 0);
}

static void test_kitchen_defaults(void **st) {
    (void)st;
    kitchen_pantry_state s;
    pantry(&s);
    assert_int_equal(s.count, 0);
    assert_true(s.weight == 0.5);
    assert_int_equal(s.color, KITCHEN_COLOR_GREEN);
    assert_false(s.has_note);
    assert_false(s.has_shade);
    kitchen_stock c;
    kitchen_stock_init(&c);
    assert_int_equal(c.count, 1); /* `count: int = 1` */
    kitchen_stock_free(&c);
    kitchen_pantry_state_free(&s);
}

static void test_kitchen_rules(void **st) {
    (void)st;
    kitchen_pantry_state s;
    pantry(&s);
    expect_reject(&kitchen_domain, &s, "Stock",
                  "{\"aggregate_id\":\"P\",\"label\":\"x\",\"weight\":1,\"count\":0}",
                  "bad_count");
    expect_reject(&kitchen_domain, &s, "Stock",
                  "{\"aggregate_id\":\"P\",\"label\":\"x\",\"weight\":-1}", "bad_weight");
    expect_reject(&kitchen_domain, &s, "Stock",
                  "{\"aggregate_id\":\"P\",\"label\":\"x\",\"weight\":1,\"count\":101}",
                  "too_many");
    expect_reject(&kitchen_domain, &s, "Stock",
                  "{\"aggregate_id\":\"P\",\"label\":\"x\",\"weight\":1,\"count\":60}", "closed");
    expect_ok(&kitchen_domain, &s, "Stock",
              "{\"aggregate_id\":\"P\",\"label\":\"jam\",\"weight\":3,\"count\":5,"
              "\"color\":\"red\",\"seen\":\"2026-11-26T10:00:00+01:00\",\"note\":\"n\"}",
              1);
    assert_string_equal(s.label, "stock: jam");
    assert_int_equal(s.count, 9);       /* 5 * 2 - 1 */
    assert_true(s.weight == 3.0);       /* 0.5 + (3 / 2.0 + 1) */
    assert_int_equal(s.color, KITCHEN_COLOR_BLUE);
    assert_true(s.has_shade);
    assert_int_equal(s.shade, KITCHEN_COLOR_RED);
    assert_true(s.has_last_seen);
    assert_int_equal(s.last_seen, INT64_C(1795683600000000)); /* 09:00Z */
    assert_true(s.has_note);
    assert_string_equal(s.note, "n");
    /* two events from one command */
    expect_ok(&kitchen_domain, &s, "Take", "{\"aggregate_id\":\"P\",\"count\":4}", 1);
    expect_reject(&kitchen_domain, &s, "Take", "{\"aggregate_id\":\"P\",\"count\":6}",
                  "not_enough");
    expect_ok(&kitchen_domain, &s, "Take", "{\"aggregate_id\":\"P\",\"count\":5}", 2);
    assert_int_equal(s.count, 0);
    expect_reject(&kitchen_domain, &s, "Relabel", "{\"aggregate_id\":\"P\",\"label\":\"stock: jam\"}",
                  "same_label");
    expect_ok(&kitchen_domain, &s, "Relabel", "{\"aggregate_id\":\"P\",\"label\":\"honey\"}", 1);
    assert_false(s.has_note);
    assert_null(s.note);
    expect_ok(&kitchen_domain, &s, "Audit", "{\"aggregate_id\":\"P\"}", 1);
    expect_reject(&kitchen_domain, &s, "Scale", "{\"aggregate_id\":\"P\",\"factor\":0}",
                  "bad_factor");
    expect_ok(&kitchen_domain, &s, "Stock",
              "{\"aggregate_id\":\"P\",\"label\":\"x\",\"weight\":1,\"count\":10}", 1);
    expect_ok(&kitchen_domain, &s, "Scale", "{\"aggregate_id\":\"P\",\"factor\":-1}", 1);
    /* count 19; factor = 19 / -1 % 7 = -5 (C truncation); count = 19 * -5 */
    assert_int_equal(s.count, -95);
    kitchen_pantry_state_free(&s);
}

static void test_kitchen_projection(void **st) {
    (void)st;
    kitchen_pantry_state s;
    pantry(&s);
    expect_ok(&kitchen_domain, &s, "Stock",
              "{\"aggregate_id\":\"P\",\"label\":\"jam\",\"weight\":30}", 1);
    kitchen_pantry_items_row row;
    kitchen_pantry_items_row_init(&row);
    inc_error err;
    assert_int_equal(kitchen_pantry_items_project(&s, &row, &err), 0);
    assert_string_equal(row.label, "stock: jam");
    assert_string_equal(row.summary, "stock: jam!");
    assert_true(row.heavy);
    assert_false(row.has_note);
    assert_false(row.has_seen);
    assert_int_equal(row.count, 1);
    json_t *j = kitchen_pantry_items_row_to_json(&row);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "{\"aggregate_id\":\"P\",\"label\":\"stock: jam\",\"count\":1,"
                              "\"note\":null,\"shade\":null,\"heavy\":true,"
                              "\"summary\":\"stock: jam!\",\"seen\":null}");
    free(text);
    json_decref(j);
    kitchen_pantry_items_row_free(&row);
    kitchen_pantry_state_free(&s);
}

/* ------------------------------------------------------------ edge */

static void test_optionals(void **st) {
    (void)st;
    edge_thing_state s;
    inc_error err;
    assert_int_equal(inc_state_init(&edge_thing_type, &s, "X", &err), 0);
    assert_false(s.has_a);
    assert_int_equal(s.b, 3);
    /* checks: y == null short-circuits; name != "" with name absent is true */
    expect_reject(&edge_domain, &s, "Go",
                  "{\"aggregate_id\":\"X\",\"x\":0,\"at\":\"2026-01-01T00:00:00Z\"}", "bad");
    expect_reject(&edge_domain, &s, "Go",
                  "{\"aggregate_id\":\"X\",\"x\":1,\"y\":5,\"at\":\"2026-01-01T00:00:00Z\"}",
                  "bad");
    expect_reject(&edge_domain, &s, "Go",
                  "{\"aggregate_id\":\"X\",\"x\":1,\"name\":\"\",\"at\":\"2026-01-01T00:00:00Z\"}",
                  "empty_name");
    /* a == y: both null, so equal; then `+ a` reads a null a */
    expect_reject(&edge_domain, &s, "Go",
                  "{\"aggregate_id\":\"X\",\"x\":1,\"at\":\"2026-01-01T00:00:00Z\"}",
                  "missing_value");
    s.a = 10;
    s.has_a = true;
    expect_ok(&edge_domain, &s, "Go",
              "{\"aggregate_id\":\"X\",\"x\":6,\"y\":10,\"at\":\"2026-01-01T00:00:00Z\"}", 1);
    assert_int_equal(s.a, 9);        /* -6 % 5 + 10 (C truncation) */
    assert_false(s.has_s);           /* s stays null */
    assert_true(s.has_ok && s.ok);   /* !(9 > 0) || s == null */
    assert_int_equal(s.b, -6);       /* 3 - 9 */
    assert_true(s.has_f && s.f == 2.25);
    assert_true(s.has_m);
    assert_int_equal(s.m, EDGE_MODE_DOWN); /* the command's default */
    assert_true(s.has_t);
    /* t (2026-01-01) < at (2027) and ok is true: passes; then m != up */
    s.m = EDGE_MODE_UP;
    expect_reject(&edge_domain, &s, "Go",
                  "{\"aggregate_id\":\"X\",\"x\":5,\"y\":9,\"at\":\"2027-01-01T00:00:00Z\"}",
                  "is_on");
    s.m = EDGE_MODE_DOWN;
    s.ok = false;
    expect_reject(&edge_domain, &s, "Go",
                  "{\"aggregate_id\":\"X\",\"x\":5,\"y\":9,\"at\":\"2027-01-01T00:00:00Z\"}",
                  "not_ok");
    edge_thing_state_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_lifecycle),
        cmocka_unit_test(test_account_named),
        cmocka_unit_test(test_overflow_is_a_rejection),
        cmocka_unit_test(test_bad_command_json),
        cmocka_unit_test(test_rejection_enum),
        cmocka_unit_test(test_transfer_state_machine),
        cmocka_unit_test(test_projection_row),
        cmocka_unit_test(test_kitchen_defaults),
        cmocka_unit_test(test_kitchen_rules),
        cmocka_unit_test(test_kitchen_projection),
        cmocka_unit_test(test_optionals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
