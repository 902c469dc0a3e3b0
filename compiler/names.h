/* names.h - how .agg names become C and SQL names, and which names are
 * off limits (C and SQL keywords, names reserved by the runtime). */
#ifndef AGGC_NAMES_H
#define AGGC_NAMES_H

#include <stdbool.h>

#include "arena.h"

/* "OpenAccount" -> "open_account", "HTTPRequest" -> "http_request",
 * "bank_accounts" unchanged. */
char *agg_snake(agg_arena *a, const char *name);
/* "open_account" -> "OPEN_ACCOUNT". */
char *agg_upper(agg_arena *a, const char *name);

bool agg_is_c_keyword(const char *name);   /* C11 keywords and common macros */
bool agg_is_sql_keyword(const char *name); /* PostgreSQL reserved words */
/* Codes the runtime itself uses for rejections. */
bool agg_is_runtime_code(const char *name);

#endif
