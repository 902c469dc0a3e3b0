/* bench_replay.c - loading an aggregate (inc_app_state: fetch + decode +
 * fold) with 10, 1,000 and 100,000 events, with and without a snapshot;
 * against fetching the same rows through libpq without decoding (same
 * single-row mode as the store).  Peak memory: a child process per case
 * reports its getrusage maxrss growth across the load.  Also times the
 * event-data decode alone (inc_msg_from_text) to show its share.
 *
 *   bench_replay                  (INCIDENT_DB selects the server)
 *   bench_replay load ID REPS     (loads only; for profiling) */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <incident/app.h>
#include <incident/store.h>

#include "bank.h"
#include "bench_common.h"

static const char *schema = "bench_replay";
static const int sizes[3] = {10, 1000, 100000};

static inc_app *open_app(inc_store **store) {
    inc_error err;
    inc_pg_options o = {bench_db(), schema};
    *store = inc_pg_store_open(&o, &err);
    if (!*store) bench_die("open: %s", err.message);
    inc_app *app = inc_app_new(&bank_domain, *store, &err);
    if (!app) bench_die("app: %s", err.message);
    return app;
}

/* Events 1..n of stream `id` straight through SQL (an opening, then
 * deposits of 1), shaped as the store writes them. */
static void seed_sql(PGconn *c, const char *id, int n) {
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO events (event_id, aggregate_type, aggregate_id, "
             "version, event_type, data, metadata, event_date) SELECT "
             "gen_random_uuid(), 'Account', '%s', v, CASE WHEN v = 1 THEN "
             "'AccountOpened' ELSE 'MoneyDeposited' END, CASE WHEN v = 1 THEN "
             "jsonb_build_object('account_number', '%s') ELSE "
             "'{\"amount\":1}'::jsonb END, jsonb_build_object('command_id', "
             "gen_random_uuid()::text, 'command_type', 'DepositMoney', "
             "'correlation_id', gen_random_uuid()::text), now() FROM "
             "generate_series(1, %d) v",
             id, id, n);
    bench_exec(c, sql);
}

static void seed(void) {
    inc_error err;
    inc_store *store;
    bench_fresh_schema(schema);
    inc_app *app = open_app(&store);
    if (inc_store_init(store, &bank_domain, &err) != 0)
        bench_die("init: %s", err.message);
    PGconn *c = bench_connect(schema);
    for (int k = 0; k < 3; k++) {
        char id[32];
        int n = sizes[k];
        /* n-N: no snapshot at all */
        snprintf(id, sizeof id, "n-%d", n);
        seed_sql(c, id, n);
        /* s-N: N-1 events, then one deposit whose commit crosses a
         * multiple of snapshot_every = N: a snapshot at version N */
        snprintf(id, sizeof id, "s-%d", n);
        seed_sql(c, id, n - 1);
        inc_app_set_snapshot_every(app, NULL, n, NULL);
        bank_deposit_money d = {id, 1};
        if (inc_dispatch(app, &bank_deposit_money_desc, &d, NULL, &err) != 0)
            bench_die("seed %s: %s", id, err.message);
    }
    bench_exec(c, "ANALYZE");
    PQfinish(c);
    inc_app_free(app);
    inc_store_close(store);
}

static void load(inc_app *app, const char *id, int n) {
    bank_account_state st;
    inc_error err;
    if (inc_app_state(app, &bank_account_type, id, &st, &err) != 0)
        bench_die("load %s: %s", id, err.message);
    if (st.version != n || st.balance != n - 1)
        bench_die("load %s: version %lld balance %lld", id,
                  (long long)st.version, (long long)st.balance);
    bank_account_state_free(&st);
}

/* The rows and columns a load for folding reads (no metadata, as
 * INC_LOAD_NO_METADATA), fetched in single-row mode, every value touched,
 * nothing decoded. */
static long raw_fetch(PGconn *c, const char *id) {
    const char *vals[2] = {"Account", id};
    long rows = 0;
    size_t bytes = 0;
    if (PQenterPipelineMode(c) != 1 ||
        PQsendQueryParams(c,
                          "SELECT 1 AS kind, e.version, e.event_id::text, "
                          "e.event_type, e.data::text, NULL::text, "
                          "e.event_date, e.position FROM events e WHERE "
                          "e.aggregate_type = $1 AND e.aggregate_id = $2 "
                          "ORDER BY 1, 2",
                          2, NULL, vals, NULL, NULL, 0) != 1 ||
        PQsetSingleRowMode(c) != 1 || PQpipelineSync(c) != 1)
        bench_die("raw: %s", PQerrorMessage(c));
    for (;;) {
        PGresult *r = PQgetResult(c);
        if (!r) continue;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            for (int f = 0; f < PQnfields(r); f++) bytes += strlen(PQgetvalue(r, 0, f));
            rows++;
        } else if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        } else if (st != PGRES_TUPLES_OK) {
            bench_die("raw: %s", PQerrorMessage(c));
        }
        PQclear(r);
    }
    PQexitPipelineMode(c);
    return bytes ? rows : -1;
}

static int reps_for(int n) { return n <= 10 ? 500 : n <= 1000 ? 40 : 3; }

/* maxrss growth (kB) of a fresh process across one load of `id`. */
static long child_rss(const char *id, int n) {
    int fd[2];
    if (pipe(fd) != 0) bench_die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        inc_store *store;
        inc_app *app = open_app(&store);
        struct rusage r0, r1;
        load(app, n > 10 ? (id[0] == 'n' ? "n-10" : "s-10") : id, 10); /* warm */
        getrusage(RUSAGE_SELF, &r0);
        load(app, id, n);
        getrusage(RUSAGE_SELF, &r1);
        long d = r1.ru_maxrss - r0.ru_maxrss;
        if (write(fd[1], &d, sizeof d) != (ssize_t)sizeof d) _exit(1);
        _exit(0);
    }
    long d = -1;
    close(fd[1]);
    if (read(fd[0], &d, sizeof d) != (ssize_t)sizeof d) bench_die("child failed");
    close(fd[0]);
    waitpid(pid, NULL, 0);
    return d;
}

int main(int argc, char **argv) {
    char name[64], id[32];
    if (argc == 4 && strcmp(argv[1], "load") == 0) {
        inc_store *store;
        inc_app *app = open_app(&store);
        int n = atoi(strchr(argv[2], '-') + 1);
        for (int i = 0; i < atoi(argv[3]); i++) load(app, argv[2], n);
        inc_app_free(app);
        inc_store_close(store);
        return 0;
    }
    fprintf(stderr, "bench_replay: seeding streams of 10, 1000, 100000 events\n");
    seed();
    inc_store *store;
    inc_app *app = open_app(&store);
    PGconn *c = bench_connect(schema);
    /* Raw fetch and full load alternate, so drift hits both alike. */
    for (int k = 0; k < 3; k++) {
        int n = sizes[k], reps = reps_for(n);
        double t0, raw = 0, nosnap = 0;
        snprintf(id, sizeof id, "n-%d", n);
        raw_fetch(c, id);
        load(app, id, n); /* warm both */
        for (int i = 0; i < reps; i++) {
            t0 = bench_now();
            if (raw_fetch(c, id) != n) bench_die("raw: row count");
            raw += (bench_now() - t0) / reps;
            t0 = bench_now();
            load(app, id, n);
            nosnap += (bench_now() - t0) / reps;
        }
        snprintf(name, sizeof name, "replay_raw_ms_%d", n);
        bench_result(name, raw * 1e3);
        snprintf(name, sizeof name, "replay_nosnap_ms_%d", n);
        bench_result(name, nosnap * 1e3);
        snprintf(name, sizeof name, "replay_raw_rps_%d", n);
        bench_result(name, n / raw);
        snprintf(name, sizeof name, "replay_nosnap_eps_%d", n);
        bench_result(name, n / nosnap);
        snprintf(id, sizeof id, "n-%d", n);
        snprintf(name, sizeof name, "replay_rss_kb_nosnap_%d", n);
        bench_result(name, (double)child_rss(id, n));
        snprintf(id, sizeof id, "s-%d", n);
        snprintf(name, sizeof name, "replay_rss_kb_snap_%d", n);
        bench_result(name, (double)child_rss(id, n));
    }
    /* With snapshots every load is short: the three sizes take turns. */
    {
        enum { SNAP_REPS = 500 };
        double snap[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++) {
            snprintf(id, sizeof id, "s-%d", sizes[k]);
            load(app, id, sizes[k]);
        }
        for (int i = 0; i < SNAP_REPS; i++)
            for (int k = 0; k < 3; k++) {
                snprintf(id, sizeof id, "s-%d", sizes[k]);
                double t0 = bench_now();
                load(app, id, sizes[k]);
                snap[k] += (bench_now() - t0) / SNAP_REPS;
            }
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "replay_snap_ms_%d", sizes[k]);
            bench_result(name, snap[k] * 1e3);
        }
    }
    /* the event-data decode alone, for the profile's share */
    {
        const char *text = "{\"amount\":1}";
        int iters = 1000000;
        bank_money_deposited ev;
        inc_error err;
        double t0 = bench_now();
        for (int i = 0; i < iters; i++) {
            if (inc_msg_from_text(&bank_money_deposited_desc, &ev, text,
                                  strlen(text), INC_JSON_SKIP_IMPLICIT, &err) != 0)
                bench_die("decode: %s", err.message);
            inc_msg_free(&bank_money_deposited_desc, &ev);
        }
        bench_result("replay_decode_only_eps", iters / (bench_now() - t0));
    }
    PQfinish(c);
    inc_app_free(app);
    inc_store_close(store);
    return 0;
}
