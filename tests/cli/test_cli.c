/* test_cli.c - runs the counter domain's CLI (built from tests/cli/main.c)
 * as a child process and checks stdout, stderr and the exit code of every
 * subcommand against docs/cli.md. */
#define _XOPEN_SOURCE 700 /* POSIX 2008 + posix_openpt */

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

typedef struct run_out {
    int code;
    char *out, *err;
} run_out;

static void append(char **buf, size_t *len, const char *data, size_t n) {
    char *p = realloc(*buf, *len + n + 1);
    assert_non_null(p);
    memcpy(p + *len, data, n);
    *len += n;
    p[*len] = '\0';
    *buf = p;
}

/* Run the CLI with `args` (NULL-terminated).  INCIDENT_DB in the child is
 * `db` (NULL: unset).  tty_err: its stderr is a terminal (a pseudo-tty),
 * not a pipe. */
static run_out run_ex(const char *db, const char *const *args, bool tty_err) {
    int po[2], pe[2];
    const char *slave = NULL;
    assert_int_equal(pipe(po), 0);
    if (tty_err) {
        pe[0] = posix_openpt(O_RDWR | O_NOCTTY);
        assert_true(pe[0] >= 0);
        assert_int_equal(grantpt(pe[0]), 0);
        assert_int_equal(unlockpt(pe[0]), 0);
        assert_non_null(slave = ptsname(pe[0]));
        pe[1] = -1;
    } else {
        assert_int_equal(pipe(pe), 0);
    }
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (tty_err && (pe[1] = open(slave, O_RDWR | O_NOCTTY)) < 0) _exit(126);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        if (db) setenv("INCIDENT_DB", db, 1);
        else unsetenv("INCIDENT_DB");
        /* no libpq defaults leaking in from the test's environment */
        unsetenv("PGHOST");
        unsetenv("PGPORT");
        char *argv[32];
        int n = 0;
        argv[n++] = (char *)COUNTER_CLI;
        for (; args[n - 1] && n < 31; n++) argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        execv(COUNTER_CLI, argv);
        _exit(127);
    }
    close(po[1]);
    if (!tty_err) close(pe[1]);
    run_out r = {0, NULL, NULL};
    size_t lo = 0, le = 0;
    append(&r.out, &lo, "", 0);
    append(&r.err, &le, "", 0);
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        assert_true(poll(fds, 2, 60000) > 0);
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
            char buf[4096];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                append(&r.out, &lo, buf, (size_t)n);
            } else {
                append(&r.err, &le, buf, (size_t)n);
            }
        }
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    r.code = WEXITSTATUS(status);
    return r;
}

static void out_free(run_out *r) {
    free(r->out);
    free(r->err);
}

#define RUN(db, ...) run_ex((db), (const char *const[]){__VA_ARGS__, NULL}, false)
#define RUN_TTY(db, ...) run_ex((db), (const char *const[]){__VA_ARGS__, NULL}, true)

static void expect(run_out *r, int code) {
    if (r->code != code)
        fail_msg("exit %d, wanted %d\nstdout: %s\nstderr: %s", r->code, code,
                 r->out, r->err);
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (*s == '\n') n++;
    return n;
}

/* The n-th line (0-based) as JSON. */
static json_t *line_json(const char *s, size_t n) {
    for (; n > 0; n--) {
        s = strchr(s, '\n');
        assert_non_null(s);
        s++;
    }
    const char *end = strchr(s, '\n');
    assert_non_null(end);
    json_error_t je;
    json_t *j = json_loadb(s, (size_t)(end - s), 0, &je);
    if (!j) fail_msg("not JSON: %.*s", (int)(end - s), s);
    return j;
}

static const char *str(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    if (!v) fail_msg("no string %s", k);
    return v;
}

static json_int_t num(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) fail_msg("no integer %s", k);
    return json_integer_value(v);
}

/* Change the projection table behind the CLI's back: `sql` must affect
 * exactly one row and say so with RETURNING 1. */
static void damage(const char *db, const char *sql) {
    PGconn *c = PQconnectdb(db);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    PQclear(res);
    PQfinish(c);
}

/* The counters row of `id` through the CLI, as compact JSON (malloc'd). */
static char *row_text(const char *db, const char *id) {
    run_out r = RUN(db, "projection", "counters", id);
    expect(&r, 0);
    json_t *j = line_json(r.out, 0);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    out_free(&r);
    return text;
}

/* ---- fixture: a schema + conninfo selecting it ---- */

typedef struct cfx {
    char schema[64];
    char *db;
} cfx;

static int cli_setup(void **state) {
    if (!th_db()) fail_msg("INCIDENT_DB is not set: the CLI tests need a real PostgreSQL");
    cfx *f = calloc(1, sizeof *f);
    th_unique_schema(f->schema);
    th_create_schema(f->schema);
    f->db = th_conninfo_for_schema(f->schema);
    *state = f;
    return 0;
}

static int cli_teardown(void **state) {
    cfx *f = *state;
    if (!f) return 0;
    th_drop_schema(f->schema);
    free(f->db);
    free(f);
    return 0;
}

/* ---- tests without a database ---- */

static void test_help_and_usage(void **state) {
    (void)state;
    run_out r = RUN(NULL, "--help");
    expect(&r, 0);
    assert_non_null(strstr(r.out, "usage: counter_cli [--db CONNINFO"));
    assert_non_null(strstr(r.out, "dispatch [--command-id ID] COMMAND JSON"));
    assert_non_null(strstr(r.out, "prune-command-ids --older-than"));
    assert_non_null(strstr(r.out, "rebuild NAME"));
    assert_string_equal(r.err, "");
    out_free(&r);

    r = run_ex(NULL, (const char *const[]){NULL}, false);
    expect(&r, 2);
    assert_non_null(strstr(r.err, "usage:"));
    out_free(&r);

    const char *const *bad[] = {
        (const char *const[]){"frobnicate", NULL},
        (const char *const[]){"--nope", "init", NULL},
        (const char *const[]){"--db", NULL},
        (const char *const[]){"init", "extra", NULL},
        (const char *const[]){"dispatch", "Add", NULL},
        (const char *const[]){"state", "Counter", NULL},
        (const char *const[]){"events", NULL},
        (const char *const[]){"projection", NULL},
        (const char *const[]){"rebuild", NULL},
        (const char *const[]){"--memory", "--db", "x", "init", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = run_ex(NULL, bad[i], false);
        expect(&r, 2);
        assert_string_equal(r.out, "");
        assert_true(strlen(r.err) > 0);
        out_free(&r);
    }
}

/* Bad input is refused before any database is contacted. */
static void test_bad_input_without_db(void **state) {
    (void)state;
    const char *nodb = "host=/nonexistent-incident port=1";
    run_out r = RUN(nodb, "dispatch", "Nope", "{}");
    expect(&r, 2);
    assert_non_null(strstr(r.err, "Nope"));
    out_free(&r);
    r = RUN(nodb, "dispatch", "Add", "{\"aggregate_id\":\"a\",\"amount\":\"x\"}");
    expect(&r, 2);
    assert_non_null(strstr(r.err, "$.amount"));
    out_free(&r);
    r = RUN(nodb, "dispatch", "Add", "{\"aggregate_id\":\"a\"}");
    expect(&r, 2);
    assert_non_null(strstr(r.err, "$.amount"));
    out_free(&r);
    r = RUN(nodb, "dispatch", "Add", "{\"aggregate_id\":\"a\",\"amount\":1,\"x\":2}");
    expect(&r, 2);
    assert_non_null(strstr(r.err, "$.x"));
    out_free(&r);
    r = RUN(nodb, "dispatch", "Add", "not json");
    expect(&r, 2);
    out_free(&r);
    r = RUN(nodb, "dispatch", "Add", "{\"aggregate_id\":\"\",\"amount\":1}");
    expect(&r, 2);
    assert_non_null(strstr(r.err, "aggregate_id"));
    out_free(&r);
    /* a failed check is a rejection, also decided before any I/O */
    r = RUN(nodb, "dispatch", "Add", "{\"aggregate_id\":\"a\",\"amount\":0}");
    expect(&r, 3);
    assert_string_equal(r.err, "rejected: zero_amount\n");
    assert_string_equal(r.out, "");
    out_free(&r);
    r = RUN(nodb, "state", "Nope", "x");
    expect(&r, 2);
    out_free(&r);
    r = RUN(nodb, "projection", "nope");
    expect(&r, 2);
    out_free(&r);
    r = RUN(nodb, "rebuild", "nope");
    expect(&r, 2);
    out_free(&r);
    /* valid input, unreachable database: 1 */
    r = RUN(nodb, "dispatch", "Add", "{\"aggregate_id\":\"a\",\"amount\":1}");
    expect(&r, 1);
    assert_string_equal(r.out, "");
    out_free(&r);
    r = RUN(NULL, "--db", nodb, "init");
    expect(&r, 1);
    out_free(&r);
    r = RUN(NULL, "--db=host=/nonexistent-incident port=1", "state", "Counter", "a");
    expect(&r, 1);
    out_free(&r);
}

static void test_memory_store(void **state) {
    (void)state;
    run_out r = RUN(NULL, "--memory", "init");
    expect(&r, 0);
    out_free(&r);
    r = RUN(NULL, "--memory", "dispatch", "AddMany",
            "{\"aggregate_id\":\"m\",\"amount\":2,\"times\":2}");
    expect(&r, 0);
    assert_int_equal(count_lines(r.out), 2);
    json_t *j = line_json(r.out, 1);
    assert_int_equal(num(j, "version"), 2);
    json_decref(j);
    out_free(&r);
    r = RUN(NULL, "--memory", "dispatch", "Fail", "{\"aggregate_id\":\"m\"}");
    expect(&r, 3);
    assert_string_equal(r.err, "rejected: always_fails\n");
    out_free(&r);
    /* nothing persists between runs */
    r = RUN(NULL, "--memory", "state", "Counter", "m");
    expect(&r, 0);
    j = line_json(r.out, 0);
    assert_int_equal(num(j, "version"), 0);
    json_decref(j);
    out_free(&r);
}

/* ---- against PostgreSQL ---- */

static const char *const event_keys[] = {"event_id",   "aggregate_id",
                                         "aggregate_type", "version",
                                         "event_type", "event_date", "data"};

static void check_event_line(json_t *j, const char *id, json_int_t version,
                             const char *type) {
    assert_int_equal(json_object_size(j), 7);
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        (void)v;
        assert_string_equal(key, event_keys[k++]); /* and in this order */
    }
    assert_int_equal(strlen(str(j, "event_id")), 36);
    assert_string_equal(str(j, "aggregate_id"), id);
    assert_string_equal(str(j, "aggregate_type"), "Counter");
    assert_int_equal(num(j, "version"), version);
    assert_string_equal(str(j, "event_type"), type);
    inc_timestamp ts;
    assert_int_equal(inc_timestamp_parse(str(j, "event_date"), &ts), 0);
    assert_true(json_is_object(json_object_get(j, "data")));
}

static void test_full_session(void **state) {
    cfx *f = *state;
    run_out r = RUN(NULL, "--db", f->db, "init");
    expect(&r, 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    out_free(&r);
    r = RUN(f->db, "init"); /* idempotent; INCIDENT_DB is used */
    expect(&r, 0);
    assert_string_equal(r.err, "");
    out_free(&r);

    r = RUN(f->db, "dispatch", "Add", "{\"aggregate_id\":\"c1\",\"amount\":5}");
    expect(&r, 0);
    assert_string_equal(r.err, "");
    assert_int_equal(count_lines(r.out), 1);
    json_t *e1 = line_json(r.out, 0);
    check_event_line(e1, "c1", 1, "Added");
    assert_int_equal(num(json_object_get(e1, "data"), "amount"), 5);
    assert_int_equal(json_object_size(json_object_get(e1, "data")), 1);
    char first_id[40];
    snprintf(first_id, sizeof first_id, "%s", str(e1, "event_id"));
    json_decref(e1);
    out_free(&r);

    r = RUN(f->db, "dispatch", "AddMany",
            "{\"aggregate_id\":\"c1\",\"amount\":10,\"times\":3}");
    expect(&r, 0);
    assert_int_equal(count_lines(r.out), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *j = line_json(r.out, i);
        check_event_line(j, "c1", (json_int_t)i + 2, "Added");
        json_decref(j);
    }
    out_free(&r);

    r = RUN(f->db, "dispatch", "Label",
            "{\"aggregate_id\":\"c1\",\"label\":\"it's \\\"x\\\" \\\\ ☃\","
            "\"at\":\"2026-11-26T10:00:00+01:00\"}");
    expect(&r, 0);
    json_t *j = line_json(r.out, 0);
    check_event_line(j, "c1", 5, "Labeled");
    assert_string_equal(str(json_object_get(j, "data"), "at"),
                        "2026-11-26T09:00:00.000000Z");
    json_decref(j);
    out_free(&r);

    /* rejections: stderr "rejected: CODE", exit 3, nothing written */
    r = RUN(f->db, "dispatch", "Fail", "{\"aggregate_id\":\"c1\"}");
    expect(&r, 3);
    assert_string_equal(r.err, "rejected: always_fails\n");
    assert_string_equal(r.out, "");
    out_free(&r);
    r = RUN(f->db, "dispatch", "Label", "{\"aggregate_id\":\"new\",\"label\":\"x\"}");
    expect(&r, 3);
    assert_string_equal(r.err, "rejected: counter_not_found\n");
    out_free(&r);
    r = RUN(f->db, "dispatch", "Noop", "{\"aggregate_id\":\"c1\"}");
    expect(&r, 0);
    assert_string_equal(r.out, "");
    out_free(&r);

    /* state */
    r = RUN(f->db, "state", "Counter", "c1");
    expect(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    j = line_json(r.out, 0);
    assert_string_equal(str(j, "aggregate_id"), "c1");
    assert_int_equal(num(j, "version"), 5);
    assert_int_equal(num(j, "total"), 35);
    assert_string_equal(str(j, "label"), "it's \"x\" \\ ☃");
    assert_string_equal(str(j, "label_at"), "2026-11-26T09:00:00.000000Z");
    assert_string_equal(str(j, "mood"), "calm");
    inc_timestamp ts;
    assert_int_equal(inc_timestamp_parse(str(j, "updated_at"), &ts), 0);
    json_decref(j);
    out_free(&r);
    r = RUN(f->db, "state", "Counter", "nobody");
    expect(&r, 0);
    assert_string_equal(r.out,
                        "{\"aggregate_id\":\"nobody\",\"version\":0,\"updated_at\":"
                        "null,\"total\":0,\"label\":null,\"ratio\":0.0,\"big\":"
                        "false,\"label_at\":null,\"mood\":\"calm\"}\n");
    out_free(&r);

    /* events: the same objects as dispatch printed, in version order */
    r = RUN(f->db, "events", "Counter", "c1");
    expect(&r, 0);
    assert_int_equal(count_lines(r.out), 5);
    for (size_t i = 0; i < 5; i++) {
        j = line_json(r.out, i);
        check_event_line(j, "c1", (json_int_t)i + 1, i == 4 ? "Labeled" : "Added");
        if (i == 0) assert_string_equal(str(j, "event_id"), first_id);
        json_decref(j);
    }
    out_free(&r);
    r = RUN(f->db, "events", "Counter", "nobody");
    expect(&r, 0);
    assert_string_equal(r.out, "");
    out_free(&r);

    /* projection */
    r = RUN(f->db, "dispatch", "Add", "{\"aggregate_id\":\"b0\",\"amount\":2000}");
    expect(&r, 0);
    out_free(&r);
    r = RUN(f->db, "projection", "counters");
    expect(&r, 0);
    assert_int_equal(count_lines(r.out), 2);
    j = line_json(r.out, 0);
    assert_string_equal(str(j, "aggregate_id"), "b0");
    assert_int_equal(num(j, "total"), 2000);
    assert_true(json_is_true(json_object_get(j, "big")));
    assert_string_equal(str(j, "mood"), "busy");
    assert_int_equal(num(j, "version"), 1);
    json_decref(j);
    out_free(&r);
    r = RUN(f->db, "projection", "counters", "c1");
    expect(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    j = line_json(r.out, 0);
    static const char *const row_keys[] = {
        "aggregate_id", "total", "label", "ratio", "big", "label_at",
        "mood", "version", "event_id", "event_date"};
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        (void)v;
        assert_true(k < 10);
        assert_string_equal(key, row_keys[k++]);
    }
    assert_int_equal(k, 10);
    assert_int_equal(num(j, "total"), 35);
    assert_int_equal(num(j, "version"), 5);
    assert_string_equal(str(j, "label"), "it's \"x\" \\ ☃");
    char *before = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    out_free(&r);
    r = RUN(f->db, "projection", "counters", "nobody");
    expect(&r, 0);
    assert_string_equal(r.out, "");
    out_free(&r);

    /* rebuild: plain progress lines when stderr is not a tty; it must
     * restore a row changed behind the store's back */
    damage(f->db, "UPDATE counters SET total = total + 1000 WHERE "
                  "aggregate_id = 'c1' RETURNING 1");
    char *changed = row_text(f->db, "c1");
    assert_string_not_equal(before, changed);
    free(changed);
    r = RUN(f->db, "rebuild", "counters");
    expect(&r, 0);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "rebuilt 6/6 events\n"));
    out_free(&r);
    char *restored = row_text(f->db, "c1");
    assert_string_equal(before, restored);
    free(restored);
    /* and a progress bar redrawn in place when it is a terminal; this one
     * must bring back a deleted row */
    damage(f->db, "DELETE FROM counters WHERE aggregate_id = 'c1' RETURNING 1");
    r = RUN(f->db, "projection", "counters", "c1");
    expect(&r, 0);
    assert_string_equal(r.out, "");
    out_free(&r);
    r = RUN_TTY(f->db, "rebuild", "counters");
    expect(&r, 0);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "\rrebuilding counters [##############################] "
                                  "100% 6/6 events"));
    assert_null(strstr(r.err, "rebuilt "));
    size_t el = strlen(r.err);
    assert_true(el >= 2 && r.err[el - 1] == '\n'); /* ends its line */
    out_free(&r);
    char *after = row_text(f->db, "c1");
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_help_lists_domain(void **state) {
    (void)state;
    run_out r = RUN(NULL, "--help");
    assert_non_null(strstr(r.out, "Counter"));
    assert_non_null(strstr(r.out, "AddMany"));
    assert_non_null(strstr(r.out, "counters"));
    out_free(&r);
}

/* dispatch --command-id: the same id, command and JSON prints the first
 * run's events again and writes nothing (exit 0); the same id with other
 * JSON or another command exits 2 and writes nothing; a rejection is
 * answered again; prune-command-ids. */
static void test_command_id(void **state) {
    cfx *f = *state;
    run_out r = RUN(f->db, "init");
    expect(&r, 0);
    out_free(&r);
    run_out first = RUN(f->db, "dispatch", "--command-id", "pay-1", "Add",
                        "{\"aggregate_id\":\"k\",\"amount\":4}");
    expect(&first, 0);
    assert_int_equal(count_lines(first.out), 1);
    for (int i = 0; i < 2; i++) {
        r = RUN(f->db, "dispatch", "--command-id", "pay-1", "Add",
                "{ \"amount\": 4, \"aggregate_id\": \"k\" }");
        expect(&r, 0);
        assert_string_equal(r.out, first.out);
        assert_string_equal(r.err, "");
        out_free(&r);
    }
    r = RUN(f->db, "dispatch", "--command-id=pay-1", "Add",
            "{\"aggregate_id\":\"k\",\"amount\":4}");
    expect(&r, 0);
    assert_string_equal(r.out, first.out);
    out_free(&r);
    out_free(&first);
    /* other JSON, another command: exit 2, nothing written */
    r = RUN(f->db, "dispatch", "--command-id", "pay-1", "Add",
            "{\"aggregate_id\":\"k\",\"amount\":5}");
    expect(&r, 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "command id 'pay-1' was used for another"));
    out_free(&r);
    r = RUN(f->db, "dispatch", "--command-id", "pay-1", "Noop",
            "{\"aggregate_id\":\"k\"}");
    expect(&r, 2);
    out_free(&r);
    r = RUN(f->db, "state", "Counter", "k");
    expect(&r, 0);
    json_t *j = line_json(r.out, 0);
    assert_int_equal(num(j, "version"), 1);
    assert_int_equal(num(j, "total"), 4);
    json_decref(j);
    out_free(&r);
    /* a command that emits nothing: recorded, repeated, prints nothing */
    for (int i = 0; i < 2; i++) {
        r = RUN(f->db, "dispatch", "--command-id", "noop-1", "Noop",
                "{\"aggregate_id\":\"k\"}");
        expect(&r, 0);
        assert_string_equal(r.out, "");
        out_free(&r);
    }
    /* a rejection is recorded: the same line is rejected again (exit 3)
     * after the reason went away (Label needs a counter with events); a
     * new id decides anew */
    for (int i = 0; i < 2; i++) {
        r = RUN(f->db, "dispatch", "--command-id", "lab-1", "Label",
                "{\"aggregate_id\":\"fresh\",\"label\":\"x\"}");
        expect(&r, 3);
        assert_non_null(strstr(r.err, "rejected: counter_not_found"));
        out_free(&r);
        r = RUN(f->db, "dispatch", "Add", "{\"aggregate_id\":\"fresh\",\"amount\":1}");
        expect(&r, 0);
        out_free(&r);
    }
    r = RUN(f->db, "dispatch", "--command-id", "lab-2", "Label",
            "{\"aggregate_id\":\"fresh\",\"label\":\"x\"}");
    expect(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    out_free(&r);
    /* bad ids and options: exit 2 before any database work */
    char long_id[130];
    memset(long_id, 'i', 129);
    long_id[129] = '\0';
    r = RUN(f->db, "dispatch", "--command-id", long_id, "Noop",
            "{\"aggregate_id\":\"k\"}");
    expect(&r, 2);
    out_free(&r);
    r = RUN(f->db, "dispatch", "--command-id", "", "Noop",
            "{\"aggregate_id\":\"k\"}");
    expect(&r, 2);
    out_free(&r);
    r = RUN(f->db, "dispatch", "Noop", "{\"aggregate_id\":\"k\"}",
            "--command-id", "x");
    expect(&r, 2);
    out_free(&r);
    r = RUN(f->db, "prune-command-ids", "--older-than", "soon");
    expect(&r, 2);
    out_free(&r);
    r = RUN(f->db, "prune-command-ids");
    expect(&r, 2);
    out_free(&r);
    /* prune: nothing is a day old; everything is older than a minute from
     * now; then the id is new again */
    r = RUN(f->db, "prune-command-ids", "--older-than", "1d");
    expect(&r, 0);
    assert_string_equal(r.out, "{\"pruned\":0}\n");
    out_free(&r);
    r = RUN(f->db, "prune-command-ids", "--older-than=2000-01-01T00:00:00Z");
    expect(&r, 0);
    assert_string_equal(r.out, "{\"pruned\":0}\n");
    out_free(&r);
    r = RUN(f->db, "prune-command-ids", "--older-than", "2999-01-01T00:00:00Z");
    expect(&r, 0);
    assert_string_equal(r.out, "{\"pruned\":4}\n"); /* pay-1, noop-1, lab-1, lab-2 */
    out_free(&r);
    r = RUN(f->db, "dispatch", "--command-id", "pay-1", "Add",
            "{\"aggregate_id\":\"k\",\"amount\":5}");
    expect(&r, 0);
    j = line_json(r.out, 0);
    assert_int_equal(num(j, "version"), 2);
    json_decref(j);
    out_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_help_lists_domain),
        cmocka_unit_test(test_bad_input_without_db),
        cmocka_unit_test(test_memory_store),
        cmocka_unit_test_setup_teardown(test_full_session, cli_setup,
                                        cli_teardown),
        cmocka_unit_test_setup_teardown(test_command_id, cli_setup,
                                        cli_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
