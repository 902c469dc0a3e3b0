/* test_faults.c - failures in the middle of work.
 *
 *   test_faults server_crash   the PostgreSQL server of a running client is
 *                              stopped with an immediate shutdown (no
 *                              checkpoint, connections cut: a crash for the
 *                              client) and restarted.  Runs against its own
 *                              cluster (REL_OWN_PG_DIR, started by a ctest
 *                              fixture or by the test), never the shared one.
 *   test_faults client_kill    clients killed with SIGKILL while
 *                              dispatching (also in the middle of transfer
 *                              sagas), then the sagas finished by the
 *                              reactor in a new process; and two runs of a
 *                              saga's handlers for the same event (a late
 *                              inline run and a reactor) paying once.
 *
 * What is checked is in each test's comment; the consistency checks are
 * rel.h's. */
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

#include <incident/reactor.h>

#include "bank.h"
#include "rel.h"

#define N_ACCOUNTS 10

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void setup_accounts(inc_app *app, int64_t initial) {
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(inc_store_init(inc_app_store(app), &bank_domain, &err), 0);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        char acc[32];
        snprintf(acc, sizeof acc, "acc-%d", i);
        assert_int_equal(rel_open_account(app, acc, &err), 0);
        assert_int_equal(rel_deposit(app, acc, initial, &err), 0);
    }
}

/* ------------------------------------------------------ server crash */

/* Run `scripts/pg CMD DIR`; for start/env, return the INCIDENT_DB value. */
static char *pg_script(const char *cmd) {
    char line[1024], *db = NULL;
    snprintf(line, sizeof line, "'%s' %s '%s'", REL_SCRIPTS_PG, cmd, REL_OWN_PG_DIR);
    FILE *p = popen(line, "r");
    assert_non_null(p);
    while (fgets(line, sizeof line, p)) {
        char *s = strstr(line, "INCIDENT_DB='");
        if (s) {
            s += strlen("INCIDENT_DB='");
            char *e = strchr(s, '\'');
            if (e) *e = '\0';
            free(db);
            db = strdup(s);
        }
    }
    int st = pclose(p);
    if (st != 0) fprintf(stderr, "scripts/pg %s %s: exit status %d\n", cmd, REL_OWN_PG_DIR, st);
    assert_int_equal(st, 0);
    return db;
}

/* One dispatch of the crash client, reported to the parent. */
typedef struct op_report {
    int i;
    char kind;       /* 'd' deposit, 'w' withdrawal, 't' transfer */
    char outcome;    /* 'O' ok, 'R' rejected, 'U' unavailable, 'E' other */
    bool handler_failed;
    char message[200];
} op_report;

static void crash_client(const char *db, const char *schema, int fd) {
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(db, schema, true, &err);
    if (!app) _exit(10);
    bool outage = false;
    int ok_after = 0;
    double t0 = rel_now();
    for (int i = 0; i < 20000 && rel_now() - t0 < 120; i++) {
        op_report r;
        memset(&r, 0, sizeof r);
        r.i = i;
        char acc[32], dst[32], tid[32];
        snprintf(acc, sizeof acc, "acc-%d", i % N_ACCOUNTS);
        int rc;
        inc_result res;
        inc_result_init(&res);
        switch (i % 4) {
        case 0:
        case 1: /* unique amounts: each deposit can be found afterwards */
            r.kind = 'd';
            rc = rel_deposit(app, acc, 100000 + i, &err);
            break;
        case 2:
            r.kind = 'w';
            rc = rel_withdraw(app, acc, i + 1, &err);
            break;
        default:
            r.kind = 't';
            snprintf(dst, sizeof dst, "acc-%d", (i + 3) % N_ACCOUNTS);
            snprintf(tid, sizeof tid, "t-%d", i);
            rc = rel_transfer(app, tid, acc, dst, 50 + i % 7, &res, &err);
            if (rc == 0 && res.handler_failed) {
                r.handler_failed = true;
                snprintf(r.message, sizeof r.message, "%s: %.150s",
                         inc_error_kind_name(res.handler_error.kind),
                         res.handler_error.message);
            }
            break;
        }
        inc_result_free(&res);
        if (rc == 0) {
            r.outcome = 'O';
            if (outage) ok_after++;
        } else {
            r.outcome = err.kind == INC_ERR_REJECTED      ? 'R'
                        : err.kind == INC_ERR_UNAVAILABLE ? 'U'
                                                          : 'E';
            snprintf(r.message, sizeof r.message, "%s: %.150s",
                     inc_error_kind_name(err.kind), err.message);
            if (r.outcome == 'U') outage = true;
        }
        if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(11);
        if (r.outcome == 'U') sleep_ms(20); /* a client backing off */
        if (outage && ok_after >= 200) break;
    }
    /* The same process, never restarted, runs the reactor, which finishes
     * the sagas the outage interrupted. */
    inc_reactor_stats st;
    memset(&st, 0, sizeof st);
    int rc = inc_reactor_run(app, NULL, NULL, &st, &err);
    op_report r;
    memset(&r, 0, sizeof r);
    r.i = -1;
    r.kind = 'r';
    r.outcome = rc == 0 ? 'O' : 'E';
    snprintf(r.message, sizeof r.message,
             "reactor: %lld events handled, %lld recorded%s%.150s",
             (long long)st.events_handled, (long long)st.events_recorded,
             rc ? ": " : "", rc ? err.message : "");
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(11);
    rel_app_close(app);
    _exit(0);
}

/* How many events record op i (0 or 1 expected; 2 would be a duplicate). */
static int64_t committed(PGconn *c, const op_report *r) {
    char sql[400];
    if (r->kind == 'd')
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM events WHERE event_type = 'MoneyDeposited' "
                 "AND aggregate_id = 'acc-%d' AND (data->>'amount')::bigint = %d",
                 r->i % N_ACCOUNTS, 100000 + r->i);
    else if (r->kind == 'w')
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM events WHERE event_type = 'MoneyWithdrawn' "
                 "AND aggregate_id = 'acc-%d' AND (data->>'amount')::bigint = %d",
                 r->i % N_ACCOUNTS, r->i + 1);
    else
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM events WHERE event_type = "
                 "'TransferRequested' AND aggregate_id = 't-%d'", r->i);
    return rel_q_int(c, sql);
}

/* (a) PostgreSQL stopped with an immediate shutdown in the middle of a run
 * of dispatches by one client process, then restarted.  Checks: the client
 * gets INC_ERR_UNAVAILABLE ("database unavailable") during the outage and
 * no other kind of error; it carries on after the restart without being
 * restarted (>= 200 successful dispatches after the outage); every dispatch
 * reported ok is in the store exactly once, every rejected one not at all,
 * every unavailable one at most once (outcome unknown to the client, so it
 * is read back, never assumed); sagas cut by the outage are finished by
 * the reactor in the same process; then all of rel_verify_all + every transfer finished and
 * moved its money exactly once. */
static void test_server_crash_mid_dispatch(void **state) {
    (void)state;
    char *db = pg_script("start"); /* idempotent: the fixture started it */
    assert_non_null(db);
    char schema[64];
    rel_schema_create(db, "crash", schema);
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(db, schema, true, &err);
    assert_non_null(app);
    setup_accounts(app, 1000);

    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        crash_client(db, schema, pipefd[1]);
    }
    close(pipefd[1]);

    size_t n = 0, cap = 1024;
    op_report *ops = malloc(cap * sizeof *ops);
    assert_non_null(ops);
    bool crashed = false, restarted = false;
    double t_crash = 0, t_up = 0;
    int64_t ops_before_crash = 0;
    for (;;) {
        op_report r;
        ssize_t got = read(pipefd[0], &r, sizeof r);
        if (got == 0) break;
        assert_int_equal(got, (ssize_t)sizeof r);
        if (n == cap) {
            cap *= 2;
            ops = realloc(ops, cap * sizeof *ops);
            assert_non_null(ops);
        }
        ops[n++] = r;
        if (!crashed && n == 150) {
            /* the client is mid-run: cut the server off under it */
            ops_before_crash = (int64_t)n;
            t_crash = rel_now();
            free(pg_script("crash"));
            crashed = true;
            /* keep reading while it is down, so the client is not
             * blocked on a full pipe */
        }
        if (crashed && !restarted && rel_now() - t_crash > 1.5) {
            char *db2 = pg_script("start");
            assert_non_null(db2);
            /* same conninfo: the client reconnects by itself */
            assert_string_equal(db2, db);
            free(db2);
            t_up = rel_now();
            restarted = true;
        }
    }
    close(pipefd[0]);
    if (!restarted) { /* the client ended early: still restart */
        free(pg_script("start"));
        restarted = true;
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(crashed);

    /* The client's view, checked against the store. */
    PGconn *c = rel_conn(db, schema);
    int ok = 0, rejected = 0, unavailable = 0, other = 0, unknown_committed = 0;
    int ok_after = 0, handler_failed = 0, problems = 0;
    bool seen_u = false, resume_ok = false;
    for (size_t k = 0; k < n; k++) {
        const op_report *r = &ops[k];
        if (r->kind == 'r') {
            printf("[server_crash] reactor in the same process: %s\n", r->message);
            resume_ok = r->outcome == 'O';
            continue;
        }
        if (r->handler_failed) handler_failed++;
        int64_t got = committed(c, r);
        switch (r->outcome) {
        case 'O':
            ok++;
            if (seen_u) ok_after++;
            if (got != 1) {
                fprintf(stderr, "PROBLEM: op %d (%c) reported ok, found %lld times\n",
                        r->i, r->kind, (long long)got);
                problems++;
            }
            break;
        case 'R':
            rejected++;
            if (got != 0) {
                fprintf(stderr, "PROBLEM: op %d (%c) rejected, found %lld times\n",
                        r->i, r->kind, (long long)got);
                problems++;
            }
            break;
        case 'U':
            if (!seen_u) printf("[server_crash] first error seen by the client: %s\n", r->message);
            seen_u = true;
            unavailable++;
            if (!strstr(r->message, "unavailable")) {
                fprintf(stderr, "PROBLEM: unclear message: %s\n", r->message);
                problems++;
            }
            if (got > 1) {
                fprintf(stderr, "PROBLEM: op %d (%c) found %lld times\n", r->i,
                        r->kind, (long long)got);
                problems++;
            }
            unknown_committed += got == 1;
            break;
        default:
            other++;
            fprintf(stderr, "PROBLEM: op %d (%c): unexpected error %s\n", r->i,
                    r->kind, r->message);
            problems++;
        }
    }
    printf("[server_crash] %zu dispatches: %d ok (%d after the restart), %d "
           "rejected, %d unavailable (%d of them committed after all: unknown "
           "outcome, read back), %d other errors, %d sagas cut by the outage; "
           "crash after %lld dispatches, server down %.1f s\n",
           n - 1, ok, ok_after, rejected, unavailable, unknown_committed, other,
           handler_failed, (long long)ops_before_crash, t_up - t_crash);
    assert_int_equal(problems, 0);
    assert_true(seen_u);
    assert_true(ok_after >= 200);
    assert_true(resume_ok);

    assert_int_equal(rel_verify_all(c, app, "server_crash"), 0);
    assert_int_equal(rel_count_unfinished(c), 0);
    assert_int_equal(rel_verify_transfers(c), 0);
    int64_t flight = -1;
    assert_int_equal(rel_verify_money(c, NULL, &flight), 0);
    assert_int_equal(flight, 0);
    PQfinish(c);
    free(ops);
    rel_app_close(app);
    rel_schema_drop(db, schema);
    free(db);
}

/* Regression (pg_store.c: disconnected): after a server restart between
 * two calls, the old connection is dead but libpq still reports
 * CONNECTION_OK; the failure shows up as a result without SQLSTATE.  A
 * read must then reconnect and retry transparently (it used to fail with
 * INC_ERR_INTERNAL "server closed the connection unexpectedly").  A
 * commit too: the store notices that the server ended the idle session
 * before it sends anything (pg_store.c: drop_if_ended), so it starts over
 * on a new connection and commits once. */
static void test_server_restart_between_calls(void **state) {
    (void)state;
    char *db = pg_script("start");
    assert_non_null(db);
    char schema[64];
    rel_schema_create(db, "restart", schema);
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(db, schema, false, &err);
    assert_non_null(app);
    setup_accounts(app, 100);

    free(pg_script("crash"));
    free(pg_script("start"));
    bank_account_state st;
    int rc = inc_app_state(app, &bank_account_type, "acc-0", &st, &err);
    if (rc != 0) fprintf(stderr, "state after restart: %s: %s\n", inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, 0);
    assert_int_equal(st.balance, 100);
    inc_msg_free(&bank_account_state_desc, &st);

    /* a raw commit of version 3 of acc-0 on a connection the restart killed */
    free(pg_script("crash"));
    free(pg_script("start"));
    inc_stored_event ev;
    memset(&ev, 0, sizeof ev);
    assert_int_equal(inc_uuid_v4(ev.event_id, &err), 0);
    ev.aggregate_type = "Account";
    ev.aggregate_id = "acc-0";
    ev.version = 3;
    ev.event_type = "MoneyDeposited";
    ev.data = "{\"amount\":1}";
    ev.metadata = "{}";
    ev.event_date = inc_timestamp_now();
    inc_commit cm;
    memset(&cm, 0, sizeof cm);
    cm.aggregate = &bank_account_type;
    cm.aggregate_id = "acc-0";
    cm.n_events = 1;
    cm.events = &ev;
    rc = inc_store_commit(inc_app_store(app), &cm, &err);
    printf("[restart] commit on the dead connection: rc %d, %s: %s\n", rc,
           inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, 0);
    /* the app's cached state is behind the raw commit: it catches up */
    assert_int_equal(rel_deposit(app, "acc-0", 5, &err), 0);
    PGconn *c = rel_conn(db, schema);
    assert_int_equal(rel_q_int(c, "SELECT count(*) FROM events WHERE aggregate_id = 'acc-0'"), 4);
    assert_int_equal(rel_q_int(c, "SELECT balance FROM bank_accounts WHERE aggregate_id = 'acc-0'"), 106);
    assert_int_equal(rel_verify_all(c, app, "restart"), 0);
    PQfinish(c);
    rel_app_close(app);
    rel_schema_drop(db, schema);
    free(db);
}

/* ------------------------------------------------------- client kill */

/* One event a killed client was acknowledged, as it wrote it to its
 * acknowledgement file (outside the client, so it survives the kill). */
typedef struct ack {
    char event_id[INC_UUID_TEXT_SIZE];
    char command_id[INC_UUID_TEXT_SIZE];
    char aggregate_type[16];
    char aggregate_id[48];
    int64_t version;
    int32_t direct;   /* an event of the acknowledged command itself */
    int32_t n_direct; /* how many events that command recorded */
} ack;

/* Dispatch random commands forever (until killed); after each dispatch
 * that returned ok, append every event it recorded to `acks` (one write()
 * per event: a kill lands before or after it, and the parent drops a
 * truncated last record). */
static void busy_client(const char *db, const char *schema, int round,
                        bool transfers_only, int acks) {
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(db, schema, true, &err);
    if (!app) _exit(10);
    uint64_t seed = 0x2545f4914f6cdd1du ^ (uint64_t)(round * 104729 + getpid());
    for (int i = 0;; i++) {
        char acc[32], dst[32], tid[64];
        int a = (int)(rnd(&seed) % N_ACCOUNTS), b = (a + 1 + (int)(rnd(&seed) % (N_ACCOUNTS - 1))) % N_ACCOUNTS;
        snprintf(acc, sizeof acc, "acc-%d", a);
        snprintf(dst, sizeof dst, "acc-%d", b);
        int64_t amount = (int64_t)(rnd(&seed) % 500) + 1;
        int kind = transfers_only ? 2 : (int)(rnd(&seed) % 4), rc;
        inc_result res;
        inc_result_init(&res);
        if (kind == 0) rc = rel_deposit_r(app, acc, amount, &res, &err);
        else if (kind == 1) rc = rel_withdraw_r(app, acc, amount, &res, &err);
        else {
            snprintf(tid, sizeof tid, "k%d-%d", round, i);
            rc = rel_transfer(app, tid, acc, dst, amount * 10, &res, &err);
        }
        for (size_t k = 0; rc == 0 && k < res.count; k++) {
            const inc_recorded_event *e = &res.events[k];
            ack r;
            memset(&r, 0, sizeof r);
            memcpy(r.event_id, e->event_id, sizeof r.event_id);
            memcpy(r.command_id, e->command_id, sizeof r.command_id);
            snprintf(r.aggregate_type, sizeof r.aggregate_type, "%s", e->aggregate_type);
            snprintf(r.aggregate_id, sizeof r.aggregate_id, "%s", e->aggregate_id);
            r.version = e->version;
            r.direct = k < res.n_direct;
            r.n_direct = (int32_t)res.n_direct;
            if (write(acks, &r, sizeof r) != (ssize_t)sizeof r) _exit(11);
        }
        inc_result_free(&res);
    }
}

static pid_t spawn_busy(const char *db, const char *schema, int round,
                        bool transfers_only, int acks) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) busy_client(db, schema, round, transfers_only, acks);
    return pid;
}

/* A temporary acknowledgement file (unlinked at once; the fd is enough). */
static int ack_file(void) {
    char path[] = "/tmp/rel_acks_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static int64_t q_params(PGconn *c, const char *sql, int n, const char *const *p) {
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "SQL failed: %s\n  %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* Every acknowledged event in `fd` is stored once, as acknowledged (same
 * stream and version), its command's events are all there and no more
 * (no commit stored twice under other event ids), and its aggregate's
 * projection row is there at its version or later.  Returns the number of
 * problems (printed); *n_acks: how many events were acknowledged. */
static int check_acks(PGconn *c, int fd, int64_t *n_acks) {
    int problems = 0;
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    ack r;
    ssize_t got;
    while ((got = read(fd, &r, sizeof r)) == (ssize_t)sizeof r) {
        ++*n_acks;
        char v[32], nd[16];
        snprintf(v, sizeof v, "%lld", (long long)r.version);
        snprintf(nd, sizeof nd, "%d", r.n_direct);
        const char *ev[4] = {r.event_id, r.aggregate_type, r.aggregate_id, v};
        int64_t stored = q_params(c,
            "SELECT count(*) FROM events WHERE event_id = $1::uuid AND "
            "aggregate_type = $2 AND aggregate_id = $3 AND version = $4::bigint", 4, ev);
        const char *cmd[1] = {r.command_id};
        int64_t of_command = r.direct ? q_params(c,
            "SELECT count(*) FROM events WHERE metadata->>'command_id' = $1", 1, cmd)
                                      : r.n_direct;
        const char *row[2] = {r.aggregate_id, v};
        int64_t rows = q_params(c, strcmp(r.aggregate_type, "Account") == 0
            ? "SELECT count(*) FROM bank_accounts WHERE aggregate_id = $1 AND version >= $2::bigint"
            : "SELECT count(*) FROM transfers WHERE aggregate_id = $1 AND version >= $2::bigint",
            2, row);
        if (stored != 1 || of_command != r.n_direct || rows != 1) {
            fprintf(stderr, "PROBLEM: acknowledged %s %s version %lld (event %s): "
                            "stored %lld times; its command has %lld events, "
                            "acknowledged %d; projection rows at that version or "
                            "later: %lld\n",
                    r.aggregate_type, r.aggregate_id, (long long)r.version,
                    r.event_id, (long long)stored, (long long)of_command,
                    r.n_direct, (long long)rows);
            problems++;
        }
    }
    assert_true(got >= 0); /* a truncated last record (killed mid-write) is dropped */
    close(fd);
    return problems;
}

/* (b) + (c) Clients killed with SIGKILL while dispatching, at random
 * moments, two at a time, round after round; after each round the store
 * must be consistent (rel_verify_all: no version gap, no event without its
 * projection row, rows = replay, money adds up with what is in flight).
 * Every event a killed client was acknowledged (recorded in a file outside
 * the client after each successful dispatch) is stored exactly once with
 * its projection row (check_acks), as in the server-crash test.
 * Transfers left half-way by the kills (status requested / initiated /
 * reverted: at least one is required, more rounds are run until there is
 * one) are then finished by the reactor (inc_reactor_run, saga
 * registered) in a new process; afterwards every transfer is completed or cancelled, moved
 * its money exactly once, nothing is in flight, and everything is
 * consistent. */
static void test_kill_mid_dispatch_then_react(void **state) {
    (void)state;
    const char *db = rel_db();
    char schema[64];
    rel_schema_create(db, "kill", schema);
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(db, schema, true, &err);
    assert_non_null(app);
    setup_accounts(app, 5000);
    PGconn *c = rel_conn(db, schema);

    uint64_t seed = (uint64_t)getpid() * 2654435761u + 1;
    int rounds = 0, problems = 0;
    int64_t unfinished = 0, acked = 0;
    while (rounds < 6 || (unfinished == 0 && rounds < 40)) {
        bool transfers_only = rounds >= 6; /* make a cut saga likelier */
        int acks_a = ack_file(), acks_b = ack_file();
        pid_t a = spawn_busy(db, schema, rounds * 2, transfers_only, acks_a);
        pid_t b = spawn_busy(db, schema, rounds * 2 + 1, transfers_only, acks_b);
        sleep_ms(150 + (long)(rnd(&seed) % 450));
        kill(a, SIGKILL);
        sleep_ms((long)(rnd(&seed) % 40));
        kill(b, SIGKILL);
        int st;
        assert_int_equal(waitpid(a, &st, 0), a);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        assert_int_equal(waitpid(b, &st, 0), b);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        rounds++;
        char label[32];
        snprintf(label, sizeof label, "kill round %d", rounds);
        problems += rel_verify_all(c, app, label);
        problems += check_acks(c, acks_a, &acked);
        problems += check_acks(c, acks_b, &acked);
        unfinished = rel_count_unfinished(c);
    }
    int64_t by_status[3] = {
        rel_q_int(c, "SELECT count(*) FROM transfers WHERE status = 'requested'"),
        rel_q_int(c, "SELECT count(*) FROM transfers WHERE status = 'initiated'"),
        rel_q_int(c, "SELECT count(*) FROM transfers WHERE status = 'reverted'")};
    printf("[client_kill] %d rounds of 2 clients killed with SIGKILL: %lld "
           "events (%lld acknowledged to the clients, each found stored once "
           "with its row), %lld transfers, %lld cut half-way (requested %lld, "
           "initiated %lld, reverted %lld)\n",
           rounds, (long long)rel_q_int(c, "SELECT count(*) FROM events"),
           (long long)acked,
           (long long)rel_q_int(c, "SELECT count(*) FROM transfers"),
           (long long)unfinished, (long long)by_status[0],
           (long long)by_status[1], (long long)by_status[2]);
    assert_int_equal(problems, 0);
    assert_true(acked > 0);
    assert_true(unfinished > 0);

    /* (c) the reactor in a new process */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        inc_error e;
        inc_error_clear(&e);
        inc_app *r = rel_app_open(db, schema, true, &e);
        inc_reactor_stats st;
        memset(&st, 0, sizeof st);
        int rc = r ? inc_reactor_run(r, NULL, NULL, &st, &e) : -1;
        printf("[client_kill] reactor in a new process: rc %d, %lld events "
               "handled, %lld recorded%s%s\n", rc,
               (long long)st.events_handled, (long long)st.events_recorded,
               rc ? ": " : "", rc ? e.message : "");
        fflush(stdout);
        rel_app_close(r);
        _exit(rc == 0 && st.events_recorded > 0 ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    assert_int_equal(rel_count_unfinished(c), 0);
    assert_int_equal(rel_verify_transfers(c), 0);
    assert_int_equal(rel_verify_all(c, app, "after the reactor"), 0);
    int64_t flight = -1;
    assert_int_equal(rel_verify_money(c, NULL, &flight), 0);
    assert_int_equal(flight, 0);
    PQfinish(c);
    rel_app_close(app);
    rel_schema_drop(db, schema);
}

/* What the old bank_saga_resume could not do safely (docs/guarantees.md had to
 * warn that the source paid twice): a saga whose TransferRequested is
 * committed but whose handler has not run yet, in a process that is still
 * alive, finished by a reactor; then the late handler runs for the same
 * event (played by a second reactor under another consumer name, which
 * runs the same handlers for the same events).  The money moves once:
 * the late run's commands carry the same derived ids and are answered
 * from their records. */
static void test_late_handler_beside_reactor_pays_once(void **state) {
    (void)state;
    const char *db = rel_db();
    char schema[64];
    rel_schema_create(db, "live", schema);
    inc_error err;
    inc_error_clear(&err);
    inc_app *live = rel_app_open(db, schema, false, &err); /* handler "pending" */
    assert_non_null(live);
    setup_accounts(live, 1000);
    assert_int_equal(rel_transfer(live, "t-live", "acc-0", "acc-1", 100, NULL, &err), 0);

    inc_app *reactor = rel_app_open(db, schema, true, &err);
    assert_non_null(reactor);
    inc_reactor_stats st;
    assert_int_equal(inc_reactor_run(reactor, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.events_recorded, 4); /* sent, initiated, received, completed */

    inc_reactor_options late = {0};
    late.name = "late-handlers";
    assert_int_equal(inc_reactor_run(reactor, &late, NULL, &st, &err), 0);
    assert_true(st.events_handled >= 2);
    assert_int_equal(st.events_recorded, 0);

    PGconn *c = rel_conn(db, schema);
    int64_t sends = rel_q_int(c,
        "SELECT count(*) FROM events WHERE event_type = 'MoneySent' AND "
        "data->>'transfer_id' = 't-live'");
    int64_t receipts = rel_q_int(c,
        "SELECT count(*) FROM events WHERE event_type = 'MoneyReceived' AND "
        "data->>'transfer_id' = 't-live'");
    printf("[late_handler] MoneySent / MoneyReceived events for one transfer: "
           "%lld / %lld\n", (long long)sends, (long long)receipts);
    assert_int_equal(sends, 1);
    assert_int_equal(receipts, 1);
    assert_int_equal(rel_count_unfinished(c), 0);
    PQfinish(c);
    rel_app_close(reactor);
    rel_app_close(live);
    rel_schema_drop(db, schema);
}

int main(int argc, char **argv) {
    const struct CMUnitTest crash[] = {
        cmocka_unit_test(test_server_restart_between_calls),
        cmocka_unit_test(test_server_crash_mid_dispatch),
    };
    const struct CMUnitTest kill_tests[] = {
        cmocka_unit_test(test_kill_mid_dispatch_then_react),
        cmocka_unit_test(test_late_handler_beside_reactor_pays_once),
    };
    if (argc == 2 && strcmp(argv[1], "server_crash") == 0)
        return cmocka_run_group_tests_name("server_crash", crash, NULL, NULL);
    if (argc == 2 && strcmp(argv[1], "client_kill") == 0)
        return cmocka_run_group_tests_name("client_kill", kill_tests, NULL, NULL);
    fprintf(stderr, "usage: %s server_crash|client_kill\n", argv[0]);
    return 2;
}
