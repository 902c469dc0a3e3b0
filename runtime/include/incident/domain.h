/* domain.h - the descriptor tables that aggc emits and libincident walks.
 *
 * Generated code is plain C structs plus `const` tables describing them
 * (protobuf-c style).  The runtime never knows a domain at compile time: it
 * initialises, frees, encodes, decodes, folds and executes through these
 * tables.  Field layouts are described by offsets into the generated structs.
 *
 * Struct layout rules every generated message follows:
 *   int       -> int64_t            float     -> double
 *   bool      -> bool               string    -> char * (owned, NUL-terminated)
 *   timestamp -> inc_timestamp (int64_t microseconds since the Unix epoch, UTC)
 *   enum      -> the generated C enum (static-asserted to be int-sized)
 *   record    -> the record's generated struct, embedded by value
 *   list<T>   -> a typed INC_LIST_STRUCT(T) (below), T the element's C type
 *                as above (a record element is its struct, by value)
 *   T?        -> the value plus `bool has_<name>` (false = null/absent);
 *                for an optional record or list too (the value is then
 *                zero/empty and owns nothing)
 *
 * Why records are embedded, not pointed to: like every other optional, an
 * optional record is its value plus a has_ flag, so init, copy and free
 * need no allocation for records, a record read in a rule is never NULL,
 * and generated code reads `cmd->address.city` with no null checks.  The
 * cost is that a record type cannot contain itself directly (the checker
 * refuses that; through a list it is fine: list items are allocated).
 */
#ifndef INCIDENT_DOMAIN_H
#define INCIDENT_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <incident/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a descriptor struct below changes shape.  Generated
 * headers refuse to compile against another value (docs/language.md,
 * "Generated C").
 * Version 2: inc_message_desc gained schema evolution (schema_version,
 * was, upcast) and the time-reading rules (execute_at, apply_at);
 * inc_domain gained reactions and views.  (Records and lists changed no
 * struct's shape.) */
#define INC_ABI_VERSION 2

typedef int64_t inc_timestamp; /* microseconds since 1970-01-01T00:00:00Z */
/* The range RFC 3339 can write: 0000-01-01T00:00:00Z ..
 * 9999-12-31T23:59:59.999999Z. */
#define INC_TIMESTAMP_MIN (INT64_C(-719528) * INT64_C(86400000000))
#define INC_TIMESTAMP_MAX (INT64_C(2932897) * INT64_C(86400000000) - 1)

typedef enum inc_type {
    INC_TYPE_INT = 1,
    INC_TYPE_FLOAT,
    INC_TYPE_BOOL,
    INC_TYPE_STRING,
    INC_TYPE_TIMESTAMP,
    INC_TYPE_ENUM,
    INC_TYPE_RECORD, /* field's type descriptor: see inc_type_desc */
    INC_TYPE_LIST    /* field's type descriptor: see inc_type_desc */
} inc_type;

typedef struct inc_enum_desc {
    const char *name;             /* "TransferStatus" */
    size_t n_members;
    const char *const *members;   /* "requested", ... in declaration order */
} inc_enum_desc;

/* A constant default value (from `= literal` in the .agg file). */
typedef struct inc_default {
    bool present;
    int64_t i;          /* int, timestamp, bool (0/1), enum (member index) */
    double f;           /* float */
    const char *s;      /* string (copied on init) */
} inc_default;

typedef enum inc_field_flags {
    INC_FIELD_OPTIONAL = 1u << 0, /* T?: may be null/absent */
    INC_FIELD_IMPLICIT = 1u << 1, /* aggregate_id/version/updated_at */
    INC_FIELD_DEFAULTED = 1u << 2 /* has a default: may be absent in JSON */
} inc_field_flags;

#define INC_NO_OFFSET ((size_t)-1)

typedef struct inc_field_desc {
    const char *name;
    inc_type type;
    unsigned flags;                /* inc_field_flags */
    size_t offset;                 /* offsetof the value */
    size_t has_offset;             /* offsetof has_<name>, or INC_NO_OFFSET */
    const inc_enum_desc *enum_desc;/* for INC_TYPE_ENUM */
    inc_default def;
} inc_field_desc;

typedef enum inc_message_kind {
    INC_MSG_COMMAND = 1,
    INC_MSG_EVENT,
    INC_MSG_STATE,
    INC_MSG_ROW,   /* a projection row */
    INC_MSG_RECORD /* a `record` type: no implicit fields, no rules */
} inc_message_kind;

struct inc_aggregate_desc;
struct inc_event_list;

/* Compiled or extern rules, called through the tables with void pointers;
 * the generated typed functions are wrapped by generated thunks. */
typedef int (*inc_validate_fn)(const void *msg, inc_error *err);
typedef int (*inc_execute_fn)(const void *state, const void *command,
                              struct inc_event_list *out, inc_error *err);
typedef int (*inc_apply_fn)(void *state, const void *event, inc_error *err);
typedef int (*inc_project_fn)(const void *state, void *row, inc_error *err);
/* Schema evolution: read an event stored at schema `version` (older than
 * the descriptor's schema_version) from its JSON into `out`, a
 * current-shape struct already set up by inc_msg_init.  Generated from the
 * event's `upcast` blocks, chained. */
typedef int (*inc_upcast_fn)(unsigned version, const char *json, size_t len,
                             void *out, inc_error *err);
/* Time in rules (docs/language.md, "Time").  An apply rule that reads
 * `event.event_date` or `event.event_id` is called with the event's own
 * date, id and version; an execute rule that reads `now()` is called with
 * the command's time, the one timestamp every event of that attempt is
 * stored with.  Rules that read neither keep the plain signatures above. */
typedef struct inc_event_info {
    int64_t version;          /* of this event in its stream */
    inc_timestamp event_date; /* when it was stored */
    const char *event_id;     /* UUID text; "" when the caller has none */
} inc_event_info;
typedef int (*inc_apply_at_fn)(void *state, const void *event,
                               const inc_event_info *info, inc_error *err);
typedef int (*inc_execute_at_fn)(const void *state, const void *command,
                                 inc_timestamp now,
                                 struct inc_event_list *out, inc_error *err);

typedef struct inc_message_desc {
    inc_message_kind kind;
    const char *name;       /* .agg name: "OpenAccount" */
    const char *c_name;     /* "bank_open_account" */
    size_t size;            /* sizeof the generated struct */
    size_t n_fields;        /* implicit fields first */
    const inc_field_desc *fields;
    const struct inc_aggregate_desc *aggregate;
    inc_validate_fn validate; /* commands: the `check` clauses; may be NULL */
    inc_execute_fn execute;   /* commands */
    inc_apply_fn apply;       /* events */
    /* Events, schema evolution (docs/evolution.md).  schema_version: the
     * version written now, 1 + the number of upcast blocks (0 reads as 1).
     * was: older type names whose stored events are read as this event.
     * upcast: reads older stored versions; NULL when there is none. */
    unsigned schema_version;
    size_t n_was;
    const char *const *was;
    inc_upcast_fn upcast;
    /* Rules that read the time (inc_event_info above): when set, called
     * instead of execute (commands) or apply (events). */
    inc_execute_at_fn execute_at;
    inc_apply_at_fn apply_at;
} inc_message_desc;

/* ---- records and lists ----
 *
 * A list<T> field (and a list element type) is laid out as
 * INC_LIST_STRUCT(T): generated code declares one typed struct per element
 * type, e.g. `typedef INC_LIST_STRUCT(orders_line) orders_line_list;`, so
 * rules read `cmd->lines.items[i].qty`.  The runtime sees every list as
 * `inc_list` (same layout: all object pointers have one representation on
 * the platforms libincident supports) and copies it in and out with memcpy.
 *
 *   len    number of elements;
 *   cap    elements allocated in `items` (0 with items != NULL means
 *          "exactly len", for hand-built lists);
 *   items  malloc'd array of the element's C type, or NULL when empty;
 *   has    list<T?> only: malloc'd, has[i] false = element i is null
 *          (its value is then zero and owns nothing); NULL otherwise.
 *
 * inc_msg_free frees items (and what they own) and has; an empty list is
 * all zeros, which inc_msg_init produces.  Decoders refuse more than
 * INC_LIST_MAX_ITEMS elements in one list and JSON nested deeper than
 * INC_JSON_MAX_DEPTH containers (the message's own object is depth 1);
 * inc_msg_validate enforces the same limits, so whatever is stored can be
 * read back. */
#define INC_LIST_STRUCT(T)     \
    struct {                   \
        size_t len;            \
        size_t cap;            \
        T *items;              \
        bool *has;             \
    }
typedef INC_LIST_STRUCT(void) inc_list;
#define INC_LIST_MAX_ITEMS ((size_t)1000000)
#define INC_JSON_MAX_DEPTH 32

/* The descriptor of a record or list field.  ABI 1's inc_field_desc has
 * one pointer for a type descriptor, `enum_desc`; a record or list field
 * points it at the `head` of one of these (INC_TYPE_REF), and the runtime
 * gets back to the whole struct (a pointer to a struct's first member
 * converts to a pointer to the struct, C11 6.7.2.1p15).  That keeps the
 * field tables of existing generated code valid unchanged.  `head.name` is
 * the type as written ("Line", "list<Line>") and is used in errors;
 * head.n_members is 0. */
typedef struct inc_type_desc {
    inc_enum_desc head;              /* must stay the first member */
    inc_type type;                   /* INC_TYPE_RECORD or INC_TYPE_LIST */
    inc_type elem_type;              /* LIST: the elements' type (not LIST) */
    unsigned elem_flags;             /* LIST: INC_FIELD_OPTIONAL: list<T?> */
    const inc_enum_desc *elem_enum;  /* LIST of ENUM */
    const inc_message_desc *record;  /* RECORD, or LIST of RECORD
                                        (kind INC_MSG_RECORD) */
} inc_type_desc;
#define INC_TYPE_REF(td) (&(td).head)

/* The type descriptor of a RECORD or LIST field (NULL for other fields or
 * a field without one). */
static inline const inc_type_desc *
inc_field_type_desc(const inc_field_desc *f) {
    const inc_type_desc *td;
    if ((f->type != INC_TYPE_RECORD && f->type != INC_TYPE_LIST) ||
        !f->enum_desc)
        return NULL;
    td = (const inc_type_desc *)(const void *)f->enum_desc;
    return td->type == f->type ? td : NULL;
}

typedef struct inc_projection_desc {
    const char *name;                 /* table name, from the .agg */
    const struct inc_aggregate_desc *aggregate;
    const inc_message_desc *row;      /* columns (aggregate_id first) */
    inc_project_fn project;           /* state -> row */
    const char *upsert_sql;           /* $1 aggregate_id, $2.. columns, then
                                         version, event_id, event_date */
    const char *select_sql;           /* all rows ordered by aggregate_id */
    const char *select_one_sql;       /* WHERE aggregate_id = $1 */
    const char *truncate_sql;         /* for rebuild */
} inc_projection_desc;

typedef struct inc_aggregate_desc {
    const char *name;                 /* "Account" */
    const inc_message_desc *state;
    size_t n_commands;
    const inc_message_desc *const *commands;
    size_t n_events;
    const inc_message_desc *const *events;
    size_t n_projections;
    const inc_projection_desc *const *projections;
    /* Hash of the state's field names and types: a snapshot taken with
     * another layout is ignored, never trusted. */
    uint64_t state_layout_hash;
} inc_aggregate_desc;

struct inc_handler_ctx;
struct inc_recorded_event;
/* A reaction (docs/language.md): after an event of type `event` commits,
 * fn dispatches the commands it leads to through the handler context, so
 * they run exactly once in effect (deterministic command ids, durable
 * reactor).  Same signature as an inc_event_handler_fn; ud is NULL. */
typedef struct inc_reaction_desc {
    const char *name;                 /* unique in the domain; keys the ids */
    const inc_message_desc *event;    /* the triggering event */
    int (*fn)(struct inc_handler_ctx *ctx, const struct inc_recorded_event *ev,
              void *ud, inc_error *err);
} inc_reaction_desc;

/* ---- views (docs/language.md "Views", docs/runtime.md "Views") ----
 * A view is a table with its own key, fed by events of any aggregates of
 * the domain and maintained by a consumer ("view:NAME") outside the
 * commands' transactions.  Each handler turns one event type into one
 * parameterised statement: an upsert that sets or adds to columns, or a
 * delete, of the row whose key the event gives. */
typedef enum inc_view_source {
    INC_VIEW_FIELD = 1,    /* a field of the event (`field`) */
    INC_VIEW_AGGREGATE_ID, /* the emitting aggregate's id */
    INC_VIEW_LITERAL,      /* `literal`: canonical text of a constant */
    INC_VIEW_NULL,         /* SQL NULL (an optional column) */
    INC_VIEW_EXPR          /* `expr` computes it from the decoded event */
} inc_view_source;

typedef struct inc_view_value {
    inc_view_source source;
    const char *field;   /* INC_VIEW_FIELD */
    const char *literal; /* INC_VIEW_LITERAL */
    /* INC_VIEW_EXPR (a key written as an expression over the event): the
     * value as text in *out (malloc'd, the caller frees it); -1 and err
     * when the expression fails (an overflow, a null read). */
    int (*expr)(const struct inc_recorded_event *ev, char **out,
                inc_error *err);
} inc_view_value;

typedef struct inc_view_handler {
    const inc_message_desc *event;
    inc_view_value key;            /* the row's key (a string) */
    bool delete_row;               /* `delete`: sql is the DELETE */
    size_t n_values;               /* sql's $2.. (a delete has none) */
    const inc_view_value *values;
    /* $1 the key, $2.. the values, then (not for a delete) the log
     * position, event id and event date of the event */
    const char *sql;
} inc_view_handler;

typedef struct inc_view_desc {
    const char *name;
    /* the view's table as a projection: `row` (the key first, flagged
     * INC_FIELD_IMPLICIT, then the columns), select_sql, select_one_sql,
     * truncate_sql; `aggregate`, `project` and `upsert_sql` are NULL */
    const inc_projection_desc *table;
    size_t n_handlers;             /* in declaration order */
    const inc_view_handler *handlers;
} inc_view_desc;

typedef struct inc_domain {
    unsigned abi_version;             /* INC_ABI_VERSION */
    const char *name;                 /* "bank" */
    size_t n_aggregates;
    const inc_aggregate_desc *const *aggregates;
    size_t n_commands;                /* every command, sorted by name */
    const inc_message_desc *const *commands;
    size_t n_events;                  /* every event, sorted by name */
    const inc_message_desc *const *events;
    size_t n_projections;             /* sorted by name */
    const inc_projection_desc *const *projections;
    size_t n_enums;
    const inc_enum_desc *const *enums;
    size_t n_rejections;              /* every rejection code, sorted */
    const char *const *rejections;
    const char *ddl;                  /* CREATE TABLE IF NOT EXISTS ... */
    size_t n_reactions;               /* in declaration order */
    const inc_reaction_desc *reactions;
    size_t n_views;                   /* sorted by name */
    const inc_view_desc *const *views;
} inc_domain;

/* ---- lookups (binary search over the sorted tables; NULL if absent) ---- */
INC_API const inc_message_desc *inc_domain_command(const inc_domain *d,
                                                   const char *name);
INC_API const inc_message_desc *inc_domain_event(const inc_domain *d,
                                                 const char *name);
INC_API const inc_aggregate_desc *inc_domain_aggregate(const inc_domain *d,
                                                       const char *name);
INC_API const inc_projection_desc *inc_domain_projection(const inc_domain *d,
                                                         const char *name);
INC_API const inc_view_desc *inc_domain_view(const inc_domain *d,
                                             const char *name);
INC_API const inc_message_desc *inc_aggregate_event(const inc_aggregate_desc *a,
                                                    const char *name);

/* ---- generic message operations (the generated _init/_free/... wrap these) */

/* Set every field to its default (zero, NULL, false, or the .agg default). */
INC_API void inc_msg_init(const inc_message_desc *d, void *msg);
/* Free owned strings and reset them to NULL.  NULL-safe, idempotent, and
 * fine on hand-built values whose strings came from malloc/strdup. */
INC_API void inc_msg_free(const inc_message_desc *d, void *msg);
/* Deep copy; `dst` must be uninitialised or freed.  -1 on OOM. */
INC_API int inc_msg_copy(const inc_message_desc *d, void *dst, const void *src,
                         inc_error *err);

typedef enum inc_json_flags {
    INC_JSON_SKIP_IMPLICIT = 1u << 0, /* leave out aggregate_id etc. (event data) */
    /* decoding: members naming no field of the message, or of a record
     * inside it, are skipped, not refused (stored events written by a
     * newer program that added fields; docs/evolution.md) */
    INC_JSON_IGNORE_UNKNOWN = 1u << 1
} inc_json_flags;

/* Encode as a JSON object; NULL only when out of memory. */
INC_API json_t *inc_msg_to_json(const inc_message_desc *d, const void *msg,
                                unsigned flags);
/* Encode as compact JSON text (malloc'd, NUL-terminated; *len, if not
 * NULL, gets its length).  Byte for byte what
 * json_dumps(inc_msg_to_json(d, msg, flags), JSON_COMPACT) returns, without
 * building the jansson tree.  NULL only when out of memory. */
INC_API char *inc_msg_to_text(const inc_message_desc *d, const void *msg,
                              unsigned flags, size_t *len);
/* Strict decode: unknown, duplicate (for text input), missing-required and
 * ill-typed fields are INC_ERR_INVALID errors whose message starts with the
 * JSON path ("$.amount: expected integer").  On failure everything decoded
 * so far is freed and `msg` is left initialised.  `msg` need not be
 * initialised beforehand. */
INC_API int inc_msg_from_json(const inc_message_desc *d, void *msg,
                              const json_t *json, unsigned flags,
                              inc_error *err);
/* Same from text; rejects duplicate keys and trailing garbage. */
INC_API int inc_msg_from_text(const inc_message_desc *d, void *msg,
                              const char *text, size_t len, unsigned flags,
                              inc_error *err);

/* Run the generated validation: required strings non-NULL, aggregate_id
 * non-empty, enum values in range, then the `check` clauses. */
INC_API int inc_msg_validate(const inc_message_desc *d, const void *msg,
                             inc_error *err);

/* ---- timestamps (RFC 3339, always printed as ...T..:..:..ffffffZ) ---- */
#define INC_TIMESTAMP_TEXT_MAX 40
INC_API int inc_timestamp_format(inc_timestamp ts,
                                 char out[INC_TIMESTAMP_TEXT_MAX]);
INC_API int inc_timestamp_parse(const char *text, inc_timestamp *out);
INC_API inc_timestamp inc_timestamp_now(void);

/* ---- events produced by execute ---- */
typedef struct inc_event_item {
    const inc_message_desc *desc;
    void *data; /* a desc->size struct owned by the list */
} inc_event_item;

typedef struct inc_event_list {
    size_t count, cap;
    inc_event_item *items;
} inc_event_list;

#define INC_EVENT_LIST_INIT {0, 0, NULL}
INC_API void inc_event_list_init(inc_event_list *l);
/* Append a new initialised event whose aggregate_id is a copy of
 * `aggregate_id`; returns the struct to fill, or NULL (err set) on OOM. */
INC_API void *inc_event_list_add(inc_event_list *l, const inc_message_desc *d,
                                 const char *aggregate_id, inc_error *err);
/* Frees the items, keeps the capacity. */
INC_API void inc_event_list_clear(inc_event_list *l);
INC_API void inc_event_list_free(inc_event_list *l);

/* ---- the database-free core: fold and execute ---- */

/* Initialise `state` (desc->state) for aggregate `id`: defaults, version 0. */
INC_API int inc_state_init(const inc_aggregate_desc *a, void *state,
                           const char *id, inc_error *err);
/* Apply one event and advance version/updated_at.  `version` must be
 * state.version + 1 (otherwise INC_ERR_INTERNAL: a gap or duplicate). */
INC_API int inc_state_apply(const inc_aggregate_desc *a, void *state,
                            const inc_message_desc *event, const void *data,
                            int64_t version, inc_timestamp at, inc_error *err);
/* inc_state_apply with the event's id (inc_event_info): what an apply
 * rule reading `event.event_id` sees.  inc_state_apply passes "". */
INC_API int inc_state_apply_info(const inc_aggregate_desc *a, void *state,
                                 const inc_message_desc *event,
                                 const void *data, const inc_event_info *info,
                                 inc_error *err);
/* Validate `command` and run its execute rule against `state`; on success
 * `out` holds the new events (possibly none).  On failure `out` is left as
 * it was. */
INC_API int inc_execute(const inc_aggregate_desc *a, const void *state,
                        const inc_message_desc *command, const void *data,
                        inc_event_list *out, inc_error *err);
/* inc_execute at a given time: what `now()` returns in the rule.
 * inc_execute takes inc_timestamp_now(); the pipeline takes one timestamp
 * per attempt and stores the events with it. */
INC_API int inc_execute_at(const inc_aggregate_desc *a, const void *state,
                           const inc_message_desc *command, const void *data,
                           inc_timestamp now, inc_event_list *out,
                           inc_error *err);

#ifdef __cplusplus
}
#endif
#endif
