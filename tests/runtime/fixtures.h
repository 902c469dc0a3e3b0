/* fixtures.h - a hand-made domain "t" mirroring what aggc generates, used by
 * the runtime suites: aggregate Account (state, commands, events, one
 * projection) and a Kitchen message with a field of every type. */
#ifndef T_FIXTURES_H
#define T_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>

#include <incident/domain.h>

typedef enum t_color { T_COLOR_RED, T_COLOR_GREEN, T_COLOR_BLUE } t_color;
_Static_assert(sizeof(t_color) == sizeof(int), "enums are int-sized");

typedef struct t_account_state {
    char *aggregate_id;
    int64_t version;
    inc_timestamp updated_at;
    bool has_updated_at;
    char *account_number;
    bool has_account_number;
    int64_t balance;
    bool opened;
} t_account_state;

typedef struct t_open_account {
    char *aggregate_id;
    char *account_number;
} t_open_account;

typedef struct t_deposit_money {
    char *aggregate_id;
    int64_t amount;
} t_deposit_money;

/* Commands with misbehaving hand-written ("extern") execute rules. */
typedef struct t_bad_command {
    char *aggregate_id;
} t_bad_command;

typedef struct t_account_opened {
    char *aggregate_id;
    char *account_number;
} t_account_opened;

typedef struct t_money_deposited {
    char *aggregate_id;
    int64_t amount;
} t_money_deposited;

typedef struct t_accounts_row {
    char *aggregate_id;
    int64_t balance;
} t_accounts_row;

typedef struct t_kitchen {
    char *aggregate_id;
    int64_t i;
    double f;
    bool b;
    char *s;
    inc_timestamp t;
    t_color e;
    int64_t oi;
    bool has_oi;
    double of;
    bool has_of;
    bool ob;
    bool has_ob;
    char *os;
    bool has_os;
    inc_timestamp ot;
    bool has_ot;
    t_color oe;
    bool has_oe;
    int64_t di;
    double df;
    bool db;
    char *ds;
    inc_timestamp dt;
    t_color de;
    char *ods; /* optional with a default */
    bool has_ods;
} t_kitchen;

#define T_KITCHEN_DT INT64_C(1795687200000000) /* 2026-11-26T10:00:00Z */

extern const inc_enum_desc t_color_enum;
extern const inc_message_desc t_kitchen_desc;
extern const inc_message_desc t_account_state_desc;
extern const inc_message_desc t_open_account_desc;
extern const inc_message_desc t_deposit_money_desc;
extern const inc_message_desc t_forgetful_desc;   /* emits without a field */
extern const inc_message_desc t_two_then_fail_desc;
extern const inc_message_desc t_wrong_stream_desc;
extern const inc_message_desc t_silent_fail_desc; /* fails, err unset */
extern const inc_message_desc t_no_execute_desc;
extern const inc_message_desc t_account_opened_desc;
extern const inc_message_desc t_money_deposited_desc;
extern const inc_message_desc t_orphan_event_desc; /* no aggregate, no apply */
extern const inc_projection_desc t_accounts_projection;
extern const inc_aggregate_desc t_account_type;
extern const inc_aggregate_desc t_ledger_type; /* a second, empty aggregate */
extern const inc_domain t_domain;

#endif
