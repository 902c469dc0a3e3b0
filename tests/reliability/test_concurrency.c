/* test_concurrency.c - eight processes on ten accounts at once.
 *
 * Every process has its own connection and app with the transfer saga
 * registered, and dispatches REL_OPS random commands: deposits,
 * withdrawals and transfers (RequestTransfer, which the saga drives to
 * completed or cancelled) among the same ten accounts, so commands on one
 * aggregate race all the time.  Afterwards (rel.h):
 *   - sum of balances = total deposited - total withdrawn, as reported by
 *     the processes (successful dispatches) AND as summed over the events;
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

static void worker(const char *db, const char *schema, int me, int fd) {
    tally t;
    memset(&t, 0, sizeof t);
    inc_error err;
    inc_error_clear(&err);
    inc_app *app = rel_app_open(db, schema, true, &err);
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
                rc = rel_deposit(app, acc, amount, &err);
                if (rc == 0) t.deposited += amount;
                break;
            case 1:
                rc = rel_withdraw(app, acc, amount, &err);
                if (rc == 0) t.withdrawn += amount;
                break;
            default:
                do b = (int)(rnd(&seed) % N_ACCOUNTS);
                while (b == a);
                snprintf(dst, sizeof dst, "acc-%d", b);
                snprintf(tid, sizeof tid, "t-%d-%d", me, i);
                /* amounts above the balance now and then: compensation */
                rc = rel_transfer(app, tid, acc, dst, amount * 20, &res, &err);
                if (rc == 0) t.transfers++;
                if (rc == 0 && res.handler_failed) {
                    t.handler_failures++;
                    note_error(&t, "saga step", &res.handler_error);
                }
                break;
            }
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

    double t0 = rel_now();
    pid_t pids[N_PROCS];
    int fds[N_PROCS];
    fflush(NULL);
    for (int p = 0; p < N_PROCS; p++) {
        int pipefd[2];
        assert_int_equal(pipe(pipefd), 0);
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            close(pipefd[0]);
            worker(db, schema, p, pipefd[1]);
        }
        close(pipefd[1]);
        fds[p] = pipefd[0];
    }
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

    tally sum;
    memset(&sum, 0, sizeof sum);
    for (int p = 0; p < N_PROCS; p++) {
        tally t;
        ssize_t got = read(fds[p], &t, sizeof t);
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
        if (t.first_error[0]) fprintf(stderr, "process %d: %s\n", p, t.first_error);
    }

    PGconn *c = rel_conn(db, schema);
    int64_t commits = rel_q_int(c, "SELECT count(DISTINCT metadata->>'command_id') FROM events");
    int64_t completed = rel_q_int(c, "SELECT count(*) FROM transfers WHERE status = 'completed'");
    int64_t cancelled = rel_q_int(c, "SELECT count(*) FROM transfers WHERE status = 'cancelled'");
    printf("[concurrency] %d processes x %d commands in %.1f s: %lld ok, %lld "
           "rejected, %lld transfers (%lld completed, %lld cancelled), %llu "
           "conflicts retried, %lld commits in total, %lld other errors\n",
           N_PROCS, ops_per_proc(), secs, (long long)sum.ok,
           (long long)sum.rejected, (long long)sum.transfers,
           (long long)completed, (long long)cancelled,
           (unsigned long long)sum.conflicts, (long long)commits,
           (long long)(sum.other_errors + sum.handler_failures));
    assert_int_equal(sum.other_errors, 0);
    assert_int_equal(sum.handler_failures, 0);

    assert_int_equal(rel_verify_all(c, app, "concurrency"), 0);
    int64_t bal = 0, flight = 0;
    assert_int_equal(rel_verify_money(c, &bal, &flight), 0);
    int64_t expect = (int64_t)N_ACCOUNTS * INITIAL + sum.deposited - sum.withdrawn;
    if (bal != expect)
        fprintf(stderr, "PROBLEM: balances %lld, processes deposited/withdrew to %lld\n",
                (long long)bal, (long long)expect);
    assert_int_equal(bal, expect);
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
