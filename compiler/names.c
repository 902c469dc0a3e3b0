/* names.c - see names.h. */
#include "names.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *agg_snake(agg_arena *a, const char *name) {
    size_t n = strlen(name);
    char *out = agg_arena_alloc(a, n * 2 + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (isupper(c)) {
            bool prev_lower = i > 0 && (islower((unsigned char)name[i - 1]) ||
                                        isdigit((unsigned char)name[i - 1]));
            bool acronym_end = i > 0 && isupper((unsigned char)name[i - 1]) &&
                               i + 1 < n && islower((unsigned char)name[i + 1]);
            if ((prev_lower || acronym_end) && j > 0 && out[j - 1] != '_')
                out[j++] = '_';
            out[j++] = (char)tolower(c);
        } else {
            out[j++] = (char)c;
        }
    }
    out[j] = '\0';
    return out;
}

char *agg_upper(agg_arena *a, const char *name) {
    char *s = agg_arena_strdup(a, name);
    for (char *p = s; *p; p++) *p = (char)toupper((unsigned char)*p);
    return s;
}

static int cmp(const void *k, const void *e) {
    return strcmp((const char *)k, *(const char *const *)e);
}

static bool in(const char *name, const char *const *list, size_t n) {
    return bsearch(name, list, n, sizeof *list, cmp) != NULL;
}

/* Sorted.  C11 keywords plus names that standard headers the generated code
 * includes define as macros or types, which would break the struct. */
static const char *const c_words[] = {
    "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic",
    "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
    "alignas", "alignof", "assert", "auto", "bool", "break", "case", "char",
    "const", "continue", "default", "do", "double", "else", "enum", "errno",
    "extern", "false", "float", "for", "goto", "if", "inline", "int",
    "long", "register", "restrict", "return", "short", "signed", "sizeof",
    "static", "static_assert", "struct", "switch", "true", "typedef",
    "union", "unsigned", "void", "volatile", "while",
};

/* Sorted.  PostgreSQL's reserved key words (Appendix C, "reserved"). */
static const char *const sql_words[] = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc",
    "asymmetric", "both", "case", "cast", "check", "collate", "column",
    "constraint", "create", "current_catalog", "current_date",
    "current_role", "current_time", "current_timestamp", "current_user",
    "default", "deferrable", "desc", "distinct", "do", "else", "end",
    "except", "false", "fetch", "for", "foreign", "from", "grant", "group",
    "having", "in", "initially", "intersect", "into", "lateral", "leading",
    "limit", "localtime", "localtimestamp", "not", "null", "offset", "on",
    "only", "or", "order", "placing", "primary", "references", "returning",
    "select", "session_user", "some", "symmetric", "table", "then", "to",
    "trailing", "true", "union", "unique", "user", "using", "variadic",
    "when", "where", "window", "with",
};

static const char *const runtime_codes[] = {
    "conflict", "division_by_zero", "float_overflow", "integer_overflow",
    "invalid_event", "missing_value",
};

#define N(x) (sizeof(x) / sizeof(x[0]))

bool agg_is_c_keyword(const char *name) { return in(name, c_words, N(c_words)); }
bool agg_is_sql_keyword(const char *name) {
    return in(name, sql_words, N(sql_words));
}
bool agg_is_runtime_code(const char *name) {
    return in(name, runtime_codes, N(runtime_codes));
}
