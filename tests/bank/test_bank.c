/* test_bank.c - the acceptance tests of the bank example: the 13 scenarios
 * of Incident's bank test suite (reference section 3.6) and the README
 * session, run against the in-memory store and PostgreSQL; the two
 * concurrency scenarios with real processes racing on PostgreSQL; and
 * the saga cut at every commit (the answer lost or not), then finished by
 * the reactor with every money step done once.
 *
 * Beyond what Incident's tests assert, the "by inference" parts are
 * checked too: every stream's event types and versions, the projection
 * rows' metadata (version, event_id, event_date of the last event), and the
 * causation/correlation chain of every transfer. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <setjmp.h>
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

/* Racing children end with _exit (no atexit leak check), so under ASan they
 * run the leak check themselves: the conflict-retry paths run only there. */
#if defined(__SANITIZE_ADDRESS__)
#define BANK_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BANK_LSAN 1
#endif
#endif
#ifdef BANK_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#include "bank.h"
#include "harness.h"

#include <incident/reactor.h>
#include <incident/view.h>

/* Incident's fixed account ids (any fixed UUIDs do). */
#define A1 "5a1e3c4e-8a51-4cbe-9d0a-1d6f0e1a0001"
#define A2 "5a1e3c4e-8a51-4cbe-9d0a-1d6f0e1a0002"
#define AMOUNT 100

/* ------------------------------------------------------------ fixture */

static bool mode_pg = true, mode_mem = false;

typedef struct fx {
    bool pg;
    char schema[64];
    inc_store *store;
    inc_app *app; /* with the saga registered */
} fx;

static inc_store *open_store(bool pg, const char *schema) {
    inc_error err;
    inc_error_clear(&err);
    inc_store *s;
    if (pg) {
        inc_pg_options o = {th_db(), schema};
        s = inc_pg_store_open(&o, &err);
    } else {
        s = inc_mem_store_open(&err);
    }
    if (!s) fprintf(stderr, "open: %s\n", err.message);
    return s;
}

static inc_app *new_app(inc_store *s, bool saga) {
    inc_error err;
    inc_app *app = inc_app_new(&bank_domain, s, &err);
    assert_non_null(app);
    if (!saga) inc_app_drop_reactions(app); /* steps dispatched by hand */
    return app;
}

static int setup(void **state) {
    bool pg = *(bool *)*state;
    /* Never skip: a PostgreSQL test without a server is a failure. */
    if (pg && !th_db())
        fail_msg("INCIDENT_DB is not set: these tests need a real PostgreSQL "
                 "(scripts/pg start DIR; . DIR/env)");
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->pg = pg;
    if (pg) th_unique_schema(f->schema);
    *state = f; /* from here on teardown cleans up */
    f->store = open_store(pg, f->schema);
    assert_non_null(f->store);
    inc_error err;
    if (inc_store_init(f->store, &bank_domain, &err) != 0) {
        fprintf(stderr, "init: %s\n", err.message);
        fail();
    }
    f->app = new_app(f->store, true);
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    if (!f || f == (void *)&mode_pg || f == (void *)&mode_mem) return 0;
    inc_app_free(f->app);
    inc_store_close(f->store);
    if (f->pg) th_drop_schema(f->schema);
    free(f);
    return 0;
}

/* ----------------------------------------------------------- commands */

static int open_account(inc_app *app, const char *id, inc_error *err) {
    bank_open_account c = {(char *)id, NULL, false};
    inc_error_clear(err);
    return inc_dispatch(app, &bank_open_account_desc, &c, NULL, err);
}

static int deposit(inc_app *app, const char *id, int64_t amount, inc_error *err) {
    bank_deposit_money c = {(char *)id, amount};
    inc_error_clear(err);
    return inc_dispatch(app, &bank_deposit_money_desc, &c, NULL, err);
}

static int withdraw(inc_app *app, const char *id, int64_t amount, inc_result *res,
                    inc_error *err) {
    bank_withdraw_money c = {(char *)id, amount};
    inc_error_clear(err);
    return inc_dispatch(app, &bank_withdraw_money_desc, &c, res, err);
}

static int request_transfer(inc_app *app, const char *tid, const char *src, const char *dst,
                            int64_t amount, inc_result *res, inc_error *err) {
    bank_request_transfer c = {(char *)tid, (char *)src, (char *)dst, amount};
    inc_error_clear(err);
    return inc_dispatch(app, &bank_request_transfer_desc, &c, res, err);
}

/* InitiateTransfer / RevertTransfer / ... by hand (only the id). */
static int step(inc_app *app, const inc_message_desc *d, const char *tid, inc_error *err) {
    bank_initiate_transfer c = {(char *)tid};
    inc_error_clear(err);
    return inc_dispatch(app, d, &c, NULL, err);
}

static void ok(int rc, const inc_error *err) {
    if (rc != 0) fprintf(stderr, "unexpected error: %s: %s\n", err->code, err->message);
    assert_int_equal(rc, 0);
}

static void rejected(int rc, const inc_error *err, const char *code) {
    assert_int_equal(rc, -1);
    assert_int_equal(err->kind, INC_ERR_REJECTED);
    assert_string_equal(err->code, code);
}

static char *fresh_uuid(char out[INC_UUID_TEXT_SIZE]) {
    assert_int_equal(inc_uuid_v4(out, NULL), 0);
    return out;
}

/* ------------------------------------------------------------ streams */

#define MAXEV 64
#define STR 96

typedef struct rec {
    char type[32];
    char aggregate_id[STR];
    int64_t version;
    char event_id[INC_UUID_TEXT_SIZE];
    char command_id[INC_UUID_TEXT_SIZE];
    char causation_id[INC_UUID_TEXT_SIZE];
    char correlation_id[INC_UUID_TEXT_SIZE];
    inc_timestamp date;
    bool has_data;
    /* the interesting fields of the data */
    int64_t amount;
    char transfer_id[STR];     /* MoneySent & co */
    char account_number[STR];  /* AccountOpened */
    char source[STR], destination[STR]; /* TransferRequested */
} rec;

typedef struct stream {
    size_t n;
    rec ev[MAXEV];
} stream;

static void copy_str(char *dst, const char *src) {
    snprintf(dst, STR, "%s", src ? src : "");
}

static void fill_rec(rec *r, const inc_recorded_event *ev) {
    memset(r, 0, sizeof *r);
    snprintf(r->type, sizeof r->type, "%s", ev->event_type);
    copy_str(r->aggregate_id, ev->aggregate_id);
    r->version = ev->version;
    memcpy(r->event_id, ev->event_id, INC_UUID_TEXT_SIZE);
    memcpy(r->command_id, ev->command_id, INC_UUID_TEXT_SIZE);
    memcpy(r->causation_id, ev->causation_id, INC_UUID_TEXT_SIZE);
    memcpy(r->correlation_id, ev->correlation_id, INC_UUID_TEXT_SIZE);
    r->date = ev->event_date;
    r->has_data = ev->data != NULL;
    if (!ev->data) return;
    const char *t = ev->event_type;
    if (!strcmp(t, "AccountOpened")) {
        copy_str(r->account_number, ((const bank_account_opened *)ev->data)->account_number);
    } else if (!strcmp(t, "MoneyDeposited") || !strcmp(t, "MoneyWithdrawn")) {
        r->amount = ((const bank_money_deposited *)ev->data)->amount;
    } else if (!strcmp(t, "MoneySent") || !strcmp(t, "MoneyReceived") ||
               !strcmp(t, "MoneySentReverted")) {
        const bank_money_sent *m = ev->data;
        r->amount = m->amount;
        copy_str(r->transfer_id, m->transfer_id);
    } else if (!strcmp(t, "TransferRequested")) {
        const bank_transfer_requested *m = ev->data;
        r->amount = m->amount;
        copy_str(r->source, m->source_account_number);
        copy_str(r->destination, m->destination_account_number);
    }
}

static int keep_event(void *ud, const inc_recorded_event *ev, inc_error *err) {
    (void)err;
    stream *s = ud;
    if (s->n == MAXEV) return inc_error_set(err, INC_ERR_INTERNAL, "full", "stream too long");
    fill_rec(&s->ev[s->n++], ev);
    return 0;
}

static void read_stream(inc_app *app, const inc_aggregate_desc *a, const char *id, stream *s) {
    inc_error err;
    memset(s, 0, sizeof *s);
    if (inc_app_read_stream(app, a, id, keep_event, s, &err) != 0) {
        fprintf(stderr, "read_stream: %s\n", err.message);
        fail();
    }
}

/* The stream of `id` is exactly the given event types (NULL-terminated),
 * versions 1..n, each with an "envelope OK" (aggregate id, event id, date,
 * data). */
static void expect_stream(inc_app *app, const inc_aggregate_desc *a, const char *id,
                          stream *s, ...) {
    read_stream(app, a, id, s);
    va_list ap;
    va_start(ap, s);
    size_t n = 0;
    for (const char *t = va_arg(ap, const char *); t; t = va_arg(ap, const char *), n++) {
        if (n >= s->n) {
            fprintf(stderr, "%s %s: only %zu events, expected %s next\n", a->name, id,
                    s->n, t);
            fail();
        }
        const rec *r = &s->ev[n];
        assert_string_equal(r->type, t);
        assert_int_equal(r->version, (int64_t)n + 1);
        assert_string_equal(r->aggregate_id, id);
        assert_int_equal(strlen(r->event_id), 36);
        assert_int_equal(strlen(r->command_id), 36);
        assert_int_equal(strlen(r->correlation_id), 36);
        assert_true(r->date > 0);
        assert_true(r->has_data);
    }
    va_end(ap);
    if (s->n != n)
        fprintf(stderr, "%s %s: %zu events, expected %zu\n", a->name, id, s->n, n);
    assert_int_equal(s->n, n);
}

static void expect_no_stream(inc_app *app, const inc_aggregate_desc *a, const char *id) {
    stream s;
    read_stream(app, a, id, &s);
    assert_int_equal(s.n, 0);
}

/* How many `type` events of transfer `tid` the stream holds. */
static int count_for(const stream *s, const char *type, const char *tid) {
    int n = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->ev[i].type, type) && (!tid || !strcmp(s->ev[i].transfer_id, tid))) n++;
    return n;
}

/* -------------------------------------------------------- projections */

typedef struct acct_row {
    bool found;
    char id[STR];
    char account_number[STR];
    int64_t balance;
    inc_row_meta meta;
} acct_row;

typedef struct xfer_row {
    bool found;
    char id[STR];
    char source[STR], destination[STR];
    int64_t amount;
    bool has_status;
    bank_transfer_status status;
    inc_row_meta meta;
} xfer_row;

static int keep_acct(void *ud, const void *row, const inc_row_meta *meta, inc_error *err) {
    (void)err;
    acct_row *o = ud;
    const bank_bank_accounts_row *r = row;
    o->found = true;
    copy_str(o->id, r->aggregate_id);
    copy_str(o->account_number, r->account_number);
    o->balance = r->balance;
    o->meta = *meta;
    return 0;
}

static int keep_xfer(void *ud, const void *row, const inc_row_meta *meta, inc_error *err) {
    (void)err;
    xfer_row *o = ud;
    const bank_transfers_row *r = row;
    o->found = true;
    copy_str(o->id, r->aggregate_id);
    copy_str(o->source, r->source_account_number);
    copy_str(o->destination, r->destination_account_number);
    o->amount = r->amount;
    o->has_status = r->has_status;
    o->status = r->status;
    o->meta = *meta;
    return 0;
}

static acct_row get_acct(inc_store *s, const char *id) {
    acct_row o;
    bool found = false;
    inc_error err;
    memset(&o, 0, sizeof o);
    assert_int_equal(inc_store_projection_get(s, &bank_bank_accounts_projection, id, keep_acct,
                                              &o, &found, &err),
                     0);
    assert_int_equal(found, o.found);
    return o;
}

static xfer_row get_xfer(inc_store *s, const char *id) {
    xfer_row o;
    bool found = false;
    inc_error err;
    memset(&o, 0, sizeof o);
    assert_int_equal(inc_store_projection_get(s, &bank_transfers_projection, id, keep_xfer, &o,
                                              &found, &err),
                     0);
    assert_int_equal(found, o.found);
    return o;
}

#define MAXROWS 16
typedef struct acct_list {
    size_t n;
    acct_row r[MAXROWS];
} acct_list;
typedef struct xfer_list {
    size_t n;
    xfer_row r[MAXROWS];
} xfer_list;

static int list_acct_cb(void *ud, const void *row, const inc_row_meta *meta, inc_error *err) {
    acct_list *l = ud;
    if (l->n == MAXROWS) return inc_error_set(err, INC_ERR_INTERNAL, "full", "too many rows");
    return keep_acct(&l->r[l->n++], row, meta, err);
}

static int list_xfer_cb(void *ud, const void *row, const inc_row_meta *meta, inc_error *err) {
    xfer_list *l = ud;
    if (l->n == MAXROWS) return inc_error_set(err, INC_ERR_INTERNAL, "full", "too many rows");
    return keep_xfer(&l->r[l->n++], row, meta, err);
}

static void list_accts(inc_store *s, acct_list *l) {
    inc_error err;
    memset(l, 0, sizeof *l);
    assert_int_equal(
        inc_store_projection_list(s, &bank_bank_accounts_projection, list_acct_cb, l, &err), 0);
}

static void list_xfers(inc_store *s, xfer_list *l) {
    inc_error err;
    memset(l, 0, sizeof *l);
    assert_int_equal(inc_store_projection_list(s, &bank_transfers_projection, list_xfer_cb, l, &err),
                     0);
}

/* The row reflects exactly the last event of the stream. */
static void expect_meta_is_last(const inc_row_meta *m, const stream *s) {
    assert_true(s->n > 0);
    const rec *last = &s->ev[s->n - 1];
    assert_int_equal(m->version, last->version);
    assert_string_equal(m->event_id, last->event_id);
    assert_int_equal(m->event_date, last->date);
}

/* Account row: account_number = id, balance, version; and the account's
 * state agrees. */
static void expect_account(fx *f, const char *id, int64_t balance, int64_t version) {
    acct_row r = get_acct(f->store, id);
    if (!r.found) fprintf(stderr, "no bank_accounts row for %s\n", id);
    assert_true(r.found);
    assert_string_equal(r.id, id);
    assert_string_equal(r.account_number, id);
    if (r.balance != balance)
        fprintf(stderr, "%s: balance %lld, expected %lld\n", id, (long long)r.balance,
                (long long)balance);
    assert_int_equal(r.balance, balance);
    assert_int_equal(r.meta.version, version);
    assert_int_equal(strlen(r.meta.event_id), 36);
    assert_true(r.meta.event_date > 0);
    stream s;
    read_stream(f->app, &bank_account_type, id, &s);
    expect_meta_is_last(&r.meta, &s);

    bank_account_state st;
    inc_error err;
    assert_int_equal(inc_app_state(f->app, &bank_account_type, id, &st, &err), 0);
    assert_int_equal(st.balance, balance);
    assert_int_equal(st.version, version);
    assert_true(st.opened);
    bank_account_state_free(&st);
}

static void expect_transfer(fx *f, const char *tid, const char *src, const char *dst,
                            int64_t amount, bank_transfer_status status, int64_t version) {
    xfer_row r = get_xfer(f->store, tid);
    if (!r.found) fprintf(stderr, "no transfers row for %s\n", tid);
    assert_true(r.found);
    assert_string_equal(r.id, tid);
    assert_string_equal(r.source, src);
    assert_string_equal(r.destination, dst);
    assert_int_equal(r.amount, amount);
    assert_true(r.has_status);
    if (r.status != status)
        fprintf(stderr, "transfer %s: status %s, expected %s\n", tid,
                bank_transfer_status_desc.members[r.status], bank_transfer_status_desc.members[status]);
    assert_int_equal(r.status, status);
    assert_int_equal(r.meta.version, version);
    stream s;
    read_stream(f->app, &bank_transfer_type, tid, &s);
    expect_meta_is_last(&r.meta, &s);
}

/* ========================================== simple account operations */

/* 1. Open account. */
static void s01_open_account(void **state) {
    fx *f = *state;
    inc_error err;
    ok(open_account(f->app, A1, &err), &err);
    stream s;
    expect_stream(f->app, &bank_account_type, A1, &s, "AccountOpened", NULL);
    assert_string_equal(s.ev[0].account_number, A1);
    /* a top-level command: correlation = its own id, no cause */
    assert_string_equal(s.ev[0].correlation_id, s.ev[0].command_id);
    assert_string_equal(s.ev[0].causation_id, "");

    acct_list l;
    list_accts(f->store, &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.r[0].id, A1);
    assert_string_equal(l.r[0].account_number, A1);
    assert_int_equal(l.r[0].balance, 0);
    assert_int_equal(l.r[0].meta.version, 1);
    expect_meta_is_last(&l.r[0].meta, &s);
    expect_account(f, A1, 0, 1);
    /* no transfer rows */
    xfer_list x;
    list_xfers(f->store, &x);
    assert_int_equal(x.n, 0);
}

/* 2. Open twice. */
static void s02_open_twice(void **state) {
    fx *f = *state;
    inc_error err;
    ok(open_account(f->app, A1, &err), &err);
    rejected(open_account(f->app, A1, &err), &err, "account_already_opened");
    assert_int_equal(bank_rejection_of(&err), BANK_REJECT_ACCOUNT_ALREADY_OPENED);
    stream s;
    expect_stream(f->app, &bank_account_type, A1, &s, "AccountOpened", NULL);
    expect_account(f, A1, 0, 1);
    acct_list l;
    list_accts(f->store, &l);
    assert_int_equal(l.n, 1);
}

/* 3. Two deposits. */
static void s03_two_deposits(void **state) {
    fx *f = *state;
    inc_error err;
    ok(open_account(f->app, A1, &err), &err);
    ok(deposit(f->app, A1, AMOUNT, &err), &err);
    ok(deposit(f->app, A1, AMOUNT, &err), &err);
    stream s;
    expect_stream(f->app, &bank_account_type, A1, &s, "AccountOpened", "MoneyDeposited",
                  "MoneyDeposited", NULL);
    assert_int_equal(s.ev[1].amount, AMOUNT);
    assert_int_equal(s.ev[2].amount, AMOUNT);
    expect_account(f, A1, 200, 3);
}

/* 4. Deposit to a missing account. */
static void s04_deposit_missing_account(void **state) {
    fx *f = *state;
    inc_error err;
    rejected(deposit(f->app, A1, AMOUNT, &err), &err, "account_not_found");
    /* by inference: nothing written */
    expect_no_stream(f->app, &bank_account_type, A1);
    assert_false(get_acct(f->store, A1).found);
}

/* 5. Deposit then withdraw everything. */
static void s05_deposit_withdraw(void **state) {
    fx *f = *state;
    inc_error err;
    ok(open_account(f->app, A1, &err), &err);
    ok(deposit(f->app, A1, AMOUNT, &err), &err);
    ok(withdraw(f->app, A1, AMOUNT, NULL, &err), &err);
    stream s;
    expect_stream(f->app, &bank_account_type, A1, &s, "AccountOpened", "MoneyDeposited",
                  "MoneyWithdrawn", NULL);
    assert_int_equal(s.ev[2].amount, AMOUNT);
    expect_account(f, A1, 0, 3);
}

/* 6. Overdraw. */
static void s06_overdraw(void **state) {
    fx *f = *state;
    inc_error err;
    ok(open_account(f->app, A1, &err), &err);
    rejected(withdraw(f->app, A1, AMOUNT, NULL, &err), &err, "no_enough_balance");
    stream s;
    expect_stream(f->app, &bank_account_type, A1, &s, "AccountOpened", NULL);
    expect_account(f, A1, 0, 1);
}

/* 7. Withdraw from a missing account. */
static void s07_withdraw_missing_account(void **state) {
    fx *f = *state;
    inc_error err;
    rejected(withdraw(f->app, A1, AMOUNT, NULL, &err), &err, "account_not_found");
    expect_no_stream(f->app, &bank_account_type, A1);
    assert_false(get_acct(f->store, A1).found);
}

/* ========================================================== transfers */

/* Open(A1), Deposit(A1,100), Open(A2). */
static void transfer_setup(fx *f) {
    inc_error err;
    ok(open_account(f->app, A1, &err), &err);
    ok(deposit(f->app, A1, AMOUNT, &err), &err);
    ok(open_account(f->app, A2, &err), &err);
}

/* RequestTransfer returns ok whatever the outcome (as in Incident): its
 * own event is TransferRequested v1, no handler failed; `requested` gets
 * that event (the start of the causation chain). */
static void run_transfer(fx *f, const char *tid, const char *src, const char *dst,
                         int64_t amount, inc_result *res) {
    inc_error err;
    inc_result_init(res);
    ok(request_transfer(f->app, tid, src, dst, amount, res, &err), &err);
    if (res->handler_failed)
        fprintf(stderr, "handler failed: %s\n", res->handler_error.message);
    assert_false(res->handler_failed);
    assert_int_equal(res->n_direct, 1);
    assert_true(res->count >= 2);
    assert_string_equal(res->events[0].event_type, "TransferRequested");
    assert_int_equal(res->events[0].version, 1);
    assert_string_equal(res->events[0].aggregate_id, tid);
}

/* The event's metadata says: caused by `cause`, in the chain started by
 * the RequestTransfer command `corr`. */
static void expect_caused(const rec *r, const rec *cause, const char *corr) {
    assert_string_equal(r->correlation_id, corr);
    assert_string_equal(r->causation_id, cause->event_id);
    assert_string_not_equal(r->command_id, corr); /* a command of its own */
}

/* The result lists, in commit order, exactly these (type, aggregate). */
static void expect_result(const inc_result *res, const rec *const *evs, size_t n) {
    assert_int_equal(res->count, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(res->events[i].event_type, evs[i]->type);
        assert_string_equal(res->events[i].event_id, evs[i]->event_id);
        assert_string_equal(res->events[i].aggregate_id, evs[i]->aggregate_id);
        assert_int_equal(res->events[i].version, evs[i]->version);
        assert_string_equal(res->events[i].causation_id, evs[i]->causation_id);
        assert_string_equal(res->events[i].correlation_id, evs[i]->correlation_id);
    }
}

/* 8. Transfer succeeds. */
static void s08_transfer_succeeds(void **state) {
    fx *f = *state;
    char t[INC_UUID_TEXT_SIZE];
    fresh_uuid(t);
    transfer_setup(f);
    inc_result res;
    run_transfer(f, t, A1, A2, AMOUNT, &res);

    stream ts, s1, s2;
    expect_stream(f->app, &bank_transfer_type, t, &ts, "TransferRequested",
                  "TransferInitiated", "TransferCompleted", NULL);
    expect_stream(f->app, &bank_account_type, A1, &s1, "AccountOpened", "MoneyDeposited",
                  "MoneySent", NULL);
    expect_stream(f->app, &bank_account_type, A2, &s2, "AccountOpened", "MoneyReceived", NULL);
    const rec *req = &ts.ev[0], *ini = &ts.ev[1], *com = &ts.ev[2];
    const rec *sent = &s1.ev[2], *recv = &s2.ev[1];
    assert_string_equal(req->source, A1);
    assert_string_equal(req->destination, A2);
    assert_int_equal(req->amount, AMOUNT);
    assert_string_equal(sent->transfer_id, t);
    assert_int_equal(sent->amount, AMOUNT);
    assert_string_equal(recv->transfer_id, t);
    assert_int_equal(recv->amount, AMOUNT);

    /* the chain: RequestTransfer -> TransferRequested -> SendMoney,
     * InitiateTransfer -> TransferInitiated -> ReceiveMoney, CompleteTransfer */
    const char *corr = req->command_id;
    assert_string_equal(req->correlation_id, corr);
    assert_string_equal(req->causation_id, "");
    expect_caused(sent, req, corr);
    expect_caused(ini, req, corr);
    expect_caused(recv, ini, corr);
    expect_caused(com, ini, corr);
    assert_string_equal(res.events[0].command_id, corr);
    const rec *order[] = {req, sent, ini, recv, com};
    expect_result(&res, order, 5);
    inc_result_free(&res);

    xfer_list l;
    list_xfers(f->store, &l);
    assert_int_equal(l.n, 1);
    expect_transfer(f, t, A1, A2, AMOUNT, BANK_TRANSFER_STATUS_COMPLETED, 3);
    expect_account(f, A1, 0, 3);
    expect_account(f, A2, 100, 2);
}

/* The typed queries aggc generates (docs/api.md "Typed queries"): rows
 * of a declared index's value, as their struct; on PostgreSQL also the
 * view's, after its maintainer ran. */
typedef struct found_ids {
    int n;
    char id[4][INC_UUID_TEXT_SIZE + 8];
    int64_t value[4];
} found_ids;

static int found_add(found_ids *f, const char *id, int64_t value) {
    assert_true(f->n < 4);
    snprintf(f->id[f->n], sizeof f->id[0], "%s", id);
    f->value[f->n++] = value;
    return 0;
}

static int on_transfer_row(void *ud, const bank_transfers_row *row,
                           const inc_row_meta *meta, inc_error *err) {
    (void)meta, (void)err;
    return found_add(ud, row->aggregate_id, row->amount);
}

static int on_view_row(void *ud, const bank_account_transfers_view_row *row,
                       const inc_row_meta *meta, inc_error *err) {
    (void)meta, (void)err;
    return found_add(ud, row->key, row->c_sent_total);
}

static void s_typed_queries(void **state) {
    fx *f = *state;
    char ok_t[INC_UUID_TEXT_SIZE], no_t[INC_UUID_TEXT_SIZE];
    fresh_uuid(ok_t);
    fresh_uuid(no_t);
    transfer_setup(f);
    inc_result res;
    run_transfer(f, ok_t, A1, A2, AMOUNT, &res);
    inc_result_free(&res);
    run_transfer(f, no_t, A1, A2, 100000, &res);
    inc_result_free(&res);
    inc_error err;
    found_ids got = {0};
    ok(bank_transfers_find_by_status(f->store, BANK_TRANSFER_STATUS_CANCELLED, 0,
                                     on_transfer_row, &got, &err),
       &err);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.id[0], no_t);
    assert_int_equal(got.value[0], 100000);
    memset(&got, 0, sizeof got);
    ok(bank_transfers_find_by_status(f->store, BANK_TRANSFER_STATUS_COMPLETED, 0,
                                     on_transfer_row, &got, &err),
       &err);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.id[0], ok_t);
    memset(&got, 0, sizeof got);
    ok(bank_transfers_query(f->store, NULL, on_transfer_row, &got, &err), &err);
    assert_int_equal(got.n, 2);
    if (!f->pg) return; /* views: PostgreSQL only */
    inc_consumer_run_options ro = {0, 1, NULL};
    ok(inc_views_run(f->store, &bank_domain, NULL, &ro, NULL, &err), &err);
    memset(&got, 0, sizeof got);
    ok(bank_account_transfers_view_find_by_sent_total(f->store, AMOUNT, 0,
                                                      on_view_row, &got, &err),
       &err);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.id[0], A1);
    assert_int_equal(got.value[0], AMOUNT);
}

/* 9. Insufficient funds (101). */
static void s09_transfer_insufficient_funds(void **state) {
    fx *f = *state;
    char t[INC_UUID_TEXT_SIZE];
    fresh_uuid(t);
    transfer_setup(f);
    inc_result res;
    run_transfer(f, t, A1, A2, AMOUNT + 1, &res);

    stream ts, s1, s2;
    expect_stream(f->app, &bank_transfer_type, t, &ts, "TransferRequested",
                  "TransferCancelled", NULL);
    expect_caused(&ts.ev[1], &ts.ev[0], ts.ev[0].command_id);
    const rec *order[] = {&ts.ev[0], &ts.ev[1]};
    expect_result(&res, order, 2);
    inc_result_free(&res);

    expect_stream(f->app, &bank_account_type, A1, &s1, "AccountOpened", "MoneyDeposited", NULL);
    expect_stream(f->app, &bank_account_type, A2, &s2, "AccountOpened", NULL);
    xfer_list l;
    list_xfers(f->store, &l);
    assert_int_equal(l.n, 1);
    expect_transfer(f, t, A1, A2, AMOUNT + 1, BANK_TRANSFER_STATUS_CANCELLED, 2);
    expect_account(f, A1, 100, 2);
    expect_account(f, A2, 0, 1);
}

/* 10. Source account missing. */
static void s10_transfer_source_missing(void **state) {
    fx *f = *state;
    char t[INC_UUID_TEXT_SIZE], src[INC_UUID_TEXT_SIZE];
    fresh_uuid(t);
    fresh_uuid(src);
    transfer_setup(f);
    inc_result res;
    run_transfer(f, t, src, A2, AMOUNT, &res);

    stream ts, s1, s2;
    expect_stream(f->app, &bank_transfer_type, t, &ts, "TransferRequested",
                  "TransferCancelled", NULL);
    expect_caused(&ts.ev[1], &ts.ev[0], ts.ev[0].command_id);
    const rec *order[] = {&ts.ev[0], &ts.ev[1]};
    expect_result(&res, order, 2);
    inc_result_free(&res);

    expect_no_stream(f->app, &bank_account_type, src);
    assert_false(get_acct(f->store, src).found);
    expect_stream(f->app, &bank_account_type, A1, &s1, "AccountOpened", "MoneyDeposited", NULL);
    expect_stream(f->app, &bank_account_type, A2, &s2, "AccountOpened", NULL);
    expect_transfer(f, t, src, A2, AMOUNT, BANK_TRANSFER_STATUS_CANCELLED, 2);
    expect_account(f, A2, 0, 1);
    expect_account(f, A1, 100, 2);
}

/* 11. Destination account missing: sent, reverted, cancelled. */
static void s11_transfer_destination_missing(void **state) {
    fx *f = *state;
    char t[INC_UUID_TEXT_SIZE], dst[INC_UUID_TEXT_SIZE];
    fresh_uuid(t);
    fresh_uuid(dst);
    transfer_setup(f);
    inc_result res;
    run_transfer(f, t, A1, dst, AMOUNT, &res);

    stream ts, s1;
    expect_stream(f->app, &bank_transfer_type, t, &ts, "TransferRequested",
                  "TransferInitiated", "TransferReverted", "TransferCancelled", NULL);
    expect_stream(f->app, &bank_account_type, A1, &s1, "AccountOpened", "MoneyDeposited",
                  "MoneySent", "MoneySentReverted", NULL);
    const rec *req = &ts.ev[0], *ini = &ts.ev[1], *rev = &ts.ev[2], *can = &ts.ev[3];
    const rec *sent = &s1.ev[2], *back = &s1.ev[3];
    const char *corr = req->command_id;
    expect_caused(sent, req, corr);
    expect_caused(ini, req, corr);
    expect_caused(rev, ini, corr);
    expect_caused(back, rev, corr);
    expect_caused(can, rev, corr);
    assert_string_equal(back->transfer_id, t);
    assert_int_equal(back->amount, AMOUNT);
    const rec *order[] = {req, sent, ini, rev, back, can};
    expect_result(&res, order, 6);
    inc_result_free(&res);

    expect_no_stream(f->app, &bank_account_type, dst);
    expect_transfer(f, t, A1, dst, AMOUNT, BANK_TRANSFER_STATUS_CANCELLED, 4);
    expect_account(f, A1, 100, 4);
    expect_account(f, A2, 0, 1);
}

/* The transfer rules one by one (reference 3.3), with the one code
 * `transfer_invalid_status` for every wrong status. */
static void s_transfer_rules(void **state) {
    fx *f = *state;
    inc_app *plain = new_app(f->store, false);
    inc_error err;
    char t[INC_UUID_TEXT_SIZE];
    fresh_uuid(t);
    const inc_message_desc *steps[] = {&bank_initiate_transfer_desc, &bank_complete_transfer_desc,
                                       &bank_revert_transfer_desc, &bank_cancel_transfer_desc};
    for (size_t i = 0; i < 4; i++)
        rejected(step(plain, steps[i], t, &err), &err, "transfer_not_found");
    ok(request_transfer(plain, t, A1, A2, 5, NULL, &err), &err);
    rejected(request_transfer(plain, t, A1, A2, 5, NULL, &err), &err,
             "transfer_already_initiated");
    /* requested: only Initiate or Cancel */
    rejected(step(plain, &bank_complete_transfer_desc, t, &err), &err, "transfer_invalid_status");
    rejected(step(plain, &bank_revert_transfer_desc, t, &err), &err, "transfer_invalid_status");
    ok(step(plain, &bank_initiate_transfer_desc, t, &err), &err);
    /* initiated: only Complete or Revert */
    rejected(step(plain, &bank_initiate_transfer_desc, t, &err), &err, "transfer_invalid_status");
    rejected(step(plain, &bank_cancel_transfer_desc, t, &err), &err, "transfer_invalid_status");
    ok(step(plain, &bank_revert_transfer_desc, t, &err), &err);
    /* reverted: only Cancel */
    rejected(step(plain, &bank_initiate_transfer_desc, t, &err), &err, "transfer_invalid_status");
    rejected(step(plain, &bank_complete_transfer_desc, t, &err), &err, "transfer_invalid_status");
    rejected(step(plain, &bank_revert_transfer_desc, t, &err), &err, "transfer_invalid_status");
    ok(step(plain, &bank_cancel_transfer_desc, t, &err), &err);
    for (size_t i = 0; i < 4; i++)
        rejected(step(plain, steps[i], t, &err), &err, "transfer_invalid_status");
    stream ts;
    expect_stream(plain, &bank_transfer_type, t, &ts, "TransferRequested", "TransferInitiated",
                  "TransferReverted", "TransferCancelled", NULL);
    /* invalid amounts are refused before anything */
    rejected(request_transfer(plain, "other", A1, A2, 0, NULL, &err), &err, "invalid_amount");
    rejected(deposit(plain, A1, -1, &err), &err, "invalid_amount");
    inc_app_free(plain);
}

/* ================================================== the README session */

static void s_readme_session(void **state) {
    fx *f = *state;
    inc_error err;
    inc_result res;
    ok(open_account(f->app, "abc", &err), &err);
    ok(deposit(f->app, "abc", 100, &err), &err);
    ok(deposit(f->app, "abc", 100, &err), &err);
    inc_result_init(&res);
    ok(withdraw(f->app, "abc", 125, &res, &err), &err);
    assert_int_equal(res.count, 1);
    assert_string_equal(res.events[0].event_type, "MoneyWithdrawn");
    assert_int_equal(res.events[0].version, 4);
    assert_int_equal(((const bank_money_withdrawn *)res.events[0].data)->amount, 125);
    inc_result_free(&res);
    expect_account(f, "abc", 75, 4);

    rejected(open_account(f->app, "abc", &err), &err, "account_already_opened");
    rejected(withdraw(f->app, "abc", 125, NULL, &err), &err, "no_enough_balance");
    stream s;
    expect_stream(f->app, &bank_account_type, "abc", &s, "AccountOpened", "MoneyDeposited",
                  "MoneyDeposited", "MoneyWithdrawn", NULL);
    assert_string_equal(s.ev[0].account_number, "abc");
    expect_account(f, "abc", 75, 4);
}

/* ===================================== concurrency (PostgreSQL only) */

#define RACERS 5
#define RACE_AMOUNT 24

enum { CHILD_OK = 0, CHILD_FAILED = 1, CHILD_REJECTED = 3 };

typedef struct race_report {
    int32_t status;
    int32_t handler_failed;
    uint64_t conflicts;
} race_report;

/* One racing process: its own connection and app, ready before the start
 * signal (EOF on `go`), then one command.  No cmocka asserts here: this is
 * a child process. */
static void racer(const fx *f, int go, int out, const char *tid) {
    race_report rep = {CHILD_FAILED, 0, 0};
    inc_error err;
    inc_error_clear(&err);
    inc_store *s = open_store(true, f->schema);
    inc_app *app = NULL;
    if (s) {
        app = inc_app_new(&bank_domain, s, &err);
    }
    char c;
    while (read(go, &c, 1) < 0 && errno == EINTR) {
    }
    if (app) {
        inc_result res;
        inc_result_init(&res);
        int rc = tid ? request_transfer(app, tid, A1, A2, RACE_AMOUNT, &res, &err)
                     : withdraw(app, A1, RACE_AMOUNT, &res, &err);
        if (rc == 0)
            rep.status = CHILD_OK;
        else if (err.kind == INC_ERR_REJECTED && !strcmp(err.code, "no_enough_balance"))
            rep.status = CHILD_REJECTED;
        else
            fprintf(stderr, "racer: %s: %s\n", err.code, err.message);
        rep.handler_failed = res.handler_failed;
        if (res.handler_failed)
            fprintf(stderr, "racer: handler failed: %s\n", res.handler_error.message);
        rep.conflicts = inc_app_conflicts(app);
        inc_result_free(&res);
    } else {
        fprintf(stderr, "racer: setup: %s\n", err.message);
    }
    inc_app_free(app);
    /* our own connection only; the parent's inherited socket is untouched */
    inc_store_close(s);
#ifdef BANK_LSAN
    if (__lsan_do_recoverable_leak_check() != 0) {
        fprintf(stderr, "racer: memory leaked\n");
        rep.status = CHILD_FAILED;
    }
#endif
    if (write(out, &rep, sizeof rep) != (ssize_t)sizeof rep) rep.status = CHILD_FAILED;
    _exit(rep.status);
}

/* Run SQL on c; fails the test on error. */
static void sql_ok(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* The gate that makes the racers really race: an insert of an Account
 * event waits (trigger) for an advisory lock the parent holds, so every
 * racer has read the account at the same version before any of them can
 * commit; the parent lets them go once all RACERS are waiting.  All but
 * one then lose the version race: at least RACERS - 1 conflicts. */
#define GATE_KEY "4242"

static PGconn *gate_close(const fx *f) {
    char *ci = th_conninfo_for_schema(f->schema);
    PGconn *c = PQconnectdb(ci);
    free(ci);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    sql_ok(c, "SET client_min_messages = warning");
    sql_ok(c, "CREATE OR REPLACE FUNCTION race_gate() RETURNS trigger LANGUAGE plpgsql "
              "AS $$BEGIN PERFORM pg_advisory_xact_lock_shared(" GATE_KEY "); "
              "RETURN NEW; END$$");
    sql_ok(c, "CREATE TRIGGER race_gate BEFORE INSERT ON events FOR EACH ROW "
              "WHEN (NEW.aggregate_type = 'Account') EXECUTE FUNCTION race_gate()");
    sql_ok(c, "SELECT pg_advisory_lock(" GATE_KEY ")");
    return c;
}

/* Wait (at most 60 s) until `n` sessions wait at the gate, then open it. */
static void gate_open(PGconn *c, int n) {
    char want[16];
    snprintf(want, sizeof want, "%d", n);
    bool all = false;
    for (int i = 0; i < 6000 && !all; i++) {
        PGresult *r = PQexec(c, "SELECT count(*) FROM pg_locks WHERE locktype = "
                                "'advisory' AND NOT granted AND objid = " GATE_KEY);
        all = PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), want);
        PQclear(r);
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (!all) nanosleep(&ts, NULL);
    }
    sql_ok(c, "SELECT pg_advisory_unlock(" GATE_KEY ")");
    assert_true(all); /* every racer read the account before any committed */
}

static void gate_remove(PGconn *c) {
    sql_ok(c, "DROP TRIGGER race_gate ON events");
    sql_ok(c, "DROP FUNCTION race_gate()");
    PQfinish(c);
}

/* Fork RACERS processes that start together; count their outcomes. */
static void race(fx *f, char tids[][INC_UUID_TEXT_SIZE], int *n_ok, int *n_rejected) {
    assert_true(f->pg);
    PGconn *gate = gate_close(f);
    int go[2], out[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(out), 0);
    pid_t kids[RACERS];
    fflush(NULL);
    for (int k = 0; k < RACERS; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            close(go[1]);
            close(out[0]);
            racer(f, go[0], out[1], tids ? tids[k] : NULL);
        }
    }
    close(go[0]);
    close(out[1]);
    close(go[1]); /* go: every child reads EOF at once */
    gate_open(gate, RACERS);
    *n_ok = *n_rejected = 0;
    uint64_t conflicts = 0;
    for (int k = 0; k < RACERS; k++) {
        int status;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        assert_true(code == CHILD_OK || code == CHILD_REJECTED);
        if (code == CHILD_OK) ++*n_ok;
        else ++*n_rejected;
    }
    race_report rep;
    int reports = 0;
    while (read(out[0], &rep, sizeof rep) == (ssize_t)sizeof rep) {
        assert_int_equal(rep.handler_failed, 0);
        conflicts += rep.conflicts;
        reports++;
    }
    close(out[0]);
    assert_int_equal(reports, RACERS);
    gate_remove(gate);
    print_message("%d racers: %llu version conflicts retried\n", RACERS,
                  (unsigned long long)conflicts);
    assert_true(conflicts >= RACERS - 1);
}

/* 12. Five concurrent withdrawals of 24 from 100. */
static void s12_concurrent_withdrawals(void **state) {
    fx *f = *state;
    inc_error err;
    ok(open_account(f->app, A1, &err), &err);
    ok(deposit(f->app, A1, AMOUNT, &err), &err);
    int n_ok, n_rejected;
    race(f, NULL, &n_ok, &n_rejected);
    assert_int_equal(n_ok, 4);
    assert_int_equal(n_rejected, 1);

    stream s;
    expect_stream(f->app, &bank_account_type, A1, &s, "AccountOpened", "MoneyDeposited",
                  "MoneyWithdrawn", "MoneyWithdrawn", "MoneyWithdrawn", "MoneyWithdrawn", NULL);
    assert_int_equal(count_for(&s, "MoneyWithdrawn", NULL), 4);
    for (size_t i = 2; i < s.n; i++) assert_int_equal(s.ev[i].amount, RACE_AMOUNT);
    acct_list l;
    list_accts(f->store, &l);
    assert_int_equal(l.n, 1);
    expect_account(f, A1, AMOUNT - 4 * RACE_AMOUNT, 6);
}

/* 13. Five concurrent transfers of 24 from A1 (100) to A2. */
static void s13_concurrent_transfers(void **state) {
    fx *f = *state;
    transfer_setup(f);
    char tids[RACERS][INC_UUID_TEXT_SIZE];
    for (int k = 0; k < RACERS; k++) fresh_uuid(tids[k]);
    int n_ok, n_rejected;
    race(f, tids, &n_ok, &n_rejected);
    assert_int_equal(n_ok, RACERS); /* RequestTransfer itself always succeeds */

    xfer_list l;
    list_xfers(f->store, &l);
    assert_int_equal(l.n, RACERS);
    int completed = 0, cancelled = 0;
    for (size_t i = 0; i < l.n; i++) {
        const xfer_row *r = &l.r[i];
        bool ours = false;
        for (int k = 0; k < RACERS; k++) ours = ours || !strcmp(r->id, tids[k]);
        assert_true(ours);
        assert_string_equal(r->source, A1);
        assert_string_equal(r->destination, A2);
        assert_int_equal(r->amount, RACE_AMOUNT);
        assert_true(r->has_status);
        stream ts;
        if (r->status == BANK_TRANSFER_STATUS_COMPLETED) {
            completed++;
            expect_stream(f->app, &bank_transfer_type, r->id, &ts, "TransferRequested",
                          "TransferInitiated", "TransferCompleted", NULL);
            assert_int_equal(r->meta.version, 3);
        } else {
            assert_int_equal(r->status, BANK_TRANSFER_STATUS_CANCELLED);
            cancelled++;
            expect_stream(f->app, &bank_transfer_type, r->id, &ts, "TransferRequested",
                          "TransferCancelled", NULL);
            assert_int_equal(r->meta.version, 2);
        }
        const char *corr = ts.ev[0].command_id;
        for (size_t i2 = 1; i2 < ts.n; i2++) assert_string_equal(ts.ev[i2].correlation_id, corr);
    }
    assert_int_equal(completed, 4);
    assert_int_equal(cancelled, 1);

    stream s1, s2;
    expect_stream(f->app, &bank_account_type, A1, &s1, "AccountOpened", "MoneyDeposited",
                  "MoneySent", "MoneySent", "MoneySent", "MoneySent", NULL);
    expect_stream(f->app, &bank_account_type, A2, &s2, "AccountOpened", "MoneyReceived",
                  "MoneyReceived", "MoneyReceived", "MoneyReceived", NULL);
    /* each completed transfer moved money exactly once on each side */
    for (size_t i = 0; i < l.n; i++) {
        int want = l.r[i].status == BANK_TRANSFER_STATUS_COMPLETED ? 1 : 0;
        assert_int_equal(count_for(&s1, "MoneySent", l.r[i].id), want);
        assert_int_equal(count_for(&s2, "MoneyReceived", l.r[i].id), want);
    }
    expect_account(f, A1, AMOUNT - 4 * RACE_AMOUNT, 6);
    expect_account(f, A2, 4 * RACE_AMOUNT, 5);
}

/* ========================================= sagas cut, then the reactor */

/* A store around the fixture's whose `fail_at`-th commit (1-based) and
 * every later one fail with INC_ERR_UNAVAILABLE, as when the process
 * loses its database (or dies) between two steps of a saga.  `lost_ack`:
 * the failing commit goes through first and only its answer is lost (the
 * outcome the caller cannot know). */
typedef struct cut_store {
    inc_store base;
    inc_store *inner;
    inc_store_ops ops;
    int commits, fail_at;
    bool lost_ack;
} cut_store;

static int cut_load(inc_store *s, const inc_aggregate_desc *a, const char *id, unsigned flags,
                    const inc_load_cbs *cbs, inc_error *err) {
    return inc_store_load(((cut_store *)s)->inner, a, id, flags, cbs, err);
}

static int cut_read_stream(inc_store *s, const char *type, const char *id, int64_t after,
                           inc_event_cb cb, void *ud, inc_error *err) {
    return inc_store_read_stream(((cut_store *)s)->inner, type, id, after, cb, ud, err);
}

static int cut_command_get(inc_store *s, const char *command_id, inc_command_cb cb, void *ud,
                           bool *found, inc_error *err) {
    return inc_store_command_get(((cut_store *)s)->inner, command_id, cb, ud, found, err);
}

static int cut_commit(inc_store *s, const inc_commit *c, inc_error *err) {
    cut_store *cs = (cut_store *)s;
    cs->commits++;
    if (cs->commits < cs->fail_at) return inc_store_commit(cs->inner, c, err);
    if (cs->commits == cs->fail_at && cs->lost_ack) {
        inc_error ignored;
        (void)inc_store_commit(cs->inner, c, &ignored);
    }
    return inc_error_set(err, INC_ERR_UNAVAILABLE, "unavailable", "cut at commit %d",
                         cs->fail_at);
}

static void cut_store_init(cut_store *cs, inc_store *inner, int fail_at, bool lost_ack) {
    memset(cs, 0, sizeof *cs);
    cs->inner = inner;
    cs->fail_at = fail_at;
    cs->lost_ack = lost_ack;
    cs->ops.name = "cut";
    cs->ops.load = cut_load;
    cs->ops.commit = cut_commit;
    cs->ops.read_stream = cut_read_stream;
    cs->ops.command_get = cut_command_get;
    cs->base.ops = &cs->ops;
}

/* Run the reactor (the fixture's app, saga registered) until it has
 * caught up; *recorded: the events its handlers recorded. */
static void react(fx *f, int64_t *recorded) {
    inc_error err;
    inc_reactor_stats st;
    ok(inc_reactor_run(f->app, NULL, NULL, &st, &err), &err);
    *recorded = st.events_recorded;
}

typedef enum path { COMPLETES, NO_FUNDS, NO_DESTINATION } path;

/* One transfer on `path`, its process cut at every commit of the saga in
 * turn (and not at all: `n_commits` + 1), with and without the answer of
 * the cut commit lost; then the reactor.  Every transfer that was
 * requested ends completed or cancelled with each money step done once;
 * a second reactor run records nothing (handlers run again for the same
 * events are no-ops); money is conserved. */
static void cut_everywhere(fx *f, path p, int n_commits) {
    inc_error err;
    transfer_setup(f);
    ok(deposit(f->app, A1, 10000, &err), &err);
    int64_t recorded;
    react(f, &recorded); /* the reactor starts after the setup */
    int64_t total = 10000 + AMOUNT, done = 0;
    for (int fail_at = 1; fail_at <= n_commits + 1; fail_at++) {
        for (int lost = 0; lost < 2; lost++) {
            cut_store cs;
            cut_store_init(&cs, f->store, fail_at, lost == 1);
            inc_app *cut = new_app(&cs.base, true);
            char t[INC_UUID_TEXT_SIZE], dst[INC_UUID_TEXT_SIZE];
            fresh_uuid(t);
            fresh_uuid(dst);
            int64_t amount = p == NO_FUNDS ? 1000000 : AMOUNT;
            inc_result res;
            inc_result_init(&res);
            int rc = request_transfer(cut, t, A1, p == NO_DESTINATION ? dst : A2, amount, &res,
                                      &err);
            bool requested = fail_at > 1 || lost == 1;
            assert_int_equal(rc == 0, fail_at > 1);
            /* cut (or not) where asked: the inline saga stopped there */
            assert_int_equal(res.handler_failed, fail_at > 1 && fail_at <= n_commits);
            inc_result_free(&res);
            inc_app_free(cut);

            react(f, &recorded);
            int64_t again;
            react(f, &again);
            assert_int_equal(again, 0);
            if (fail_at > n_commits) assert_int_equal(recorded, 0); /* all done inline */
            if (!requested) {
                expect_no_stream(f->app, &bank_transfer_type, t);
                continue;
            }
            xfer_row x = get_xfer(f->store, t);
            assert_true(x.found && x.has_status);
            assert_int_equal(x.status, p == COMPLETES ? BANK_TRANSFER_STATUS_COMPLETED
                                                      : BANK_TRANSFER_STATUS_CANCELLED);
            stream s1, s2;
            read_stream(f->app, &bank_account_type, A1, &s1);
            read_stream(f->app, &bank_account_type, A2, &s2);
            assert_int_equal(count_for(&s1, "MoneySent", t), p == NO_FUNDS ? 0 : 1);
            assert_int_equal(count_for(&s2, "MoneyReceived", t), p == COMPLETES ? 1 : 0);
            assert_int_equal(count_for(&s1, "MoneySentReverted", t),
                             p == NO_DESTINATION ? 1 : 0);
            expect_no_stream(f->app, &bank_account_type, dst);
            if (p == COMPLETES) done++;
        }
    }
    /* conserved: what left A1 arrived at A2 */
    assert_int_equal(get_acct(f->store, A1).balance, total - done * AMOUNT);
    assert_int_equal(get_acct(f->store, A2).balance, done * AMOUNT);
}

/* Request, send, initiate, receive, complete. */
static void r_cut_completes(void **state) { cut_everywhere(*state, COMPLETES, 5); }
/* Request, send rejected (the rejection recorded), cancel. */
static void r_cut_no_funds(void **state) { cut_everywhere(*state, NO_FUNDS, 3); }
/* Request, send, initiate, receive rejected (recorded), revert, refund,
 * cancel. */
static void r_cut_no_destination(void **state) { cut_everywhere(*state, NO_DESTINATION, 7); }

/* A saga's handler run twice for the same events writes nothing the
 * second time: the reactor from the start of the log over transfers the
 * inline path finished (the handlers' command ids are recorded once). */
static void r_handlers_twice(void **state) {
    fx *f = *state;
    transfer_setup(f);
    char t[INC_UUID_TEXT_SIZE], dst[INC_UUID_TEXT_SIZE];
    inc_result res;
    run_transfer(f, fresh_uuid(t), A1, A2, 10, &res);
    inc_result_free(&res);
    run_transfer(f, fresh_uuid(t), A1, fresh_uuid(dst), 10, &res);
    inc_result_free(&res);
    stream before, after;
    read_stream(f->app, &bank_account_type, A1, &before);
    int64_t recorded;
    react(f, &recorded);
    assert_int_equal(recorded, 0);
    read_stream(f->app, &bank_account_type, A1, &after);
    assert_int_equal(before.n, after.n);
    expect_account(f, A1, 90, (int64_t)after.n);
}

/* ================================================================ main */

#define ON(fn, mode, label) {#fn label, fn, setup, teardown, &mode}
#define BOTH(fn) ON(fn, mode_mem, "/memory"), ON(fn, mode_pg, "/postgres")
#define PG(fn) ON(fn, mode_pg, "/postgres")

/* `test_bank --citus` (the Citus suite, tests/citus): every scenario but
 * s12 and s13 against $INCIDENT_DB, a Citus coordinator.  Those two force
 * their races with a trigger on events, and Citus has no triggers on
 * distributed tables; the Citus suite forces its races with a lock held
 * from another connection instead (tests/citus/run.sh). */
int main(int argc, char **argv) {
    const struct CMUnitTest citus[] = {
        PG(s01_open_account),
        PG(s02_open_twice),
        PG(s03_two_deposits),
        PG(s04_deposit_missing_account),
        PG(s05_deposit_withdraw),
        PG(s06_overdraw),
        PG(s07_withdraw_missing_account),
        PG(s08_transfer_succeeds),
        PG(s09_transfer_insufficient_funds),
        PG(s10_transfer_source_missing),
        PG(s11_transfer_destination_missing),
        PG(s_transfer_rules),
        PG(s_typed_queries),
        PG(s_readme_session),
        PG(r_handlers_twice),
        PG(r_cut_completes),
        PG(r_cut_no_funds),
        PG(r_cut_no_destination),
    };
    if (argc == 2 && strcmp(argv[1], "--citus") == 0)
        return cmocka_run_group_tests_name("bank on Citus", citus, NULL, NULL);
    const struct CMUnitTest tests[] = {
        BOTH(s01_open_account),
        BOTH(s02_open_twice),
        BOTH(s03_two_deposits),
        BOTH(s04_deposit_missing_account),
        BOTH(s05_deposit_withdraw),
        BOTH(s06_overdraw),
        BOTH(s07_withdraw_missing_account),
        BOTH(s08_transfer_succeeds),
        BOTH(s09_transfer_insufficient_funds),
        BOTH(s10_transfer_source_missing),
        BOTH(s11_transfer_destination_missing),
        BOTH(s_transfer_rules),
        BOTH(s_typed_queries),
        BOTH(s_readme_session),
        PG(s12_concurrent_withdrawals),
        PG(s13_concurrent_transfers),
        BOTH(r_handlers_twice),
        BOTH(r_cut_completes),
        BOTH(r_cut_no_funds),
        BOTH(r_cut_no_destination),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
