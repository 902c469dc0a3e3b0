/* main.c - the consumer test's service: a program outside the Incident
 * source tree, built against an installed libincident and the code the
 * installed aggc generated from shop.agg.
 *
 *   shop [SCHEMA]
 *
 * Opens the PostgreSQL store of $INCIDENT_DB in SCHEMA (default: one named
 * after the process), initialises it, dispatches a few commands (typed and
 * JSON), checks a rejection, the state and the `orders` projection row with
 * its computed columns, prints what it saw and exits 1 on any mismatch. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <incident/app.h>
#include <incident/store.h>

#include "shop.h"

static int failures;

#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "shop: %s:%d: expected %s\n", __FILE__, __LINE__,  \
                    #cond);                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static void report(const char *what, const inc_error *err) {
    fprintf(stderr, "shop: %s: %s [%s] %s\n", what,
            inc_error_kind_name(err->kind), err->code, err->message);
    failures++;
}

static int add_line(inc_app *app, const char *id, int64_t quantity,
                    int64_t unit_cents, inc_error *err) {
    shop_add_line cmd;
    shop_add_line_init(&cmd);
    cmd.aggregate_id = strdup(id);
    cmd.quantity = quantity;
    cmd.unit_cents = unit_cents;
    int rc = cmd.aggregate_id ? inc_dispatch(app, &shop_add_line_desc, &cmd, NULL, err)
                              : inc_error_set(err, INC_ERR_INTERNAL, "oom", "out of memory");
    shop_add_line_free(&cmd);
    return rc;
}

/* projection_get hands over a borrowed row: keep a copy. */
static int copy_row(void *ud, const void *row, const inc_row_meta *meta,
                    inc_error *err) {
    (void)meta;
    return inc_msg_copy(&shop_orders_row_desc, ud, row, err);
}

int main(int argc, char **argv) {
    const char *db = getenv("INCIDENT_DB");
    if (!db || !*db) {
        fputs("shop: INCIDENT_DB is not set\n", stderr);
        return 1;
    }
    char schema[64];
    if (argc > 1) snprintf(schema, sizeof schema, "%s", argv[1]);
    else snprintf(schema, sizeof schema, "shop_%ld", (long)getpid());

    inc_error err;
    inc_error_clear(&err);
    inc_pg_options opts = {db, schema};
    inc_store *store = inc_pg_store_open(&opts, &err);
    if (!store) {
        report("open", &err);
        return 1;
    }
    inc_app *app = NULL;
    if (inc_store_init(store, &shop_domain, &err) != 0) {
        report("init", &err);
        goto done;
    }
    app = inc_app_new(&shop_domain, store, &err);
    if (!app) {
        report("app", &err);
        goto done;
    }

    /* Before PlaceOrder the domain refuses lines. */
    EXPECT(add_line(app, "o-1", 1, 100, &err) == -1);
    EXPECT(err.kind == INC_ERR_REJECTED &&
           shop_rejection_of(&err) == SHOP_REJECT_ORDER_NOT_FOUND);
    printf("rejected: %s\n", err.code);

    inc_result res = INC_RESULT_INIT;
    if (inc_dispatch_json(app, "PlaceOrder",
                          "{\"aggregate_id\":\"o-1\",\"customer\":\"ada\"}", &res,
                          &err) != 0)
        report("PlaceOrder", &err);
    EXPECT(res.count == 1 && res.events[0].desc == &shop_order_placed_desc);
    inc_result_free(&res);

    if (add_line(app, "o-1", 2, 2500, &err) != 0) report("AddLine 1", &err);
    if (add_line(app, "o-1", 1, 7550, &err) != 0) report("AddLine 2", &err);
    EXPECT(add_line(app, "o-1", 0, 100, &err) == -1);
    EXPECT(shop_rejection_of(&err) == SHOP_REJECT_INVALID_QUANTITY);
    printf("rejected: %s\n", err.code);

    shop_order_state st;
    if (inc_app_state(app, &shop_order_type, "o-1", &st, &err) != 0) {
        report("state", &err);
    } else {
        printf("state: version %" PRId64 ", %" PRId64 " lines, %" PRId64 " cents\n",
               st.version, st.lines, st.cents);
        EXPECT(st.version == 3 && st.placed && st.lines == 2 && st.cents == 12550);
    }
    inc_msg_free(&shop_order_state_desc, &st);

    shop_orders_row row;
    shop_orders_row_init(&row);
    bool found = false;
    if (inc_store_projection_get(store, &shop_orders_projection, "o-1", copy_row,
                                 &row, &found, &err) != 0) {
        report("projection", &err);
    } else {
        EXPECT(found);
        printf("orders: %s customer=%s lines=%" PRId64 " quantity=%" PRId64
               " cents=%" PRId64 " euros=%" PRId64 " big=%s\n",
               row.aggregate_id ? row.aggregate_id : "(none)",
               row.customer ? row.customer : "(none)", row.lines, row.quantity,
               row.cents, row.euros, row.big ? "true" : "false");
        EXPECT(row.aggregate_id && strcmp(row.aggregate_id, "o-1") == 0);
        EXPECT(row.customer && strcmp(row.customer, "ada") == 0);
        EXPECT(row.lines == 2 && row.quantity == 3 && row.cents == 12550);
        EXPECT(row.euros == 125); /* computed: cents / 100 */
        EXPECT(row.big);          /* computed: cents >= 10000 */
    }
    shop_orders_row_free(&row);

done:
    inc_app_free(app);
    inc_store_close(store);
    if (failures) {
        fprintf(stderr, "shop: %d check(s) failed\n", failures);
        return 1;
    }
    puts("shop: ok");
    return 0;
}
