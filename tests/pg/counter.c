/* counter.c - descriptor tables and rules of the hand-written test domain
 * (see counter.h), shaped like aggc's output. */
#include <stddef.h>

#include <incident/gen.h>

#include "counter.h"

#define NOHAS INC_NO_OFFSET
#define NODEF {false, 0, 0.0, NULL}
#define DEFV(...) {__VA_ARGS__}
#define F(T, n, type, flags, has, en, def) \
    {#n, type, flags, offsetof(T, n), has, en, def}
#define HAS(T, n) offsetof(T, has_##n)
#define IMPL INC_FIELD_IMPLICIT
#define OPT INC_FIELD_OPTIONAL
#define DEFD INC_FIELD_DEFAULTED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define AGG_ID(T) F(T, aggregate_id, INC_TYPE_STRING, IMPL, NOHAS, NULL, NODEF)

static const char *const mood_members[] = {"calm", "busy"};
const inc_enum_desc counter_mood_enum = {"Mood", 2, mood_members};

/* ---- state ---- */
static const inc_field_desc state_fields[] = {
    AGG_ID(counter_counter_state),
    F(counter_counter_state, version, INC_TYPE_INT, IMPL, NOHAS, NULL, NODEF),
    F(counter_counter_state, updated_at, INC_TYPE_TIMESTAMP, IMPL | OPT,
      HAS(counter_counter_state, updated_at), NULL, NODEF),
    F(counter_counter_state, total, INC_TYPE_INT, DEFD, NOHAS, NULL,
      DEFV(true, 0, 0, NULL)),
    F(counter_counter_state, label, INC_TYPE_STRING, OPT,
      HAS(counter_counter_state, label), NULL, NODEF),
    F(counter_counter_state, ratio, INC_TYPE_FLOAT, DEFD, NOHAS, NULL,
      DEFV(true, 0, 0.0, NULL)),
    F(counter_counter_state, big, INC_TYPE_BOOL, DEFD, NOHAS, NULL,
      DEFV(true, 0, 0, NULL)),
    F(counter_counter_state, label_at, INC_TYPE_TIMESTAMP, OPT,
      HAS(counter_counter_state, label_at), NULL, NODEF),
    F(counter_counter_state, mood, INC_TYPE_ENUM, DEFD, NOHAS,
      &counter_mood_enum, DEFV(true, COUNTER_MOOD_CALM, 0, NULL)),
};
const inc_message_desc counter_counter_state_desc = {
    INC_MSG_STATE, "CounterState", "counter_counter_state",
    sizeof(counter_counter_state), COUNT(state_fields), state_fields,
    &counter_counter_type, NULL, NULL, NULL};

/* ---- rules ---- */
static int add_validate(const void *msg, inc_error *err) {
    const counter_add *c = msg;
    if (!(c->amount != 0)) return inc_reject(err, "zero_amount");
    return 0;
}

static int add_execute(const void *state, const void *command,
                       inc_event_list *out, inc_error *err) {
    const counter_counter_state *s = state;
    const counter_add *c = command;
    int64_t r;
    if (inc_i64_add(s->total, c->amount, &r))
        return inc_reject(err, "integer_overflow");
    counter_added *e = inc_event_list_add(out, &counter_added_desc,
                                          c->aggregate_id, err);
    if (!e) return -1;
    e->amount = c->amount;
    return 0;
}

static int add_many_validate(const void *msg, inc_error *err) {
    const counter_add_many *c = msg;
    if (!(c->times >= 1 && c->times <= 10)) return inc_reject(err, "bad_times");
    return 0;
}

static int add_many_execute(const void *state, const void *command,
                            inc_event_list *out, inc_error *err) {
    const counter_counter_state *s = state;
    const counter_add_many *c = command;
    int64_t total = s->total;
    for (int64_t i = 0; i < c->times; i++) {
        if (inc_i64_add(total, c->amount, &total))
            return inc_reject(err, "integer_overflow");
        counter_added *e = inc_event_list_add(out, &counter_added_desc,
                                              c->aggregate_id, err);
        if (!e) return -1;
        e->amount = c->amount;
    }
    return 0;
}

static int label_execute(const void *state, const void *command,
                         inc_event_list *out, inc_error *err) {
    const counter_counter_state *s = state;
    const counter_label *c = command;
    if (!(s->version > 0)) return inc_reject(err, "counter_not_found");
    counter_labeled *e = inc_event_list_add(out, &counter_labeled_desc,
                                            c->aggregate_id, err);
    if (!e) return -1;
    if (inc_str_set(&e->label, c->label, err) != 0) return -1;
    e->at = c->at;
    e->has_at = c->has_at;
    return 0;
}

static int fail_execute(const void *state, const void *command,
                        inc_event_list *out, inc_error *err) {
    (void)state;
    (void)command;
    (void)out;
    return inc_reject(err, "always_fails");
}

static int noop_execute(const void *state, const void *command,
                        inc_event_list *out, inc_error *err) {
    (void)state;
    (void)command;
    (void)out;
    (void)err;
    return 0;
}

static int added_apply(void *state, const void *event, inc_error *err) {
    counter_counter_state *s = state;
    const counter_added *e = event;
    int64_t r;
    if (inc_i64_add(s->total, e->amount, &r))
        return inc_reject(err, "integer_overflow");
    s->total = r;
    s->big = s->total >= 1000;
    s->mood = s->big ? COUNTER_MOOD_BUSY : COUNTER_MOOD_CALM;
    s->ratio = (double)s->total / 3.0;
    return 0;
}

static int labeled_apply(void *state, const void *event, inc_error *err) {
    counter_counter_state *s = state;
    const counter_labeled *e = event;
    if (inc_str_set(&s->label, e->label, err) != 0) return -1;
    s->has_label = s->label != NULL;
    s->label_at = e->at;
    s->has_label_at = e->has_at;
    return 0;
}

static int counters_project(const void *state, void *row, inc_error *err) {
    const counter_counter_state *s = state;
    counter_counters_row *r = row;
    if (inc_str_set(&r->aggregate_id, s->aggregate_id, err) != 0) return -1;
    r->total = s->total;
    if (inc_str_set(&r->label, s->has_label ? s->label : NULL, err) != 0)
        return -1;
    r->has_label = s->has_label;
    r->ratio = s->ratio;
    r->big = s->big;
    r->label_at = s->label_at;
    r->has_label_at = s->has_label_at;
    r->mood = s->mood;
    return 0;
}

/* ---- messages ---- */
static const inc_field_desc add_fields[] = {
    AGG_ID(counter_add),
    F(counter_add, amount, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
};
static const inc_field_desc add_many_fields[] = {
    AGG_ID(counter_add_many),
    F(counter_add_many, amount, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
    F(counter_add_many, times, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
};
static const inc_field_desc label_fields[] = {
    AGG_ID(counter_label),
    F(counter_label, label, INC_TYPE_STRING, 0, NOHAS, NULL, NODEF),
    F(counter_label, at, INC_TYPE_TIMESTAMP, OPT, HAS(counter_label, at), NULL,
      NODEF),
};
static const inc_field_desc fail_fields[] = {AGG_ID(counter_fail)};
static const inc_field_desc noop_fields[] = {AGG_ID(counter_noop)};
static const inc_field_desc added_fields[] = {
    AGG_ID(counter_added),
    F(counter_added, amount, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
};
static const inc_field_desc labeled_fields[] = {
    AGG_ID(counter_labeled),
    F(counter_labeled, label, INC_TYPE_STRING, 0, NOHAS, NULL, NODEF),
    F(counter_labeled, at, INC_TYPE_TIMESTAMP, OPT, HAS(counter_labeled, at),
      NULL, NODEF),
};
static const inc_field_desc row_fields[] = {
    AGG_ID(counter_counters_row),
    F(counter_counters_row, total, INC_TYPE_INT, 0, NOHAS, NULL, NODEF),
    F(counter_counters_row, label, INC_TYPE_STRING, OPT,
      HAS(counter_counters_row, label), NULL, NODEF),
    F(counter_counters_row, ratio, INC_TYPE_FLOAT, 0, NOHAS, NULL, NODEF),
    F(counter_counters_row, big, INC_TYPE_BOOL, 0, NOHAS, NULL, NODEF),
    F(counter_counters_row, label_at, INC_TYPE_TIMESTAMP, OPT,
      HAS(counter_counters_row, label_at), NULL, NODEF),
    F(counter_counters_row, mood, INC_TYPE_ENUM, 0, NOHAS, &counter_mood_enum,
      NODEF),
};

#define CMD(var, name, T, fields, validate, execute)                          \
    const inc_message_desc var = {INC_MSG_COMMAND, name, #T, sizeof(T),       \
                                  COUNT(fields), fields,                      \
                                  &counter_counter_type, validate, execute,   \
                                  NULL}
CMD(counter_add_desc, "Add", counter_add, add_fields, add_validate,
    add_execute);
CMD(counter_add_many_desc, "AddMany", counter_add_many, add_many_fields,
    add_many_validate, add_many_execute);
CMD(counter_label_desc, "Label", counter_label, label_fields, NULL,
    label_execute);
CMD(counter_fail_desc, "Fail", counter_fail, fail_fields, NULL, fail_execute);
CMD(counter_noop_desc, "Noop", counter_noop, noop_fields, NULL, noop_execute);

#define EVT(var, name, T, fields, apply)                                      \
    const inc_message_desc var = {INC_MSG_EVENT, name, #T, sizeof(T),         \
                                  COUNT(fields), fields,                      \
                                  &counter_counter_type, NULL, NULL, apply}
EVT(counter_added_desc, "Added", counter_added, added_fields, added_apply);
EVT(counter_labeled_desc, "Labeled", counter_labeled, labeled_fields,
    labeled_apply);

const inc_message_desc counter_counters_row_desc = {
    INC_MSG_ROW, "counters", "counter_counters_row",
    sizeof(counter_counters_row), COUNT(row_fields), row_fields,
    &counter_counter_type, NULL, NULL, NULL};

#define TS(c) "to_char(\"" c "\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define COLS                                                                   \
    "\"aggregate_id\", \"total\", \"label\", \"ratio\", \"big\", "             \
    TS("label_at") ", \"mood\", \"version\", \"event_id\", " TS("event_date")

const inc_projection_desc counter_counters_projection = {
    "counters",
    &counter_counter_type,
    &counter_counters_row_desc,
    counters_project,
    "INSERT INTO \"counters\" (\"aggregate_id\", \"total\", \"label\", "
    "\"ratio\", \"big\", \"label_at\", \"mood\", \"version\", \"event_id\", "
    "\"event_date\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON "
    "CONFLICT (\"aggregate_id\") DO UPDATE SET \"total\" = EXCLUDED.\"total\", "
    "\"label\" = EXCLUDED.\"label\", \"ratio\" = EXCLUDED.\"ratio\", \"big\" = "
    "EXCLUDED.\"big\", \"label_at\" = EXCLUDED.\"label_at\", \"mood\" = "
    "EXCLUDED.\"mood\", \"version\" = EXCLUDED.\"version\", \"event_id\" = "
    "EXCLUDED.\"event_id\", \"event_date\" = EXCLUDED.\"event_date\" WHERE "
    "\"counters\".\"version\" < EXCLUDED.\"version\"",
    "SELECT " COLS " FROM \"counters\" ORDER BY \"aggregate_id\" COLLATE \"C\"",
    "SELECT " COLS " FROM \"counters\" WHERE \"aggregate_id\" = $1",
    "TRUNCATE \"counters\"",
};

static const inc_message_desc *const agg_commands[] = {
    &counter_add_desc, &counter_add_many_desc, &counter_fail_desc,
    &counter_label_desc, &counter_noop_desc};
static const inc_message_desc *const agg_events[] = {&counter_added_desc,
                                                     &counter_labeled_desc};
static const inc_projection_desc *const agg_projections[] = {
    &counter_counters_projection};

inc_aggregate_desc counter_counter_type = {
    "Counter",        &counter_counter_state_desc,
    COUNT(agg_commands), agg_commands,
    COUNT(agg_events),   agg_events,
    COUNT(agg_projections), agg_projections,
    COUNTER_LAYOUT_HASH};

static const inc_aggregate_desc *const dom_aggregates[] = {&counter_counter_type};
/* sorted by name (strcmp) */
static const inc_message_desc *const dom_commands[] = {
    &counter_add_desc, &counter_add_many_desc, &counter_fail_desc,
    &counter_label_desc, &counter_noop_desc};
static const inc_message_desc *const dom_events[] = {&counter_added_desc,
                                                     &counter_labeled_desc};
static const inc_projection_desc *const dom_projections[] = {
    &counter_counters_projection};
static const inc_enum_desc *const dom_enums[] = {&counter_mood_enum};
static const char *const dom_rejections[] = {
    "always_fails", "bad_times", "counter_not_found", "integer_overflow",
    "zero_amount"};

const inc_domain counter_domain = {
    INC_ABI_VERSION,
    "counter",
    COUNT(dom_aggregates), dom_aggregates,
    COUNT(dom_commands),   dom_commands,
    COUNT(dom_events),     dom_events,
    COUNT(dom_projections), dom_projections,
    COUNT(dom_enums),      dom_enums,
    COUNT(dom_rejections), dom_rejections,
    "CREATE TABLE IF NOT EXISTS \"counters\" (\n"
    "    \"aggregate_id\" text PRIMARY KEY,\n"
    "    \"total\" bigint NOT NULL,\n"
    "    \"label\" text,\n"
    "    \"ratio\" double precision NOT NULL,\n"
    "    \"big\" boolean NOT NULL,\n"
    "    \"label_at\" timestamptz,\n"
    "    \"mood\" text NOT NULL CHECK (\"mood\" IN ('calm', 'busy')),\n"
    "    \"version\" bigint NOT NULL,\n"
    "    \"event_id\" uuid NOT NULL,\n"
    "    \"event_date\" timestamptz NOT NULL\n"
    ");\n",
};
