/* store_util.h - checks and conversions shared by the two stores and the
 * pipeline (not installed). */
#ifndef INCIDENT_STORE_UTIL_H
#define INCIDENT_STORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <incident/error.h>

/* Length of the well-formed UTF-8 sequence at s[0..n) (n >= 1), or 0:
 * no overlongs, surrogates or code points past U+10FFFF, as jansson
 * checks (its utf8_check_full); 1 for ASCII. */
size_t incx_utf8_seq(const unsigned char *s, size_t n);
/* Whether `s` (n bytes) is well-formed UTF-8 (incx_utf8_seq throughout). */
bool incx_utf8_valid(const char *s, size_t n);

/* NULL or invalid UTF-8 text that PostgreSQL would refuse: INC_ERR_INVALID
 * naming `what`. */
int incx_store_check_text(const char *s, const char *what, inc_error *err);

/* Longest aggregate id a command may carry, in bytes.  PostgreSQL cannot
 * index much more (events_stream_version, the projections' primary keys:
 * about 2700 bytes after compression), so a longer id used to fail only at
 * commit, as an INC_ERR_INTERNAL; this limit refuses it up front in both
 * stores alike. */
#define INC_MAX_ID_BYTES 1024

/* incx_store_check_text, then at most INC_MAX_ID_BYTES: INC_ERR_INVALID. */
int incx_store_check_id(const char *id, const char *what, inc_error *err);

#endif
