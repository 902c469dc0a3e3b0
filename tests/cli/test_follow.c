/* test_follow.c - the CLI's `follow`, `react` and `consumers`
 * (docs/cli.md) on the counter domain: the line format (`events`' objects
 * plus position), --consumer checkpoints, --limit, --idle, SIGTERM/SIGINT
 * exiting 0 with the checkpoint saved, usage errors; also with --memory.
 * (`react` doing work: tests/reliability/test_reactions.c, with `bank`.) */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
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
#include <jansson.h>

#include "harness.h"

typedef struct child {
    pid_t pid;
    int out, err;
} child;

static child start(const char *db, const char *const *args) {
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    fflush(NULL);
    child c = {fork(), po[0], pe[0]};
    assert_true(c.pid >= 0);
    if (c.pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        char *argv[16];
        int n = 0;
        argv[n++] = (char *)COUNTER_CLI;
        if (db) {
            argv[n++] = (char *)"--db";
            argv[n++] = (char *)db;
        }
        for (int i = 0; args[i] && n < 15; i++) argv[n++] = (char *)args[i];
        argv[n] = NULL;
        execv(COUNTER_CLI, argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    return c;
}

/* Read what `fd` has until it closes or, with `until_lines`, until that
 * many lines arrived; appends to *buf. */
static void read_out(int fd, char **buf, size_t *len, int until_lines) {
    for (;;) {
        if (until_lines > 0) {
            int lines = 0;
            for (size_t i = 0; i < *len; i++) lines += (*buf)[i] == '\n';
            if (lines >= until_lines) return;
        }
        struct pollfd p = {fd, POLLIN, 0};
        assert_true(poll(&p, 1, 30000) > 0);
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0) return;
        char *nb = realloc(*buf, *len + (size_t)n + 1);
        assert_non_null(nb);
        memcpy(nb + *len, tmp, (size_t)n);
        *len += (size_t)n;
        nb[*len] = '\0';
        *buf = nb;
    }
}

typedef struct result {
    int code;
    char *out, *err;
} result;

static result finish(child c, char *out, size_t olen) {
    char *err = NULL;
    size_t elen = 0;
    read_out(c.out, &out, &olen, 0);
    read_out(c.err, &err, &elen, 0);
    close(c.out);
    close(c.err);
    int st;
    assert_int_equal(waitpid(c.pid, &st, 0), c.pid);
    assert_true(WIFEXITED(st));
    result r = {WEXITSTATUS(st), out ? out : calloc(1, 1), err ? err : calloc(1, 1)};
    return r;
}

#define RUN(db, ...) finish(start((db), (const char *const[]){__VA_ARGS__, NULL}), NULL, 0)

static void result_free(result *r) {
    free(r->out);
    free(r->err);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

typedef struct fx {
    char schema[64];
    char *db;
} fx;

static int setup(void **state) {
    if (!th_db()) fail_msg("INCIDENT_DB is not set: these tests need PostgreSQL");
    fx *f = calloc(1, sizeof *f);
    th_unique_schema(f->schema);
    th_create_schema(f->schema);
    f->db = th_conninfo_for_schema(f->schema);
    result r = RUN(f->db, "init");
    assert_int_equal(r.code, 0);
    result_free(&r);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    th_drop_schema(f->schema);
    free(f->db);
    free(f);
    return 0;
}

static void add(const fx *f, const char *id, int amount) {
    char json[64];
    snprintf(json, sizeof json, "{\"aggregate_id\":\"%s\",\"amount\":%d}", id, amount);
    result r = RUN(f->db, "dispatch", "Add", json);
    assert_int_equal(r.code, 0);
    result_free(&r);
}

static void test_follow_lines(void **state) {
    fx *f = *state;
    add(f, "a", 1);
    add(f, "b", 2);
    add(f, "a", 3);
    /* (--limit rather than --idle: a transaction elsewhere on the server,
     * e.g. a test running at the same time, may delay the log a little) */
    result r = RUN(f->db, "follow", "--limit", "3");
    assert_int_equal(r.code, 0);
    assert_string_equal(r.err, "");
    assert_int_equal(count_lines(r.out), 3);
    /* the first line: `events`' object plus position */
    result e = RUN(f->db, "events", "Counter", "a");
    char *nl = strchr(e.out, '\n');
    *nl = '\0';
    json_error_t je;
    json_t *ev = json_loads(e.out, 0, &je), *fl = json_loadb(r.out, (size_t)(strchr(r.out, '\n') - r.out), 0, &je);
    assert_non_null(ev);
    assert_non_null(fl);
    assert_true(json_is_integer(json_object_get(fl, "position")));
    json_object_del(fl, "position");
    assert_true(json_equal(ev, fl));
    json_decref(ev);
    json_decref(fl);
    result_free(&e);
    result_free(&r);
    /* without --consumer it starts at the beginning every time */
    r = RUN(f->db, "follow", "--limit", "2");
    assert_int_equal(r.code, 0);
    assert_int_equal(count_lines(r.out), 2);
    result_free(&r);
}

static void test_follow_consumer_checkpoint(void **state) {
    fx *f = *state;
    for (int i = 1; i <= 5; i++) add(f, "c", i);
    result r = RUN(f->db, "follow", "--consumer", "cli", "--limit", "2");
    assert_int_equal(r.code, 0);
    assert_int_equal(count_lines(r.out), 2);
    assert_non_null(strstr(r.out, "\"version\":2"));
    result_free(&r);
    r = RUN(f->db, "consumers");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "\"consumer\":\"cli\""));
    assert_non_null(strstr(r.out, "\"lag\":3"));
    result_free(&r);
    r = RUN(f->db, "follow", "--consumer", "cli", "--limit", "3");
    assert_int_equal(r.code, 0);
    assert_int_equal(count_lines(r.out), 3);
    assert_non_null(strstr(r.out, "\"version\":3"));
    assert_null(strstr(r.out, "\"version\":2"));
    result_free(&r);
    r = RUN(f->db, "follow", "--consumer", "cli", "--idle", "50");
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "");
    result_free(&r);
    r = RUN(f->db, "consumers");
    assert_non_null(strstr(r.out, "\"lag\":0"));
    result_free(&r);
}

/* Following live: lines for new commits as they come; SIGTERM (then
 * SIGINT) ends it with exit 0 and the checkpoint saved. */
static void test_follow_signal(void **state) {
    fx *f = *state;
    int sigs[2] = {SIGTERM, SIGINT};
    for (int k = 0; k < 2; k++) {
        child c = start(f->db, (const char *const[]){"follow", "--consumer", "live", NULL});
        char *out = NULL;
        size_t len = 0;
        add(f, "live", 1);
        read_out(c.out, &out, &len, 1); /* it arrived while following */
        kill(c.pid, sigs[k]);
        result r = finish(c, out, len);
        assert_int_equal(r.code, 0);
        assert_int_equal(count_lines(r.out), 1);
        result_free(&r);
    }
    result r = RUN(f->db, "follow", "--consumer", "live", "--idle", "50");
    assert_string_equal(r.out, ""); /* both saved */
    result_free(&r);
}

static void test_follow_usage(void **state) {
    fx *f = *state;
    const char *bad[][3] = {{"--limit", "0", NULL}, {"--limit", "x", NULL},
                            {"--idle", "-1", NULL}, {"--consumer", NULL, NULL},
                            {"--what", "1", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        result r = finish(start(f->db, (const char *const[]){"follow", bad[i][0],
                                                            bad[i][1], NULL}),
                          NULL, 0);
        assert_int_equal(r.code, 2);
        assert_non_null(strstr(r.err, "usage: follow"));
        result_free(&r);
    }
    result r = RUN(f->db, "consumers", "extra");
    assert_int_equal(r.code, 2);
    result_free(&r);
    r = RUN(NULL, "--db", "host=/nonexistent dbname=x", "follow", "--idle", "10");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "unavailable"));
    result_free(&r);
    r = RUN(NULL, "--memory", "follow", "--idle", "10");
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "");
    result_free(&r);
    r = RUN(NULL, "--memory", "consumers");
    assert_int_equal(r.code, 0);
    result_free(&r);
    r = RUN(NULL, "--help");
    assert_non_null(strstr(r.out, "follow [--consumer NAME]"));
    assert_non_null(strstr(r.out, "consumers"));
    result_free(&r);
}

/* `react` takes follow's --limit and --idle (not --consumer), ends on
 * SIGTERM/SIGINT with exit 0, and with no handler (the counter domain has
 * none) prints nothing; its consumer is listed. */
static void test_react_flags(void **state) {
    fx *f = *state;
    add(f, "r", 1);
    const char *bad[][3] = {{"--limit", "0", NULL}, {"--idle", "x", NULL},
                            {"--consumer", "c", NULL}, {"--what", "1", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        result r = finish(start(f->db, (const char *const[]){"react", bad[i][0],
                                                            bad[i][1], NULL}),
                          NULL, 0);
        assert_int_equal(r.code, 2);
        assert_non_null(strstr(r.err, "usage: react"));
        result_free(&r);
    }
    result r = RUN(f->db, "react", "--idle", "50");
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "");
    result_free(&r);
    r = RUN(f->db, "consumers");
    assert_non_null(strstr(r.out, "\"consumer\":\"incident.reactor\""));
    result_free(&r);
    /* the signal only once it runs: its consumer (re)created means it
     * is past its signal handlers (slow under valgrind) */
    PGconn *pg = PQconnectdb(f->db);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    int sigs[2] = {SIGTERM, SIGINT};
    for (int k = 0; k < 2; k++) {
        char *x = th_query1(pg, "DELETE FROM consumers", 0, NULL);
        free(x);
        child c = start(f->db, (const char *const[]){"react", NULL});
        add(f, "r", 1);
        for (int i = 0; i < 3000; i++) {
            x = th_query1(pg, "SELECT count(*) FROM consumers", 0, NULL);
            bool up = x && strcmp(x, "1") == 0;
            free(x);
            if (up) break;
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        kill(c.pid, sigs[k]);
        r = finish(c, NULL, 0);
        assert_int_equal(r.code, 0);
        assert_string_equal(r.out, "");
        result_free(&r);
    }
    PQfinish(pg);
    r = RUN(NULL, "--memory", "react", "--idle", "10");
    assert_int_equal(r.code, 0);
    result_free(&r);
    r = RUN(NULL, "--help");
    assert_non_null(strstr(r.out, "react [--limit N] [--idle MS]"));
    result_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_follow_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_consumer_checkpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_follow_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_react_flags, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
