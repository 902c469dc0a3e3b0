/* bench_batch.c - import throughput: inc_dispatch one command at a time
 * against inc_dispatch_batch (chunks of 256 commands per transaction), in
 * events per second, with a plain COPY of the same event rows as the
 * ceiling.  1,000 accounts whose streams start at 10 events; deposits go
 * round the accounts.  Checks the balances afterwards.
 *
 *   bench_batch [BATCH_COMMANDS]     (INCIDENT_DB selects the server) */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/app.h>
#include <incident/batch.h>
#include <incident/store.h>

#include "bank.h"
#include "bench_common.h"

#define N_ACCOUNTS 1000
#define SINGLE_COMMANDS 1500

static const char *schema = "bench_batch";

static void account_id(char out[32], int i) { snprintf(out, 32, "acc-%04d", i); }

static int64_t deposited[N_ACCOUNTS];

/* Dispatch `n` deposits round the accounts, through a batch or one by one;
 * events per second. */
static double deposits(inc_app *app, size_t n, size_t first, int batch) {
    inc_batch_item *items = calloc(n, sizeof *items);
    inc_batch_result *res = calloc(n, sizeof *res);
    bank_deposit_money *cmds = calloc(n, sizeof *cmds);
    char (*ids)[32] = calloc(N_ACCOUNTS, sizeof *ids);
    inc_error err;
    for (int i = 0; i < N_ACCOUNTS; i++) account_id(ids[i], i);
    for (size_t i = 0; i < n; i++) {
        size_t a = (first + i) % N_ACCOUNTS;
        cmds[i].aggregate_id = ids[a];
        cmds[i].amount = 1 + (int64_t)(i % 7);
        deposited[a] += cmds[i].amount;
        items[i] = (inc_batch_item){&bank_deposit_money_desc, &cmds[i]};
    }
    double t0 = bench_now();
    if (batch) {
        int failed = inc_dispatch_batch(app, items, n, res, &err);
        if (failed != 0) bench_die("batch: %d failed: %s", failed, err.message);
    } else {
        for (size_t i = 0; i < n; i++)
            if (inc_dispatch(app, &bank_deposit_money_desc, &cmds[i], NULL,
                             &err) != 0)
                bench_die("dispatch: %s", err.message);
    }
    double dt = bench_now() - t0;
    free(items);
    free(res);
    free(cmds);
    free(ids);
    return (double)n / dt; /* one event per deposit */
}

/* COPY `n` event rows shaped like ours into a copy of the events table. */
static double copy_rows(size_t n) {
    PGconn *c = bench_connect(schema);
    bench_exec(c, "DROP TABLE IF EXISTS copy_events");
    bench_exec(c, "CREATE TABLE copy_events (LIKE events INCLUDING ALL)");
    char *buf = malloc(n * 256), uuid[INC_UUID_TEXT_SIZE], cmd[INC_UUID_TEXT_SIZE];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        inc_uuid_v7(uuid, NULL);
        inc_uuid_v7(cmd, NULL);
        used += (size_t)sprintf(
            buf + used,
            "%s\tAccount\tacc-%04zu\t%zu\tMoneyDeposited\t{\"amount\":%zu}\t"
            "{\"command_id\":\"%s\",\"command_type\":\"DepositMoney\","
            "\"correlation_id\":\"%s\"}\t2026-11-26 10:00:00+00\n",
            uuid, i % N_ACCOUNTS, 11 + i / N_ACCOUNTS, 1 + i % 7, cmd, cmd);
    }
    double t0 = bench_now();
    bench_exec(c, "BEGIN");
    PGresult *r = PQexec(c, "COPY copy_events (event_id, aggregate_type, "
                            "aggregate_id, version, event_type, data, "
                            "metadata, event_date) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) bench_die("copy: %s", PQerrorMessage(c));
    PQclear(r);
    if (PQputCopyData(c, buf, (int)used) != 1 || PQputCopyEnd(c, NULL) != 1)
        bench_die("copy: %s", PQerrorMessage(c));
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) bench_die("copy: %s", PQerrorMessage(c));
    PQclear(r);
    while ((r = PQgetResult(c))) PQclear(r);
    bench_exec(c, "COMMIT");
    double dt = bench_now() - t0;
    free(buf);
    PQfinish(c);
    return (double)n / dt;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 20000;
    inc_error err;
    bench_fresh_schema(schema);
    inc_pg_options o = {bench_db(), schema};
    inc_store *store = inc_pg_store_open(&o, &err);
    if (!store || inc_store_init(store, &bank_domain, &err) != 0)
        bench_die("store: %s", err.message);
    inc_app *app = inc_app_new(&bank_domain, store, &err);
    /* 1,000 accounts, 10 events each (through the batch too) */
    {
        inc_batch_item *items = calloc(N_ACCOUNTS, sizeof *items);
        inc_batch_result *res = calloc(N_ACCOUNTS, sizeof *res);
        bank_open_account *opens = calloc(N_ACCOUNTS, sizeof *opens);
        char (*ids)[32] = calloc(N_ACCOUNTS, sizeof *ids);
        for (int i = 0; i < N_ACCOUNTS; i++) {
            account_id(ids[i], i);
            opens[i].aggregate_id = ids[i];
            items[i] = (inc_batch_item){&bank_open_account_desc, &opens[i]};
        }
        if (inc_dispatch_batch(app, items, N_ACCOUNTS, res, &err) != 0)
            bench_die("seed: %s", err.message);
        free(items);
        free(res);
        free(opens);
        free(ids);
        deposits(app, 9 * N_ACCOUNTS, 0, 1);
    }
    double single = deposits(app, SINGLE_COMMANDS, 0, 0);
    double batch = deposits(app, n, SINGLE_COMMANDS, 1);
    double copy = copy_rows(n);
    bench_result("batch_single_eps", single);
    bench_result("batch_eps", batch);
    bench_result("batch_copy_eps", copy);
    /* correctness: every balance is what was deposited */
    PGconn *c = bench_connect(schema);
    int ok = 1;
    char sql[128];
    for (int a = 0; a < N_ACCOUNTS; a++) {
        snprintf(sql, sizeof sql,
                 "SELECT balance FROM bank_accounts WHERE aggregate_id = "
                 "'acc-%04d'",
                 a);
        bank_account_state st;
        char id[32];
        account_id(id, a);
        if (inc_app_state(app, &bank_account_type, id, &st, &err) != 0)
            bench_die("state: %s", err.message);
        if (bench_query_i64(c, sql) != deposited[a] || st.balance != deposited[a])
            ok = 0;
        bank_account_state_free(&st);
    }
    bench_result("batch_balances_ok", ok);
    PQfinish(c);
    inc_app_free(app);
    inc_store_close(store);
    return 0;
}
