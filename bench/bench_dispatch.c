/* bench_dispatch.c - single-command throughput: our full pipeline
 * (validation, state cache + catch-up or a guarded commit without a read,
 * execute, reducers, JSON, projection upsert; 1 or 2 round trips) against
 * a naive libpq client with prepared statements (BEGIN; SELECT the stream;
 * INSERT the next version; COMMIT: 4 round trips), both depositing into 1,000 accounts whose
 * streams start at 10 events, for a fixed time, with 1 and with 4
 * connections (one thread and one connection each, kept for the whole
 * run, as a service keeps them).  Then checks that every balance equals
 * what was deposited.
 *
 *   bench_dispatch SECONDS        (INCIDENT_DB selects the server)
 *   bench_dispatch seed SCHEMA    (only the 1,000 accounts; for profiling)
 *   bench_dispatch VARIANT SECONDS CONNS SCHEMA
 *                                 (one run on a seeded schema; profiling;
 *                                 naive needs the full run's bench_naive)
 * Variants besides ours (the defaults) and naive: ours_nocache (the state
 * cache off: every command reads the stream) and ours_notify (pg_notify
 * after every commit, inc_pg_store_set_notify) and ours_cmdid (every
 * command sent with a new command id, inc_dispatch_with_id: the cost of
 * recording it, against ours in the same rounds). */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <incident/app.h>
#include <incident/batch.h>
#include <incident/store.h>

#include "bank.h"
#include "bench_common.h"

#define N_ACCOUNTS 1000
#define SEED_DEPOSITS 9   /* + the opening: 10 events per stream */
#define SEED_AMOUNT 10
#define MAX_THREADS 8

static const char *schema_ours = "bench_dispatch";
static const char *schema_naive = "bench_naive";

static void account_id(char out[32], int i) { snprintf(out, 32, "acc-%04d", i); }

static inc_app *open_app(const char *schema, inc_store **store) {
    inc_error err;
    inc_pg_options o = {bench_db(), schema};
    *store = inc_pg_store_open(&o, &err);
    if (!*store) bench_die("open: %s", err.message);
    inc_app *app = inc_app_new(&bank_domain, *store, &err);
    if (!app) bench_die("app: %s", err.message);
    return app;
}

/* 1,000 accounts, each opened + 9 deposits, through inc_dispatch_batch. */
static void seed_ours(const char *schema) {
    inc_error err;
    inc_store *store;
    bench_fresh_schema(schema);
    inc_app *app = open_app(schema, &store);
    if (inc_store_init(store, &bank_domain, &err) != 0)
        bench_die("init: %s", err.message);
    size_t n = N_ACCOUNTS * (1 + SEED_DEPOSITS), k = 0;
    inc_batch_item *items = calloc(n, sizeof *items);
    inc_batch_result *res = calloc(n, sizeof *res);
    bank_open_account *opens = calloc(N_ACCOUNTS, sizeof *opens);
    bank_deposit_money *deps = calloc(N_ACCOUNTS, sizeof *deps);
    char (*ids)[32] = calloc(N_ACCOUNTS, sizeof *ids);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        account_id(ids[i], i);
        opens[i].aggregate_id = ids[i];
        deps[i].aggregate_id = ids[i];
        deps[i].amount = SEED_AMOUNT;
        items[k++] = (inc_batch_item){&bank_open_account_desc, &opens[i]};
    }
    for (int d = 0; d < SEED_DEPOSITS; d++)
        for (int i = 0; i < N_ACCOUNTS; i++)
            items[k++] = (inc_batch_item){&bank_deposit_money_desc, &deps[i]};
    int failed = inc_dispatch_batch(app, items, n, res, &err);
    if (failed != 0) bench_die("seed: %d failed (%s)", failed, err.message);
    free(items);
    free(res);
    free(opens);
    free(deps);
    free(ids);
    inc_app_free(app);
    inc_store_close(store);
}

static void seed_naive(void) {
    bench_fresh_schema(schema_naive);
    PGconn *c = bench_connect(schema_naive);
    bench_exec(c, "CREATE TABLE naive_events (stream_id text NOT NULL, "
                  "version int NOT NULL, data jsonb NOT NULL, "
                  "PRIMARY KEY (stream_id, version))");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO naive_events SELECT 'acc-' || lpad(a::text, 4, '0'), "
             "v, CASE WHEN v = 1 THEN '{\"opened\":true}'::jsonb ELSE "
             "'{\"amount\":%d}'::jsonb END FROM generate_series(0, %d) a, "
             "generate_series(1, %d) v",
             SEED_AMOUNT, N_ACCOUNTS - 1, 1 + SEED_DEPOSITS);
    bench_exec(c, sql);
    bench_exec(c, "ANALYZE naive_events");
    PQfinish(c);
}

/* The clients compared.  Each keeps its connection (and, for ours, its
 * app and state cache) for the whole benchmark, as a service would: the
 * rounds below only start and stop its thread. */
typedef enum { V_NAIVE, V_OURS, V_NOCACHE, V_NOTIFY, V_CMDID, V_COUNT } variant;
static const char *const variant_name[V_COUNT] = {"naive", "ours", "ours_nocache",
                                                  "ours_notify", "ours_cmdid"};

typedef struct worker {
    pthread_t t;
    variant v;
    double seconds;
    PGconn *naive;
    inc_store *store;
    inc_app *app;
    uint64_t rng;
    int index;
    char cid_prefix[48];  /* command ids: unique per worker and run */
    long seq;             /* commands sent by this worker, for command ids */
    long done, conflicts; /* this round */
    long deposits[N_ACCOUNTS];
} worker;

/* The naive client prepares its two statements once per connection, as a
 * competent hand-written client does (parsing and planning them for every
 * command would understate it). */
static void naive_prepare(PGconn *c) {
    PGresult *r = PQprepare(c, "naive_select",
                            "SELECT version, data FROM naive_events WHERE "
                            "stream_id = $1 ORDER BY version",
                            1, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("naive prepare: %s", PQerrorMessage(c));
    PQclear(r);
    r = PQprepare(c, "naive_insert",
                  "INSERT INTO naive_events (stream_id, version, data) "
                  "VALUES ($1, $2::int, $3::jsonb)",
                  3, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("naive prepare: %s", PQerrorMessage(c));
    PQclear(r);
}

static void worker_open(worker *w, variant v, int index, const char *schema) {
    memset(w, 0, sizeof *w);
    w->v = v;
    w->index = index;
    snprintf(w->cid_prefix, sizeof w->cid_prefix, "%ld-%ld-%d-%p",
             (long)time(NULL), (long)getpid(), index, (void *)w);
    w->rng = 0x9e3779b97f4a7c15u * (uint64_t)(index + 1) + (uint64_t)v;
    if (v == V_NAIVE) {
        w->naive = bench_connect(schema_naive);
        naive_prepare(w->naive);
        return;
    }
    w->app = open_app(schema, &w->store);
    if (v == V_NOTIFY) inc_pg_store_set_notify(w->store, true);
    if (v == V_NOCACHE) inc_app_set_state_cache(w->app, 0);
}

static void worker_close(worker *w) {
    if (w->naive) PQfinish(w->naive);
    inc_app_free(w->app);
    inc_store_close(w->store);
}

static void *run_ours(worker *w) {
    inc_app_stats st0, st1;
    inc_app_get_stats(w->app, &st0);
    char id[32], cid[80];
    double end = bench_now() + w->seconds;
    while (bench_now() < end) {
        int a = (int)(bench_rand(&w->rng) % N_ACCOUNTS);
        account_id(id, a);
        bank_deposit_money cmd = {id, 1};
        inc_error err;
        snprintf(cid, sizeof cid, "%s-%ld", w->cid_prefix, w->seq++);
        const char *command_id = w->v == V_CMDID ? cid : NULL;
        if (inc_dispatch_with_id(w->app, &bank_deposit_money_desc, &cmd,
                                 command_id, NULL, &err) != 0)
            bench_die("dispatch: %s", err.message);
        w->deposits[a]++;
        w->done++;
    }
    inc_app_get_stats(w->app, &st1);
    w->conflicts = (long)(st1.conflicts - st0.conflicts);
    return NULL;
}

static int naive_ok(PGconn *c, PGresult *r, ExecStatusType want) {
    int ok = PQresultStatus(r) == want;
    if (!ok) {
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (!st || strcmp(st, "23505") != 0)
            bench_die("naive: %s", PQerrorMessage(c));
    }
    PQclear(r);
    return ok;
}

/* The naive client: one transaction of four statements per deposit,
 * retried when another writer took the version. */
static void *run_naive(worker *w) {
    PGconn *c = w->naive;
    char id[32], vbuf[32];
    double end = bench_now() + w->seconds;
    while (bench_now() < end) {
        int a = (int)(bench_rand(&w->rng) % N_ACCOUNTS);
        account_id(id, a);
        for (;;) {
            PQclear(PQexec(c, "BEGIN"));
            const char *p1[1] = {id};
            PGresult *r =
                PQexecPrepared(c, "naive_select", 1, p1, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK)
                bench_die("naive select: %s", PQerrorMessage(c));
            int n = PQntuples(r);
            long v = n ? strtol(PQgetvalue(r, n - 1, 0), NULL, 10) : 0;
            PQclear(r);
            snprintf(vbuf, sizeof vbuf, "%ld", v + 1);
            const char *p2[3] = {id, vbuf, "{\"amount\":1}"};
            r = PQexecPrepared(c, "naive_insert", 3, p2, NULL, NULL, 0);
            if (!naive_ok(c, r, PGRES_COMMAND_OK)) {
                PQclear(PQexec(c, "ROLLBACK"));
                w->conflicts++;
                continue;
            }
            r = PQexec(c, "COMMIT");
            if (naive_ok(c, r, PGRES_COMMAND_OK)) break;
            w->conflicts++;
        }
        w->done++;
    }
    return NULL;
}

static void *run_worker(void *ud) {
    worker *w = ud;
    return w->v == V_NAIVE ? run_naive(w) : run_ours(w);
}

/* One round: the workers' threads for `seconds`; commands per second over
 * all of them. */
static double run(worker *ws, int conns, double seconds, long *conflicts) {
    for (int i = 0; i < conns; i++) {
        ws[i].seconds = seconds;
        ws[i].done = ws[i].conflicts = 0;
    }
    double t0 = bench_now();
    for (int i = 0; i < conns; i++)
        pthread_create(&ws[i].t, NULL, run_worker, &ws[i]);
    long done = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(ws[i].t, NULL);
        done += ws[i].done;
        *conflicts += ws[i].conflicts;
    }
    return (double)done / (bench_now() - t0);
}

/* Every balance (state and projection row) equals the seed plus what the
 * workers deposited. */
static int check_balances(const char *schema, const long *totals) {
    inc_store *store;
    inc_app *app = open_app(schema, &store);
    PGconn *c = bench_connect(schema);
    int ok = 1;
    char id[32];
    for (int a = 0; a < N_ACCOUNTS; a++) {
        account_id(id, a);
        bank_account_state st;
        inc_error err;
        int64_t want = SEED_DEPOSITS * SEED_AMOUNT + totals[a];
        if (inc_app_state(app, &bank_account_type, id, &st, &err) != 0)
            bench_die("state: %s", err.message);
        if (st.balance != want) {
            fprintf(stderr, "bench: %s balance %lld, deposited %lld\n", id,
                    (long long)st.balance, (long long)want);
            ok = 0;
        }
        bank_account_state_free(&st);
    }
    int64_t want_sum = (int64_t)N_ACCOUNTS * SEED_DEPOSITS * SEED_AMOUNT;
    for (int a = 0; a < N_ACCOUNTS; a++) want_sum += totals[a];
    if (bench_query_i64(c, "SELECT sum(balance) FROM bank_accounts") != want_sum) {
        fprintf(stderr, "bench: projection total differs\n");
        ok = 0;
    }
    PQfinish(c);
    inc_app_free(app);
    inc_store_close(store);
    return ok;
}

int main(int argc, char **argv) {
    json_object_seed(0); /* jansson's hash seed, once, before threads */
    if (argc == 3 && strcmp(argv[1], "seed") == 0) {
        seed_ours(argv[2]);
        return 0;
    }
    if (argc == 5) { /* one variant on a seeded schema, for profiling */
        variant v = V_COUNT;
        for (int k = 0; k < V_COUNT; k++)
            if (strcmp(argv[1], variant_name[k]) == 0) v = (variant)k;
        if (v == V_COUNT) bench_die("unknown variant %s", argv[1]);
        int conns = atoi(argv[3]);
        if (conns < 1 || conns > MAX_THREADS) bench_die("1 to %d connections", MAX_THREADS);
        worker ws[MAX_THREADS];
        long conflicts = 0;
        for (int i = 0; i < conns; i++) worker_open(&ws[i], v, i, argv[4]);
        double cps = run(ws, conns, atof(argv[2]), &conflicts);
        for (int i = 0; i < conns; i++) worker_close(&ws[i]);
        printf("%s: %.0f commands/s, %ld conflicts\n", argv[1], cps, conflicts);
        return 0;
    }
    if (argc != 2)
        bench_die("usage: bench_dispatch SECONDS | seed SCHEMA | "
                  "naive|ours|ours_nocache|ours_notify|ours_cmdid SECONDS CONNS SCHEMA");
    double seconds = atof(argv[1]);
    static long totals[N_ACCOUNTS];
    static worker ws[V_COUNT][MAX_THREADS];
    const int conns[2] = {1, 4};
    fprintf(stderr, "bench_dispatch: seeding %d accounts x %d events\n",
            N_ACCOUNTS, 1 + SEED_DEPOSITS);
    seed_ours(schema_ours);
    seed_naive();
    /* Rounds: every variant one after another, ROUNDS times, so that a slow
     * spell of the shared disk hits all alike. */
    enum { ROUNDS = 5 };
    for (int k = 0; k < 2; k++) {
        double cps[V_COUNT] = {0};
        long cf[V_COUNT] = {0};
        for (int v = 0; v < V_COUNT; v++)
            for (int i = 0; i < conns[k]; i++)
                worker_open(&ws[v][i], (variant)v, i, schema_ours);
        for (int r = 0; r < ROUNDS; r++)
            for (int v = 0; v < V_COUNT; v++)
                cps[v] += run(ws[v], conns[k], seconds / ROUNDS, &cf[v]) / ROUNDS;
        for (int v = 0; v < V_COUNT; v++) {
            char name[64];
            snprintf(name, sizeof name, "dispatch_%s_cps_%d", variant_name[v], conns[k]);
            bench_result(name, cps[v]);
            snprintf(name, sizeof name, "dispatch_%s_conflicts_%d", variant_name[v],
                     conns[k]);
            bench_result(name, (double)cf[v]);
            for (int i = 0; i < conns[k]; i++) {
                if (v != V_NAIVE)
                    for (int a = 0; a < N_ACCOUNTS; a++) totals[a] += ws[v][i].deposits[a];
                worker_close(&ws[v][i]);
            }
        }
    }
    bench_result("dispatch_balances_ok", check_balances(schema_ours, totals));
    return 0;
}
