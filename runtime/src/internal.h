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

#endif
