/* bench_subscription.c - consumers of the commit-ordered log
 * (<incident/subscription.h>):
 *   catch-up   a named consumer reading a 1,000,000-event log from the
 *              start (batches, checkpoint saved after each), against a
 *              raw fetch of the same rows and columns in one statement
 *              (single-row mode) in the same process;
 *   live       4 threads dispatching deposits (1,000 accounts, one
 *              connection each) for SECONDS while a consumer follows:
 *              commit-to-handler lag p50 / p99 (now - the event's date,
 *              which the writer takes before its commit);
 *   dispatch   the same 4-thread load with and without that consumer
 *              running, alternated: commands per second.
 *
 *   bench_subscription SECONDS     (INCIDENT_DB selects the server)
 *   bench_subscription catchup     (only the catch-up, on a seeded log)
 *   bench_subscription live SECONDS   (only the live figures) */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/app.h>
#include <incident/batch.h>
#include <incident/store.h>
#include <incident/subscription.h>

#include "bank.h"
#include "bench_common.h"

#define LOG_EVENTS 1000000
#define N_ACCOUNTS 1000
#define THREADS 4

static const char *schema_log = "bench_sub_log";
static const char *schema_live = "bench_sub_live";

static inc_store *open_store(const char *schema) {
    inc_error err;
    inc_pg_options o = {bench_db(), schema};
    inc_store *s = inc_pg_store_open(&o, &err);
    if (!s) bench_die("open: %s", err.message);
    return s;
}

/* ---- catch-up ---- */

/* 1,000,000 events in 200 transactions of 5,000 (50 accounts x 100
 * versions each), shaped as the store writes them. */
static void seed_log(void) {
    bench_fresh_schema(schema_log);
    inc_store *s = open_store(schema_log);
    inc_error err;
    if (inc_store_init(s, &bank_domain, &err) != 0) bench_die("init: %s", err.message);
    inc_store_close(s);
    PGconn *c = bench_connect(schema_log);
    for (int t = 0; t < LOG_EVENTS / 5000; t++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "INSERT INTO events (event_id, aggregate_type, aggregate_id, "
                 "version, event_type, data, metadata, event_date) SELECT "
                 "gen_random_uuid(), 'Account', 'acc-' || (%d + a), v, CASE "
                 "WHEN v = 1 THEN 'AccountOpened' ELSE 'MoneyDeposited' END, "
                 "CASE WHEN v = 1 THEN jsonb_build_object('account_number', "
                 "'acc-' || (%d + a)) ELSE '{\"amount\":1}'::jsonb END, "
                 "jsonb_build_object('command_id', gen_random_uuid()::text, "
                 "'command_type', 'DepositMoney'), now() FROM "
                 "generate_series(1, 50) a, generate_series(1, 100) v",
                 t * 50, t * 50);
        bench_exec(c, sql);
    }
    bench_exec(c, "VACUUM ANALYZE events");
    PQfinish(c);
}

/* The same rows and columns as the consumer's read, one statement. */
static long raw_fetch(PGconn *c, long *bytes) {
    if (PQsendQuery(c, "SELECT transaction_id::text, position, "
                       "event_id::text, aggregate_type, aggregate_id, version, "
                       "event_type, data::text, metadata::text, "
                       "(extract(epoch FROM event_date) * 1000000)::int8 FROM "
                       "events ORDER BY transaction_id, position") != 1 ||
        PQsetSingleRowMode(c) != 1)
        bench_die("raw: %s", PQerrorMessage(c));
    long rows = 0;
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
            rows++;
            *bytes += (long)strlen(PQgetvalue(r, 0, 7));
        } else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            bench_die("raw: %s", PQerrorMessage(c));
        }
        PQclear(r);
    }
    return rows;
}

static int count_event(void *ud, inc_consumer_tx *tx, const inc_stored_event *ev,
                       const inc_log_position *at, inc_error *err) {
    long *bytes = ud;
    (void)tx;
    (void)at;
    (void)err;
    *bytes += (long)strlen(ev->data);
    return 0;
}

static double consume_all(inc_store *s, const char *name, size_t batch,
                          long *bytes) {
    inc_error err;
    inc_consumer_delete(s, name, NULL);
    inc_consumer_options o = {.name = name, .batch_size = batch};
    inc_consumer *c = inc_consumer_open(s, &o, &err);
    if (!c) bench_die("consumer: %s", err.message);
    long n = 0;
    double t0 = bench_now();
    for (;;) {
        int k = inc_consumer_poll(c, 0, count_event, bytes, &err);
        if (k < 0) bench_die("poll: %s", err.message);
        if (k == 0) break;
        n += k;
    }
    double t = bench_now() - t0;
    inc_consumer_close(c);
    if (n != LOG_EVENTS) bench_die("consumed %ld events, not %d", n, LOG_EVENTS);
    return (double)n / t;
}

static void catchup(void) {
    inc_store *s = open_store(schema_log);
    PGconn *c = bench_connect(schema_log);
    long bytes = 0;
    raw_fetch(c, &bytes); /* warm the cache alike for both */
    double raw = 0, ours = 0, big = 0;
    enum { REPS = 2 };
    for (int r = 0; r < REPS; r++) {
        double t0 = bench_now();
        if (raw_fetch(c, &bytes) != LOG_EVENTS) bench_die("raw: row count");
        raw += (double)LOG_EVENTS / (bench_now() - t0) / REPS;
        ours += consume_all(s, "bench_catchup", 0, &bytes) / REPS;
        big += consume_all(s, "bench_catchup", 5000, &bytes) / REPS;
    }
    bench_result("sub_catchup_raw_eps", raw);
    bench_result("sub_catchup_eps", ours);
    bench_result("sub_catchup_batch5000_eps", big);
    PQfinish(c);
    inc_store_close(s);
}

/* ---- live ---- */

static void account_id(char out[32], int i) { snprintf(out, 32, "acc-%04d", i); }

static void seed_live(void) {
    bench_fresh_schema(schema_live);
    inc_store *s = open_store(schema_live);
    inc_error err;
    if (inc_store_init(s, &bank_domain, &err) != 0) bench_die("init: %s", err.message);
    inc_app *app = inc_app_new(&bank_domain, s, &err);
    static bank_open_account opens[N_ACCOUNTS];
    static inc_batch_item items[N_ACCOUNTS];
    static inc_batch_result res[N_ACCOUNTS];
    static char ids[N_ACCOUNTS][32];
    for (int i = 0; i < N_ACCOUNTS; i++) {
        account_id(ids[i], i);
        opens[i].aggregate_id = ids[i];
        items[i] = (inc_batch_item){&bank_open_account_desc, &opens[i]};
    }
    if (inc_dispatch_batch(app, items, N_ACCOUNTS, res, &err) != 0)
        bench_die("seed: %s", err.message);
    inc_app_free(app);
    inc_store_close(s);
}

typedef struct writer {
    pthread_t t;
    inc_store *store;
    inc_app *app;
    uint64_t rng;
    double seconds;
    long done;
} writer;

static void *write_loop(void *ud) {
    writer *w = ud;
    char id[32];
    w->done = 0;
    double end = bench_now() + w->seconds;
    while (bench_now() < end) {
        account_id(id, (int)(bench_rand(&w->rng) % N_ACCOUNTS));
        bank_deposit_money cmd = {id, 1};
        inc_error err;
        if (inc_dispatch(w->app, &bank_deposit_money_desc, &cmd, NULL, &err) != 0)
            bench_die("dispatch: %s", err.message);
        w->done++;
    }
    return NULL;
}

typedef struct follower {
    pthread_t t;
    inc_store *store;
    inc_consumer *c;
    volatile sig_atomic_t stop;
    inc_timestamp since; /* only events dated after this count */
    size_t n, cap;
    double *lag_ms;
} follower;

static int lag_event(void *ud, inc_consumer_tx *tx, const inc_stored_event *ev,
                     const inc_log_position *at, inc_error *err) {
    follower *f = ud;
    (void)tx;
    (void)at;
    (void)err;
    if (ev->event_date >= f->since && f->n < f->cap)
        f->lag_ms[f->n++] = (double)(inc_timestamp_now() - ev->event_date) / 1e3;
    return 0;
}

static void *follow_loop(void *ud) {
    follower *f = ud;
    inc_error err;
    inc_consumer_run_options ro = {.stop = &f->stop};
    if (inc_consumer_run(f->c, lag_event, f, &ro, NULL, &err) != 0)
        bench_die("follow: %s", err.message);
    return NULL;
}

/* One round of the 4 writers; with a live follower when `f`. */
static double round_cps(writer *ws, double seconds, follower *f) {
    if (f) {
        f->stop = 0;
        f->since = inc_timestamp_now();
        pthread_create(&f->t, NULL, follow_loop, f);
    }
    double t0 = bench_now();
    for (int i = 0; i < THREADS; i++) {
        ws[i].seconds = seconds;
        pthread_create(&ws[i].t, NULL, write_loop, &ws[i]);
    }
    long done = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(ws[i].t, NULL);
        done += ws[i].done;
    }
    double cps = (double)done / (bench_now() - t0);
    if (f) {
        f->stop = 1;
        pthread_join(f->t, NULL);
    }
    return cps;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void live(double seconds) {
    seed_live();
    writer ws[THREADS];
    inc_error err;
    for (int i = 0; i < THREADS; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].store = open_store(schema_live);
        ws[i].app = inc_app_new(&bank_domain, ws[i].store, &err);
        ws[i].rng = 0x9e3779b97f4a7c15u * (uint64_t)(i + 1);
    }
    follower f;
    memset(&f, 0, sizeof f);
    f.store = open_store(schema_live);
    inc_consumer_options o = {.name = "bench_live"};
    if (!(f.c = inc_consumer_open(f.store, &o, &err))) bench_die("consumer: %s", err.message);
    f.cap = 4000000;
    f.lag_ms = malloc(f.cap * sizeof *f.lag_ms);
    /* catch up with the seed first */
    f.since = INT64_MAX;
    while (inc_consumer_poll(f.c, 0, lag_event, &f, &err) > 0) {
    }
    enum { ROUNDS = 3 };
    double without = 0, with = 0;
    for (int r = 0; r < ROUNDS; r++) {
        without += round_cps(ws, seconds / ROUNDS, NULL) / ROUNDS;
        /* the follower catches up what the round without it wrote (not
         * counted: it was not following then) */
        f.since = INT64_MAX;
        while (inc_consumer_poll(f.c, 0, lag_event, &f, &err) > 0) {
        }
        with += round_cps(ws, seconds / ROUNDS, &f) / ROUNDS;
    }
    if (f.n == 0) bench_die("no live events");
    qsort(f.lag_ms, f.n, sizeof *f.lag_ms, cmp_double);
    bench_result("sub_live_events", (double)f.n);
    bench_result("sub_live_lag_p50_ms", f.lag_ms[f.n / 2]);
    bench_result("sub_live_lag_p99_ms", f.lag_ms[f.n * 99 / 100]);
    bench_result("sub_dispatch_without_cps_4", without);
    bench_result("sub_dispatch_with_cps_4", with);
    free(f.lag_ms);
    inc_consumer_close(f.c);
    inc_store_close(f.store);
    for (int i = 0; i < THREADS; i++) {
        inc_app_free(ws[i].app);
        inc_store_close(ws[i].store);
    }
}

int main(int argc, char **argv) {
    json_object_seed(0); /* jansson's hash seed, once, before threads */
    if (argc == 2 && strcmp(argv[1], "catchup") == 0) {
        catchup();
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "live") == 0) {
        live(atof(argv[2]));
        return 0;
    }
    if (argc != 2)
        bench_die("usage: bench_subscription SECONDS | catchup | live SECONDS");
    double seconds = atof(argv[1]);
    fprintf(stderr, "bench_subscription: seeding %d events\n", LOG_EVENTS);
    seed_log();
    catchup();
    live(seconds);
    return 0;
}
