/* bench_codec.c - the generated JSON codecs against the jansson code a
 * developer would write by hand for the same object (the Account state:
 * aggregate_id, version, updated_at, account_number, balance, opened).
 *   encode: inc_msg_to_text (descriptor-driven, straight to text)  vs
 *           json_object + json_object_set_new per field + json_dumps; also
 *           bank_account_state_to_json + json_dumps (the jansson tree the
 *           generated _to_json builds), for reference;
 *   decode: inc_msg_from_text (strict: unknown/duplicate/missing/ill-typed
 *           fields are errors)  vs  json_loads + json_object_get per field
 *           + type checks + strdup. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"
#include "bench_common.h"

#define ROUNDS 20
#define SLICE 20000

static char *dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    memcpy(p, s, n);
    return p;
}

static char *hand_encode(const bank_account_state *s) {
    char ts[INC_TIMESTAMP_TEXT_MAX];
    json_t *o = json_object();
    inc_timestamp_format(s->updated_at, ts);
    json_object_set_new(o, "aggregate_id", json_string(s->aggregate_id));
    json_object_set_new(o, "version", json_integer(s->version));
    json_object_set_new(o, "updated_at", json_string(ts));
    json_object_set_new(o, "account_number", json_string(s->account_number));
    json_object_set_new(o, "balance", json_integer(s->balance));
    json_object_set_new(o, "opened", json_boolean(s->opened));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static int hand_decode(const char *text, bank_account_state *s) {
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!o) return -1;
    json_t *id = json_object_get(o, "aggregate_id"),
           *v = json_object_get(o, "version"),
           *at = json_object_get(o, "updated_at"),
           *num = json_object_get(o, "account_number"),
           *bal = json_object_get(o, "balance"),
           *op = json_object_get(o, "opened");
    int rc = -1;
    if (json_is_string(id) && json_is_integer(v) && json_is_string(at) &&
        json_is_string(num) && json_is_integer(bal) && json_is_boolean(op) &&
        inc_timestamp_parse(json_string_value(at), &s->updated_at) == 0) {
        s->aggregate_id = dup(json_string_value(id));
        s->account_number = dup(json_string_value(num));
        s->version = json_integer_value(v);
        s->balance = json_integer_value(bal);
        s->opened = json_is_true(op);
        s->has_updated_at = true;
        rc = 0;
    }
    json_decref(o);
    return rc;
}

int main(void) {
    bank_account_state s;
    bank_account_state_init(&s);
    s.aggregate_id = dup("acc-0042");
    s.account_number = dup("acc-0042");
    s.version = 1234;
    s.updated_at = 1795687200123456;
    s.has_updated_at = true;
    s.balance = 987654;
    s.opened = true;
    double t0, ours_enc, tree_enc, hand_enc, ours_dec, hand_dec;
    size_t sink = 0;

    json_t *j = bank_account_state_to_json(&s);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *direct = inc_msg_to_text(&bank_account_state_desc, &s, 0, NULL);
    char *hand = hand_encode(&s);
    if (!direct || strcmp(direct, text) != 0 || strcmp(hand, text) != 0)
        bench_die("the encoders disagree: %s / %s / %s", text, direct, hand);
    free(direct);
    free(hand);
    /* ROUNDS slices, ours and hand-written taking turns, so a busy spell
     * of the shared machine hits both alike. */
    ours_enc = tree_enc = hand_enc = ours_dec = hand_dec = 0;
    for (int r = 0; r < ROUNDS; r++) {
        t0 = bench_now();
        for (int i = 0; i < SLICE; i++) {
            char *t = hand_encode(&s);
            sink += strlen(t);
            free(t);
        }
        hand_enc += bench_now() - t0;
        t0 = bench_now();
        for (int i = 0; i < SLICE; i++) {
            json_t *o = bank_account_state_to_json(&s);
            char *t = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            sink += strlen(t);
            free(t);
        }
        tree_enc += bench_now() - t0;
        t0 = bench_now();
        for (int i = 0; i < SLICE; i++) {
            size_t len;
            char *t = inc_msg_to_text(&bank_account_state_desc, &s, 0, &len);
            sink += len;
            free(t);
        }
        ours_enc += bench_now() - t0;
        t0 = bench_now();
        for (int i = 0; i < SLICE; i++) {
            bank_account_state d;
            bank_account_state_init(&d);
            if (hand_decode(text, &d) != 0) bench_die("hand decode");
            sink += (size_t)d.balance;
            bank_account_state_free(&d);
        }
        hand_dec += bench_now() - t0;
        t0 = bench_now();
        for (int i = 0; i < SLICE; i++) {
            bank_account_state d;
            inc_error err;
            if (inc_msg_from_text(&bank_account_state_desc, &d, text,
                                  strlen(text), 0, &err) != 0)
                bench_die("decode: %s", err.message);
            sink += (size_t)d.balance;
            bank_account_state_free(&d);
        }
        ours_dec += bench_now() - t0;
    }
    ours_enc = ROUNDS * SLICE / ours_enc;
    tree_enc = ROUNDS * SLICE / tree_enc;
    hand_enc = ROUNDS * SLICE / hand_enc;
    ours_dec = ROUNDS * SLICE / ours_dec;
    hand_dec = ROUNDS * SLICE / hand_dec;
    if (sink == 0) bench_die("nothing done");
    bench_result("codec_encode_ours_ops", ours_enc);
    bench_result("codec_encode_hand_ops", hand_enc);
    bench_result("codec_encode_tree_ops", tree_enc);
    bench_result("codec_decode_ours_ops", ours_dec);
    bench_result("codec_decode_hand_ops", hand_dec);
    free(text);
    bank_account_state_free(&s);
    return 0;
}
