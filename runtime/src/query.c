/* query.c - inc_store_query (docs/api.md, "Queries"): a query's fields and
 * values checked against the projection's row descriptor before any store
 * sees them, then either the store's own `query` operation (PostgreSQL:
 * one parameterised SELECT, pg_query.c) or, for a store without one (the
 * memory store), the rows listed and filtered, ordered and limited here,
 * with the same comparisons PostgreSQL makes, so both give the same rows
 * in the same order. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/gen.h>
#include <incident/store.h>

#include "internal.h"
#include "query_internal.h"
#include "store_util.h"

const inc_field_desc *incx_query_column(const inc_message_desc *rd,
                                        const char *name, const char *what,
                                        inc_error *err) {
    const inc_field_desc *f = name ? incx_field_find(rd, name) : NULL;
    if (!f) {
        inc_error_set(err, INC_ERR_INVALID, "unknown_field",
                      "%s: '%.100s' is not a column of %s", what,
                      name ? name : "", rd->name);
        return NULL;
    }
    if (f->type == INC_TYPE_RECORD || f->type == INC_TYPE_LIST) {
        inc_error_set(err, INC_ERR_INVALID, "not_scalar",
                      "%s: column '%s' of %s is a record or a list", what,
                      f->name, rd->name);
        return NULL;
    }
    return f;
}

const inc_field_desc *incx_row_key(const inc_message_desc *rd) {
    const inc_field_desc *f = rd && rd->n_fields ? &rd->fields[0] : NULL;
    return f && (f->flags & INC_FIELD_IMPLICIT) && f->type == INC_TYPE_STRING
               ? f
               : NULL;
}

static int bad_value(const inc_field_desc *f, const char *text,
                     const char *expected, inc_error *err) {
    return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                         "--where %s: '%.100s' is not %s", f->name, text,
                         expected);
}

int incx_query_value(const inc_field_desc *f, const char *text, void *row,
                     inc_error *err) {
    bool *has = inc_field_has_ptr(row, f);
    char *end;
    if (!text) return bad_value(f, "", "a value", err);
    switch (f->type) {
    case INC_TYPE_INT: {
        if (!*text || *text == '+' || (*text == ' ')) return bad_value(f, text, "an int", err);
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (*end || errno) return bad_value(f, text, "an int", err);
        *INC_FIELD_AT(row, f, int64_t) = (int64_t)v;
        break;
    }
    case INC_TYPE_FLOAT: {
        if (!*text || *text == ' ') return bad_value(f, text, "a float", err);
        double v = strtod(text, &end);
        if (*end || !isfinite(v)) return bad_value(f, text, "a float", err);
        *INC_FIELD_AT(row, f, double) = v;
        break;
    }
    case INC_TYPE_BOOL:
        if (strcmp(text, "true") == 0) *INC_FIELD_AT(row, f, bool) = true;
        else if (strcmp(text, "false") == 0) *INC_FIELD_AT(row, f, bool) = false;
        else return bad_value(f, text, "true or false", err);
        break;
    case INC_TYPE_STRING: {
        if (incx_store_check_text(text, f->name, err) != 0) return -1;
        char *copy = inc_strdup(text);
        if (!copy)
            return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                                 "out of memory");
        free(*INC_FIELD_AT(row, f, char *));
        *INC_FIELD_AT(row, f, char *) = copy;
        break;
    }
    case INC_TYPE_TIMESTAMP:
        if (inc_timestamp_parse(text, INC_FIELD_AT(row, f, int64_t)) != 0)
            return bad_value(f, text, "an RFC 3339 timestamp", err);
        break;
    case INC_TYPE_ENUM: {
        size_t i, n = f->enum_desc ? f->enum_desc->n_members : 0;
        for (i = 0; i < n; i++)
            if (strcmp(f->enum_desc->members[i], text) == 0) break;
        if (i == n)
            return bad_value(f, text,
                             f->enum_desc ? "a member of the enum" : "valid",
                             err);
        *INC_FIELD_AT(row, f, int) = (int)i;
        break;
    }
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST:
        return bad_value(f, text, "comparable (a record or a list)", err);
    }
    if (has) *has = true;
    return 0;
}

void incx_query_text(const inc_field_desc *f, const void *row,
                     char buf[INCX_QUERY_TEXT], const char **out) {
    *out = buf;
    if (!inc_field_present(row, f)) {
        *out = NULL;
        return;
    }
    switch (f->type) {
    case INC_TYPE_INT:
        snprintf(buf, INCX_QUERY_TEXT, "%" PRId64,
                 *INC_CFIELD_AT(row, f, int64_t));
        return;
    case INC_TYPE_FLOAT:
        snprintf(buf, INCX_QUERY_TEXT, "%.17g", *INC_CFIELD_AT(row, f, double));
        return;
    case INC_TYPE_BOOL:
        snprintf(buf, INCX_QUERY_TEXT, "%s",
                 *INC_CFIELD_AT(row, f, bool) ? "true" : "false");
        return;
    case INC_TYPE_STRING:
        *out = *INC_CFIELD_AT(row, f, char *);
        return;
    case INC_TYPE_TIMESTAMP:
        if (inc_timestamp_format(*INC_CFIELD_AT(row, f, int64_t), buf) != 0)
            *out = NULL;
        return;
    case INC_TYPE_ENUM: {
        int v = *INC_CFIELD_AT(row, f, int);
        *out = f->enum_desc && v >= 0 && (size_t)v < f->enum_desc->n_members
                   ? f->enum_desc->members[v]
                   : NULL;
        return;
    }
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST:
        *out = NULL;
        return;
    }
}

/* A query's conditions as probe rows: probe i holds where[i]'s value in
 * its field. */
typedef struct plan {
    const inc_message_desc *rd;
    size_t n;
    const inc_field_desc **fields;
    void *probes; /* n rows of rd->size */
    const inc_field_desc *order;
    const inc_field_desc *id;
} plan;

static void plan_free(plan *pl) {
    for (size_t i = 0; pl->probes && i < pl->n; i++)
        inc_msg_free(pl->rd, (char *)pl->probes + i * pl->rd->size);
    free(pl->probes);
    free(pl->fields);
}

static int plan_make(const inc_projection_desc *p, const inc_query *q, plan *pl,
                     inc_error *err) {
    memset(pl, 0, sizeof *pl);
    pl->rd = p->row;
    if (q->n_where && !q->where)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_query",
                             "query: n_where without where");
    if (q->limit < 0)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_query",
                             "--limit: must not be negative");
    pl->id = incx_row_key(p->row);
    if (q->order && !(pl->order = incx_query_column(p->row, q->order,
                                                    "--order", err)))
        return -1;
    if (!q->n_where) return 0;
    pl->fields = calloc(q->n_where, sizeof *pl->fields);
    pl->probes = calloc(q->n_where, p->row->size);
    if (!pl->fields || !pl->probes) {
        plan_free(pl);
        return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                             "out of memory");
    }
    pl->n = q->n_where;
    for (size_t i = 0; i < q->n_where; i++)
        inc_msg_init(p->row, (char *)pl->probes + i * p->row->size);
    for (size_t i = 0; i < q->n_where; i++) {
        void *probe = (char *)pl->probes + i * p->row->size;
        if (!(pl->fields[i] = incx_query_column(p->row, q->where[i].field,
                                                "--where", err)) ||
            incx_query_value(pl->fields[i], q->where[i].value, probe, err) !=
                0) {
            plan_free(pl);
            return -1;
        }
    }
    return 0;
}

int incx_query_check(const inc_projection_desc *p, const inc_query *q,
                     inc_error *err) {
    plan pl;
    if (plan_make(p, q, &pl, err) != 0) return -1;
    plan_free(&pl);
    return 0;
}

/* Compare two present values of f as PostgreSQL orders them (strings and
 * enum names byte by byte: COLLATE "C"). */
static int cmp_value(const inc_field_desc *f, const void *a, const void *b) {
    switch (f->type) {
    case INC_TYPE_INT:
    case INC_TYPE_TIMESTAMP: {
        int64_t x = *INC_CFIELD_AT(a, f, int64_t), y = *INC_CFIELD_AT(b, f, int64_t);
        return (x > y) - (x < y);
    }
    case INC_TYPE_FLOAT: {
        double x = *INC_CFIELD_AT(a, f, double), y = *INC_CFIELD_AT(b, f, double);
        return (x > y) - (x < y);
    }
    case INC_TYPE_BOOL:
        return (int)*INC_CFIELD_AT(a, f, bool) - (int)*INC_CFIELD_AT(b, f, bool);
    case INC_TYPE_STRING:
        return strcmp(*INC_CFIELD_AT(a, f, char *), *INC_CFIELD_AT(b, f, char *));
    case INC_TYPE_ENUM: {
        char ba[INCX_QUERY_TEXT], bb[INCX_QUERY_TEXT];
        const char *x, *y;
        incx_query_text(f, a, ba, &x);
        incx_query_text(f, b, bb, &y);
        return strcmp(x ? x : "", y ? y : "");
    }
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST:
        break;
    }
    return 0;
}

/* A row kept for ordering: its own copy, and its meta. */
typedef struct kept {
    void *row;
    inc_row_meta meta;
} kept;

typedef struct collect {
    const plan *pl;
    const inc_query *q;
    kept *rows;
    size_t n, cap;
} collect;

static int keep_row(void *ud, const void *row, const inc_row_meta *meta,
                    inc_error *err) {
    collect *c = ud;
    const plan *pl = c->pl;
    for (size_t i = 0; i < pl->n; i++) {
        const void *probe = (const char *)pl->probes + i * pl->rd->size;
        if (!inc_field_present(row, pl->fields[i]) ||
            cmp_value(pl->fields[i], row, probe) != 0)
            return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        kept *nr = realloc(c->rows, cap * sizeof *nr);
        if (!nr) goto oom;
        c->rows = nr;
        c->cap = cap;
    }
    kept *k = &c->rows[c->n];
    if (!(k->row = malloc(pl->rd->size))) goto oom;
    if (inc_msg_copy(pl->rd, k->row, row, err) != 0) {
        free(k->row);
        return -1;
    }
    k->meta = *meta;
    c->n++;
    return 0;
oom:
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

/* ORDER BY order [DESC] NULLS LAST, aggregate_id: a total order. */
static int cmp_kept(const plan *pl, bool desc, const kept *a, const kept *b) {
    const inc_field_desc *f = pl->order;
    if (f) {
        bool pa = inc_field_present(a->row, f), pb = inc_field_present(b->row, f);
        if (pa != pb) return pa ? -1 : 1;
        int c = pa ? cmp_value(f, a->row, b->row) : 0;
        if (c) return desc ? -c : c;
    }
    return pl->id ? cmp_value(pl->id, a->row, b->row) : 0;
}

/* A merge sort: qsort takes no context and is not stable. */
static void sort_kept(const plan *pl, bool desc, kept *v, kept *tmp, size_t n) {
    if (n < 2) return;
    size_t h = n / 2, i = 0, j = h, k = 0;
    sort_kept(pl, desc, v, tmp, h);
    sort_kept(pl, desc, v + h, tmp, n - h);
    while (i < h && j < n)
        tmp[k++] = cmp_kept(pl, desc, &v[j], &v[i]) < 0 ? v[j++] : v[i++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static int query_by_listing(inc_store *s, const inc_projection_desc *p,
                            const inc_query *q, const plan *pl, inc_row_cb cb,
                            void *ud, inc_error *err) {
    collect c = {pl, q, NULL, 0, 0};
    int rc = inc_store_projection_list(s, p, keep_row, &c, err);
    if (rc == 0 && c.n > 1 && pl->order) {
        kept *tmp = malloc(c.n * sizeof *tmp);
        if (!tmp)
            rc = inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                               "out of memory");
        else sort_kept(pl, q->descending, c.rows, tmp, c.n);
        free(tmp);
    }
    size_t n = q->limit > 0 && (uint64_t)q->limit < c.n ? (size_t)q->limit : c.n;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = cb(ud, c.rows[i].row, &c.rows[i].meta, err);
    for (size_t i = 0; i < c.n; i++) {
        inc_msg_free(pl->rd, c.rows[i].row);
        free(c.rows[i].row);
    }
    free(c.rows);
    return rc;
}

int incg_query_by(inc_store *s, const inc_projection_desc *p,
                  const char *field, const void *value, int64_t limit,
                  inc_row_cb cb, void *ud, inc_error *err) {
    const inc_field_desc *f = NULL;
    for (size_t i = 0; p && p->row && i < p->row->n_fields && !f; i++)
        if (strcmp(p->row->fields[i].name, field) == 0) f = &p->row->fields[i];
    if (!f || !value)
        return inc_error_set(err, INC_ERR_INVALID, "unknown_field",
                             "query: no column %s", field ? field : "(null)");
    char text[64];
    const char *v = text;
    switch (f->type) {
    case INC_TYPE_INT:
        snprintf(text, sizeof text, "%" PRId64, *(const int64_t *)value);
        break;
    case INC_TYPE_FLOAT:
        snprintf(text, sizeof text, "%.17g", *(const double *)value);
        break;
    case INC_TYPE_BOOL: v = *(const bool *)value ? "true" : "false"; break;
    case INC_TYPE_STRING: v = *(const char *const *)value; break;
    case INC_TYPE_TIMESTAMP:
        if (inc_timestamp_format(*(const inc_timestamp *)value, text) != 0)
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: timestamp out of range", field);
        break;
    case INC_TYPE_ENUM: {
        int e = *(const int *)value;
        if (!f->enum_desc || e < 0 || (size_t)e >= f->enum_desc->n_members)
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: not a member of its enum", field);
        v = f->enum_desc->members[e];
        break;
    }
    default:
        return inc_error_set(err, INC_ERR_INVALID, "not_scalar",
                             "%s: not a scalar column", field);
    }
    if (!v)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                             "%s: NULL", field);
    inc_query_where w = {field, v};
    inc_query q;
    memset(&q, 0, sizeof q);
    q.n_where = 1;
    q.where = &w;
    q.limit = limit;
    return inc_store_query(s, p, &q, cb, ud, err);
}

int inc_store_query(inc_store *s, const inc_projection_desc *p,
                    const inc_query *q, inc_row_cb cb, void *ud,
                    inc_error *err) {
    if (!s || !s->ops)
        return inc_error_set(err, INC_ERR_INTERNAL, "no_store", "no store");
    if (!p || !q || !cb)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_query",
                             "query: no projection, query or callback");
    plan pl;
    if (plan_make(p, q, &pl, err) != 0) return -1;
    int rc = s->ops->query ? s->ops->query(s, p, q, cb, ud, err)
                           : query_by_listing(s, p, q, &pl, cb, ud, err);
    plan_free(&pl);
    return rc;
}
