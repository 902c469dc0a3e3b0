/* gen.h - small helpers that aggc-generated code calls.
 *
 * Not meant for hand-written code (but stable: generated files of this ABI
 * version rely on them).  Integer arithmetic reports overflow instead of
 * invoking undefined behaviour; string temporaries live in a scratch list
 * that the generated function frees on every exit path. */
#ifndef INCIDENT_GEN_H
#define INCIDENT_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <incident/domain.h>
#include <incident/error.h>
#include <incident/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Each returns true on overflow (the result is then unspecified). */
static inline bool inc_i64_add(int64_t a, int64_t b, int64_t *r) {
    return __builtin_add_overflow(a, b, r);
}
static inline bool inc_i64_sub(int64_t a, int64_t b, int64_t *r) {
    return __builtin_sub_overflow(a, b, r);
}
static inline bool inc_i64_mul(int64_t a, int64_t b, int64_t *r) {
    return __builtin_mul_overflow(a, b, r);
}
static inline bool inc_i64_neg(int64_t a, int64_t *r) {
    return __builtin_sub_overflow((int64_t)0, a, r);
}
/* Division and remainder: b == 0 is reported separately by the caller;
 * INT64_MIN / -1 overflows. */
static inline bool inc_i64_div(int64_t a, int64_t b, int64_t *r) {
    if (b == -1 && a == INT64_MIN) return true;
    *r = a / b;
    return false;
}
static inline bool inc_i64_mod(int64_t a, int64_t b, int64_t *r) {
    if (b == -1) { *r = 0; return false; }
    *r = a % b;
    return false;
}

/* Time (docs/language.md, "Time"): a timestamp plus or minus a duration,
 * both in microseconds.  True when the sum overflows or leaves the range
 * an RFC 3339 timestamp can be written in (INC_TIMESTAMP_MIN/MAX): the
 * rule rejects with timestamp_out_of_range. */
static inline bool inc_ts_add(int64_t t, int64_t d, int64_t *r) {
    return __builtin_add_overflow(t, d, r) || *r < INC_TIMESTAMP_MIN ||
           *r > INC_TIMESTAMP_MAX;
}
static inline bool inc_ts_sub(int64_t t, int64_t d, int64_t *r) {
    return __builtin_sub_overflow(t, d, r) || *r < INC_TIMESTAMP_MIN ||
           *r > INC_TIMESTAMP_MAX;
}

/* Strings compare equal when both are NULL or both have the same bytes. */
static inline bool inc_str_eq(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}
static inline int inc_str_cmp(const char *a, const char *b) {
    return strcmp(a ? a : "", b ? b : "");
}

/* Replace *dst with a copy of src (NULL allowed).  -1 on OOM. */
INC_API int inc_str_set(char **dst, const char *src, inc_error *err);

/* Lists and records (domain.h, "records and lists").  `list` points at
 * an INC_LIST_STRUCT(T) field whose type descriptor is `td`. */

/* Append one element (zero; a record element gets its defaults) and return
 * it to fill; NULL (err set) when out of memory or when the list already
 * holds INC_LIST_MAX_ITEMS elements.  Amortised O(1).  For list<T?> the
 * new element is present (has[i] true). */
INC_API void *inc_list_push(void *list, const inc_type_desc *td, inc_error *err);
/* Remove element i (< len), freeing what it owns; later elements move
 * down one place, keeping their order. */
INC_API void inc_list_remove(void *list, const inc_type_desc *td, size_t i);
/* Whole-value assignment of a list or record of type td: *dst becomes a
 * deep copy of *src (src may be dst or inside it).  -1 (err set) on OOM,
 * *dst unchanged. */
INC_API int inc_value_assign(void *dst, const void *src, const inc_type_desc *td,
                     inc_error *err);

/* Temporaries of one generated function. */
typedef struct inc_scratch {
    size_t count, cap;
    char **items;
} inc_scratch;
#define INC_SCRATCH_INIT {0, 0, NULL}
/* Concatenate into a new string owned by `sc`; NULL (err set) on OOM. */
INC_API const char *inc_scratch_concat(inc_scratch *sc, const char *a,
                                       const char *b, inc_error *err);
INC_API void inc_scratch_free(inc_scratch *sc);

/* A typed find_by (docs/api.md "Typed queries"): the rows of `p` whose
 * column `field` equals *value, a C value of the column's type (int64_t,
 * double, bool, const char *, inc_timestamp, or an enum), at most `limit`
 * (0: all), ordered by the key; through inc_store_query, so the value is
 * a parameter and every store gives the same rows. */
INC_API int incg_query_by(inc_store *s, const inc_projection_desc *p,
                          const char *field, const void *value, int64_t limit,
                          inc_row_cb cb, void *ud, inc_error *err);

#ifdef __cplusplus
}
#endif
#endif
