/* test_lists.c - record and list projection columns (jsonb) on both
 * stores: a row holding a list of records (with lists inside), an optional
 * record and a list<int?> is written in a commit and read back equal
 * through projection_get and projection_list; an absent optional record is
 * SQL NULL; PostgreSQL's jsonb text (keys reordered, spaces) is read back
 * strictly, and a row altered behind the store's back is refused.
 * Descriptors written by hand (tests/runtime/lists_fixtures.c for the
 * record types) until aggc emits them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/domain.h>
#include <incident/store.h>

#include "harness.h"
#include "lists_fixtures.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define NODEF {false, 0, 0.0, NULL}

typedef struct lp_state {
    char *aggregate_id;
    int64_t version;
    inc_timestamp updated_at;
    bool has_updated_at;
} lp_state;

typedef struct lp_noted {
    char *aggregate_id;
} lp_noted;

typedef struct lp_row {
    char *aggregate_id;
    l_line_list lines;
    l_address addr;
    bool has_addr;
    l_int_list maybe;
} lp_row;

extern const inc_aggregate_desc lp_cart_type;

static const inc_field_desc state_fields[] = {
    {"aggregate_id", INC_TYPE_STRING, INC_FIELD_IMPLICIT,
     offsetof(lp_state, aggregate_id), INC_NO_OFFSET, NULL, NODEF},
    {"version", INC_TYPE_INT, INC_FIELD_IMPLICIT, offsetof(lp_state, version),
     INC_NO_OFFSET, NULL, NODEF},
    {"updated_at", INC_TYPE_TIMESTAMP, INC_FIELD_IMPLICIT | INC_FIELD_OPTIONAL,
     offsetof(lp_state, updated_at), offsetof(lp_state, has_updated_at), NULL,
     NODEF},
};
static const inc_message_desc state_desc = {
    INC_MSG_STATE, "CartState", "lp_state", sizeof(lp_state),
    COUNT(state_fields), state_fields, &lp_cart_type, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL};

static const inc_field_desc noted_fields[] = {
    {"aggregate_id", INC_TYPE_STRING, INC_FIELD_IMPLICIT,
     offsetof(lp_noted, aggregate_id), INC_NO_OFFSET, NULL, NODEF},
};
static int noted_apply(void *state, const void *event, inc_error *err) {
    (void)state, (void)event, (void)err;
    return 0;
}
static const inc_message_desc noted_desc = {
    INC_MSG_EVENT, "Noted", "lp_noted", sizeof(lp_noted),
    COUNT(noted_fields), noted_fields, &lp_cart_type, NULL, NULL, noted_apply, 0, 0, NULL, NULL, NULL, NULL};

static const inc_field_desc row_fields[] = {
    {"aggregate_id", INC_TYPE_STRING, INC_FIELD_IMPLICIT,
     offsetof(lp_row, aggregate_id), INC_NO_OFFSET, NULL, NODEF},
    {"lines", INC_TYPE_LIST, 0, offsetof(lp_row, lines), INC_NO_OFFSET,
     INC_TYPE_REF(l_line_list_type), NODEF},
    {"addr", INC_TYPE_RECORD, INC_FIELD_OPTIONAL, offsetof(lp_row, addr),
     offsetof(lp_row, has_addr), INC_TYPE_REF(l_address_type), NODEF},
    {"maybe", INC_TYPE_LIST, 0, offsetof(lp_row, maybe), INC_NO_OFFSET,
     INC_TYPE_REF(l_opt_int_list_type), NODEF},
};
static const inc_message_desc row_desc = {
    INC_MSG_ROW, "carts", "lp_row", sizeof(lp_row), COUNT(row_fields),
    row_fields, &lp_cart_type, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL};

static int no_project(const void *state, void *row, inc_error *err) {
    (void)state, (void)row;
    return inc_error_set(err, INC_ERR_INTERNAL, "unused", "not used here");
}

#define TS(c) \
    "to_char(\"" c "\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define COLS "\"aggregate_id\", \"lines\", \"addr\", \"maybe\", \"version\", " \
             "\"event_id\", " TS("event_date")

static const inc_projection_desc carts = {
    "lp_carts",
    &lp_cart_type,
    &row_desc,
    no_project,
    "INSERT INTO \"lp_carts\" (\"aggregate_id\", \"lines\", \"addr\", "
    "\"maybe\", \"version\", \"event_id\", \"event_date\") VALUES ($1, $2, $3, "
    "$4, $5, $6, $7) ON CONFLICT (\"aggregate_id\") DO UPDATE SET \"lines\" = "
    "EXCLUDED.\"lines\", \"addr\" = EXCLUDED.\"addr\", \"maybe\" = "
    "EXCLUDED.\"maybe\", \"version\" = EXCLUDED.\"version\", \"event_id\" = "
    "EXCLUDED.\"event_id\", \"event_date\" = EXCLUDED.\"event_date\" WHERE "
    "\"lp_carts\".\"version\" < EXCLUDED.\"version\"",
    "SELECT " COLS " FROM \"lp_carts\" ORDER BY \"aggregate_id\" COLLATE \"C\"",
    "SELECT " COLS " FROM \"lp_carts\" WHERE \"aggregate_id\" = $1",
    "TRUNCATE \"lp_carts\"",
};

static const inc_message_desc *const events[] = {&noted_desc};
static const inc_projection_desc *const projections[] = {&carts};
const inc_aggregate_desc lp_cart_type = {
    "LpCart", &state_desc, 0, NULL, COUNT(events), events,
    COUNT(projections), projections, 1};
static const inc_aggregate_desc *const aggregates[] = {&lp_cart_type};

static const inc_domain lp_domain = {
    INC_ABI_VERSION, "lp", COUNT(aggregates), aggregates, 0, NULL,
    COUNT(events), events, COUNT(projections), projections, 0, NULL, 0, NULL,
    "CREATE TABLE IF NOT EXISTS \"lp_carts\" (\n"
    "    \"aggregate_id\" text PRIMARY KEY,\n"
    "    \"lines\" jsonb NOT NULL,\n"
    "    \"addr\" jsonb,\n"
    "    \"maybe\" jsonb NOT NULL,\n"
    "    \"version\" bigint NOT NULL,\n"
    "    \"event_id\" uuid NOT NULL,\n"
    "    \"event_date\" timestamptz NOT NULL);\n", 0, NULL, 0, NULL};

static const char row_json[] =
    "{\"aggregate_id\":\"c1\",\"lines\":[{\"sku\":\"A\",\"qty\":2,"
    "\"price\":{\"amount\":150,\"currency\":\"EUR\"},\"tags\":[\"red\","
    "\"x\xc3\xa9\\n\\\"q\\\"\"],\"note\":null},{\"sku\":\"B\",\"qty\":-1,"
    "\"price\":{\"amount\":7,\"currency\":\"USD\"},\"tags\":[],"
    "\"note\":\"gift\"}],\"addr\":{\"city\":\"Lyon\",\"zip\":null},"
    "\"maybe\":[1,null,9223372036854775807]}";

typedef struct got {
    int n;
    char *json[2];
} got;

static int collect(void *ud, const void *row, const inc_row_meta *meta,
                   inc_error *err) {
    got *g = ud;
    (void)meta, (void)err;
    assert_true(g->n < 2);
    g->json[g->n++] = inc_msg_to_text(&row_desc, row, 0, NULL);
    return 0;
}

/* Commit one Noted event with the row decoded from `json`. */
static void commit_row(th_fx *fx, const char *id, const char *json) {
    lp_row row;
    inc_error err;
    inc_stored_event ev;
    inc_commit c;
    inc_projection_write w;
    assert_int_equal(inc_msg_from_text(&row_desc, &row, json, strlen(json), 0,
                                       &err),
                     0);
    memset(&ev, 0, sizeof ev);
    assert_int_equal(inc_uuid_v4(ev.event_id, &err), 0);
    ev.aggregate_type = "LpCart";
    ev.aggregate_id = id;
    ev.version = 1;
    ev.event_type = "Noted";
    ev.data = "{}";
    ev.metadata = "{}";
    ev.event_date = 1000000;
    memset(&w, 0, sizeof w);
    w.projection = &carts;
    w.row = &row;
    w.meta.version = 1;
    memcpy(w.meta.event_id, ev.event_id, INC_UUID_TEXT_SIZE);
    w.meta.event_date = 1000000;
    memset(&c, 0, sizeof c);
    c.aggregate = &lp_cart_type;
    c.aggregate_id = id;
    c.n_events = 1;
    c.events = &ev;
    c.n_rows = 1;
    c.rows = &w;
    if (inc_store_commit(fx->store, &c, &err) != 0)
        fail_msg("commit: %s", err.message);
    inc_msg_free(&row_desc, &row);
}

static void test_jsonb_columns(void **state) {
    th_fx *fx = *state;
    inc_error err;
    got g = {0, {NULL, NULL}};
    bool found = false;
    static const char other[] =
        "{\"aggregate_id\":\"c2\",\"lines\":[],\"addr\":null,\"maybe\":[]}";
    inc_error_clear(&err);
    assert_int_equal(inc_store_init(fx->store, &lp_domain, &err), 0);
    commit_row(fx, "c1", row_json);
    commit_row(fx, "c2", other);
    assert_int_equal(inc_store_projection_get(fx->store, &carts, "c1", collect,
                                              &g, &found, &err),
                     0);
    assert_true(found);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.json[0], row_json);
    free(g.json[0]);
    g.n = 0;
    assert_int_equal(inc_store_projection_list(fx->store, &carts, collect, &g,
                                               &err),
                     0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.json[0], row_json);
    assert_string_equal(g.json[1], other);
    free(g.json[0]);
    free(g.json[1]);
    if (fx->pg) {
        /* what the table holds: jsonb, SQL NULL for the absent record */
        PGconn *c = th_conn(fx);
        char *v = th_query1(c,
                            "SELECT jsonb_typeof(lines) || ' ' || "
                            "(addr IS NULL)::text || ' ' || "
                            "(maybe->>2) FROM lp_carts WHERE aggregate_id = "
                            "'c2' OR aggregate_id = 'c1' ORDER BY "
                            "aggregate_id LIMIT 1",
                            0, NULL);
        assert_string_equal(v, "array false 9223372036854775807");
        free(v);
        v = th_query1(c, "SELECT (addr IS NULL)::text FROM lp_carts WHERE "
                         "aggregate_id = 'c2'",
                      0, NULL);
        assert_string_equal(v, "true");
        free(v);
        /* an altered row: refused as corrupt, naming column and path */
        v = th_query1(c, "UPDATE lp_carts SET lines = '[{\"qty\": 1}]' "
                         "WHERE aggregate_id = 'c2' RETURNING 'x'",
                      0, NULL);
        free(v);
        PQfinish(c);
        g.n = 0;
        assert_int_equal(inc_store_projection_get(fx->store, &carts, "c2",
                                                  collect, &g, &found, &err),
                         -1);
        assert_int_equal(err.kind, INC_ERR_INTERNAL);
        assert_string_equal(err.code, "corrupt_row");
        assert_string_equal(err.message, "column lines: $.lines[0].sku: "
                                         "missing required field");
        assert_int_equal(g.n, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {TH_BOTH(test_jsonb_columns)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
