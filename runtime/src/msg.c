/* msg.c - generic operations on generated message structs, driven by their
 * descriptors: init, free, deep copy and structural validation.  The JSON
 * side lives in msg_json.c. */
#include <math.h>
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
        if (!f->def.present) continue;
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
        }
        if ((has = inc_field_has_ptr(msg, f))) *has = true;
    }
}

void inc_msg_free(const inc_message_desc *d, void *msg) {
    size_t i;
    if (!d || !msg) return;
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        char **s;
        bool *has;
        if (f->type != INC_TYPE_STRING) continue;
        s = INC_FIELD_AT(msg, f, char *);
        free(*s);
        *s = NULL;
        /* A freed optional string is absent, never "present but NULL". */
        if ((has = inc_field_has_ptr(msg, f))) *has = false;
    }
}

int inc_msg_copy(const inc_message_desc *d, void *dst, const void *src,
                 inc_error *err) {
    size_t i;
    memcpy(dst, src, d->size);
    /* Detach every string first so a failure half way leaves `dst` safe to
     * free (it is then freed here). */
    for (i = 0; i < d->n_fields; i++)
        if (d->fields[i].type == INC_TYPE_STRING)
            *INC_FIELD_AT(dst, &d->fields[i], char *) = NULL;
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        const char *s;
        if (f->type != INC_TYPE_STRING) continue;
        s = *INC_CFIELD_AT(src, f, char *);
        if (s && !(*INC_FIELD_AT(dst, f, char *) = inc_strdup(s))) {
            inc_msg_free(d, dst);
            return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                                 "out of memory copying a %s", d->name);
        }
    }
    return 0;
}

int incx_msg_validate_structure(const inc_message_desc *d, const void *msg,
                                inc_error *err) {
    size_t i;
    for (i = 0; i < d->n_fields; i++) {
        const inc_field_desc *f = &d->fields[i];
        bool optional = (f->flags & INC_FIELD_OPTIONAL) != 0;
        if (optional && !inc_field_present(msg, f)) continue;
        switch (f->type) {
        case INC_TYPE_STRING: {
            const char *s = *INC_CFIELD_AT(msg, f, char *);
            if (!s)
                return inc_error_set(err, INC_ERR_INVALID, "missing_field",
                                     "%s: required", f->name);
            if ((f->flags & INC_FIELD_IMPLICIT) &&
                strcmp(f->name, "aggregate_id") == 0 && s[0] == '\0')
                return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                     "%s: must not be empty", f->name);
            /* JSON decoding refuses such text; C callers could pass it, and
             * it would be stored with U+FFFD for the bad bytes while the
             * in-memory state (and the state cache) kept them. */
            if (!incx_utf8_valid(s, strlen(s)))
                return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                     "%s: not valid UTF-8", f->name);
            break;
        }
        case INC_TYPE_ENUM: {
            int v = *INC_CFIELD_AT(msg, f, int);
            if (v < 0 || !f->enum_desc || (size_t)v >= f->enum_desc->n_members)
                return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                     "%s: %d is not a %s member", f->name, v,
                                     f->enum_desc ? f->enum_desc->name
                                                  : "known enum");
            break;
        }
        case INC_TYPE_FLOAT:
            /* JSON has no NaN or infinity: such a value could be stored but
             * never read back. */
            if (!isfinite(*INC_CFIELD_AT(msg, f, double)))
                return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                     "%s: not a finite number", f->name);
            break;
        case INC_TYPE_TIMESTAMP: {
            char buf[INC_TIMESTAMP_TEXT_MAX];
            int64_t ts = *INC_CFIELD_AT(msg, f, int64_t);
            if (inc_timestamp_format(ts, buf) != 0)
                return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                                     "%s: timestamp %lld is outside years "
                                     "0000-9999",
                                     f->name, (long long)ts);
            break;
        }
        case INC_TYPE_INT:
        case INC_TYPE_BOOL:
            break;
        }
    }
    return 0;
}

int inc_msg_validate(const inc_message_desc *d, const void *msg,
                     inc_error *err) {
    if (incx_msg_validate_structure(d, msg, err) != 0) return -1;
    if (d->validate) return d->validate(msg, err);
    return 0;
}
