/* test_upcast.c - the generated upcasters of tests/golden/evolution
 * (library.agg) and of the bank's next version (against/bank_v2.agg, the
 * worked example of docs/evolution.md), called directly through the event
 * descriptors, without a store: JSON as stored at an older schema version
 * in, the current struct out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bank.h"
#include "library.h"

/* Run the upcaster of CopiesAdded on stored `json` at `version`. */
static int upcast(unsigned version, const char *json, library_copies_added *out,
                  inc_error *err) {
    const inc_message_desc *d = &library_copies_added_desc;
    inc_msg_init(d, out);
    return d->upcast(version, json, strlen(json), out, err);
}

static void test_descriptors(void **st) {
    (void)st;
    const inc_message_desc *ca = &library_copies_added_desc;
    assert_int_equal(ca->schema_version, 3);
    assert_non_null(ca->upcast);
    assert_int_equal(ca->n_was, 0);
    const inc_message_desc *bc = &library_book_catalogued_desc;
    assert_int_equal(bc->schema_version, 0); /* no upcast block: reads as 1 */
    assert_null(bc->upcast);
    assert_int_equal(bc->n_was, 2);
    assert_string_equal(bc->was[0], "BookRegistered");
    assert_string_equal(bc->was[1], "TitleAdded");
}

static void test_from_version_1(void **st) {
    (void)st;
    library_copies_added ev;
    inc_error err = {0};
    assert_int_equal(upcast(1, "{\"count\":3,\"note\":\"gift\"}", &ev, &err), 0);
    assert_int_equal(ev.copies, 3);
    /* version 1 -> 2 sets by = "unknown", 2 -> 3 maps it to paper */
    assert_int_equal(ev.format, LIBRARY_FORMAT_PAPER);
    assert_true(ev.has_note);
    assert_string_equal(ev.note, "gift");
    library_copies_added_free(&ev);

    assert_int_equal(upcast(1, "{\"count\":-7}", &ev, &err), 0);
    assert_int_equal(ev.copies, -7);
    assert_false(ev.has_note);
    assert_null(ev.note);
    library_copies_added_free(&ev);
}

static void test_from_version_2(void **st) {
    (void)st;
    library_copies_added ev;
    inc_error err = {0};
    assert_int_equal(
        upcast(2, "{\"copies\":5,\"by\":\"scanner\",\"note\":null}", &ev, &err), 0);
    assert_int_equal(ev.copies, 5);
    assert_int_equal(ev.format, LIBRARY_FORMAT_EBOOK);
    assert_false(ev.has_note);
    library_copies_added_free(&ev);

    assert_int_equal(upcast(2, "{\"copies\":1,\"by\":\"clerk\"}", &ev, &err), 0);
    assert_int_equal(ev.format, LIBRARY_FORMAT_PAPER);
    library_copies_added_free(&ev);
}

static void test_errors(void **st) {
    (void)st;
    library_copies_added ev;
    inc_error err = {0};
    /* the current version is not upcast; nor is 0 */
    assert_int_not_equal(upcast(3, "{\"copies\":1,\"format\":\"paper\"}", &ev, &err), 0);
    assert_int_equal(err.kind, INC_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "CopiesAdded"));
    assert_non_null(strstr(err.message, "3"));
    library_copies_added_free(&ev);
    assert_int_not_equal(upcast(0, "{}", &ev, &err), 0);
    library_copies_added_free(&ev);
    /* version 1 without its required field, with the wrong type, broken */
    assert_int_not_equal(upcast(1, "{\"note\":\"x\"}", &ev, &err), 0);
    assert_non_null(strstr(err.message, "count"));
    library_copies_added_free(&ev);
    assert_int_not_equal(upcast(1, "{\"count\":\"three\"}", &ev, &err), 0);
    library_copies_added_free(&ev);
    assert_int_not_equal(upcast(2, "{\"copies\":1,\"by\":", &ev, &err), 0);
    library_copies_added_free(&ev);
}

/* The bank's next version reads what today's bank stores. */
static void test_bank_v2(void **st) {
    (void)st;
    const inc_message_desc *ao = &bank_account_opened_desc;
    assert_int_equal(ao->schema_version, 2);
    bank_account_opened ev;
    inc_error err = {0};
    inc_msg_init(ao, &ev);
    const char *v1 = "{\"account_number\":\"NL-1\"}";
    assert_int_equal(ao->upcast(1, v1, strlen(v1), &ev, &err), 0);
    assert_string_equal(ev.account_number, "NL-1");
    assert_string_equal(ev.currency, "EUR");
    inc_msg_free(ao, &ev);

    const inc_message_desc *pi = &bank_money_paid_in_desc;
    assert_int_equal(pi->n_was, 1);
    assert_string_equal(pi->was[0], "MoneyDeposited");
    assert_null(pi->upcast);
    assert_ptr_equal(inc_domain_event(&bank_domain, "MoneyPaidIn"), pi);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptors),
        cmocka_unit_test(test_from_version_1),
        cmocka_unit_test(test_from_version_2),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bank_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
