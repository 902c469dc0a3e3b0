/* cli.c - the domain command-line tool every generated domain gets
 * (docs/cli.md): init, dispatch, state, events, projection,
 * rebuild, follow, react, consumers, prune-command-ids.  Input is checked (names, JSON, validation) before the database
 * is contacted, so bad input exits 2 even when no server is reachable. */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <incident/app.h>
#include <incident/cli.h>
#include <incident/reactor.h>
#include <incident/store.h>
#include <incident/subscription.h>
#include <incident/view.h>

#include "cli_internal.h"
#include "query_internal.h"
#include "store_util.h"

#include "app_internal.h"

typedef struct cli {
    const char *prog;
    const inc_domain *d;
    const char *db;
    const char *schema; /* --schema, else $INCIDENT_SCHEMA; NULL: none */
    bool memory;
    inc_store *store;
    inc_app *app;
} cli;

static const char *base_name(const char *path) {
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : (path && *path ? path : "incident");
}

static void usage(const cli *c, FILE *out) {
    const inc_domain *d = c->d;
    fprintf(out,
            "usage: %s [--db CONNINFO] [--schema NAME] [--memory] SUBCOMMAND "
            "ARGS...\n"
            "\n"
            "Event store and command tool of domain %s.\n"
            "\n"
            "subcommands:\n"
            "  init                    create or upgrade the event store and "
            "projection tables\n"
            "  dispatch [--command-id ID] COMMAND JSON|-\n"
            "                          run a command; print each new event as "
            "a JSON line\n"
            "                          (a repeated ID prints the first run's "
            "events)\n"
            "  state AGGREGATE ID      the aggregate's current state as one "
            "JSON object\n"
            "  events AGGREGATE ID     the aggregate's events in version "
            "order, one per line\n"
            "  projection NAME [ID] [--where FIELD=VALUE]... [--order [-]FIELD] "
            "[--limit N]\n"
            "                          projection rows, one JSON object per "
            "line\n"
            "  rebuild NAME            rebuild a projection or view from the events\n"
            "  follow [--consumer NAME] [--limit N] [--idle MS]\n"
            "                          every committed event in commit order, "
            "one per line\n"
            "                          (with --consumer: from its stored "
            "checkpoint)\n"
            "  views [--limit N] [--idle MS]\n"
            "                          keep the views up to date (until "
            "SIGINT/SIGTERM)\n"
            "  react [--limit N] [--idle MS]\n"
            "                          run the event handlers (reactions) for "
            "every committed\n"
            "                          event, exactly once in effect; print "
            "each new event\n"
            "  consumers               the consumers, their checkpoints and "
            "lag\n"
            "                          (a view's is \"view:NAME\")\n"
            "  prune-command-ids --older-than DURATION|TIMESTAMP\n"
            "                          forget command ids recorded before "
            "then (e.g. 30d, 12h)\n"
            "\n"
            "options (before the subcommand):\n"
            "  --db CONNINFO   PostgreSQL connection string or URI (default: "
            "$INCIDENT_DB,\n"
            "                  else libpq's PG* environment variables)\n"
            "  --schema NAME   keep the domain's tables in this PostgreSQL "
            "schema (default:\n"
            "                  $INCIDENT_SCHEMA, else the connection's "
            "search_path)\n"
            "  --memory        use a fresh in-memory store instead (nothing "
            "is kept)\n"
            "  --help          show this help\n"
            "\n"
            "exit status: 0 ok, 1 database or internal error, 2 bad input, 3 "
            "command rejected\n",
            c->prog, d->name);
    fprintf(out, "\naggregates:");
    for (size_t i = 0; i < d->n_aggregates; i++)
        fprintf(out, " %s", d->aggregates[i]->name);
    fprintf(out, "\n");
    incx_cli_describe(d, out);
}

/* A missing table (SQLSTATE 42P01, the store's "not_initialised"): the
 * database error, with its SQL and caret line, says nothing a new user
 * can act on; one line says what to do. */
static int not_initialised(const cli *c) {
    if (c->schema)
        fprintf(stderr,
                "%s: the event store is not initialised in schema %s: run "
                "'%s --schema %s init' first\n",
                c->prog, c->schema, c->prog, c->schema);
    else
        fprintf(stderr,
                "%s: the event store is not initialised: run '%s init' "
                "first\n",
                c->prog, c->prog);
    return INC_CLI_FAILURE;
}

/* Report an error and map it to the exit code. */
static int fail(const cli *c, const inc_error *err) {
    switch (err->kind) {
    case INC_ERR_REJECTED:
        fprintf(stderr, "rejected: %s\n", err->code);
        return INC_CLI_REJECTED;
    case INC_ERR_INVALID:
    case INC_ERR_NOT_FOUND:
        fprintf(stderr, "%s: invalid input: %s\n", c->prog, err->message);
        return INC_CLI_USAGE;
    default:
        if (strcmp(err->code, "not_initialised") == 0)
            return not_initialised(c);
        fprintf(stderr, "%s: %s: %s\n", c->prog, inc_error_kind_name(err->kind),
                err->message);
        return INC_CLI_FAILURE;
    }
}

static int usage_error(const cli *c, const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", c->prog);
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\nTry '%s --help'.\n", c->prog);
    return INC_CLI_USAGE;
}

static int open_store(cli *c, int (*setup)(inc_app *, void *, inc_error *),
                      void *ud) {
    inc_error err;
    inc_error_clear(&err);
    if (c->memory) {
        c->store = inc_mem_store_open(&err);
    } else {
        inc_pg_options o = {c->db, c->schema};
        c->store = inc_pg_store_open(&o, &err);
        /* wakes `follow`ers at once; a one-shot process does not feel the
         * notification's cost (docs/subscriptions.md) */
        if (c->store) inc_pg_store_set_notify(c->store, true);
    }
    if (!c->store) return fail(c, &err);
    c->app = inc_app_new(c->d, c->store, &err);
    if (!c->app) return fail(c, &err);
    if (setup && setup(c->app, ud, &err) != 0) {
        if (err.kind == INC_OK)
            inc_error_set(&err, INC_ERR_INTERNAL, "setup", "setup failed");
        fprintf(stderr, "%s: setup: %s\n", c->prog, err.message);
        return INC_CLI_FAILURE;
    }
    return 0;
}

static int print_json(json_t *j) {
    if (!j) return -1;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s) return -1;
    int rc = fputs(s, stdout) < 0 || fputc('\n', stdout) == EOF ? -1 : 0;
    free(s);
    return rc;
}

static int print_event(void *ud, const inc_recorded_event *ev, inc_error *err) {
    (void)ud;
    if (print_json(inc_recorded_event_to_json(ev)) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "output",
                             "cannot write output");
    return 0;
}

/* ---- subcommands ---- */

static const inc_aggregate_desc *find_aggregate(const cli *c, const char *name) {
    return inc_domain_aggregate(c->d, name);
}

/* Commands larger than an argument may be are read from standard input
 * (`dispatch COMMAND -`); the cap keeps a runaway pipe from exhausting
 * memory. */
#define STDIN_JSON_MAX ((size_t)64 << 20)

/* All of `in` as one NUL-terminated string (malloc'd), or NULL with `err`
 * set: too large, a read error, or out of memory. */
static char *read_all(FILE *in, size_t *len, inc_error *err) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 == cap) {
            if (cap > STDIN_JSON_MAX) {
                free(buf);
                inc_error_set(err, INC_ERR_INVALID, "too_large",
                              "standard input: more than %zu bytes of JSON",
                              STDIN_JSON_MAX);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, in);
        n += got;
        if (got == 0) {
            if (ferror(in)) {
                free(buf);
                inc_error_set(err, INC_ERR_INVALID, "read_failed",
                              "standard input: read error");
                return NULL;
            }
            buf[n] = '\0';
            *len = n;
            return buf;
        }
    }
    free(buf);
    inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory", "out of memory");
    return NULL;
}

static int cmd_dispatch(cli *c, const char *command_id, const char *name,
                        const char *json,
                        int (*setup)(inc_app *, void *, inc_error *), void *ud) {
    inc_error err;
    inc_error_clear(&err);
    const inc_message_desc *d = inc_domain_command(c->d, name);
    if (!d) return usage_error(c, "unknown command '%s'", name);
    void *msg = malloc(d->size);
    if (!msg) {
        inc_error_set(&err, INC_ERR_INTERNAL, "out_of_memory", "out of memory");
        return fail(c, &err);
    }
    int rc = 0;
    if (command_id &&
        (!*command_id || strlen(command_id) > INC_COMMAND_ID_MAX)) {
        free(msg);
        return usage_error(c, "--command-id: 1 to 128 bytes%s", "");
    }
    size_t json_len = 0;
    char *stdin_json = NULL;
    if (strcmp(json, "-") == 0) {
        if (!(stdin_json = read_all(stdin, &json_len, &err))) {
            free(msg);
            return fail(c, &err);
        }
        json = stdin_json;
    } else {
        json_len = strlen(json);
    }
    if (inc_msg_from_text(d, msg, json, json_len, 0, &err) != 0 ||
        inc_msg_validate(d, msg, &err) != 0) {
        rc = fail(c, &err);
    } else if ((rc = open_store(c, setup, ud)) == 0) {
        inc_result res;
        inc_result_init(&res);
        if (inc_dispatch_with_id(c->app, d, msg, command_id, &res, &err) != 0) {
            rc = fail(c, &err);
        } else {
            for (size_t i = 0; i < res.count && rc == 0; i++)
                if (print_event(NULL, &res.events[i], &err) != 0)
                    rc = fail(c, &err);
            if (res.handler_failed)
                fprintf(stderr, "%s: warning: an event handler failed: %s\n",
                        c->prog, res.handler_error.message);
        }
        inc_result_free(&res);
    }
    free(stdin_json);
    inc_msg_free(d, msg);
    free(msg);
    return rc;
}

/* AGGREGATE ID arguments checked (exit 2), then the store opened. */
static int aggregate_args(cli *c, const char *agg, const char *id,
                          const inc_aggregate_desc **a) {
    if (!(*a = find_aggregate(c, agg)))
        return usage_error(c, "unknown aggregate '%s'", agg);
    if (!*id) return usage_error(c, "the aggregate id must not be empty%s", "");
    return open_store(c, NULL, NULL);
}

static int cmd_state(cli *c, const char *agg, const char *id) {
    inc_error err;
    inc_error_clear(&err);
    const inc_aggregate_desc *a;
    int rc = aggregate_args(c, agg, id, &a);
    if (rc) return rc;
    void *state = malloc(a->state->size);
    if (!state) {
        inc_error_set(&err, INC_ERR_INTERNAL, "out_of_memory", "out of memory");
        return fail(c, &err);
    }
    if (inc_app_state(c->app, a, id, state, &err) != 0) rc = fail(c, &err);
    else if (print_json(inc_msg_to_json(a->state, state, 0)) != 0) {
        inc_error_set(&err, INC_ERR_INTERNAL, "output", "cannot write output");
        rc = fail(c, &err);
    }
    inc_msg_free(a->state, state);
    free(state);
    return rc;
}

static int cmd_events(cli *c, const char *agg, const char *id) {
    inc_error err;
    inc_error_clear(&err);
    const inc_aggregate_desc *a;
    int rc = aggregate_args(c, agg, id, &a);
    if (rc) return rc;
    if (inc_app_read_stream(c->app, a, id, print_event, NULL, &err) != 0)
        return fail(c, &err);
    return 0;
}

static int print_row(void *ud, const void *row, const inc_row_meta *meta,
                     inc_error *err) {
    const inc_projection_desc *p = ud;
    char ts[INC_TIMESTAMP_TEXT_MAX];
    json_t *o = inc_msg_to_json(p->row, row, 0);
    if (!o || inc_timestamp_format(meta->event_date, ts) != 0 ||
        json_object_set_new(o, "version", json_integer(meta->version)) ||
        json_object_set_new(o, "event_id", json_string(meta->event_id)) ||
        json_object_set_new(o, "event_date", json_string(ts)) ||
        print_json(o) != 0) {
        return inc_error_set(err, INC_ERR_INTERNAL, "output",
                             "cannot write output");
    }
    return 0;
}

/* A decimal count for an option: -1 when not one. */
static long long count_arg(const char *v) {
    char *end;
    if (!v || !*v || *v == '-' || *v == '+') return -1;
    long long n = strtoll(v, &end, 10);
    return *end || n > 1000000000000LL ? -1 : n;
}

#define PROJECTION_USAGE                                                       \
    "usage: projection NAME [ID] [--where FIELD=VALUE]... [--order "          \
    "[-]FIELD] [--limit N]%s"

/* projection NAME [ID] [--where FIELD=VALUE]... [--order [-]FIELD]
 * [--limit N]: ID is a --where on aggregate_id; fields and values are
 * checked against the row (exit 2 naming them) before the store opens. */
static int cmd_projection(cli *c, int nargs, char **args) {
    inc_error err;
    inc_error_clear(&err);
    const inc_projection_desc *p = inc_domain_projection(c->d, args[0]);
    const inc_view_desc *view = p ? NULL : inc_domain_view(c->d, args[0]);
    if (view) p = view->table;
    if (!p) return usage_error(c, "unknown projection or view '%s'", args[0]);
    inc_query q;
    memset(&q, 0, sizeof q);
    /* at most one condition per argument, plus the ID */
    inc_query_where *w = calloc((size_t)nargs + 1, sizeof *w);
    if (!w) {
        inc_error_set(&err, INC_ERR_INTERNAL, "out_of_memory", "out of memory");
        return fail(c, &err);
    }
    q.where = w;
    int i = 1, rc = 0;
    /* aggregate_id, or a view's key */
    const inc_field_desc *key = incx_row_key(p->row);
    const char *id_field = key ? key->name : "aggregate_id";
    if (i < nargs && args[i][0] != '-') {
        w[q.n_where].field = id_field;
        w[q.n_where++].value = args[i++];
    }
    for (; i < nargs && rc == 0; i += 2) {
        const char *a = args[i], *v = i + 1 < nargs ? args[i + 1] : NULL;
        const char *eq = v && strcmp(a, "--where") == 0 ? strchr(v, '=') : NULL;
        long long n = count_arg(v);
        if (eq && eq > v) {
            /* the field, up to the first '=', copied (argv stays as is);
             * the value is the rest, '=' and all */
            char *field = malloc((size_t)(eq - v) + 1);
            if (!field) {
                inc_error_set(&err, INC_ERR_INTERNAL, "out_of_memory",
                              "out of memory");
                rc = fail(c, &err);
                break;
            }
            memcpy(field, v, (size_t)(eq - v));
            field[eq - v] = '\0';
            w[q.n_where].field = field;
            w[q.n_where++].value = eq + 1;
        } else if (strcmp(a, "--order") == 0 && v && *v && !q.order) {
            q.descending = v[0] == '-';
            q.order = v + (v[0] == '-');
        } else if (strcmp(a, "--limit") == 0 && n > 0 && !q.limit) {
            q.limit = n;
        } else {
            rc = usage_error(c, PROJECTION_USAGE, "");
        }
    }
    if (rc == 0 && incx_query_check(p, &q, &err) != 0) rc = fail(c, &err);
    if (rc == 0) rc = open_store(c, NULL, NULL);
    if (rc == 0 &&
        inc_store_query(c->store, p, &q, print_row, (void *)p, &err) != 0)
        rc = fail(c, &err);
    for (size_t k = 0; k < q.n_where; k++)
        if (w[k].field != id_field) free((char *)w[k].field);
    free(w);
    return rc;
}

typedef struct progress {
    bool tty;
    const char *name;
    int64_t last;
    bool printed;
} progress;

static void on_progress(void *ud, int64_t done, int64_t total) {
    progress *pr = ud;
    if (pr->tty) {
        int width = 30, fill = total > 0 ? (int)(done * width / total) : width;
        int pct = total > 0 ? (int)(done * 100 / total) : 100;
        fprintf(stderr, "\rrebuilding %s [", pr->name);
        for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '-', stderr);
        fprintf(stderr, "] %3d%% %lld/%lld events", pct, (long long)done,
                (long long)total);
        if (done >= total) fputc('\n', stderr);
        fflush(stderr);
        pr->printed = done >= total;
        return;
    }
    /* plain lines: every 1000 events and at the end, never twice */
    if (pr->printed && done == pr->last) return;
    if (done < total && done - pr->last < 1000) return;
    fprintf(stderr, "rebuilt %lld/%lld events\n", (long long)done,
            (long long)total);
    pr->last = done;
    pr->printed = true;
}

static int cmd_rebuild(cli *c, const char *name) {
    inc_error err;
    inc_error_clear(&err);
    const inc_projection_desc *p = inc_domain_projection(c->d, name);
    const inc_view_desc *v = p ? NULL : inc_domain_view(c->d, name);
    if (!p && !v) return usage_error(c, "unknown projection or view '%s'", name);
    int rc = open_store(c, NULL, NULL);
    if (rc) return rc;
    progress pr = {isatty(STDERR_FILENO) == 1, name, 0, false};
    if (v ? inc_view_rebuild(c->store, c->d, v, on_progress, &pr, &err)
          : inc_app_rebuild(c->app, p, on_progress, &pr, &err)) {
        if (pr.tty) fputc('\n', stderr);
        return fail(c, &err);
    }
    return 0;
}

/* "30d", "12h", "15m", "90s" before now, or an RFC 3339 timestamp. */
static int parse_older_than(const char *text, inc_timestamp *out) {
    char *end;
    if (inc_timestamp_parse(text, out) == 0) return 0;
    if (*text < '0' || *text > '9') return -1;
    long long n = strtoll(text, &end, 10);
    int64_t unit = 0;
    if (strcmp(end, "s") == 0) unit = 1;
    else if (strcmp(end, "m") == 0) unit = 60;
    else if (strcmp(end, "h") == 0) unit = 3600;
    else if (strcmp(end, "d") == 0) unit = 86400;
    if (!unit || n < 0 || n > INT64_MAX / 1000000 / unit) return -1;
    *out = inc_timestamp_now() - (int64_t)n * unit * 1000000;
    return 0;
}

static int cmd_prune_command_ids(cli *c, const char *older_than) {
    inc_error err;
    inc_error_clear(&err);
    inc_timestamp before;
    if (parse_older_than(older_than, &before) != 0)
        return usage_error(c,
                           "--older-than: '%s' is not a duration (30d, 12h, "
                           "15m, 90s) or an RFC 3339 timestamp",
                           older_than);
    int rc = open_store(c, NULL, NULL);
    if (rc) return rc;
    int64_t n;
    if (inc_store_prune_command_ids(c->store, before, &n, &err) != 0)
        return fail(c, &err);
    printf("{\"pruned\":%lld}\n", (long long)n);
    return 0;
}

/* What init changed, one line each on stdout; the tables to refill
 * collected (in the domain's order, each once). */
typedef struct init_report {
    const inc_projection_desc **refill;
    size_t n_refill;
} init_report;

static int on_table_change(void *ud, const inc_table_change *ch,
                           inc_error *err) {
    init_report *ir = ud;
    const char *name = ch->projection ? ch->projection->name : ch->table;
    switch (ch->kind) {
    case INC_TABLE_DISTRIBUTED:
        printf("table %s: distributed by aggregate_id (Citus)\n", ch->table);
        break;
    case INC_TABLE_CREATED:
        printf("projection %s: created table\n", name);
        break;
    case INC_TABLE_COLUMN_ADDED:
        printf("projection %s: added column %s %s\n", name, ch->column,
               ch->new_type);
        break;
    case INC_TABLE_COLUMN_DROPPED:
        printf("projection %s: dropped column %s (was %s)\n", name,
               ch->column, ch->old_type);
        break;
    case INC_TABLE_COLUMN_RETYPED:
        printf("projection %s: retyped column %s from %s to %s\n", name,
               ch->column, ch->old_type, ch->new_type);
        break;
    case INC_TABLE_REFILL:
        ir->refill[ir->n_refill++] = ch->projection;
        break;
    }
    if (fflush(stdout) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "output",
                             "cannot write output");
    return 0;
}

/* Create or upgrade the store, bring the projection tables to their
 * declared columns, refill those whose shape changed (docs/evolution.md). */
static int cmd_init(cli *c) {
    inc_error err;
    inc_error_clear(&err);
    int rc = open_store(c, NULL, NULL);
    if (rc) return rc;
    init_report ir = {NULL, 0};
    if (!(ir.refill = calloc(c->d->n_projections + 1, sizeof *ir.refill))) {
        inc_error_set(&err, INC_ERR_INTERNAL, "out_of_memory", "out of memory");
        return fail(c, &err);
    }
    if (inc_store_init_report(c->store, c->d, on_table_change, &ir, &err) !=
        0) {
        free(ir.refill);
        return fail(c, &err);
    }
    for (size_t i = 0; i < ir.n_refill; i++) {
        const char *name = ir.refill[i]->name;
        progress pr = {isatty(STDERR_FILENO) == 1, name, 0, false};
        if (inc_app_rebuild(c->app, ir.refill[i], on_progress, &pr, &err) !=
            0) {
            if (pr.tty) fputc('\n', stderr);
            free(ir.refill);
            return fail(c, &err);
        }
        printf("projection %s: refilled from the events\n", name);
    }
    free(ir.refill);
    return 0;
}

/* ---- follow and consumers (docs/subscriptions.md) ---- */

/* Set by SIGINT/SIGTERM during `follow` and `react`.  Process-wide by nature (a
 * signal handler can reach nothing else); only the CLI uses it. */
static volatile sig_atomic_t follow_stop;

static void on_stop_signal(int sig) {
    (void)sig;
    follow_stop = 1;
}

/* `events`' object plus "position", decoded through the domain. */
static int follow_event(void *ud, inc_consumer_tx *tx,
                        const inc_stored_event *ev, const inc_log_position *at,
                        inc_error *err) {
    const cli *c = ud;
    (void)tx;
    (void)at;
    const inc_aggregate_desc *a = find_aggregate(c, ev->aggregate_type);
    if (!a)
        return inc_error_set(err, INC_ERR_INTERNAL, "unknown_event",
                             "position %lld: %s %s is not an event of this "
                             "domain",
                             (long long)ev->position, ev->aggregate_type,
                             ev->event_type);
    /* the runtime's one decoder: `was` names, upcasts, newer schemas */
    inc_recorded_event r;
    if (incx_recorded_from_stored(a, ev, &r, err) != 0) return -1;
    const inc_message_desc *d = r.desc;
    json_t *o = inc_recorded_event_to_json(&r);
    inc_msg_free(d, r.data);
    free(r.data);
    /* written out before the checkpoint moves past it */
    if (o && json_object_set_new(o, "position", json_integer(ev->position))) {
        json_decref(o);
        o = NULL;
    }
    if (!o || print_json(o) != 0 || fflush(stdout) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "output",
                             "cannot write output");
    return 0;
}

/* --limit N and --idle MS (and, with `name`, --consumer NAME) as
 * OPTION VALUE pairs: 0, or -1 after a usage message. */
static int run_args(cli *c, int nargs, char **args, const char **name,
                    inc_consumer_run_options *ro, const char *usage_line) {
    for (int i = 0; i < nargs; i += 2) {
        const char *a = args[i], *v = i + 1 < nargs ? args[i + 1] : NULL;
        long long n = count_arg(v);
        if (name && strcmp(a, "--consumer") == 0 && v && *v) {
            *name = v;
        } else if (strcmp(a, "--limit") == 0 && n > 0) {
            ro->limit = n;
        } else if (strcmp(a, "--idle") == 0 && n >= 0 && n <= 86400000) {
            ro->idle_ms = n ? (int)n : 1;
        } else {
            usage_error(c, "usage: %s", usage_line);
            return -1;
        }
    }
    return 0;
}

/* Until SIGINT or SIGTERM (ro.stop): a consumer run, or a reactor's. */
typedef struct stoppable {
    cli *c;
    inc_consumer *k;                 /* follow */
    const inc_reactor_options *ro_r; /* react */
    bool views;                      /* views */
} stoppable;

static int run_until_stopped(const stoppable *st,
                             inc_consumer_run_options *ro, inc_error *err) {
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: a wait ends at once */
    sigemptyset(&sa.sa_mask);
    follow_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    ro->stop = &follow_stop;
    int rc = st->k       ? inc_consumer_run(st->k, follow_event, st->c, ro, NULL, err)
             : st->views ? inc_views_run(st->c->store, st->c->d, NULL, ro, NULL, err)
                         : inc_reactor_run(st->c->app, st->ro_r, ro, NULL, err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

static int cmd_follow(cli *c, int nargs, char **args) {
    inc_error err;
    inc_error_clear(&err);
    inc_consumer_options o;
    inc_consumer_run_options ro;
    memset(&o, 0, sizeof o);
    memset(&ro, 0, sizeof ro);
    if (run_args(c, nargs, args, &o.name, &ro,
                 "follow [--consumer NAME] [--limit N] [--idle MS]") != 0)
        return INC_CLI_USAGE;
    int rc = open_store(c, NULL, NULL);
    if (rc) return rc;
    inc_consumer *k = inc_consumer_open(c->store, &o, &err);
    if (!k) return fail(c, &err);
    stoppable st = {c, k, NULL, false};
    if (run_until_stopped(&st, &ro, &err) != 0) rc = fail(c, &err);
    inc_consumer_close(k);
    return rc;
}

/* Each event the reactions recorded, as `dispatch` prints it. */
static int react_printed(void *ud, const inc_recorded_event *ev,
                         inc_error *err) {
    if (print_event(ud, ev, err) != 0) return -1;
    if (fflush(stdout) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "output",
                             "cannot write output");
    return 0;
}

/* The domain's reactions and the program's handlers, durably
 * (<incident/reactor.h>): --limit counts events of the log handled. */
static int cmd_react(cli *c, int nargs, char **args,
                     int (*setup)(inc_app *, void *, inc_error *), void *ud) {
    inc_error err;
    inc_error_clear(&err);
    inc_consumer_run_options ro;
    memset(&ro, 0, sizeof ro);
    if (run_args(c, nargs, args, NULL, &ro,
                 "react [--limit N] [--idle MS]") != 0)
        return INC_CLI_USAGE;
    int rc = open_store(c, setup, ud);
    if (rc) return rc;
    inc_reactor_options o;
    memset(&o, 0, sizeof o);
    o.on_recorded = react_printed;
    stoppable st = {c, NULL, &o, false};
    if (run_until_stopped(&st, &ro, &err) != 0) rc = fail(c, &err);
    return rc;
}

/* views [--limit N] [--idle MS]: keep every view up to date until the
 * limit, the idle time, or SIGINT/SIGTERM (docs/cli.md "Views"). */
static int cmd_views(cli *c, int nargs, char **args) {
    inc_error err;
    inc_error_clear(&err);
    inc_consumer_run_options ro;
    memset(&ro, 0, sizeof ro);
    if (run_args(c, nargs, args, NULL, &ro, "views [--limit N] [--idle MS]") != 0)
        return INC_CLI_USAGE;
    int rc = open_store(c, NULL, NULL);
    if (rc) return rc;
    stoppable st = {c, NULL, NULL, true};
    if (run_until_stopped(&st, &ro, &err) != 0) rc = fail(c, &err);
    return rc;
}

static int print_consumer(void *ud, const inc_consumer_info *ci,
                          inc_error *err) {
    (void)ud;
    char ts[INC_TIMESTAMP_TEXT_MAX];
    json_t *o = json_object();
    if (!o || inc_timestamp_format(ci->updated_at, ts) != 0 ||
        json_object_set_new(o, "consumer", json_string(ci->name)) ||
        json_object_set_new(o, "member", json_integer(ci->group_member)) ||
        json_object_set_new(o, "group_size", json_integer(ci->group_size)) ||
        json_object_set_new(o, "transaction_id",
                            json_integer((json_int_t)ci->checkpoint.transaction_id)) ||
        json_object_set_new(o, "position", json_integer(ci->checkpoint.position)) ||
        json_object_set_new(o, "lag", json_integer(ci->lag)) ||
        json_object_set_new(o, "updated_at", json_string(ts))) {
        json_decref(o);
        o = NULL;
    }
    if (!o || print_json(o) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "output",
                             "cannot write output");
    return 0;
}

static int cmd_consumers(cli *c) {
    inc_error err;
    inc_error_clear(&err);
    int rc = open_store(c, NULL, NULL);
    if (rc) return rc;
    if (inc_consumers_list(c->store, print_consumer, NULL, &err) != 0)
        return fail(c, &err);
    return 0;
}

/* --schema, else a non-empty $INCIDENT_SCHEMA: one plain identifier
 * (the store quotes it too); not with --memory. */
static int check_schema_option(cli *c) {
    const char *env = getenv("INCIDENT_SCHEMA");
    if (!c->schema && env && *env && !c->memory) c->schema = env;
    if (!c->schema) return 0;
    inc_error err;
    inc_error_clear(&err);
    if (c->memory) {
        usage_error(c, "--schema and --memory exclude each other%s", "");
        return -1;
    }
    if (incx_check_schema_name(c->schema, &err) != 0) {
        usage_error(c, "--schema: %s", err.message);
        return -1;
    }
    return 0;
}

static int run(cli *c, int argc, char **argv,
               int (*setup)(inc_app *, void *, inc_error *), void *ud) {
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(c, stdout);
            return INC_CLI_OK;
        } else if (strcmp(a, "--db") == 0) {
            if (i + 1 >= argc) return usage_error(c, "--db needs a value%s", "");
            c->db = argv[++i];
        } else if (strncmp(a, "--db=", 5) == 0) {
            c->db = a + 5;
        } else if (strcmp(a, "--schema") == 0) {
            if (i + 1 >= argc)
                return usage_error(c, "--schema needs a value%s", "");
            c->schema = argv[++i];
        } else if (strncmp(a, "--schema=", 9) == 0) {
            c->schema = a + 9;
        } else if (strcmp(a, "--memory") == 0) {
            c->memory = true;
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (a[0] == '-') {
            return usage_error(c, "unknown option '%s'", a);
        } else {
            break;
        }
    }
    if (c->db && c->memory)
        return usage_error(c, "--db and --memory exclude each other%s", "");
    if (!c->db) c->db = getenv("INCIDENT_DB");
    if (check_schema_option(c) != 0) return INC_CLI_USAGE;
    if (i >= argc) {
        usage(c, stderr);
        return INC_CLI_USAGE;
    }
    const char *sub = argv[i++];
    int nargs = argc - i;
    char **args = argv + i;
    if (strcmp(sub, "help") == 0) {
        usage(c, stdout);
        return INC_CLI_OK;
    }
    if (strcmp(sub, "init") == 0) {
        if (nargs != 0) return usage_error(c, "init takes no arguments%s", "");
        return cmd_init(c);
    }
    if (strcmp(sub, "dispatch") == 0) {
        const char *command_id = NULL;
        if (nargs >= 1 && strncmp(args[0], "--command-id=", 13) == 0) {
            command_id = args[0] + 13;
            nargs--, args++;
        } else if (nargs >= 2 && strcmp(args[0], "--command-id") == 0) {
            command_id = args[1];
            nargs -= 2, args += 2;
        }
        if (nargs != 2)
            return usage_error(
                c, "usage: dispatch [--command-id ID] COMMAND 'JSON'|-%s", "");
        return cmd_dispatch(c, command_id, args[0], args[1], setup, ud);
    }
    if (strcmp(sub, "prune-command-ids") == 0) {
        if (nargs == 1 && strncmp(args[0], "--older-than=", 13) == 0)
            return cmd_prune_command_ids(c, args[0] + 13);
        if (nargs != 2 || strcmp(args[0], "--older-than") != 0)
            return usage_error(c,
                               "usage: prune-command-ids --older-than "
                               "DURATION|TIMESTAMP%s",
                               "");
        return cmd_prune_command_ids(c, args[1]);
    }
    if (strcmp(sub, "state") == 0) {
        if (nargs != 2) return usage_error(c, "usage: state AGGREGATE ID%s", "");
        return cmd_state(c, args[0], args[1]);
    }
    if (strcmp(sub, "events") == 0) {
        if (nargs != 2)
            return usage_error(c, "usage: events AGGREGATE ID%s", "");
        return cmd_events(c, args[0], args[1]);
    }
    if (strcmp(sub, "projection") == 0) {
        if (nargs < 1) return usage_error(c, PROJECTION_USAGE, "");
        return cmd_projection(c, nargs, args);
    }
    if (strcmp(sub, "rebuild") == 0) {
        if (nargs != 1) return usage_error(c, "usage: rebuild NAME%s", "");
        return cmd_rebuild(c, args[0]);
    }
    if (strcmp(sub, "follow") == 0) return cmd_follow(c, nargs, args);
    if (strcmp(sub, "views") == 0) return cmd_views(c, nargs, args);
    if (strcmp(sub, "react") == 0) return cmd_react(c, nargs, args, setup, ud);
    if (strcmp(sub, "consumers") == 0) {
        if (nargs != 0)
            return usage_error(c, "consumers takes no arguments%s", "");
        return cmd_consumers(c);
    }
    return usage_error(c, "unknown subcommand '%s'", sub);
}

int inc_cli_main_with(const inc_domain *d, int argc, char **argv,
                      int (*setup)(inc_app *app, void *ud, inc_error *err),
                      void *ud) {
    cli c;
    memset(&c, 0, sizeof c);
    c.prog = base_name(argc > 0 ? argv[0] : NULL);
    c.d = d;
    if (!d || d->abi_version != INC_ABI_VERSION) {
        fprintf(stderr, "%s: domain descriptors do not match this runtime\n",
                c.prog);
        return INC_CLI_FAILURE;
    }
    int rc = run(&c, argc, argv, setup, ud);
    inc_app_free(c.app);
    inc_store_close(c.store);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (rc == 0) fprintf(stderr, "%s: cannot write output\n", c.prog);
        if (rc == 0) rc = INC_CLI_FAILURE;
    }
    return rc;
}

int inc_cli_main(const inc_domain *d, int argc, char **argv) {
    return inc_cli_main_with(d, argc, argv, NULL, NULL);
}
