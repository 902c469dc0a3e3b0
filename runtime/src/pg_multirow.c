/* pg_multirow.c - the text of a group's multi-row statements (pg_store.c's
 * commit_many, docs/performance.md "Group commit").
 *
 * A group of commits on distinct streams writes all its events with ONE
 * INSERT and each projection's rows with ONE upsert, instead of one
 * statement per event and per row: per statement the server pays a bind,
 * an executor start and a result, and the committer a message each way.
 * The rows travel as one jsonb parameter, read back by
 * jsonb_to_recordset: a value that is a parameter's text elsewhere is a
 * JSON string here, converted by the column type's input function just as
 * the text parameter would be; jsonb values (event data, metadata, record
 * and list columns) are embedded as they are, with no escaping.  Nothing
 * here knows a connection: pg_store.c sends what this builds. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pg_internal.h"
#include "store_util.h"

static bool sb_grow(incx_sbuf *b, size_t extra) {
    if (b->oom) return false;
    if (b->n + extra < b->cap) return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap <= b->n + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void incx_sb_put(incx_sbuf *b, const char *s, size_t n) {
    if (!sb_grow(b, n)) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void incx_sb_puts(incx_sbuf *b, const char *s) { incx_sb_put(b, s, strlen(s)); }

/* A JSON string.  The text was checked (UTF-8, no NUL) by the caller;
 * only '"', '\\' and control characters need escaping. */
void incx_sb_json_string(incx_sbuf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    incx_sb_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        incx_sb_put(b, run, (size_t)(s - run));
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t k = 2;
        if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        incx_sb_put(b, esc, k);
        run = s + 1;
    }
    incx_sb_put(b, run, (size_t)(s - run));
    incx_sb_put(b, "\"", 1);
}

void incx_sb_free(incx_sbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Whether `t` is lexically ONE JSON value: brackets balanced (by count),
 * strings closed, nothing but whitespace after the value ends.  Event data
 * and metadata come from the store API's callers as text and are embedded
 * in the parameter as they are: text that is not one value could close
 * its member and add others (a second "a" would win in jsonb).  Whether
 * it is valid JSON the server decides (a refusal sends the group down the
 * row-by-row path, which names the commit). */
static bool one_json_value(const char *t) {
    while (is_ws(*t)) t++;
    if (!*t) return false;
    int depth = 0;
    bool in_str = false;
    const char *p = t;
    for (; *p; p++) {
        char c = *p;
        if (in_str) {
            if (c == '\\') {
                if (!p[1]) return false;
                p++;
            } else if (c == '"') {
                in_str = false;
                if (depth == 0) break;
            }
            continue;
        }
        if (c == '"') in_str = true;
        else if (c == '{' || c == '[') depth++;
        else if (c == '}' || c == ']') {
            if (--depth < 0) return false;
            if (depth == 0) break;
        } else if (depth == 0 && (c == ',' || c == ':' || is_ws(c))) {
            p--; /* a scalar ends here */
            break;
        }
    }
    if (in_str || depth != 0) return false;
    if (*p) p++;
    while (is_ws(*p)) p++;
    return *p == '\0';
}

/* Events of the commits of cs[0..n) whose wave[] is w, in order, as INC_PG_INSERT_MANY_SQL reads them:
 * i event_id, t aggregate type, a aggregate id, v version, y event type,
 * d data, m metadata, ts date, s schema version, o the event's place
 * (the order of their positions), x the expected event before the
 * commit's first one (only there, only when the commit has one). */
int incx_pg_events_json(const inc_commit *cs, size_t n,
                        const unsigned char *wave, unsigned w, incx_sbuf *b) {
    char num[64], ts[INC_TIMESTAMP_TEXT_MAX];
    size_t o = 0;
    incx_sb_put(b, "[", 1);
    for (size_t ci = 0; ci < n; ci++) {
        const inc_commit *c = &cs[ci];
        for (size_t i = 0; wave[ci] == w && i < c->n_events; i++) {
            const inc_stored_event *e = &c->events[i];
            const char *meta = e->metadata ? e->metadata : "{}";
            if (inc_timestamp_format(e->event_date, ts) != 0 ||
                !one_json_value(e->data) || !one_json_value(meta))
                return -1;
            incx_sb_puts(b, o ? ",{\"i\":" : "{\"i\":");
            incx_sb_json_string(b, e->event_id);
            incx_sb_puts(b, ",\"t\":");
            incx_sb_json_string(b, c->aggregate->name);
            incx_sb_puts(b, ",\"a\":");
            incx_sb_json_string(b, c->aggregate_id);
            snprintf(num, sizeof num, ",\"v\":%" PRId64 ",\"s\":%u,\"o\":%zu",
                     e->version, incx_schema_version(e->schema_version), o);
            incx_sb_puts(b, num);
            incx_sb_puts(b, ",\"y\":");
            incx_sb_json_string(b, e->event_type);
            incx_sb_puts(b, ",\"d\":");
            incx_sb_puts(b, e->data);
            incx_sb_puts(b, ",\"m\":");
            incx_sb_puts(b, meta);
            incx_sb_puts(b, ",\"ts\":\"");
            incx_sb_puts(b, ts);
            incx_sb_puts(b, "\"");
            if (i == 0 && c->expect_event_id) {
                incx_sb_puts(b, ",\"x\":");
                incx_sb_json_string(b, c->expect_event_id);
            }
            incx_sb_puts(b, "}");
            o++;
        }
    }
    incx_sb_put(b, "]", 1);
    return b->oom ? -1 : 0;
}

/* p's upsert_sql with its VALUES ($1, ...) replaced by the rows of $1, a
 * jsonb array of objects keyed c0 (aggregate_id), c1.. (the columns),
 * then version, event_id, event_date: the same conflict clause, the same
 * column order.  NULL (malloc'd otherwise) when upsert_sql is not the
 * shape aggc writes: the caller then upserts row by row. */
/* Where upsert_sql's VALUES list and its conflict clause start (false:
 * not the shape aggc writes). */
static bool upsert_parts(const inc_projection_desc *p, const char **values,
                         const char **conflict) {
    const char *sql = p->upsert_sql;
    *values = sql ? strstr(sql, ") VALUES (") : NULL;
    *conflict = *values ? strstr(*values, ") ON CONFLICT ") : NULL;
    return *conflict != NULL;
}

bool incx_pg_upsert_many_fits(const inc_projection_desc *p) {
    const char *values, *conflict;
    return upsert_parts(p, &values, &conflict);
}

char *incx_pg_upsert_many_sql(const inc_projection_desc *p) {
    const char *sql = p->upsert_sql, *values, *conflict;
    if (!upsert_parts(p, &values, &conflict)) return NULL;
    incx_sbuf b = {0};
    char col[32];
    int k = 0;
    incx_sb_put(&b, sql, (size_t)(values - sql) + 1);
    incx_sb_puts(&b, " SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(c0 text");
    for (size_t i = 0; i < p->row->n_fields; i++) {
        const inc_field_desc *f = &p->row->fields[i];
        if (f->flags & INC_FIELD_IMPLICIT) continue;
        snprintf(col, sizeof col, ", c%d ", ++k);
        incx_sb_puts(&b, col);
        incx_sb_puts(&b, incx_pg_column_type(f));
    }
    snprintf(col, sizeof col, ", c%d bigint", ++k);
    incx_sb_puts(&b, col);
    snprintf(col, sizeof col, ", c%d uuid", ++k);
    incx_sb_puts(&b, col);
    snprintf(col, sizeof col, ", c%d timestamptz)", ++k);
    incx_sb_puts(&b, col);
    incx_sb_puts(&b, conflict + 1);
    if (b.oom) {
        incx_sb_free(&b);
        return NULL;
    }
    return b.p;
}

/* One row as an object of upsert_sql's parameters (vals[k] NULL: null;
 * json[k] not NULL: the value is JSON already). */
void incx_pg_row_json(incx_sbuf *b, bool first, int n, const char *const *vals,
                      char *const *json) {
    char key[24];
    incx_sb_puts(b, first ? "{" : ",{");
    for (int k = 0; k < n; k++) {
        snprintf(key, sizeof key, "%s\"c%d\":", k ? "," : "", k);
        incx_sb_puts(b, key);
        if (!vals[k]) incx_sb_puts(b, "null");
        else if (json[k]) incx_sb_puts(b, vals[k]);
        else incx_sb_json_string(b, vals[k]);
    }
    incx_sb_puts(b, "}");
}
