/* internal.h - helpers shared by the runtime's own .c files (not installed).
 *
 * Field access through descriptor offsets, and the structural half of
 * inc_msg_validate that inc_execute runs on emitted events. */
#ifndef INCIDENT_INTERNAL_H
#define INCIDENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <incident/domain.h>

#define INC_FIELD_AT(msg, f, T) ((T *)(void *)((char *)(msg) + (f)->offset))
#define INC_CFIELD_AT(msg, f, T) \
    ((const T *)(const void *)((const char *)(msg) + (f)->offset))

static inline bool *inc_field_has_ptr(void *msg, const inc_field_desc *f) {
    return f->has_offset == INC_NO_OFFSET
               ? NULL
               : (bool *)(void *)((char *)msg + f->has_offset);
}

/* Whether an optional field holds a value.  Fields without a has_ flag are
 * always present, except strings, whose absence is NULL. */
static inline bool inc_field_present(const void *msg, const inc_field_desc *f) {
    if (f->has_offset != INC_NO_OFFSET &&
        !*(const bool *)(const void *)((const char *)msg + f->has_offset))
        return false;
    if (f->type == INC_TYPE_STRING)
        return *INC_CFIELD_AT(msg, f, char *) != NULL;
    return true;
}

/* The type of one value: a field's, or a list element's.  The codecs and
 * walkers work on values (a pointer to the value itself) so that fields,
 * list elements and record members share one implementation per type. */
typedef struct inc_vtype {
    inc_type type;
    const inc_enum_desc *en;       /* ENUM */
    const inc_message_desc *rec;   /* RECORD (NULL: a bad descriptor) */
    const inc_type_desc *list;     /* LIST (NULL: a bad descriptor) */
} inc_vtype;

static inline inc_vtype inc_vtype_field(const inc_field_desc *f) {
    inc_vtype t;
    t.type = f->type;
    t.en = f->enum_desc; /* read for ENUM only */
    t.rec = NULL;
    t.list = NULL;
    /* the common case first: the codecs call this for every field */
    if (f->type == INC_TYPE_RECORD || f->type == INC_TYPE_LIST) {
        const inc_type_desc *td = inc_field_type_desc(f);
        t.en = NULL;
        if (td && f->type == INC_TYPE_RECORD) t.rec = td->record;
        if (f->type == INC_TYPE_LIST) t.list = td;
    }
    return t;
}

/* The value type a record or list type descriptor describes. */
static inline inc_vtype inc_vtype_of(const inc_type_desc *td) {
    inc_vtype t;
    t.type = td->type;
    t.en = NULL;
    t.rec = td->type == INC_TYPE_RECORD ? td->record : NULL;
    t.list = td->type == INC_TYPE_LIST ? td : NULL;
    return t;
}

/* A list's element type; a list of lists is not supported (bad
 * descriptor: size 0, which every walker refuses). */
static inline inc_vtype inc_vtype_elem(const inc_type_desc *l) {
    inc_vtype t;
    t.type = l->elem_type;
    t.en = l->elem_type == INC_TYPE_ENUM ? l->elem_enum : NULL;
    t.rec = l->elem_type == INC_TYPE_RECORD ? l->record : NULL;
    t.list = NULL;
    return t;
}

/* sizeof the C value of a type; 0 for a type that cannot be a list
 * element (or a record type without a descriptor). */
static inline size_t inc_vtype_size(inc_vtype t) {
    switch (t.type) {
    case INC_TYPE_INT:
    case INC_TYPE_TIMESTAMP: return sizeof(int64_t);
    case INC_TYPE_FLOAT: return sizeof(double);
    case INC_TYPE_BOOL: return sizeof(bool);
    case INC_TYPE_STRING: return sizeof(char *);
    case INC_TYPE_ENUM: return sizeof(int);
    case INC_TYPE_RECORD: return t.rec ? t.rec->size : 0;
    case INC_TYPE_LIST: return 0;
    }
    return 0;
}

static inline bool inc_list_elem_optional(const inc_type_desc *l) {
    return (l->elem_flags & INC_FIELD_OPTIONAL) != 0;
}

/* A list value in and out of its (typed) field: memcpy, so no inc_list
 * lvalue ever aliases the generated INC_LIST_STRUCT(T). */
static inline inc_list inc_list_get(const void *p) {
    inc_list l;
    memcpy(&l, p, sizeof l);
    return l;
}
static inline void inc_list_put(void *p, const inc_list *l) {
    memcpy(p, l, sizeof *l);
}

/* Room for one more element (amortised doubling; `has` grows with `items`
 * when `with_has`, new flags false).  -1: out of memory or the list
 * already holds INC_LIST_MAX_ITEMS. */
int incx_list_grow(inc_list *l, size_t elem_size, bool with_has);
/* Free what a value owns and zero it (strings, records, lists). */
void incx_value_free(inc_vtype t, void *p);
/* Deep copy into `dst`, which owns nothing; on failure -1 and `dst` is
 * still safe to incx_value_free. */
int incx_value_copy(inc_vtype t, void *dst, const void *src);

/* A field's value alone as JSON text (projection columns of record and
 * list type, stored as jsonb); NULL when out of memory. */
char *incx_field_to_text(const inc_field_desc *f, const void *msg);
/* And back, strictly, from any JSON text of that value (jsonb reorders
 * keys and adds spaces); on failure the field is left freed/zero. */
int incx_field_from_text(const inc_field_desc *f, void *msg,
                         const char *text, inc_error *err);

/* strdup without needing POSIX feature macros under -std=c11. */
static inline char *inc_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* The field called `name` (implicit or not), or NULL. */
const inc_field_desc *incx_field_find(const inc_message_desc *d,
                                      const char *name);
/* The implicit field called `name` of type `type`, or NULL. */
const inc_field_desc *incx_field_implicit(const inc_message_desc *d,
                                          const char *name, inc_type type);

/* inc_msg_validate without the generated `check` clauses. */
int incx_msg_validate_structure(const inc_message_desc *d, const void *msg,
                                inc_error *err);

/* The descriptor-driven scanner in front of jansson in inc_msg_from_text
 * (json_fast.c).  Set INC_JSON_FAST to 0 to send every input through
 * jansson (e.g. to compare figures). */
#ifndef INC_JSON_FAST
#define INC_JSON_FAST 1
#endif
/* 0: `msg` decoded exactly as the jansson path would have; -1: an error or
 * an input it leaves to jansson, `msg` freed (not initialised). */
int incx_json_fast_decode(const inc_message_desc *d, void *msg,
                          const char *text, size_t len, unsigned flags);
/* inc_msg_from_text through jansson only, for differential tests (not in
 * an installed header: tests declare it themselves). */
int incx_msg_from_text_jansson(const inc_message_desc *d, void *msg,
                               const char *text, size_t len, unsigned flags,
                               inc_error *err);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t incx_days_from_civil(int64_t y, unsigned m, unsigned d);
void incx_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* uuid.c: the version 5 (SHA-1, name-based) UUID of `name` (len bytes)
 * in namespace `ns` (RFC 4122). */
void incx_uuid_v5(const unsigned char ns[16], const char *name, size_t len,
                  char out[37]); /* INC_UUID_TEXT_SIZE */
/* uuid.c: 16 bytes as a UUID's lower-case text. */
void incx_uuid_text(const unsigned char b[16], char out[37]);

#endif
