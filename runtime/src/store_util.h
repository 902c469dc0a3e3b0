/* store_util.h - checks and conversions shared by the two stores and the
 * pipeline (not installed). */
#ifndef INCIDENT_STORE_UTIL_H
#define INCIDENT_STORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <incident/error.h>

/* Whether `s` (n bytes) is well-formed UTF-8 (no overlongs, no surrogates). */
bool inc_utf8_valid(const char *s, size_t n);

/* NULL or invalid UTF-8 text that PostgreSQL would refuse: INC_ERR_INVALID
 * naming `what`. */
int inc_store_check_text(const char *s, const char *what, inc_error *err);

#endif
