/* pg_migrate.c - init's half for projection tables (PostgreSQL): every
 * projection table brought to the columns its row descriptor declares.
 *
 * A projection is derived data, so a table whose shape changed is emptied
 * and its columns added, dropped or re-created (a retyped column is
 * dropped and added again: with no rows there is nothing to convert, and
 * the new column gets its enum CHECK), all inside init's transaction.
 * Such a table is recorded in `projection_refills` until a rebuild refills
 * it from the events (the rebuild's transaction clears it), so a refill
 * that did not finish is reported again by the next init.  Only the
 * projection tables are touched, never the event store.  Identifiers come
 * from the descriptors (checked .agg names) and are quoted; values travel
 * as parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <incident/store.h>

#include "internal.h"
#include "pg_internal.h"

const char incx_pg_schema_v3[] =
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS schema_version int NOT NULL "
    "DEFAULT 1 CHECK (schema_version > 0);\n"
    "CREATE TABLE IF NOT EXISTS projection_refills (\n"
    "    name text PRIMARY KEY,\n"
    "    since timestamptz NOT NULL DEFAULT now()\n"
    ");\n";

/* A column as declared (name, type as information_schema spells it). */
typedef struct want_col {
    const char *name;
    const char *type;
    bool nullable;
    const inc_enum_desc *en; /* an enum column: its CHECK */
} want_col;

/* A column as the table has it. */
typedef struct have_col {
    char *name, *type;
    bool nullable, used;
} have_col;

const char *incx_pg_column_type(const inc_field_desc *f) {
    switch (f->type) {
    case INC_TYPE_INT: return "bigint";
    case INC_TYPE_FLOAT: return "double precision";
    case INC_TYPE_BOOL: return "boolean";
    case INC_TYPE_TIMESTAMP: return "timestamp with time zone";
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST: return "jsonb";
    case INC_TYPE_STRING:
    case INC_TYPE_ENUM: break;
    }
    return "text";
}

static int oom(inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

/* Run sql with text params; *out (may be NULL) gets the result. */
int incx_pg_run(PGconn *conn, const char *sql, int n, const char *const *vals,
                PGresult **out, inc_error *err) {
    PGresult *res = PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        incx_pg_error(conn, res, "init", err);
        PQclear(res);
        return -1;
    }
    if (out) *out = res;
    else PQclear(res);
    return 0;
}

int incx_pg_run_bool(PGconn *conn, const char *sql, int n,
                     const char *const *vals, bool *out, inc_error *err) {
    PGresult *res;
    if (incx_pg_run(conn, sql, n, vals, &res, err) != 0) return -1;
    *out = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return 0;
}

static int table_exists(PGconn *conn, const char *name, bool *out,
                        inc_error *err) {
    const char *v[1] = {name};
    return incx_pg_run_bool(conn, "SELECT to_regclass(quote_ident($1)) IS NOT NULL", 1,
                    v, out, err);
}

int incx_pg_projections_existing(PGconn *conn, const inc_domain *d,
                                 bool **existed, inc_error *err) {
    *existed = calloc(d->n_projections ? d->n_projections : 1, sizeof **existed);
    if (!*existed) return oom(err);
    for (size_t i = 0; i < d->n_projections; i++)
        if (table_exists(conn, d->projections[i]->name, &(*existed)[i], err) !=
            0)
            return -1;
    return 0;
}

/* The declared columns of p (aggregate_id is the key and never changes,
 * so it is left out of the comparison); *n out. */
static want_col *wanted(const inc_projection_desc *p, size_t *n) {
    const inc_message_desc *r = p->row;
    want_col *w = calloc(r->n_fields + 3, sizeof *w);
    size_t k = 0;
    if (!w) return NULL;
    for (size_t i = 0; i < r->n_fields; i++) {
        const inc_field_desc *f = &r->fields[i];
        if (f->flags & INC_FIELD_IMPLICIT) continue;
        w[k].name = f->name;
        w[k].type = incx_pg_column_type(f);
        w[k].nullable = (f->flags & INC_FIELD_OPTIONAL) != 0;
        w[k].en = f->type == INC_TYPE_ENUM ? f->enum_desc : NULL;
        k++;
    }
    static const char *const meta[3][2] = {{"version", "bigint"},
                                           {"event_id", "uuid"},
                                           {"event_date",
                                            "timestamp with time zone"}};
    for (int j = 0; j < 3; j++, k++) {
        w[k].name = meta[j][0];
        w[k].type = meta[j][1];
    }
    *n = k;
    return w;
}

static void have_free(have_col *h, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].type);
    }
    free(h);
}

static int have_cols(PGconn *conn, const char *table, have_col **out,
                     size_t *n, inc_error *err) {
    const char *v[1] = {table};
    PGresult *res;
    if (incx_pg_run(conn,
            "SELECT column_name::text, data_type::text, is_nullable::text "
            "FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = $1 AND column_name <> "
            "'aggregate_id' ORDER BY ordinal_position",
            1, v, &res, err) != 0)
        return -1;
    int nt = PQntuples(res);
    have_col *h = calloc(nt ? (size_t)nt : 1, sizeof *h);
    if (!h) {
        PQclear(res);
        return oom(err);
    }
    for (int i = 0; i < nt; i++) {
        h[i].name = inc_strdup(PQgetvalue(res, i, 0));
        h[i].type = inc_strdup(PQgetvalue(res, i, 1));
        h[i].nullable = strcmp(PQgetvalue(res, i, 2), "YES") == 0;
        if (!h[i].name || !h[i].type) {
            PQclear(res);
            have_free(h, (size_t)nt);
            return oom(err);
        }
    }
    PQclear(res);
    *out = h;
    *n = (size_t)nt;
    return 0;
}

/* Whether a CHECK of `table` admits every member of `en` in `column`: the
 * definitions PostgreSQL prints ("... ARRAY['a'::text, 'b'::text]") name
 * each member as a literal.  An enum that gained members fails this, and
 * its column is re-created with the new CHECK. */
static int enum_check_current(PGconn *conn, const char *table,
                              const char *column, const inc_enum_desc *en,
                              bool *ok, inc_error *err) {
    const char *v[2] = {table, column};
    PGresult *res;
    *ok = false;
    if (incx_pg_run(conn,
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN "
            "pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = "
            "ANY (c.conkey) WHERE c.conrelid = to_regclass(quote_ident($1)) "
            "AND c.contype = 'c' AND a.attname = $2",
            2, v, &res, err) != 0)
        return -1;
    for (int i = 0; i < PQntuples(res) && !*ok; i++) {
        const char *def = PQgetvalue(res, i, 0);
        bool all = true;
        for (size_t m = 0; m < en->n_members && all; m++) {
            char lit[256];
            snprintf(lit, sizeof lit, "'%s'::text", en->members[m]);
            all = strstr(def, lit) != NULL;
        }
        *ok = all;
    }
    PQclear(res);
    return 0;
}

#define TYPE_TEXT 512
/* "bigint NOT NULL", "text CHECK (a, b)" and the like, for reports; an
 * enum's members when `en`, or "(other members)" when `stale`. */
static const char *type_text(char *buf, const char *type, bool nullable,
                             const inc_enum_desc *en, bool stale) {
    size_t used = (size_t)snprintf(buf, TYPE_TEXT, "%s%s", type,
                                   nullable ? "" : " NOT NULL");
    if (stale) {
        snprintf(buf + used, TYPE_TEXT - used, " CHECK (other members)");
    } else if (en) {
        used += (size_t)snprintf(buf + used, TYPE_TEXT - used, " CHECK (");
        for (size_t m = 0; m < en->n_members && used < TYPE_TEXT; m++)
            used += (size_t)snprintf(buf + used, TYPE_TEXT - used, "%s%s",
                                     m ? ", " : "", en->members[m]);
        if (used < TYPE_TEXT) snprintf(buf + used, TYPE_TEXT - used, ")");
    }
    return buf;
}

/* Run one ALTER TABLE built from quoted identifiers (and, for an enum's
 * CHECK, escaped literals). */
static int alter(PGconn *conn, const char *table, const char *column,
                 const want_col *add, inc_error *err) {
    char *qt = PQescapeIdentifier(conn, table, strlen(table));
    char *qc = PQescapeIdentifier(conn, column, strlen(column));
    char *sql = NULL;
    size_t cap = 256 + (qt ? strlen(qt) : 0) + 2 * (qc ? strlen(qc) : 0);
    size_t used;
    int rc = -1;
    if (!qt || !qc) {
        incx_pg_error(conn, NULL, "init", err);
        goto out;
    }
    if (add && add->en)
        for (size_t m = 0; m < add->en->n_members; m++)
            cap += 2 * strlen(add->en->members[m]) + 8;
    if (!(sql = malloc(cap))) {
        oom(err);
        goto out;
    }
    if (!add) {
        snprintf(sql, cap, "ALTER TABLE %s DROP COLUMN %s", qt, qc);
    } else {
        used = (size_t)snprintf(sql, cap, "ALTER TABLE %s ADD COLUMN %s %s%s",
                                qt, qc, add->type,
                                add->nullable ? "" : " NOT NULL");
        if (add->en) {
            used += (size_t)snprintf(sql + used, cap - used, " CHECK (%s IN (",
                                     qc);
            for (size_t m = 0; m < add->en->n_members; m++) {
                const char *mem = add->en->members[m];
                char *lit = PQescapeLiteral(conn, mem, strlen(mem));
                if (!lit) {
                    incx_pg_error(conn, NULL, "init", err);
                    goto out;
                }
                used += (size_t)snprintf(sql + used, cap - used, "%s%s",
                                         m ? ", " : "", lit);
                PQfreemem(lit);
            }
            snprintf(sql + used, cap - used, "))");
        }
    }
    rc = incx_pg_run(conn, sql, 0, NULL, NULL, err);
out:
    free(sql);
    PQfreemem(qt);
    PQfreemem(qc);
    return rc;
}

static int report(inc_table_change_cb cb, void *ud,
                  const inc_projection_desc *p, inc_table_change_kind kind,
                  const char *column, const char *old_type,
                  const char *new_type, inc_error *err) {
    if (!cb) return 0;
    inc_table_change c = {p, kind, column, old_type, new_type, NULL};
    return cb(ud, &c, err);
}

/* p's table is to be refilled from the events. */
static int mark_refill(PGconn *conn, const inc_projection_desc *p,
                       inc_error *err) {
    const char *v[1] = {p->name};
    return incx_pg_run(conn,
               "INSERT INTO projection_refills (name) VALUES ($1) ON "
               "CONFLICT (name) DO NOTHING",
               1, v, NULL, err);
}

/* Empty p's table once, before its first change (refilled later). */
static int empty_once(PGconn *conn, const inc_projection_desc *p, bool *done,
                      inc_error *err) {
    if (*done) return 0;
    *done = true;
    if (incx_pg_run(conn, p->truncate_sql, 0, NULL, NULL, err) != 0) return -1;
    return mark_refill(conn, p, err);
}

/* Compare and change one existing table. */
static int migrate_one(PGconn *conn, const inc_projection_desc *p,
                       inc_table_change_cb cb, void *ud, inc_error *err) {
    size_t nw = 0, nh = 0;
    want_col *w = wanted(p, &nw);
    have_col *h = NULL;
    bool emptied = false;
    char t1[TYPE_TEXT], t2[TYPE_TEXT];
    int rc = -1;
    if (!w) return oom(err);
    if (have_cols(conn, p->name, &h, &nh, err) != 0) goto out;
    for (size_t i = 0; i < nh; i++) {
        bool declared = false;
        for (size_t j = 0; j < nw && !declared; j++)
            declared = strcmp(h[i].name, w[j].name) == 0;
        if (declared) continue;
        if (empty_once(conn, p, &emptied, err) != 0 ||
            alter(conn, p->name, h[i].name, NULL, err) != 0 ||
            report(cb, ud, p, INC_TABLE_COLUMN_DROPPED, h[i].name,
                   type_text(t1, h[i].type, h[i].nullable, NULL, false), NULL,
                   err) != 0)
            goto out;
    }
    for (size_t j = 0; j < nw; j++) {
        const have_col *got = NULL;
        for (size_t i = 0; i < nh && !got; i++)
            if (strcmp(h[i].name, w[j].name) == 0) got = &h[i];
        bool same = got && strcmp(got->type, w[j].type) == 0 &&
                    got->nullable == w[j].nullable;
        bool stale = false;
        if (same && w[j].en) {
            if (enum_check_current(conn, p->name, w[j].name, w[j].en, &same,
                                   err) != 0)
                goto out;
            stale = !same;
        }
        if (same) continue;
        if (empty_once(conn, p, &emptied, err) != 0 ||
            (got && alter(conn, p->name, w[j].name, NULL, err) != 0) ||
            alter(conn, p->name, w[j].name, &w[j], err) != 0 ||
            report(cb, ud, p,
                   got ? INC_TABLE_COLUMN_RETYPED : INC_TABLE_COLUMN_ADDED,
                   w[j].name,
                   got ? type_text(t1, got->type, got->nullable, NULL, stale)
                       : NULL,
                   type_text(t2, w[j].type, w[j].nullable, w[j].en, false),
                   err) != 0)
            goto out;
    }
    rc = 0;
out:
    free(w);
    have_free(h, nh);
    return rc;
}

int incx_pg_migrate_projections(PGconn *conn, const inc_domain *d,
                                const bool *existed, inc_table_change_cb cb,
                                void *ud, inc_error *err) {
    for (size_t i = 0; i < d->n_projections; i++) {
        const inc_projection_desc *p = d->projections[i];
        const char *v[1] = {p->name};
        bool pending;
        if (!existed[i]) {
            /* new: to be filled if its aggregate type has events already */
            const char *t[1] = {p->aggregate->name};
            bool any;
            if (incx_pg_run_bool(conn,
                         "SELECT EXISTS (SELECT 1 FROM events WHERE "
                         "aggregate_type = $1)",
                         1, t, &any, err) != 0)
                return -1;
            if (any && (mark_refill(conn, p, err) != 0 ||
                        report(cb, ud, p, INC_TABLE_CREATED, NULL, NULL, NULL,
                               err) != 0))
                return -1;
        } else if (migrate_one(conn, p, cb, ud, err) != 0) {
            return -1;
        }
        if (incx_pg_run_bool(conn,
                     "SELECT EXISTS (SELECT 1 FROM projection_refills WHERE "
                     "name = $1)",
                     1, v, &pending, err) != 0)
            return -1;
        if (pending &&
            report(cb, ud, p, INC_TABLE_REFILL, NULL, NULL, NULL, err) != 0)
            return -1;
    }
    return 0;
}

int incx_pg_refill_done(PGconn *conn, const inc_projection_desc *p,
                        inc_error *err) {
    const char *v[1] = {p->name};
    bool have;
    /* a store init has not upgraded yet has nothing to clear */
    if (incx_pg_run_bool(conn, "SELECT to_regclass('projection_refills') IS NOT NULL",
                 0, NULL, &have, err) != 0)
        return -1;
    if (!have) return 0;
    return incx_pg_run(conn, "DELETE FROM projection_refills WHERE name = $1", 1, v,
               NULL, err);
}
