/* harness.h - helpers of the storage/pipeline suites: a fresh store per
 * test (PostgreSQL: its own schema in $INCIDENT_DB; or in memory), and a
 * raw second connection for checks from outside the store. */
#ifndef TH_HARNESS_H
#define TH_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <incident/app.h>
#include <incident/store.h>

typedef struct th_fx {
    bool pg;
    char schema[64];
    inc_store *store;
    inc_app *app;
} th_fx;

extern bool th_mode_pg, th_mode_mem;

/* A cmocka test run against both stores, or against PostgreSQL only. */
#define TH_BOTH(f)                                                                \
    cmocka_unit_test_prestate_setup_teardown(f, th_setup, th_teardown,         \
                                             &th_mode_mem),                    \
        cmocka_unit_test_prestate_setup_teardown(f, th_setup, th_teardown,     \
                                                 &th_mode_pg)
#define TH_PG(f)                                                                  \
    cmocka_unit_test_prestate_setup_teardown(f, th_setup, th_teardown,         \
                                             &th_mode_pg)


/* $INCIDENT_DB, or NULL. */
const char *th_db(void);
/* cmocka setup/teardown: *state starts as &th_mode_pg or &th_mode_mem and
 * becomes a th_fx with an initialised store and an app on it. */
int th_setup(void **state);
int th_teardown(void **state);
/* Another store on the same schema (PostgreSQL only; NULL otherwise). */
inc_store *th_open_same(const th_fx *fx);
/* A plain libpq connection with search_path = the fixture's schema. */
PGconn *th_conn(const th_fx *fx);
/* Run SQL on a connection, return the first value of the first row as a
 * malloc'd string (NULL for SQL NULL or no row); fails the test on error. */
char *th_query1(PGconn *c, const char *sql, int n, const char *const *params);
/* The Counter `id`'s total through inc_app_state (and its version if
 * `version`); fails the test if it cannot be read. */
int64_t th_total(inc_app *app, const char *id, int64_t *version);
/* `ev` = an "Added" event (amount 1) of Counter `id` at `version`, with a
 * fresh event id, dated now. */
void th_event(inc_stored_event *ev, const char *id, int64_t version);
/* A commit of ev[0..n) to Counter `id` and nothing else. */
inc_commit th_commit(const char *id, const inc_stored_event *ev, size_t n);
/* A unique schema name and a conninfo that selects it. */
void th_unique_schema(char out[64]);
char *th_conninfo_for_schema(const char *schema); /* malloc'd */
/* Create / drop a schema through a fresh connection. */
void th_create_schema(const char *schema);
void th_drop_schema(const char *schema);

#endif
