/* msg.c - generic operations on generated message structs, driven by their
 * descriptors: init, free, deep copy and structural validation.  The JSON
 * side lives in msg_json.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/domain.h>

#include "internal.h"
#include "store_util.h"

const inc_field_desc *incx_field_find(const inc_message_desc *d,
                                      const char *name) {
    size_t i;
    for (i = 0; i < d->n_fields; i++)
        if (strcmp(d->fields[i].name, name) == 0) return &d->fields[i];
    return NULL;
}

const inc_field_desc *incx_field_implicit(const inc_message_desc *d,
                                          const char *name, inc_type type) {
    const inc_field_desc *f = incx_field_find(d, name);
    if (!f || !(f->flags & INC_FIELD_IMPLICIT) || f->type != type) return NULL;
    return f;
}

/* Init cannot fail: a string default that cannot be copied (out of memory)
 * is left NULL, which inc_msg_validate reports for required fields. */
void inc_msg_init(const inc_message_desc *d, void *msg) {
    size_t i;
    if (!d || !msg) return;
    /* Zero the whole struct, padding and has_ flags included, so that
     * structs compare and hash predictably. */
    memset(msg, 0, d->size);
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        bool *has;
        if (!f->def.present) {
            /* A required record holds its own defaults; an optional one
             * starts absent (zero, owning nothing), a list empty. */
            if (f->type == INC_TYPE_RECORD &&
                !(f->flags & INC_FIELD_OPTIONAL)) {
                inc_vtype t = inc_vtype_field(f);
                if (t.rec) inc_msg_init(t.rec, INC_FIELD_AT(msg, f, char));
            }
            continue;
        }
        switch (f->type) {
        case INC_TYPE_INT:
        case INC_TYPE_TIMESTAMP:
            *INC_FIELD_AT(msg, f, int64_t) = f->def.i;
            break;
        case INC_TYPE_FLOAT:
            *INC_FIELD_AT(msg, f, double) = f->def.f;
            break;
        case INC_TYPE_BOOL:
            *INC_FIELD_AT(msg, f, bool) = f->def.i != 0;
            break;
        case INC_TYPE_ENUM:
            *INC_FIELD_AT(msg, f, int) = (int)f->def.i;
            break;
        case INC_TYPE_STRING:
            /* A `null` default of an optional string has s == NULL. */
            if (!f->def.s) continue;
            *INC_FIELD_AT(msg, f, char *) = inc_strdup(f->def.s);
            if (!*INC_FIELD_AT(msg, f, char *)) continue;
            break;
        case INC_TYPE_RECORD:
        case INC_TYPE_LIST:
            continue; /* no literal for them: empty/absent */
        }
        if ((has = inc_field_has_ptr(msg, f))) *has = true;
    }
}

int incx_list_grow(inc_list *l, size_t elem_size, bool with_has) {
    size_t cap = l->cap < l->len ? l->len : l->cap, ncap = cap;
    if (l->len >= INC_LIST_MAX_ITEMS || elem_size == 0) return -1;
    if (l->len == cap) {
        void *items;
        ncap = cap < 4 ? 4 : cap * 2;
        if (ncap > INC_LIST_MAX_ITEMS) ncap = INC_LIST_MAX_ITEMS;
        if (ncap > SIZE_MAX / elem_size) return -1;
        if (!(items = realloc(l->items, ncap * elem_size))) return -1;
        l->items = items;
    }
    if (with_has && (ncap != cap || !l->has)) {
        bool *has = realloc(l->has, ncap * sizeof *has);
        if (!has) return -1; /* items grew: harmless, cap unchanged */
        /* a hand-built list without flags: every element present */
        if (!l->has) memset(has, 1, l->len * sizeof *has);
        memset(has + l->len, 0, (ncap - l->len) * sizeof *has);
        l->has = has;
    }
    l->cap = ncap;
    return 0;
}

void incx_value_free(inc_vtype t, void *p) {
    switch (t.type) {
    case INC_TYPE_STRING:
        free(*(char **)p);
        *(char **)p = NULL;
        break;
    case INC_TYPE_RECORD:
        if (t.rec) inc_msg_free(t.rec, p);
        break;
    case INC_TYPE_LIST: {
        inc_list l = inc_list_get(p);
        if (t.list) {
            inc_vtype et = inc_vtype_elem(t.list);
            size_t es = inc_vtype_size(et), i;
            /* Only strings and records (which may hold strings and
             * lists) own memory. */
            if (l.items && es && (et.type == INC_TYPE_STRING ||
                                  et.type == INC_TYPE_RECORD))
                for (i = 0; i < l.len; i++)
                    incx_value_free(et, (char *)l.items + i * es);
        }
        free(l.items);
        free(l.has);
        memset(&l, 0, sizeof l);
        inc_list_put(p, &l);
        break;
    }
    default:
        break;
    }
}

void inc_msg_free(const inc_message_desc *d, void *msg) {
    size_t i;
    if (!d || !msg) return;
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        bool *has;
        if (f->type == INC_TYPE_STRING) {
            char **s = INC_FIELD_AT(msg, f, char *);
            free(*s);
            *s = NULL;
        } else if (f->type == INC_TYPE_RECORD || f->type == INC_TYPE_LIST) {
            incx_value_free(inc_vtype_field(f), INC_FIELD_AT(msg, f, char));
        } else {
            continue;
        }
        /* A freed optional string/record/list is absent, never "present
         * but empty". */
        if ((has = inc_field_has_ptr(msg, f))) *has = false;
    }
}

/* Clear every pointer a value holds without freeing: after a memcpy of
 * the source, so that a failed deep copy leaves nothing shared. */
static void value_detach(inc_vtype t, void *p) {
    size_t i;
    switch (t.type) {
    case INC_TYPE_STRING:
        *(char **)p = NULL;
        break;
    case INC_TYPE_RECORD:
        for (i = 0; t.rec && i < t.rec->n_fields; i++)
            value_detach(inc_vtype_field(&t.rec->fields[i]),
                         (char *)p + t.rec->fields[i].offset);
        break;
    case INC_TYPE_LIST: {
        inc_list l = {0, 0, NULL, NULL};
        inc_list_put(p, &l);
        break;
    }
    default:
        break;
    }
}

static int msg_copy_into(const inc_message_desc *d, void *dst,
                         const void *src) {
    size_t i;
    memcpy(dst, src, d->size);
    for (i = 0; i < d->n_fields; i++)
        value_detach(inc_vtype_field(&d->fields[i]),
                     (char *)dst + d->fields[i].offset);
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        if (f->type != INC_TYPE_STRING && f->type != INC_TYPE_RECORD &&
            f->type != INC_TYPE_LIST)
            continue;
        if (incx_value_copy(inc_vtype_field(f), (char *)dst + f->offset,
                           (const char *)src + f->offset) != 0)
            return -1;
    }
    return 0;
}

int incx_value_copy(inc_vtype t, void *dst, const void *src) {
    switch (t.type) {
    case INC_TYPE_STRING: {
        const char *s = *(char *const *)src;
        *(char **)dst = NULL;
        return s && !(*(char **)dst = inc_strdup(s)) ? -1 : 0;
    }
    case INC_TYPE_RECORD:
        if (!t.rec) return -1;
        return msg_copy_into(t.rec, dst, src);
    case INC_TYPE_LIST: {
        inc_list s = inc_list_get(src), l = {0, 0, NULL, NULL};
        inc_vtype et;
        size_t es, i;
        inc_list_put(dst, &l);
        if (s.len == 0) return 0;
        if (!t.list || !s.items) return -1;
        et = inc_vtype_elem(t.list);
        es = inc_vtype_size(et);
        if (!es || s.len > SIZE_MAX / es) return -1;
        if (!(l.items = malloc(s.len * es))) return -1;
        if (s.has && !(l.has = malloc(s.len * sizeof *l.has))) {
            free(l.items);
            return -1;
        }
        if (s.has) memcpy(l.has, s.has, s.len * sizeof *l.has);
        l.cap = s.len;
        memcpy(l.items, s.items, s.len * es);
        if (et.type != INC_TYPE_STRING && et.type != INC_TYPE_RECORD) {
            l.len = s.len;
            inc_list_put(dst, &l);
            return 0;
        }
        for (i = 0; i < s.len; i++)
            value_detach(et, (char *)l.items + i * es);
        /* From here the copy owns its elements one by one; the list is
         * put in place first so that a failure frees what was copied. */
        l.len = s.len;
        inc_list_put(dst, &l);
        for (i = 0; i < s.len; i++)
            if (incx_value_copy(et, (char *)l.items + i * es,
                               (const char *)s.items + i * es) != 0)
                return -1;
        return 0;
    }
    default:
        memcpy(dst, src, inc_vtype_size(t));
        return 0;
    }
}

int inc_msg_copy(const inc_message_desc *d, void *dst, const void *src,
                 inc_error *err) {
    if (msg_copy_into(d, dst, src) != 0) {
        inc_msg_free(d, dst);
        return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                             "out of memory copying a %s", d->name);
    }
    return 0;
}

/* Where a value sits, for errors: "amount", "address.city",
 * "lines[2].qty".  Frames on the stack, rendered only for an error, so a
 * valid message costs no path building. */
#define VPATH_MAX 160
typedef struct vframe {
    const struct vframe *up;
    const char *key; /* NULL: a list index */
    size_t index;
} vframe;

static size_t vrender_into(const vframe *at, char *buf) {
    size_t used = at->up ? vrender_into(at->up, buf) : 0;
    int k;
    if (at->key)
        k = snprintf(buf + used, VPATH_MAX - used, "%s%s", used ? "." : "",
                     at->key);
    else
        k = snprintf(buf + used, VPATH_MAX - used, "[%zu]", at->index);
    if (k < 0) k = 0;
    return used + (size_t)k < VPATH_MAX ? used + (size_t)k : VPATH_MAX - 1;
}

static const char *vrender(const vframe *at, char buf[VPATH_MAX]) {
    buf[0] = '\0';
    vrender_into(at, buf);
    return buf;
}

static int validate_fields(const inc_message_desc *d, const void *msg,
                           const vframe *up, unsigned depth, inc_error *err);

/* One present value (not null) of type t at p. */
static int validate_value(inc_vtype t, const void *p, bool implicit_id,
                          const vframe *at, unsigned depth, inc_error *err) {
    char pb[VPATH_MAX];
    switch (t.type) {
    case INC_TYPE_STRING: {
        const char *s = *(char *const *)p;
        if (!s)
            return inc_error_set(err, INC_ERR_INVALID, "missing_field",
                                 "%s: required", vrender(at, pb));
        if (implicit_id && s[0] == '\0')
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: must not be empty", vrender(at, pb));
        /* JSON decoding refuses such text; C callers could pass it, and
         * it would be stored with U+FFFD for the bad bytes while the
         * in-memory state (and the state cache) kept them. */
        if (!incx_utf8_valid(s, strlen(s)))
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: not valid UTF-8", vrender(at, pb));
        return 0;
    }
    case INC_TYPE_ENUM: {
        int v = *(const int *)p;
        if (v < 0 || !t.en || (size_t)v >= t.en->n_members)
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: %d is not a %s member",
                                 vrender(at, pb), v,
                                 t.en ? t.en->name : "known enum");
        return 0;
    }
    case INC_TYPE_FLOAT:
        /* JSON has no NaN or infinity: such a value could be stored but
         * never read back. */
        if (!isfinite(*(const double *)p))
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: not a finite number", vrender(at, pb));
        return 0;
    case INC_TYPE_TIMESTAMP: {
        char buf[INC_TIMESTAMP_TEXT_MAX];
        int64_t ts = *(const int64_t *)p;
        if (inc_timestamp_format(ts, buf) != 0)
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: timestamp %lld is outside years "
                                 "0000-9999",
                                 vrender(at, pb), (long long)ts);
        return 0;
    }
    case INC_TYPE_INT:
    case INC_TYPE_BOOL:
        return 0;
    case INC_TYPE_RECORD:
    case INC_TYPE_LIST:
        break;
    }
    /* Containers: what the decoders would refuse to read back. */
    if (depth >= INC_JSON_MAX_DEPTH)
        return inc_error_set(err, INC_ERR_INVALID, "too_deep",
                             "%s: nested deeper than %d levels",
                             vrender(at, pb),
                             INC_JSON_MAX_DEPTH);
    if (t.type == INC_TYPE_RECORD) {
        if (!t.rec) goto bad_descriptor;
        return validate_fields(t.rec, p, at, depth + 1, err);
    } else {
        inc_list l = inc_list_get(p);
        inc_vtype et;
        size_t es, i;
        bool opt;
        if (!t.list) goto bad_descriptor;
        et = inc_vtype_elem(t.list);
        if (!(es = inc_vtype_size(et))) goto bad_descriptor;
        opt = inc_list_elem_optional(t.list);
        if (l.len > INC_LIST_MAX_ITEMS)
            return inc_error_set(err, INC_ERR_INVALID, "too_long",
                                 "%s: more than %zu elements", vrender(at, pb),
                                 INC_LIST_MAX_ITEMS);
        if (l.len && !l.items)
            return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                 "%s: %zu elements but no items",
                                 vrender(at, pb),
                                 l.len);
        if (et.type == INC_TYPE_INT || et.type == INC_TYPE_BOOL) return 0;
        for (i = 0; i < l.len; i++) {
            vframe el = {at, NULL, i};
            if (opt && l.has && !l.has[i]) continue;
            if (validate_value(et, (const char *)l.items + i * es, false, &el,
                               depth + 1, err) != 0)
                return -1;
        }
        return 0;
    }
bad_descriptor:
    return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                         "%s: record or list field without its descriptor",
                         vrender(at, pb));
}

static int validate_fields(const inc_message_desc *d, const void *msg,
                           const vframe *up, unsigned depth, inc_error *err) {
    size_t i;
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        bool optional = (f->flags & INC_FIELD_OPTIONAL) != 0;
        vframe at = {up, f->name, 0};
        if (optional && !inc_field_present(msg, f)) continue;
        if (f->type == INC_TYPE_INT || f->type == INC_TYPE_BOOL) continue;
        if (validate_value(inc_vtype_field(f), INC_CFIELD_AT(msg, f, char),
                           (f->flags & INC_FIELD_IMPLICIT) &&
                               strcmp(f->name, "aggregate_id") == 0,
                           &at, depth, err) != 0)
            return -1;
    }
    return 0;
}

int incx_msg_validate_structure(const inc_message_desc *d, const void *msg,
                                inc_error *err) {
    return validate_fields(d, msg, NULL, 1, err);
}

int inc_msg_validate(const inc_message_desc *d, const void *msg,
                     inc_error *err) {
    if (incx_msg_validate_structure(d, msg, err) != 0) return -1;
    if (d->validate) return d->validate(msg, err);
    return 0;
}
