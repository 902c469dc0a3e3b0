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

/* Longest PostgreSQL schema name, in bytes (NAMEDATALEN - 1). */
#define INC_SCHEMA_NAME_MAX 63

/* A schema name the stores accept: 1 to INC_SCHEMA_NAME_MAX bytes of
 * ASCII letters, digits and '_', not starting with a digit.  It is still
 * quoted wherever it reaches SQL; the check keeps it one plain identifier
 * (no quotes, dots or spaces to misread).  INC_ERR_INVALID otherwise. */
int incx_check_schema_name(const char *name, inc_error *err);

#endif
