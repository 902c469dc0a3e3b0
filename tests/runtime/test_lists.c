/* test_lists.c - records and lists in every codec and walker, on the
 * hand-written domain of lists_fixtures.c: round trips of nested records
 * and lists, optional records and lists, list<T?>, list<enum> and
 * list<timestamp>; every input decoded by both inc_msg_from_text (the fast
 * scanner first) and the jansson path with identical results and errors;
 * inc_msg_to_text compared byte for byte with jansson's dump (random
 * values included); structural validation with paths; the limits
 * (INC_JSON_MAX_DEPTH, INC_LIST_MAX_ITEMS) against hostile input; the
 * jsonb text of record and list projection columns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/domain.h>
#include <incident/gen.h>

#include "lists_fixtures.h"

/* runtime/src/internal.h (not installed). */
int incx_json_fast_decode(const inc_message_desc *d, void *msg,
                         const char *text, size_t len, unsigned flags);
int incx_msg_from_text_jansson(const inc_message_desc *d, void *msg,
                              const char *text, size_t len, unsigned flags,
                              inc_error *err);
char *incx_field_to_text(const inc_field_desc *f, const void *msg);
int incx_field_from_text(const inc_field_desc *f, void *msg,
                         const char *text, inc_error *err);

typedef union any_msg {
    l_order o;
    l_ints i;
} any_msg;

/* inc_msg_to_text, checked byte for byte against jansson's dump. */
static char *encode(const inc_message_desc *d, const void *msg) {
    json_t *j = inc_msg_to_json(d, msg, 0);
    char *a, *b;
    size_t n = 0;
    assert_non_null(j);
    a = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    b = inc_msg_to_text(d, msg, 0, &n);
    assert_non_null(a);
    assert_non_null(b);
    if (strcmp(a, b) != 0) fail_msg("jansson %s\n   text %s", a, b);
    assert_int_equal(n, strlen(b));
    free(a);
    return b;
}

static long fast_taken;

/* Decode `text` both ways; same rc, error and value.  Returns the rc; on
 * success *out holds the (fast path's) message, else it is freed. */
static int decode_both(const inc_message_desc *d, const char *text,
                       size_t len, any_msg *out, inc_error *err) {
    any_msg b;
    inc_error eb;
    int ra, rb;
    inc_error_clear(err);
    inc_error_clear(&eb);
    ra = inc_msg_from_text(d, out, text, len, 0, err);
    rb = incx_msg_from_text_jansson(d, &b, text, len, 0, &eb);
    if (rb == 0 && memchr(text, '\0', len)) { /* refused on top of jansson */
        assert_int_equal(ra, -1);
        inc_msg_free(d, &b);
        return ra;
    }
    if (ra != rb)
        fail_msg("fast rc %d, jansson rc %d (%s) on %.*s", ra, rb, eb.message,
                 (int)(len > 300 ? 300 : len), text);
    assert_int_equal(err->kind, eb.kind);
    assert_string_equal(err->code, eb.code);
    assert_string_equal(err->message, eb.message);
    if (ra == 0) {
        char *ta = encode(d, out), *tb = encode(d, &b);
        assert_string_equal(ta, tb);
        free(ta);
        free(tb);
        inc_msg_free(d, &b);
        if (incx_json_fast_decode(d, &b, text, len, 0) == 0) {
            fast_taken++;
            inc_msg_free(d, &b);
        }
    } else {
        inc_msg_free(d, out);
        inc_msg_free(d, &b);
        /* the scanner must have declined */
        assert_int_equal(incx_json_fast_decode(d, &b, text, len, 0), -1);
    }
    return ra;
}

#define MIN_ORDER "\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"}," \
                  "\"colors\":[],\"stamps\":[],\"maybe\":[]"

static const char full_order[] =
    "{\"aggregate_id\":\"O1\","
    "\"lines\":[{\"sku\":\"A\",\"qty\":2,\"price\":{\"amount\":150},"
    "\"tags\":[\"red\",\"x\\u00e9\\n\"]},"
    "{\"sku\":\"B\",\"qty\":1,\"price\":{\"amount\":7,\"currency\":\"USD\"},"
    "\"tags\":[],\"note\":\"gift\"}],"
    "\"address\":{\"city\":\"Lyon\",\"zip\":\"69001\"},"
    "\"billing\":{\"city\":\"Paris\"},"
    "\"colors\":[\"blue\",\"red\",\"blue\"],"
    "\"stamps\":[\"2026-11-26T10:00:00Z\",\"1970-01-01T00:00:00.5+01:00\"],"
    "\"maybe\":[1,null,-3],"
    "\"scores\":[1.5,2,-0.25e2],"
    "\"flags\":[true,false],"
    "\"tree\":{\"name\":\"root\",\"kids\":[{\"name\":\"a\",\"kids\":[]},"
    "{\"name\":\"b\",\"kids\":[{\"name\":\"c\",\"kids\":[]}]}]}}";

/* What the encoders write for full_order: defaults filled in, timestamps
 * normalised, reals as jansson prints them. */
static const char full_order_out[] =
    "{\"aggregate_id\":\"O1\","
    "\"lines\":[{\"sku\":\"A\",\"qty\":2,\"price\":{\"amount\":150,"
    "\"currency\":\"EUR\"},\"tags\":[\"red\",\"x\xc3\xa9\\n\"],\"note\":null},"
    "{\"sku\":\"B\",\"qty\":1,\"price\":{\"amount\":7,\"currency\":\"USD\"},"
    "\"tags\":[],\"note\":\"gift\"}],"
    "\"address\":{\"city\":\"Lyon\",\"zip\":\"69001\"},"
    "\"billing\":{\"city\":\"Paris\",\"zip\":null},"
    "\"colors\":[\"blue\",\"red\",\"blue\"],"
    "\"stamps\":[\"2026-11-26T10:00:00.000000Z\","
    "\"1969-12-31T23:00:00.500000Z\"],"
    "\"maybe\":[1,null,-3],"
    "\"scores\":[1.5,2.0,-25.0],"
    "\"flags\":[true,false],"
    "\"tree\":{\"name\":\"root\",\"kids\":[{\"name\":\"a\",\"kids\":[]},"
    "{\"name\":\"b\",\"kids\":[{\"name\":\"c\",\"kids\":[]}]}]}}";

static void test_round_trip(void **state) {
    any_msg m, c;
    inc_error err;
    char *t, *t2;
    (void)state;
    /* the scanner takes it on its own */
    assert_int_equal(incx_json_fast_decode(&l_order_desc, &m, full_order,
                                          strlen(full_order), 0),
                     0);
    inc_msg_free(&l_order_desc, &m);
    assert_int_equal(decode_both(&l_order_desc, full_order, strlen(full_order),
                                 &m, &err),
                     0);
    assert_int_equal(m.o.lines.len, 2);
    assert_string_equal(m.o.lines.items[0].sku, "A");
    assert_int_equal(m.o.lines.items[0].price.amount, 150);
    assert_string_equal(m.o.lines.items[0].price.currency, "EUR");
    assert_int_equal(m.o.lines.items[0].tags.len, 2);
    assert_string_equal(m.o.lines.items[0].tags.items[1], "x\xc3\xa9\n");
    assert_false(m.o.lines.items[0].has_note);
    assert_true(m.o.lines.items[1].has_note);
    assert_true(m.o.has_address);
    assert_string_equal(m.o.address.zip, "69001");
    assert_false(m.o.billing.has_zip);
    assert_int_equal(m.o.colors.len, 3);
    assert_int_equal(m.o.colors.items[0], T_COLOR_BLUE);
    assert_int_equal(m.o.stamps.items[1], INT64_C(-3599500000));
    assert_int_equal(m.o.maybe.len, 3);
    assert_true(m.o.maybe.has[0] && !m.o.maybe.has[1] && m.o.maybe.has[2]);
    assert_int_equal(m.o.maybe.items[2], -3);
    assert_true(m.o.has_scores);
    assert_true(m.o.scores.items[2] == -25.0);
    assert_int_equal(m.o.tree.kids.items[1].kids.len, 1);
    assert_string_equal(m.o.tree.kids.items[1].kids.items[0].name, "c");
    assert_int_equal(inc_msg_validate(&l_order_desc, &m, &err), 0);
    t = encode(&l_order_desc, &m);
    assert_string_equal(t, full_order_out);
    /* deep copy: same text, no shared pointer */
    assert_int_equal(inc_msg_copy(&l_order_desc, &c, &m, &err), 0);
    assert_ptr_not_equal(c.o.lines.items, m.o.lines.items);
    assert_ptr_not_equal(c.o.lines.items[0].tags.items[0],
                         m.o.lines.items[0].tags.items[0]);
    assert_ptr_not_equal(c.o.tree.kids.items, m.o.tree.kids.items);
    inc_msg_free(&l_order_desc, &m);
    t2 = encode(&l_order_desc, &c);
    assert_string_equal(t, t2);
    free(t2);
    /* the canonical text reads back to itself */
    inc_msg_free(&l_order_desc, &c);
    assert_int_equal(decode_both(&l_order_desc, t, strlen(t), &c, &err), 0);
    t2 = encode(&l_order_desc, &c);
    assert_string_equal(t, t2);
    free(t2);
    free(t);
    /* free is idempotent and leaves empty lists, absent optionals */
    inc_msg_free(&l_order_desc, &c);
    inc_msg_free(&l_order_desc, &c);
    assert_int_equal(c.o.lines.len, 0);
    assert_null(c.o.lines.items);
    assert_false(c.o.has_address);
    assert_false(c.o.has_tree);
}

static void expect_text(const char *in, const char *out) {
    any_msg m;
    inc_error err;
    char *t;
    if (decode_both(&l_order_desc, in, strlen(in), &m, &err) != 0)
        fail_msg("%s: %s", in, err.message);
    t = encode(&l_order_desc, &m);
    if (strcmp(t, out) != 0) fail_msg("%s\n gave %s\n want %s", in, t, out);
    free(t);
    inc_msg_free(&l_order_desc, &m);
}

#define OUT_TAIL "\"flags\":[],\"tree\":null}"

static void test_optionals(void **state) {
    (void)state;
    /* absent and null optional record and list; defaulted list absent */
    expect_text("{" MIN_ORDER "}",
                "{\"aggregate_id\":\"O1\",\"lines\":[],\"address\":null,"
                "\"billing\":{\"city\":\"C\",\"zip\":null},\"colors\":[],"
                "\"stamps\":[],\"maybe\":[],\"scores\":null," OUT_TAIL);
    expect_text("{" MIN_ORDER ",\"address\":null,\"scores\":null,"
                "\"tree\":null}",
                "{\"aggregate_id\":\"O1\",\"lines\":[],\"address\":null,"
                "\"billing\":{\"city\":\"C\",\"zip\":null},\"colors\":[],"
                "\"stamps\":[],\"maybe\":[],\"scores\":null," OUT_TAIL);
    /* an empty optional list is present, not null */
    expect_text("{" MIN_ORDER ",\"scores\":[]}",
                "{\"aggregate_id\":\"O1\",\"lines\":[],\"address\":null,"
                "\"billing\":{\"city\":\"C\",\"zip\":null},\"colors\":[],"
                "\"stamps\":[],\"maybe\":[],\"scores\":[]," OUT_TAIL);
    /* list<int?>: only nulls; whitespace everywhere */
    expect_text(" {\"aggregate_id\":\"O1\",\"lines\":[ ],\"billing\":{\"city\":"
                "\"C\"},\"colors\":[],\"stamps\":[] , \"maybe\" : [ null , null ]"
                " ,\"flags\":[ ] } ",
                "{\"aggregate_id\":\"O1\",\"lines\":[],\"address\":null,"
                "\"billing\":{\"city\":\"C\",\"zip\":null},\"colors\":[],"
                "\"stamps\":[],\"maybe\":[null,null],\"scores\":null," OUT_TAIL);
}

typedef struct bad_case {
    const char *text;
    const char *code;
    const char *message; /* a prefix of the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"{" MIN_ORDER ",\"lines\":[{\"sku\":\"A\",\"qty\":1,\"price\":{\"amount\":1},"
     "\"tags\":[]},{\"sku\":\"B\",\"qty\":\"2\",\"price\":{\"amount\":1},"
     "\"tags\":[]}]}",
     "duplicate_field", "$.lines: duplicate field"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[{\"sku\":\"A\",\"qty\":1,"
     "\"price\":{\"amount\":1},\"tags\":[]},{\"sku\":\"B\",\"qty\":1,"
     "\"price\":{\"amount\":1},\"tags\":[]},{\"sku\":\"C\",\"qty\":\"2\","
     "\"price\":{\"amount\":1},\"tags\":[]}],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "wrong_type", "$.lines[2].qty: expected integer, got string"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "missing_field", "$.billing.city: missing required field"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\","
     "\"zip2\":\"1\"},\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "unknown_field", "$.billing.zip2: unknown field"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\","
     "\"a b\":\"1\"},\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "unknown_field", "$.billing[\"a b\"]: unknown field"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\","
     "\"city\":\"D\"},\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "duplicate_field", "$.billing.city: duplicate field at line 1"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[\"red\",\"pink\"],\"stamps\":[],\"maybe\":[]}",
     "invalid_value",
     "$.colors[1]: unknown Color member \"pink\" (expected one of red, "
     "green, blue)"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[null],\"stamps\":[],\"maybe\":[]}",
     "wrong_type",
     "$.colors[0]: expected Color member name (string), got null"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[\"2026-13-01T00:00:00Z\"],\"maybe\":[]}",
     "invalid_value", "$.stamps[0]: invalid timestamp \"2026-13-01"},
    {"{\"aggregate_id\":\"O1\",\"lines\":{},\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "wrong_type", "$.lines: expected array, got object"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":[],"
     "\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "wrong_type", "$.billing: expected Address object, got array"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":null,"
     "\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "wrong_type", "$.billing: expected Address object, got null"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[1.5]}",
     "wrong_type", "$.maybe[0]: expected integer, got real"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[1,]}",
     "invalid_json", "$: invalid JSON at line 1"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[99999999999999999999]}",
     "out_of_range", "$.maybe[0]: number out of range"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"\xff\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "invalid_json", "$: invalid JSON at line 1"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"a\\u0000\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[]}",
     "invalid_json", "$: invalid JSON at line 1"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[],\"scores\":[1e999]}",
     "out_of_range", "$.scores[0]: number out of range"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[],\"flags\":[true,1]}",
     "wrong_type", "$.flags[1]: expected boolean, got integer"},
    {"{\"aggregate_id\":\"O1\",\"lines\":[],\"billing\":{\"city\":\"C\"},"
     "\"colors\":[],\"stamps\":[],\"maybe\":[],\"flags\":[[true]]}",
     "wrong_type", "$.flags[0]: expected boolean, got array"},
};

static void test_errors(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        any_msg m;
        inc_error err;
        int rc = decode_both(&l_order_desc, c->text, strlen(c->text), &m, &err);
        if (rc == 0) fail_msg("case %zu decoded: %s", i, c->text);
        assert_int_equal(err.kind, INC_ERR_INVALID);
        if (strcmp(err.code, c->code) != 0 ||
            strncmp(err.message, c->message, strlen(c->message)) != 0)
            fail_msg("case %zu: %s: %s\n want %s: %s", i, err.code,
                     err.message, c->code, c->message);
        /* a failed decode leaves the message initialised and owning
         * nothing */
        assert_int_equal(m.o.lines.len, 0);
        assert_null(m.o.lines.items);
        assert_false(m.o.has_address);
        inc_msg_free(&l_order_desc, &m);
    }
}

/* An order whose tree is `levels` nodes below the root. */
static char *deep_order(int levels) {
    size_t cap = 200 + (size_t)levels * 40, n = 0;
    char *s = malloc(cap);
    int i;
    assert_non_null(s);
    n += (size_t)sprintf(s + n, "{" MIN_ORDER ",\"tree\":");
    for (i = 0; i < levels; i++)
        n += (size_t)sprintf(s + n, "{\"name\":\"n\",\"kids\":[");
    n += (size_t)sprintf(s + n, "{\"name\":\"leaf\",\"kids\":[]}");
    for (i = 0; i < levels; i++) n += (size_t)sprintf(s + n, "]}");
    sprintf(s + n, "}");
    return s;
}

static void test_depth(void **state) {
    any_msg m;
    inc_error err;
    char *s, *t;
    size_t n, i;
    (void)state;
    /* the innermost kids array of `levels` at depth 3 + 2 * levels:
     * 14 levels = 31, fine; 15 = 33, over INC_JSON_MAX_DEPTH (32) */
    s = deep_order(14);
    assert_int_equal(incx_json_fast_decode(&l_order_desc, &m, s, strlen(s), 0),
                     0);
    inc_msg_free(&l_order_desc, &m);
    assert_int_equal(decode_both(&l_order_desc, s, strlen(s), &m, &err), 0);
    assert_int_equal(inc_msg_validate(&l_order_desc, &m, &err), 0);
    t = encode(&l_order_desc, &m);
    free(t);
    inc_msg_free(&l_order_desc, &m);
    free(s);
    s = deep_order(15);
    assert_int_equal(decode_both(&l_order_desc, s, strlen(s), &m, &err), -1);
    assert_string_equal(err.code, "too_deep");
    assert_string_equal(err.message,
                        "$.tree.kids[0].kids[0].kids[0].kids[0].kids[0].kids[0]"
                        ".kids[0].kids[0].kids[0].kids[0].kids[0].kids[0]"
                        ".kids[0].kids[0].kids[0].kids: nested deeper than 32 "
                        "levels");
    free(s);
    /* the structural check refuses what the decoders could not read */
    {
        l_node nodes[17];
        l_order o;
        inc_msg_init(&l_order_desc, &o);
        memset(nodes, 0, sizeof nodes);
        for (i = 0; i < 17; i++) {
            nodes[i].name = "n";
            if (i + 1 < 17) {
                nodes[i].kids.len = 1;
                nodes[i].kids.items = &nodes[i + 1];
            }
        }
        o.aggregate_id = "O1";
        o.billing.city = "C";
        o.tree = nodes[0];
        o.has_tree = true;
        assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
        assert_string_equal(err.code, "too_deep");
        /* node i is at depth 2 + 2i, its kids at 3 + 2i */
        nodes[14].kids.len = 0;
        o.tree = nodes[0];
        assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), 0);
    }
    /* very deep arrays: jansson's own depth limit, no recursion here */
    n = 200000;
    s = malloc(n * 2 + 200);
    assert_non_null(s);
    strcpy(s, "{" MIN_ORDER ",\"flags\":");
    t = s + strlen(s);
    memset(t, '[', n);
    memset(t + n, ']', n);
    strcpy(t + 2 * n, "}");
    assert_int_equal(decode_both(&l_order_desc, s, strlen(s), &m, &err), -1);
    assert_string_equal(err.code, "invalid_json");
    free(s);
}

/* {"aggregate_id":"I","xs":[0,1,...,n-1]} plus `tail` inside the array. */
static char *ints_text(size_t n, const char *tail, size_t *len) {
    size_t cap = 64 + n * 8 + strlen(tail), o = 0, i;
    char *s = malloc(cap);
    assert_non_null(s);
    o += (size_t)sprintf(s, "{\"aggregate_id\":\"I\",\"xs\":[");
    for (i = 0; i < n; i++)
        o += (size_t)sprintf(s + o, i ? ",%zu" : "%zu", i % 1000);
    o += (size_t)sprintf(s + o, "%s]}", tail);
    *len = o;
    return s;
}

static void test_million(void **state) {
    any_msg m;
    inc_error err;
    size_t len, tlen;
    char *s, *t;
    (void)state;
    /* exactly the limit: decoded by the scanner, growing by doubling */
    s = ints_text(INC_LIST_MAX_ITEMS, "", &len);
    assert_int_equal(incx_json_fast_decode(&l_ints_desc, &m, s, len, 0), 0);
    assert_int_equal(m.i.xs.len, INC_LIST_MAX_ITEMS);
    assert_int_equal(m.i.xs.items[INC_LIST_MAX_ITEMS - 1], 999);
    assert_int_equal(inc_msg_validate(&l_ints_desc, &m, &err), 0);
    t = inc_msg_to_text(&l_ints_desc, &m, 0, &tlen);
    assert_non_null(t);
    assert_int_equal(tlen, len);
    assert_memory_equal(t, s, len);
    free(t);
    inc_msg_free(&l_ints_desc, &m);
    free(s);
    /* one more: refused by both paths, naming the list */
    s = ints_text(INC_LIST_MAX_ITEMS, ",7", &len);
    assert_int_equal(decode_both(&l_ints_desc, s, len, &m, &err), -1);
    assert_string_equal(err.code, "too_long");
    assert_string_equal(err.message, "$.xs: more than 1000000 elements");
    free(s);
    /* a bad last element: its index */
    s = ints_text(INC_LIST_MAX_ITEMS - 1, ",\"x\"", &len);
    assert_int_equal(decode_both(&l_ints_desc, s, len, &m, &err), -1);
    assert_string_equal(err.message,
                        "$.xs[999999]: expected integer, got string");
    free(s);
}

static void test_validate(void **state) {
    l_order o;
    l_line line;
    char *tags[2] = {"ok", NULL};
    t_color colors[2] = {T_COLOR_RED, (t_color)7};
    int64_t big[1] = {0};
    inc_error err;
    (void)state;
    inc_msg_init(&l_order_desc, &o);
    memset(&line, 0, sizeof line);
    o.aggregate_id = "O1";
    o.billing.city = "C";
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), 0);
    line.sku = "A";
    line.price.currency = "EUR";
    line.tags.len = 2;
    line.tags.items = tags;
    o.lines.len = 1;
    o.lines.items = &line;
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
    assert_string_equal(err.message, "lines[0].tags[1]: required");
    tags[1] = "\xff";
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
    assert_string_equal(err.message, "lines[0].tags[1]: not valid UTF-8");
    tags[1] = "fine";
    line.price.currency = NULL;
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
    assert_string_equal(err.message, "lines[0].price.currency: required");
    line.price.currency = "EUR";
    o.colors.len = 2;
    o.colors.items = colors;
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
    assert_string_equal(err.message, "colors[1]: 7 is not a Color member");
    o.colors.len = 1;
    /* a billing record without its city; an absent optional record is not
     * looked at */
    o.billing.city = NULL;
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
    assert_string_equal(err.message, "billing.city: required");
    o.billing.city = "C";
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), 0);
    o.has_address = true;
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
    assert_string_equal(err.message, "address.city: required");
    o.has_address = false;
    /* over the element limit (never read: the length is checked first) */
    o.maybe.len = INC_LIST_MAX_ITEMS + 1;
    o.maybe.items = big;
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
    assert_string_equal(err.code, "too_long");
    assert_string_equal(err.message, "maybe: more than 1000000 elements");
    o.maybe.len = 1;
    o.maybe.items = NULL;
    assert_int_equal(inc_msg_validate(&l_order_desc, &o, &err), -1);
    assert_string_equal(err.message, "maybe: 1 elements but no items");
}

/* Every one-byte deletion and substitution of valid documents decodes the
 * same way on both paths. */
static void test_mutations(void **state) {
    static const char subst[] = "{}[],:\"\\ 0.n";
    const char *docs[] = {full_order, "{" MIN_ORDER ",\"maybe\":[1,null]}"};
    size_t d, i, k;
    long before = fast_taken;
    (void)state;
    for (d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        size_t n = strlen(docs[d]);
        char *buf = malloc(n + 1);
        assert_non_null(buf);
        for (i = 0; i < n; i++) {
            any_msg m;
            inc_error err;
            memcpy(buf, docs[d], i);
            memcpy(buf + i, docs[d] + i + 1, n - i - 1);
            if (decode_both(&l_order_desc, buf, n - 1, &m, &err) == 0)
                inc_msg_free(&l_order_desc, &m);
            for (k = 0; k < sizeof subst - 1; k++) {
                memcpy(buf, docs[d], n);
                buf[i] = subst[k];
                if (decode_both(&l_order_desc, buf, n, &m, &err) == 0)
                    inc_msg_free(&l_order_desc, &m);
            }
        }
        free(buf);
    }
    assert_true(fast_taken > before);
}

/* ---- random values: the text encoder against jansson ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static size_t below(rng *r, size_t n) { return (size_t)(rnd(r) % n); }

static char *rnd_string(rng *r) {
    static const char *const parts[] = {"a", "\xc3\xa9", "\"", "\\", "\n",
                                        "\x01", "\x7f", "\xff", "\xe2\x82",
                                        "/", "\xf0\x9f\x98\x80"};
    size_t n = below(r, 5), i;
    /* now and then also the last four parts (two are invalid UTF-8) */
    size_t nparts = below(r, 50) ? 7 : 11;
    char *s = malloc(64);
    assert_non_null(s);
    s[0] = '\0';
    for (i = 0; i < n; i++) strcat(s, parts[below(r, nparts)]);
    return s;
}

static void rnd_list(rng *r, void *p, size_t es, bool opt) {
    inc_list l = {0, 0, NULL, NULL};
    size_t i;
    l.len = below(r, 4);
    if (l.len) {
        l.items = calloc(l.len, es);
        assert_non_null(l.items);
        if (opt) {
            l.has = calloc(l.len, sizeof *l.has);
            assert_non_null(l.has);
            for (i = 0; i < l.len; i++) l.has[i] = below(r, 3) != 0;
        }
    }
    memcpy(p, &l, sizeof l);
}

static void rnd_node(rng *r, l_node *n, int depth) {
    size_t i;
    n->name = rnd_string(r);
    if (depth > 2) return;
    rnd_list(r, &n->kids, sizeof(l_node), false);
    for (i = 0; i < n->kids.len; i++) rnd_node(r, &n->kids.items[i], depth + 1);
}

static void rnd_order(rng *r, l_order *o) {
    static const double reals[] = {0.0, -0.0, 1.5, 1e300, 3.0e-310, 0.1,
                                   1e17, 123456789.25};
    size_t i;
    inc_msg_init(&l_order_desc, o);
    o->aggregate_id = rnd_string(r);
    rnd_list(r, &o->lines, sizeof(l_line), false);
    for (i = 0; i < o->lines.len; i++) {
        l_line *ln = &o->lines.items[i];
        size_t k;
        ln->sku = below(r, 30) ? rnd_string(r) : NULL;
        ln->qty = (int64_t)rnd(r);
        ln->price.amount = (int64_t)below(r, 1000) - 500;
        ln->price.currency = rnd_string(r);
        rnd_list(r, &ln->tags, sizeof(char *), false);
        for (k = 0; k < ln->tags.len; k++) ln->tags.items[k] = rnd_string(r);
        if ((ln->has_note = below(r, 2) != 0)) ln->note = rnd_string(r);
    }
    if ((o->has_address = below(r, 2) != 0)) {
        o->address.city = rnd_string(r);
        if ((o->address.has_zip = below(r, 2) != 0))
            o->address.zip = rnd_string(r);
    }
    o->billing.city = rnd_string(r);
    rnd_list(r, &o->colors, sizeof(t_color), false);
    for (i = 0; i < o->colors.len; i++)
        o->colors.items[i] =
            (t_color)(below(r, 30) ? (int)below(r, 3) : (int)below(r, 5) - 1);
    rnd_list(r, &o->stamps, sizeof(inc_timestamp), false);
    for (i = 0; i < o->stamps.len; i++)
        o->stamps.items[i] = below(r, 30) ? (int64_t)(rnd(r) >> 9)
                                          : (int64_t)rnd(r);
    rnd_list(r, &o->maybe, sizeof(int64_t), true);
    for (i = 0; i < o->maybe.len; i++)
        if (o->maybe.has[i]) o->maybe.items[i] = (int64_t)rnd(r);
    if ((o->has_scores = below(r, 2) != 0)) {
        rnd_list(r, &o->scores, sizeof(double), false);
        for (i = 0; i < o->scores.len; i++)
            o->scores.items[i] = reals[below(r, 8)] * (below(r, 2) ? 1 : -1);
    }
    rnd_list(r, &o->flags, sizeof(bool), false);
    for (i = 0; i < o->flags.len; i++) o->flags.items[i] = below(r, 2) != 0;
    if ((o->has_tree = below(r, 2) != 0)) rnd_node(r, &o->tree, 0);
}

static void test_random(void **state) {
    rng r = {UINT64_C(0x2545F4914F6CDD1D)};
    int i;
    long valid = 0;
    (void)state;
    for (i = 0; i < 3000; i++) {
        l_order o, c;
        any_msg back;
        inc_error err;
        char *t, *t2;
        rnd_order(&r, &o);
        t = encode(&l_order_desc, &o);
        assert_int_equal(inc_msg_copy(&l_order_desc, &c, &o, &err), 0);
        t2 = encode(&l_order_desc, &c);
        assert_string_equal(t, t2);
        free(t2);
        inc_msg_free(&l_order_desc, &c);
        /* valid values read back to the same text */
        if (inc_msg_validate(&l_order_desc, &o, &err) == 0) {
            valid++;
            assert_int_equal(
                decode_both(&l_order_desc, t, strlen(t), &back, &err), 0);
            t2 = encode(&l_order_desc, &back);
            assert_string_equal(t, t2);
            free(t2);
            inc_msg_free(&l_order_desc, &back);
        }
        free(t);
        inc_msg_free(&l_order_desc, &o);
    }
    assert_true(valid > 100);
}

/* Record and list projection columns: their JSON text to a jsonb column
 * and back from what PostgreSQL prints (keys reordered, spaces). */
/* INC_JSON_IGNORE_UNKNOWN (how stored events are read): members naming no
 * field are skipped, at the top and inside records and lists of records,
 * the same through the scanner and through jansson; without it they are
 * refused; a duplicate unknown member is still refused. */
static void test_ignore_unknown(void **state) {
    static const char text[] =
        "{\"aggregate_id\":\"O1\",\"added\":{\"x\":[1,2]},\"lines\":[{\"sku\":"
        "\"A\",\"qty\":2,\"price\":{\"amount\":1,\"rate\":0.5},\"tags\":[],"
        "\"gift\":true}],\"billing\":{\"city\":\"C\",\"street\":\"S\"},"
        "\"colors\":[],\"stamps\":[],\"maybe\":[],\"later\":null}";
    const unsigned fl = INC_JSON_IGNORE_UNKNOWN;
    any_msg a, b;
    inc_error err;
    (void)state;
    inc_error_clear(&err);
    assert_int_equal(inc_msg_from_text(&l_order_desc, &a, text, strlen(text),
                                       fl, &err),
                     0);
    assert_int_equal(incx_msg_from_text_jansson(&l_order_desc, &b, text,
                                                strlen(text), fl, &err),
                     0);
    char *ta = encode(&l_order_desc, &a), *tb = encode(&l_order_desc, &b);
    assert_string_equal(ta, tb);
    assert_non_null(strstr(ta, "\"price\":{\"amount\":1,\"currency\":\"EUR\"}"));
    assert_null(strstr(ta, "added"));
    free(ta);
    free(tb);
    inc_msg_free(&l_order_desc, &a);
    inc_msg_free(&l_order_desc, &b);
    /* strict without the flag: the first unknown member is named */
    assert_int_equal(inc_msg_from_text(&l_order_desc, &a, text, strlen(text), 0,
                                       &err),
                     -1);
    assert_string_equal(err.message, "$.added: unknown field");
    inc_msg_free(&l_order_desc, &a);
    static const char dup[] = "{" MIN_ORDER ",\"x\":1,\"x\":2}";
    assert_int_equal(inc_msg_from_text(&l_order_desc, &a, dup, strlen(dup), fl,
                                       &err),
                     -1);
    assert_string_equal(err.code, "duplicate_field");
    inc_msg_free(&l_order_desc, &a);
}

static void test_field_text(void **state) {
    any_msg m;
    inc_error err;
    const inc_field_desc *lines = &l_order_desc.fields[1],
                         *addr = &l_order_desc.fields[2],
                         *maybe = &l_order_desc.fields[6];
    char *t;
    (void)state;
    assert_int_equal(decode_both(&l_order_desc, full_order, strlen(full_order),
                                 &m, &err),
                     0);
    t = incx_field_to_text(addr, &m);
    assert_string_equal(t, "{\"city\":\"Lyon\",\"zip\":\"69001\"}");
    free(t);
    t = incx_field_to_text(maybe, &m);
    assert_string_equal(t, "[1,null,-3]");
    free(t);
    assert_int_equal(
        incx_field_from_text(addr, &m, "{\"zip\": null, \"city\": \"Nice\"}",
                            &err),
        0);
    assert_true(m.o.has_address);
    assert_string_equal(m.o.address.city, "Nice");
    assert_false(m.o.address.has_zip);
    assert_int_equal(incx_field_from_text(addr, &m, "null", &err), 0);
    assert_false(m.o.has_address);
    assert_int_equal(
        incx_field_from_text(lines, &m,
                            "[{\"qty\": 3, \"sku\": \"Z\", \"tags\": [\"t\"], "
                            "\"price\": {\"amount\": 9, \"currency\": \"EUR\"}}]",
                            &err),
        0);
    assert_int_equal(m.o.lines.len, 1);
    assert_string_equal(m.o.lines.items[0].tags.items[0], "t");
    assert_int_equal(incx_field_from_text(lines, &m, "[{\"qty\": 3}]", &err), -1);
    assert_string_equal(err.message, "$.lines[0].sku: missing required field");
    assert_int_equal(m.o.lines.len, 0);
    assert_int_equal(incx_field_from_text(lines, &m, "null", &err), -1);
    assert_int_equal(incx_field_from_text(lines, &m, "[", &err), -1);
    assert_string_equal(err.code, "invalid_json");
    inc_msg_free(&l_order_desc, &m);
}

/* The helpers generated `apply` code is to call: push, remove, assign. */
static void test_gen_helpers(void **state) {
    any_msg m, src;
    inc_error err;
    const inc_field_desc *lines = &l_order_desc.fields[1],
                         *billing = &l_order_desc.fields[3],
                         *maybe = &l_order_desc.fields[6];
    const inc_type_desc *line_list = inc_field_type_desc(lines),
                        *addr_type = inc_field_type_desc(billing),
                        *maybe_list = inc_field_type_desc(maybe);
    l_line *ln;
    int64_t *v;
    char *t;
    size_t i;
    (void)state;
    assert_non_null(line_list);
    assert_null(inc_field_type_desc(&l_order_desc.fields[0]));
    inc_msg_init(&l_order_desc, &m.o);
    assert_int_equal(inc_str_set(&m.o.aggregate_id, "O1", &err), 0);
    assert_int_equal(inc_str_set(&m.o.billing.city, "C", &err), 0);
    /* push: a record element with its defaults, growing by doubling */
    for (i = 0; i < 100; i++) {
        assert_non_null(ln = inc_list_push(&m.o.lines, line_list, &err));
        assert_string_equal(ln->price.currency, "EUR");
        assert_int_equal(inc_str_set(&ln->sku, i % 2 ? "odd" : "even", &err),
                         0);
        ln->qty = (int64_t)i;
    }
    assert_int_equal(m.o.lines.len, 100);
    assert_true(m.o.lines.cap >= 100 && m.o.lines.cap < 200);
    /* remove keeps the order and frees the element */
    inc_list_remove(&m.o.lines, line_list, 0);
    inc_list_remove(&m.o.lines, line_list, 98);
    inc_list_remove(&m.o.lines, line_list, 98); /* out of range: nothing */
    assert_int_equal(m.o.lines.len, 98);
    for (i = 0; i < 98; i++) assert_int_equal(m.o.lines.items[i].qty, i + 1);
    /* list<int?>: pushed elements are present */
    assert_non_null(v = inc_list_push(&m.o.maybe, maybe_list, &err));
    *v = 5;
    assert_true(m.o.maybe.has[0]);
    assert_int_equal(inc_msg_validate(&l_order_desc, &m.o, &err), 0);
    /* assign: a deep copy, also from inside the destination */
    assert_int_equal(decode_both(&l_order_desc, full_order, strlen(full_order),
                                 &src, &err),
                     0);
    assert_int_equal(inc_value_assign(&m.o.lines, &src.o.lines, line_list,
                                      &err),
                     0);
    assert_int_equal(inc_value_assign(&m.o.billing, &src.o.address, addr_type,
                                      &err),
                     0);
    inc_msg_free(&l_order_desc, &src);
    assert_int_equal(m.o.lines.len, 2);
    assert_string_equal(m.o.lines.items[0].tags.items[0], "red");
    assert_string_equal(m.o.billing.zip, "69001");
    assert_int_equal(inc_value_assign(&m.o.lines.items[0].tags,
                                      &m.o.lines.items[0].tags,
                                      inc_field_type_desc(&l_line_desc.fields[3]),
                                      &err),
                     0);
    t = encode(&l_order_desc, &m);
    assert_non_null(strstr(t, "\"tags\":[\"red\",\"x\xc3\xa9\\n\"]"));
    free(t);
    /* the limit */
    inc_msg_free(&l_order_desc, &m);
    m.o.maybe.len = INC_LIST_MAX_ITEMS;
    assert_null(inc_list_push(&m.o.maybe, maybe_list, &err));
    assert_string_equal(err.code, "too_long");
    m.o.maybe.len = 0;
    assert_null(inc_list_push(&m.o.maybe, addr_type, &err));
    assert_string_equal(err.code, "bad_descriptor");
    inc_msg_free(&l_order_desc, &m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_optionals),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_depth),
        cmocka_unit_test(test_million),    cmocka_unit_test(test_validate),
        cmocka_unit_test(test_mutations),  cmocka_unit_test(test_random),
        cmocka_unit_test(test_field_text), cmocka_unit_test(test_gen_helpers),
        cmocka_unit_test(test_ignore_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
