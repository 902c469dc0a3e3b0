/* test_reactions.c - exactly-once reactions under process death, through
 * the `bank` program (docs/guarantees.md, "Event handlers").
 *
 *   test_rel_reactions cut     every step of the transfer saga held back
 *                              in turn, the dispatching `bank dispatch`
 *                              killed with SIGKILL while it waits, then
 *                              `bank react`: every transfer ends completed
 *                              or cancelled, each money step once.
 *   test_rel_reactions live    a `bank react` running beside dispatching
 *                              processes (some killed mid-saga), then the
 *                              same checks.
 *
 * Holding a step back: a BEFORE INSERT trigger on `events` (and on
 * `command_ids` for recorded rejections) takes a shared advisory lock
 * keyed by the event type in the writer's transaction; the test holds that
 * key exclusively from its own connection, waits until the dispatcher is
 * blocked on it (pg_locks), kills it, and ends its server session: the
 * step's transaction never commits, and everything before it did. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bank.h"
#include "rel.h"

#define N_ACCOUNTS 10

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

typedef struct fx {
    const char *db;
    char schema[64];
    char *conninfo; /* db + search_path: for the CLI */
    PGconn *c;
    long key_base;  /* advisory lock keys of this process */
} fx;

static void fx_open(fx *f, const char *tag) {
    memset(f, 0, sizeof *f);
    f->db = rel_db();
    rel_schema_create(f->db, tag, f->schema);
    size_t n = strlen(f->db) + strlen(f->schema) + 64;
    f->conninfo = malloc(n);
    assert_non_null(f->conninfo);
    snprintf(f->conninfo, n, "%s options='-csearch_path=%s'", f->db, f->schema);
    f->c = rel_conn(f->db, f->schema);
    f->key_base = 7000000L + (long)(getpid() % 100000) * 16;
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(f->db, f->schema, false, &err);
    assert_non_null(app);
    assert_int_equal(inc_store_init(inc_app_store(app), &bank_domain, &err), 0);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        char acc[32];
        snprintf(acc, sizeof acc, "acc-%d", i);
        assert_int_equal(rel_open_account(app, acc, &err), 0);
        assert_int_equal(rel_deposit(app, acc, 1000, &err), 0);
    }
    rel_app_close(app);
}

static void fx_close(fx *f) {
    PQfinish(f->c);
    rel_schema_drop(f->db, f->schema);
    free(f->conninfo);
}

/* Start `bank --db CONNINFO ARGS...` (stdout to /dev/null unless
 * `keep_stdout`); its pid. */
static pid_t spawn_cli(const fx *f, bool keep_stdout, const char *a1,
                       const char *a2, const char *a3, const char *a4) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!keep_stdout) {
            FILE *null = freopen("/dev/null", "w", stdout);
            (void)null;
        }
        execl(REL_BANK_CLI, "bank", "--db", f->conninfo, a1, a2, a3, a4,
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid) {
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* `bank react --idle 300` to the end: its exit status. */
static int react(const fx *f) {
    return wait_exit(spawn_cli(f, false, "react", "--idle", "300", NULL));
}

/* Every transfer finished, each with its money moved once
 * (rel_verify_transfers), nothing in flight (rel_verify_money), the store
 * consistent (rel_verify_all). */
static void verify_finished(fx *f, const char *label) {
    assert_int_equal(rel_count_unfinished(f->c), 0);
    assert_int_equal(rel_verify_transfers(f->c), 0);
    inc_error err;
    inc_app *app = rel_app_open(f->db, f->schema, false, &err);
    assert_non_null(app);
    assert_int_equal(rel_verify_all(f->c, app, label), 0);
    int64_t flight = -1;
    assert_int_equal(rel_verify_money(f->c, NULL, &flight), 0);
    assert_int_equal(flight, 0);
    rel_app_close(app);
}

/* ------------------------------------------------------------ cut */

/* The gate: a step named in `gate` waits for its advisory key. */
static void gate_install(fx *f) {
    char sql[2048];
    snprintf(sql, sizeof sql,
             "CREATE TABLE gate (name text PRIMARY KEY, k bigint NOT NULL);"
             "INSERT INTO gate VALUES ('TransferRequested', %ld), "
             "('MoneySent', %ld), ('TransferInitiated', %ld), "
             "('MoneyReceived', %ld), ('TransferCompleted', %ld), "
             "('TransferReverted', %ld), ('MoneySentReverted', %ld), "
             "('TransferCancelled', %ld), ('rejection', %ld);"
             "CREATE FUNCTION gate_event() RETURNS trigger LANGUAGE plpgsql "
             "AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared(k) FROM gate "
             "WHERE name = NEW.event_type; RETURN NEW; END $$;"
             "CREATE TRIGGER gate_event BEFORE INSERT ON events FOR EACH ROW "
             "EXECUTE FUNCTION gate_event();"
             "CREATE FUNCTION gate_rejection() RETURNS trigger LANGUAGE "
             "plpgsql AS $$ BEGIN IF NEW.rejection IS NOT NULL THEN PERFORM "
             "pg_advisory_xact_lock_shared(k) FROM gate WHERE name = "
             "'rejection'; END IF; RETURN NEW; END $$;"
             "CREATE TRIGGER gate_rejection BEFORE INSERT ON command_ids FOR "
             "EACH ROW EXECUTE FUNCTION gate_rejection();",
             f->key_base, f->key_base + 1, f->key_base + 2, f->key_base + 3,
             f->key_base + 4, f->key_base + 5, f->key_base + 6,
             f->key_base + 7, f->key_base + 8);
    assert_int_equal(rel_exec(f->c, sql), 0);
}

static int64_t gate_key(fx *f, const char *step) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT k FROM gate WHERE name = '%s'", step);
    return rel_q_int(f->c, sql);
}

/* Wait until some session waits for advisory key k (10 s at most). */
static bool blocked_on(fx *f, int64_t k) {
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
             "NOT granted AND classid = 0 AND objid = %lld",
             (long long)k);
    for (int i = 0; i < 1000; i++) {
        if (rel_q_int(f->c, sql) > 0) return true;
        sleep_ms(10);
    }
    return false;
}

static int64_t count_for(fx *f, const char *event, const char *tid) {
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM events WHERE event_type = '%s' AND "
             "data->>'transfer_id' = '%s'",
             event, tid);
    return rel_q_int(f->c, sql);
}

static const char *status_of(fx *f, const char *tid, char buf[32]) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT status FROM transfers WHERE aggregate_id = '%s'", tid);
    PGresult *r = PQexec(f->c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(buf, 32, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "(none)");
    PQclear(r);
    return buf;
}

typedef struct path {
    const char *name;
    const char *destination;
    int64_t amount;
    const char *steps[8]; /* NULL-terminated, in commit order */
    const char *end;      /* the transfer's final status */
    int sent, received, reverted;
} path;

static const path paths[] = {
    {"completes", "acc-1", 100,
     {"TransferRequested", "MoneySent", "TransferInitiated", "MoneyReceived",
      "TransferCompleted", NULL},
     "completed", 1, 1, 0},
    {"no funds", "acc-1", 5000,
     {"TransferRequested", "rejection", "TransferCancelled", NULL},
     "cancelled", 0, 0, 0},
    {"no destination", "nobody", 100,
     {"TransferRequested", "MoneySent", "TransferInitiated", "rejection",
      "TransferReverted", "MoneySentReverted", "TransferCancelled", NULL},
     "cancelled", 1, 0, 1},
};

/* (b) For each path and each of its steps: hold the step back, run
 * `bank dispatch RequestTransfer` (saga registered), SIGKILL it once it
 * waits on the step, release, `bank react`.  The transfer (if its request
 * committed) ends as the path says, each money step exactly once; a
 * second `react` records nothing.  At the end: every transfer finished,
 * money conserved (rel_verify_money, rel_verify_transfers), the store
 * consistent (rel_verify_all). */
static void test_cut_every_step(void **state) {
    (void)state;
    fx f;
    fx_open(&f, "cut");
    gate_install(&f);
    int cuts = 0, n_transfers = 0;
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        const path *pa = &paths[p];
        for (int k = 0; pa->steps[k]; k++) {
            char tid[64], json[256];
            snprintf(tid, sizeof tid, "t-%zu-%d", p, k);
            snprintf(json, sizeof json,
                     "{\"aggregate_id\":\"%s\",\"source_account_number\":"
                     "\"acc-0\",\"destination_account_number\":\"%s\","
                     "\"amount\":%lld}",
                     tid, pa->destination, (long long)pa->amount);
            int64_t key = gate_key(&f, pa->steps[k]);
            char sql[100];
            snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%lld)", (long long)key);
            assert_int_equal(rel_exec(f.c, sql), 0);
            pid_t pid = spawn_cli(&f, false, "dispatch", "RequestTransfer", json, NULL);
            bool held = blocked_on(&f, key);
            kill(pid, SIGKILL);
            int st = wait_exit(pid);
            /* The killed client had sent its whole transaction (pipeline
             * mode, COMMIT included): its server session, still waiting,
             * would commit it once the key is free.  End that session
             * first, as the server itself does when it notices. */
            char term[300];
            snprintf(term, sizeof term,
                     "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE "
                     "locktype = 'advisory' AND NOT granted AND classid = 0 AND "
                     "objid = %lld",
                     (long long)key);
            assert_int_equal(rel_q_int(f.c, term), 1);
            snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)", (long long)key);
            assert_int_equal(rel_exec(f.c, sql), 0);
            char before[32], after[32];
            status_of(&f, tid, before);
            assert_true(held);
            assert_int_equal(st, 128 + SIGKILL);
            cuts++;

            assert_int_equal(react(&f), 0);
            int64_t events = rel_q_int(f.c, "SELECT count(*) FROM events");
            assert_int_equal(react(&f), 0); /* again: nothing to do */
            assert_int_equal(rel_q_int(f.c, "SELECT count(*) FROM events"), events);
            status_of(&f, tid, after);
            int64_t s = count_for(&f, "MoneySent", tid),
                    r = count_for(&f, "MoneyReceived", tid),
                    v = count_for(&f, "MoneySentReverted", tid);
            printf("[cut] %-14s held at %-18s: killed while '%s', after react "
                   "'%s' (sent %lld, received %lld, given back %lld)\n",
                   pa->name, pa->steps[k], before, after, (long long)s,
                   (long long)r, (long long)v);
            if (k == 0) { /* the request itself never committed */
                assert_string_equal(after, "(none)");
                continue;
            }
            n_transfers++;
            assert_string_equal(after, pa->end);
            assert_int_equal(s, pa->sent);
            assert_int_equal(r, pa->received);
            assert_int_equal(v, pa->reverted);
        }
    }
    printf("[cut] %d dispatching processes killed at a held step, %d transfers "
           "finished by `bank react`\n", cuts, n_transfers);
    verify_finished(&f, "after cuts");
    fx_close(&f);
}

/* ------------------------------------------------------------ live */

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A dispatcher: `n` transfers between random accounts (some too large,
 * some to an account that does not exist), the saga inline. */
static pid_t spawn_dispatcher(const fx *f, int who, int n) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0) return pid;
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(f->db, f->schema, true, &err);
    if (!app) _exit(10);
    uint64_t seed = (uint64_t)(who + 1) * 0x9e3779b97f4a7c15u;
    for (int i = 0; i < n; i++) {
        char tid[64], from[32], to[32];
        snprintf(tid, sizeof tid, "live-%d-%d", who, i);
        int a = (int)(rnd(&seed) % N_ACCOUNTS), b = (int)(rnd(&seed) % (N_ACCOUNTS + 1));
        snprintf(from, sizeof from, "acc-%d", a);
        snprintf(to, sizeof to, b == N_ACCOUNTS ? "nobody" : "acc-%d", b);
        int64_t amount = 1 + (int64_t)(rnd(&seed) % 400);
        if (rel_transfer(app, tid, from, to, amount, NULL, &err) != 0 &&
            err.kind != INC_ERR_REJECTED)
            _exit(11);
    }
    rel_app_close(app);
    _exit(0);
}

/* Start `bank react` (no --idle: until SIGTERM), its output in a file. */
static pid_t spawn_reactor(const fx *f, char file[64]) {
    snprintf(file, 64, "/tmp/incident-react-%ld.out", (long)getpid());
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(file, "w", stdout)) _exit(126);
        execl(REL_BANK_CLI, "bank", "--db", f->conninfo, "react", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int64_t lines_in(const char *file) {
    FILE *in = fopen(file, "r");
    assert_non_null(in);
    int64_t n = 0;
    for (int ch; (ch = fgetc(in)) != EOF;) n += ch == '\n';
    fclose(in);
    return n;
}

#define KILLED_ROUNDS 5

/* (c) `bank react` runs (until SIGTERM) beside three dispatching
 * processes, while five more are killed with SIGKILL one after another,
 * each some milliseconds after its 5th transfer was requested (sagas cut
 * at random steps).  Once the dispatchers are done, the live reactor must
 * finish every transfer on its own (within 30 s); SIGTERM then ends it
 * with exit 0.  Checks: no transfer unfinished, each moved its money
 * exactly once (rel_verify_transfers, rel_verify_money), the store
 * consistent (rel_verify_all). */
static void test_live_reactor(void **state) {
    (void)state;
    fx f;
    fx_open(&f, "live");
    char out[64];
    pid_t reactor = spawn_reactor(&f, out);
    pid_t d[3];
    for (int i = 0; i < 3; i++) d[i] = spawn_dispatcher(&f, i, 60);
    uint64_t seed = (uint64_t)getpid() * 2654435761u + 1;
    for (int r = 0; r < KILLED_ROUNDS; r++) {
        pid_t k = spawn_dispatcher(&f, 3 + r, 400);
        char sql[200];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM transfers WHERE aggregate_id LIKE 'live-%d-%%'",
                 3 + r);
        for (int i = 0; i < 1000 && rel_q_int(f.c, sql) < 5; i++) sleep_ms(10);
        sleep_ms((long)(rnd(&seed) % 30));
        kill(k, SIGKILL);
        assert_int_equal(wait_exit(k), 128 + SIGKILL);
    }
    for (int i = 0; i < 3; i++) assert_int_equal(wait_exit(d[i]), 0);
    int64_t at_end = rel_count_unfinished(f.c);
    double t0 = rel_now();
    while (rel_count_unfinished(f.c) > 0 && rel_now() - t0 < 30) sleep_ms(50);
    int64_t unfinished = rel_count_unfinished(f.c);
    double waited = rel_now() - t0;
    kill(reactor, SIGTERM);
    int st = wait_exit(reactor);
    int64_t by_reactor = lines_in(out);
    unlink(out);
    int64_t transfers = rel_q_int(f.c, "SELECT count(*) FROM transfers");
    printf("[live] %lld transfers by 3 dispatchers and %d killed ones, %lld "
           "unfinished when the dispatchers were done, %lld after waiting "
           "%.2f s for the live reactor, which recorded %lld events; exit %d "
           "on SIGTERM\n",
           (long long)transfers, KILLED_ROUNDS, (long long)at_end,
           (long long)unfinished, waited, (long long)by_reactor, st);
    assert_int_equal(st, 0);
    assert_int_equal(unfinished, 0);
    assert_true(transfers >= 180 + 5 * KILLED_ROUNDS);
    verify_finished(&f, "live reactor");
    fx_close(&f);
}

int main(int argc, char **argv) {
    const struct CMUnitTest cut[] = {cmocka_unit_test(test_cut_every_step)};
    const struct CMUnitTest live[] = {cmocka_unit_test(test_live_reactor)};
    if (argc == 2 && strcmp(argv[1], "cut") == 0)
        return cmocka_run_group_tests_name("cut", cut, NULL, NULL);
    if (argc == 2 && strcmp(argv[1], "live") == 0)
        return cmocka_run_group_tests_name("live", live, NULL, NULL);
    fprintf(stderr, "usage: %s cut|live\n", argv[0]);
    return 2;
}
