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
 *                                 naive needs the full run's bench_naive;
 *                                 group: CONNS callers, default group)
 *   bench_dispatch scale SECONDS   (one PostgreSQL, INCIDENT_DB, against a
 *                                 Citus coordinator with its workers,
 *                                 INCIDENT_CITUS_DB: ours and ours_nocache
 *                                 at 1 and 4 connections on each, rounds
 *                                 alternating; commands/s, p50 and p99;
 *                                 docs/scale-out.md)
 *   bench_dispatch group_vs_naive SECONDS [CALLERS [COMMITTERS [MAX_WAIT_US]]]
 *                                 (group commit: CALLERS (16) threads of
 *                                 one process through one inc_group
 *                                 against the naive client at CALLERS
 *                                 connections, rounds alternating; p50 and
 *                                 p99 latency of each; 0 = the group's
 *                                 defaults, MAX_WAIT_US 4294967295 = none)
 * Variants besides ours (the defaults) and naive: ours_nocache (the state
 * cache off: every command reads the stream) and ours_notify (pg_notify
 * after every commit, inc_pg_store_set_notify) and ours_cmdid (every
 * command sent with a new command id, inc_dispatch_with_id: the cost of
 * recording it, against ours in the same rounds); insert (the ceiling of
 * the cached path: one durable single-row INSERT per transaction into an
 * events table of the same shape, bench_insert, nothing read); group
 * (every thread calls inc_group_dispatch on one shared inc_group). */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <incident/app.h>
#include <incident/batch.h>
#include <incident/group.h>
#include <incident/store.h>

#include "bank.h"
#include "bench_common.h"

#define N_ACCOUNTS 1000
#define SEED_DEPOSITS 9   /* + the opening: 10 events per stream */
#define SEED_AMOUNT 10
#define MAX_THREADS 64
#define MAX_LATENCIES 65536 /* per worker and round set */

static const char *schema_ours = "bench_dispatch";
static const char *schema_naive = "bench_naive";
static const char *schema_insert = "bench_insert";

/* The clients compared.  Each keeps its connection (and, for ours, its
 * app and state cache) for the whole benchmark, as a service would: the
 * rounds below only start and stop its thread. */
typedef enum { V_NAIVE, V_OURS, V_NOCACHE, V_NOTIFY, V_CMDID, V_INSERT,
               V_GROUP, V_COUNT } variant;
static const char *const variant_name[V_COUNT] = {"naive", "ours", "ours_nocache",
                                                  "ours_notify", "ours_cmdid",
                                                  "insert", "group"};
/* The variants of the 1- and 4-connection rounds (not the group). */
#define V_SINGLE V_GROUP

/* Each client writes its own tables, all seeded alike: a stream's length
 * (what a cold command reads) then grows with that client's own commands
 * only, as the naive client's does, not with every variant's. */
static const char *const schema_of[V_COUNT] = {
    "bench_naive", "bench_dispatch", "bench_dispatch_nocache",
    "bench_dispatch_notify", "bench_dispatch_cmdid", "bench_insert",
    "bench_dispatch"};

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

/* An empty store of the bank domain: its events table is the INSERT
 * ceiling's table. */
static void seed_insert(void) {
    inc_error err;
    bench_fresh_schema(schema_insert);
    inc_store *store;
    inc_app *app = open_app(schema_insert, &store);
    if (inc_store_init(store, &bank_domain, &err) != 0)
        bench_die("init: %s", err.message);
    inc_app_free(app);
    inc_store_close(store);
}

/* The large mode (bench/run --large N; docs/performance.md "Scale"):
 * BENCH_EXTRA_EVENTS=N more events, in streams of 10 of other accounts,
 * in each compared table before the rounds, generated by the server
 * (INSERT ... SELECT generate_series: as fast as COPY here, and no file),
 * so that the indexes every command touches hold N more entries. */
static void seed_extra(void) {
    const char *e = getenv("BENCH_EXTRA_EVENTS");
    long long n = e ? atoll(e) : 0;
    if (n <= 0) return;
    fprintf(stderr, "bench_dispatch: seeding %lld more events per table\n", n);
    PGconn *c = bench_connect(NULL);
    char sql[1024];
    /* (the notify and command-id clients are not in the large comparison) */
    const char *stores[3] = {schema_of[V_OURS], schema_of[V_NOCACHE], schema_insert};
    for (int k = 0; k < 3; k++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s.events (event_id, aggregate_type, aggregate_id, "
                 "version, event_type, data, metadata, event_date) SELECT "
                 "gen_random_uuid(), 'Account', 'big-' || lpad((i / 10)::text, 8, "
                 "'0'), i %% 10 + 1, 'MoneyDeposited', '{\"amount\": 10}', '{}', "
                 "now() FROM generate_series(0, %lld) i",
                 stores[k], n - 1);
        bench_exec(c, sql);
    }
    snprintf(sql, sizeof sql,
             "INSERT INTO %s.naive_events SELECT 'big-' || lpad((i / 10)::text, 8, "
             "'0'), i %% 10 + 1, '{\"amount\": 10}' FROM generate_series(0, %lld) i",
             schema_naive, n - 1);
    bench_exec(c, sql);
    PQfinish(c);
}

/* After seeding: vacuum and checkpoint now, so that autovacuum and the
 * first checkpoint do not land in the measured rounds. */
static void settle(void) {
    PGconn *c = bench_connect(NULL);
    bench_exec(c, "VACUUM ANALYZE");
    bench_exec(c, "CHECKPOINT");
    PQfinish(c);
}


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
    int versions[N_ACCOUNTS]; /* V_INSERT: rows written per stream */
    int tag;                  /* V_INSERT: unique among the run's workers */
    long done, conflicts; /* this round */
    long deposits[N_ACCOUNTS];
    inc_group *group;     /* V_GROUP: shared by every worker */
    float *lat_us;        /* when not NULL: each command's latency */
    size_t n_lat;
} worker;

/* The naive client prepares its two statements once per connection, as a
 * competent hand-written client does (parsing and planning them for every
 * command would understate it). */
static void prepare_or_die(PGconn *c, const char *name, const char *sql, int n) {
    PGresult *r = PQprepare(c, name, sql, n, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("prepare %s: %s", name, PQerrorMessage(c));
    PQclear(r);
}

static void naive_prepare(PGconn *c) {
    prepare_or_die(c, "naive_select",
                   "SELECT version, data FROM naive_events WHERE "
                   "stream_id = $1 ORDER BY version",
                   1);
    prepare_or_die(c, "naive_insert",
                   "INSERT INTO naive_events (stream_id, version, data) "
                   "VALUES ($1, $2::int, $3::jsonb)",
                   3);
}

static void note_latency(worker *w, double t0);

/* The ceiling of the cached path: one durable single-row INSERT per
 * transaction into a table of the same shape as ours (an events table made
 * by inc_store_init: same columns, same five indexes), the row as ours
 * writes it (data and metadata of the same size), nothing read. */
static void insert_prepare(PGconn *c) {
    prepare_or_die(c, "insert_event",
                   "INSERT INTO events (event_id, aggregate_type, "
                   "aggregate_id, version, event_type, data, metadata, "
                   "event_date) VALUES ($1::uuid, 'Account', $2, "
                   "$3::int4, 'MoneyDeposited', '{\"amount\":1}', "
                   "$4::jsonb, now()) RETURNING position",
                   4);
}

static void *run_insert(worker *w) {
    char id[48], ver[16], eid[INC_UUID_TEXT_SIZE], meta[256];
    double end = bench_now() + w->seconds;
    while (bench_now() < end) {
        int a = (int)(bench_rand(&w->rng) % N_ACCOUNTS);
        /* streams of their own (the worker's tag): no conflicts */
        snprintf(id, sizeof id, "acc-%04d-%d", a, w->tag);
        snprintf(ver, sizeof ver, "%d", ++w->versions[a]);
        inc_error err;
        if (inc_uuid_v7(eid, &err) != 0) bench_die("uuid: %s", err.message);
        snprintf(meta, sizeof meta,
                 "{\"command_id\":\"%s\",\"command_type\":\"DepositMoney\","
                 "\"correlation_id\":\"%s\"}", eid, eid);
        const char *p[4] = {eid, id, ver, meta};
        double t0 = bench_now();
        PGresult *r = PQexecPrepared(w->naive, "insert_event", 4, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            bench_die("insert: %s", PQerrorMessage(w->naive));
        PQclear(r);
        note_latency(w, t0);
        w->done++;
    }
    return NULL;
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
    if (v == V_INSERT) {
        static int next_tag; /* the bench's own counter (one thread opens) */
        w->tag = next_tag++;
        w->naive = bench_connect(schema_insert);
        insert_prepare(w->naive);
        return;
    }
    if (v == V_GROUP) return; /* the group is opened by the caller */
    w->app = open_app(schema, &w->store);
    if (v == V_NOTIFY) inc_pg_store_set_notify(w->store, true);
    if (v == V_NOCACHE) inc_app_set_state_cache(w->app, 0);
}

static void worker_close(worker *w) {
    free(w->lat_us);
    if (w->naive) PQfinish(w->naive);
    inc_app_free(w->app);
    inc_store_close(w->store);
}

static void note_latency(worker *w, double t0) {
    if (w->lat_us && w->n_lat < MAX_LATENCIES)
        w->lat_us[w->n_lat++] = (float)((bench_now() - t0) * 1e6);
}

static void *run_ours(worker *w) {
    inc_app_stats st0 = {0}, st1 = {0};
    if (w->app) inc_app_get_stats(w->app, &st0);
    char id[32], cid[80];
    double end = bench_now() + w->seconds;
    while (bench_now() < end) {
        int a = (int)(bench_rand(&w->rng) % N_ACCOUNTS);
        account_id(id, a);
        bank_deposit_money cmd = {id, 1};
        inc_error err;
        snprintf(cid, sizeof cid, "%s-%ld", w->cid_prefix, w->seq++);
        const char *command_id = w->v == V_CMDID ? cid : NULL;
        double t0 = bench_now();
        if (w->group ? inc_group_dispatch(w->group, &bank_deposit_money_desc,
                                          &cmd, NULL, &err)
                     : inc_dispatch_with_id(w->app, &bank_deposit_money_desc,
                                            &cmd, command_id, NULL, &err))
            bench_die("dispatch: %s", err.message);
        note_latency(w, t0);
        w->deposits[a]++;
        w->done++;
    }
    if (w->app) inc_app_get_stats(w->app, &st1);
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
        double t0 = bench_now();
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
        note_latency(w, t0);
        w->done++;
    }
    return NULL;
}

static void *run_worker(void *ud) {
    worker *w = ud;
    return w->v == V_NAIVE ? run_naive(w) : w->v == V_INSERT ? run_insert(w) : run_ours(w);
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

/* Besides the speed, the work per command, which does not depend on what
 * else the machine runs: CPU of this process (clients, group committers,
 * libpq) and of the server (every process of the cluster), and WAL
 * written, summed over the rounds of one variant. */
typedef struct work {
    double cps, client_cpu, server_cpu, wal;
    long conflicts, commands;
} work;

/* run() for ROUNDS-th of the time, its work added to *wk. */
static void run_counted(worker *ws, int conns, double seconds, int rounds,
                        PGconn *mon, work *wk) {
    double c0 = bench_self_cpu(), s0 = bench_server_cpu(mon), w0 = bench_wal_bytes(mon);
    wk->cps += run(ws, conns, seconds / rounds, &wk->conflicts) / rounds;
    wk->client_cpu += bench_self_cpu() - c0;
    wk->server_cpu += bench_server_cpu(mon) - s0;
    wk->wal += bench_wal_bytes(mon) - w0;
    for (int i = 0; i < conns; i++) wk->commands += ws[i].done;
}

/* RESULT PREFIX_cps_N and PREFIX_{client,server}_cpu_us_N, _wal_bytes_N
 * (per command). */
static void report_work(const char *prefix, int conns, const work *wk) {
    char name[96];
    double n = wk->commands ? (double)wk->commands : 1;
    snprintf(name, sizeof name, "%s_cps_%d", prefix, conns);
    bench_result(name, wk->cps);
    snprintf(name, sizeof name, "%s_conflicts_%d", prefix, conns);
    bench_result(name, (double)wk->conflicts);
    snprintf(name, sizeof name, "%s_client_cpu_us_%d", prefix, conns);
    bench_result(name, wk->client_cpu * 1e6 / n);
    snprintf(name, sizeof name, "%s_server_cpu_us_%d", prefix, conns);
    bench_result(name, wk->server_cpu * 1e6 / n);
    snprintf(name, sizeof name, "%s_wal_bytes_%d", prefix, conns);
    bench_result(name, wk->wal / n);
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

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* p50 and p99 of every latency the workers noted, in ms. */
static void percentiles(const worker *ws, int n, double *p50, double *p99) {
    size_t total = 0, k = 0;
    for (int i = 0; i < n; i++) total += ws[i].n_lat;
    float *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) bench_die("out of memory");
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < ws[i].n_lat; j++) all[k++] = ws[i].lat_us[j];
    qsort(all, total, sizeof *all, cmp_float);
    *p50 = total ? all[total / 2] / 1000.0 : 0;
    *p99 = total ? all[total * 99 / 100] / 1000.0 : 0;
    free(all);
}

/* Warm-up of the group: one deposit into every account, so that each
 * committer has the states of its accounts cached, as a service that has
 * run for a while has (the accounts a % callers == index). */
static void *warm_group(void *ud) {
    worker *w = ud;
    char id[32];
    for (int a = w->index; a < N_ACCOUNTS; a += w->seq ? (int)w->seq : 1) {
        account_id(id, a);
        bank_deposit_money cmd = {id, 1};
        inc_error err;
        if (inc_group_dispatch(w->group, &bank_deposit_money_desc, &cmd, NULL, &err))
            bench_die("warm-up: %s", err.message);
        w->deposits[a]++;
    }
    return NULL;
}

/* Group commit: `callers` threads through one inc_group against the naive
 * client at `callers` connections, ROUNDS alternating rounds. */
static int group_main(double seconds, int callers, unsigned committers,
                      unsigned max_wait_us) {
    static long totals[N_ACCOUNTS];
    static worker ws[2][MAX_THREADS];
    const variant vs[2] = {V_NAIVE, V_GROUP};
    fprintf(stderr, "bench_dispatch group_vs_naive: seeding %d accounts x %d events\n",
            N_ACCOUNTS, 1 + SEED_DEPOSITS);
    seed_ours(schema_ours);
    seed_naive();
    settle();
    inc_error err;
    inc_pg_options pg = {bench_db(), schema_ours};
    inc_group_options o = {.committers = committers, .max_wait_us = max_wait_us};
    inc_group *g = inc_group_new_pg(&bank_domain, &pg, &o, &err);
    if (!g) bench_die("group: %s", err.message);
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < callers; i++) {
            worker_open(&ws[v][i], vs[v], i, schema_ours);
            ws[v][i].group = vs[v] == V_GROUP ? g : NULL;
            if (!(ws[v][i].lat_us = malloc(MAX_LATENCIES * sizeof(float))))
                bench_die("out of memory");
        }
    for (int i = 0; i < callers; i++) {
        ws[1][i].seq = callers; /* the stride of warm_group */
        pthread_create(&ws[1][i].t, NULL, warm_group, &ws[1][i]);
    }
    for (int i = 0; i < callers; i++) {
        pthread_join(ws[1][i].t, NULL);
        ws[1][i].seq = 0;
    }
    PGconn *mon = bench_connect(NULL);
    enum { ROUNDS = 5 };
    work wk[2] = {{0}};
    for (int r = 0; r < ROUNDS; r++)
        for (int v = 0; v < 2; v++)
            run_counted(ws[v], callers, seconds, ROUNDS, mon, &wk[v]);
    PQfinish(mon);
    inc_group_stats st;
    inc_group_get_stats(g, &st);
    char name[64];
    for (int v = 0; v < 2; v++) {
        double p50, p99;
        percentiles(ws[v], callers, &p50, &p99);
        snprintf(name, sizeof name, "group_%s", variant_name[vs[v]]);
        report_work(name, callers, &wk[v]);
        snprintf(name, sizeof name, "group_%s_p50_ms_%d", variant_name[vs[v]], callers);
        bench_result(name, p50);
        snprintf(name, sizeof name, "group_%s_p99_ms_%d", variant_name[vs[v]], callers);
        bench_result(name, p99);
    }
    bench_result("group_avg_size", st.groups ? (double)st.commands / (double)st.groups : 0);
    bench_result("group_max_size", (double)st.max_size);
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < callers; i++) {
            if (vs[v] == V_GROUP)
                for (int a = 0; a < N_ACCOUNTS; a++) totals[a] += ws[v][i].deposits[a];
            worker_close(&ws[v][i]);
        }
    inc_group_free(g);
    bench_result("group_balances_ok", check_balances(schema_ours, totals));
    return 0;
}

/* `scale`: the same deposits on one node and on Citus.  The bench's
 * helpers read INCIDENT_DB, so it is switched between the two while no
 * thread runs (each worker keeps the connections it opened). */
static int scale_main(double seconds) {
    const char *one = bench_db(), *citus = getenv("INCIDENT_CITUS_DB");
    if (!citus || !*citus) bench_die("INCIDENT_CITUS_DB is not set (scripts/citus)");
    char *dbs[2] = {strdup(one), strdup(citus)};
    if (!dbs[0] || !dbs[1]) bench_die("out of memory");
    static const char *const where[2] = {"single", "citus"};
    static const variant vs[2] = {V_OURS, V_NOCACHE};
    static worker ws[2][2][MAX_THREADS];
    const int conns[2] = {1, 4};
    enum { ROUNDS = 3 };
    for (int d = 0; d < 2; d++) {
        setenv("INCIDENT_DB", dbs[d], 1);
        fprintf(stderr, "bench_dispatch: seeding %s\n", where[d]);
        seed_ours(schema_ours);
    }
    for (int k = 0; k < 2; k++) {
        work wk[2][2] = {{{0}}};
        for (int d = 0; d < 2; d++) {
            setenv("INCIDENT_DB", dbs[d], 1);
            for (int v = 0; v < 2; v++)
                for (int i = 0; i < conns[k]; i++) {
                    worker_open(&ws[d][v][i], vs[v], i, schema_ours);
                    if (!(ws[d][v][i].lat_us = malloc(MAX_LATENCIES * sizeof(float))))
                        bench_die("out of memory");
                }
        }
        for (int r = 0; r < ROUNDS; r++)
            for (int d = 0; d < 2; d++)
                for (int v = 0; v < 2; v++) {
                    /* (server CPU spans three servers on Citus: not counted) */
                    double c0 = bench_self_cpu();
                    wk[d][v].cps += run(ws[d][v], conns[k], seconds / ROUNDS,
                                        &wk[d][v].conflicts) / ROUNDS;
                    wk[d][v].client_cpu += bench_self_cpu() - c0;
                    for (int i = 0; i < conns[k]; i++)
                        wk[d][v].commands += ws[d][v][i].done;
                }
        for (int v = 0; v < 2; v++) {
            double p50[2], p99[2];
            for (int d = 0; d < 2; d++) {
                char name[96];
                percentiles(ws[d][v], conns[k], &p50[d], &p99[d]);
                snprintf(name, sizeof name, "scale_%s_%s_cps_%d", where[d],
                         variant_name[vs[v]], conns[k]);
                bench_result(name, wk[d][v].cps);
                snprintf(name, sizeof name, "scale_%s_%s_p50_ms_%d", where[d],
                         variant_name[vs[v]], conns[k]);
                bench_result(name, p50[d]);
                snprintf(name, sizeof name, "scale_%s_%s_p99_ms_%d", where[d],
                         variant_name[vs[v]], conns[k]);
                bench_result(name, p99[d]);
            }
            printf("%-13s %d conn: single %6.0f/s (p50 %.2f ms, p99 %.2f ms)  "
                   "citus %6.0f/s (p50 %.2f ms, p99 %.2f ms)  citus/single %.2fx\n",
                   variant_name[vs[v]], conns[k], wk[0][v].cps, p50[0], p99[0],
                   wk[1][v].cps, p50[1], p99[1],
                   wk[0][v].cps > 0 ? wk[1][v].cps / wk[0][v].cps : 0);
        }
        for (int d = 0; d < 2; d++)
            for (int v = 0; v < 2; v++)
                for (int i = 0; i < conns[k]; i++) worker_close(&ws[d][v][i]);
    }
    setenv("INCIDENT_DB", dbs[0], 1);
    free(dbs[0]);
    free(dbs[1]);
    return 0;
}

int main(int argc, char **argv) {
    json_object_seed(0); /* jansson's hash seed, once, before threads */
    if (argc == 3 && strcmp(argv[1], "scale") == 0) return scale_main(atof(argv[2]));
    if (argc >= 3 && argc <= 6 && strcmp(argv[1], "group_vs_naive") == 0) {
        int callers = argc > 3 ? atoi(argv[3]) : 16;
        if (callers < 1 || callers > MAX_THREADS) bench_die("1 to %d callers", MAX_THREADS);
        return group_main(atof(argv[2]), callers,
                          argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 0,
                          argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 0);
    }
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
        static worker ws[MAX_THREADS];
        inc_group *g = NULL;
        if (v == V_GROUP) { /* CONNS callers, the default group */
            inc_error err;
            inc_pg_options pg = {bench_db(), argv[4]};
            if (!(g = inc_group_new_pg(&bank_domain, &pg, NULL, &err)))
                bench_die("group: %s", err.message);
        }
        for (int i = 0; i < conns; i++) {
            worker_open(&ws[i], v, i, argv[4]);
            ws[i].group = g;
        }
        PGconn *mon = bench_connect(NULL);
        work wk = {0};
        run_counted(ws, conns, atof(argv[2]), 1, mon, &wk);
        PQfinish(mon);
        for (int i = 0; i < conns; i++) worker_close(&ws[i]);
        inc_group_free(g);
        double n = wk.commands ? (double)wk.commands : 1;
        printf("%s: %.0f commands/s, %ld conflicts; per command: client CPU "
               "%.0f us, server CPU %.0f us, WAL %.0f bytes\n",
               argv[1], wk.cps, wk.conflicts, wk.client_cpu * 1e6 / n,
               wk.server_cpu * 1e6 / n, wk.wal / n);
        return 0;
    }
    if (argc != 2)
        bench_die("usage: bench_dispatch SECONDS | seed SCHEMA | "
                  "naive|ours|ours_nocache|ours_notify|ours_cmdid SECONDS CONNS SCHEMA | "
                  "group_vs_naive SECONDS [CALLERS [COMMITTERS [MAX_WAIT_US]]]");
    double seconds = atof(argv[1]);
    static long totals[V_COUNT][N_ACCOUNTS];
    static worker ws[V_COUNT][MAX_THREADS];
    const int conns[2] = {1, 4};
    fprintf(stderr, "bench_dispatch: seeding %d accounts x %d events\n",
            N_ACCOUNTS, 1 + SEED_DEPOSITS);
    for (int v = V_OURS; v <= V_CMDID; v++) seed_ours(schema_of[v]);
    seed_naive();
    seed_insert();
    seed_extra();
    settle();
    /* Rounds: every variant one after another, ROUNDS times, so that a slow
     * spell of the shared disk hits all alike. */
    enum { ROUNDS = 5 };
    for (int k = 0; k < 2; k++) {
        work wk[V_COUNT] = {{0}};
        PGconn *mon = bench_connect(NULL);
        for (int v = 0; v < V_SINGLE; v++)
            for (int i = 0; i < conns[k]; i++) {
                worker_open(&ws[v][i], (variant)v, i, schema_of[v]);
                if (!(ws[v][i].lat_us = malloc(MAX_LATENCIES * sizeof(float))))
                    bench_die("out of memory");
            }
        for (int r = 0; r < ROUNDS; r++)
            for (int v = 0; v < V_SINGLE; v++)
                run_counted(ws[v], conns[k], seconds, ROUNDS, mon, &wk[v]);
        PQfinish(mon);
        for (int v = 0; v < V_SINGLE; v++) {
            char name[64];
            snprintf(name, sizeof name, "dispatch_%s", variant_name[v]);
            report_work(name, conns[k], &wk[v]);
            double p50, p99;
            percentiles(ws[v], conns[k], &p50, &p99);
            snprintf(name, sizeof name, "dispatch_%s_p50_ms_%d", variant_name[v], conns[k]);
            bench_result(name, p50);
            snprintf(name, sizeof name, "dispatch_%s_p99_ms_%d", variant_name[v], conns[k]);
            bench_result(name, p99);
            for (int i = 0; i < conns[k]; i++) {
                if (v != V_NAIVE && v != V_INSERT)
                    for (int a = 0; a < N_ACCOUNTS; a++) totals[v][a] += ws[v][i].deposits[a];
                worker_close(&ws[v][i]);
            }
        }
    }
    int ok = 1;
    for (int v = V_OURS; v <= V_CMDID; v++) ok &= check_balances(schema_of[v], totals[v]);
    bench_result("dispatch_balances_ok", ok);
    return 0;
}
