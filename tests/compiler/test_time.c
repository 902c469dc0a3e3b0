/* test_time.c - time in compiled rules (tests/golden/timing/timing.agg):
 * now() in execute, event.event_date / event.event_id in apply, duration
 * arithmetic and its rejections, against values computed by hand; then
 * through the pipeline on the in-memory store: execute's now() is the
 * date the events are stored with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <incident/app.h>
#include <incident/store.h>

#include "timing.h"

#define US INT64_C(1000000)
#define DAY (INT64_C(86400) * US)
#define HOUR (INT64_C(3600) * US)
/* 2026-12-04T10:00:00Z: 20,791 days after 1970-01-01, plus 10 hours */
#define T0 ((INT64_C(20791) * 86400 + 10 * 3600) * US)
#define ID1 "11111111-1111-4111-8111-111111111111"
#define ID2 "22222222-2222-4222-8222-222222222222"

/* Execute `name` with `json` at time `now`; the events stay in *out. */
static int exec_at(timing_loan_state *s, const char *name, const char *json,
                   inc_timestamp now, inc_event_list *out, inc_error *err) {
    const inc_message_desc *cd = inc_domain_command(&timing_domain, name);
    assert_non_null(cd);
    void *cmd = calloc(1, cd->size);
    assert_non_null(cmd);
    int rc = inc_msg_from_text(cd, cmd, json, strlen(json), 0, err);
    if (rc == 0) rc = inc_execute_at(cd->aggregate, s, cd, cmd, now, out, err);
    inc_msg_free(cd, cmd);
    free(cmd);
    return rc;
}

static void expect_reject_at(timing_loan_state *s, const char *name, const char *json,
                             inc_timestamp now, const char *code) {
    inc_event_list out = INC_EVENT_LIST_INIT;
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(exec_at(s, name, json, now, &out, &err), -1);
    assert_int_equal(err.kind, INC_ERR_REJECTED);
    assert_string_equal(err.code, code);
    assert_int_equal(out.count, 0);
    inc_event_list_free(&out);
}

static void apply_one(timing_loan_state *s, inc_event_list *out, int64_t version,
                      inc_timestamp date, const char *id) {
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(out->count, 1);
    inc_event_info info = {version, date, id};
    if (inc_state_apply_info(&timing_loan_type, s, out->items[0].desc, out->items[0].data,
                             &info, &err) != 0)
        fail_msg("apply: %s: %s", err.code, err.message);
    inc_event_list_clear(out);
}

static void rules_with_time(void **unused) {
    (void)unused;
    timing_loan_state s;
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(inc_state_init(&timing_loan_type, &s, "L1", &err), 0);
    inc_event_list out = INC_EVENT_LIST_INIT;

    /* Lend at T0 for 3 days: at = now(), due = now() + 3 * 1d */
    expect_reject_at(&s, "Lend", "{\"aggregate_id\":\"L1\",\"days\":0}", T0, "invalid_days");
    assert_int_equal(exec_at(&s, "Lend", "{\"aggregate_id\":\"L1\",\"days\":3}", T0, &out, &err),
                     0);
    const timing_lent *lent = out.items[0].data;
    assert_true(lent->at == T0);
    assert_true(lent->due == T0 + 3 * DAY);
    /* stored a second later: lent_at is the event's date, not now() */
    apply_one(&s, &out, 1, T0 + US, ID1);
    assert_true(s.has_lent_at && s.lent_at == T0 + US);
    assert_true(s.has_due && s.due == T0 + 3 * DAY);
    assert_string_equal(s.last_event, ID1);
    assert_true(s.updated_at == T0 + US);

    /* Extend: only within 7 days of the due date */
    expect_reject_at(&s, "Extend", "{\"aggregate_id\":\"L1\",\"by_hours\":2}", T0 - 5 * DAY,
                     "too_early");
    /* due + 2 * 1h + 30m - 90s + 500ms - -1us */
    assert_int_equal(
        exec_at(&s, "Extend", "{\"aggregate_id\":\"L1\",\"by_hours\":2}", T0 + DAY, &out, &err),
        0);
    const timing_extended *ext = out.items[0].data;
    int64_t due2 = T0 + 3 * DAY + 2 * HOUR + 30 * 60 * US - 90 * US + 500000 + 1;
    assert_true(ext->due == due2);
    apply_one(&s, &out, 2, T0 + DAY, ID2);
    /* inside apply, updated_at was still the previous event's date */
    assert_true(s.has_previous_update && s.previous_update == T0 + US);
    assert_true(s.updated_at == T0 + DAY);
    assert_string_equal(s.last_event, ID1); /* Extended does not set it */

    /* overflow is a rejection: the int product, then the timestamp range */
    expect_reject_at(&s, "Extend", "{\"aggregate_id\":\"L1\",\"by_hours\":9223372036854775807}",
                     T0 + DAY, "integer_overflow");
    expect_reject_at(&s, "Extend", "{\"aggregate_id\":\"L1\",\"by_hours\":2000000000}", T0 + DAY,
                     "timestamp_out_of_range");
    expect_reject_at(&s, "Extend", "{\"aggregate_id\":\"L1\",\"by_hours\":-2000000000}",
                     T0 + DAY, "timestamp_out_of_range");

    /* Return 2 days, 3 seconds late: late_s = (now() - due) / 1s */
    timing_loan_state copy;
    assert_int_equal(inc_msg_copy(&timing_loan_state_desc, &copy, &s, &err), 0);
    assert_int_equal(exec_at(&s, "Return", "{\"aggregate_id\":\"L1\"}", due2 + 2 * DAY + 3 * US,
                             &out, &err),
                     0);
    assert_true(((const timing_returned *)out.items[0].data)->late_s == 2 * 86400 + 3);
    apply_one(&s, &out, 3, T0 + 9 * DAY, ID2);
    assert_true(s.late_s == 2 * 86400 + 3);
    assert_string_equal(s.last_event, ID2);
    /* on time (due - 1us): not late; exactly due: not late either */
    assert_int_equal(exec_at(&copy, "Return", "{\"aggregate_id\":\"L1\"}", due2, &out, &err), 0);
    assert_true(((const timing_returned *)out.items[0].data)->late_s == 0);
    inc_event_list_clear(&out);
    assert_int_equal(exec_at(&copy, "Return", "{\"aggregate_id\":\"L1\"}", due2 + 999999, &out,
                             &err),
                     0);
    assert_true(((const timing_returned *)out.items[0].data)->late_s == 0); /* truncated */
    inc_event_list_free(&out);
    inc_msg_free(&timing_loan_state_desc, &copy);
    inc_msg_free(&timing_loan_state_desc, &s);
}

/* inc_state_apply (without an id) gives apply rules an empty event id. */
static void apply_without_id(void **unused) {
    (void)unused;
    timing_loan_state s;
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(inc_state_init(&timing_loan_type, &s, "L2", &err), 0);
    inc_event_list out = INC_EVENT_LIST_INIT;
    assert_int_equal(exec_at(&s, "Lend", "{\"aggregate_id\":\"L2\",\"days\":1}", T0, &out, &err),
                     0);
    assert_int_equal(inc_state_apply(&timing_loan_type, &s, out.items[0].desc,
                                     out.items[0].data, 1, T0, &err),
                     0);
    assert_string_equal(s.last_event, "");
    assert_true(s.lent_at == T0);
    inc_event_list_free(&out);
    inc_msg_free(&timing_loan_state_desc, &s);
}

/* The pipeline: the time execute saw is the events' stored date, and a
 * state read back from the store saw each event's own date and id. */
static void pipeline_time(void **unused) {
    (void)unused;
    inc_error err;
    inc_error_clear(&err);
    inc_store *st = inc_mem_store_open(&err);
    assert_non_null(st);
    inc_app *app = inc_app_new(&timing_domain, st, &err);
    assert_non_null(app);
    inc_result res;
    inc_result_init(&res);
    inc_timestamp before = inc_timestamp_now();
    if (inc_dispatch_json(app, "Lend", "{\"aggregate_id\":\"P1\",\"days\":2}", &res, &err) != 0)
        fail_msg("dispatch: %s: %s", err.code, err.message);
    inc_timestamp after = inc_timestamp_now();
    assert_int_equal(res.count, 1);
    const timing_lent *lent = res.events[0].data;
    assert_true(lent->at == res.events[0].event_date);
    assert_true(lent->due == res.events[0].event_date + 2 * DAY);
    assert_true(before <= lent->at && lent->at <= after);

    timing_loan_state s;
    inc_app_set_state_cache(app, 0); /* read from the store, not the cache */
    assert_int_equal(inc_app_state(app, &timing_loan_type, "P1", &s, &err), 0);
    assert_true(s.lent_at == res.events[0].event_date);
    assert_string_equal(s.last_event, res.events[0].event_id);
    inc_msg_free(&timing_loan_state_desc, &s);
    inc_result_free(&res);
    inc_app_free(app);
    inc_store_close(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_with_time),
        cmocka_unit_test(apply_without_id),
        cmocka_unit_test(pipeline_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
