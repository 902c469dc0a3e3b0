/* domain.c - name lookups in a domain's descriptor tables.
 *
 * aggc sorts the domain-wide command, event and projection tables by name
 * (strcmp order), so these are binary searches; the per-aggregate tables are
 * short and searched linearly. */
#include <stdlib.h>
#include <string.h>

#include <incident/domain.h>

static int cmp_message(const void *key, const void *elem) {
    const inc_message_desc *const *m = elem;
    return strcmp((const char *)key, (*m)->name);
}

static int cmp_projection(const void *key, const void *elem) {
    const inc_projection_desc *const *p = elem;
    return strcmp((const char *)key, (*p)->name);
}

static const inc_message_desc *
find_message(const inc_message_desc *const *table, size_t n, const char *name) {
    const inc_message_desc *const *hit;
    /* bsearch's base must not be NULL, even for n == 0. */
    if (!table || n == 0 || !name) return NULL;
    hit = bsearch(name, table, n, sizeof *table, cmp_message);
    return hit ? *hit : NULL;
}

const inc_message_desc *inc_domain_command(const inc_domain *d,
                                           const char *name) {
    return d ? find_message(d->commands, d->n_commands, name) : NULL;
}

const inc_message_desc *inc_domain_event(const inc_domain *d,
                                         const char *name) {
    return d ? find_message(d->events, d->n_events, name) : NULL;
}

const inc_projection_desc *inc_domain_projection(const inc_domain *d,
                                                 const char *name) {
    const inc_projection_desc *const *hit;
    if (!d || !d->projections || d->n_projections == 0 || !name) return NULL;
    hit = bsearch(name, d->projections, d->n_projections,
                  sizeof *d->projections, cmp_projection);
    return hit ? *hit : NULL;
}

const inc_aggregate_desc *inc_domain_aggregate(const inc_domain *d,
                                               const char *name) {
    size_t i;
    if (!d || !name) return NULL;
    for (i = 0; i < d->n_aggregates; i++)
        if (strcmp(d->aggregates[i]->name, name) == 0) return d->aggregates[i];
    return NULL;
}

const inc_message_desc *inc_aggregate_event(const inc_aggregate_desc *a,
                                            const char *name) {
    size_t i;
    if (!a || !name) return NULL;
    for (i = 0; i < a->n_events; i++)
        if (strcmp(a->events[i]->name, name) == 0) return a->events[i];
    return NULL;
}
