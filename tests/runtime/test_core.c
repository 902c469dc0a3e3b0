/* test_core.c - the database-free core: state init, fold (inc_state_apply),
 * execute (inc_execute), the event list and the domain lookups, on the
 * hand-made Account domain of fixtures.c. */
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

#define T1 INT64_C(1795687200000000)

static void open_state(t_account_state *s, const char *id) {
    inc_error err;
    t_open_account c = {NULL, NULL};
    inc_event_list out = INC_EVENT_LIST_INIT;
    assert_int_equal(inc_state_init(&t_account_type, s, id, &err), 0);
    assert_int_equal(inc_str_set(&c.aggregate_id, id, &err), 0);
    assert_int_equal(inc_str_set(&c.account_number, "NL01", &err), 0);
    assert_int_equal(
        inc_execute(&t_account_type, s, &t_open_account_desc, &c, &out, &err),
        0);
    assert_int_equal(out.count, 1);
    assert_ptr_equal(out.items[0].desc, &t_account_opened_desc);
    assert_int_equal(inc_state_apply(&t_account_type, s, out.items[0].desc,
                                     out.items[0].data, 1, T1, &err),
                     0);
    inc_event_list_free(&out);
    inc_msg_free(&t_open_account_desc, &c);
}

static void test_state_init(void **state) {
    t_account_state s;
    inc_error err;
    (void)state;
    memset(&s, 0x5A, sizeof s);
    assert_int_equal(inc_state_init(&t_account_type, &s, "A1", &err), 0);
    assert_string_equal(s.aggregate_id, "A1");
    assert_int_equal(s.version, 0);
    assert_false(s.has_updated_at);
    assert_false(s.has_account_number);
    assert_null(s.account_number);
    assert_int_equal(s.balance, 0);
    assert_false(s.opened);
    inc_msg_free(&t_account_state_desc, &s);

    assert_int_equal(inc_state_init(&t_account_type, &s, "", &err), -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_string_equal(err.message, "aggregate_id: must not be empty");
    inc_msg_free(&t_account_state_desc, &s);
    assert_int_equal(inc_state_init(&t_account_type, &s, NULL, NULL), -1);
    inc_msg_free(&t_account_state_desc, &s);
}

static void test_fold(void **state) {
    t_account_state s;
    t_money_deposited e = {NULL, 100};
    inc_error err;
    json_t *j;
    char *text;
    (void)state;
    open_state(&s, "A1");
    assert_int_equal(s.version, 1);
    assert_true(s.has_updated_at);
    assert_int_equal(s.updated_at, T1);
    assert_true(s.opened);
    assert_string_equal(s.account_number, "NL01");
    assert_true(s.has_account_number);
    e.aggregate_id = "A1"; /* apply does not take ownership */
    assert_int_equal(inc_state_apply(&t_account_type, &s,
                                     &t_money_deposited_desc, &e, 2, T1 + 5,
                                     &err),
                     0);
    assert_int_equal(s.balance, 100);
    assert_int_equal(s.version, 2);
    assert_int_equal(s.updated_at, T1 + 5);
    j = inc_msg_to_json(&t_account_state_desc, &s, 0);
    text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text,
                        "{\"aggregate_id\":\"A1\",\"version\":2,"
                        "\"updated_at\":\"2026-11-26T10:00:00.000005Z\","
                        "\"account_number\":\"NL01\",\"balance\":100,"
                        "\"opened\":true}");
    free(text);
    json_decref(j);
    inc_msg_free(&t_account_state_desc, &s);
}

static void test_version_gap(void **state) {
    t_account_state s;
    t_money_deposited e = {"A1", 100};
    inc_error err;
    (void)state;
    open_state(&s, "A1");
    assert_int_equal(inc_state_apply(&t_account_type, &s,
                                     &t_money_deposited_desc, &e, 3, T1, &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_INTERNAL);
    assert_string_equal(err.code, "version_gap");
    assert_string_equal(err.message,
                        "Account A1: event MoneyDeposited has version 3 but "
                        "the state is at version 1 (expected 2)");
    /* a duplicate is a gap too */
    assert_int_equal(inc_state_apply(&t_account_type, &s,
                                     &t_money_deposited_desc, &e, 1, T1, &err),
                     -1);
    assert_string_equal(err.code, "version_gap");
    assert_int_equal(s.version, 1);
    assert_int_equal(s.balance, 0);
    inc_msg_free(&t_account_state_desc, &s);
}

static void test_apply_errors(void **state) {
    t_account_state s;
    t_money_deposited e = {"A1", 1};
    inc_error err;
    (void)state;
    open_state(&s, "A1");
    s.balance = INT64_MAX;
    assert_int_equal(inc_state_apply(&t_account_type, &s,
                                     &t_money_deposited_desc, &e, 2, T1, &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, "integer_overflow");
    assert_int_equal(s.version, 1); /* not advanced */
    assert_int_equal(inc_state_apply(&t_account_type, &s, &t_orphan_event_desc,
                                     &e, 2, T1, &err),
                     -1);
    assert_int_equal(err.kind, INC_ERR_INTERNAL);
    assert_string_equal(err.code, "wrong_aggregate");
    assert_int_equal(inc_state_apply(&t_ledger_type, &s,
                                     &t_money_deposited_desc, &e, 2, T1, &err),
                     -1);
    assert_string_equal(err.code, "wrong_aggregate");
    inc_msg_free(&t_account_state_desc, &s);
}

/* `out` already holds one event; failures must leave exactly that. */
static void prefill(inc_event_list *out) {
    t_money_deposited *e =
        inc_event_list_add(out, &t_money_deposited_desc, "A1", NULL);
    assert_non_null(e);
    e->amount = 7;
}

static void assert_untouched(const inc_event_list *out) {
    assert_int_equal(out->count, 1);
    assert_int_equal(((t_money_deposited *)out->items[0].data)->amount, 7);
}

static void expect_execute_fail(const t_account_state *s,
                                const inc_message_desc *cd, const void *c,
                                inc_error_kind kind, const char *code,
                                const char *message) {
    inc_event_list out = INC_EVENT_LIST_INIT;
    inc_error err;
    prefill(&out);
    assert_int_equal(inc_execute(&t_account_type, s, cd, c, &out, &err), -1);
    assert_int_equal(err.kind, kind);
    assert_string_equal(err.code, code);
    if (message) assert_string_equal(err.message, message);
    assert_untouched(&out);
    inc_event_list_free(&out);
}

static void test_execute(void **state) {
    t_account_state s;
    t_deposit_money c = {"A1", 25};
    inc_event_list out = INC_EVENT_LIST_INIT;
    inc_error err;
    (void)state;
    open_state(&s, "A1");
    prefill(&out);
    assert_int_equal(
        inc_execute(&t_account_type, &s, &t_deposit_money_desc, &c, &out, &err),
        0);
    assert_int_equal(out.count, 2);
    assert_ptr_equal(out.items[1].desc, &t_money_deposited_desc);
    assert_string_equal(((t_money_deposited *)out.items[1].data)->aggregate_id,
                        "A1");
    assert_int_equal(((t_money_deposited *)out.items[1].data)->amount, 25);
    /* err == NULL is fine */
    assert_int_equal(
        inc_execute(&t_account_type, &s, &t_deposit_money_desc, &c, &out, NULL),
        0);
    assert_int_equal(out.count, 3);
    inc_event_list_free(&out);
    inc_msg_free(&t_account_state_desc, &s);
}

static void test_execute_failures(void **state) {
    t_account_state s, fresh;
    t_deposit_money c = {"A1", 0};
    t_bad_command bad = {"A1"};
    inc_error err;
    (void)state;
    open_state(&s, "A1");
    assert_int_equal(inc_state_init(&t_account_type, &fresh, "A1", &err), 0);
    /* the check clause */
    expect_execute_fail(&s, &t_deposit_money_desc, &c, INC_ERR_REJECTED,
                        "invalid_amount", "invalid_amount");
    /* structural validation of the command */
    c.amount = 5;
    c.aggregate_id = NULL;
    expect_execute_fail(&s, &t_deposit_money_desc, &c, INC_ERR_INVALID,
                        "missing_field", "aggregate_id: required");
    c.aggregate_id = "";
    expect_execute_fail(&s, &t_deposit_money_desc, &c, INC_ERR_INVALID,
                        "invalid_value", "aggregate_id: must not be empty");
    c.aggregate_id = "A1";
    /* a require */
    expect_execute_fail(&fresh, &t_deposit_money_desc, &c, INC_ERR_REJECTED,
                        "account_not_found", NULL);
    /* events emitted before a failure are dropped (ASan checks the leak) */
    expect_execute_fail(&s, &t_two_then_fail_desc, &bad, INC_ERR_REJECTED,
                        "changed_mind", NULL);
    expect_execute_fail(&s, &t_forgetful_desc, &bad, INC_ERR_INTERNAL,
                        "invalid_event",
                        "execute Forgetful emitted an invalid AccountOpened: "
                        "account_number: required");
    expect_execute_fail(&s, &t_wrong_stream_desc, &bad, INC_ERR_INTERNAL,
                        "invalid_event",
                        "execute WrongStream emitted MoneyDeposited for "
                        "aggregate_id \"other\" but the command is for \"A1\"");
    expect_execute_fail(&s, &t_silent_fail_desc, &bad, INC_ERR_INTERNAL,
                        "execute_failed",
                        "execute SilentFail failed without an error");
    expect_execute_fail(&s, &t_no_execute_desc, &bad, INC_ERR_INTERNAL,
                        "bad_descriptor", NULL);
    {
        inc_event_list out = INC_EVENT_LIST_INIT;
        assert_int_equal(inc_execute(&t_ledger_type, &s, &t_deposit_money_desc,
                                     &c, &out, &err),
                         -1);
        assert_string_equal(err.code, "wrong_aggregate");
        assert_int_equal(out.count, 0);
        assert_null(out.items);
    }
    inc_msg_free(&t_account_state_desc, &s);
    inc_msg_free(&t_account_state_desc, &fresh);
}

static void test_event_list(void **state) {
    inc_event_list l;
    inc_error err;
    static const inc_field_desc x_field[] = {
        {"x", INC_TYPE_INT, 0, 0, INC_NO_OFFSET, NULL, {false, 0, 0, NULL}}};
    static const inc_message_desc no_id = {
        INC_MSG_EVENT, "NoId", "no_id", sizeof(int64_t), 1, x_field,
        NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL};
    int i;
    (void)state;
    inc_event_list_init(&l);
    for (i = 0; i < 10; i++) {
        t_money_deposited *e =
            inc_event_list_add(&l, &t_money_deposited_desc, "A9", &err);
        assert_non_null(e);
        assert_string_equal(e->aggregate_id, "A9");
        assert_int_equal(e->amount, 0);
        e->amount = i;
    }
    assert_int_equal(l.count, 10);
    assert_true(l.cap >= 10);
    for (i = 0; i < 10; i++)
        assert_int_equal(((t_money_deposited *)l.items[i].data)->amount, i);
    inc_event_list_clear(&l);
    assert_int_equal(l.count, 0);
    assert_non_null(l.items); /* capacity kept */
    {
        t_account_opened *e =
            inc_event_list_add(&l, &t_account_opened_desc, NULL, &err);
        assert_non_null(e);
        assert_null(e->aggregate_id);
    }
    assert_null(inc_event_list_add(&l, &no_id, "A1", &err));
    assert_string_equal(err.code, "bad_descriptor");
    assert_int_equal(l.count, 1);
    inc_event_list_free(&l);
    assert_int_equal(l.count, 0);
    assert_null(l.items);
    inc_event_list_free(&l); /* twice */
    inc_event_list_clear(NULL);
    inc_event_list_free(NULL);
}

static void test_domain_lookups(void **state) {
    static const inc_domain empty = {INC_ABI_VERSION, "e", 0, NULL, 0, NULL,
                                     0, NULL, 0, NULL, 0, NULL, 0, NULL, "", 0, NULL, 0, NULL};
    size_t i;
    (void)state;
    for (i = 0; i < t_domain.n_commands; i++)
        assert_ptr_equal(inc_domain_command(&t_domain,
                                            t_domain.commands[i]->name),
                         t_domain.commands[i]);
    for (i = 0; i < t_domain.n_events; i++)
        assert_ptr_equal(inc_domain_event(&t_domain, t_domain.events[i]->name),
                         t_domain.events[i]);
    assert_ptr_equal(inc_domain_command(&t_domain, "DepositMoney"),
                     &t_deposit_money_desc);
    assert_null(inc_domain_command(&t_domain, "Deposit"));
    assert_null(inc_domain_command(&t_domain, "depositmoney"));
    assert_null(inc_domain_command(&t_domain, "ZZZ"));
    assert_null(inc_domain_command(&t_domain, "A"));
    assert_null(inc_domain_command(&t_domain, ""));
    assert_null(inc_domain_command(&t_domain, NULL));
    assert_null(inc_domain_command(NULL, "DepositMoney"));
    assert_null(inc_domain_command(&t_domain, "MoneyDeposited"));
    assert_ptr_equal(inc_domain_event(&t_domain, "MoneyDeposited"),
                     &t_money_deposited_desc);
    assert_null(inc_domain_event(&t_domain, "DepositMoney"));
    assert_ptr_equal(inc_domain_projection(&t_domain, "accounts"),
                     &t_accounts_projection);
    assert_non_null(inc_domain_projection(&t_domain, "ledger"));
    assert_null(inc_domain_projection(&t_domain, "account"));
    assert_ptr_equal(inc_domain_aggregate(&t_domain, "Account"),
                     &t_account_type);
    assert_ptr_equal(inc_domain_aggregate(&t_domain, "Ledger"),
                     &t_ledger_type);
    assert_null(inc_domain_aggregate(&t_domain, "account"));
    assert_ptr_equal(inc_aggregate_event(&t_account_type, "AccountOpened"),
                     &t_account_opened_desc);
    assert_null(inc_aggregate_event(&t_account_type, "Nope"));
    assert_null(inc_aggregate_event(&t_ledger_type, "AccountOpened"));
    assert_null(inc_domain_command(&empty, "X"));
    assert_null(inc_domain_event(&empty, "X"));
    assert_null(inc_domain_projection(&empty, "X"));
    assert_null(inc_domain_aggregate(&empty, "X"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_init),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_version_gap),
        cmocka_unit_test(test_apply_errors),
        cmocka_unit_test(test_execute),
        cmocka_unit_test(test_execute_failures),
        cmocka_unit_test(test_event_list),
        cmocka_unit_test(test_domain_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
