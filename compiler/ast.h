/* ast.h - the syntax tree of .agg files, shared by parser, checker and
 * generators.
 *
 * Every node carries the location of the token that names it.  All nodes and
 * strings live in one arena (arena.h) owned by the compilation, so the
 * parser never frees individual nodes and error recovery cannot leak.
 * Lists are singly linked through `next`, in source order.
 *
 * The parser fills the syntactic fields; the checker fills the fields marked
 * "checker:" (resolved references and types), and the generators only read
 * a tree the checker accepted. */
#ifndef AGGC_AST_H
#define AGGC_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef struct agg_loc {
    const char *file; /* arena string: the path as given on the command line */
    int line, col;    /* 1-based; col counts bytes */
    int end_line, end_col;
} agg_loc;

typedef enum agg_type_kind {
    AGG_T_ERROR = 0, /* unresolved: an error was reported already */
    AGG_T_INT,
    AGG_T_FLOAT,
    AGG_T_BOOL,
    AGG_T_STRING,
    AGG_T_TIMESTAMP,
    AGG_T_ENUM,
    AGG_T_NULL, /* type of the literal `null` */
    AGG_T_DURATION, /* `30d`, `ts - ts`: microseconds; an expression type only */
    AGG_T_RECORD, /* a `record` declared in the file: rec */
    AGG_T_LIST    /* list<elem>; elem NULL: the literal `[]` (any list) */
} agg_type_kind;

struct agg_enum;
struct agg_record;

typedef struct agg_type {
    agg_type_kind kind;
    bool optional;
    struct agg_enum *enm; /* AGG_T_ENUM */
    struct agg_record *rec;       /* AGG_T_RECORD */
    const struct agg_type *elem;  /* AGG_T_LIST: the element type (arena) */
} agg_type;

/* A type as written: `int`, `string?`, `TransferStatus`. */
typedef struct agg_typeref {
    agg_loc loc;
    const char *name;
    bool optional;
    agg_type type; /* checker: resolved */
    /* `list<elem>`: name is "list"; the element as written */
    bool is_list;
    const char *elem_name;
    agg_loc elem_loc;
    bool elem_optional;
} agg_typeref;

/* ---------------------------------------------------------------- exprs */

typedef enum agg_expr_kind {
    AGG_E_INT,      /* ival */
    AGG_E_FLOAT,    /* fval */
    AGG_E_STRING,   /* sval (decoded bytes, NUL-free), slen */
    AGG_E_BOOL,     /* ival 0/1 */
    AGG_E_NULL,
    AGG_E_NAME,     /* bare identifier `balance`, `aggregate_id` */
    AGG_E_MEMBER,   /* `base.name`: command.f, event.f, state.f, Enum.member */
    AGG_E_UNARY,    /* op '!' or '-', lhs */
    AGG_E_BINARY,   /* op, lhs, rhs */
    AGG_E_DURATION, /* `30d`: ival microseconds */
    AGG_E_CALL,     /* sval(...): `now()` (no lhs, check_time.c); len(lhs);
                       sum/all/any/count(lhs for var in rhs if filter)
                       (docs/language.md, "Lists") */
    AGG_E_FIELD,    /* `lhs.sval`: a field of a record-valued expression */
    AGG_E_EMPTY     /* the empty list literal `[]` */
} agg_expr_kind;

typedef enum agg_op {
    AGG_OP_NONE = 0,
    AGG_OP_NOT, AGG_OP_NEG,
    AGG_OP_ADD, AGG_OP_SUB, AGG_OP_MUL, AGG_OP_DIV, AGG_OP_MOD,
    AGG_OP_EQ, AGG_OP_NE, AGG_OP_LT, AGG_OP_LE, AGG_OP_GT, AGG_OP_GE,
    AGG_OP_AND, AGG_OP_OR,
    AGG_OP_IN /* `x in xs`: membership */
} agg_op;

/* What an AGG_E_NAME / AGG_E_MEMBER refers to (checker). */
typedef enum agg_ref_kind {
    AGG_REF_NONE = 0,
    AGG_REF_STATE,   /* a state field (incl. implicit aggregate_id/version/
                        updated_at) */
    AGG_REF_COMMAND, /* a field of the command being executed/checked */
    AGG_REF_EVENT,   /* a field of the event being applied */
    AGG_REF_ENUM,    /* an enum member */
    AGG_REF_OLD,     /* `old.f` in an upcast block: a field of the stored
                        version */
    AGG_REF_EVENT_INFO, /* event.event_date / event.event_id (check_time.c) */
    AGG_REF_VAR      /* a variable bound by `for x in xs` or `xs -= x if` */
} agg_ref_kind;

struct agg_field;

/* A variable bound to each element of a list in turn (a comprehension's
 * `for x in xs`, or `xs -= x if ...`).  Scopes chain through `outer`. */
typedef struct agg_bind {
    const char *name;
    agg_loc loc;
    agg_type type;        /* the list's element type */
    struct agg_bind *outer;
    /* generator: the element as C, its presence (NULL = always) */
    const char *c_value, *c_has;
} agg_bind;

typedef struct agg_expr {
    agg_expr_kind kind;
    agg_loc loc;
    agg_op op;
    struct agg_expr *lhs, *rhs;
    int64_t ival;
    double fval;
    const char *sval; /* AGG_E_STRING: bytes; NAME: the name; MEMBER: member */
    size_t slen;
    const char *base; /* AGG_E_MEMBER: "command", "event", "state" or an enum */
    agg_loc base_loc;
    /* checker: */
    agg_type type;
    agg_ref_kind ref;
    struct agg_field *field; /* STATE/COMMAND/EVENT */
    int member_index;        /* ENUM */
    /* AGG_E_CALL with a comprehension: `for var in rhs if filter` */
    const char *var;
    agg_loc var_loc;
    struct agg_expr *filter;
    agg_bind *bind;          /* checker: CALL's own variable; VAR: the one
                                a name refers to */
} agg_expr;

/* ----------------------------------------------------------- statements */

typedef enum agg_stmt_kind {
    AGG_S_REQUIRE, /* require cond else code; */
    AGG_S_FAIL,    /* fail code; */
    AGG_S_EMIT,    /* emit Event { f = e; ... } */
    AGG_S_IF,      /* if cond { then } else { els } (else-if: els is one IF) */
    AGG_S_ASSIGN   /* target op value;  (apply only) */
} agg_stmt_kind;

typedef struct agg_code {
    agg_loc loc;
    const char *name; /* rejection code identifier */
} agg_code;

struct agg_event;

typedef struct agg_init {
    agg_loc loc; /* of the field name */
    const char *name;
    agg_expr *value;
    struct agg_field *field; /* checker: the event field */
    struct agg_init *next;
} agg_init;

typedef struct agg_stmt {
    agg_stmt_kind kind;
    agg_loc loc;
    agg_expr *cond;      /* REQUIRE, IF */
    agg_code code;       /* REQUIRE, FAIL */
    const char *event_name; /* EMIT */
    agg_loc event_loc;
    agg_init *inits;     /* EMIT */
    struct agg_stmt *then_body, *else_body; /* IF */
    bool has_else;
    const char *target;  /* ASSIGN: a state field name */
    agg_loc target_loc;
    agg_op assign_op;    /* AGG_OP_NONE for '=', AGG_OP_ADD '+=', AGG_OP_SUB '-=' */
    agg_expr *value;     /* ASSIGN */
    /* checker: */
    struct agg_event *event;        /* EMIT */
    struct agg_field *target_field; /* ASSIGN */
    struct agg_stmt *next;
    /* ASSIGN `xs -= var if cond;` (remove where): value NULL */
    const char *var;
    agg_loc var_loc;
    agg_bind *bind;      /* checker */
} agg_stmt;

/* --------------------------------------------------------- declarations */

/* A field of a state, command or event: `name: type = default;` */
typedef struct agg_field {
    agg_loc loc;
    const char *name;
    agg_typeref type;
    agg_expr *def; /* default value or NULL */
    bool implicit; /* checker-created aggregate_id / version / updated_at */
    struct agg_field *next;
} agg_field;

/* `check cond else code;` */
typedef struct agg_check {
    agg_loc loc;
    agg_expr *cond;
    agg_code code;
    struct agg_check *next;
} agg_check;

struct agg_aggregate;
struct agg_execute;
struct agg_apply;

typedef struct agg_command {
    agg_loc loc;
    const char *name;
    agg_field *fields;
    agg_check *checks;
    struct agg_aggregate *agg;     /* checker */
    struct agg_execute *execute;   /* checker */
    struct agg_command *next;
} agg_command;

/* A name in a list: `was A, B`. */
typedef struct agg_name {
    agg_loc loc;
    const char *name;
    struct agg_name *next;
} agg_name;

/* `upcast N { FIELDS } { ASSIGNMENTS }` in an event (docs/evolution.md):
 * the fields stored as schema version N and how version N+1 is built from
 * them (`old.f`). */
typedef struct agg_upcast {
    agg_loc loc;        /* of the version number */
    int64_t version;
    agg_field *fields;  /* version N's fields */
    agg_stmt *body;     /* assignments to version N+1's fields */
    agg_loc body_loc;   /* of the body's '{' */
    agg_field *target;  /* checker: version N+1's fields */
    struct agg_upcast *next;
} agg_upcast;

typedef struct agg_event {
    agg_loc loc;
    const char *name;
    agg_field *fields;
    struct agg_aggregate *agg;  /* checker */
    struct agg_apply *apply;    /* checker */
    struct agg_event *next;
    /* schema evolution (check_evo.c, gen_evo.c) */
    agg_name *was;              /* `was Old1, Old2` */
    agg_upcast *upcasts;        /* in source order; checked to be 1, 2, ... */
} agg_event;

typedef struct agg_execute {
    agg_loc loc;           /* of the command name */
    const char *command_name;
    bool is_extern;
    agg_stmt *body;
    agg_command *command;  /* checker */
    bool uses_time;        /* checker: reads now() (check_time.c) */
    struct agg_execute *next;
} agg_execute;

typedef struct agg_apply {
    agg_loc loc;           /* of the event name */
    const char *event_name;
    bool is_extern;
    agg_stmt *body;
    agg_event *event;      /* checker */
    bool uses_time;        /* checker: reads event.event_date/event_id */
    struct agg_apply *next;
} agg_apply;

/* A projection column: `field;` or `name: type = expr;` */
typedef struct agg_column {
    agg_loc loc;
    const char *name;
    agg_typeref type;      /* only when has_type */
    bool has_type;
    agg_expr *value;       /* NULL for a bare `field;` */
    agg_field *state_field;/* checker: for a bare column */
    agg_type col_type;     /* checker */
    struct agg_column *next;
    bool is_index;         /* parser: `index NAME;` (moved to ->indexes) */
} agg_column;

struct agg_view_index;
typedef struct agg_projection {
    agg_loc loc;
    const char *name;
    agg_column *columns;
    struct agg_aggregate *agg; /* checker */
    struct agg_projection *next;
    struct agg_view_index *indexes; /* `index column;` */
} agg_projection;

typedef struct agg_aggregate {
    agg_loc loc;
    const char *name;
    agg_loc state_loc;          /* of `state` (line 0 if no state block) */
    agg_field *state;           /* declared state fields */
    agg_command *commands;
    agg_event *events;
    agg_execute *executes;
    agg_apply *applies;
    agg_projection *projections;
    /* checker: implicit aggregate_id, version, updated_at followed by the
     * declared state fields */
    agg_field *all_state;
    struct agg_aggregate *next;
} agg_aggregate;

/* `record Name { fields }`: a named group of fields, embedded by value in
 * the messages that use it (docs/language.md, "Records and lists"). */
typedef struct agg_record {
    agg_loc loc;
    const char *name;
    agg_field *fields;
    int mark; /* checker: depth-first search state of the cycle check */
    struct agg_record *next;
} agg_record;

typedef struct agg_enum_member {
    agg_loc loc;
    const char *name;
    struct agg_enum_member *next;
} agg_enum_member;

typedef struct agg_enum {
    agg_loc loc;
    const char *name;
    agg_enum_member *members;
    int n_members; /* checker */
    struct agg_enum *next;
} agg_enum;

/* ------------------------------------------------------------ reactions */

/* One command a reaction dispatches (`dispatch`, `then` or `else`):
 * `C { field = expr; ... }`, aggregate_id among the fields. */
typedef struct agg_react_step {
    agg_loc loc;               /* of the keyword */
    const char *command_name;
    agg_loc command_loc;
    agg_init *inits;           /* checker: each init's field is the command's */
    agg_command *command;      /* checker */
} agg_react_step;

/* `react Event as name { dispatch C {...} then C {...} else C {...} }`
 * (docs/language.md, "Reactions"). */
typedef struct agg_reaction {
    agg_loc loc;               /* of the name */
    const char *name;
    const char *event_name;
    agg_loc event_loc;
    agg_react_step *dispatch;
    agg_react_step *on_ok;       /* `then`, or NULL */
    agg_react_step *on_rejected; /* `else`, or NULL */
    agg_event *event;          /* checker */
    struct agg_reaction *next;
} agg_reaction;
/* ---------------------------------------------------------------- views */

/* `index column;` in a view. */
typedef struct agg_view_index {
    agg_loc loc;
    const char *name;
    agg_field *column; /* checker (a view's column) */
    struct agg_view_index *next;
    struct agg_column *pcolumn; /* checker (a projection's column) */
} agg_view_index;

/* `on Event key expr { column = e; column += e; ... }` or
 * `on Event key expr delete;` */
typedef struct agg_view_on {
    agg_loc loc;          /* of the event name */
    const char *event_name;
    agg_expr *key;
    agg_stmt *body;       /* AGG_S_ASSIGN only (checker) */
    bool is_delete;
    agg_event *event;     /* checker */
    struct agg_view_on *next;
    bool key_expr;        /* checker: the key is computed in C (gen_view.c) */
} agg_view_on;

/* `view name key column { columns; indexes; handlers }`: a read model
 * keyed by `key`, fed by events of any aggregate (check_view.c,
 * gen_view.c). */
typedef struct agg_view {
    agg_loc loc;
    const char *name;
    const char *key_name;
    agg_loc key_loc;
    agg_field *columns;
    agg_view_index *indexes;
    agg_view_on *ons;
    struct agg_view *next;
} agg_view;

/* One parsed file. */
typedef struct agg_file {
    const char *path;
    agg_loc domain_loc;
    const char *domain; /* NULL if the file has no `domain x;` */
    agg_enum *enums;
    agg_aggregate *aggregates;
    struct agg_file *next;
    struct agg_reaction *reactions; /* `react` declarations, in order */
    agg_view *views;
    agg_record *records;
} agg_file;

/* Everything given to one aggc run, after the checker merged the files. */
typedef struct agg_program {
    agg_file *files;
    const char *domain;
    agg_enum *enums;           /* checker: every file's, in order */
    agg_aggregate *aggregates; /* checker: every file's, in order */
    /* checker: every rejection code used (require/fail/check), sorted */
    const char **codes;
    size_t n_codes;
    struct agg_reaction *reactions; /* checker: every file's, in order */
    agg_view *views;           /* checker: every file's, in order */
    agg_record *records;       /* checker: every file's, in order */
} agg_program;

#endif
