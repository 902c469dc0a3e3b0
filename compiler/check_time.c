/* check_time.c - time in the checker (see check_time.h).
 *
 * Timestamps and durations are both microseconds in an int64; the types
 * keep them apart so that `deadline + 3600` (seconds? microseconds?) is an
 * error rather than a guess.  A duration is an expression type only: it
 * is never stored (docs/language.md says how to keep one). */
#include "check_time.h"

#include <string.h>

static agg_type mk(agg_type_kind k) {
    agg_type t = {k, false, NULL, NULL, NULL};
    return t;
}

agg_type agg_time_call(agg_diag *d, agg_expr *e, agg_time_place where,
                       bool *uses_time) {
    static const char *const why[] = {
        [AGG_TIME_APPLY] = "an apply must give the same state each time the "
                           "event is replayed; use event.event_date",
        [AGG_TIME_CHECK] = "checks see the command alone; compare with now() "
                           "in the execute block",
        [AGG_TIME_PROJECTION] = "a projection is computed from the state; "
                                "use updated_at",
        [AGG_TIME_DEFAULT] = "default values must be constants",
        [AGG_TIME_UPCAST] = "an upcast must read a stored event the same way "
                            "each time; use the stored fields (old.f)",
        [AGG_TIME_REACT] = "a reaction may run again after a crash and must "
                           "dispatch the same command each time",
    };
    if (strcmp(e->sval, "now") != 0) {
        agg_error(d, e->loc, "unknown function '%s' (the only one is now())",
                  e->sval);
        return mk(AGG_T_ERROR);
    }
    if (where != AGG_TIME_EXECUTE) {
        agg_error(d, e->loc, "now() can only be used in execute blocks: %s",
                  why[where]);
        return mk(AGG_T_ERROR);
    }
    if (uses_time) *uses_time = true;
    return mk(AGG_T_TIMESTAMP);
}

bool agg_time_event_member(agg_arena *a, agg_expr *e, agg_type *out,
                           bool *uses_time) {
    agg_type_kind k;
    if (strcmp(e->sval, "event_date") == 0) k = AGG_T_TIMESTAMP;
    else if (strcmp(e->sval, "event_id") == 0) k = AGG_T_STRING;
    else return false;
    /* a field node of its own, so generic code (names in messages) works */
    agg_field *f = agg_arena_alloc(a, sizeof *f);
    f->loc = e->loc;
    f->name = e->sval;
    f->implicit = true;
    f->type.name = e->sval;
    f->type.type = mk(k);
    e->ref = AGG_REF_EVENT_INFO;
    e->field = f;
    *out = mk(k);
    if (uses_time) *uses_time = true;
    return true;
}

bool agg_time_binary(agg_op op, agg_type l, agg_type r, agg_type *out) {
    const agg_type_kind T = AGG_T_TIMESTAMP, D = AGG_T_DURATION, I = AGG_T_INT;
    agg_type_kind a = l.kind, b = r.kind, res;
    if (a != D && b != D && !(op == AGG_OP_SUB && a == T && b == T)) return false;
    switch (op) {
    case AGG_OP_ADD:
        if ((a == T && b == D) || (a == D && b == T)) res = T;
        else if (a == D && b == D) res = D;
        else return false;
        break;
    case AGG_OP_SUB:
        if (a == T && b == D) res = T;
        else if ((a == T && b == T) || (a == D && b == D)) res = D;
        else return false;
        break;
    case AGG_OP_MUL:
        if ((a == D && b == I) || (a == I && b == D)) res = D;
        else return false;
        break;
    case AGG_OP_DIV:
        if (a == D && b == I) res = D;
        else if (a == D && b == D) res = I;
        else return false;
        break;
    case AGG_OP_LT: case AGG_OP_LE: case AGG_OP_GT: case AGG_OP_GE:
        if (a == D && b == D) res = AGG_T_BOOL;
        else return false;
        break;
    default:
        return false;
    }
    *out = mk(res);
    return true;
}

void agg_time_binary_hint(agg_diag *d, const agg_expr *e, agg_type l,
                          agg_type r) {
    bool ts_int = (l.kind == AGG_T_TIMESTAMP && r.kind == AGG_T_INT) ||
                  (l.kind == AGG_T_INT && r.kind == AGG_T_TIMESTAMP);
    bool dur_int = (l.kind == AGG_T_DURATION && r.kind == AGG_T_INT) ||
                   (l.kind == AGG_T_INT && r.kind == AGG_T_DURATION);
    if (ts_int && (e->op == AGG_OP_ADD || e->op == AGG_OP_SUB))
        agg_note(d, e->loc,
                 "add or subtract a duration: '3600s', '2h', or an int "
                 "times a unit such as 'command.seconds * 1s'");
    else if (dur_int && (e->op == AGG_OP_ADD || e->op == AGG_OP_SUB))
        agg_note(d, e->loc,
                 "an int has no unit: multiply it by one ('n * 1s') to make "
                 "a duration");
}

void agg_time_check_event_field(agg_diag *d, const agg_field *f) {
    if (f->name && (strcmp(f->name, "event_date") == 0 ||
                    strcmp(f->name, "event_id") == 0))
        agg_error(d, f->loc,
                  "field '%s' is implicit in every event (event.%s in apply) "
                  "and cannot be declared",
                  f->name, f->name);
}

bool agg_time_unstorable_type(agg_diag *d, const agg_typeref *t) {
    if (!t->name || strcmp(t->name, "duration") != 0) return false;
    agg_error(d, t->loc,
              "a duration cannot be stored: store the timestamp it leads to "
              "(a deadline) or an int with its unit in the name "
              "('timeout_s: int', then 'timeout_s * 1s')");
    return true;
}
