/* fuzz_json.c - libFuzzer target: the generated JSON decoders of the bank
 * domain.
 *
 * One input is one JSON text.  It is decoded (inc_msg_from_text, strict)
 * as every message of the domain: each aggregate's state, commands, events
 * and projection rows, with and without INC_JSON_SKIP_IMPLICIT.  Whenever a
 * decode succeeds, the value must survive a round trip: encode
 * (inc_msg_to_json) -> dump -> decode again must succeed and re-encode to
 * an equal JSON value; a deep copy must encode equal too; commands are run
 * through inc_msg_validate.  A failed decode must leave an error kind
 * INC_ERR_INVALID with a message naming the JSON path ("$..."). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <incident/domain.h>

#include "bank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    check_one(d, text, len, 0);
    check_one(d, text, len, INC_JSON_SKIP_IMPLICIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data; /* decoders take a length */
    const inc_domain *dom = &bank_domain;
    for (size_t i = 0; i < dom->n_aggregates; i++) {
        const inc_aggregate_desc *a = dom->aggregates[i];
        check_all(a->state, text, size);
        for (size_t k = 0; k < a->n_commands; k++) check_all(a->commands[k], text, size);
        for (size_t k = 0; k < a->n_events; k++) check_all(a->events[k], text, size);
        for (size_t k = 0; k < a->n_projections; k++)
            check_all(a->projections[k]->row, text, size);
    }
    return 0;
}
