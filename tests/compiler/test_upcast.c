/* test_upcast.c - the generated upcasters of tests/golden/evolution
 * (library.agg), tests/golden/upcast_edge (upedge.agg) and of the bank's
 * next version (against/bank_v2.agg, the
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
#include "upedge.h"

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

/* Compiled upcast code keeps the checks of apply rules: a null read as a
 * value, integer overflow; defaults of the stored shape; int to float. */
static void test_edge(void **st) {
    (void)st;
    const inc_message_desc *d = &upedge_opt_desc;
    upedge_opt ev;
    inc_error err = {0};
    const char *ok = "{\"n\":3,\"f\":2}";
    inc_msg_init(d, &ev);
    assert_int_equal(d->upcast(1, ok, strlen(ok), &ev, &err), 0);
    assert_int_equal(ev.n, 5);
    assert_true(ev.f == 2.0);
    assert_false(ev.has_t);
    assert_int_equal(ev.c, UPEDGE_COLOR_GREEN); /* the stored shape's default */
    inc_msg_free(d, &ev);

    const char *null_n = "{\"n\":null,\"f\":1,\"c\":\"red\"}";
    inc_msg_init(d, &ev);
    assert_int_not_equal(d->upcast(1, null_n, strlen(null_n), &ev, &err), 0);
    assert_string_equal(err.code, "missing_value");
    inc_msg_free(d, &ev);

    const char *big = "{\"n\":9223372036854775807,\"f\":1}";
    inc_msg_init(d, &ev);
    assert_int_not_equal(d->upcast(1, big, strlen(big), &ev, &err), 0);
    assert_string_equal(err.code, "integer_overflow");
    inc_msg_free(d, &ev);

    /* blocks with no fields chain through to an event with none */
    const inc_message_desc *e = &upedge_empty_desc;
    assert_int_equal(e->schema_version, 3);
    upedge_empty em;
    inc_msg_init(e, &em);
    assert_int_equal(e->upcast(1, "{}", 2, &em, &err), 0);
    assert_int_equal(e->upcast(2, "{\"x\":1}", 7, &em, &err), 0);
    /* stored data is read tolerantly: a member version 1 does not list is
     * skipped (a newer program may have added it), not refused */
    assert_int_equal(e->upcast(1, "{\"x\":1}", 7, &em, &err), 0);
    assert_int_not_equal(e->upcast(1, "{\"x\":", 5, &em, &err), 0); /* malformed */
    inc_msg_free(e, &em);
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
        cmocka_unit_test(test_edge),
        cmocka_unit_test(test_bank_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
