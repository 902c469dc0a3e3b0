/* test_upcast.c - the generated upcasters of tests/golden/evolution
 * (library.agg), called directly through the event descriptor, without a
 * store: JSON as stored at an older schema version in, the current struct
 * out (docs/evolution.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptors),
        cmocka_unit_test(test_from_version_1),
        cmocka_unit_test(test_from_version_2),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
