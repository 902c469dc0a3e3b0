/* gen_view.c - views (docs/language.md "Views") in generated code: the
 * table (key, columns with their defaults, version/event_id/event_date,
 * declared indexes), a row struct with its field table (so the runtime
 * reads rows as it reads projection rows), and per handler one SQL
 * statement with the handler's values as parameters: an upsert whose
 * INSERT starts a row from the defaults and whose UPDATE sets or adds, or
 * a DELETE.  Identifiers come from the checked .agg file and are quoted;
 * the only constants in SQL text are the checked defaults (numbers,
 * true/false, '' and enum member names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gen.h"
#include "gen_query.h"
#include "gen_view.h"
#include "names.h"

static const char *vname(agg_arena *a, const char *d, const agg_view *v,
                         const char *suffix) {
    return agg_arena_cat(a, d, "_", agg_snake(a, v->name), "_view", suffix,
                         (char *)NULL);
}

static const char *zero_default(agg_type t) {
    switch (t.kind) {
    case AGG_T_INT: return "0";
    case AGG_T_FLOAT: return "0";
    case AGG_T_BOOL: return "false";
    case AGG_T_STRING: return "''";
    default: return NULL;
    }
}

/* A constant (checked by check_view.c) as text: SQL when `sql` (strings
 * are '' only there), else the parameter text the runtime sends. */
static const char *constant_text(agg_arena *a, const agg_expr *e, bool sql) {
    switch (e->kind) {
    case AGG_E_INT: return agg_arena_printf(a, "%lld", (long long)e->ival);
    case AGG_E_FLOAT: return agg_arena_printf(a, "%.17g", e->fval);
    case AGG_E_BOOL: return e->ival ? "true" : "false";
    case AGG_E_STRING: return sql ? "''" : e->sval;
    case AGG_E_UNARY: {
        const char *x = constant_text(a, e->lhs, sql);
        return x ? agg_arena_cat(a, "-", x, (char *)NULL) : NULL;
    }
    case AGG_E_MEMBER:
        return sql ? agg_arena_cat(a, "'", e->sval, "'", (char *)NULL) : e->sval;
    default: return NULL;
    }
}

static const char *column_default(agg_arena *a, const agg_field *f) {
    if (f->def && f->def->kind != AGG_E_NULL) return constant_text(a, f->def, true);
    return f->type.type.optional ? NULL : zero_default(f->type.type);
}

void agg_sql_views_ddl(sbuf *out, const agg_program *p) {
    for (const agg_view *v = p->views; v; v = v->next) {
        sb_put(out, "\n");
        sb_printf(out, "CREATE TABLE IF NOT EXISTS \"%s\" (\n", v->name);
        sb_printf(out, "    \"%s\" text PRIMARY KEY,\n", v->key_name);
        for (const agg_field *f = v->columns; f; f = f->next) {
            agg_type t = f->type.type;
            sb_printf(out, "    \"%s\" %s%s", f->name, agg_sql_type(&t),
                      t.optional ? "" : " NOT NULL");
            if (f->def && f->def->kind != AGG_E_NULL) {
                /* constants only: see constant_text */
                const agg_expr *e = f->def;
                if (e->kind == AGG_E_INT)
                    sb_printf(out, " DEFAULT %lld", (long long)e->ival);
                else if (e->kind == AGG_E_FLOAT)
                    sb_printf(out, " DEFAULT %.17g", e->fval);
                else if (e->kind == AGG_E_BOOL)
                    sb_printf(out, " DEFAULT %s", e->ival ? "true" : "false");
                else if (e->kind == AGG_E_STRING)
                    sb_put(out, " DEFAULT ''");
                else if (e->kind == AGG_E_UNARY && e->lhs->kind == AGG_E_INT)
                    sb_printf(out, " DEFAULT -%lld", (long long)e->lhs->ival);
                else if (e->kind == AGG_E_UNARY)
                    sb_printf(out, " DEFAULT -%.17g", e->lhs->fval);
                else if (e->kind == AGG_E_MEMBER)
                    sb_printf(out, " DEFAULT '%s'", e->sval);
            } else if (!t.optional && zero_default(t)) {
                sb_printf(out, " DEFAULT %s", zero_default(t));
            }
            agg_sql_enum_check(out, f->name, &t);
            sb_put(out, ",\n");
        }
        sb_put(out, "    \"version\" bigint NOT NULL,\n");
        sb_put(out, "    \"event_id\" uuid NOT NULL,\n");
        sb_put(out, "    \"event_date\" timestamptz NOT NULL\n);\n");
        for (const agg_view_index *x = v->indexes; x; x = x->next)
            sb_printf(out,
                      "CREATE INDEX IF NOT EXISTS \"%s_%s_idx\" ON \"%s\" "
                      "(\"%s\");\n",
                      v->name, x->name, v->name, x->name);
    }
}

static void ts_col(sbuf *out, const char *name) {
    sb_printf(out,
              "to_char(\"%s\" AT TIME ZONE 'UTC', "
              "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
              name);
}

static void select_sql(sbuf *out, const agg_view *v, int one) {
    sb_printf(out, "SELECT \"%s\"", v->key_name);
    for (const agg_field *f = v->columns; f; f = f->next) {
        sb_put(out, ", ");
        if (f->type.type.kind == AGG_T_TIMESTAMP) ts_col(out, f->name);
        else sb_printf(out, "\"%s\"", f->name);
    }
    sb_put(out, ", \"version\", \"event_id\", ");
    ts_col(out, "event_date");
    sb_printf(out, " FROM \"%s\"", v->name);
    if (one) sb_printf(out, " WHERE \"%s\" = $1", v->key_name);
    else sb_printf(out, " ORDER BY \"%s\"", v->key_name);
}

static void handler_sql(sbuf *out, const agg_view *v, const agg_view_on *o,
                        agg_arena *a) {
    if (o->is_delete) {
        sb_printf(out, "DELETE FROM \"%s\" WHERE \"%s\" = $1::text", v->name,
                  v->key_name);
        return;
    }
    int n = 0;
    for (const agg_stmt *s = o->body; s; s = s->next) n++;
    sb_printf(out, "INSERT INTO \"%s\" (\"%s\"", v->name, v->key_name);
    for (const agg_stmt *s = o->body; s; s = s->next)
        sb_printf(out, ", \"%s\"", s->target);
    sb_put(out, ", \"version\", \"event_id\", \"event_date\") VALUES ($1::text");
    int k = 2;
    for (const agg_stmt *s = o->body; s; s = s->next, k++) {
        agg_type t = s->target_field->type.type;
        const char *ty = agg_sql_type(&t);
        if (s->assign_op == AGG_OP_NONE)
            sb_printf(out, ", $%d::%s", k, ty);
        else
            sb_printf(out, ", (%s %s $%d::%s)", column_default(a, s->target_field),
                      s->assign_op == AGG_OP_ADD ? "+" : "-", k, ty);
    }
    sb_printf(out, ", $%d::bigint, $%d::uuid, $%d::timestamptz)", n + 2, n + 3,
              n + 4);
    sb_printf(out, " ON CONFLICT (\"%s\") DO UPDATE SET ", v->key_name);
    k = 2;
    for (const agg_stmt *s = o->body; s; s = s->next, k++) {
        agg_type t = s->target_field->type.type;
        if (s->assign_op == AGG_OP_NONE)
            sb_printf(out, "\"%s\" = EXCLUDED.\"%s\", ", s->target, s->target);
        else
            sb_printf(out, "\"%s\" = \"%s\".\"%s\" %s $%d::%s, ", s->target,
                      v->name, s->target, s->assign_op == AGG_OP_ADD ? "+" : "-",
                      k, agg_sql_type(&t));
    }
    sb_put(out,
           "\"version\" = EXCLUDED.\"version\", \"event_id\" = "
           "EXCLUDED.\"event_id\", \"event_date\" = EXCLUDED.\"event_date\"");
}

static void c_string_member(sbuf *out, const char *member, const sbuf *s) {
    sb_printf(out, "    .%s = ", member);
    sb_c_string(out, s->data ? s->data : "", s->len);
    sb_put(out, ",\n");
}

static void row_fields(sbuf *out, const agg_view *v, const char *d,
                       const char *row, agg_arena *a) {
    sb_printf(out, "static const inc_field_desc %s_fields[] = {\n", row);
    sb_printf(out,
              "    {\n        .name = \"%s\",\n        .type = INC_TYPE_STRING,\n"
              "        .flags = INC_FIELD_IMPLICIT,\n        .offset = offsetof(%s, "
              "key),\n        .has_offset = INC_NO_OFFSET,\n    },\n",
              v->key_name, row);
    for (const agg_field *f = v->columns; f; f = f->next) {
        agg_type t = f->type.type;
        const char *cf = agg_arena_cat(a, "c_", f->name, (char *)NULL);
        sb_printf(out, "    {\n        .name = \"%s\",\n        .type = %s,\n",
                  f->name, agg_inc_type(&t));
        const char *flags = t.optional ? "INC_FIELD_OPTIONAL" : "0";
        if (f->def && f->def->kind != AGG_E_NULL)
            flags = t.optional ? "INC_FIELD_OPTIONAL | INC_FIELD_DEFAULTED"
                               : "INC_FIELD_DEFAULTED";
        sb_printf(out, "        .flags = %s,\n", flags);
        sb_printf(out, "        .offset = offsetof(%s, %s),\n", row, cf);
        if (t.optional)
            sb_printf(out, "        .has_offset = offsetof(%s, has_%s),\n", row,
                      cf);
        else sb_put(out, "        .has_offset = INC_NO_OFFSET,\n");
        if (t.kind == AGG_T_ENUM)
            sb_printf(out, "        .enum_desc = &%s_desc,\n",
                      agg_c_message(a, d, t.enm->name));
        const agg_expr *e = f->def;
        if (e && e->kind != AGG_E_NULL) {
            const agg_expr *x = e->kind == AGG_E_UNARY ? e->lhs : e;
            const char *neg = e->kind == AGG_E_UNARY ? "-" : "";
            if (x->kind == AGG_E_FLOAT || (t.kind == AGG_T_FLOAT && x->kind == AGG_E_INT))
                sb_printf(out, "        .def = {.present = true, .f = %s%.17g},\n",
                          neg, x->kind == AGG_E_FLOAT ? x->fval : (double)x->ival);
            else if (x->kind == AGG_E_INT || x->kind == AGG_E_BOOL)
                sb_printf(out, "        .def = {.present = true, .i = %s%lld},\n",
                          neg, (long long)x->ival);
            else if (x->kind == AGG_E_STRING)
                sb_put(out, "        .def = {.present = true, .s = \"\"},\n");
            else if (x->kind == AGG_E_MEMBER)
                sb_printf(out, "        .def = {.present = true, .i = %d},\n",
                          x->member_index);
        }
        sb_put(out, "    },\n");
    }
    sb_put(out, "};\n");
}

static void value_init(sbuf *out, const agg_expr *e, agg_arena *a) {
    if (e->kind == AGG_E_NAME) {
        sb_put(out, "{.source = INC_VIEW_AGGREGATE_ID}");
    } else if (e->ref == AGG_REF_EVENT) {
        sb_printf(out, "{.source = INC_VIEW_FIELD, .field = \"%s\"}", e->sval);
    } else if (e->kind == AGG_E_NULL) {
        sb_put(out, "{.source = INC_VIEW_NULL}");
    } else {
        const char *t = constant_text(a, e, false);
        sb_put(out, "{.source = INC_VIEW_LITERAL, .literal = ");
        sb_c_string(out, t ? t : "", t ? strlen(t) : 0);
        sb_put(out, "}");
    }
}

/* A view's indexed columns, for its typed queries. */
static const agg_qcol *query_cols(const agg_view *v, agg_arena *a, size_t *n) {
    size_t k = 0;
    for (const agg_view_index *x = v->indexes; x; x = x->next) k++;
    agg_qcol *q = agg_arena_alloc(a, (k ? k : 1) * sizeof *q);
    k = 0;
    for (const agg_view_index *x = v->indexes; x; x = x->next)
        if (x->column) q[k++] = (agg_qcol){x->name, x->column->type.type};
    *n = k;
    return q;
}

void agg_gen_views_header(sbuf *out, const agg_program *p, agg_arena *a) {
    const char *d = p->domain;
    for (const agg_view *v = p->views; v; v = v->next) {
        const char *row = vname(a, d, v, "_row");
        sb_printf(out, "/* a row of view %s: its key, then the columns (c_NAME) */\n",
                  v->name);
        sb_printf(out, "typedef struct %s {\n    char *key;\n", row);
        for (const agg_field *f = v->columns; f; f = f->next) {
            agg_type t = f->type.type;
            const char *ct = agg_c_value_type(a, d, &t);
            sb_printf(out, "    %s%sc_%s;\n", ct, ct[strlen(ct) - 1] == '*' ? "" : " ",
                      f->name);
            if (t.optional) sb_printf(out, "    bool has_c_%s;\n", f->name);
        }
        sb_printf(out, "} %s;\n", row);
        size_t nq = 0;
        const agg_qcol *q = query_cols(v, a, &nq);
        agg_gen_query_header(out, a, d, vname(a, d, v, ""), row, q, nq);
    }
}

/* A key written as an expression: a function computing its text from the
 * decoded event, with gen_c.c's compiler of initialisers (as a reaction's
 * fields), so it fails as a rule does (overflow, null read), never by
 * undefined behaviour. */
static void key_function(sbuf *out, const agg_program *p, const agg_view *v,
                         const agg_view_on *o, int i, agg_arena *a) {
    const char *d = p->domain;
    agg_field keyf;
    memset(&keyf, 0, sizeof keyf);
    keyf.name = "key";
    keyf.type.type.kind = AGG_T_STRING;
    agg_init init;
    memset(&init, 0, sizeof init);
    init.name = "key";
    init.value = o->key;
    init.field = &keyf;
    sbuf body;
    sb_init(&body);
    int tmp = 0, scratch = 0;
    agg_gen_c_inits(&body, 2, p, a, "box.", &init, &tmp, &scratch);
    const char *fn = vname(a, d, v, agg_arena_printf(a, "_key_%d", i));
    sb_printf(out, "/* the key of handler %d (on %s) */\n", i + 1, o->event->name);
    sb_printf(out,
              "static int %s(const inc_recorded_event *ev, char **out, inc_error *err) {\n",
              fn);
    sb_printf(out, "    const %s *event = ev->data;\n", agg_c_message(a, d, o->event->name));
    sb_put(out, "    struct { char *key; } box = {NULL};\n");
    if (scratch) sb_put(out, "    inc_scratch sc = INC_SCRATCH_INIT;\n");
    sb_put(out, "    int rc = -1;\n    (void)event;\n    (void)err;\n    {\n");
    sb_put(out, body.data ? body.data : "");
    sb_put(out, "    }\n    *out = box.key;\n    box.key = NULL;\n    rc = 0;\n"
                "    goto done;\ndone:\n    free(box.key);\n");
    if (scratch) sb_put(out, "    inc_scratch_free(&sc);\n");
    sb_put(out, "    return rc;\n}\n");
    sb_free(&body);
}

static void one_view(sbuf *out, const agg_program *p, const agg_view *v, agg_arena *a) {
    const char *d = p->domain;
    const char *row = vname(a, d, v, "_row");
    sb_printf(out, "/* ---------------------------------------------- view %s */\n\n",
              v->name);
    row_fields(out, v, d, row, a);
    int nf = 1;
    for (const agg_field *f = v->columns; f; f = f->next) nf++;
    sb_printf(out,
              "static const inc_message_desc %s_desc = {\n    .kind = INC_MSG_ROW,\n"
              "    .name = \"%s\",\n    .c_name = \"%s\",\n    .size = sizeof(%s),\n"
              "    .n_fields = %d,\n    .fields = %s_fields,\n};\n",
              row, v->name, row, row, nf, row);
    sbuf s;
    sb_init(&s);
    sb_printf(out, "static const inc_projection_desc %s = {\n    .name = \"%s\",\n"
                   "    .row = &%s_desc,\n",
              vname(a, d, v, "_table"), v->name, row);
    select_sql(&s, v, 0);
    c_string_member(out, "select_sql", &s);
    s.len = 0;
    select_sql(&s, v, 1);
    c_string_member(out, "select_one_sql", &s);
    s.len = 0;
    sb_printf(&s, "TRUNCATE \"%s\"", v->name);
    c_string_member(out, "truncate_sql", &s);
    sb_put(out, "};\n");
    int i = 0;
    for (const agg_view_on *o = v->ons; o; o = o->next, i++)
        if (o->key_expr) key_function(out, p, v, o, i, a);
    i = 0;
    for (const agg_view_on *o = v->ons; o; o = o->next, i++) {
        if (o->is_delete || !o->body) continue;
        sb_printf(out, "static const inc_view_value %s_values_%d[] = {\n",
                  vname(a, d, v, ""), i);
        for (const agg_stmt *st = o->body; st; st = st->next) {
            sb_put(out, "    ");
            value_init(out, st->value, a);
            sb_put(out, ",\n");
        }
        sb_put(out, "};\n");
    }
    sb_printf(out, "static const inc_view_handler %s[] = {\n",
              vname(a, d, v, "_handlers"));
    i = 0;
    for (const agg_view_on *o = v->ons; o; o = o->next, i++) {
        int n = 0;
        for (const agg_stmt *st = o->body; st && !o->is_delete; st = st->next) n++;
        sb_printf(out, "    {\n        .event = &%s_desc,\n        .key = ",
                  agg_c_message(a, d, o->event->name));
        if (o->key_expr)
            sb_printf(out, "{.source = INC_VIEW_EXPR, .expr = %s}",
                      vname(a, d, v, agg_arena_printf(a, "_key_%d", i)));
        else
            value_init(out, o->key, a);
        sb_put(out, ",\n");
        if (o->is_delete) sb_put(out, "        .delete_row = true,\n");
        if (n)
            sb_printf(out, "        .n_values = %d,\n        .values = %s_values_%d,\n",
                      n, vname(a, d, v, ""), i);
        s.len = 0;
        handler_sql(&s, v, o, a);
        sb_put(out, "        .sql = ");
        sb_c_string(out, s.data, s.len);
        sb_put(out, ",\n    },\n");
    }
    sb_put(out, "};\n");
    sb_free(&s);
    sb_printf(out,
              "static const inc_view_desc %s = {\n    .name = \"%s\",\n"
              "    .table = &%s,\n    .n_handlers = %d,\n    .handlers = %s,\n};\n",
              vname(a, d, v, ""), v->name, vname(a, d, v, "_table"), i,
              vname(a, d, v, "_handlers"));
    size_t nq = 0;
    const agg_qcol *q = query_cols(v, a, &nq);
    agg_gen_query_source(out, a, d, vname(a, d, v, ""), vname(a, d, v, "_table"), q, nq);
}

static int cmp_view(const void *x, const void *y) {
    const agg_view *const *a = x, *const *b = y;
    return strcmp((*a)->name, (*b)->name);
}

void agg_gen_views(sbuf *out, const agg_program *p, agg_arena *a) {
    size_t n = 0;
    for (const agg_view *v = p->views; v; v = v->next) n++;
    if (!n) return;
    const agg_view **sorted = agg_arena_alloc(a, n * sizeof *sorted);
    bool exprs = false;
    for (const agg_view *v = p->views; v; v = v->next)
        for (const agg_view_on *o = v->ons; o; o = o->next) exprs = exprs || o->key_expr;
    if (exprs)
        sb_put(out, "#include <incident/app.h> /* key expressions read the decoded event */\n\n");
    n = 0;
    for (const agg_view *v = p->views; v; v = v->next) {
        one_view(out, p, v, a);
        sorted[n++] = v;
    }
    qsort(sorted, n, sizeof *sorted, cmp_view);
    sb_printf(out, "static const inc_view_desc *const %s_views[] = {\n", p->domain);
    for (size_t i = 0; i < n; i++)
        sb_printf(out, "    &%s,\n", vname(a, p->domain, sorted[i], ""));
    sb_put(out, "};\n\n");
}

void agg_gen_view_members(sbuf *out, const agg_program *p, agg_arena *a) {
    (void)a;
    size_t n = 0;
    for (const agg_view *v = p->views; v; v = v->next) n++;
    if (n)
        sb_printf(out, "    .n_views = %zu,\n    .views = %s_views,\n", n,
                  p->domain);
}
