/* bench_reactions.c - transfers per second with exactly-once reactions
 * against the inline-only saga of before, in the same run.
 *
 *   with:    the bank saga (bank.agg's reactions) inline, every step with
 *            its derived command id (recorded in command_ids), and a
 *            reactor (inc_reactor_run, what `bank react` runs) beside the
 *            dispatchers on its own connection, handling every event as
 *            it commits: what the inline path did is answered from the
 *            records;
 *   without: the same saga steps dispatched from the handlers as plain
 *            commands (inc_dispatch, no command id), no reactor: the
 *            inline-only, at-most-once saga.
 * Four dispatching threads (one connection each) request transfers of 1
 * between random accounts of 1,000; every RequestTransfer runs its whole
 * saga (5 commits) before the next.  Rounds alternate the two variants so
 * a slow spell of the shared machine hits both; each variant has its own
 * schema (the reactor must not see the other's events).  Afterwards:
 * every transfer finished, money conserved, no money step twice.
 *
 *   bench_reactions SECONDS       (INCIDENT_DB selects the server) */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/app.h>
#include <incident/batch.h>
#include <incident/reactor.h>
#include <incident/store.h>

#include "bank.h"
#include "bench_common.h"

#define N_ACCOUNTS 1000
#define SEED_AMOUNT 1000000
#define CONNS 4
#define ROUNDS 3

enum { WITH, WITHOUT, N_VARIANTS };
static const char *const schema_of[N_VARIANTS] = {"bench_react_with", "bench_react_without"};
static const char *const name_of[N_VARIANTS] = {"with", "without"};

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

static void close_app(inc_app *app, inc_store *store) {
    inc_app_free(app);
    inc_store_close(store);
}

static void seed(const char *schema) {
    inc_error err;
    inc_store *store;
    bench_fresh_schema(schema);
    inc_app *app = open_app(schema, &store);
    if (inc_store_init(store, &bank_domain, &err) != 0) bench_die("init: %s", err.message);
    static inc_batch_item items[2 * N_ACCOUNTS];
    static inc_batch_result res[2 * N_ACCOUNTS];
    static bank_open_account opens[N_ACCOUNTS];
    static bank_deposit_money deps[N_ACCOUNTS];
    static char ids[N_ACCOUNTS][32];
    for (int i = 0; i < N_ACCOUNTS; i++) {
        account_id(ids[i], i);
        opens[i] = (bank_open_account){ids[i], NULL, false};
        deps[i] = (bank_deposit_money){ids[i], SEED_AMOUNT};
        items[i] = (inc_batch_item){&bank_open_account_desc, &opens[i]};
        items[N_ACCOUNTS + i] = (inc_batch_item){&bank_deposit_money_desc, &deps[i]};
    }
    int failed = inc_dispatch_batch(app, items, 2 * N_ACCOUNTS, res, &err);
    if (failed != 0) bench_die("seed: %d failed (%s)", failed, err.message);
    close_app(app, store);
}

/* ---- the saga without command ids: each step a plain inc_dispatch */

static int plain(inc_handler_ctx *ctx, const inc_message_desc *d, const void *cmd,
                 inc_error *err) {
    return inc_dispatch(inc_handler_app(ctx), d, cmd, NULL, err);
}

/* 0 ok, 1 rejected, -1 failed */
static int plain_money(inc_handler_ctx *ctx, const inc_message_desc *d, const char *account,
                       const char *tid, int64_t amount, inc_error *err) {
    bank_send_money cmd = {(char *)account, (char *)tid, amount};
    inc_error e;
    if (plain(ctx, d, &cmd, &e) == 0) return 0;
    if (e.kind == INC_ERR_REJECTED) return 1;
    *err = e;
    return -1;
}

static int plain_step(inc_handler_ctx *ctx, const inc_message_desc *d, const char *tid,
                      inc_error *err) {
    bank_initiate_transfer cmd = {(char *)tid};
    return plain(ctx, d, &cmd, err);
}

static int p_requested(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                       inc_error *err) {
    (void)ud;
    const bank_transfer_requested *r = ev->data;
    int rc = plain_money(ctx, &bank_send_money_desc, r->source_account_number,
                         ev->aggregate_id, r->amount, err);
    if (rc < 0) return -1;
    return plain_step(ctx, rc == 0 ? &bank_initiate_transfer_desc : &bank_cancel_transfer_desc,
                      ev->aggregate_id, err);
}

static int p_money_then(inc_handler_ctx *ctx, const inc_recorded_event *ev,
                        const inc_message_desc *money, bool source,
                        const inc_message_desc *ok, const inc_message_desc *no,
                        inc_error *err) {
    bank_transfer_state t;
    int rc = inc_handler_event_state(ctx, &t, err);
    if (rc == 0)
        rc = plain_money(ctx, money,
                         source ? t.source_account_number : t.destination_account_number,
                         ev->aggregate_id, t.amount, err);
    bank_transfer_state_free(&t);
    if (rc < 0) return -1;
    return plain_step(ctx, rc == 0 ? ok : no, ev->aggregate_id, err);
}

static int p_initiated(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                       inc_error *err) {
    (void)ud;
    return p_money_then(ctx, ev, &bank_receive_money_desc, false, &bank_complete_transfer_desc,
                        &bank_revert_transfer_desc, err);
}

static int p_reverted(inc_handler_ctx *ctx, const inc_recorded_event *ev, void *ud,
                      inc_error *err) {
    (void)ud;
    return p_money_then(ctx, ev, &bank_revert_money_sent_desc, true,
                        &bank_cancel_transfer_desc, &bank_cancel_transfer_desc, err);
}

static void register_saga(inc_app *app, int variant) {
    inc_error err;
    int rc = 0;
    if (variant == WITH) {
        /* bank.agg's reactions: every app of the domain runs them */
    } else {
        inc_app_drop_reactions(app);
        rc |= inc_app_on(app, "TransferRequested", p_requested, NULL, &err);
        rc |= inc_app_on(app, "TransferInitiated", p_initiated, NULL, &err);
        rc |= inc_app_on(app, "TransferReverted", p_reverted, NULL, &err);
    }
    if (rc != 0) bench_die("register: %s", err.message);
}

/* ---- dispatchers and the reactor */

typedef struct worker {
    pthread_t t;
    int variant, index, round;
    inc_store *store;
    inc_app *app;
    double seconds;
    long done;
    uint64_t rng;
} worker;

static void *run_worker(void *ud) {
    worker *w = ud;
    double end = bench_now() + w->seconds;
    inc_error err;
    while (bench_now() < end) {
        char tid[64], src[32], dst[32];
        int a = (int)(bench_rand(&w->rng) % N_ACCOUNTS);
        int b = (int)(bench_rand(&w->rng) % (N_ACCOUNTS - 1));
        if (b >= a) b++;
        account_id(src, a);
        account_id(dst, b);
        snprintf(tid, sizeof tid, "t-%d-%d-%ld", w->round, w->index, w->done);
        bank_request_transfer cmd = {tid, src, dst, 1};
        inc_result res;
        inc_result_init(&res);
        if (inc_dispatch(w->app, &bank_request_transfer_desc, &cmd, &res, &err) != 0)
            bench_die("transfer: %s", err.message);
        if (res.handler_failed) bench_die("saga step: %s", res.handler_error.message);
        inc_result_free(&res);
        w->done++;
    }
    return NULL;
}

typedef struct reactor {
    pthread_t t;
    inc_store *store;
    inc_app *app;
    volatile sig_atomic_t stop;
    inc_reactor_stats st;
} reactor;

static void *run_reactor(void *ud) {
    reactor *r = ud;
    inc_error err;
    inc_reactor_options o = {0};
    o.max_poll_ms = 20;
    inc_consumer_run_options ro = {0, 0, &r->stop};
    if (inc_reactor_run(r->app, &o, &ro, &r->st, &err) != 0)
        bench_die("reactor: %s", err.message);
    return NULL;
}

/* One round of one variant: transfers per second; *catchup_ms and
 * *recorded (with only): the reactor's catch-up after the dispatchers
 * stopped, and the events it recorded itself (0 when the inline path did
 * everything). */
static double run_round(int variant, int round, double seconds, double *catchup_ms,
                        int64_t *recorded) {
    worker ws[CONNS];
    reactor r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < CONNS; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].variant = variant;
        ws[i].index = i;
        ws[i].round = round;
        ws[i].seconds = seconds;
        ws[i].rng = 0x9e3779b97f4a7c15u * (uint64_t)(round * CONNS + i + 1);
        ws[i].app = open_app(schema_of[variant], &ws[i].store);
        register_saga(ws[i].app, variant);
    }
    if (variant == WITH) {
        r.app = open_app(schema_of[variant], &r.store);
        register_saga(r.app, variant);
        pthread_create(&r.t, NULL, run_reactor, &r);
    }
    double t0 = bench_now();
    for (int i = 0; i < CONNS; i++) pthread_create(&ws[i].t, NULL, run_worker, &ws[i]);
    long done = 0;
    for (int i = 0; i < CONNS; i++) {
        pthread_join(ws[i].t, NULL);
        done += ws[i].done;
    }
    double tps = (double)done / (bench_now() - t0);
    if (variant == WITH) {
        r.stop = 1;
        pthread_join(r.t, NULL);
        *recorded += r.st.events_recorded;
        double c0 = bench_now();
        inc_error err;
        inc_reactor_stats st;
        if (inc_reactor_run(r.app, NULL, NULL, &st, &err) != 0)
            bench_die("reactor: %s", err.message);
        *catchup_ms += (bench_now() - c0) * 1000.0;
        *recorded += st.events_recorded;
        close_app(r.app, r.store);
    }
    for (int i = 0; i < CONNS; i++) close_app(ws[i].app, ws[i].store);
    return tps;
}

/* Every transfer finished, no money step twice, balances conserved. */
static int check(const char *schema) {
    PGconn *c = bench_connect(schema);
    int64_t unfinished = bench_query_i64(
        c, "SELECT count(*) FROM transfers WHERE status IS NULL OR status NOT IN "
           "('completed', 'cancelled')");
    int64_t twice = bench_query_i64(
        c, "SELECT count(*) FROM (SELECT event_type, data->>'transfer_id' FROM events "
           "WHERE event_type IN ('MoneySent', 'MoneyReceived', 'MoneySentReverted') "
           "GROUP BY 1, 2 HAVING count(*) > 1) x");
    int64_t total = bench_query_i64(c, "SELECT sum(balance) FROM bank_accounts");
    PQfinish(c);
    int ok = unfinished == 0 && twice == 0 && total == (int64_t)N_ACCOUNTS * SEED_AMOUNT;
    if (!ok)
        fprintf(stderr, "bench_reactions: %s: %lld unfinished, %lld steps twice, total %lld\n",
                schema, (long long)unfinished, (long long)twice, (long long)total);
    return ok;
}

int main(int argc, char **argv) {
    json_object_seed(0); /* jansson's hash seed, once, before threads */
    if (argc != 2) bench_die("usage: bench_reactions SECONDS");
    double seconds = atof(argv[1]);
    fprintf(stderr, "bench_reactions: seeding %d accounts twice\n", N_ACCOUNTS);
    for (int v = 0; v < N_VARIANTS; v++) seed(schema_of[v]);
    double tps[N_VARIANTS] = {0}, catchup_ms = 0;
    int64_t recorded = 0;
    for (int round = 0; round < ROUNDS; round++)
        for (int v = 0; v < N_VARIANTS; v++)
            tps[v] += run_round(v, round, seconds / ROUNDS, &catchup_ms, &recorded) / ROUNDS;
    for (int v = 0; v < N_VARIANTS; v++) {
        char name[64];
        snprintf(name, sizeof name, "react_tps_%s_%d", name_of[v], CONNS);
        bench_result(name, tps[v]);
    }
    bench_result("react_catchup_ms", catchup_ms / ROUNDS);
    bench_result("react_reactor_recorded", (double)recorded);
    bench_result("react_balances_ok", check(schema_of[WITH]) && check(schema_of[WITHOUT]));
    return 0;
}
