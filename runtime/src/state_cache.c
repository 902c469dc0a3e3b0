/* state_cache.c - see state_cache.h.  A chained hash table (buckets a
 * power of two, at least twice the capacity) threaded on a doubly linked
 * least-recently-used list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <incident/gen.h>

#include "state_cache.h"

typedef struct entry {
    struct entry *chain;       /* next in the bucket */
    struct entry *newer, *older;
    const inc_aggregate_desc *a;
    uint64_t hash;
    void *state;
    char last_event_id[INC_UUID_TEXT_SIZE];
    char id[]; /* NUL-terminated */
} entry;

struct incx_state_cache {
    size_t capacity, count, n_buckets;
    entry **buckets;
    entry *newest, *oldest;
};

static uint64_t key_hash(const inc_aggregate_desc *a, const char *id) {
    uint64_t h = 1469598103934665603u ^ (uint64_t)(uintptr_t)a;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h ^ (h >> 29);
}

static void entry_free(entry *e) {
    if (e->state) {
        inc_msg_free(e->a->state, e->state);
        free(e->state);
    }
    free(e);
}

static void clear(incx_state_cache *c) {
    for (entry *e = c->newest, *next; e; e = next) {
        next = e->older;
        entry_free(e);
    }
    free(c->buckets);
    c->buckets = NULL;
    c->n_buckets = c->count = 0;
    c->newest = c->oldest = NULL;
}

incx_state_cache *incx_state_cache_new(size_t capacity) {
    incx_state_cache *c = calloc(1, sizeof *c);
    if (c) c->capacity = capacity;
    return c;
}

void incx_state_cache_free(incx_state_cache *c) {
    if (!c) return;
    clear(c);
    free(c);
}

void incx_state_cache_resize(incx_state_cache *c, size_t capacity) {
    clear(c);
    c->capacity = capacity;
}

/* The link that points at (a, id)'s entry, or at the bucket's NULL end. */
static entry **find(incx_state_cache *c, const inc_aggregate_desc *a,
                    const char *id, uint64_t h) {
    entry **p = &c->buckets[h & (c->n_buckets - 1)];
    while (*p && !((*p)->hash == h && (*p)->a == a && strcmp((*p)->id, id) == 0))
        p = &(*p)->chain;
    return p;
}

static void lru_unlink(incx_state_cache *c, entry *e) {
    if (e->newer) e->newer->older = e->older;
    else c->newest = e->older;
    if (e->older) e->older->newer = e->newer;
    else c->oldest = e->newer;
    e->newer = e->older = NULL;
}

/* Unlink e from both structures (not freed). */
static void detach(incx_state_cache *c, entry *e) {
    entry **p = find(c, e->a, e->id, e->hash);
    *p = e->chain;
    lru_unlink(c, e);
    c->count--;
}

void *incx_state_cache_take(incx_state_cache *c, const inc_aggregate_desc *a,
                            const char *id,
                            char last_event_id[INC_UUID_TEXT_SIZE]) {
    if (!c || c->count == 0) return NULL;
    uint64_t h = key_hash(a, id);
    entry *e = *find(c, a, id, h);
    if (!e) return NULL;
    detach(c, e);
    void *state = e->state;
    memcpy(last_event_id, e->last_event_id, INC_UUID_TEXT_SIZE);
    e->state = NULL;
    entry_free(e);
    return state;
}

static void drop_state(const inc_aggregate_desc *a, void *state) {
    inc_msg_free(a->state, state);
    free(state);
}

void incx_state_cache_put(incx_state_cache *c, const inc_aggregate_desc *a,
                          const char *id, void *state,
                          const char *last_event_id) {
    if (!state) return;
    if (!c || c->capacity == 0 || strlen(last_event_id) != INC_UUID_TEXT_SIZE - 1) {
        drop_state(a, state);
        return;
    }
    if (!c->buckets) {
        size_t n = 16;
        while (n < 2 * c->capacity && n < ((size_t)1 << 30)) n *= 2;
        if (!(c->buckets = calloc(n, sizeof *c->buckets))) {
            drop_state(a, state);
            return;
        }
        c->n_buckets = n;
    }
    uint64_t h = key_hash(a, id);
    entry **p = find(c, a, id, h);
    if (*p) { /* not expected (entries are taken first); the newer wins */
        entry *old = *p;
        detach(c, old);
        entry_free(old);
        p = find(c, a, id, h);
    }
    size_t len = strlen(id);
    entry *e = malloc(sizeof *e + len + 1);
    if (!e) {
        drop_state(a, state);
        return;
    }
    memset(e, 0, sizeof *e);
    memcpy(e->id, id, len + 1);
    e->a = a;
    e->hash = h;
    e->state = state;
    memcpy(e->last_event_id, last_event_id, INC_UUID_TEXT_SIZE);
    e->chain = *p;
    *p = e;
    e->older = c->newest;
    if (c->newest) c->newest->newer = e;
    c->newest = e;
    if (!c->oldest) c->oldest = e;
    if (++c->count > c->capacity) {
        entry *victim = c->oldest;
        detach(c, victim);
        entry_free(victim);
    }
}
