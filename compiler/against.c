/* against.c - `aggc --against OLD.agg...` (docs/evolution.md, "Checking a
 * new version"): compares the checked new domain with the checked old one
 * and reports every change that would leave stored events unreadable.
 *
 * What the old domain could have stored: every event of every aggregate
 * (under the aggregate's name), at every schema version from 1 to its
 * current one, and under its `was` names.  For each, the new domain must
 * have an event that reads it: the same name in the same aggregate, or one
 * naming it in `was`; at each stored version N it must either still declare
 * `upcast N` with the shape stored (fields may be added there only as
 * optional or defaulted), or, at its current version, read the stored
 * fields directly: none removed or retyped (required -> optional is fine),
 * none required added.  Enum members used by stored events may only be
 * added.  Errors point into the new files where the fix goes, else at the
 * old declaration. */
#include "against.h"

#include <stdbool.h>
#include <string.h>

#include "check.h"

typedef struct cmp {
    agg_arena *a;
    agg_diag *d;
} cmp;

static const char *tname(cmp *c, const agg_field *f) { return agg_type_name(c->a, f->type.type); }

static int count_upcasts(const agg_event *ev) {
    int n = 0;
    for (const agg_upcast *u = ev->upcasts; u; u = u->next) n++;
    return n;
}

static const agg_upcast *upcast_at(const agg_event *ev, int v) {
    const agg_upcast *u = ev->upcasts;
    for (int i = 1; u && i < v; i++) u = u->next;
    return u;
}

static const agg_aggregate *aggregate_named(const agg_program *p, const char *name) {
    for (const agg_aggregate *g = p->aggregates; g; g = g->next)
        if (strcmp(g->name, name) == 0) return g;
    return NULL;
}

static const agg_event *event_in(const agg_aggregate *g, const char *name) {
    for (const agg_event *e = g->events; e; e = e->next)
        if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

static bool names_was(const agg_event *e, const char *name) {
    for (const agg_name *n = e->was; n; n = n->next)
        if (strcmp(n->name, name) == 0) return true;
    return false;
}

/* The new event of aggregate `g` that reads stored events called `name`. */
static const agg_event *reader_of(const agg_aggregate *g, const char *name) {
    const agg_event *e = event_in(g, name);
    if (e) return e;
    for (e = g->events; e; e = e->next)
        if (names_was(e, name)) return e;
    return NULL;
}

/* Can a value stored as `from` be read as `to`? */
static bool readable(agg_type to, agg_type from) {
    if (to.kind != from.kind) return false;
    if (to.kind == AGG_T_ENUM && strcmp(to.enm->name, from.enm->name) != 0) return false;
    return to.optional || !from.optional;
}

/* "count: int; note: string?;" for a suggested upcast block. */
static const char *field_list(cmp *c, const agg_field *fields) {
    const char *s = "";
    for (const agg_field *f = fields; f; f = f->next)
        s = agg_arena_printf(c->a, "%s%s%s: %s;", s, *s ? " " : "", f->name, tname(c, f));
    return s;
}

/* The new event `nev` reads stored version `v` of `oev` (fields `old`)
 * directly with its current fields. */
static void compare_current(cmp *c, const agg_event *oev, const agg_field *old, int v,
                            const agg_event *nev) {
    const char *fix = agg_arena_printf(c->a, "add 'upcast %d { %s } { ... }' to %s", v,
                                       field_list(c, old), nev->name);
    for (const agg_field *o = old; o; o = o->next) {
        const agg_field *n = agg_find_field(nev->fields, o->name);
        if (!n) {
            agg_error(c->d, nev->loc,
                      "field '%s' of event %s was removed: events stored at schema "
                      "version %d carry it; %s to say how they read",
                      o->name, nev->name, v, fix);
            agg_note(c->d, o->loc, "'%s' was declared here", o->name);
        } else if (!readable(n->type.type, o->type.type)) {
            agg_error(c->d, n->loc,
                      "field '%s' of event %s changed type from %s to %s: events stored "
                      "at schema version %d hold %s; %s to convert them",
                      o->name, nev->name, tname(c, o), tname(c, n), v, tname(c, o), fix);
            agg_note(c->d, o->loc, "'%s' was declared here", o->name);
        }
    }
    for (const agg_field *n = nev->fields; n; n = n->next) {
        if (n->type.optional || n->def || agg_find_field(old, n->name)) continue;
        agg_error(c->d, n->loc,
                  "required field '%s' added to event %s: events stored at schema version "
                  "%d have no '%s'; give it a default ('%s: %s = ...;'), make it optional "
                  "('%s: %s?;'), or %s",
                  n->name, nev->name, v, n->name, n->name, tname(c, n), n->name, tname(c, n),
                  fix);
    }
    (void)oev;
}

/* `upcast v` of the new event `nev` must declare the shape the old domain
 * stored as version v. */
static void compare_declared(cmp *c, const agg_field *old, int v, const agg_event *nev,
                             const agg_upcast *u) {
    for (const agg_field *o = old; o; o = o->next) {
        const agg_field *n = agg_find_field(u->fields, o->name);
        if (!n) {
            agg_error(c->d, u->loc,
                      "upcast %d of %s does not declare field '%s', which events stored at "
                      "schema version %d carry; declare it as stored ('%s: %s;')",
                      v, nev->name, o->name, v, o->name, tname(c, o));
            agg_note(c->d, o->loc, "'%s' was declared here", o->name);
        } else if (!readable(n->type.type, o->type.type)) {
            agg_error(c->d, n->loc,
                      "field '%s' in upcast %d of %s has type %s, but schema version %d "
                      "stored it as %s; declare it as stored ('%s: %s;')",
                      o->name, v, nev->name, tname(c, n), v, tname(c, o), o->name, tname(c, o));
            agg_note(c->d, o->loc, "'%s' was declared here", o->name);
        }
    }
    for (const agg_field *n = u->fields; n; n = n->next) {
        if (n->type.optional || n->def || agg_find_field(old, n->name)) continue;
        agg_error(c->d, n->loc,
                  "upcast %d of %s declares required field '%s', which events stored at "
                  "schema version %d do not have; remove it, or give it a default or '?'",
                  v, nev->name, n->name, v);
    }
}

static void compare_event(cmp *c, const agg_event *oev, const agg_event *nev) {
    int s_old = count_upcasts(oev) + 1, s_new = count_upcasts(nev) + 1;
    if (s_new < s_old) {
        agg_error(c->d, nev->loc,
                  "event %s is at schema version %d, but the old domain writes version %d: "
                  "upcast blocks are never removed (events of every version stay stored); "
                  "keep %s",
                  nev->name, s_new, s_old,
                  s_old == 2 ? "'upcast 1'"
                             : agg_arena_printf(c->a, "upcast blocks 1 to %d", s_old - 1));
        agg_note(c->d, oev->loc, "the old %s is declared here", oev->name);
        return;
    }
    for (int v = 1; v <= s_old; v++) {
        const agg_field *old = v < s_old ? upcast_at(oev, v)->fields : oev->fields;
        if (v < s_new) compare_declared(c, old, v, nev, upcast_at(nev, v));
        else compare_current(c, oev, old, v, nev);
    }
}

static bool uses_enum(const agg_field *f, const agg_enum *en) {
    for (; f; f = f->next)
        if (f->type.type.kind == AGG_T_ENUM && f->type.type.enm == en) return true;
    return false;
}

/* Is the enum the type of a field of a stored event (any version)? */
static bool stored_enum(const agg_program *p, const agg_enum *en) {
    for (const agg_aggregate *g = p->aggregates; g; g = g->next)
        for (const agg_event *e = g->events; e; e = e->next) {
            if (uses_enum(e->fields, en)) return true;
            for (const agg_upcast *u = e->upcasts; u; u = u->next)
                if (uses_enum(u->fields, en)) return true;
        }
    return false;
}

static void compare_enums(cmp *c, const agg_program *np, const agg_program *op) {
    for (const agg_enum *oe = op->enums; oe; oe = oe->next) {
        if (!stored_enum(op, oe)) continue;
        const agg_enum *ne = np->enums;
        while (ne && strcmp(ne->name, oe->name) != 0) ne = ne->next;
        if (!ne) {
            agg_error(c->d, oe->loc,
                      "enum %s was removed: stored events hold its members; keep it", oe->name);
            continue;
        }
        for (const agg_enum_member *om = oe->members; om; om = om->next) {
            const agg_enum_member *nm = ne->members;
            while (nm && strcmp(nm->name, om->name) != 0) nm = nm->next;
            if (nm) continue;
            agg_error(c->d, ne->loc,
                      "enum member %s.%s was removed or renamed: stored events may hold it; "
                      "enum members may only be added (keep '%s')",
                      oe->name, om->name, om->name);
            agg_note(c->d, om->loc, "'%s' was declared here", om->name);
        }
    }
}

/* Every name the old event's stored events may carry. */
static void compare_names(cmp *c, const agg_aggregate *ng, const agg_event *oev,
                          const agg_event *nev) {
    for (const agg_name *w = oev->was; w; w = w->next) {
        if (reader_of(ng, w->name)) continue;
        agg_error(c->d, nev->loc,
                  "event %s no longer reads stored %s events (the old %s read them with "
                  "'was %s'); keep 'was %s' on %s",
                  nev->name, w->name, oev->name, w->name, w->name, nev->name);
        agg_note(c->d, w->loc, "'was %s' is here", w->name);
    }
}

void agg_against(const agg_program *np, const agg_program *op, agg_arena *a, agg_diag *d) {
    cmp c = {a, d};
    for (const agg_aggregate *og = op->aggregates; og; og = og->next) {
        const agg_aggregate *ng = aggregate_named(np, og->name);
        if (!ng) {
            if (og->events)
                agg_error(d, og->loc,
                          "aggregate %s was removed: its events are stored under its name "
                          "and could no longer be read; keep it",
                          og->name);
            continue;
        }
        for (const agg_event *oev = og->events; oev; oev = oev->next) {
            const agg_event *nev = reader_of(ng, oev->name);
            if (!nev) {
                const agg_aggregate *other = NULL;
                for (const agg_aggregate *g = np->aggregates; g && !other; g = g->next)
                    if (g != ng && reader_of(g, oev->name)) other = g;
                if (other) {
                    agg_error(d, reader_of(other, oev->name)->loc,
                              "event %s moved from aggregate %s to %s: stored %s events "
                              "belong to %s and could no longer be read; keep it in %s",
                              oev->name, og->name, other->name, oev->name, og->name,
                              og->name);
                    agg_note(d, oev->loc, "the old %s is declared here", oev->name);
                } else {
                    agg_error(d, oev->loc,
                              "event %s of aggregate %s was removed: stored %s events could "
                              "no longer be read; keep it, or name it in 'was' of the event "
                              "that replaces it ('event NEW was %s { ... }')",
                              oev->name, og->name, oev->name, oev->name);
                }
                continue;
            }
            compare_names(&c, ng, oev, nev);
            compare_event(&c, oev, nev);
        }
    }
    compare_enums(&c, np, op);
}
