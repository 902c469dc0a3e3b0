/* evo_domain.c - the descriptor tables of evo_domain.h, laid out as aggc
 * emits them (implicit fields first, sorted domain tables), for both
 * versions; the rules are plain C, and CopiesAdded's upcast is written the
 * way the generator chains them: decode the stored shape, build the next. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <incident/gen.h>

#include "evo_domain.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define NOHAS INC_NO_OFFSET
#define NODEF {false, 0, 0.0, NULL}
/* the default last: it holds commas */
#define F(T, n, type, flags, has, ...) \
    {#n, type, flags, offsetof(T, n), has, NULL, __VA_ARGS__}
#define HAS(T, n) offsetof(T, has_##n)
#define IMPL INC_FIELD_IMPLICIT
#define OPT INC_FIELD_OPTIONAL
#define DEFD INC_FIELD_DEFAULTED
#define AGG_ID(T) F(T, aggregate_id, INC_TYPE_STRING, IMPL, NOHAS, NODEF)
#define LAYOUT_HASH 0x5eedf00dULL /* one state layout for both versions */

/* ---- state (shared) ---- */
static const inc_field_desc state_fields[] = {
    AGG_ID(evo_state),
    F(evo_state, version, INC_TYPE_INT, IMPL, NOHAS, NODEF),
    F(evo_state, updated_at, INC_TYPE_TIMESTAMP, IMPL | OPT,
      HAS(evo_state, updated_at), NODEF),
    F(evo_state, title, INC_TYPE_STRING, OPT, HAS(evo_state, title), NODEF),
    F(evo_state, copies, INC_TYPE_INT, DEFD, NOHAS, {true, 0, 0, NULL}),
    F(evo_state, members, INC_TYPE_INT, DEFD, NOHAS, {true, 0, 0, NULL}),
    F(evo_state, last_member, INC_TYPE_STRING, OPT,
      HAS(evo_state, last_member), NODEF),
};
#define STATE_DESC(n, agg)                                                     \
    const inc_message_desc n = {.kind = INC_MSG_STATE,                         \
                                .name = "BookState",                           \
                                .c_name = "evo_state",                         \
                                .size = sizeof(evo_state),                     \
                                .n_fields = COUNT(state_fields),               \
                                .fields = state_fields,                        \
                                .aggregate = &agg}
STATE_DESC(evo_v1_state_desc, evo_v1_book);
STATE_DESC(evo_v2_state_desc, evo_v2_book);

/* ---- rules shared by both versions ---- */
static int set_opt(char **dst, bool *has, const char *src, inc_error *err) {
    if (inc_str_set(dst, src, err) != 0) return -1;
    *has = src != NULL;
    return 0;
}

static int apply_book_added(void *state, const void *event, inc_error *err) {
    evo_state *s = state;
    const evo_book_added *e = event;
    return set_opt(&s->title, &s->has_title, e->title, err);
}

static int apply_member(void *state, const void *event, inc_error *err) {
    evo_state *s = state;
    const evo_member *e = event;
    s->members++;
    return set_opt(&s->last_member, &s->has_last_member, e->name, err);
}

/* ---- events, version 1 ---- */
static const inc_field_desc book_added1_fields[] = {
    AGG_ID(evo_book_added),
    F(evo_book_added, title, INC_TYPE_STRING, 0, NOHAS, NODEF),
};
const inc_message_desc evo_v1_book_added = {
    .kind = INC_MSG_EVENT, .name = "BookAdded", .c_name = "evo_book_added",
    .size = sizeof(evo_book_added), .n_fields = COUNT(book_added1_fields),
    .fields = book_added1_fields, .aggregate = &evo_v1_book,
    .apply = apply_book_added};

static const inc_field_desc copies1_fields[] = {
    AGG_ID(evo_copies1),
    F(evo_copies1, count, INC_TYPE_INT, 0, NOHAS, NODEF),
    F(evo_copies1, note, INC_TYPE_STRING, OPT, HAS(evo_copies1, note), NODEF),
};
static int apply_copies1(void *state, const void *event, inc_error *err) {
    (void)err;
    ((evo_state *)state)->copies += ((const evo_copies1 *)event)->count;
    return 0;
}
const inc_message_desc evo_v1_copies_added = {
    .kind = INC_MSG_EVENT, .name = "CopiesAdded", .c_name = "evo_copies1",
    .size = sizeof(evo_copies1), .n_fields = COUNT(copies1_fields),
    .fields = copies1_fields, .aggregate = &evo_v1_book,
    .apply = apply_copies1};

static const inc_field_desc member_fields[] = {
    AGG_ID(evo_member),
    F(evo_member, name, INC_TYPE_STRING, 0, NOHAS, NODEF),
};
const inc_message_desc evo_v1_member_joined = {
    .kind = INC_MSG_EVENT, .name = "MemberJoined", .c_name = "evo_member",
    .size = sizeof(evo_member), .n_fields = COUNT(member_fields),
    .fields = member_fields, .aggregate = &evo_v1_book,
    .apply = apply_member};

/* ---- events, version 2 ---- */
static const inc_field_desc book_added2_fields[] = {
    AGG_ID(evo_book_added),
    F(evo_book_added, title, INC_TYPE_STRING, 0, NOHAS, NODEF),
    F(evo_book_added, shelf, INC_TYPE_STRING, DEFD, NOHAS,
      {true, 0, 0, "A"}),
    F(evo_book_added, subtitle, INC_TYPE_STRING, OPT,
      HAS(evo_book_added, subtitle), NODEF),
};
/* Fields added with a default and as optional: still schema version 1. */
const inc_message_desc evo_v2_book_added = {
    .kind = INC_MSG_EVENT, .name = "BookAdded", .c_name = "evo_book_added",
    .size = sizeof(evo_book_added), .n_fields = COUNT(book_added2_fields),
    .fields = book_added2_fields, .aggregate = &evo_v2_book,
    .apply = apply_book_added, .schema_version = 1};

static const inc_field_desc copies2_fields[] = {
    AGG_ID(evo_copies2),
    F(evo_copies2, copies, INC_TYPE_INT, 0, NOHAS, NODEF),
    F(evo_copies2, note, INC_TYPE_STRING, OPT, HAS(evo_copies2, note), NODEF),
};
static int apply_copies2(void *state, const void *event, inc_error *err) {
    (void)err;
    ((evo_state *)state)->copies += ((const evo_copies2 *)event)->copies;
    return 0;
}
/* `upcast 1 { count: int; note: string?; } { copies = old.count; note =
 * old.note; }`: version 1's shape, decoded as stored events are
 * (tolerantly), then the assignments. */
static const inc_message_desc copies_upcast1_shape = {
    .kind = INC_MSG_EVENT, .name = "CopiesAdded", .c_name = "evo_copies1",
    .size = sizeof(evo_copies1), .n_fields = COUNT(copies1_fields),
    .fields = copies1_fields};
static int upcast_copies(unsigned version, const char *json, size_t len,
                         void *out, inc_error *err) {
    evo_copies2 *e = out;
    evo_copies1 old;
    if (version != 1)
        return inc_error_set(err, INC_ERR_INTERNAL, "no_upcast",
                             "CopiesAdded: no upcast from version %u",
                             version);
    if (inc_msg_from_text(&copies_upcast1_shape, &old, json, len,
                          INC_JSON_SKIP_IMPLICIT | INC_JSON_IGNORE_UNKNOWN,
                          err) != 0)
        return -1;
    e->copies = old.count;
    int rc = set_opt(&e->note, &e->has_note, old.has_note ? old.note : NULL,
                     err);
    inc_msg_free(&copies_upcast1_shape, &old);
    return rc;
}
const inc_message_desc evo_v2_copies_added = {
    .kind = INC_MSG_EVENT, .name = "CopiesAdded", .c_name = "evo_copies2",
    .size = sizeof(evo_copies2), .n_fields = COUNT(copies2_fields),
    .fields = copies2_fields, .aggregate = &evo_v2_book,
    .apply = apply_copies2, .schema_version = 2, .upcast = upcast_copies};

static const char *const member_was[] = {"MemberJoined"};
const inc_message_desc evo_v2_member_registered = {
    .kind = INC_MSG_EVENT, .name = "MemberRegistered", .c_name = "evo_member",
    .size = sizeof(evo_member), .n_fields = COUNT(member_fields),
    .fields = member_fields, .aggregate = &evo_v2_book,
    .apply = apply_member, .schema_version = 1, .n_was = 1,
    .was = member_was};

/* ---- commands ---- */
static const inc_field_desc add_book1_fields[] = {
    AGG_ID(evo_cmd), F(evo_cmd, title, INC_TYPE_STRING, 0, NOHAS, NODEF)};
static const inc_field_desc add_book2_fields[] = {
    AGG_ID(evo_cmd), F(evo_cmd, title, INC_TYPE_STRING, 0, NOHAS, NODEF),
    F(evo_cmd, shelf, INC_TYPE_STRING, DEFD, NOHAS, {true, 0, 0, "A"})};
static const inc_field_desc add_copies_fields[] = {
    AGG_ID(evo_cmd), F(evo_cmd, count, INC_TYPE_INT, 0, NOHAS, NODEF)};
static const inc_field_desc join_fields[] = {
    AGG_ID(evo_cmd), F(evo_cmd, name, INC_TYPE_STRING, 0, NOHAS, NODEF)};

static int exec_add_book1(const void *state, const void *command,
                          inc_event_list *out, inc_error *err) {
    const evo_cmd *c = command;
    (void)state;
    evo_book_added *e =
        inc_event_list_add(out, &evo_v1_book_added, c->aggregate_id, err);
    return e ? inc_str_set(&e->title, c->title, err) : -1;
}
static int exec_add_book2(const void *state, const void *command,
                          inc_event_list *out, inc_error *err) {
    const evo_cmd *c = command;
    (void)state;
    evo_book_added *e =
        inc_event_list_add(out, &evo_v2_book_added, c->aggregate_id, err);
    if (!e || inc_str_set(&e->title, c->title, err) != 0 ||
        inc_str_set(&e->shelf, c->shelf, err) != 0 ||
        set_opt(&e->subtitle, &e->has_subtitle, "second edition", err) != 0)
        return -1;
    return 0;
}
static int exec_add_copies1(const void *state, const void *command,
                            inc_event_list *out, inc_error *err) {
    const evo_cmd *c = command;
    (void)state;
    evo_copies1 *e =
        inc_event_list_add(out, &evo_v1_copies_added, c->aggregate_id, err);
    if (!e) return -1;
    e->count = c->count;
    return set_opt(&e->note, &e->has_note, "v1", err);
}
static int exec_add_copies2(const void *state, const void *command,
                            inc_event_list *out, inc_error *err) {
    const evo_cmd *c = command;
    (void)state;
    evo_copies2 *e =
        inc_event_list_add(out, &evo_v2_copies_added, c->aggregate_id, err);
    if (!e) return -1;
    e->copies = c->count;
    return 0;
}
static int exec_join(const inc_message_desc *ev, const void *command,
                     inc_event_list *out, inc_error *err) {
    const evo_cmd *c = command;
    evo_member *e = inc_event_list_add(out, ev, c->aggregate_id, err);
    return e ? inc_str_set(&e->name, c->name, err) : -1;
}
static int exec_join1(const void *state, const void *command,
                      inc_event_list *out, inc_error *err) {
    (void)state;
    return exec_join(&evo_v1_member_joined, command, out, err);
}
static int exec_join2(const void *state, const void *command,
                      inc_event_list *out, inc_error *err) {
    (void)state;
    return exec_join(&evo_v2_member_registered, command, out, err);
}

#define CMD(n, nm, fl, agg, ex)                                               \
    const inc_message_desc n = {.kind = INC_MSG_COMMAND, .name = nm,          \
                                .c_name = "evo_cmd", .size = sizeof(evo_cmd), \
                                .n_fields = COUNT(fl), .fields = fl,          \
                                .aggregate = &agg, .execute = ex}
CMD(evo_v1_add_book, "AddBook", add_book1_fields, evo_v1_book, exec_add_book1);
CMD(evo_v1_add_copies, "AddCopies", add_copies_fields, evo_v1_book,
    exec_add_copies1);
CMD(evo_v1_join, "Join", join_fields, evo_v1_book, exec_join1);
CMD(evo_v2_add_book, "AddBook", add_book2_fields, evo_v2_book, exec_add_book2);
CMD(evo_v2_add_copies, "AddCopies", add_copies_fields, evo_v2_book,
    exec_add_copies2);
CMD(evo_v2_join, "Join", join_fields, evo_v2_book, exec_join2);

/* ---- the projection evo_books ---- */
static const inc_field_desc row1_fields[] = {
    AGG_ID(evo_row1),
    F(evo_row1, title, INC_TYPE_STRING, OPT, HAS(evo_row1, title), NODEF),
    F(evo_row1, copies, INC_TYPE_INT, 0, NOHAS, NODEF),
    F(evo_row1, legacy, INC_TYPE_STRING, 0, NOHAS, NODEF),
    F(evo_row1, kind, INC_TYPE_STRING, 0, NOHAS, NODEF),
};
static const inc_field_desc row2_fields[] = {
    AGG_ID(evo_row2),
    F(evo_row2, title, INC_TYPE_STRING, OPT, HAS(evo_row2, title), NODEF),
    F(evo_row2, copies, INC_TYPE_INT, 0, NOHAS, NODEF),
    F(evo_row2, members, INC_TYPE_INT, 0, NOHAS, NODEF),
    F(evo_row2, kind, INC_TYPE_INT, 0, NOHAS, NODEF),
};
static const inc_message_desc row1_desc = {
    .kind = INC_MSG_ROW, .name = "evo_books", .c_name = "evo_row1",
    .size = sizeof(evo_row1), .n_fields = COUNT(row1_fields),
    .fields = row1_fields, .aggregate = &evo_v1_book};
static const inc_message_desc row2_desc = {
    .kind = INC_MSG_ROW, .name = "evo_books", .c_name = "evo_row2",
    .size = sizeof(evo_row2), .n_fields = COUNT(row2_fields),
    .fields = row2_fields, .aggregate = &evo_v2_book};

static int project1(const void *state, void *row, inc_error *err) {
    const evo_state *s = state;
    evo_row1 *r = row;
    r->copies = s->copies;
    if (set_opt(&r->title, &r->has_title, s->has_title ? s->title : NULL,
                err) != 0 ||
        inc_str_set(&r->legacy, "old", err) != 0)
        return -1;
    return inc_str_set(&r->kind, s->copies > 5 ? "many" : "few", err);
}
static int project2(const void *state, void *row, inc_error *err) {
    const evo_state *s = state;
    evo_row2 *r = row;
    r->copies = s->copies;
    r->members = s->members;
    r->kind = s->copies * 10;
    return set_opt(&r->title, &r->has_title, s->has_title ? s->title : NULL,
                   err);
}

#define TS(c) \
    "to_char(\"" c "\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define META_COLS "\"version\", \"event_id\", " TS("event_date")
#define COLS1 "\"aggregate_id\", \"title\", \"copies\", \"legacy\", \"kind\", "
#define COLS2 "\"aggregate_id\", \"title\", \"copies\", \"members\", \"kind\", "
#define SET_META                                                         \
    "\"version\" = EXCLUDED.\"version\", \"event_id\" = "                \
    "EXCLUDED.\"event_id\", \"event_date\" = EXCLUDED.\"event_date\" "   \
    "WHERE \"evo_books\".\"version\" < EXCLUDED.\"version\""

const inc_projection_desc evo_v1_books = {
    "evo_books", &evo_v1_book, &row1_desc, project1,
    "INSERT INTO \"evo_books\" (" COLS1 "\"version\", \"event_id\", "
    "\"event_date\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT "
    "(\"aggregate_id\") DO UPDATE SET \"title\" = EXCLUDED.\"title\", "
    "\"copies\" = EXCLUDED.\"copies\", \"legacy\" = EXCLUDED.\"legacy\", "
    "\"kind\" = EXCLUDED.\"kind\", " SET_META,
    "SELECT " COLS1 META_COLS " FROM \"evo_books\" ORDER BY \"aggregate_id\"",
    "SELECT " COLS1 META_COLS " FROM \"evo_books\" WHERE \"aggregate_id\" = $1",
    "TRUNCATE \"evo_books\""};
const inc_projection_desc evo_v2_books = {
    "evo_books", &evo_v2_book, &row2_desc, project2,
    "INSERT INTO \"evo_books\" (" COLS2 "\"version\", \"event_id\", "
    "\"event_date\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT "
    "(\"aggregate_id\") DO UPDATE SET \"title\" = EXCLUDED.\"title\", "
    "\"copies\" = EXCLUDED.\"copies\", \"members\" = EXCLUDED.\"members\", "
    "\"kind\" = EXCLUDED.\"kind\", " SET_META,
    "SELECT " COLS2 META_COLS " FROM \"evo_books\" ORDER BY \"aggregate_id\"",
    "SELECT " COLS2 META_COLS " FROM \"evo_books\" WHERE \"aggregate_id\" = $1",
    "TRUNCATE \"evo_books\""};

/* ---- the projection evo_sizes: an enum column gains a member ---- */
static const char *const size_members[] = {"small", "large", "huge"};
static const inc_enum_desc size1_enum = {"Size", 2, size_members};
static const inc_enum_desc size2_enum = {"Size", 3, size_members};
static const inc_field_desc size1_fields[] = {
    AGG_ID(evo_size_row),
    {"size", INC_TYPE_ENUM, 0, offsetof(evo_size_row, size), NOHAS,
     &size1_enum, NODEF},
};
static const inc_field_desc size2_fields[] = {
    AGG_ID(evo_size_row),
    {"size", INC_TYPE_ENUM, 0, offsetof(evo_size_row, size), NOHAS,
     &size2_enum, NODEF},
};
static const inc_message_desc size1_desc = {
    .kind = INC_MSG_ROW, .name = "evo_sizes", .c_name = "evo_size_row",
    .size = sizeof(evo_size_row), .n_fields = COUNT(size1_fields),
    .fields = size1_fields, .aggregate = &evo_v1_book};
static const inc_message_desc size2_desc = {
    .kind = INC_MSG_ROW, .name = "evo_sizes", .c_name = "evo_size_row",
    .size = sizeof(evo_size_row), .n_fields = COUNT(size2_fields),
    .fields = size2_fields, .aggregate = &evo_v2_book};
static int project_size1(const void *state, void *row, inc_error *err) {
    (void)err;
    ((evo_size_row *)row)->size = ((const evo_state *)state)->copies > 5;
    return 0;
}
static int project_size2(const void *state, void *row, inc_error *err) {
    int64_t c = ((const evo_state *)state)->copies;
    (void)err;
    ((evo_size_row *)row)->size = c > 6 ? 2 : c > 5;
    return 0;
}
#define SIZE_COLS "\"aggregate_id\", \"size\", "
#define SIZES(n, desc, agg, fn)                                                 \
    const inc_projection_desc n = {                                        \
        "evo_sizes", &agg, &desc, fn,                                    \
        "INSERT INTO \"evo_sizes\" (" SIZE_COLS "\"version\", "            \
        "\"event_id\", \"event_date\") VALUES ($1, $2, $3, $4, $5) ON "     \
        "CONFLICT (\"aggregate_id\") DO UPDATE SET \"size\" = "             \
        "EXCLUDED.\"size\", \"version\" = EXCLUDED.\"version\", "           \
        "\"event_id\" = EXCLUDED.\"event_id\", \"event_date\" = "           \
        "EXCLUDED.\"event_date\" WHERE \"evo_sizes\".\"version\" < "        \
        "EXCLUDED.\"version\"",                                             \
        "SELECT " SIZE_COLS META_COLS " FROM \"evo_sizes\" ORDER BY "        \
        "\"aggregate_id\"",                                                 \
        "SELECT " SIZE_COLS META_COLS " FROM \"evo_sizes\" WHERE "           \
        "\"aggregate_id\" = $1",                                            \
        "TRUNCATE \"evo_sizes\""}
SIZES(evo_v1_sizes, size1_desc, evo_v1_book, project_size1);
SIZES(evo_v2_sizes, size2_desc, evo_v2_book, project_size2);
#define SIZES_DDL(members)                                                   \
    "CREATE TABLE IF NOT EXISTS \"evo_sizes\" (\n"                          \
    "    \"aggregate_id\" text PRIMARY KEY,\n"                               \
    "    \"size\" text NOT NULL CHECK (\"size\" IN (" members ")),\n"       \
    "    \"version\" bigint NOT NULL,\n"                                     \
    "    \"event_id\" uuid NOT NULL,\n"                                      \
    "    \"event_date\" timestamptz NOT NULL\n);\n"

/* ---- aggregates and domains ---- */
static const inc_message_desc *const cmds1[] = {
    &evo_v1_add_book, &evo_v1_add_copies, &evo_v1_join};
static const inc_message_desc *const cmds2[] = {
    &evo_v2_add_book, &evo_v2_add_copies, &evo_v2_join};
static const inc_message_desc *const events1[] = {
    &evo_v1_book_added, &evo_v1_copies_added, &evo_v1_member_joined};
static const inc_message_desc *const events2[] = {
    &evo_v2_book_added, &evo_v2_copies_added, &evo_v2_member_registered};
static const inc_projection_desc *const projs1[] = {&evo_v1_books,
                                                    &evo_v1_sizes};
static const inc_projection_desc *const projs2[] = {&evo_v2_books,
                                                    &evo_v2_sizes};

const inc_aggregate_desc evo_v1_book = {
    "Book", &evo_v1_state_desc, COUNT(cmds1), cmds1, COUNT(events1), events1,
    COUNT(projs1), projs1, LAYOUT_HASH};
const inc_aggregate_desc evo_v2_book = {
    "Book", &evo_v2_state_desc, COUNT(cmds2), cmds2, COUNT(events2), events2,
    COUNT(projs2), projs2, LAYOUT_HASH};
static const inc_aggregate_desc *const aggs1[] = {&evo_v1_book};
static const inc_aggregate_desc *const aggs2[] = {&evo_v2_book};

const inc_domain evo_v1_domain = {
    .abi_version = INC_ABI_VERSION, .name = "evo", .n_aggregates = 1,
    .aggregates = aggs1, .n_commands = COUNT(cmds1), .commands = cmds1,
    .n_events = COUNT(events1), .events = events1,
    .n_projections = COUNT(projs1), .projections = projs1,
    .ddl = "CREATE TABLE IF NOT EXISTS \"evo_books\" (\n"
           "    \"aggregate_id\" text PRIMARY KEY,\n"
           "    \"title\" text,\n"
           "    \"copies\" bigint NOT NULL,\n"
           "    \"legacy\" text NOT NULL,\n"
           "    \"kind\" text NOT NULL,\n"
           "    \"version\" bigint NOT NULL,\n"
           "    \"event_id\" uuid NOT NULL,\n"
           "    \"event_date\" timestamptz NOT NULL\n);\n"
           SIZES_DDL("'small', 'large'")};
const inc_domain evo_v2_domain = {
    .abi_version = INC_ABI_VERSION, .name = "evo", .n_aggregates = 1,
    .aggregates = aggs2, .n_commands = COUNT(cmds2), .commands = cmds2,
    .n_events = COUNT(events2), .events = events2,
    .n_projections = COUNT(projs2), .projections = projs2,
    .ddl = "CREATE TABLE IF NOT EXISTS \"evo_books\" (\n"
           "    \"aggregate_id\" text PRIMARY KEY,\n"
           "    \"title\" text,\n"
           "    \"copies\" bigint NOT NULL,\n"
           "    \"members\" bigint NOT NULL,\n"
           "    \"kind\" bigint NOT NULL,\n"
           "    \"version\" bigint NOT NULL,\n"
           "    \"event_id\" uuid NOT NULL,\n"
           "    \"event_date\" timestamptz NOT NULL\n);\n"
           SIZES_DDL("'small', 'large', 'huge'")};
