/* store_util.h - checks and conversions shared by the two stores and the
 * pipeline (not installed). */
#ifndef INCIDENT_STORE_UTIL_H
#define INCIDENT_STORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <incident/domain.h>
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

/* A schema version as stored: 0 (a descriptor or event from before
 * schema evolution) reads as 1. */
static inline unsigned incx_schema_version(unsigned v) { return v ? v : 1; }

/* The hash a snapshot of `a` is stored and looked up under: the state's
 * layout hash combined with the schema version of every event of `a`
 * above 1, so a snapshot folded from events read under another event
 * schema (an upcast added or changed) is ignored and rebuilt, while a
 * domain without upcasts keeps its layout hash (and its snapshots). */
uint64_t incx_snapshot_hash(const inc_aggregate_desc *a);
/* Longest PostgreSQL schema name, in bytes (NAMEDATALEN - 1). */
#define INC_SCHEMA_NAME_MAX 63

/* A schema name the stores accept: 1 to INC_SCHEMA_NAME_MAX bytes of
 * ASCII letters, digits and '_', not starting with a digit.  It is still
 * quoted wherever it reaches SQL; the check keeps it one plain identifier
 * (no quotes, dots or spaces to misread).  INC_ERR_INVALID otherwise. */
int incx_check_schema_name(const char *name, inc_error *err);

#endif
