/* suggest.c - "did you mean" (see suggest.h). */
#include "suggest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

size_t agg_edit_distance(const char *a, const char *b, size_t limit) {
    size_t n = strlen(a), m = strlen(b);
    if ((n > m ? n - m : m - n) > limit) return limit + 1;
    /* three rows: two back (for transpositions), previous, current */
    size_t *rows = malloc(3 * (m + 1) * sizeof *rows);
    if (!rows) return limit + 1;
    size_t *pp = rows, *p = rows + m + 1, *c = rows + 2 * (m + 1);
    for (size_t j = 0; j <= m; j++) p[j] = j;
    for (size_t i = 1; i <= n; i++) {
        c[0] = i;
        size_t best = c[0];
        for (size_t j = 1; j <= m; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) ==
                                  tolower((unsigned char)b[j - 1])
                              ? 0
                              : 1;
            size_t v = p[j - 1] + cost;
            if (p[j] + 1 < v) v = p[j] + 1;
            if (c[j - 1] + 1 < v) v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
            if (v < best) best = v;
        }
        if (best > limit) {
            free(rows);
            return limit + 1;
        }
        size_t *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    size_t d = p[m];
    free(rows);
    return d;
}

/* One edit per three characters, at most three: `blance` for `balance`,
 * `acount_not_found` for `account_not_found`, never `id` for `at`. */
static size_t limit_for(const char *name) {
    size_t n = strlen(name) / 3;
    return n < 1 ? 1 : n > 3 ? 3 : n;
}

int agg_near_miss(const char *name, const char *cand) {
    if (strcmp(name, cand) == 0) return 0;
    size_t lim = limit_for(name);
    if (strlen(name) < 3 && strlen(cand) < 3) return 0;
    return agg_edit_distance(name, cand, lim) <= lim;
}

/* The best candidate so far. */
typedef struct best {
    const char *name;
    agg_loc loc;
    size_t dist;
} best;

static void consider(best *b, const char *name, const char *cand, agg_loc loc) {
    if (!cand || strcmp(name, cand) == 0) return;
    size_t lim = limit_for(name);
    if (strlen(name) < 3 && strlen(cand) < 3) return;
    size_t d = agg_edit_distance(name, cand, lim);
    if (d <= lim && (!b->name || d < b->dist)) {
        b->name = cand;
        b->loc = loc;
        b->dist = d;
    }
}

static void say(agg_diag *d, const best *b, const char *prefix) {
    if (b->name) agg_note(d, b->loc, "did you mean '%s%s'?", prefix, b->name);
}

void agg_suggest_field(agg_diag *d, const char *name, const agg_field *fields,
                       const char *prefix) {
    best b = {0};
    for (const agg_field *f = fields; f; f = f->next) consider(&b, name, f->name, f->loc);
    say(d, &b, prefix);
}

int agg_suggest_enum_member(agg_diag *d, const char *name, const agg_enum *enums) {
    for (const agg_enum *e = enums; e; e = e->next)
        for (const agg_enum_member *m = e->members; m; m = m->next)
            if (strcmp(m->name, name) == 0) {
                agg_note(d, m->loc, "did you mean '%s.%s'? enum members are written "
                                    "with their enum's name",
                         e->name, m->name);
                return 1;
            }
    return 0;
}

void agg_suggest_member(agg_diag *d, const char *name, const agg_enum *e) {
    best b = {0};
    for (const agg_enum_member *m = e->members; m; m = m->next)
        consider(&b, name, m->name, m->loc);
    if (b.name) agg_note(d, b.loc, "did you mean '%s.%s'?", e->name, b.name);
}

void agg_suggest_enum(agg_diag *d, const char *name, const agg_enum *enums) {
    static const agg_loc none = {0};
    best b = {0};
    consider(&b, name, "command", none);
    consider(&b, name, "event", none);
    consider(&b, name, "state", none);
    for (const agg_enum *e = enums; e; e = e->next) consider(&b, name, e->name, e->loc);
    say(d, &b, "");
}

static void suggest_message(agg_diag *d, const char *name, const agg_aggregate *all,
                            const agg_aggregate *prefer, int events) {
    best b = {0};
    for (int pass = 0; pass < 2; pass++) {
        for (const agg_aggregate *g = all; g; g = g->next) {
            if ((g == prefer) != (pass == 0)) continue;
            if (events)
                for (const agg_event *m = g->events; m; m = m->next)
                    consider(&b, name, m->name, m->loc);
            else
                for (const agg_command *m = g->commands; m; m = m->next)
                    consider(&b, name, m->name, m->loc);
        }
        if (b.name) break; /* the preferred aggregate's own name wins */
    }
    say(d, &b, "");
}

void agg_suggest_command(agg_diag *d, const char *name, const agg_aggregate *all,
                         const agg_aggregate *prefer) {
    suggest_message(d, name, all, prefer, 0);
}

void agg_suggest_event(agg_diag *d, const char *name, const agg_aggregate *all,
                       const agg_aggregate *prefer) {
    suggest_message(d, name, all, prefer, 1);
}

void agg_suggest_type(agg_diag *d, const char *name, const agg_enum *enums) {
    static const char *const builtin[] = {"int", "float", "bool", "string", "timestamp"};
    static const agg_loc none = {0};
    best b = {0};
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        consider(&b, name, builtin[i], none);
    for (const agg_enum *e = enums; e; e = e->next) consider(&b, name, e->name, e->loc);
    say(d, &b, "");
}
