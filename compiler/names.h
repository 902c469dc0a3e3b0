/* names.h - how .agg names become C and SQL names, and which names are
 * off limits (C and SQL keywords, names reserved by the runtime).
 *
 * Every C name the generated code defines is built here, once: the table of
 * suffixed names (agg_cname) and the few compound ones (agg_c_*).  gen_c.c
 * takes its names from here and check.c's collision test enumerates the
 * same table, so a new generated name is added in one place and the two can
 * never disagree.  The naming scheme is described in docs/language.md
 * (section "Generated C"). */
#ifndef AGGC_NAMES_H
#define AGGC_NAMES_H

#include <stdbool.h>

#include "arena.h"

/* "OpenAccount" -> "open_account", "HTTPRequest" -> "http_request",
 * "bank_accounts" unchanged. */
char *agg_snake(agg_arena *a, const char *name);
/* "open_account" -> "OPEN_ACCOUNT". */
char *agg_upper(agg_arena *a, const char *name);

/* Names made of a base and a suffix.  The base is what the comment after
 * each group says; agg_cname_bases says which bases take the name. */
typedef enum agg_cname_id {
    /* the domain, "bank" */
    AGG_CN_DOMAIN,           /* bank_domain */
    AGG_CN_REJECTION,        /* bank_rejection (enum type) */
    AGG_CN_REJECTION_OF,     /* bank_rejection_of */
    AGG_CN_REJECTION_NAME,   /* bank_rejection_name */
    AGG_CN_AGGREGATES,       /* bank_aggregates */
    AGG_CN_ALL_COMMANDS,     /* bank_all_commands */
    AGG_CN_ALL_EVENTS,       /* bank_all_events */
    AGG_CN_ALL_PROJECTIONS,  /* bank_all_projections */
    AGG_CN_ENUMS,            /* bank_enums */
    AGG_CN_REJECTION_NAMES,  /* bank_rejection_names */
    AGG_CN_DDL,              /* bank_ddl */
    AGG_CN_REACTIONS,        /* bank_reactions */
    /* the domain in upper case, "BANK": macros */
    AGG_CN_GUARD,            /* BANK_AGG_H */
    AGG_CN_REJECTIONS,       /* BANK_REJECTIONS (the X-macro list) */
    AGG_CN_REJECT_NONE,      /* BANK_REJECT_NONE */
    AGG_CN_REJECT_COUNT,     /* BANK_REJECT_COUNT_ */
    AGG_CN_REJECTION_ENUM,   /* BANK_REJECTION_ENUM */
    AGG_CN_REJECTION_MATCH,  /* BANK_REJECTION_MATCH */
    AGG_CN_REJECTION_NAME_X, /* BANK_REJECTION_NAME */
    /* an enum type, "bank_transfer_status" */
    AGG_CN_ENUM,             /* the type itself */
    AGG_CN_ENUM_DESC,        /* bank_transfer_status_desc */
    AGG_CN_ENUM_MEMBERS,     /* bank_transfer_status_members */
    /* a message struct: state, command, event or projection row,
     * "bank_open_account" */
    AGG_CN_MSG,              /* the type itself */
    AGG_CN_MSG_DESC,         /* _desc */
    AGG_CN_MSG_INIT,         /* _init */
    AGG_CN_MSG_FREE,         /* _free */
    AGG_CN_MSG_TO_JSON,      /* _to_json */
    AGG_CN_MSG_FROM_JSON,    /* _from_json */
    AGG_CN_MSG_VALIDATE,     /* _validate (commands) */
    AGG_CN_MSG_CHECK,        /* _check (commands with check clauses) */
    AGG_CN_MSG_FIELDS,       /* _fields */
    AGG_CN_EXECUTE_THUNK,    /* _execute_thunk (commands) */
    AGG_CN_APPLY_THUNK,      /* _apply_thunk (events) */
    AGG_CN_PROJECT_THUNK,    /* _project_thunk (rows) */
    /* an aggregate's descriptor, "bank_account_type" */
    AGG_CN_AGG_TYPE,         /* the descriptor itself */
    AGG_CN_AGG_COMMANDS,     /* bank_account_type_commands */
    AGG_CN_AGG_EVENTS,       /* bank_account_type_events */
    AGG_CN_AGG_PROJECTIONS,  /* bank_account_type_projections */
    AGG_CN_COUNT
} agg_cname_id;

/* The bases a name is made from (bits). */
enum {
    AGG_CB_DOMAIN = 1,    /* "bank" */
    AGG_CB_MACRO = 2,     /* "BANK" */
    AGG_CB_ENUM = 4,      /* an enum type */
    AGG_CB_STATE = 8,     /* an aggregate's state struct */
    AGG_CB_MESSAGE = 16,  /* a command, event or projection row struct */
    AGG_CB_AGGREGATE = 32 /* an aggregate descriptor */
};

/* `base` followed by the suffix of `id`. */
const char *agg_cname(agg_arena *a, agg_cname_id id, const char *base);
/* Which bases (AGG_CB_* bits) take the name `id`. */
unsigned agg_cname_bases(agg_cname_id id);

/* Compound names.  `d` is the domain, the others are .agg names. */
const char *agg_c_message(agg_arena *a, const char *d, const char *name); /* bank_open_account; enums too */
const char *agg_c_state(agg_arena *a, const char *d, const char *agg);    /* bank_account_state */
const char *agg_c_agg_type(agg_arena *a, const char *d, const char *agg); /* bank_account_type */
const char *agg_c_row(agg_arena *a, const char *d, const char *proj);     /* bank_accounts_row */
const char *agg_c_projection(agg_arena *a, const char *d, const char *proj); /* bank_accounts_projection */
const char *agg_c_project(agg_arena *a, const char *d, const char *proj);    /* bank_accounts_project */
/* bank_account_execute_open_account, bank_account_apply_account_opened */
const char *agg_c_execute(agg_arena *a, const char *d, const char *agg, const char *cmd);
const char *agg_c_apply(agg_arena *a, const char *d, const char *agg, const char *ev);
/* bank_send_money_reaction, the function of reaction send_money */
const char *agg_c_reaction(agg_arena *a, const char *d, const char *reaction);
/* BANK_TRANSFER_STATUS_REQUESTED from the enum's C name and a member */
const char *agg_c_member(agg_arena *a, const char *c_enum, const char *member);
/* BANK_REJECT_INSUFFICIENT_FUNDS from a rejection code */
const char *agg_c_reject(agg_arena *a, const char *d, const char *code);

bool agg_is_c_keyword(const char *name);   /* C11 keywords and common macros */
bool agg_is_sql_keyword(const char *name); /* PostgreSQL reserved words */
/* Codes the runtime itself uses for rejections. */
bool agg_is_runtime_code(const char *name);

#endif
