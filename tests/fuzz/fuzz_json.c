/* fuzz_json.c - libFuzzer target: the generated JSON decoders of the bank
 * domain, and the records-and-lists test domain of tests/runtime/
 * lists_fixtures.c (nested records, list<record>, list<enum>, list<int?>,
 * optional records and lists, a recursive record: hand-written descriptors),
 * and the same shapes as aggc generates them (tests/golden/lists).
 *
 * One input is one JSON text.  It is decoded (inc_msg_from_text, strict)
 * as every message of the domain: each aggregate's state, commands, events
 * and projection rows, with and without INC_JSON_SKIP_IMPLICIT (and with
 * INC_JSON_IGNORE_UNKNOWN, as stored events are read).  Whenever a
 * decode succeeds, the value must survive a round trip: encode
 * (inc_msg_to_json) -> dump -> decode again must succeed and re-encode to
 * an equal JSON value; a deep copy must encode equal too; commands are run
 * through inc_msg_validate.  A failed decode must leave an error kind
 * INC_ERR_INVALID with a message naming the JSON path ("$...").
 * Differential: the same input decoded through the jansson path alone
 * (incx_msg_from_text_jansson, what the fast scanner of json_fast.c stands in
 * front of) must give the same return code, error kind/code/message and
 * struct (bytes without the string pointers, strings, JSON encoding).
 * Differential too: inc_msg_to_text of every decoded value must be byte for
 * byte json_dumps(inc_msg_to_json(...), JSON_COMPACT). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <incident/domain.h>

#include "bank.h"
#include "lists.h"
#include "lists_fixtures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* runtime/src/internal.h (not installed). */
int incx_msg_from_text_jansson(const inc_message_desc *d, void *msg,
                               const char *text, size_t len, unsigned flags,
                               inc_error *err);

static char *dump_msg(const inc_message_desc *d, const void *msg) {
    json_t *j = inc_msg_to_json(d, msg, 0);
    char *s;
    if (!j) abort();
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s) abort();
    return s;
}

/* `a` (inc_msg_from_text) and `b` (jansson path) hold the same values. */
static void check_same(const inc_message_desc *d, const void *a,
                       const void *b) {
    unsigned char *ca = malloc(d->size), *cb = malloc(d->size);
    if (!ca || !cb) abort();
    memcpy(ca, a, d->size);
    memcpy(cb, b, d->size);
    for (size_t i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        if (f->type == INC_TYPE_RECORD || f->type == INC_TYPE_LIST) {
            /* pointers and list capacities: compared through the JSON
             * encoding below */
            const inc_type_desc *td = inc_field_type_desc(f);
            size_t n = f->type == INC_TYPE_LIST ? sizeof(inc_list)
                                                : td->record->size;
            memset(ca + f->offset, 0, n);
            memset(cb + f->offset, 0, n);
            continue;
        }
        if (f->type != INC_TYPE_STRING) continue;
        const char *sa = *(char *const *)(const void *)((const char *)a + f->offset);
        const char *sb = *(char *const *)(const void *)((const char *)b + f->offset);
        if ((sa == NULL) != (sb == NULL) || (sa && strcmp(sa, sb) != 0)) abort();
        *(char **)(void *)(ca + f->offset) = NULL;
        *(char **)(void *)(cb + f->offset) = NULL;
    }
    if (memcmp(ca, cb, d->size) != 0) abort();
    char *ja = dump_msg(d, a), *jb = dump_msg(d, b);
    if (strcmp(ja, jb) != 0) abort();
    free(ja), free(jb), free(ca), free(cb);
}

static void check_differential(const inc_message_desc *d, const char *text,
                               size_t len, unsigned flags) {
    void *a = malloc(d->size), *b = malloc(d->size);
    if (!a || !b) abort();
    inc_error ea, eb;
    inc_error_clear(&ea);
    inc_error_clear(&eb);
    int ra = inc_msg_from_text(d, a, text, len, flags, &ea);
    int rb = incx_msg_from_text_jansson(d, b, text, len, flags, &eb);
    /* jansson skips a raw NUL after a number or literal; the public entry
     * point refuses it on top of jansson */
    if (rb == 0 && memchr(text, '\0', len)) {
        if (ra != -1 || strcmp(ea.code, "invalid_json") != 0) abort();
        inc_msg_free(d, a);
        inc_msg_free(d, b);
        free(a), free(b);
        return;
    }
    if (ra != rb || ea.kind != eb.kind || strcmp(ea.code, eb.code) != 0 ||
        strcmp(ea.message, eb.message) != 0)
        abort();
    check_same(d, a, b);
    inc_msg_free(d, a);
    inc_msg_free(d, b);
    free(a), free(b);
}

static void check_one(const inc_message_desc *d, const char *text, size_t len,
                      unsigned flags) {
    void *a = malloc(d->size), *b = malloc(d->size), *c = malloc(d->size);
    if (!a || !b || !c) abort();
    inc_error err;
    inc_error_clear(&err);
    if (inc_msg_from_text(d, a, text, len, flags, &err) != 0) {
        if (err.kind != INC_ERR_INVALID || err.message[0] != '$') abort();
        inc_msg_free(d, a); /* documented: left initialised */
        free(a), free(b), free(c);
        return;
    }
    json_t *j1 = inc_msg_to_json(d, a, flags);
    if (!j1) abort();
    char *dumped = json_dumps(j1, JSON_COMPACT);
    if (!dumped) abort();
    /* the tree-free encoder writes the same bytes */
    size_t text_len;
    char *text2 = inc_msg_to_text(d, a, flags, &text_len);
    if (!text2 || text_len != strlen(dumped) || strcmp(text2, dumped) != 0)
        abort();
    free(text2);
    if (inc_msg_from_text(d, b, dumped, strlen(dumped), flags, &err) != 0) abort();
    json_t *j2 = inc_msg_to_json(d, b, flags);
    if (!j2 || !json_equal(j1, j2)) abort();
    if (inc_msg_copy(d, c, a, &err) != 0) abort();
    json_t *j3 = inc_msg_to_json(d, c, flags);
    if (!j3 || !json_equal(j1, j3)) abort();
    if (d->kind == INC_MSG_COMMAND) {
        inc_error verr;
        inc_error_clear(&verr);
        if (inc_msg_validate(d, a, &verr) != 0 && verr.kind == INC_OK) abort();
    }
    json_decref(j1);
    json_decref(j2);
    json_decref(j3);
    free(dumped);
    inc_msg_free(d, a);
    inc_msg_free(d, b);
    inc_msg_free(d, c);
    free(a), free(b), free(c);
}

static void check_all(const inc_message_desc *d, const char *text, size_t len) {
    check_differential(d, text, len, 0);
    check_differential(d, text, len, INC_JSON_SKIP_IMPLICIT);
    check_one(d, text, len, 0);
    check_one(d, text, len, INC_JSON_SKIP_IMPLICIT);
    /* as stored events are read: unknown members skipped */
    check_differential(d, text, len,
                       INC_JSON_SKIP_IMPLICIT | INC_JSON_IGNORE_UNKNOWN);
    check_one(d, text, len, INC_JSON_SKIP_IMPLICIT | INC_JSON_IGNORE_UNKNOWN);
}

static void check_domain(const inc_domain *dom, const char *text, size_t size) {
    for (size_t i = 0; i < dom->n_aggregates; i++) {
        const inc_aggregate_desc *a = dom->aggregates[i];
        check_all(a->state, text, size);
        for (size_t k = 0; k < a->n_commands; k++) check_all(a->commands[k], text, size);
        for (size_t k = 0; k < a->n_events; k++) check_all(a->events[k], text, size);
        for (size_t k = 0; k < a->n_projections; k++)
            check_all(a->projections[k]->row, text, size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data; /* decoders take a length */
    check_domain(&bank_domain, text, size);
    check_domain(&lists_domain, text, size);
    check_all(&l_order_desc, text, size);
    check_all(&l_ints_desc, text, size);
    return 0;
}
