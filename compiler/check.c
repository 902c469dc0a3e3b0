/* check.c - the semantic pass (see check.h).
 *
 * Order of work: merge files, declare every name (so order of declaration
 * never matters), resolve field types, link execute/apply blocks, check
 * bodies and projections, then domain-wide rules (totality, rejection codes,
 * generated-name collisions).  Errors never stop the pass: a node whose type
 * could not be resolved gets AGG_T_ERROR, which is compatible with anything,
 * so one mistake does not cascade into many reports. */
#include "check.h"
#include "check_view.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"
#include "check_react.h"
#include "check_time.h"
#include "check_lists.h"
#include "names.h"
#include "suggest.h"

typedef enum ctx_kind {
    CTX_CHECK,      /* `check` in a command: bare names are command fields */
    CTX_EXECUTE,    /* bare names are state fields; command.f */
    CTX_APPLY,      /* bare names are state fields; event.f */
    CTX_PROJECTION, /* bare names are state fields */
    CTX_DEFAULT,    /* default values: constants only */
    CTX_UPCAST,     /* an upcast block: old.f only (check_evo.c) */
    CTX_REACT       /* a reaction (check_react.c): bare names are state fields
                       of the emitting aggregate, bare aggregate_id is the
                       event's; event.f */
} ctx_kind;

typedef struct ctx {
    ctx_kind kind;
    agg_aggregate *agg;
    agg_command *cmd;
    agg_event *ev;
    agg_bind *scope; /* variables bound by list operations (check_lists.c) */
} ctx;

typedef struct code_use {
    const char *name;
    agg_loc loc;
} code_use;

/* Name -> declaration, first declaration wins (arena-owned, open
 * addressing), so lookups and duplicate checks stay linear in the size of
 * the program. */
typedef struct name_map {
    size_t cap; /* a power of two; 0 = not built */
    const char **keys;
    void **vals, **owners;
} name_map;

typedef struct checker {
    agg_program *prog;
    agg_arena *a;
    agg_diag *d;
    code_use *codes;
    size_t n_codes, cap_codes;
    name_map commands, events; /* built on first lookup */
    agg_upcast *up; /* the upcast block being checked (CTX_UPCAST) */
} checker;

static const agg_type T_ERR = {AGG_T_ERROR, false, NULL, NULL, NULL};

/* ------------------------------------------------------------ utilities */

const char *agg_type_name(agg_arena *a, agg_type t) {
    const char *base;
    switch (t.kind) {
    case AGG_T_INT: base = "int"; break;
    case AGG_T_FLOAT: base = "float"; break;
    case AGG_T_BOOL: base = "bool"; break;
    case AGG_T_STRING: base = "string"; break;
    case AGG_T_TIMESTAMP: base = "timestamp"; break;
    case AGG_T_ENUM: base = t.enm ? t.enm->name : "enum"; break;
    case AGG_T_NULL: return "null";
    case AGG_T_DURATION: base = "duration"; break;
    case AGG_T_RECORD: case AGG_T_LIST: base = agg_composite_name(a, t); break;
    default: return "<error>";
    }
    return t.optional ? agg_arena_printf(a, "%s?", base) : base;
}


static const char *op_text(agg_op op) {
    switch (op) {
    case AGG_OP_NOT: return "!";
    case AGG_OP_NEG: return "-";
    case AGG_OP_ADD: return "+";
    case AGG_OP_SUB: return "-";
    case AGG_OP_MUL: return "*";
    case AGG_OP_DIV: return "/";
    case AGG_OP_MOD: return "%";
    case AGG_OP_EQ: return "==";
    case AGG_OP_NE: return "!=";
    case AGG_OP_LT: return "<";
    case AGG_OP_LE: return "<=";
    case AGG_OP_GT: return ">";
    case AGG_OP_GE: return ">=";
    case AGG_OP_AND: return "&&";
    case AGG_OP_OR: return "||";
    default: return "?";
    }
}

static const char *tn(checker *c, agg_type t) { return agg_type_name(c->a, t); }

static agg_type mk(agg_type_kind k) {
    agg_type t = {k, false, NULL, NULL, NULL};
    return t;
}

static bool is_num(agg_type t) {
    return t.kind == AGG_T_INT || t.kind == AGG_T_FLOAT;
}

/* Names become C struct members, JSON keys and SQL columns: keep them to
 * what all three accept without surprises. */
static void check_name(checker *c, agg_loc loc, const char *name, const char *what) {
    if (!name) return;
    if (agg_is_c_keyword(name))
        agg_error(c->d, loc, "%s '%s' is a C keyword", what, name);
    else if (name[0] == '_' || strstr(name, "__") ||
             name[strlen(name) - 1] == '_')
        agg_error(c->d, loc,
                  "%s '%s': names may not start or end with '_' or contain '__' "
                  "(reserved for generated code)",
                  what, name);
}

/* Projection tables and columns are the only names that become SQL
 * identifiers (quoted, but a reserved word there trips anyone writing SQL
 * against them by hand); the list is in docs/language.md. */
static void check_sql_name(checker *c, agg_loc loc, const char *name, const char *what) {
    if (name && agg_is_sql_keyword(name) && !agg_is_c_keyword(name))
        agg_error(c->d, loc, "%s '%s' is an SQL reserved word", what, name);
}

/* --------------------------------------------------------------- lookup */

static size_t name_hash(const char *k) {
    size_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static void nm_init(name_map *m, agg_arena *a, size_t n) {
    m->cap = 16;
    while (m->cap < 2 * n + 16) m->cap *= 2;
    m->keys = agg_arena_alloc(a, m->cap * sizeof *m->keys);
    m->vals = agg_arena_alloc(a, m->cap * sizeof *m->vals);
    m->owners = agg_arena_alloc(a, m->cap * sizeof *m->owners);
    memset(m->keys, 0, m->cap * sizeof *m->keys);
}

/* The slot of `k`: where it is, or the empty one where it would go. */
static size_t nm_slot(const name_map *m, const char *k) {
    size_t i = name_hash(k) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], k) != 0) i = (i + 1) & (m->cap - 1);
    return i;
}

/* Add k -> (v, owner) unless k is there; the value already there, or NULL. */
static void *nm_put_first(name_map *m, const char *k, void *v, void *owner) {
    size_t i = nm_slot(m, k);
    if (m->keys[i]) return m->vals[i];
    m->keys[i] = k;
    m->vals[i] = v;
    m->owners[i] = owner;
    return NULL;
}

static void *nm_get(const name_map *m, const char *k, void **owner) {
    size_t i = nm_slot(m, k);
    if (!m->keys[i]) return NULL;
    if (owner) *owner = m->owners[i];
    return m->vals[i];
}

static void build_message_maps(checker *c) {
    size_t n = 0;
    for (agg_aggregate *g = c->prog->aggregates; g; g = g->next) {
        for (agg_command *m = g->commands; m; m = m->next) n++;
        for (agg_event *m = g->events; m; m = m->next) n++;
    }
    nm_init(&c->commands, c->a, n);
    nm_init(&c->events, c->a, n);
    for (agg_aggregate *g = c->prog->aggregates; g; g = g->next) {
        for (agg_command *m = g->commands; m; m = m->next)
            if (m->name) nm_put_first(&c->commands, m->name, m, g);
        for (agg_event *m = g->events; m; m = m->next)
            if (m->name) nm_put_first(&c->events, m->name, m, g);
    }
}

agg_field *agg_find_field(const agg_field *list, const char *name) {
    for (; list; list = list->next)
        if (list->name && strcmp(list->name, name) == 0) return (agg_field *)list;
    return NULL;
}

static agg_enum *find_enum(checker *c, const char *name) {
    for (agg_enum *e = c->prog->enums; e; e = e->next)
        if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

/* The first command (event) of that name in declaration order. */
static agg_command *find_command(checker *c, const char *name, agg_aggregate **owner) {
    if (!c->commands.cap) build_message_maps(c);
    return nm_get(&c->commands, name, (void **)owner);
}

static agg_event *find_event(checker *c, const char *name, agg_aggregate **owner) {
    if (!c->commands.cap) build_message_maps(c);
    return nm_get(&c->events, name, (void **)owner);
}

/* ------------------------------------------------------- declarations */

static agg_field *implicit_field(checker *c, agg_loc loc, const char *name,
                                 agg_type_kind k, bool optional) {
    agg_field *f = agg_arena_alloc(c->a, sizeof *f);
    f->loc = loc;
    f->name = name;
    f->implicit = true;
    f->type.loc = loc;
    f->type.name = name;
    f->type.optional = optional;
    f->type.type.kind = k;
    f->type.type.optional = optional;
    return f;
}

/* ---- records and lists: check_lists.c sees the checker through these */

typedef struct lglue {
    checker *c;
    ctx *x;
    agg_bind *scope; /* when there is no context (types, records) */
} lglue;

static agg_type check_expr(checker *c, ctx *x, agg_expr *e);
static agg_field *command_field(agg_command *m, const char *name);

static agg_type lglue_check(void *u, agg_expr *e) {
    lglue *g = u;
    return check_expr(g->c, g->x, e);
}

static bool lglue_taken(void *u, const char *name) {
    lglue *g = u;
    if (strcmp(name, "aggregate_id") == 0 || find_enum(g->c, name)) return true;
    if (!g->x) return false;
    if (g->x->kind == CTX_CHECK) return command_field(g->x->cmd, name) != NULL;
    return g->x->agg && agg_find_field(g->x->agg->all_state, name);
}

static void resolve_typeref(checker *c, agg_typeref *t);

static void lglue_resolve(void *u, agg_typeref *t) {
    lglue *g = u;
    resolve_typeref(g->c, t);
}

static agg_lcheck lists_of(checker *c, ctx *x, lglue *g) {
    g->c = c;
    g->x = x;
    g->scope = NULL;
    agg_lcheck lc = {c->prog, c->a, c->d, lglue_check, lglue_taken, lglue_resolve, g,
                     x ? &x->scope : &g->scope};
    return lc;
}

static bool resolve_composite(checker *c, agg_typeref *t) {
    lglue g;
    agg_lcheck lc = lists_of(c, NULL, &g);
    return agg_lists_resolve(&lc, t);
}

agg_type_kind agg_builtin_type(const char *name) {
    static const struct {
        const char *name;
        agg_type_kind kind;
    } builtin[] = {{"int", AGG_T_INT},       {"float", AGG_T_FLOAT},
                   {"bool", AGG_T_BOOL},     {"string", AGG_T_STRING},
                   {"timestamp", AGG_T_TIMESTAMP}};
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(name, builtin[i].name) == 0) return builtin[i].kind;
    return AGG_T_ERROR;
}

static void resolve_typeref(checker *c, agg_typeref *t) {
    t->type = T_ERR;
    if (!t->name) return;
    if (resolve_composite(c, t)) return;
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
    if (agg_time_unstorable_type(c->d, t))
        return;
    if (strcmp(t->name, "list") == 0)
        agg_error(c->d, t->loc, "list types are not supported yet");
    else
        agg_error(c->d, t->loc,
                  "unknown type '%s' (expected int, float, bool, string, "
                  "timestamp, list<T>, or an enum or record declared in the domain)",
                  t->name);
    agg_suggest_type(c->d, t->name, c->prog->enums);
}

static agg_type check_expr(checker *c, ctx *x, agg_expr *e);
static bool assignable(agg_type to, agg_type from);

static bool is_constant(const agg_expr *e) {
    if (!e) return false;
    switch (e->kind) {
    case AGG_E_INT: case AGG_E_FLOAT: case AGG_E_STRING: case AGG_E_BOOL:
    case AGG_E_NULL: case AGG_E_EMPTY:
        return true;
    case AGG_E_MEMBER:
        return e->ref == AGG_REF_ENUM;
    case AGG_E_UNARY:
        return e->op == AGG_OP_NEG && e->lhs &&
               (e->lhs->kind == AGG_E_INT || e->lhs->kind == AGG_E_FLOAT);
    default:
        return false;
    }
}

/* Fields of one state/command/event: types, duplicates, reserved names,
 * defaults. */
static void check_fields(checker *c, agg_field *fields, const char *owner,
                         const char *owner_name) {
    static const char *const implicit[] = {"aggregate_id", "version", "updated_at"};
    for (agg_field *f = fields; f; f = f->next) {
        if (!f->name) continue;
        resolve_typeref(c, &f->type);
        check_name(c, f->loc, f->name, "field");
        for (size_t i = 0; i < 3 && strcmp(owner, "record") != 0; i++)
            if (strcmp(f->name, implicit[i]) == 0)
                agg_error(c->d, f->loc,
                          "field '%s' is implicit in every %s and cannot be declared",
                          f->name, strcmp(owner, "state of") == 0 ? "state" : owner);
        for (agg_field *g = fields; g != f; g = g->next)
            if (g->name && strcmp(g->name, f->name) == 0) {
                agg_error(c->d, f->loc, "duplicate field '%s' in %s %s", f->name, owner,
                          owner_name);
                agg_note(c->d, g->loc, "'%s' was first declared here", f->name);
                break;
            }
        /* `has_x` is the generated presence flag of an optional `x`. */
        if (strncmp(f->name, "has_", 4) == 0) {
            agg_field *o = agg_find_field(fields, f->name + 4);
            if (o && o->type.optional)
                agg_error(c->d, f->loc,
                          "field '%s' collides with the presence flag generated "
                          "for optional field '%s'",
                          f->name, o->name);
        }
        if (f->def) {
            ctx dx = {CTX_DEFAULT, NULL, NULL, NULL, NULL};
            agg_type t = check_expr(c, &dx, f->def);
            if (t.kind != AGG_T_ERROR && !is_constant(f->def))
                agg_error(c->d, f->def->loc, "default value of '%s' must be a constant",
                          f->name);
            else if (!assignable(f->type.type, t))
                agg_error(c->d, f->def->loc,
                          "default value of '%s' has type %s, expected %s", f->name,
                          tn(c, t), tn(c, f->type.type));
        }
    }
}

/* -------------------------------------------------------- expressions */

static agg_type field_type(agg_field *f) { return f->type.type; }

static void suggest(checker *c, ctx *x, const char *name) {
    if (x->cmd && agg_find_field(x->cmd->fields, name))
        agg_note(c->d, x->cmd->loc, "did you mean 'command.%s'?", name);
    else if (x->ev && agg_find_field(x->ev->fields, name))
        agg_note(c->d, x->ev->loc, "did you mean 'event.%s'?", name);
    else if (!agg_suggest_enum_member(c->d, name, c->prog->enums))
        agg_suggest_field(c->d, name, x->agg->all_state, "");
}

static agg_type ref_field(agg_expr *e, agg_field *f, agg_ref_kind ref) {
    e->ref = ref;
    e->field = f;
    return field_type(f);
}

static agg_field *command_field(agg_command *m, const char *name) {
    if (strcmp(name, "aggregate_id") == 0) return NULL; /* handled by caller */
    return agg_find_field(m->fields, name);
}

/* Commands and events carry aggregate_id implicitly; expressions reading it
 * point at a shared implicit field node. */
static agg_field *implicit_id(checker *c) {
    static const agg_loc none = {0};
    return implicit_field(c, none, "aggregate_id", AGG_T_STRING, false);
}

static agg_type check_name_ref(checker *c, ctx *x, agg_expr *e) {
    const char *name = e->sval;
    agg_bind *b = agg_find_bind(x->scope, name);
    if (b) {
        e->ref = AGG_REF_VAR;
        e->bind = b;
        return b->type;
    }
    switch (x->kind) {
    case CTX_DEFAULT:
        agg_error(c->d, e->loc, "default values must be constants, not '%s'", name);
        return T_ERR;
    case CTX_CHECK: {
        if (strcmp(name, "aggregate_id") == 0)
            return ref_field(e, implicit_id(c), AGG_REF_COMMAND);
        agg_field *f = command_field(x->cmd, name);
        if (f) return ref_field(e, f, AGG_REF_COMMAND);
        agg_error(c->d, e->loc, "unknown field '%s' in command %s", name, x->cmd->name);
        agg_suggest_field(c->d, name, x->cmd->fields, "");
        agg_note(c->d, x->cmd->loc,
                 "a check sees only the command's own fields, never the state");
        return T_ERR;
    }
    case CTX_UPCAST:
        agg_error(c->d, e->loc,
                  "unknown name '%s': an upcast reads the stored fields as 'old.%s'",
                  name, name);
        return T_ERR;
    default: {
        /* the event's id needs no state loaded (its aggregate's, the same) */
        if (x->kind == CTX_REACT && strcmp(name, "aggregate_id") == 0)
            return ref_field(e, implicit_id(c), AGG_REF_EVENT);
        agg_field *f = agg_find_field(x->agg->all_state, name);
        if (f) return ref_field(e, f, AGG_REF_STATE);
        agg_error(c->d, e->loc, "unknown state field '%s' in aggregate %s", name,
                  x->agg->name);
        suggest(c, x, name);
        return T_ERR;
    }
    }
}

static agg_type check_member(checker *c, ctx *x, agg_expr *e) {
    const char *base = e->base, *name = e->sval;
    /* `l.qty`, `address.city`: a field of a record-valued name */
    if (strcmp(base, "command") != 0 && strcmp(base, "event") != 0 &&
        strcmp(base, "state") != 0 && !find_enum(c, base)) {
        lglue g;
        agg_lcheck lc = lists_of(c, x, &g);
        if (agg_find_bind(x->scope, base) || lglue_taken(&g, base)) {
            agg_expr *n = agg_arena_alloc(c->a, sizeof *n);
            memset(n, 0, sizeof *n);
            n->kind = AGG_E_NAME;
            n->loc = e->base_loc;
            n->sval = base;
            e->kind = AGG_E_FIELD;
            e->lhs = n;
            e->base = NULL;
            return agg_lists_expr(&lc, e);
        }
    }
    if (strcmp(base, "command") == 0) {
        if (x->kind != CTX_EXECUTE && x->kind != CTX_CHECK) {
            agg_error(c->d, e->base_loc,
                      "'command' can only be used in execute blocks and checks");
            return T_ERR;
        }
        if (strcmp(name, "aggregate_id") == 0)
            return ref_field(e, implicit_id(c), AGG_REF_COMMAND);
        agg_field *f = command_field(x->cmd, name);
        if (f) return ref_field(e, f, AGG_REF_COMMAND);
        agg_error(c->d, e->loc, "command %s has no field '%s'", x->cmd->name, name);
        agg_suggest_field(c->d, name, x->cmd->fields, "command.");
        agg_note(c->d, x->cmd->loc, "%s is declared here", x->cmd->name);
        return T_ERR;
    }
    if (strcmp(base, "event") == 0) {
        if (x->kind != CTX_APPLY && x->kind != CTX_REACT) {
            agg_error(c->d, e->base_loc,
                      "'event' can only be used in apply blocks and reactions");
            return T_ERR;
        }
        if (strcmp(name, "aggregate_id") == 0)
            return ref_field(e, implicit_id(c), AGG_REF_EVENT);
        agg_type tt;
        if (agg_time_event_member(c->a, e, &tt,
                                  x->ev->apply ? &x->ev->apply->uses_time : NULL))
            return tt;
        agg_field *f = agg_find_field(x->ev->fields, name);
        if (f) return ref_field(e, f, AGG_REF_EVENT);
        agg_error(c->d, e->loc, "event %s has no field '%s'", x->ev->name, name);
        agg_suggest_field(c->d, name, x->ev->fields, "event.");
        agg_note(c->d, x->ev->loc, "%s is declared here", x->ev->name);
        return T_ERR;
    }
    if (x->kind == CTX_UPCAST && strcmp(base, "old") == 0) {
        agg_field *f = agg_find_field(c->up->fields, name);
        if (f) return ref_field(e, f, AGG_REF_OLD);
        agg_error(c->d, e->loc, "version %lld of %s has no field '%s'",
                  (long long)c->up->version, x->ev->name, name);
        agg_note(c->d, c->up->loc, "upcast %lld is declared here",
                 (long long)c->up->version);
        return T_ERR;
    }
    if (strcmp(base, "state") == 0) {
        if (x->kind == CTX_CHECK || x->kind == CTX_DEFAULT || x->kind == CTX_UPCAST) {
            agg_error(c->d, e->base_loc, "'state' cannot be used here: %s",
                      x->kind == CTX_CHECK    ? "checks run before the state is loaded"
                      : x->kind == CTX_UPCAST ? "an upcast reads only the stored event"
                                              : "default values must be constants");
            return T_ERR;
        }
        agg_field *f = agg_find_field(x->agg->all_state, name);
        if (f) return ref_field(e, f, AGG_REF_STATE);
        agg_error(c->d, e->loc, "unknown state field '%s' in aggregate %s", name,
                  x->agg->name);
        agg_suggest_field(c->d, name, x->agg->all_state, "state.");
        return T_ERR;
    }
    agg_enum *en = find_enum(c, base);
    if (!en) {
        agg_error(c->d, e->base_loc,
                  "unknown name '%s' (expected command, event, state or an enum)", base);
        agg_suggest_enum(c->d, base, c->prog->enums);
        return T_ERR;
    }
    int i = 0;
    for (agg_enum_member *m = en->members; m; m = m->next, i++)
        if (strcmp(m->name, name) == 0) {
            e->ref = AGG_REF_ENUM;
            e->member_index = i;
            agg_type t = {AGG_T_ENUM, false, en, NULL, NULL};
            return t;
        }
    agg_error(c->d, e->loc, "'%s' is not a member of enum %s", name, en->name);
    agg_suggest_member(c->d, name, en);
    agg_note(c->d, en->loc, "%s is declared here", en->name);
    return T_ERR;
}

static bool same_base(agg_type a, agg_type b) {
    if (a.kind != b.kind) return false;
    if (agg_is_composite(a)) return agg_composite_assignable(a, b);
    return a.kind != AGG_T_ENUM || a.enm == b.enm;
}

/* Can a value of type `from` be stored where `to` is expected?  Reading an
 * optional into a required place is allowed and checked at run time (a null
 * rejects with missing_value). */
static bool assignable(agg_type to, agg_type from) {
    if (to.kind == AGG_T_ERROR || from.kind == AGG_T_ERROR) return true;
    if (from.kind == AGG_T_NULL) return to.optional;
    if (to.kind == AGG_T_FLOAT && from.kind == AGG_T_INT) return true;
    return same_base(to, from);
}

static agg_type check_binary(checker *c, ctx *x, agg_expr *e) {
    agg_type l = check_expr(c, x, e->lhs), r = check_expr(c, x, e->rhs);
    if (l.kind == AGG_T_ERROR || r.kind == AGG_T_ERROR) return T_ERR;
    const char *op = op_text(e->op);
    if (e->op == AGG_OP_IN) {
        lglue g;
        agg_lcheck lc = lists_of(c, x, &g);
        return agg_lists_in(&lc, e, l, r);
    }
    /* lists and records compare only with null (when optional) */
    if ((agg_is_composite(l) || agg_is_composite(r)) &&
        !((e->op == AGG_OP_EQ || e->op == AGG_OP_NE) &&
          (l.kind == AGG_T_NULL || r.kind == AGG_T_NULL))) {
        agg_error(c->d, e->loc, "operator '%s' cannot be applied to %s and %s%s", op,
                  tn(c, l), tn(c, r),
                  e->op == AGG_OP_EQ || e->op == AGG_OP_NE
                      ? " (lists and records compare only with null; compare fields, "
                        "len(...) or use all/any)"
                      : "");
        return T_ERR;
    }
    switch (e->op) {
    case AGG_OP_ADD:
        if (l.kind == AGG_T_STRING && r.kind == AGG_T_STRING) return mk(AGG_T_STRING);
        /* fall through */
    case AGG_OP_SUB: case AGG_OP_MUL: case AGG_OP_DIV:
        if (is_num(l) && is_num(r))
            return mk(l.kind == AGG_T_FLOAT || r.kind == AGG_T_FLOAT ? AGG_T_FLOAT
                                                                     : AGG_T_INT);
        break;
    case AGG_OP_MOD:
        if (l.kind == AGG_T_INT && r.kind == AGG_T_INT) return mk(AGG_T_INT);
        break;
    case AGG_OP_EQ: case AGG_OP_NE:
        if (l.kind == AGG_T_NULL || r.kind == AGG_T_NULL) {
            agg_type other = l.kind == AGG_T_NULL ? r : l;
            if (other.kind == AGG_T_NULL || other.optional) return mk(AGG_T_BOOL);
            agg_error(c->d, e->loc,
                      "comparison with null is always %s: the other side has "
                      "type %s, which is never null",
                      e->op == AGG_OP_EQ ? "false" : "true", tn(c, other));
            return mk(AGG_T_BOOL);
        }
        if (same_base(l, r) || (is_num(l) && is_num(r))) return mk(AGG_T_BOOL);
        break;
    case AGG_OP_LT: case AGG_OP_LE: case AGG_OP_GT: case AGG_OP_GE:
        if ((is_num(l) && is_num(r)) ||
            (l.kind == AGG_T_TIMESTAMP && r.kind == AGG_T_TIMESTAMP) ||
            (l.kind == AGG_T_STRING && r.kind == AGG_T_STRING))
            return mk(AGG_T_BOOL);
        break;
    case AGG_OP_AND: case AGG_OP_OR:
        if (l.kind == AGG_T_BOOL && r.kind == AGG_T_BOOL) return mk(AGG_T_BOOL);
        break;
    default:
        break;
    }
    agg_type tt;
    if (agg_time_binary(e->op, l, r, &tt)) return tt;
    agg_error(c->d, e->loc, "operator '%s' cannot be applied to %s and %s", op,
              tn(c, l), tn(c, r));
    agg_time_binary_hint(c->d, e, l, r);
    return T_ERR;
}

static agg_type check_expr(checker *c, ctx *x, agg_expr *e) {
    agg_type t = T_ERR;
    if (!e) return t;
    switch (e->kind) {
    case AGG_E_INT: t = mk(AGG_T_INT); break;
    case AGG_E_FLOAT: t = mk(AGG_T_FLOAT); break;
    case AGG_E_STRING: t = mk(AGG_T_STRING); break;
    case AGG_E_BOOL: t = mk(AGG_T_BOOL); break;
    case AGG_E_NULL: t = mk(AGG_T_NULL); break;
    case AGG_E_NAME: t = check_name_ref(c, x, e); break;
    case AGG_E_MEMBER: t = check_member(c, x, e); break;
    case AGG_E_UNARY: {
        agg_type o = check_expr(c, x, e->lhs);
        if (o.kind == AGG_T_ERROR) break;
        if (e->op == AGG_OP_NOT && o.kind == AGG_T_BOOL) t = mk(AGG_T_BOOL);
        else if (e->op == AGG_OP_NEG && (is_num(o) || o.kind == AGG_T_DURATION))
            t = mk(o.kind);
        else
            agg_error(c->d, e->loc, "operator '%s' cannot be applied to %s",
                      op_text(e->op), tn(c, o));
        break;
    }
    case AGG_E_BINARY: t = check_binary(c, x, e); break;
    case AGG_E_DURATION: t = mk(AGG_T_DURATION); break;
    case AGG_E_CALL:
        if (!e->lhs) { /* now() (check_time.c) */
            static const agg_time_place place[] = {
                [CTX_CHECK] = AGG_TIME_CHECK, [CTX_EXECUTE] = AGG_TIME_EXECUTE,
                [CTX_APPLY] = AGG_TIME_APPLY, [CTX_PROJECTION] = AGG_TIME_PROJECTION,
                [CTX_DEFAULT] = AGG_TIME_DEFAULT, [CTX_UPCAST] = AGG_TIME_UPCAST,
                [CTX_REACT] = AGG_TIME_REACT};
            t = agg_time_call(c->d, e, place[x->kind],
                              x->kind == CTX_EXECUTE && x->cmd->execute
                                  ? &x->cmd->execute->uses_time
                                  : NULL);
            break;
        }
        /* fall through */ /* len(xs), sum(... for v in xs): check_lists.c */
    case AGG_E_FIELD: case AGG_E_EMPTY: {
        lglue g;
        agg_lcheck lc = lists_of(c, x, &g);
        t = agg_lists_expr(&lc, e);
        break;
    }
    }
    e->type = t;
    return t;
}

static void expect_bool(checker *c, ctx *x, agg_expr *e, const char *what) {
    agg_type t = check_expr(c, x, e);
    if (t.kind != AGG_T_ERROR && t.kind != AGG_T_BOOL)
        agg_error(c->d, e->loc, "%s must be a bool, not %s", what, tn(c, t));
}

/* ------------------------------------------------------------- codes */

static void use_code(checker *c, agg_code *code) {
    if (!code->name) return;
    if (c->n_codes == c->cap_codes) {
        size_t cap = c->cap_codes ? c->cap_codes * 2 : 16;
        code_use *n = agg_arena_alloc(c->a, cap * sizeof *n);
        if (c->n_codes) memcpy(n, c->codes, c->n_codes * sizeof *n);
        c->codes = n;
        c->cap_codes = cap;
    }
    c->codes[c->n_codes].name = code->name;
    c->codes[c->n_codes].loc = code->loc;
    c->n_codes++;
}

/* ---------------------------------------------------------- statements */

static void check_emit(checker *c, ctx *x, agg_stmt *s) {
    agg_aggregate *owner = NULL;
    agg_event *ev = find_event(c, s->event_name, &owner);
    if (!ev) {
        agg_error(c->d, s->event_loc, "unknown event '%s'", s->event_name);
        agg_suggest_event(c->d, s->event_name, c->prog->aggregates, x->agg);
        for (agg_init *i = s->inits; i; i = i->next) {
            ctx ex = *x;
            check_expr(c, &ex, i->value);
        }
        return;
    }
    if (owner != x->agg) {
        agg_error(c->d, s->event_loc,
                  "event %s belongs to aggregate %s; %s can only emit events of %s",
                  ev->name, owner->name, x->cmd->name, x->agg->name);
        agg_note(c->d, ev->loc, "%s is declared here", ev->name);
    }
    s->event = ev;
    for (agg_init *i = s->inits; i; i = i->next) {
        agg_type t = check_expr(c, x, i->value);
        if (strcmp(i->name, "aggregate_id") == 0) {
            agg_error(c->d, i->loc,
                      "'aggregate_id' of an emitted event is always the command's; "
                      "it cannot be set");
            continue;
        }
        agg_field *f = agg_find_field(ev->fields, i->name);
        if (!f) {
            agg_error(c->d, i->loc, "event %s has no field '%s'", ev->name, i->name);
            agg_suggest_field(c->d, i->name, ev->fields, "");
            agg_note(c->d, ev->loc, "%s is declared here", ev->name);
            continue;
        }
        i->field = f;
        for (agg_init *j = s->inits; j != i; j = j->next)
            if (strcmp(j->name, i->name) == 0) {
                agg_error(c->d, i->loc, "field '%s' is set twice", i->name);
                agg_note(c->d, j->loc, "first set here");
                break;
            }
        if (!assignable(f->type.type, t))
            agg_error(c->d, i->value->loc, "field '%s' of %s has type %s, not %s",
                      i->name, ev->name, tn(c, f->type.type), tn(c, t));
    }
    for (agg_field *f = ev->fields; f; f = f->next) {
        if (f->type.optional || f->def) continue;
        bool set = false;
        for (agg_init *i = s->inits; i; i = i->next)
            if (strcmp(i->name, f->name) == 0) set = true;
        if (!set) {
            agg_error(c->d, s->event_loc, "emit %s leaves required field '%s' unset",
                      ev->name, f->name);
            agg_note(c->d, f->loc, "'%s' is declared here", f->name);
        }
    }
}

static void check_assign(checker *c, ctx *x, agg_stmt *s) {
    agg_type t = check_expr(c, x, s->value);
    agg_field *f = agg_find_field(x->agg->all_state, s->target);
    if (!f) {
        agg_error(c->d, s->target_loc,
                  "cannot assign to '%s': it is not a state field of %s", s->target,
                  x->agg->name);
        agg_suggest_field(c->d, s->target, x->agg->state, "");
        return;
    }
    s->target_field = f;
    if (f->implicit) {
        agg_error(c->d, s->target_loc,
                  "'%s' is maintained by the runtime and cannot be assigned",
                  s->target);
        return;
    }
    agg_type ft = field_type(f);
    if (s->var || agg_is_composite(ft)) {
        lglue g;
        agg_lcheck lc = lists_of(c, x, &g);
        agg_lists_assign(&lc, s, f, t);
        return;
    }
    if (ft.kind == AGG_T_ERROR) return; /* its type was already reported */
    if (s->assign_op != AGG_OP_NONE) {
        if (!is_num(ft)) {
            agg_error(c->d, s->target_loc, "'%s=' needs an int or float field; '%s' is %s",
                      op_text(s->assign_op), s->target, tn(c, ft));
            return;
        }
        if (t.kind != AGG_T_ERROR && !(is_num(t) && (ft.kind == AGG_T_FLOAT ||
                                                     t.kind == AGG_T_INT))) {
            agg_error(c->d, s->value->loc, "cannot %s %s %s '%s' of type %s",
                      s->assign_op == AGG_OP_ADD ? "add" : "subtract", tn(c, t),
                      s->assign_op == AGG_OP_ADD ? "to" : "from", s->target, tn(c, ft));
        }
        return;
    }
    if (!assignable(ft, t))
        agg_error(c->d, s->value->loc, "cannot assign %s to '%s' of type %s", tn(c, t),
                  s->target, tn(c, ft));
}

static void check_body(checker *c, ctx *x, agg_stmt *body) {
    for (agg_stmt *s = body; s; s = s->next) {
        switch (s->kind) {
        case AGG_S_REQUIRE:
            expect_bool(c, x, s->cond, "the condition of 'require'");
            /* fall through */
        case AGG_S_FAIL:
            if (x->kind == CTX_APPLY)
                agg_error(c->d, s->loc,
                          "'%s' is not allowed in apply: events already happened, "
                          "a reducer cannot reject them",
                          s->kind == AGG_S_FAIL ? "fail" : "require");
            use_code(c, &s->code);
            break;
        case AGG_S_EMIT:
            if (x->kind == CTX_APPLY) {
                agg_error(c->d, s->loc,
                          "'emit' is not allowed in apply: only execute emits events");
                break;
            }
            check_emit(c, x, s);
            break;
        case AGG_S_IF:
            expect_bool(c, x, s->cond, "the condition of 'if'");
            check_body(c, x, s->then_body);
            check_body(c, x, s->else_body);
            break;
        case AGG_S_ASSIGN:
            if (x->kind != CTX_APPLY) {
                agg_error(c->d, s->target_loc,
                          "execute cannot change the state; assign '%s' in the apply "
                          "block of an event it emits",
                          s->target);
                check_expr(c, x, s->value);
                break;
            }
            check_assign(c, x, s);
            break;
        }
    }
}

/* ----------------------------------------------------------- aggregates */

static void check_aggregate_decls(checker *c, agg_aggregate *g) {
    check_fields(c, g->state, "state of", g->name);
    /* implicit state: aggregate_id, version, updated_at (null before the
     * first event) */
    agg_loc loc = g->loc;
    agg_field *id = implicit_field(c, loc, "aggregate_id", AGG_T_STRING, false);
    agg_field *ver = implicit_field(c, loc, "version", AGG_T_INT, false);
    agg_field *upd = implicit_field(c, loc, "updated_at", AGG_T_TIMESTAMP, true);
    id->next = ver;
    ver->next = upd;
    upd->next = g->state;
    g->all_state = id;

    for (agg_command *m = g->commands; m; m = m->next) {
        m->agg = g;
        check_fields(c, m->fields, "command", m->name);
    }
    for (agg_event *m = g->events; m; m = m->next) {
        m->agg = g;
        check_fields(c, m->fields, "event", m->name);
        for (agg_field *f = m->fields; f; f = f->next) agg_time_check_event_field(c->d, f);
    }
}

/* Link each execute block to its command and check its body. */
static void check_executes(checker *c, agg_aggregate *g) {
    for (agg_execute *x = g->executes; x; x = x->next) {
        agg_aggregate *owner = NULL;
        agg_command *m = find_command(c, x->command_name, &owner);
        if (!m) {
            agg_error(c->d, x->loc, "execute for unknown command '%s'", x->command_name);
            agg_suggest_command(c->d, x->command_name, c->prog->aggregates, g);
            continue;
        }
        if (owner != g) {
            agg_error(c->d, x->loc, "command %s belongs to aggregate %s, not %s",
                      m->name, owner->name, g->name);
            agg_note(c->d, m->loc, "%s is declared here", m->name);
            continue;
        }
        if (m->execute) {
            agg_error(c->d, x->loc, "command %s already has an execute block", m->name);
            agg_note(c->d, m->execute->loc, "the first one is here");
            continue;
        }
        m->execute = x;
        x->command = m;
        ctx cx = {CTX_EXECUTE, g, m, NULL, NULL};
        check_body(c, &cx, x->body);
    }
}

/* Link each apply block to its event and check its body. */
static void check_applies(checker *c, agg_aggregate *g) {
    for (agg_apply *p = g->applies; p; p = p->next) {
        agg_aggregate *owner = NULL;
        agg_event *ev = find_event(c, p->event_name, &owner);
        if (!ev) {
            agg_error(c->d, p->loc, "apply for unknown event '%s'", p->event_name);
            agg_suggest_event(c->d, p->event_name, c->prog->aggregates, g);
            continue;
        }
        if (owner != g) {
            agg_error(c->d, p->loc, "event %s belongs to aggregate %s, not %s", ev->name,
                      owner->name, g->name);
            continue;
        }
        if (ev->apply) {
            agg_error(c->d, p->loc, "event %s already has an apply block", ev->name);
            agg_note(c->d, ev->apply->loc, "the first one is here");
            continue;
        }
        ev->apply = p;
        p->event = ev;
        ctx cx = {CTX_APPLY, g, NULL, ev, NULL};
        check_body(c, &cx, p->body);
    }
}

/* Every command has an execute block and every event an apply block. */
static void check_totality(checker *c, agg_aggregate *g) {
    /* (a duplicate declaration was reported already: no follow-on error) */
    for (agg_command *m = g->commands; m; m = m->next)
        if (!m->execute && find_command(c, m->name, NULL) == m) {
            agg_error(c->d, m->loc, "command %s has no execute block", m->name);
            agg_note(c->d, g->loc,
                     "add 'execute %s { ... }' or 'execute %s extern;' to aggregate %s",
                     m->name, m->name, g->name);
        }
    for (agg_event *ev = g->events; ev; ev = ev->next)
        if (!ev->apply && find_event(c, ev->name, NULL) == ev) {
            agg_error(c->d, ev->loc, "event %s has no apply block", ev->name);
            agg_note(c->d, g->loc,
                     "reducers are total: add 'apply %s {}' if it changes nothing",
                     ev->name);
        }
}

/* The rules of a column's name; true when it is usable. */
static bool check_column_name(checker *c, agg_projection *p, agg_column *col) {
    static const char *const reserved[] = {"aggregate_id", "version",
                                           "event_id", "event_date"};
    check_name(c, col->loc, col->name, "column");
    check_sql_name(c, col->loc, col->name, "column");
    bool bad = false;
    for (size_t i = 0; i < 4; i++)
        if (strcmp(col->name, reserved[i]) == 0) {
            agg_error(c->d, col->loc,
                      "column '%s' is added to every projection and cannot be "
                      "declared",
                      col->name);
            bad = true;
        }
    if (strncmp(col->name, "has_", 4) == 0)
        for (agg_column *o = p->columns; o; o = o->next)
            if (o != col && strcmp(o->name, col->name + 4) == 0) {
                agg_error(c->d, col->loc,
                          "column '%s' collides with the presence flag generated "
                          "for column '%s' when it is optional; rename it",
                          col->name, o->name);
                bad = true;
            }
    for (agg_column *o = p->columns; o != col; o = o->next)
        if (strcmp(o->name, col->name) == 0) {
            agg_error(c->d, col->loc, "duplicate column '%s' in projection %s",
                      col->name, p->name);
            agg_note(c->d, o->loc, "first declared here");
            bad = true;
            break;
        }
    return !bad;
}

/* A column copied from the state (`name;`) or computed (`name = expr;`,
 * optionally typed): its type. */
static void check_column_value(checker *c, agg_aggregate *g, agg_column *col) {
    if (!col->value) {
        agg_field *f = agg_find_field(g->all_state, col->name);
        if (!f) {
            agg_error(c->d, col->loc, "unknown state field '%s' in aggregate %s",
                      col->name, g->name);
            agg_suggest_field(c->d, col->name, g->all_state, "");
            col->col_type = T_ERR;
            return;
        }
        col->state_field = f;
        col->col_type = field_type(f);
        return;
    }
    ctx cx = {CTX_PROJECTION, g, NULL, NULL, NULL};
    agg_type t = check_expr(c, &cx, col->value);
    if (col->has_type) {
        resolve_typeref(c, &col->type);
        col->col_type = col->type.type;
        if (!assignable(col->col_type, t))
            agg_error(c->d, col->value->loc,
                      "column '%s' is declared %s but its value is %s",
                      col->name, tn(c, col->col_type), tn(c, t));
    } else {
        if (t.kind == AGG_T_DURATION) {
            agg_error(c->d, col->value->loc,
                      "column '%s' would hold a duration, which cannot be stored; "
                      "divide it by a unit ('... / 1s') to store an int",
                      col->name);
            t = T_ERR;
        } else if (t.kind == AGG_T_NULL) {
            agg_error(c->d, col->value->loc,
                      "the type of column '%s' cannot be inferred from null; "
                      "declare it ('%s: T? = ...')",
                      col->name, col->name);
            t = T_ERR;
        }
        col->col_type = t;
    }
}

/* Projections: their names, their columns' names and types. */
static void check_projections(checker *c, agg_aggregate *g) {
    for (agg_projection *p = g->projections; p; p = p->next) {
        p->agg = g;
        check_name(c, p->loc, p->name, "projection");
        check_sql_name(c, p->loc, p->name, "projection");
        if (!p->columns)
            agg_error(c->d, p->loc, "projection %s has no columns", p->name);
        for (agg_column *col = p->columns; col; col = col->next)
            if (check_column_name(c, p, col)) check_column_value(c, g, col);
        agg_check_projection_indexes(p, c->d);
    }
}

static void check_aggregate_bodies(checker *c, agg_aggregate *g) {
    for (agg_command *m = g->commands; m; m = m->next)
        for (agg_check *k = m->checks; k; k = k->next) {
            ctx x = {CTX_CHECK, g, m, NULL, NULL};
            expect_bool(c, &x, k->cond, "the condition of 'check'");
            use_code(c, &k->code);
        }
    check_executes(c, g);
    check_applies(c, g);
    check_totality(c, g);
    check_projections(c, g);
}

/* ------------------------------------------- hooks for check_react.c */

agg_type agg_check_react_expr(agg_program *prog, agg_arena *a, agg_diag *d,
                              agg_event *ev, agg_expr *e) {
    checker c;
    memset(&c, 0, sizeof c);
    c.prog = prog;
    c.a = a;
    c.d = d;
    ctx x = {CTX_REACT, ev->agg, NULL, ev, NULL};
    return check_expr(&c, &x, e);
}

bool agg_assignable(agg_type to, agg_type from) { return assignable(to, from); }

void agg_check_name(agg_program *prog, agg_arena *a, agg_diag *d, agg_loc loc,
                    const char *name, const char *what) {
    checker c;
    memset(&c, 0, sizeof c);
    c.prog = prog;
    c.a = a;
    c.d = d;
    check_name(&c, loc, name, what);
}

/* -------------------------------------------------- domain-wide rules */

static int cmp_code(const void *a, const void *b) {
    const code_use *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r) return r;
    if (x->loc.line != y->loc.line) return x->loc.line - y->loc.line;
    return x->loc.col - y->loc.col;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The words of a code, sorted: "transfer_invalid_status" and
 * "transfer_status_invalid" have the same key (Incident used both). */
static char *word_key(checker *c, const char *code) {
    char *copy = agg_arena_strdup(c->a, code);
    const char *words[64];
    size_t n = 0;
    for (char *w = strtok(copy, "_"); w && n < 64; w = strtok(NULL, "_")) words[n++] = w;
    qsort(words, n, sizeof *words, cmp_str);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += strlen(words[i]) + 1;
    char *key = agg_arena_alloc(c->a, len + 1);
    for (size_t i = 0; i < n; i++) {
        strcat(key, words[i]);
        strcat(key, "_");
    }
    return key;
}

static void check_codes(checker *c) {
    for (size_t i = 0; i < c->n_codes; i++) {
        const char *n = c->codes[i].name;
        bool lower = true;
        for (const char *p = n; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                lower = false;
        if (!lower)
            agg_error(c->d, c->codes[i].loc,
                      "rejection code '%s' must be lower_snake_case", n);
        else if (agg_is_runtime_code(n))
            agg_error(c->d, c->codes[i].loc,
                      "rejection code '%s' is reserved for the runtime's own rejections",
                      n);
        else if (agg_is_c_keyword(n) || n[0] == '_' || strstr(n, "__") ||
                 n[strlen(n) - 1] == '_')
            check_name(c, c->codes[i].loc, n, "rejection code");
    }
    if (c->n_codes == 0) return;
    qsort(c->codes, c->n_codes, sizeof *c->codes, cmp_code);
    /* unique, sorted list for the generators */
    const char **uniq = agg_arena_alloc(c->a, c->n_codes * sizeof *uniq);
    code_use *first = agg_arena_alloc(c->a, c->n_codes * sizeof *first);
    size_t n = 0;
    for (size_t i = 0; i < c->n_codes; i++)
        if (n == 0 || strcmp(uniq[n - 1], c->codes[i].name) != 0) {
            first[n] = c->codes[i];
            uniq[n++] = c->codes[i].name;
        }
    c->prog->codes = uniq;
    c->prog->n_codes = n;
    /* Same words in another order: almost certainly one code spelt two ways. */
    char **keys = agg_arena_alloc(c->a, n * sizeof *keys);
    for (size_t i = 0; i < n; i++) keys[i] = word_key(c, uniq[i]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(keys[i], keys[j]) == 0) {
                code_use *later = &first[i], *earlier = &first[j];
                if (later->loc.line < earlier->loc.line ||
                    (later->loc.line == earlier->loc.line &&
                     later->loc.col < earlier->loc.col)) {
                    code_use *t = later;
                    later = earlier;
                    earlier = t;
                }
                agg_error(c->d, later->loc,
                          "rejection codes '%s' and '%s' have the same words in another "
                          "order; use one name",
                          later->name, earlier->name);
                agg_note(c->d, earlier->loc, "'%s' is used here", earlier->name);
            }
}

typedef struct gen_name {
    const char *c;
    agg_loc loc;
    const char *what;
} gen_name;

typedef struct names {
    gen_name *v;
    size_t n, cap;
} names;

static void add_name(checker *c, names *ns, const char *cname, agg_loc loc,
                     const char *what) {
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 64;
        gen_name *v = agg_arena_alloc(c->a, cap * sizeof *v);
        if (ns->n) memcpy(v, ns->v, ns->n * sizeof *v);
        ns->v = v;
        ns->cap = cap;
    }
    ns->v[ns->n].c = cname;
    ns->v[ns->n].loc = loc;
    ns->v[ns->n].what = what;
    ns->n++;
}

static int cmp_gen(const void *a, const void *b) {
    const gen_name *x = a, *y = b;
    int r = strcmp(x->c, y->c);
    if (r) return r;
    if (x->loc.line != y->loc.line) return x->loc.line - y->loc.line;
    return x->loc.col - y->loc.col;
}

/* Every name of the table in names.c that `bases` take, made from `base`. */
static void add_cnames(checker *c, names *ns, unsigned bases, const char *base, agg_loc loc,
                       const char *what) {
    for (int id = 0; id < AGG_CN_COUNT; id++)
        if (agg_cname_bases((agg_cname_id)id) & bases)
            add_name(c, ns, agg_cname(c->a, (agg_cname_id)id, base), loc, what);
}

/* The names the declarations of one aggregate generate. */
static void add_aggregate_names(checker *c, names *ns, const agg_aggregate *g) {
    const char *d = c->prog->domain;
    agg_arena *a = c->a;
    add_cnames(c, ns, AGG_CB_STATE, agg_c_state(a, d, g->name), g->loc,
               agg_arena_printf(a, "the state of %s", g->name));
    add_cnames(c, ns, AGG_CB_AGGREGATE, agg_c_agg_type(a, d, g->name), g->loc, g->name);
    for (const agg_command *m = g->commands; m; m = m->next) {
        add_cnames(c, ns, AGG_CB_MESSAGE, agg_c_message(a, d, m->name), m->loc, m->name);
        add_name(c, ns, agg_c_execute(a, d, g->name, m->name), m->loc, m->name);
    }
    for (const agg_event *m = g->events; m; m = m->next) {
        add_cnames(c, ns, AGG_CB_MESSAGE, agg_c_message(a, d, m->name), m->loc, m->name);
        add_name(c, ns, agg_c_apply(a, d, g->name, m->name), m->loc, m->name);
    }
    for (const agg_projection *p = g->projections; p; p = p->next) {
        add_cnames(c, ns, AGG_CB_MESSAGE, agg_c_row(a, d, p->name), p->loc, p->name);
        add_name(c, ns, agg_c_projection(a, d, p->name), p->loc, p->name);
        add_name(c, ns, agg_c_project(a, d, p->name), p->loc, p->name);
    }
}

typedef struct lists_ns_glue {
    checker *c;
    names *ns;
} lists_ns_glue;

static void lists_add_name(void *u, const char *cname, agg_loc loc, const char *what) {
    lists_ns_glue *g = u;
    add_name(g->c, g->ns, cname, loc, what);
}

/* Every C identifier (and macro) the generator will define, from the same
 * table gen_c.c takes its names from (names.h), so two .agg names that map
 * to the same C name (OpenAccount / Open_Account, or a command called
 * AccountState next to aggregate Account) are caught here, not by the C
 * compiler. */
static void check_collisions(checker *c) {
    const char *d = c->prog->domain;
    agg_arena *a = c->a;
    names ns = {0};
    agg_loc none = {0};
    const char *builtin = "the generated code";
    add_cnames(c, &ns, AGG_CB_DOMAIN, d, none, builtin);
    add_cnames(c, &ns, AGG_CB_MACRO, agg_upper(a, d), none, builtin);
    for (size_t i = 0; i < c->n_codes; i++) /* sorted: first use of each first */
        if (i == 0 || strcmp(c->codes[i].name, c->codes[i - 1].name) != 0)
            add_name(c, &ns, agg_c_reject(a, d, c->codes[i].name), c->codes[i].loc,
                     agg_arena_printf(a, "rejection code %s", c->codes[i].name));
    for (agg_enum *e = c->prog->enums; e; e = e->next) {
        const char *base = agg_c_message(a, d, e->name);
        add_cnames(c, &ns, AGG_CB_ENUM, base, e->loc, e->name);
        for (agg_enum_member *m = e->members; m; m = m->next)
            add_name(c, &ns, agg_c_member(a, base, m->name), m->loc,
                     agg_arena_printf(a, "%s.%s", e->name, m->name));
    }
    for (agg_aggregate *g = c->prog->aggregates; g; g = g->next)
        add_aggregate_names(c, &ns, g);
    for (const agg_reaction *r = c->prog->reactions; r; r = r->next)
        add_name(c, &ns, agg_c_reaction(a, d, r->name), r->loc, r->name);
    lists_ns_glue lg = {c, &ns};
    agg_lists_names(c->prog, a, lists_add_name, &lg);
    if (ns.n == 0) return;
    qsort(ns.v, ns.n, sizeof *ns.v, cmp_gen);
    const char *last_reported = NULL;
    for (size_t i = 1; i < ns.n; i++) {
        if (strcmp(ns.v[i].c, ns.v[i - 1].c) != 0) continue;
        /* the same declaration registering a name twice is its own
         * duplicate, reported elsewhere */
        if (ns.v[i].what == ns.v[i - 1].what) continue;
        gen_name *later = &ns.v[i], *earlier = &ns.v[i - 1];
        if (!later->loc.file) {
            gen_name *t = later;
            later = earlier;
            earlier = t;
        }
        if (last_reported && strcmp(last_reported, later->what) == 0) continue;
        last_reported = later->what;
        if (!earlier->loc.file) {
            agg_error(c->d, later->loc,
                      "'%s' generates the C name '%s', which the generated code uses "
                      "itself; rename it",
                      later->what, later->c);
            continue;
        }
        agg_error(c->d, later->loc, "'%s' and '%s' both generate the C name '%s'; rename one",
                  later->what, earlier->what, later->c);
        agg_note(c->d, earlier->loc, "'%s' is declared here", earlier->what);
    }
}

/* Duplicate top-level names: enums, aggregates, commands and events (one
 * namespace: all become C types), projections (SQL tables). */
static void check_duplicates(checker *c) {
    typedef struct {
        const char *name;
        agg_loc loc;
        const char *kind;
    } decl;
    size_t n = 0, cap = 0;
    decl *v = NULL;
#define ADD(nm, lc, kd)                                                        \
    do {                                                                       \
        if (n == cap) {                                                        \
            size_t nc = cap ? cap * 2 : 64;                                    \
            decl *nv = agg_arena_alloc(c->a, nc * sizeof *nv);                 \
            if (n) memcpy(nv, v, n * sizeof *nv);                              \
            v = nv;                                                            \
            cap = nc;                                                          \
        }                                                                      \
        v[n].name = (nm);                                                      \
        v[n].loc = (lc);                                                       \
        v[n].kind = (kd);                                                      \
        n++;                                                                   \
    } while (0)
    for (agg_enum *e = c->prog->enums; e; e = e->next) ADD(e->name, e->loc, "enum");
    for (agg_record *r = c->prog->records; r; r = r->next) {
        ADD(r->name, r->loc, "record");
        check_name(c, r->loc, r->name, "record");
    }
    for (agg_enum *e = c->prog->enums; e; e = e->next) check_name(c, e->loc, e->name, "enum");
    for (agg_aggregate *g = c->prog->aggregates; g; g = g->next) {
        check_name(c, g->loc, g->name, "aggregate");
        for (agg_command *m = g->commands; m; m = m->next)
            check_name(c, m->loc, m->name, "command");
        for (agg_event *m = g->events; m; m = m->next) check_name(c, m->loc, m->name, "event");
    }
    for (agg_aggregate *g = c->prog->aggregates; g; g = g->next) {
        ADD(g->name, g->loc, "aggregate");
        for (agg_command *m = g->commands; m; m = m->next)
            ADD(m->name, m->loc, "command");
        for (agg_event *m = g->events; m; m = m->next) ADD(m->name, m->loc, "event");
    }
    name_map seen;
    nm_init(&seen, c->a, n);
    for (size_t i = 0; i < n; i++) {
        decl *first = nm_put_first(&seen, v[i].name, &v[i], NULL);
        if (!first) continue;
        agg_error(c->d, v[i].loc, "%s '%s' is already declared as %s %s",
                  v[i].kind, v[i].name,
                  strcmp(first->kind, "aggregate") == 0 ||
                          strcmp(first->kind, "enum") == 0 ||
                          strcmp(first->kind, "event") == 0
                      ? "an"
                      : "a",
                  first->kind);
        agg_note(c->d, first->loc, "the first declaration is here");
    }
    n = 0;
    for (agg_aggregate *g = c->prog->aggregates; g; g = g->next)
        for (agg_projection *p = g->projections; p; p = p->next)
            ADD(p->name, p->loc, "projection");
#undef ADD
    nm_init(&seen, c->a, n);
    for (size_t i = 0; i < n; i++) {
        decl *first = nm_put_first(&seen, v[i].name, &v[i], NULL);
        if (first) {
            agg_error(c->d, v[i].loc, "duplicate projection '%s'", v[i].name);
            agg_note(c->d, first->loc, "the first declaration is here");
        }
    }
    for (agg_enum *e = c->prog->enums; e; e = e->next) {
        int count = 0;
        for (agg_enum_member *m = e->members; m; m = m->next) {
            count++;
            check_name(c, m->loc, m->name, "enum member");
            for (agg_enum_member *o = e->members; o != m; o = o->next)
                if (strcmp(o->name, m->name) == 0) {
                    agg_error(c->d, m->loc, "duplicate member '%s' in enum %s", m->name,
                              e->name);
                    agg_note(c->d, o->loc, "first declared here");
                    break;
                }
        }
        e->n_members = count;
        if (count == 0) agg_error(c->d, e->loc, "enum %s has no members", e->name);
    }
}

/* ------------------------------------------------------------ entry */

static bool valid_domain_name(const char *s) {
    if (!(*s >= 'a' && *s <= 'z')) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

bool agg_check_program(agg_program *prog, agg_arena *arena, agg_diag *diag) {
    checker c;
    memset(&c, 0, sizeof c);
    c.prog = prog;
    c.a = arena;
    c.d = diag;
    int errors_before = diag->errors;

    /* merge files */
    agg_enum **et = &prog->enums;
    agg_aggregate **at = &prog->aggregates;
    agg_record **rt = &prog->records;
    agg_file *first_domain = NULL;
    for (agg_file *f = prog->files; f; f = f->next) {
        if (!f->domain) {
            agg_loc l = {f->path, 1, 1, 1, 1};
            agg_error(diag, l, "missing 'domain NAME;' declaration");
        } else if (!first_domain) {
            first_domain = f;
            prog->domain = f->domain;
            if (!valid_domain_name(f->domain))
                agg_error(diag, f->domain_loc,
                          "domain name '%s' must be lower_snake_case (it prefixes every "
                          "generated C name)",
                          f->domain);
            else
                check_name(&c, f->domain_loc, f->domain, "domain name");
        } else if (strcmp(f->domain, prog->domain) != 0) {
            agg_error(diag, f->domain_loc,
                      "domain '%s' differs from domain '%s': files compiled together "
                      "form one domain",
                      f->domain, prog->domain);
            agg_note(diag, first_domain->domain_loc, "'%s' is declared here",
                     prog->domain);
        }
        for (agg_enum *e = f->enums; e; e = e->next) {
            *et = e;
            et = &e->next;
        }
        *et = NULL;
        for (agg_aggregate *g = f->aggregates; g; g = g->next) {
            *at = g;
            at = &g->next;
        }
        *at = NULL;
        for (agg_record *r = f->records; r; r = r->next) {
            *rt = r;
            rt = &r->next;
        }
        *rt = NULL;
    }
    if (!prog->domain) prog->domain = "domain";

    check_duplicates(&c);
    for (agg_record *r = prog->records; r; r = r->next)
        check_fields(&c, r->fields, "record", r->name);
    {
        lglue lg;
        agg_lcheck lc = lists_of(&c, NULL, &lg);
        agg_lists_check_records(&lc);
    }
    for (agg_aggregate *g = prog->aggregates; g; g = g->next)
        check_aggregate_decls(&c, g);
    for (agg_aggregate *g = prog->aggregates; g; g = g->next) {
        check_aggregate_bodies(&c, g);
        if (!g->commands && !g->events)
            agg_error(diag, g->loc, "aggregate %s declares no commands and no events",
                      g->name);
    }
    if (!prog->aggregates && prog->files && diag->errors == errors_before) {
        agg_loc l = {prog->files->path, 1, 1, 1, 1};
        agg_error(diag, l, "the domain declares no aggregate");
    }
    agg_check_evolution(&c);
    agg_check_reactions(prog, arena, diag);
    check_codes(&c);
    agg_check_views(prog, arena, diag); /* check_view.c */
    if (diag->errors == errors_before) check_collisions(&c);
    return diag->errors == errors_before;
}

/* ------------------------------------------- shared with check_evo.c */

agg_diag *agg_chk_diag(checker *c) { return c->d; }
agg_arena *agg_chk_arena(checker *c) { return c->a; }
agg_program *agg_chk_program(checker *c) { return c->prog; }

void agg_chk_fields(checker *c, agg_field *fields, const char *owner,
                    const char *owner_name) {
    check_fields(c, fields, owner, owner_name);
}

agg_type agg_chk_upcast_expr(checker *c, agg_aggregate *g, agg_event *ev, agg_upcast *u,
                             agg_expr *e) {
    ctx x = {CTX_UPCAST, g, NULL, ev, NULL};
    c->up = u;
    agg_type t = check_expr(c, &x, e);
    c->up = NULL;
    return t;
}

bool agg_chk_assignable(agg_type to, agg_type from) { return assignable(to, from); }
