/* check_view.c - views (docs/language.md "Views"): names, column types and
 * defaults, indexes, and each `on Event key ... { ... }` handler.  A
 * handler's key is a string field of the event or `aggregate_id`; its
 * statements set a column (`=`), add to it (`+=`) or subtract (`-=`) a
 * value that is a field of the event, `aggregate_id`, or a constant; or
 * the handler deletes the row.  Everything is then one parameterised SQL
 * statement per handler (gen_view.c), with no C code to run per event. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "check_react.h"
#include "check_view.h"
#include "names.h"

/* Longest PostgreSQL identifier (an index name is VIEW_COLUMN_idx). */
#define SQL_NAME_MAX 63

typedef struct vcheck {
    agg_program *p;
    agg_arena *a;
    agg_diag *d;
} vcheck;

static bool reserved_column(const char *n) {
    return strcmp(n, "version") == 0 || strcmp(n, "event_id") == 0 ||
           strcmp(n, "event_date") == 0;
}

static void check_ident(vcheck *c, agg_loc loc, const char *name,
                        const char *what) {
    if (agg_is_c_keyword(name))
        agg_error(c->d, loc, "%s '%s' is a C keyword", what, name);
    else if (agg_is_sql_keyword(name))
        agg_error(c->d, loc, "%s '%s' is an SQL reserved word", what, name);
    else if (name[0] == '_' || strstr(name, "__") ||
             name[strlen(name) - 1] == '_')
        agg_error(c->d, loc,
                  "%s '%s': names may not start or end with '_' or contain "
                  "'__' (reserved for generated code)",
                  what, name);
}

static agg_enum *find_enum(vcheck *c, const char *name) {
    for (agg_enum *e = c->p->enums; e; e = e->next)
        if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

static agg_event *find_event(vcheck *c, const char *name) {
    for (agg_aggregate *g = c->p->aggregates; g; g = g->next)
        for (agg_event *e = g->events; e; e = e->next)
            if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

static void resolve(vcheck *c, agg_typeref *t) {
    memset(&t->type, 0, sizeof t->type);
    if ((t->type.kind = agg_builtin_type(t->name)) != AGG_T_ERROR) {
        t->type.optional = t->optional;
        return;
    }
    agg_enum *e = find_enum(c, t->name);
    if (e) {
        t->type.kind = AGG_T_ENUM;
        t->type.enm = e;
        t->type.optional = t->optional;
        return;
    }
    agg_error(c->d, t->loc,
              "unknown type '%s' for a view column (expected int, float, "
              "bool, string, timestamp or an enum of the domain)",
              t->name);
}

/* The type of a constant usable as a view value or default, or ERROR. */
static agg_type constant_type(vcheck *c, agg_expr *e) {
    agg_type t = {AGG_T_ERROR, false, NULL, NULL, NULL};
    switch (e->kind) {
    case AGG_E_INT: t.kind = AGG_T_INT; break;
    case AGG_E_FLOAT: t.kind = AGG_T_FLOAT; break;
    case AGG_E_BOOL: t.kind = AGG_T_BOOL; break;
    case AGG_E_STRING: t.kind = AGG_T_STRING; break;
    case AGG_E_NULL: t.kind = AGG_T_NULL; break;
    case AGG_E_UNARY:
        if (e->op == AGG_OP_NEG && e->lhs &&
            (e->lhs->kind == AGG_E_INT || e->lhs->kind == AGG_E_FLOAT))
            t.kind = e->lhs->kind == AGG_E_INT ? AGG_T_INT : AGG_T_FLOAT;
        break;
    case AGG_E_MEMBER: {
        agg_enum *en = e->base ? find_enum(c, e->base) : NULL;
        if (!en) break;
        int i = 0;
        for (agg_enum_member *m = en->members; m; m = m->next, i++)
            if (strcmp(m->name, e->sval) == 0) {
                t.kind = AGG_T_ENUM;
                t.enm = en;
                e->ref = AGG_REF_ENUM;
                e->member_index = i;
            }
        break;
    }
    default: break;
    }
    e->type = t;
    return t;
}

/* Whether a value of type `from` may go into column type `to`. */
static bool fits(agg_type to, agg_type from) {
    if (from.kind == AGG_T_NULL) return to.optional;
    if (from.optional && !to.optional) return false;
    if (to.kind == AGG_T_FLOAT && from.kind == AGG_T_INT) return true;
    if (to.kind != from.kind) return false;
    return to.kind != AGG_T_ENUM || to.enm == from.enm;
}

static void check_columns(vcheck *c, agg_view *v) {
    for (agg_field *f = v->columns; f; f = f->next) {
        check_ident(c, f->loc, f->name, "view column");
        if (reserved_column(f->name) || strcmp(f->name, v->key_name) == 0)
            agg_error(c->d, f->loc,
                      "view column '%s' clashes with the key or a column "
                      "every view has (version, event_id, event_date)",
                      f->name);
        for (agg_field *g = v->columns; g != f; g = g->next)
            if (strcmp(g->name, f->name) == 0)
                agg_error(c->d, f->loc, "duplicate column '%s' in view %s",
                          f->name, v->name);
        resolve(c, &f->type);
        agg_type t = f->type.type;
        if (t.kind == AGG_T_ERROR) continue;
        if (f->def) {
            agg_type dt = constant_type(c, f->def);
            if (dt.kind == AGG_T_ERROR || !fits(t, dt))
                agg_error(c->d, f->def->loc,
                          "the default of view column '%s' must be a "
                          "constant of type %s",
                          f->name, agg_type_name(c->a, t));
            else if (dt.kind == AGG_T_STRING && f->def->slen != 0)
                agg_error(c->d, f->def->loc,
                          "a view column's string default can only be \"\" "
                          "(make the column optional, or set it from an "
                          "event)");
        } else if (!t.optional &&
                   (t.kind == AGG_T_TIMESTAMP || t.kind == AGG_T_ENUM)) {
            agg_error(c->d, f->loc,
                      "view column '%s' needs a default (or make it "
                      "optional): a new row starts with it",
                      f->name);
        }
    }
}

/* What indexes of views and projections share: the index's name fits,
 * and no column is indexed twice. */
static void index_name_and_duplicates(agg_diag *d, const char *table,
                                      agg_view_index *all, agg_view_index *x) {
    if (strlen(table) + strlen(x->name) + 5 > SQL_NAME_MAX)
        agg_error(d, x->loc, "index name %s_%s_idx is longer than %d bytes",
                  table, x->name, SQL_NAME_MAX);
    for (agg_view_index *y = all; y != x; y = y->next)
        if (strcmp(y->name, x->name) == 0)
            agg_error(d, x->loc, "duplicate index on '%s'", x->name);
}

static void check_indexes(vcheck *c, agg_view *v) {
    for (agg_view_index *x = v->indexes; x; x = x->next) {
        x->column = agg_find_field(v->columns, x->name);
        if (!x->column) {
            agg_error(c->d, x->loc,
                      strcmp(x->name, v->key_name) == 0
                          ? "'%s' is the view's key: it is indexed already"
                          : "index on '%s', which is not a column of view %s",
                      x->name, v->name);
            continue;
        }
        index_name_and_duplicates(c->d, v->name, v->indexes, x);
    }
}

void agg_check_projection_indexes(agg_projection *p, agg_diag *d) {
    for (agg_view_index *x = p->indexes; x; x = x->next) {
        for (agg_column *col = p->columns; col && !x->pcolumn; col = col->next)
            if (strcmp(col->name, x->name) == 0) x->pcolumn = col;
        if (!x->pcolumn) {
            agg_error(d, x->loc,
                      strcmp(x->name, "aggregate_id") == 0
                          ? "'%s' is the projection's key: it is indexed already"
                          : "index on '%s', which is not a column of projection %s",
                      x->name, p->name);
            continue;
        }
        agg_type_kind k = x->pcolumn->col_type.kind;
        if (k == AGG_T_RECORD || k == AGG_T_LIST)
            agg_error(d, x->loc,
                      "index on '%s', a %s column: only scalar columns can be "
                      "indexed (and queried)",
                      x->name, k == AGG_T_LIST ? "list" : "record");
        index_name_and_duplicates(d, p->name, p->indexes, x);
    }
}

/* A key or value from the event: event.f or aggregate_id (the type, or
 * ERROR when it is neither); annotates `e`. */
static agg_type event_value(vcheck *c, agg_view_on *o, agg_expr *e) {
    agg_type t = {AGG_T_ERROR, false, NULL, NULL, NULL};
    if (e->kind == AGG_E_NAME && strcmp(e->sval, "aggregate_id") == 0) {
        t.kind = AGG_T_STRING;
    } else if (e->kind == AGG_E_MEMBER && e->base &&
               strcmp(e->base, "event") == 0) {
        agg_field *f = o->event ? agg_find_field(o->event->fields, e->sval) : NULL;
        if (!f) {
            if (o->event)
                agg_error(c->d, e->loc, "event %s has no field '%s'",
                          o->event->name, e->sval);
            t.kind = AGG_T_NULL; /* reported: no second message */
            t.optional = true;
            e->type = t;
            return t;
        }
        e->ref = AGG_REF_EVENT;
        e->field = f;
        t = f->type.type;
    } else {
        return t;
    }
    e->type = t;
    return t;
}

/* What a key expression may not read: the state (a view has none) and
 * the clock (a rebuild would give other keys).  0 when it reads neither. */
static int key_reads_outside(vcheck *c, const agg_expr *e) {
    if (!e) return 0;
    if (e->ref == AGG_REF_STATE) {
        agg_error(c->d, e->loc,
                  "a view's key reads only the event (event.NAME) and "
                  "aggregate_id, not the state");
        return 1;
    }
    if (e->ref == AGG_REF_EVENT && e->field && e->field->type.type.optional) {
        agg_error(c->d, e->loc,
                  "a view's key cannot read the optional field '%s': an event "
                  "where it is null would have no key",
                  e->field->name);
        return 1;
    }
    return key_reads_outside(c, e->lhs) || key_reads_outside(c, e->rhs) ||
           key_reads_outside(c, e->filter);
}

/* now() in an expression (before it is checked: the reaction context it
 * is checked in would explain it in a reaction's terms). */
static const agg_expr *find_now(const agg_expr *e) {
    if (!e) return NULL;
    if (e->kind == AGG_E_CALL && !e->lhs) return e;
    const agg_expr *n = find_now(e->lhs);
    if (!n) n = find_now(e->rhs);
    return n ? n : find_now(e->filter);
}

static void check_on(vcheck *c, agg_view *v, agg_view_on *o) {
    o->event = find_event(c, o->event_name);
    if (!o->event)
        agg_error(c->d, o->loc, "unknown event '%s' in view %s", o->event_name,
                  v->name);
    agg_type kt = event_value(c, o, o->key);
    if (kt.kind == AGG_T_ERROR && o->event) {
        /* any other expression over the event: computed in C by a function
         * aggc generates (gen_view.c), its text the key parameter */
        o->key_expr = true;
        const agg_expr *now = find_now(o->key);
        if (now)
            agg_error(c->d, now->loc,
                      "now() in a view's key: a rebuild would give other keys");
        else
            kt = agg_check_react_expr(c->p, c->a, c->d, o->event, o->key);
        if (now || kt.kind == AGG_T_ERROR || key_reads_outside(c, o->key)) {
            kt.kind = AGG_T_NULL; /* reported */
        } else if (kt.kind != AGG_T_STRING || kt.optional) {
            agg_error(c->d, o->key->loc,
                      "a view's key is a string (build one with +, e.g. "
                      "event.a + \"/\" + event.b); this is %s",
                      agg_type_name(c->a, kt));
            kt.kind = AGG_T_NULL;
        }
    }
    if (kt.kind == AGG_T_ERROR || (kt.kind != AGG_T_NULL &&
                                   (kt.kind != AGG_T_STRING || kt.optional)))
        agg_error(c->d, o->key->loc,
                  "a view's key is a string: a string field of the event "
                  "(event.NAME), aggregate_id, or a string expression over "
                  "them");
    for (agg_stmt *s = o->body; s; s = s->next) {
        if (s->kind != AGG_S_ASSIGN) {
            agg_error(c->d, s->loc,
                      "a view handler only sets (=), adds to (+=) or "
                      "subtracts from (-=) columns");
            continue;
        }
        agg_field *col = agg_find_field(v->columns, s->target);
        s->target_field = col;
        if (!col) {
            agg_error(c->d, s->target_loc, "'%s' is not a column of view %s%s",
                      s->target, v->name,
                      strcmp(s->target, v->key_name) == 0
                          ? " (the key is set by 'key')"
                          : "");
            continue;
        }
        for (agg_stmt *p = o->body; p != s; p = p->next)
            if (p->kind == AGG_S_ASSIGN && strcmp(p->target, s->target) == 0)
                agg_error(c->d, s->target_loc,
                          "column '%s' is updated twice by one handler",
                          s->target);
        agg_type ct = col->type.type, vt = event_value(c, o, s->value);
        if (vt.kind == AGG_T_ERROR) vt = constant_type(c, s->value);
        if (vt.kind == AGG_T_ERROR) {
            agg_error(c->d, s->value->loc,
                      "a view value is a field of the event (event.NAME), "
                      "aggregate_id or a constant");
            continue;
        }
        if (ct.kind == AGG_T_ERROR || (vt.kind == AGG_T_NULL && vt.optional))
            continue; /* reported already */
        if (s->assign_op != AGG_OP_NONE) {
            if ((ct.kind != AGG_T_INT && ct.kind != AGG_T_FLOAT) ||
                ct.optional || vt.optional || vt.kind == AGG_T_NULL ||
                !fits(ct, vt))
                agg_error(c->d, s->loc,
                          "'%s' needs a non-optional int or float column "
                          "and value (here %s and %s)",
                          s->assign_op == AGG_OP_ADD ? "+=" : "-=",
                          agg_type_name(c->a, ct), agg_type_name(c->a, vt));
        } else if (!fits(ct, vt)) {
            agg_error(c->d, s->value->loc,
                      "cannot set column '%s' (%s) to a value of type %s",
                      col->name, agg_type_name(c->a, ct),
                      agg_type_name(c->a, vt));
        }
    }
}

void agg_check_views(agg_program *prog, agg_arena *a, agg_diag *d) {
    vcheck c = {prog, a, d};
    agg_view **vt = &prog->views;
    for (agg_file *f = prog->files; f; f = f->next)
        for (agg_view *v = f->views; v; v = v->next) {
            *vt = v;
            vt = &v->next;
        }
    *vt = NULL;
    static const char *const store_tables[] = {
        "events", "snapshots", "consumers", "command_ids", "schema_version"};
    for (agg_view *v = prog->views; v; v = v->next) {
        check_ident(&c, v->loc, v->name, "view name");
        check_ident(&c, v->key_loc, v->key_name, "view key");
        if (reserved_column(v->key_name))
            agg_error(d, v->key_loc, "the key cannot be called '%s'",
                      v->key_name);
        for (size_t i = 0; i < sizeof store_tables / sizeof *store_tables; i++)
            if (strcmp(v->name, store_tables[i]) == 0)
                agg_error(d, v->loc,
                          "view '%s' would share the event store's table",
                          v->name);
        for (agg_view *w = prog->views; w != v; w = w->next)
            if (strcmp(w->name, v->name) == 0)
                agg_error(d, v->loc, "duplicate view '%s'", v->name);
        for (agg_aggregate *g = prog->aggregates; g; g = g->next)
            for (agg_projection *p = g->projections; p; p = p->next)
                if (strcmp(p->name, v->name) == 0)
                    agg_error(d, v->loc,
                              "view '%s' has the name of a projection (they "
                              "are tables of one schema)",
                              v->name);
        check_columns(&c, v);
        check_indexes(&c, v);
        if (!v->ons)
            agg_error(d, v->loc, "view %s has no 'on EVENT key ...' handler",
                      v->name);
        for (agg_view_on *o = v->ons; o; o = o->next) check_on(&c, v, o);
    }
}
