/* pg_query.c - the PostgreSQL store's `query` operation (inc_store_query,
 * docs/api.md "Queries"): one SELECT over the projection's table whose
 * identifiers come from the row descriptor (checked .agg names, quoted)
 * and whose values are all parameters:
 *   SELECT <select_sql's columns> FROM "t" WHERE "f" = $1 AND ...
 *   ORDER BY "o" [COLLATE "C"] [DESC] NULLS LAST, "<key>" COLLATE "C"
 *   LIMIT $n
 * The rows are decoded as projection_get decodes them (pg_store.c). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pg_internal.h"
#include "query_internal.h"

typedef struct text {
    char *s;
    size_t n, cap;
    bool oom;
} text;

static void put(text *t, const char *s) {
    size_t k = strlen(s);
    if (t->oom) return;
    if (t->n + k + 1 > t->cap) {
        size_t cap = (t->cap ? t->cap : 256);
        while (cap < t->n + k + 1) cap *= 2;
        char *ns = realloc(t->s, cap);
        if (!ns) {
            t->oom = true;
            return;
        }
        t->s = ns;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, k + 1);
    t->n += k;
}

/* A quoted identifier; a '"' (never in a checked .agg name) doubled. */
static void put_ident(text *t, const char *name) {
    char one[2] = {0, 0};
    put(t, "\"");
    for (const char *c = name; *c; c++) {
        one[0] = *c;
        put(t, one);
        if (*c == '"') put(t, one);
    }
    put(t, "\"");
}

/* select_sql's columns: timestamps as the RFC 3339 text the rows read. */
static void put_column(text *t, const char *name, bool timestamp) {
    if (!timestamp) {
        put_ident(t, name);
        return;
    }
    put(t, "to_char(");
    put_ident(t, name);
    put(t, " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
}

static bool is_text(const inc_field_desc *f) {
    return f->type == INC_TYPE_STRING || f->type == INC_TYPE_ENUM;
}

int incx_pg_query(inc_store *s, const inc_projection_desc *p,
                  const inc_query *q, inc_row_cb cb, void *ud,
                  inc_error *err) {
    const inc_message_desc *rd = p->row;
    text t = {NULL, 0, 0, false};
    char num[32];
    size_t n = q->n_where;
    const char **vals = calloc(n + 1, sizeof *vals);
    void *probes = calloc(n ? n : 1, rd->size);
    char (*bufs)[INCX_QUERY_TEXT] = calloc(n ? n : 1, sizeof *bufs);
    int rc = 0, np = 0;
    if (!vals || !probes || !bufs) {
        rc = inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                           "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) inc_msg_init(rd, (char *)probes + i * rd->size);
    const inc_field_desc *key = incx_row_key(rd);
    if (!key) {
        rc = inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                           "%s: the row has no key", p->name);
        goto out;
    }
    put(&t, "SELECT ");
    put_ident(&t, key->name);
    for (size_t i = 0; i < rd->n_fields; i++) {
        const inc_field_desc *f = &rd->fields[i];
        if (f->flags & INC_FIELD_IMPLICIT) continue;
        put(&t, ", ");
        put_column(&t, f->name, f->type == INC_TYPE_TIMESTAMP);
    }
    put(&t, ", \"version\", \"event_id\", ");
    put_column(&t, "event_date", true);
    put(&t, " FROM ");
    put_ident(&t, p->name);
    for (size_t i = 0; i < n; i++) {
        void *probe = (char *)probes + i * rd->size;
        const inc_field_desc *f =
            incx_query_column(rd, q->where[i].field, "--where", err);
        if (!f || incx_query_value(f, q->where[i].value, probe, err) != 0) {
            rc = -1;
            goto out;
        }
        incx_query_text(f, probe, bufs[i], &vals[np]);
        put(&t, i ? " AND " : " WHERE ");
        put_ident(&t, f->name);
        snprintf(num, sizeof num, " = $%d", ++np);
        put(&t, num);
    }
    put(&t, " ORDER BY ");
    if (q->order) {
        const inc_field_desc *f = incx_query_column(rd, q->order, "--order", err);
        if (!f) {
            rc = -1;
            goto out;
        }
        put_ident(&t, f->name);
        if (is_text(f)) put(&t, " COLLATE \"C\"");
        put(&t, q->descending ? " DESC NULLS LAST, " : " NULLS LAST, ");
    }
    put_ident(&t, key->name);
    put(&t, " COLLATE \"C\"");
    if (q->limit > 0) {
        snprintf(num, sizeof num, " LIMIT $%d", ++np);
        put(&t, num);
    }
    if (t.oom) {
        rc = inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                           "out of memory");
        goto out;
    }
    char limit[32];
    if (q->limit > 0) {
        snprintf(limit, sizeof limit, "%" PRId64, q->limit);
        vals[np - 1] = limit;
    }
    rc = incx_pg_projection_rows(s, p, t.s, np, vals, cb, ud, err);
out:
    for (size_t i = 0; probes && i < n; i++)
        inc_msg_free(rd, (char *)probes + i * rd->size);
    free(probes);
    free(bufs);
    free(vals);
    free(t.s);
    return rc;
}
