/* mem_store.c - the in-memory event + projection store.
 *
 * Same observable behaviour as the PostgreSQL store (same conflicts, same
 * all-or-nothing commits, same ordering rules, same validation of what
 * PostgreSQL would refuse), so domain logic can be unit-tested without a
 * server.  Every commit first reserves all the memory it needs and only then
 * links the new data in, so an out-of-memory failure leaves nothing behind.
 * Not thread-safe: one store per thread (like a PostgreSQL connection). */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <incident/store.h>
#include <incident/subscription.h>

#include "internal.h"
#include "store_util.h"

/* ---- a small open-addressing map from byte strings to pointers ---- */

typedef struct smap_entry {
    const char *key; /* borrowed from the value; NULL = empty slot */
    size_t klen;
    uint64_t hash;
    void *value;
} smap_entry;

typedef struct smap {
    size_t n, cap; /* cap is 0 or a power of two */
    smap_entry *e;
} smap;

static uint64_t fnv1a(const char *k, size_t n) {
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211u;
    }
    return h;
}

static smap_entry *smap_slot(const smap *m, const char *k, size_t klen,
                             uint64_t h) {
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        smap_entry *e = &m->e[i];
        if (!e->key) return e;
        if (e->hash == h && e->klen == klen && memcmp(e->key, k, klen) == 0)
            return e;
    }
}

static void *smap_get(const smap *m, const char *k, size_t klen) {
    if (m->cap == 0) return NULL;
    smap_entry *e = smap_slot(m, k, klen, fnv1a(k, klen));
    return e->key ? e->value : NULL;
}

/* Make room for `extra` more keys without further allocation. */
static int smap_reserve(smap *m, size_t extra) {
    size_t want = m->n + extra, cap = m->cap ? m->cap : 16;
    while (want * 2 > cap) cap *= 2; /* load factor <= 1/2 */
    if (cap == m->cap) return 0;
    smap_entry *e = calloc(cap, sizeof *e);
    if (!e) return -1;
    smap old = *m;
    m->e = e;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.e[i].key)
            *smap_slot(m, old.e[i].key, old.e[i].klen, old.e[i].hash) =
                old.e[i];
    free(old.e);
    return 0;
}

/* The key must live as long as the entry (it is not copied) and room
 * must have been reserved, so this cannot fail. */
static void smap_put_reserved(smap *m, const char *k, size_t klen, void *v) {
    uint64_t h = fnv1a(k, klen);
    smap_entry *e = smap_slot(m, k, klen, h);
    if (!e->key) {
        e->key = k;
        e->klen = klen;
        e->hash = h;
        m->n++;
    }
    e->value = v;
}

static void smap_free(smap *m, void (*free_value)(void *)) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].key && free_value) free_value(m->e[i].value);
    free(m->e);
    memset(m, 0, sizeof *m);
}

/* ---- data ---- */

typedef struct mem_event {
    int64_t position;
    char event_id[INC_UUID_TEXT_SIZE];
    char *aggregate_type, *aggregate_id, *event_type, *data, *metadata;
    int64_t version;
    inc_timestamp event_date;
    unsigned schema_version; /* as written: 0 is stored as 1 */
} mem_event;

typedef struct mem_stream {
    char *key; /* "type\0id": the map key */
    size_t klen;
    const char *id; /* points into key */
    size_t n, cap;
    size_t *log_index; /* version v is log[log_index[v - 1]] */
    char *snapshot;    /* NULL: none */
    int64_t snapshot_version;
    uint64_t snapshot_hash;
} mem_stream;

typedef struct mem_row {
    char *id;
    void *row; /* projection->row struct */
    /* the row descriptor that wrote it: another build of the domain in the
     * same process (tests) may have another, and freeing or reading the
     * row through the wrong one would misread it */
    const inc_message_desc *desc;
    inc_row_meta meta;
} mem_row;

typedef struct mem_projection {
    const inc_projection_desc *p; /* the descriptor that last wrote it */
    char *name;
    size_t n, cap;
    mem_row *rows; /* sorted by id (byte order) */
} mem_projection;

typedef struct mem_store {
    inc_store base;
    size_t n_log, cap_log;
    mem_event **log; /* position p is log[p - 1] */
    smap streams;    /* "type\0id" -> mem_stream */
    smap event_ids;  /* event_id -> (void *)1 */
    size_t n_proj, cap_proj;
    mem_projection **proj;
    size_t n_cons;                /* consumers' checkpoints (log block) */
    struct mem_consumer *cons;
    smap commands;   /* command id -> mem_command */
} mem_store;

static void mem_log_free(mem_store *s);

static void event_free(mem_event *e) {
    if (!e) return;
    free(e->aggregate_type);
    free(e->aggregate_id);
    free(e->event_type);
    free(e->data);
    free(e->metadata);
    free(e);
}

static void stream_free(void *p) {
    mem_stream *s = p;
    if (!s) return;
    free(s->key);
    free(s->log_index);
    free(s->snapshot);
    free(s);
}

static void rows_free(const inc_projection_desc *p, mem_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(rows[i].id);
        if (rows[i].row)
            inc_msg_free(rows[i].desc ? rows[i].desc : p->row, rows[i].row);
        free(rows[i].row);
    }
    free(rows);
}

static void command_free(void *p); /* with the command ids, below */

static void mem_close(inc_store *base) {
    mem_store *s = (mem_store *)base;
    for (size_t i = 0; i < s->n_log; i++) event_free(s->log[i]);
    free(s->log);
    smap_free(&s->streams, stream_free);
    smap_free(&s->event_ids, NULL);
    smap_free(&s->commands, command_free);
    for (size_t i = 0; i < s->n_proj; i++) {
        rows_free(s->proj[i]->p, s->proj[i]->rows, s->proj[i]->n);
        free(s->proj[i]->name);
        free(s->proj[i]);
    }
    free(s->proj);
    mem_log_free(s);
    free(s);
}

/* "type\0id" as the stream key (types are identifiers; ids any text). */
static char *stream_key(const char *type, const char *id, size_t *len) {
    size_t a = strlen(type), b = strlen(id);
    char *k = malloc(a + b + 2);
    if (!k) return NULL;
    memcpy(k, type, a);
    k[a] = '\0';
    memcpy(k + a + 1, id, b + 1); /* the id stays NUL-terminated */
    *len = a + 1 + b;
    return k;
}

static mem_stream *find_stream(mem_store *s, const char *type, const char *id,
                               inc_error *err, int *oom) {
    size_t klen;
    char *k = stream_key(type, id, &klen);
    *oom = 0;
    if (!k) {
        *oom = 1;
        inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory", "out of memory");
        return NULL;
    }
    mem_stream *st = smap_get(&s->streams, k, klen);
    free(k);
    return st;
}

static mem_projection *find_proj(mem_store *s, const char *name) {
    for (size_t i = 0; i < s->n_proj; i++)
        if (strcmp(s->proj[i]->name, name) == 0) return s->proj[i];
    return NULL;
}

static void view_event(const mem_event *e, inc_stored_event *v) {
    v->position = e->position;
    memcpy(v->event_id, e->event_id, sizeof v->event_id);
    v->aggregate_type = e->aggregate_type;
    v->aggregate_id = e->aggregate_id;
    v->version = e->version;
    v->event_type = e->event_type;
    v->data = e->data;
    v->metadata = e->metadata;
    v->event_date = e->event_date;
    v->schema_version = e->schema_version;
}

static int oom(inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                         "out of memory");
}

/* ---- operations ---- */

static int mem_init(inc_store *base, const inc_domain *d, inc_error *err) {
    (void)base;
    if (d && d->abi_version != INC_ABI_VERSION)
        return inc_error_set(err, INC_ERR_INTERNAL, "abi_mismatch",
                             "domain built for ABI %u, runtime is %u",
                             d->abi_version, INC_ABI_VERSION);
    return 0; /* projections are created on first write */
}

/* A memory store lives no longer than its program, so there is nothing
 * to migrate, except when one process opens it with two builds of a
 * domain (tests): a projection written through another row descriptor is
 * emptied and reported to refill, as PostgreSQL does for a table of
 * another shape. */
static int mem_init_report(inc_store *base, const inc_domain *d,
                           inc_table_change_cb cb, void *ud, inc_error *err) {
    mem_store *s = (mem_store *)base;
    if (mem_init(base, d, err) != 0) return -1;
    if (!d) return 0;
    for (size_t i = 0; i < d->n_projections; i++) {
        const inc_projection_desc *p = d->projections[i];
        mem_projection *mp = find_proj(s, p->name);
        bool other = false;
        for (size_t k = 0; mp && k < mp->n && !other; k++)
            other = mp->rows[k].desc != p->row;
        if (!other) continue;
        rows_free(p, mp->rows, mp->n);
        mp->rows = NULL;
        mp->n = mp->cap = 0;
        mp->p = p;
        inc_table_change ch = {p, INC_TABLE_REFILL, NULL, NULL, NULL, NULL};
        if (cb && cb(ud, &ch, err) != 0) return -1;
    }
    return 0;
}

/* Deliver log entries of `st` with version > after; indexes are re-read
 * each step so a callback that commits cannot leave us on freed memory. */
static int deliver_stream(mem_store *s, mem_stream *st, int64_t after,
                          size_t n, inc_event_cb cb, void *ud,
                          inc_error *err) {
    for (size_t v = (size_t)(after > 0 ? after : 0); v < n; v++) {
        inc_stored_event ev;
        view_event(s->log[st->log_index[v]], &ev);
        if (cb(ud, &ev, err) != 0) return -1;
    }
    return 0;
}

static int mem_load(inc_store *base, const inc_aggregate_desc *a,
                    const char *id, unsigned flags, const inc_load_cbs *cbs,
                    inc_error *err) {
    mem_store *s = (mem_store *)base;
    int failed;
    if (incx_store_check_text(id, "aggregate_id", err) != 0) return -1;
    mem_stream *st = find_stream(s, a->name, id, err, &failed);
    if (failed) return -1;
    if (!st) return 0;
    size_t n = st->n;
    int64_t after = 0;
    if (st->snapshot && cbs->snapshot && !(flags & INC_LOAD_NO_SNAPSHOT) &&
        st->snapshot_hash == incx_snapshot_hash(a)) {
        char *snap = inc_strdup(st->snapshot); /* the callback may commit */
        if (!snap) return oom(err);
        after = st->snapshot_version;
        int rc = cbs->snapshot(cbs->ud, after, snap, err);
        free(snap);
        if (rc != 0) return -1;
    }
    return deliver_stream(s, st, after, n, cbs->event, cbs->ud, err);
}

static int mem_read_stream(inc_store *base, const char *type, const char *id,
                           int64_t after_version, inc_event_cb cb, void *ud,
                           inc_error *err) {
    mem_store *s = (mem_store *)base;
    int failed;
    if (incx_store_check_text(id, "aggregate_id", err) != 0) return -1;
    mem_stream *st = find_stream(s, type, id, err, &failed);
    if (failed) return -1;
    if (!st) return 0;
    return deliver_stream(s, st, after_version, st->n, cb, ud, err);
}

static int mem_read_all(inc_store *base, const char *type,
                        int64_t after_position, inc_event_cb cb, void *ud,
                        inc_error *err) {
    mem_store *s = (mem_store *)base;
    size_t n = s->n_log; /* like one SQL statement: a fixed snapshot */
    for (size_t i = (size_t)(after_position > 0 ? after_position : 0); i < n;
         i++) {
        if (type && strcmp(s->log[i]->aggregate_type, type) != 0) continue;
        inc_stored_event ev;
        view_event(s->log[i], &ev);
        if (cb(ud, &ev, err) != 0) return -1;
    }
    return 0;
}

static int valid_uuid(const char *u) {
    for (int i = 0; i < 36; i++) {
        char c = u[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return u[36] == '\0';
}

/* What PostgreSQL's jsonb would refuse. */
static int check_json(const char *text, const char *what, inc_error *err) {
    json_error_t je;
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, &je) : NULL;
    if (!j)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_json",
                             "%s is not valid JSON", what);
    json_decref(j);
    return 0;
}

static int row_index(const mem_projection *mp, const char *id, int *found) {
    size_t lo = 0, hi = mp->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(mp->rows[mid].id, id);
        if (c == 0) {
            *found = 1;
            return (int)mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return (int)lo;
}

static int grow(void **arr, size_t *cap, size_t want, size_t elem) {
    if (want <= *cap) return 0;
    size_t c = *cap ? *cap : 8;
    while (c < want) c *= 2;
    void *p = realloc(*arr, c * elem);
    if (!p) return -1;
    *arr = p;
    *cap = c;
    return 0;
}

/* Whether the stream's event at `version` (stored, or in one of the
 * commits cs[0..k) of the same stream) has id `id`. */
static bool event_there(const mem_store *s, const mem_stream *st,
                        const inc_commit *cs, size_t k, int64_t version,
                        const char *id) {
    const inc_commit *c = &cs[k];
    for (size_t j = 0; j < k; j++)
        if (strcmp(cs[j].aggregate->name, c->aggregate->name) == 0 &&
            strcmp(cs[j].aggregate_id, c->aggregate_id) == 0)
            for (size_t x = 0; x < cs[j].n_events; x++)
                if (cs[j].events[x].version == version)
                    return strcmp(cs[j].events[x].event_id, id) == 0;
    if (!st || version < 1 || (uint64_t)version > st->n) return false;
    return strcmp(s->log[st->log_index[version - 1]]->event_id, id) == 0;
}

/* The checks of commit cs[k] as if cs[0..k) were committed before it (a
 * commit alone: k = 0), in the order PostgreSQL would hit them.  So
 * mem_commit_many can make every check for the whole list first and the
 * commits that follow can only fail for lack of memory (then the earlier
 * ones of the list stay: the one exception). */
static int check_commit(mem_store *s, const inc_commit *cs, size_t k,
                             inc_error *err) {
    const inc_commit *c = &cs[k];
    const char *type = c->aggregate->name;
    int failed;
    if (incx_store_check_text(c->aggregate_id, "aggregate_id", err) != 0)
        return -1;
    mem_stream *st = find_stream(s, type, c->aggregate_id, err, &failed);
    if (failed) return -1;
    int64_t current = st ? (int64_t)st->n : 0;
    for (size_t j = 0; j < k; j++)
        if (strcmp(cs[j].aggregate->name, type) == 0 &&
            strcmp(cs[j].aggregate_id, c->aggregate_id) == 0)
            current += (int64_t)cs[j].n_events;
    if (c->n_events && c->expect_event_id && !valid_uuid(c->expect_event_id))
        return inc_error_set(err, INC_ERR_INVALID, "invalid_uuid",
                             "expect_event_id is not a UUID");
    if (c->n_events && c->expect_event_id &&
        !event_there(s, st, cs, k, c->events[0].version - 1, c->expect_event_id))
        return inc_error_set(err, INC_ERR_CONFLICT, "conflict",
                             "%s %s changed: version %lld is not event %s",
                             type, c->aggregate_id,
                             (long long)(c->events[0].version - 1),
                             c->expect_event_id);
    for (size_t i = 0; i < c->n_events; i++) {
        const inc_stored_event *e = &c->events[i];
        if (e->version <= 0)
            return inc_error_set(err, INC_ERR_INTERNAL, "bad_version",
                                 "event version %lld is not positive",
                                 (long long)e->version);
        if (e->version <= current + (int64_t)i)
            return inc_error_set(err, INC_ERR_CONFLICT, "conflict",
                                 "version %lld of %s %s already exists",
                                 (long long)e->version, type, c->aggregate_id);
        if (e->version != current + 1 + (int64_t)i)
            return inc_error_set(err, INC_ERR_INTERNAL, "version_gap",
                                 "version %lld would leave a gap after %lld",
                                 (long long)e->version,
                                 (long long)(current + (int64_t)i));
        if (!valid_uuid(e->event_id))
            return inc_error_set(err, INC_ERR_INVALID, "invalid_uuid",
                                 "event_id is not a UUID");
        if (smap_get(&s->event_ids, e->event_id, 36))
            return inc_error_set(err, INC_ERR_INTERNAL, "duplicate_event_id",
                                 "event_id %s already exists", e->event_id);
        for (size_t j = 0; j <= k; j++)
            for (size_t x = 0; x < (j < k ? cs[j].n_events : i); x++)
                if (strcmp(cs[j].events[x].event_id, e->event_id) == 0)
                    return inc_error_set(err, INC_ERR_INTERNAL,
                                         "duplicate_event_id",
                                         "event_id %s already exists",
                                         e->event_id);
        if (!e->event_type || !*e->event_type)
            return inc_error_set(err, INC_ERR_INTERNAL, "no_event_type",
                                 "event without a type");
        if (check_json(e->data, "event data", err) != 0 ||
            check_json(e->metadata ? e->metadata : "{}", "event metadata",
                       err) != 0)
            return -1;
    }
    if (c->snapshot_json && check_json(c->snapshot_json, "snapshot", err) != 0)
        return -1;
    return 0;
}

/* A commit's copies, all allocated before anything is linked into the
 * store, so a failure leaves the store as it was. */
typedef struct staged {
    size_t n;                  /* events */
    mem_event **evs;
    mem_stream *new_stream;    /* when the stream is new */
    mem_stream *target;        /* the stream the events join */
    char *snap;
    mem_row *new_rows;         /* per c->rows[i] */
    mem_projection **new_proj; /* projections seen for the first time */
    size_t n_new_proj;
} staged;

static void staged_free(const inc_commit *c, staged *g) {
    if (g->evs)
        for (size_t i = 0; i < g->n; i++) event_free(g->evs[i]);
    free(g->evs);
    if (g->new_stream) stream_free(g->new_stream);
    free(g->snap);
    if (g->new_rows)
        for (size_t i = 0; i < c->n_rows; i++) {
            free(g->new_rows[i].id);
            if (g->new_rows[i].row) {
                inc_msg_free(c->rows[i].projection->row, g->new_rows[i].row);
                free(g->new_rows[i].row);
            }
        }
    free(g->new_rows);
    if (g->new_proj)
        for (size_t i = 0; i < c->n_rows && g->new_proj[i]; i++) {
            free(g->new_proj[i]->rows);
            free(g->new_proj[i]->name);
            free(g->new_proj[i]);
        }
    free(g->new_proj);
}

/* Copies of the events, the new stream if any, room in the logs and
 * maps, the snapshot. */
static int stage_events(mem_store *s, const inc_commit *c, mem_stream *st,
                        staged *g, inc_error *err) {
    const char *type = c->aggregate->name;
    for (size_t i = 0; i < g->n; i++) {
        const inc_stored_event *e = &c->events[i];
        mem_event *m = calloc(1, sizeof *m);
        if (!m) return oom(err);
        g->evs[i] = m;
        m->position = (int64_t)(s->n_log + i + 1);
        memcpy(m->event_id, e->event_id, INC_UUID_TEXT_SIZE);
        m->version = e->version;
        m->event_date = e->event_date;
        m->schema_version = incx_schema_version(e->schema_version);
        m->aggregate_type = inc_strdup(type);
        m->aggregate_id = inc_strdup(c->aggregate_id);
        m->event_type = inc_strdup(e->event_type);
        m->data = inc_strdup(e->data);
        m->metadata = inc_strdup(e->metadata ? e->metadata : "{}");
        if (!m->aggregate_type || !m->aggregate_id || !m->event_type ||
            !m->data || !m->metadata)
            return oom(err);
    }
    if (!st) {
        mem_stream *ns = g->new_stream = calloc(1, sizeof *ns);
        if (!ns) return oom(err);
        ns->key = stream_key(type, c->aggregate_id, &ns->klen);
        if (!ns->key) return oom(err);
        ns->id = ns->key + strlen(type) + 1;
    }
    mem_stream *t = g->target = st ? st : g->new_stream;
    if (grow((void **)&t->log_index, &t->cap, t->n + g->n,
             sizeof *t->log_index) != 0 ||
        grow((void **)&s->log, &s->cap_log, s->n_log + g->n, sizeof *s->log) !=
            0 ||
        smap_reserve(&s->event_ids, g->n) != 0 ||
        (g->new_stream && smap_reserve(&s->streams, 1) != 0))
        return oom(err);
    if (c->snapshot_json && !(g->snap = inc_strdup(c->snapshot_json)))
        return oom(err);
    return 0;
}

/* Projection rows: copies, and room in each projection's array. */
static int stage_rows(mem_store *s, const inc_commit *c, staged *g,
                      inc_error *err) {
    for (size_t i = 0; i < c->n_rows; i++) {
        const inc_projection_write *w = &c->rows[i];
        mem_projection *mp = find_proj(s, w->projection->name);
        for (size_t j = 0; !mp && j < g->n_new_proj; j++)
            if (strcmp(g->new_proj[j]->name, w->projection->name) == 0)
                mp = g->new_proj[j];
        if (!mp) {
            mp = calloc(1, sizeof *mp);
            if (!mp) return oom(err);
            g->new_proj[g->n_new_proj++] = mp;
            mp->p = w->projection;
            if (!(mp->name = inc_strdup(w->projection->name)))
                return oom(err);
        }
        if (grow((void **)&mp->rows, &mp->cap, mp->n + c->n_rows,
                 sizeof *mp->rows) != 0)
            return oom(err);
        mem_row *r = &g->new_rows[i];
        r->id = inc_strdup(c->aggregate_id);
        r->row = malloc(w->projection->row->size);
        r->desc = w->projection->row;
        if (!r->id || !r->row) return oom(err);
        if (inc_msg_copy(w->projection->row, r->row, w->row, err) != 0) {
            free(r->row);
            r->row = NULL;
            return -1;
        }
        r->meta = w->meta;
    }
    if (grow((void **)&s->proj, &s->cap_proj, s->n_proj + g->n_new_proj,
             sizeof *s->proj) != 0)
        return oom(err);
    return 0;
}

/* Upsert staged row i into its projection (the same guard as the SQL
 * upsert's WHERE: only a newer version replaces a row). */
static void link_row(mem_store *s, const inc_commit *c, staged *g, size_t i) {
    mem_row *nr = &g->new_rows[i];
    mem_projection *mp = find_proj(s, c->rows[i].projection->name);
    int found, at = row_index(mp, nr->id, &found);
    mp->p = c->rows[i].projection;
    if (!found) {
        memmove(&mp->rows[at + 1], &mp->rows[at],
                (mp->n - (size_t)at) * sizeof *mp->rows);
        mp->rows[at] = *nr;
        mp->n++;
        return;
    }
    mem_row *old = &mp->rows[at];
    if (old->meta.version < nr->meta.version) {
        mem_row tmp = *old;
        *old = *nr;
        *nr = tmp;
    }
    free(nr->id);
    if (nr->row) inc_msg_free(nr->desc, nr->row);
    free(nr->row);
}

/* Link what was staged into the store (cannot fail). */
static void link_commit(mem_store *s, const inc_commit *c, staged *g) {
    mem_stream *t = g->target;
    if (g->new_stream)
        smap_put_reserved(&s->streams, g->new_stream->key, g->new_stream->klen,
                          g->new_stream);
    for (size_t i = 0; i < g->n; i++) {
        if (c->positions) c->positions[i] = g->evs[i]->position;
        smap_put_reserved(&s->event_ids, g->evs[i]->event_id, 36, (void *)1);
        s->log[s->n_log] = g->evs[i];
        t->log_index[t->n++] = s->n_log++;
    }
    if (g->snap) {
        if (!t->snapshot || t->snapshot_version < c->snapshot_version ||
            t->snapshot_hash != incx_snapshot_hash(c->aggregate)) {
            free(t->snapshot);
            t->snapshot = g->snap;
            t->snapshot_version = c->snapshot_version;
            t->snapshot_hash = incx_snapshot_hash(c->aggregate);
        } else {
            free(g->snap);
        }
    }
    for (size_t i = 0; i < g->n_new_proj; i++)
        s->proj[s->n_proj++] = g->new_proj[i];
    for (size_t i = 0; i < c->n_rows; i++) link_row(s, c, g, i);
}

/* ---- command ids (inc_commit.command_id) ---- */

typedef struct mem_command {
    char *id, *type, *payload, *aggregate_type, *aggregate_id;
    char *rejection; /* NULL: committed */
    int64_t first_version, n_events;
    inc_timestamp recorded_at;
} mem_command;

static void command_free(void *p) {
    mem_command *m = p;
    if (!m) return;
    free(m->id);
    free(m->type);
    free(m->payload);
    free(m->aggregate_type);
    free(m->aggregate_id);
    free(m->rejection);
    free(m);
}

/* The record commit c adds (NULL in *out without a command id), made
 * before anything is linked so that linking it cannot fail; the id taken
 * already is a conflict, as PostgreSQL's primary key makes it. */
static int command_stage(mem_store *s, const inc_commit *c, mem_command **out,
                         inc_error *err) {
    *out = NULL;
    if (!c->command_id) return 0;
    if (incx_store_check_text(c->command_id, "command_id", err) != 0 ||
        incx_store_check_text(c->command_type, "command_type", err) != 0 ||
        incx_store_check_text(c->command_payload, "command_payload", err) != 0 ||
        (c->command_rejection &&
         incx_store_check_text(c->command_rejection, "command_rejection",
                               err) != 0))
        return -1;
    if (smap_get(&s->commands, c->command_id, strlen(c->command_id)))
        return inc_error_set(err, INC_ERR_CONFLICT, "command_id_exists",
                             "commit: command id already recorded");
    mem_command *m = calloc(1, sizeof *m);
    if (!m || !(m->id = inc_strdup(c->command_id)) ||
        !(m->type = inc_strdup(c->command_type)) ||
        !(m->payload = inc_strdup(c->command_payload)) ||
        !(m->aggregate_type = inc_strdup(c->aggregate->name)) ||
        !(m->aggregate_id = inc_strdup(c->aggregate_id)) ||
        (c->command_rejection &&
         !(m->rejection = inc_strdup(c->command_rejection))) ||
        smap_reserve(&s->commands, 1) != 0) {
        command_free(m);
        return oom(err);
    }
    m->first_version = c->n_events ? c->events[0].version : 0;
    m->n_events = (int64_t)c->n_events;
    m->recorded_at = inc_timestamp_now();
    *out = m;
    return 0;
}

static void command_link(mem_store *s, mem_command *m) {
    if (m) smap_put_reserved(&s->commands, m->id, strlen(m->id), m);
}

static int mem_command_get(inc_store *base, const char *command_id,
                           inc_command_cb cb, void *ud, bool *found,
                           inc_error *err) {
    mem_store *s = (mem_store *)base;
    *found = false;
    if (incx_store_check_text(command_id, "command_id", err) != 0) return -1;
    const mem_command *m =
        smap_get(&s->commands, command_id, strlen(command_id));
    if (!m) return 0;
    *found = true;
    inc_command_record r = {m->id, m->type, m->payload, m->aggregate_type,
                            m->aggregate_id, m->first_version, m->n_events,
                            m->recorded_at, m->rejection};
    return cb(ud, &r, err);
}

/* The map has no deletion: the kept records move to a new one. */
static int mem_prune_command_ids(inc_store *base, inc_timestamp older_than,
                                 int64_t *n_pruned, inc_error *err) {
    mem_store *s = (mem_store *)base;
    smap kept;
    memset(&kept, 0, sizeof kept);
    if (smap_reserve(&kept, s->commands.n) != 0) return oom(err);
    int64_t n = 0;
    for (size_t i = 0; i < s->commands.cap; i++) {
        mem_command *m = s->commands.e[i].value;
        if (!s->commands.e[i].key) continue;
        if (m->recorded_at < older_than) {
            command_free(m);
            n++;
        } else {
            smap_put_reserved(&kept, m->id, strlen(m->id), m);
        }
    }
    smap_free(&s->commands, NULL);
    s->commands = kept;
    if (n_pruned) *n_pruned = n;
    return 0;
}

static int mem_commit(inc_store *base, const inc_commit *c, inc_error *err) {
    mem_store *s = (mem_store *)base;
    mem_command *cmd;
    if (c->n_events == 0 && !c->command_id) return 0;
    if (incx_store_check_text(c->aggregate_id, "aggregate_id", err) != 0)
        return -1;
    /* 1. Checks, in the order PostgreSQL would hit them (the command id
     * is recorded first). */
    if (command_stage(s, c, &cmd, err) != 0) return -1;
    if (c->n_events == 0) {
        command_link(s, cmd);
        return 0;
    }
    int failed;
    if (check_commit(s, c, 0, err) != 0) {
        command_free(cmd);
        return -1;
    }
    mem_stream *st = find_stream(s, c->aggregate->name, c->aggregate_id, err,
                                 &failed);
    if (failed) {
        command_free(cmd);
        return -1;
    }
    /* 2. Allocate everything. */
    staged g;
    memset(&g, 0, sizeof g);
    g.n = c->n_events;
    g.evs = calloc(g.n, sizeof *g.evs);
    g.new_rows = calloc(c->n_rows ? c->n_rows : 1, sizeof *g.new_rows);
    g.new_proj = calloc(c->n_rows ? c->n_rows : 1, sizeof *g.new_proj);
    if (!g.evs || !g.new_rows || !g.new_proj) {
        staged_free(c, &g);
        command_free(cmd);
        return oom(err);
    }
    if (stage_events(s, c, st, &g, err) != 0 || stage_rows(s, c, &g, err) != 0) {
        staged_free(c, &g);
        command_free(cmd);
        return -1;
    }
    /* 3. Link (cannot fail from here on); what is left of g is freed. */
    link_commit(s, c, &g);
    command_link(s, cmd);
    free(g.new_rows);
    free(g.new_proj);
    free(g.evs);
    return 0;
}

/* A row written through another row descriptor (another build of the
 * domain), as PostgreSQL refuses a table of another shape. */
static int stale_row(const inc_projection_desc *p, inc_error *err) {
    return inc_error_set(err, INC_ERR_INTERNAL, "stale_projection",
                         "projection %s was written by another version of "
                         "the domain (run `init`)",
                         p->name);
}

static int mem_projection_get(inc_store *base, const inc_projection_desc *p,
                              const char *id, inc_row_cb cb, void *ud,
                              bool *found, inc_error *err) {
    mem_store *s = (mem_store *)base;
    *found = false;
    if (incx_store_check_text(id, "aggregate_id", err) != 0) return -1;
    mem_projection *mp = find_proj(s, p->name);
    if (!mp) return 0;
    int hit, at = row_index(mp, id, &hit);
    if (!hit) return 0;
    if (mp->rows[at].desc != p->row) return stale_row(p, err);
    *found = true;
    /* Copy: the callback may commit and move the rows. */
    void *row = malloc(p->row->size);
    if (!row) return oom(err);
    inc_row_meta meta = mp->rows[at].meta;
    if (inc_msg_copy(p->row, row, mp->rows[at].row, err) != 0) {
        free(row);
        return -1;
    }
    int rc = cb(ud, row, &meta, err);
    inc_msg_free(p->row, row);
    free(row);
    return rc;
}

static int mem_projection_list(inc_store *base, const inc_projection_desc *p,
                               inc_row_cb cb, void *ud, inc_error *err) {
    mem_store *s = (mem_store *)base;
    mem_projection *mp = find_proj(s, p->name);
    if (!mp) return 0;
    for (size_t i = 0; i < mp->n; i++) {
        if (mp->rows[i].desc != p->row) return stale_row(p, err);
        if (cb(ud, mp->rows[i].row, &mp->rows[i].meta, err) != 0) return -1;
    }
    return 0;
}

typedef struct stream_ref {
    const char *id;
    mem_stream *st;
} stream_ref;

static int cmp_ref(const void *a, const void *b) {
    return strcmp(((const stream_ref *)a)->id, ((const stream_ref *)b)->id);
}

static int mem_rebuild(inc_store *base, const inc_projection_desc *p,
                       const inc_rebuild_cbs *cbs, inc_error *err) {
    mem_store *s = (mem_store *)base;
    const char *type = p->aggregate->name;
    size_t tlen = strlen(type), n_refs = 0;
    int64_t total = 0, done = 0;
    stream_ref *refs = calloc(s->streams.n ? s->streams.n : 1, sizeof *refs);
    mem_row *rows = NULL;
    size_t n_rows = 0, cap_rows = 0;
    if (!refs) return oom(err);
    for (size_t i = 0; i < s->streams.cap; i++) {
        const smap_entry *e = &s->streams.e[i];
        if (!e->key || e->klen <= tlen || memcmp(e->key, type, tlen) != 0 ||
            e->key[tlen] != '\0')
            continue;
        refs[n_refs].st = e->value;
        refs[n_refs].id = refs[n_refs].st->id;
        total += (int64_t)refs[n_refs].st->n;
        n_refs++;
    }
    qsort(refs, n_refs, sizeof *refs, cmp_ref);
    if (cbs->progress) cbs->progress(cbs->ud, 0, total);
    for (size_t i = 0; i < n_refs; i++) {
        mem_stream *st = refs[i].st;
        size_t n = st->n;
        for (size_t v = 0; v < n; v++) {
            inc_stored_event ev;
            view_event(s->log[st->log_index[v]], &ev);
            if (cbs->event(cbs->ud, &ev, err) != 0) goto fail;
            done++;
        }
        if (n == 0) continue;
        if (grow((void **)&rows, &cap_rows, n_rows + 1, sizeof *rows) != 0)
            goto nomem;
        mem_row *r = &rows[n_rows];
        memset(r, 0, sizeof *r);
        r->row = malloc(p->row->size);
        r->desc = p->row;
        if (!r->row) goto nomem;
        inc_msg_init(p->row, r->row);
        int rc = cbs->row(cbs->ud, r->row, &r->meta, err);
        if (rc < 0 || (rc == 1 && !(r->id = inc_strdup(refs[i].id)))) {
            inc_msg_free(p->row, r->row);
            free(r->row);
            r->row = NULL;
            if (rc < 0) goto fail;
            goto nomem;
        }
        if (rc == 0) {
            inc_msg_free(p->row, r->row);
            free(r->row);
            continue;
        }
        n_rows++;
        if (cbs->progress) cbs->progress(cbs->ud, done, total);
    }
    if (cbs->progress) cbs->progress(cbs->ud, done, total);
    /* Swap in the new rows (the "commit"). */
    mem_projection *mp = find_proj(s, p->name);
    if (!mp) {
        if (grow((void **)&s->proj, &s->cap_proj, s->n_proj + 1,
                 sizeof *s->proj) != 0 ||
            !(mp = calloc(1, sizeof *mp)))
            goto nomem;
        if (!(mp->name = inc_strdup(p->name))) {
            free(mp);
            goto nomem;
        }
        s->proj[s->n_proj++] = mp;
    }
    rows_free(mp->p ? mp->p : p, mp->rows, mp->n);
    mp->p = p;
    mp->rows = rows;
    mp->n = n_rows;
    mp->cap = cap_rows;
    free(refs);
    return 0;
nomem:
    oom(err);
fail:
    rows_free(p, rows, n_rows);
    free(refs);
    return -1;
}

static int mem_commit_many(inc_store *base, const inc_commit *cs, size_t n,
                           size_t *failed, inc_error *err) {
    mem_store *s = (mem_store *)base;
    if (failed) *failed = n;
    for (size_t k = 0; k < n; k++)
        if (cs[k].command_id) {
            if (failed) *failed = k;
            return inc_error_set(err, INC_ERR_INVALID, "unsupported",
                                 "commit_many: commits carry no command id");
        }
    for (size_t k = 0; k < n; k++)
        if (cs[k].n_events && check_commit(s, cs, k, err) != 0) {
            if (failed) *failed = k;
            return -1;
        }
    for (size_t k = 0; k < n; k++)
        if (mem_commit(base, &cs[k], err) != 0) {
            if (failed) *failed = k;
            return -1;
        }
    return 0;
}

/* ---- subscriptions (<incident/subscription.h>) ----
 * The log is the commit order already (commits are applied one at a time),
 * so an event's transaction id here is its position.  Checkpoints live in
 * the store like everything else; there is no SQL to run (exec is
 * unsupported) and nothing to wait for but time. */

typedef struct mem_consumer {
    char *name;
    unsigned member, group_size;
    inc_log_position cp;
    inc_timestamp updated_at;
} mem_consumer;

typedef struct mem_log {
    mem_store *s;
} mem_log;

static void mem_log_free(mem_store *s) {
    for (size_t i = 0; i < s->n_cons; i++) free(s->cons[i].name);
    free(s->cons);
}

static inc_log_session *mem_log_open(inc_store *base, inc_error *err) {
    mem_log *l = malloc(sizeof *l);
    if (!l) {
        oom(err);
        return NULL;
    }
    l->s = (mem_store *)base;
    return (inc_log_session *)l;
}

static void mem_log_close(inc_log_session *ls) { free(ls); }

static bool name_in(const char *v, const char *const *set, size_t n) {
    if (n == 0) return true;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, set[i]) == 0) return true;
    return false;
}

/* The group member of a stream: FNV-1a of "type/id" modulo the size. */
static unsigned mem_member(const mem_event *e, unsigned size) {
    uint64_t h = fnv1a(e->aggregate_type, strlen(e->aggregate_type));
    h ^= '/';
    h *= 1099511628211u;
    for (const char *c = e->aggregate_id; *c; c++) {
        h ^= (unsigned char)*c;
        h *= 1099511628211u;
    }
    return (unsigned)(h % size);
}

static int mem_log_read(inc_log_session *ls, const inc_log_query *q,
                        inc_log_cb cb, void *ud, inc_log_position *scanned,
                        inc_error *err) {
    mem_store *s = ((mem_log *)ls)->s;
    size_t n = s->n_log, delivered = 0; /* a fixed snapshot, as in SQL */
    *scanned = q->after;
    for (size_t i = (size_t)(q->after.position > 0 ? q->after.position : 0);
         i < n && delivered < q->limit; i++) {
        const mem_event *e = s->log[i]; /* re-read: a callback may commit */
        if (!name_in(e->aggregate_type, q->aggregate_types,
                     q->n_aggregate_types) ||
            !name_in(e->event_type, q->event_types, q->n_event_types) ||
            (q->group_size > 1 &&
             mem_member(e, q->group_size) != q->group_member))
            continue;
        inc_stored_event ev;
        view_event(e, &ev);
        inc_log_position at = {(uint64_t)e->position, e->position};
        if (cb(ud, &ev, &at, err) != 0) return -1;
        *scanned = at;
        delivered++;
    }
    if (delivered < q->limit && (int64_t)n > scanned->position)
        *scanned = (inc_log_position){(uint64_t)n, (int64_t)n};
    return 0;
}

static mem_consumer *mem_find_consumer(mem_store *s, const char *name,
                                       unsigned member) {
    for (size_t i = 0; i < s->n_cons; i++)
        if (s->cons[i].member == member && strcmp(s->cons[i].name, name) == 0)
            return &s->cons[i];
    return NULL;
}

static int mem_log_checkpoint(inc_log_session *ls, const char *name,
                              unsigned member, unsigned group_size,
                              inc_log_position *out, inc_error *err) {
    mem_store *s = ((mem_log *)ls)->s;
    if (incx_store_check_text(name, "consumer name", err) != 0) return -1;
    mem_consumer *c = mem_find_consumer(s, name, member);
    if (!c) {
        mem_consumer *v = realloc(s->cons, (s->n_cons + 1) * sizeof *v);
        if (!v) return oom(err);
        s->cons = v;
        c = &s->cons[s->n_cons];
        memset(c, 0, sizeof *c);
        if (!(c->name = inc_strdup(name))) return oom(err);
        c->member = member;
        c->group_size = group_size;
        c->updated_at = inc_timestamp_now();
        s->n_cons++;
    }
    if (c->group_size != group_size)
        return inc_error_set(err, INC_ERR_INVALID, "group_size",
                             "consumer %s has a group of %u, not %u", name,
                             c->group_size, group_size);
    *out = c->cp;
    return 0;
}

static int mem_log_save(inc_log_session *ls, const char *name,
                        unsigned member, const inc_log_position *from,
                        const inc_log_position *to, inc_error *err) {
    mem_consumer *c = mem_find_consumer(((mem_log *)ls)->s, name, member);
    if (!c || c->cp.transaction_id != from->transaction_id ||
        c->cp.position != from->position)
        return inc_error_set(err, INC_ERR_CONFLICT, "checkpoint_moved",
                             "consumer %s: the checkpoint was moved by "
                             "another process",
                             name);
    c->cp = *to;
    c->updated_at = inc_timestamp_now();
    return 0;
}

static int mem_log_nothing(inc_log_session *ls, inc_error *err) {
    (void)ls;
    (void)err;
    return 0;
}

static void mem_log_rollback(inc_log_session *ls) { (void)ls; }

static int mem_log_exec(inc_log_session *ls, const char *sql, int nparams,
                        const char *const *params, inc_error *err) {
    (void)ls;
    (void)sql;
    (void)nparams;
    (void)params;
    return inc_error_set(err, INC_ERR_INTERNAL, "unsupported",
                         "the memory store runs no SQL");
}

static int mem_log_wait(inc_log_session *ls, int timeout_ms, inc_error *err) {
    (void)ls;
    (void)err;
    if (timeout_ms > 0) poll(NULL, 0, timeout_ms); /* just the time */
    return 0;
}

static int mem_log_list(inc_log_session *ls, inc_consumer_info_cb cb,
                        void *ud, inc_error *err) {
    mem_store *s = ((mem_log *)ls)->s;
    /* name (byte order), then member, as PostgreSQL lists them */
    size_t n = s->n_cons;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return oom(err);
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            const mem_consumer *a = &s->cons[order[j - 1]],
                               *b = &s->cons[order[j]];
            int c = strcmp(a->name, b->name);
            if (c < 0 || (c == 0 && a->member < b->member)) break;
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const mem_consumer *c = &s->cons[order[i]];
        inc_consumer_info ci = {c->name, c->member, c->group_size, c->cp,
                                (int64_t)s->n_log - c->cp.position,
                                c->updated_at};
        if (ci.lag < 0) ci.lag = 0;
        rc = cb(ud, &ci, err);
    }
    free(order);
    return rc;
}

static int mem_log_remove(inc_log_session *ls, const char *name,
                          inc_error *err) {
    mem_store *s = ((mem_log *)ls)->s;
    if (incx_store_check_text(name, "consumer name", err) != 0) return -1;
    size_t k = 0;
    for (size_t i = 0; i < s->n_cons; i++) {
        if (strcmp(s->cons[i].name, name) == 0) {
            free(s->cons[i].name);
            continue;
        }
        s->cons[k++] = s->cons[i];
    }
    s->n_cons = k;
    return 0;
}

static const struct inc_log_ops mem_log_ops = {
    mem_log_open,     mem_log_close,   mem_log_read,    mem_log_checkpoint,
    mem_log_save,     mem_log_nothing, mem_log_nothing, mem_log_rollback,
    mem_log_exec,     mem_log_wait,    mem_log_list,    mem_log_remove,
};

static const inc_store_ops mem_ops = {
    "memory",        mem_close,          mem_init,
    mem_load,        mem_commit,         mem_read_stream,
    mem_read_all,    mem_projection_get, mem_projection_list,
    mem_rebuild,     mem_commit_many,
    NULL, /* load_many: inc_store_load_many loads one by one, nothing to save */
    mem_command_get, mem_prune_command_ids,
    &mem_log_ops,   mem_init_report,
    NULL, /* query: inc_store_query filters the listed rows (query.c) */
    NULL, /* command_get_in: command_get (one table) */
};

inc_store *inc_mem_store_open(inc_error *err) {
    mem_store *s = calloc(1, sizeof *s);
    if (!s) {
        oom(err);
        return NULL;
    }
    s->base.ops = &mem_ops;
    return &s->base;
}
