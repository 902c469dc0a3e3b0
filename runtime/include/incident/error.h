/* error.h - the one error type of libincident.
 *
 * Every fallible call takes an `inc_error *` (may be NULL) and returns 0 on
 * success, -1 on failure.  The error is a plain value (fixed buffers, no
 * allocation) so it can live on the stack and never needs freeing. */
#ifndef INCIDENT_ERROR_H
#define INCIDENT_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* INC_API marks what libincident exports: the library is built with
 * -fvisibility=hidden, so exactly the functions declared with it in
 * <incident/...> are its ABI (the exported-symbol test checks this). */
#if defined(__GNUC__) || defined(__clang__)
#define INC_API __attribute__((visibility("default")))
#else
#define INC_API
#endif

/* One X-macro list generates the enum and its names, so the two cannot
 * drift apart. */
#define INC_ERROR_KINDS(X)                                                     \
    X(INC_OK, "ok")                                                            \
    X(INC_ERR_INVALID, "invalid")         /* bad input: JSON, field, name */   \
    X(INC_ERR_REJECTED, "rejected")       /* the domain said no */             \
    X(INC_ERR_CONFLICT, "conflict")       /* concurrent writer won, retries \
                                             exhausted */                      \
    X(INC_ERR_NOT_FOUND, "not_found")     /* unknown aggregate, projection */ \
    X(INC_ERR_UNAVAILABLE, "unavailable") /* database unreachable / lost */    \
    X(INC_ERR_INTERNAL, "internal")       /* bug, corrupt data, OOM */

typedef enum inc_error_kind {
#define INC_X_ENUM(e, s) e,
    INC_ERROR_KINDS(INC_X_ENUM)
#undef INC_X_ENUM
} inc_error_kind;

#define INC_ERROR_CODE_MAX 64
#define INC_ERROR_MESSAGE_MAX 512

typedef struct inc_error {
    inc_error_kind kind;
    /* Machine-readable code: for INC_ERR_REJECTED the rejection code of the
     * .agg file ("no_enough_balance"); otherwise a short runtime code
     * ("invalid_json", "missing_field", "integer_overflow", ...). */
    char code[INC_ERROR_CODE_MAX];
    /* Human-readable, names what is wrong ("$.amount: expected integer"). */
    char message[INC_ERROR_MESSAGE_MAX];
} inc_error;

/* Name of a kind ("rejected"). */
INC_API const char *inc_error_kind_name(inc_error_kind kind);

/* Reset to INC_OK.  Accepts NULL. */
INC_API void inc_error_clear(inc_error *err);

/* Fill `err` (NULL is allowed: the error is then dropped) and return -1 so
 * callers can write `return inc_error_set(...)`. */
INC_API int inc_error_set(inc_error *err, inc_error_kind kind, const char *code,
                          const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
INC_API int inc_error_setv(inc_error *err, inc_error_kind kind,
                           const char *code, const char *fmt, va_list ap);

/* A domain rejection: kind INC_ERR_REJECTED, code = message = `code`. */
INC_API int inc_reject(inc_error *err, const char *code);

#ifdef __cplusplus
}
#endif
#endif
