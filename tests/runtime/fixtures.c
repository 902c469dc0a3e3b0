/* fixtures.c - descriptor tables of the runtime suites' test domain "t"
 * (fixtures.h), laid out the way aggc emits them (implicit fields first,
 * sorted domain tables).  Written by hand because most of it is what aggc
 * refuses to produce, to test the runtime's defensive checks: commands
 * sharing one struct, a NULL execute, rules that misbehave (an event
 * missing a field, another stream, -1 without an error), an event of no
 * aggregate, a second aggregate sharing Account's state, projections with
 * no rule and empty SQL; and Kitchen, a message outside any aggregate with
 * a defaulted timestamp (the language has no timestamp literals).  The
 * well-formed Account rules are woven into the same aggregate and domain
 * tables, which the tests look up as a whole. */
#include <incident/gen.h>

#include "desc_macros.h"
#include "fixtures.h"

static const char *const color_members[] = {"red", "green", "blue"};
const inc_enum_desc t_color_enum = {"Color", 3, color_members};

/* ---- Kitchen: every type, optional and defaulted ---- */
static const inc_field_desc kitchen_fields[] = {
    AGG_ID(t_kitchen),
    F(t_kitchen, i, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
    F(t_kitchen, f, INC_TYPE_FLOAT, 0, NOHAS, NULL, NODEF),
    F(t_kitchen, b, INC_TYPE_BOOL, 0, NOHAS, NULL, NODEF),
    F(t_kitchen, s, INC_TYPE_STRING, 0, NOHAS, NULL, NODEF),
    F(t_kitchen, t, INC_TYPE_TIMESTAMP, 0, NOHAS, NULL, NODEF),
    F(t_kitchen, e, INC_TYPE_ENUM, 0, NOHAS, &t_color_enum, NODEF),
    F(t_kitchen, oi, INC_TYPE_INT, OPT, HAS(t_kitchen, oi), NULL, NODEF),
    F(t_kitchen, of, INC_TYPE_FLOAT, OPT, HAS(t_kitchen, of), NULL, NODEF),
    F(t_kitchen, ob, INC_TYPE_BOOL, OPT, HAS(t_kitchen, ob), NULL, NODEF),
    F(t_kitchen, os, INC_TYPE_STRING, OPT, HAS(t_kitchen, os), NULL, NODEF),
    F(t_kitchen, ot, INC_TYPE_TIMESTAMP, OPT, HAS(t_kitchen, ot), NULL, NODEF),
    F(t_kitchen, oe, INC_TYPE_ENUM, OPT, HAS(t_kitchen, oe), &t_color_enum,
      NODEF),
    F(t_kitchen, di, INC_TYPE_INT, DEFD, NOHAS, NULL, DEFV(true, 42, 0, NULL)),
    F(t_kitchen, df, INC_TYPE_FLOAT, DEFD, NOHAS, NULL, DEFV(true, 0, 1.5, NULL)),
    F(t_kitchen, db, INC_TYPE_BOOL, DEFD, NOHAS, NULL, DEFV(true, 1, 0, NULL)),
    F(t_kitchen, ds, INC_TYPE_STRING, DEFD, NOHAS, NULL, DEFV(true, 0, 0, "hello")),
    F(t_kitchen, dt, INC_TYPE_TIMESTAMP, DEFD, NOHAS, NULL, DEFV(true, T_KITCHEN_DT, 0, NULL)),
    F(t_kitchen, de, INC_TYPE_ENUM, DEFD, NOHAS, &t_color_enum, DEFV(true, T_COLOR_GREEN, 0, NULL)),
    F(t_kitchen, ods, INC_TYPE_STRING, OPT | DEFD, HAS(t_kitchen, ods), NULL, DEFV(true, 0, 0, "dflt")),
};
const inc_message_desc t_kitchen_desc = {
    INC_MSG_COMMAND, "Kitchen", "t_kitchen", sizeof(t_kitchen),
    COUNT(kitchen_fields), kitchen_fields, NULL, NULL, NULL, NULL, NOEVO};

/* ---- Account ---- */
static const inc_field_desc state_fields[] = {
    AGG_ID(t_account_state),
    F(t_account_state, version, INC_TYPE_INT, IMPL, NOHAS, NULL, NODEF),
    F(t_account_state, updated_at, INC_TYPE_TIMESTAMP, IMPL | OPT,
      HAS(t_account_state, updated_at), NULL, NODEF),
    F(t_account_state, account_number, INC_TYPE_STRING, OPT,
      HAS(t_account_state, account_number), NULL, NODEF),
    F(t_account_state, balance, INC_TYPE_INT, DEFD, NOHAS, NULL,
      DEFV(true, 0, 0, NULL)),
    F(t_account_state, opened, INC_TYPE_BOOL, DEFD, NOHAS, NULL,
      DEFV(true, 0, 0, NULL)),
};
const inc_message_desc t_account_state_desc = {
    INC_MSG_STATE, "AccountState", "t_account_state", sizeof(t_account_state),
    COUNT(state_fields), state_fields, &t_account_type, NULL, NULL, NULL, NOEVO};

/* execute / apply rules, as the generated thunks would look */
static int open_execute(const void *state, const void *command,
                        inc_event_list *out, inc_error *err) {
    const t_account_state *s = state;
    const t_open_account *c = command;
    t_account_opened *e;
    if (s->opened) return inc_reject(err, "account_already_opened");
    if (!(e = inc_event_list_add(out, &t_account_opened_desc, c->aggregate_id,
                                 err)))
        return -1;
    return inc_str_set(&e->account_number, c->account_number, err);
}

static int deposit_validate(const void *msg, inc_error *err) {
    const t_deposit_money *c = msg;
    if (!(c->amount > 0)) return inc_reject(err, "invalid_amount");
    return 0;
}

static int deposit_execute(const void *state, const void *command,
                           inc_event_list *out, inc_error *err) {
    const t_account_state *s = state;
    const t_deposit_money *c = command;
    t_money_deposited *e;
    if (!s->opened) return inc_reject(err, "account_not_found");
    if (!(e = inc_event_list_add(out, &t_money_deposited_desc, c->aggregate_id,
                                 err)))
        return -1;
    e->amount = c->amount;
    return 0;
}

static int forgetful_execute(const void *state, const void *command,
                             inc_event_list *out, inc_error *err) {
    const t_bad_command *c = command;
    (void)state;
    /* "forgets" account_number */
    return inc_event_list_add(out, &t_account_opened_desc, c->aggregate_id,
                              err)
               ? 0
               : -1;
}

static int two_then_fail_execute(const void *state, const void *command,
                                 inc_event_list *out, inc_error *err) {
    const t_bad_command *c = command;
    int i;
    (void)state;
    for (i = 0; i < 2; i++) {
        t_money_deposited *e =
            inc_event_list_add(out, &t_money_deposited_desc, c->aggregate_id,
                               err);
        if (!e) return -1;
        e->amount = 1;
    }
    return inc_reject(err, "changed_mind");
}

static int wrong_stream_execute(const void *state, const void *command,
                                inc_event_list *out, inc_error *err) {
    t_money_deposited *e;
    (void)state;
    (void)command;
    if (!(e = inc_event_list_add(out, &t_money_deposited_desc, "other", err)))
        return -1;
    e->amount = 1;
    return 0;
}

static int silent_fail_execute(const void *state, const void *command,
                               inc_event_list *out, inc_error *err) {
    (void)state;
    (void)command;
    (void)out;
    (void)err;
    return -1;
}

static int opened_apply(void *state, const void *event, inc_error *err) {
    t_account_state *s = state;
    const t_account_opened *e = event;
    s->opened = true;
    if (inc_str_set(&s->account_number, e->account_number, err) != 0)
        return -1;
    s->has_account_number = s->account_number != NULL;
    return 0;
}

static int deposited_apply(void *state, const void *event, inc_error *err) {
    t_account_state *s = state;
    const t_money_deposited *e = event;
    int64_t r;
    if (inc_i64_add(s->balance, e->amount, &r))
        return inc_reject(err, "integer_overflow");
    s->balance = r;
    return 0;
}

static const inc_field_desc open_fields[] = {
    AGG_ID(t_open_account),
    F(t_open_account, account_number, INC_TYPE_STRING, 0, NOHAS, NULL, NODEF),
};
static const inc_field_desc deposit_fields[] = {
    AGG_ID(t_deposit_money),
    F(t_deposit_money, amount, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
};
static const inc_field_desc bad_fields[] = {AGG_ID(t_bad_command)};
static const inc_field_desc opened_fields[] = {
    AGG_ID(t_account_opened),
    F(t_account_opened, account_number, INC_TYPE_STRING, 0, NOHAS, NULL,
      NODEF),
};
static const inc_field_desc deposited_fields[] = {
    AGG_ID(t_money_deposited),
    F(t_money_deposited, amount, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
};
static const inc_field_desc row_fields[] = {
    AGG_ID(t_accounts_row),
    F(t_accounts_row, balance, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
};

#define CMD(var, name, T, fields, validate, execute)                          \
    const inc_message_desc var = {INC_MSG_COMMAND, name, #T, sizeof(T),       \
                                  COUNT(fields), fields, &t_account_type,    \
                                  validate, execute, NULL, NOEVO}
CMD(t_open_account_desc, "OpenAccount", t_open_account, open_fields, NULL,
    open_execute);
CMD(t_deposit_money_desc, "DepositMoney", t_deposit_money, deposit_fields,
    deposit_validate, deposit_execute);
CMD(t_forgetful_desc, "Forgetful", t_bad_command, bad_fields, NULL,
    forgetful_execute);
CMD(t_two_then_fail_desc, "TwoThenFail", t_bad_command, bad_fields, NULL,
    two_then_fail_execute);
CMD(t_wrong_stream_desc, "WrongStream", t_bad_command, bad_fields, NULL,
    wrong_stream_execute);
CMD(t_silent_fail_desc, "SilentFail", t_bad_command, bad_fields, NULL,
    silent_fail_execute);
CMD(t_no_execute_desc, "NoExecute", t_bad_command, bad_fields, NULL, NULL);

const inc_message_desc t_account_opened_desc = {
    INC_MSG_EVENT, "AccountOpened", "t_account_opened",
    sizeof(t_account_opened), COUNT(opened_fields), opened_fields,
    &t_account_type, NULL, NULL, opened_apply, NOEVO};
const inc_message_desc t_money_deposited_desc = {
    INC_MSG_EVENT, "MoneyDeposited", "t_money_deposited",
    sizeof(t_money_deposited), COUNT(deposited_fields), deposited_fields,
    &t_account_type, NULL, NULL, deposited_apply, NOEVO};
const inc_message_desc t_orphan_event_desc = {
    INC_MSG_EVENT, "Orphan", "t_money_deposited", sizeof(t_money_deposited),
    COUNT(deposited_fields), deposited_fields, NULL, NULL, NULL, NULL, NOEVO};

static const inc_message_desc accounts_row_desc = {
    INC_MSG_ROW, "accounts", "t_accounts_row", sizeof(t_accounts_row),
    COUNT(row_fields), row_fields, &t_account_type, NULL, NULL, NULL, NOEVO};
const inc_projection_desc t_accounts_projection = {
    "accounts", &t_account_type, &accounts_row_desc, NULL, "", "", "", ""};
static const inc_projection_desc ledger_projection = {
    "ledger", &t_ledger_type, &accounts_row_desc, NULL, "", "", "", ""};

/* Aggregate tables are in declaration order (not sorted). */
static const inc_message_desc *const account_commands[] = {
    &t_open_account_desc, &t_deposit_money_desc, &t_forgetful_desc,
    &t_two_then_fail_desc, &t_wrong_stream_desc, &t_silent_fail_desc,
    &t_no_execute_desc};
static const inc_message_desc *const account_events[] = {
    &t_money_deposited_desc, &t_account_opened_desc};
static const inc_projection_desc *const account_projections[] = {
    &t_accounts_projection};
const inc_aggregate_desc t_account_type = {
    "Account", &t_account_state_desc,
    COUNT(account_commands), account_commands,
    COUNT(account_events), account_events,
    COUNT(account_projections), account_projections, 0x1234};
const inc_aggregate_desc t_ledger_type = {
    "Ledger", &t_account_state_desc, 0, NULL, 0, NULL, 0, NULL, 0};

/* Domain tables: sorted by name (strcmp). */
static const inc_aggregate_desc *const domain_aggregates[] = {
    &t_account_type, &t_ledger_type};
static const inc_message_desc *const domain_commands[] = {
    &t_deposit_money_desc, &t_forgetful_desc, &t_no_execute_desc,
    &t_open_account_desc, &t_silent_fail_desc, &t_two_then_fail_desc,
    &t_wrong_stream_desc};
static const inc_message_desc *const domain_events[] = {
    &t_account_opened_desc, &t_money_deposited_desc};
static const inc_projection_desc *const domain_projections[] = {
    &t_accounts_projection, &ledger_projection};
static const inc_enum_desc *const domain_enums[] = {&t_color_enum};
static const char *const domain_rejections[] = {
    "account_already_opened", "account_not_found", "changed_mind",
    "integer_overflow", "invalid_amount"};
const inc_domain t_domain = {
    INC_ABI_VERSION, "t",
    COUNT(domain_aggregates), domain_aggregates,
    COUNT(domain_commands), domain_commands,
    COUNT(domain_events), domain_events,
    COUNT(domain_projections), domain_projections,
    COUNT(domain_enums), domain_enums,
    COUNT(domain_rejections), domain_rejections,
    "", 0, NULL, 0, NULL};
