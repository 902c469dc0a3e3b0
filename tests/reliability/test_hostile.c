/* test_hostile.c - hostile input, corrupt stored data and a projection
 * table altered by hand, against PostgreSQL ($INCIDENT_DB, a schema per
 * test).
 *
 * Every refused input must be refused with the right error kind and a
 * message naming what is wrong, and must write nothing: the events table
 * and the projection tables are compared (md5 over every row) before and
 * after.  Through inc_dispatch_json, and through the `bank` CLI (exit 2):
 * as a program for inputs that fit in argv (Linux caps one argument at
 * 128 KiB), in process (inc_cli_main_with) for the 10 MB ones. */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
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

#include <incident/cli.h>

#include "bank.h"
#include "rel.h"

#define MB10 (10u * 1024u * 1024u)

typedef struct fx {
    const char *db;
    char schema[64];
    char *conninfo; /* db + search_path: for the CLI */
    inc_app *app;
    PGconn *c;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->db = rel_db();
    rel_schema_create(f->db, "hostile", f->schema);
    size_t n = strlen(f->db) + strlen(f->schema) + 64;
    f->conninfo = malloc(n);
    assert_non_null(f->conninfo);
    snprintf(f->conninfo, n, "%s options='-csearch_path=%s'", f->db, f->schema);
    inc_error err;
    inc_error_clear(&err);
    f->app = rel_app_open(f->db, f->schema, true, &err);
    assert_non_null(f->app);
    assert_int_equal(inc_store_init(inc_app_store(f->app), &bank_domain, &err), 0);
    assert_int_equal(rel_open_account(f->app, "acc", &err), 0);
    assert_int_equal(rel_deposit(f->app, "acc", 100, &err), 0);
    assert_int_equal(rel_open_account(f->app, "other", &err), 0);
    f->c = rel_conn(f->db, f->schema);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    PQfinish(f->c);
    rel_app_close(f->app);
    rel_schema_drop(f->db, f->schema);
    free(f->conninfo);
    free(f);
    return 0;
}

/* md5 of every stored row: events, snapshots, both projections (a
 * dropped bank_accounts table digests as "no bank_accounts"). */
static char *digest(PGconn *c) {
    bool accounts = rel_q_int(c, "SELECT (to_regclass('bank_accounts') IS NOT NULL)::int") == 1;
    char sql[1024];
    snprintf(sql, sizeof sql,
        "SELECT coalesce((SELECT md5(string_agg(e::text, '|' ORDER BY position)) FROM events e), '-') "
        "|| coalesce((SELECT md5(string_agg(s::text, '|' ORDER BY aggregate_type, aggregate_id)) FROM snapshots s), '-') "
        "|| %s "
        "|| coalesce((SELECT md5(string_agg(t::text, '|' ORDER BY aggregate_id)) FROM transfers t), '-')",
        accounts ? "coalesce((SELECT md5(string_agg(b::text, '|' ORDER BY aggregate_id)) FROM bank_accounts b), '-')"
                 : "'no bank_accounts'");
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    char *d = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return d;
}

static char *repeat(const char *head, char fill, size_t n, const char *tail) {
    size_t h = strlen(head), t = strlen(tail);
    char *s = malloc(h + n + t + 1);
    assert_non_null(s);
    memcpy(s, head, h);
    memset(s + h, fill, n);
    memcpy(s + h + n, tail, t + 1);
    return s;
}

/* Dispatch `json`; it must fail with `kind` and a message containing
 * `needle`, and change nothing stored. */
static void refused(fx *f, const char *command, const char *json,
                    inc_error_kind kind, const char *needle) {
    char *before = digest(f->c);
    inc_error err;
    inc_error_clear(&err);
    inc_result res;
    inc_result_init(&res);
    int rc = inc_dispatch_json(f->app, command, json, &res, &err);
    size_t len = json ? strlen(json) : 0;
    printf("  %-16s %8zu bytes: %s: %.150s\n", command, len,
           inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, -1);
    assert_int_equal(res.count, 0);
    if (err.kind != kind || !strstr(err.message, needle))
        fprintf(stderr, "expected %s containing '%s'\n", inc_error_kind_name(kind), needle);
    assert_int_equal(err.kind, kind);
    assert_non_null(strstr(err.message, needle));
    char *after = digest(f->c);
    assert_string_equal(before, after);
    free(before);
    free(after);
    inc_result_free(&res);
}

/* Malformed, huge, deep, ill-typed, NUL, invalid UTF-8, int64 overflow:
 * INC_ERR_INVALID with the JSON path or the parser's position, nothing
 * written. */
static void test_hostile_json_refused(void **state) {
    fx *f = *state;
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",", INC_ERR_INVALID, "invalid JSON");
    refused(f, "DepositMoney", "", INC_ERR_INVALID, "invalid JSON");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":1} x", INC_ERR_INVALID,
            "end of file expected");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":1,\"amount\":2}",
            INC_ERR_INVALID, "$.amount: duplicate");
    refused(f, "DepositMoney", "[1]", INC_ERR_INVALID, "$");
    /* deep nesting: 100k '[' alone and as a field value */
    char *deep = repeat("", '[', 100000, "");
    refused(f, "DepositMoney", deep, INC_ERR_INVALID, "maximum parsing depth");
    free(deep);
    deep = repeat("{\"aggregate_id\":\"acc\",\"amount\":", '[', 100000, "");
    refused(f, "DepositMoney", deep, INC_ERR_INVALID, "maximum parsing depth");
    free(deep);
    /* wrong types */
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":\"100\"}", INC_ERR_INVALID,
            "$.amount: expected integer");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":1.5}", INC_ERR_INVALID,
            "$.amount: expected integer");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":true}", INC_ERR_INVALID,
            "$.amount: expected integer");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":null}", INC_ERR_INVALID,
            "$.amount");
    refused(f, "DepositMoney", "{\"aggregate_id\":[\"acc\"],\"amount\":1}", INC_ERR_INVALID,
            "$.aggregate_id: expected string");
    refused(f, "OpenAccount", "{\"aggregate_id\":\"new\",\"account_number\":{}}",
            INC_ERR_INVALID, "$.account_number: expected string");
    refused(f, "DepositMoney", "{\"amount\":1}", INC_ERR_INVALID, "$.aggregate_id: missing");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"\",\"amount\":1}", INC_ERR_INVALID,
            "must not be empty");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":1,\"x\":1}",
            INC_ERR_INVALID, "$.x");
    /* NUL bytes (as JSON escapes: a C string cannot carry a raw one) */
    refused(f, "OpenAccount", "{\"aggregate_id\":\"a\\u0000b\"}", INC_ERR_INVALID,
            "\\u0000 is not allowed");
    refused(f, "OpenAccount", "{\"aggregate_id\":\"new\",\"account_number\":\"x\\u0000\"}",
            INC_ERR_INVALID, "\\u0000 is not allowed");
    /* invalid UTF-8: stray byte, overlong encoding, lone surrogate */
    refused(f, "OpenAccount", "{\"aggregate_id\":\"\xff\"}", INC_ERR_INVALID, "unable to decode byte");
    refused(f, "OpenAccount", "{\"aggregate_id\":\"\xc0\xaf\"}", INC_ERR_INVALID, "unable to decode byte");
    refused(f, "OpenAccount", "{\"aggregate_id\":\"new\",\"account_number\":\"\xed\xa0\x80\"}",
            INC_ERR_INVALID, "unable to decode byte");
    refused(f, "OpenAccount", "{\"aggregate_id\":\"\\ud800\"}", INC_ERR_INVALID, "invalid Unicode");
    /* int64 overflow in the JSON, and in the fold (balance += amount) */
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":9223372036854775808}",
            INC_ERR_INVALID, "$.amount: number out of range");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":-9223372036854775809}",
            INC_ERR_INVALID, "$.amount: number out of range");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":1e400}",
            INC_ERR_INVALID, "$");
    refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":9223372036854775807}",
            INC_ERR_REJECTED, "integer_overflow");
    /* unknown command names, SQL metacharacters included */
    refused(f, "x'; DROP TABLE events; --", "{}", INC_ERR_NOT_FOUND, "unknown command");
    refused(f, "", "{}", INC_ERR_NOT_FOUND, "unknown command");
    /* 10 MB: an unknown field, a garbage document, a 10 MB number */
    char *big = repeat("{\"aggregate_id\":\"acc\",\"amount\":1,\"pad\":\"", 'x', MB10, "\"}");
    refused(f, "DepositMoney", big, INC_ERR_INVALID, "$.pad");
    free(big);
    big = repeat("", 'x', MB10, "");
    refused(f, "DepositMoney", big, INC_ERR_INVALID, "invalid JSON");
    free(big);
    big = repeat("{\"aggregate_id\":\"acc\",\"amount\":", '9', MB10, "}");
    refused(f, "DepositMoney", big, INC_ERR_INVALID, "$.amount");
    free(big);
    /* ids up to INC_MAX_ID_BYTES (1024) bytes are stored; longer ones are
     * refused before any I/O, in both stores (PostgreSQL could not index
     * them: the commit failed with "index row requires ... bytes") */
    char *id1024 = repeat("{\"aggregate_id\":\"", 'k', 1024, "\"}");
    assert_int_equal(inc_dispatch_json(f->app, "OpenAccount", id1024, NULL, NULL), 0);
    free(id1024);
    char *id1025 = repeat("{\"aggregate_id\":\"", 'k', 1025, "\"}");
    refused(f, "OpenAccount", id1025, INC_ERR_INVALID, "longer than the limit of 1024");
    {
        inc_error e2;
        inc_store *mem = inc_mem_store_open(&e2);
        assert_non_null(mem);
        inc_app *mapp = inc_app_new(&bank_domain, mem, &e2);
        assert_non_null(mapp);
        assert_int_equal(inc_dispatch_json(mapp, "OpenAccount", id1025, NULL, &e2), -1);
        assert_int_equal(e2.kind, INC_ERR_INVALID);
        inc_app_free(mapp);
        inc_store_close(mem);
    }
    free(id1025);
    /* 10 MB aggregate id */
    big = repeat("{\"aggregate_id\":\"", 'i', MB10, "\"}");
    char *before = digest(f->c);
    inc_error err;
    inc_error_clear(&err);
    int rc = inc_dispatch_json(f->app, "OpenAccount", big, NULL, &err);
    printf("  OpenAccount with a 10 MB aggregate_id: rc %d, %s: %.150s\n", rc,
           inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    assert_non_null(strstr(err.message, "$.aggregate_id: 10485760 bytes, longer than"));
    char *after = digest(f->c);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(big);
    /* the store still works */
    assert_int_equal(rel_deposit(f->app, "acc", 1, &err), 0);
}

/* Raw NUL bytes inside the JSON text (the length-taking decoder; a C
 * string API cannot see past the first NUL). */
static void test_raw_nul_bytes_refused(void **state) {
    (void)state;
    static const char text[] = "{\"aggregate_id\":\"a\0b\",\"amount\":1}";
    bank_deposit_money m;
    inc_error err;
    inc_error_clear(&err);
    int rc = inc_msg_from_text(&bank_deposit_money_desc, &m, text, sizeof text - 1, 0, &err);
    printf("  raw NUL in a string: %s: %s\n", inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    inc_msg_free(&bank_deposit_money_desc, &m);
    static const char trail[] = "{\"aggregate_id\":\"a\",\"amount\":1}\0{}";
    rc = inc_msg_from_text(&bank_deposit_money_desc, &m, trail, sizeof trail - 1, 0, &err);
    printf("  raw NUL after the document: %s: %s\n", inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, -1);
    assert_int_equal(err.kind, INC_ERR_INVALID);
    inc_msg_free(&bank_deposit_money_desc, &m);
}

/* SQL metacharacters, quotes, backslashes, newlines and non-ASCII in ids
 * and strings are data: stored and read back byte for byte, nothing else
 * touched; a 10 MB string value is stored whole. */
static void test_sql_metacharacters_are_data(void **state) {
    fx *f = *state;
    static const char *const ids[] = {
        "x'); DROP TABLE events; --", "\"; DELETE FROM bank_accounts; --",
        "back\\slash\\\\", "percent %s %n %%", "$1 $2 ::text", "new\nline\ttab",
        "unicode \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "' OR '1'='1", "semi;colon",
        "nul\\u0000-as-text"};
    inc_error err;
    inc_error_clear(&err);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        bank_open_account c;
        inc_msg_init(&bank_open_account_desc, &c);
        c.aggregate_id = (char *)ids[i];
        c.account_number = (char *)ids[(i + 1) % (sizeof ids / sizeof ids[0])];
        c.has_account_number = true;
        assert_int_equal(inc_dispatch(f->app, &bank_open_account_desc, &c, NULL, &err), 0);
        assert_int_equal(rel_deposit(f->app, ids[i], (int64_t)i + 1, &err), 0);
        bank_account_state st;
        assert_int_equal(inc_app_state(f->app, &bank_account_type, ids[i], &st, &err), 0);
        assert_string_equal(st.aggregate_id, ids[i]);
        assert_string_equal(st.account_number, c.account_number);
        assert_int_equal(st.balance, (int64_t)i + 1);
        inc_msg_free(&bank_account_state_desc, &st);
        const char *p[2] = {ids[i], c.account_number};
        PGresult *r = PQexecParams(f->c,
            "SELECT count(*) FROM bank_accounts WHERE aggregate_id = $1 AND "
            "account_number = $2", 2, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(r, 0, 0), "1");
        PQclear(r);
    }
    char *big = repeat("", 'b', MB10, "");
    bank_open_account c;
    inc_msg_init(&bank_open_account_desc, &c);
    c.aggregate_id = "big";
    c.account_number = big;
    c.has_account_number = true;
    double t0 = rel_now();
    assert_int_equal(inc_dispatch(f->app, &bank_open_account_desc, &c, NULL, &err), 0);
    bank_account_state st;
    assert_int_equal(inc_app_state(f->app, &bank_account_type, "big", &st, &err), 0);
    assert_string_equal(st.account_number, big);
    inc_msg_free(&bank_account_state_desc, &st);
    printf("  10 MB account_number stored and read back in %.2f s\n", rel_now() - t0);
    free(big);
    /* this test's own schema only: other tests' schemas have events tables
     * too (ctest -j); an injected DROP TABLE events would leave 0 here */
    assert_int_equal(rel_q_int(f->c, "SELECT count(*) FROM pg_tables WHERE tablename = 'events' "
                                     "AND schemaname = current_schema()"), 1);
    assert_int_equal(rel_verify_all(f->c, f->app, "metacharacters"), 0);
}

/* ---- the CLI ---- */

typedef struct run_out {
    int status;
    char err[4096];
} run_out;

/* Run the bank program with --db CONNINFO ARGS; capture stderr. */
static run_out run_cli(fx *f, const char *a1, const char *a2, const char *a3) {
    run_out o;
    memset(&o, 0, sizeof o);
    char path[] = "/tmp/rel_cli_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd, 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(REL_BANK_CLI, "bank", "--db", f->conninfo, a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, o.err, sizeof o.err - 1);
    o.err[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return o;
}

static void cli_refused(fx *f, const char *cmd, const char *json, int code,
                        const char *needle) {
    char *before = digest(f->c);
    run_out o = run_cli(f, "dispatch", cmd, json);
    char *nl = strchr(o.err, '\n');
    printf("  exit %d: %.*s\n", o.status, nl ? (int)(nl - o.err) : 150, o.err);
    assert_int_equal(o.status, code);
    if (!strstr(o.err, needle)) fprintf(stderr, "expected '%s' in: %s\n", needle, o.err);
    assert_non_null(strstr(o.err, needle));
    char *after = digest(f->c);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* The same hostile inputs through `bank --db ... dispatch`: exit 2 and
 * "bank: invalid input: <what>" on stderr, nothing written; 100 KiB
 * inputs as arguments, 10 MB ones in process. */
static void test_hostile_cli(void **state) {
    fx *f = *state;
    cli_refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",", 2, "bank: invalid input: $: invalid JSON");
    cli_refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":\"1\"}", 2,
                "$.amount: expected integer");
    cli_refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":9223372036854775808}", 2,
                "$.amount: number out of range");
    cli_refused(f, "OpenAccount", "{\"aggregate_id\":\"\xff\xfe\"}", 2, "unable to decode byte");
    cli_refused(f, "OpenAccount", "{\"aggregate_id\":\"a\\u0000\"}", 2, "\\u0000 is not allowed");
    cli_refused(f, "x'; DROP TABLE events; --", "{}", 2, "unknown command");
    cli_refused(f, "DepositMoney", "{\"aggregate_id\":\"acc\",\"amount\":9223372036854775807}", 3,
                "rejected: integer_overflow");
    char *deep = repeat("", '[', 100000, "");
    cli_refused(f, "DepositMoney", deep, 2, "maximum parsing depth");
    free(deep);
    char *big = repeat("{\"aggregate_id\":\"acc\",\"amount\":1,\"pad\":\"", 'x', 100000, "\"}");
    cli_refused(f, "DepositMoney", big, 2, "$.pad");
    free(big);

    /* 10 MB through inc_cli_main_with in process, stderr captured */
    char *before = digest(f->c);
    big = repeat("{\"aggregate_id\":\"acc\",\"amount\":1,\"pad\":\"", 'x', MB10, "\"}");
    char path[] = "/tmp/rel_cli_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    char *argv[] = {"bank", "--db", f->conninfo, "dispatch", "DepositMoney", big, NULL};
    int rc = inc_cli_main(&bank_domain, 6, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char msg[512] = "";
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, msg, sizeof msg - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    printf("  in process, 10 MB: exit %d: %s", rc, msg);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(msg, "$.pad"));
    char *after = digest(f->c);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(big);
}

/* ---- corrupt stored data ---- */

static void insert_raw(PGconn *c, const char *id, int version, const char *type,
                       const char *data) {
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[4] = {id, v, type, data};
    PGresult *r = PQexecParams(c,
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, version, "
        "event_type, data, event_date) VALUES (gen_random_uuid(), 'Account', $1, "
        "$2::int, $3, $4::jsonb, now())", 4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fprintf(stderr, "%s", PQresultErrorMessage(r));
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

typedef struct corrupt_case {
    const char *id;
    int version;
    const char *type, *data, *needle;
} corrupt_case;

/* Events of an unknown type, with a corrupt payload, or out of sequence,
 * inserted by hand: state and dispatch on that aggregate fail with
 * INC_ERR_INTERNAL naming the aggregate, the version and the event type;
 * nothing is written, nothing stored is lost or changed; other aggregates
 * are unaffected; a rebuild of the projection fails and keeps the old
 * rows; the CLI exits 1 with the same message. */
static void test_corrupt_stored_events(void **state) {
    fx *f = *state;
    inc_error err;
    inc_error_clear(&err);
    static const corrupt_case cases[] = {
        {"bad-type", 3, "MoneyStolen", "{\"amount\":1}", "'MoneyStolen' is not an event of Account"},
        {"bad-payload", 3, "MoneyDeposited", "{\"amount\":\"lots\"}", "$.amount: expected integer"},
        {"bad-missing", 3, "MoneyDeposited", "{}", "$.amount: missing"},
        /* unknown members are read past (fields added by a newer
         * program, docs/evolution.md), but never an implicit one */
        {"bad-extra", 3, "MoneyDeposited", "{\"amount\":1,\"aggregate_id\":\"x\"}", "$.aggregate_id"},
        {"bad-notobj", 3, "MoneyDeposited", "[1,2]", "version 3"},
        {"bad-gap", 5, "MoneyDeposited", "{\"amount\":1}", "version"},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rel_open_account(f->app, cases[i].id, &err), 0);
        assert_int_equal(rel_deposit(f->app, cases[i].id, 10, &err), 0);
        insert_raw(f->c, cases[i].id, cases[i].version, cases[i].type, cases[i].data);
    }
    char *before = digest(f->c);
    int64_t events_before = rel_q_int(f->c, "SELECT count(*) FROM events");
    for (size_t i = 0; i < n; i++) {
        const corrupt_case *k = &cases[i];
        bank_account_state st;
        int rc = inc_app_state(f->app, &bank_account_type, k->id, &st, &err);
        inc_msg_free(&bank_account_state_desc, &st);
        printf("  state %s: %s: %s\n", k->id, inc_error_kind_name(err.kind), err.message);
        assert_int_equal(rc, -1);
        assert_int_equal(err.kind, INC_ERR_INTERNAL);
        assert_non_null(strstr(err.message, k->id));
        assert_non_null(strstr(err.message, k->needle));
        if (k->version == 3) assert_non_null(strstr(err.message, "version 3"));
        rc = rel_deposit(f->app, k->id, 1, &err);
        assert_int_equal(rc, -1);
        assert_int_equal(err.kind, INC_ERR_INTERNAL);
        assert_non_null(strstr(err.message, k->id));
        /* through the CLI: exit 1, the same message */
        run_out o = run_cli(f, "state", "Account", k->id);
        assert_int_equal(o.status, 1);
        assert_non_null(strstr(o.err, "bank: internal: "));
        assert_non_null(strstr(o.err, k->needle));
    }
    char *after = digest(f->c);
    assert_string_equal(before, after);
    assert_int_equal(rel_q_int(f->c, "SELECT count(*) FROM events"), events_before);

    /* a rebuild meets the corrupt events: fails, old rows kept */
    int rc = inc_app_rebuild(f->app, &bank_bank_accounts_projection, NULL, NULL, &err);
    printf("  rebuild bank_accounts: %s: %s\n", inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, -1);
    assert_int_equal(err.kind, INC_ERR_INTERNAL);
    char *after2 = digest(f->c);
    assert_string_equal(before, after2);

    /* other aggregates are unaffected */
    assert_int_equal(rel_deposit(f->app, "acc", 5, &err), 0);
    assert_int_equal(rel_transfer(f->app, "t-ok", "acc", "other", 50, NULL, &err), 0);
    bank_account_state st;
    assert_int_equal(inc_app_state(f->app, &bank_account_type, "other", &st, &err), 0);
    assert_int_equal(st.balance, 50);
    inc_msg_free(&bank_account_state_desc, &st);
    /* and what was there before is still there, unchanged */
    assert_int_equal(rel_q_int(f->c, "SELECT count(*) FROM events"), events_before + 6);
    free(before);
    free(after);
    free(after2);
}

/* ---- a projection table altered by hand ---- */

/* Alter the table, then a deposit on "acc" and an OpenAccount must both
 * fail with `kind` (docs/guarantees.md: the kind follows the SQLSTATE) and
 * write nothing; the other projection's aggregate still commits. */
static void altered(fx *f, const char *alter, const char *label,
                    inc_error_kind kind) {
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(rel_exec(f->c, alter), 0);
    char *before = digest(f->c);
    int64_t n = rel_q_int(f->c, "SELECT count(*) FROM events");
    int rc = rel_deposit(f->app, "acc", 7, &err);
    printf("  %s: deposit: %s: %.200s\n", label, inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, -1);
    assert_int_equal(err.kind, kind);
    inc_error_clear(&err);
    rc = rel_open_account(f->app, "fresh", &err);
    printf("  %s: open: %s: %.200s\n", label, inc_error_kind_name(err.kind), err.message);
    assert_int_equal(rc, -1);
    assert_int_equal(err.kind, kind);
    char *after = digest(f->c);
    assert_string_equal(before, after); /* no event without its row */
    assert_int_equal(rel_q_int(f->c, "SELECT count(*) FROM events"), n);
    free(before);
    free(after);
    /* the other projection's aggregate still works */
    char json[256];
    snprintf(json, sizeof json,
             "{\"aggregate_id\":\"t-%s\",\"source_account_number\":\"nobody\","
             "\"destination_account_number\":\"acc\",\"amount\":1}", label);
    assert_int_equal(inc_dispatch_json(f->app, "RequestTransfer", json, NULL, &err), 0);
}

/* A column dropped, a column's type changed, a column too narrow for the
 * value (a class 22 data exception), the primary key dropped, the table
 * dropped: dispatch on the aggregate fails with the error kind
 * docs/guarantees.md promises and writes nothing (the event is not
 * committed without its projection row).  Repair: drop the table, `init`
 * recreates it, `rebuild` refills it from the events; then everything is
 * consistent again. */
static void test_altered_projection_table(void **state) {
    fx *f = *state;
    inc_error err;
    inc_error_clear(&err);
    assert_int_equal(rel_deposit(f->app, "acc", 1, &err), 0); /* upsert prepared */
    altered(f, "ALTER TABLE bank_accounts DROP COLUMN balance", "column dropped",
            INC_ERR_INTERNAL);
    altered(f, "DROP TABLE bank_accounts; CREATE TABLE bank_accounts (aggregate_id text "
               "PRIMARY KEY, account_number int, balance bigint, version bigint, "
               "event_id uuid, event_date timestamptz)",
            "account_number int", INC_ERR_INTERNAL);
    altered(f, "ALTER TABLE bank_accounts ALTER COLUMN account_number TYPE text, "
               "ALTER COLUMN balance TYPE boolean USING balance <> 0",
            "balance boolean", INC_ERR_INTERNAL);
    /* "acc" and "fresh" do not fit in one character: SQLSTATE 22001 */
    altered(f, "ALTER TABLE bank_accounts ALTER COLUMN balance TYPE bigint USING 0, "
               "ALTER COLUMN account_number TYPE varchar(1) USING ''",
            "account_number varchar(1)", INC_ERR_INVALID);
    altered(f, "ALTER TABLE bank_accounts ALTER COLUMN account_number TYPE text, "
               "DROP CONSTRAINT bank_accounts_pkey",
            "primary key dropped", INC_ERR_INTERNAL);
    altered(f, "DROP TABLE bank_accounts", "table dropped", INC_ERR_INTERNAL);
    /* repair (the table is already dropped) */
    assert_int_equal(inc_store_init(inc_app_store(f->app), &bank_domain, &err), 0);
    assert_int_equal(inc_app_rebuild(f->app, &bank_bank_accounts_projection, NULL, NULL, &err), 0);
    assert_int_equal(rel_deposit(f->app, "acc", 1, &err), 0);
    assert_int_equal(rel_verify_all(f->c, f->app, "repaired"), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hostile_json_refused, setup, teardown),
        cmocka_unit_test(test_raw_nul_bytes_refused),
        cmocka_unit_test_setup_teardown(test_sql_metacharacters_are_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_stored_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_altered_projection_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
