/* test_concurrency.c - eight processes on ten accounts at once.
 *
 * Every process has its own connection and app with the transfer saga
 * registered, and dispatches REL_OPS random commands: deposits,
 * withdrawals and transfers (RequestTransfer, which the saga drives to
 * completed or cancelled) among the same ten accounts, so commands on one
 * aggregate race all the time.  Afterwards (rel.h):
 *   - sum of balances = total deposited - total withdrawn, as reported by
 *     the processes (successful dispatches) AND as summed over the events;
 *   - each account's balance = its opening deposit + the money events the
 *     processes were acknowledged for it (inc_result: deposits, withdrawals
 *     and the saga's sends, receipts and reversals), and its stream holds
 *     exactly the events acknowledged to some process (plus the 2 of the
 *     setup);
 *   - contention happened: the processes start together (a barrier) and
 *     the run fails unless conflicts were retried and at least one
 *     account's stream has events of several processes interleaved;
 *   - every stream's versions are 1..N with no gap and no duplicate;
 *   - every projection row (bank_accounts, transfers) equals a fresh replay
 *     of its stream, at the stream's last version;
 *   - every transfer ended completed or cancelled, and moved its money
 *     exactly as its status says;
 *   - no deadlock: the whole run is bounded (REL_DEADLINE seconds), a
 *     process still running then fails the test;
 *   - no error but domain rejections; version conflicts are retried inside
 *     the runtime and counted (inc_app_conflicts). */
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

#define N_PROCS 8
#define N_ACCOUNTS 10
#define INITIAL 10000
#define DEADLINE 240.0 /* seconds for the whole run (normally ~10-40) */

static int ops_per_proc(void) {
    const char *e = getenv("REL_OPS");
    int n = e ? atoi(e) : 300;
    return n > 0 ? n : 300;
}

typedef struct tally {
    int64_t deposited, withdrawn;
    int64_t ok, rejected, transfers, handler_failures, other_errors;
    uint64_t conflicts;
    /* per account: money in minus money out that this process was
     * acknowledged (its deposits and withdrawals; its completed transfers,
     * from the source to the destination it asked for); and, from the
     * events acknowledged to it, how many and their lowest and highest
     * version */
    int64_t net[N_ACCOUNTS], events[N_ACCOUNTS];
    int64_t first[N_ACCOUNTS], last[N_ACCOUNTS];
    char first_error[256];
} tally;

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void note_error(tally *t, const char *what, const inc_error *e) {
    t->other_errors++;
    if (!t->first_error[0])
        snprintf(t->first_error, sizeof t->first_error, "%s: %s: %.200s", what,
                 inc_error_kind_name(e->kind), e->message);
}

/* Account events of one acknowledged dispatch (the command's own and those
 * of the saga steps it drove) into the tally: how many per account and
 * their versions. */
static void count_events(tally *t, const inc_result *res) {
    for (size_t i = 0; i < res->count; i++) {
        const inc_recorded_event *e = &res->events[i];
        int a;
        if (strcmp(e->aggregate_type, bank_account_type.name) != 0 ||
            sscanf(e->aggregate_id, "acc-%d", &a) != 1 || a < 0 || a >= N_ACCOUNTS)
            continue;
        t->events[a]++;
        if (t->first[a] == 0 || e->version < t->first[a]) t->first[a] = e->version;
        if (e->version > t->last[a]) t->last[a] = e->version;
    }
}

/* How transfer `tid` ended in this dispatch: 1 completed, 0 cancelled, -1
 * neither (the saga runs in the dispatching process, so it has ended). */
static int transfer_outcome(const inc_result *res, const char *tid) {
    for (size_t i = 0; i < res->count; i++) {
        const inc_recorded_event *e = &res->events[i];
        if (strcmp(e->aggregate_id, tid) != 0) continue;
        if (e->desc == &bank_transfer_completed_desc) return 1;
        if (e->desc == &bank_transfer_cancelled_desc) return 0;
    }
    return -1;
}

static void worker(const char *db, const char *schema, int me, int fd, int go) {
    tally t;
    memset(&t, 0, sizeof t);
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(db, schema, true, &err);
    /* the barrier: every process connected, then all start at once */
    char c;
    if (read(go, &c, 1) != 0) note_error(&t, "barrier", &err);
    close(go);
    if (!app) {
        note_error(&t, "open", &err);
    } else {
        uint64_t seed = 0x9e3779b97f4a7c15u ^ ((uint64_t)me * 7919u + 1);
        int n = ops_per_proc();
        for (int i = 0; i < n; i++) {
            char acc[32], dst[32], tid[64];
            int a = (int)(rnd(&seed) % N_ACCOUNTS), b;
            snprintf(acc, sizeof acc, "acc-%d", a);
            int64_t amount = (int64_t)(rnd(&seed) % 300) + 1;
            int kind = (int)(rnd(&seed) % 3), rc;
            inc_result res;
            inc_result_init(&res);
            switch (kind) {
            case 0:
                rc = rel_deposit_r(app, acc, amount, &res, &err);
                if (rc == 0) {
                    t.deposited += amount;
                    t.net[a] += amount;
                }
                break;
            case 1:
                rc = rel_withdraw_r(app, acc, amount, &res, &err);
                if (rc == 0) {
                    t.withdrawn += amount;
                    t.net[a] -= amount;
                }
                break;
            default:
                do b = (int)(rnd(&seed) % N_ACCOUNTS);
                while (b == a);
                snprintf(dst, sizeof dst, "acc-%d", b);
                snprintf(tid, sizeof tid, "t-%d-%d", me, i);
                /* amounts above the balance now and then: compensation */
                rc = rel_transfer(app, tid, acc, dst, amount * 20, &res, &err);
                if (rc == 0) {
                    t.transfers++;
                    int out = transfer_outcome(&res, tid);
                    if (out == 1) {
                        t.net[a] -= amount * 20;
                        t.net[b] += amount * 20;
                    }
                    if (out < 0 && !res.handler_failed)
                        note_error(&t, "transfer neither completed nor cancelled", &err);
                }
                if (rc == 0 && res.handler_failed) {
                    t.handler_failures++;
                    note_error(&t, "saga step", &res.handler_error);
                }
                break;
            }
            if (rc == 0) count_events(&t, &res);
            inc_result_free(&res);
            if (rc == 0) t.ok++;
            else if (err.kind == INC_ERR_REJECTED) t.rejected++;
            else note_error(&t, "dispatch", &err);
        }
        t.conflicts = inc_app_conflicts(app);
        rel_app_close(app);
    }
    ssize_t w = write(fd, &t, sizeof t);
    _exit(w == (ssize_t)sizeof t ? 0 : 1);
}

static void test_eight_processes_ten_accounts(void **state) {
    (void)state;
    const char *db = rel_db();
    char schema[64];
    rel_schema_create(db, "conc", schema);
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(db, schema, true, &err);
    assert_non_null(app);
    assert_int_equal(inc_store_init(inc_app_store(app), &bank_domain, &err), 0);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        char acc[32];
        snprintf(acc, sizeof acc, "acc-%d", i);
        assert_int_equal(rel_open_account(app, acc, &err), 0);
        assert_int_equal(rel_deposit(app, acc, INITIAL, &err), 0);
    }

    pid_t pids[N_PROCS];
    int fds[N_PROCS], go[2];
    assert_int_equal(pipe(go), 0); /* closed by the parent: start */
    fflush(NULL);
    for (int p = 0; p < N_PROCS; p++) {
        int pipefd[2];
        assert_int_equal(pipe(pipefd), 0);
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            close(pipefd[0]);
            close(go[1]);
            for (int q = 0; q < p; q++) close(fds[q]);
            worker(db, schema, p, pipefd[1], go[0]);
        }
        close(pipefd[1]);
        fds[p] = pipefd[0];
    }
    close(go[0]);
    double t0 = rel_now();
    close(go[1]);
    /* Bounded wait: a deadlock (or a livelock of retries) fails here. */
    int done = 0, status[N_PROCS];
    bool exited[N_PROCS] = {false};
    while (done < N_PROCS && rel_now() - t0 < DEADLINE) {
        for (int p = 0; p < N_PROCS; p++) {
            if (exited[p]) continue;
            pid_t r = waitpid(pids[p], &status[p], WNOHANG);
            if (r == pids[p]) {
                exited[p] = true;
                done++;
            }
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int p = 0; p < N_PROCS; p++)
        if (!exited[p]) {
            fprintf(stderr, "PROBLEM: process %d still running after %.0f s "
                            "(deadlock?): killed\n", p, DEADLINE);
            kill(pids[p], SIGKILL);
            waitpid(pids[p], &status[p], 0);
        }
    double secs = rel_now() - t0;
    assert_int_equal(done, N_PROCS);

    tally sum, each[N_PROCS];
    memset(&sum, 0, sizeof sum);
    for (int p = 0; p < N_PROCS; p++) {
        tally t;
        memset(&t, 0, sizeof t);
        ssize_t got = read(fds[p], &t, sizeof t);
        each[p] = t;
        close(fds[p]);
        assert_true(WIFEXITED(status[p]) && WEXITSTATUS(status[p]) == 0);
        assert_int_equal(got, (ssize_t)sizeof t);
        sum.deposited += t.deposited;
        sum.withdrawn += t.withdrawn;
        sum.ok += t.ok;
        sum.rejected += t.rejected;
        sum.transfers += t.transfers;
        sum.handler_failures += t.handler_failures;
        sum.other_errors += t.other_errors;
        sum.conflicts += t.conflicts;
        for (int a = 0; a < N_ACCOUNTS; a++) {
            sum.net[a] += t.net[a];
            sum.events[a] += t.events[a];
        }
        if (t.first_error[0]) fprintf(stderr, "process %d: %s\n", p, t.first_error);
    }

    /* Interleaving: two processes whose version ranges on one stream
     * overlap wrote between each other's events (versions are unique). */
    int interleaved = 0;
    for (int a = 0; a < N_ACCOUNTS; a++) {
        bool hit = false;
        for (int p = 0; p < N_PROCS && !hit; p++)
            for (int q = p + 1; q < N_PROCS && !hit; q++)
                hit = each[p].events[a] && each[q].events[a] &&
                      each[p].first[a] < each[q].last[a] &&
                      each[q].first[a] < each[p].last[a];
        if (hit) interleaved++;
    }

    PGconn *c = rel_conn(db, schema);
    int64_t commits = rel_q_int(c, "SELECT count(DISTINCT metadata->>'command_id') FROM events");
    int64_t completed = rel_q_int(c, "SELECT count(*) FROM transfers WHERE status = 'completed'");
    int64_t cancelled = rel_q_int(c, "SELECT count(*) FROM transfers WHERE status = 'cancelled'");
    printf("[concurrency] %d processes x %d commands in %.1f s: %lld ok, %lld "
           "rejected, %lld transfers (%lld completed, %lld cancelled), %llu "
           "conflicts retried, %lld commits in total, %lld other errors, "
           "%d of %d accounts written by interleaved processes\n",
           N_PROCS, ops_per_proc(), secs, (long long)sum.ok,
           (long long)sum.rejected, (long long)sum.transfers,
           (long long)completed, (long long)cancelled,
           (unsigned long long)sum.conflicts, (long long)commits,
           (long long)(sum.other_errors + sum.handler_failures), interleaved,
           N_ACCOUNTS);
    assert_int_equal(sum.other_errors, 0);
    assert_int_equal(sum.handler_failures, 0);
    /* a run where nothing raced proves nothing */
    assert_true(sum.conflicts > 0);
    assert_true(interleaved > 0);

    assert_int_equal(rel_verify_all(c, app, "concurrency"), 0);
    int64_t bal = 0, flight = 0;
    assert_int_equal(rel_verify_money(c, &bal, &flight), 0);
    int64_t expect = (int64_t)N_ACCOUNTS * INITIAL + sum.deposited - sum.withdrawn;
    if (bal != expect)
        fprintf(stderr, "PROBLEM: balances %lld, processes deposited/withdrew to %lld\n",
                (long long)bal, (long long)expect);
    assert_int_equal(bal, expect);
    /* per account: the balance, and every stored event acknowledged once */
    for (int a = 0; a < N_ACCOUNTS; a++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT balance FROM bank_accounts WHERE aggregate_id = 'acc-%d'", a);
        int64_t got = rel_q_int(c, sql);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM events WHERE aggregate_type = 'Account' "
                 "AND aggregate_id = 'acc-%d'", a);
        int64_t stored = rel_q_int(c, sql);
        if (got != INITIAL + sum.net[a] || stored != 2 + sum.events[a])
            fprintf(stderr, "PROBLEM: acc-%d: balance %lld, acknowledged %lld; "
                            "%lld events stored, %lld acknowledged + 2\n", a,
                    (long long)got, (long long)(INITIAL + sum.net[a]),
                    (long long)stored, (long long)sum.events[a]);
        assert_int_equal(got, INITIAL + sum.net[a]);
        assert_int_equal(stored, 2 + sum.events[a]);
    }
    assert_int_equal(flight, 0);
    assert_int_equal(rel_count_unfinished(c), 0);
    assert_int_equal(completed + cancelled, sum.transfers);
    assert_int_equal(rel_verify_transfers(c), 0);
    PQfinish(c);
    rel_app_close(app);
    rel_schema_drop(db, schema);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eight_processes_ten_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
