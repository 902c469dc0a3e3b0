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
    "invalid_event", "missing_value", "timestamp_out_of_range",
};

#define N(x) (sizeof(x) / sizeof(x[0]))

bool agg_is_c_keyword(const char *name) { return in(name, c_words, N(c_words)); }
bool agg_is_sql_keyword(const char *name) {
    return in(name, sql_words, N(sql_words));
}
bool agg_is_runtime_code(const char *name) {
    return in(name, runtime_codes, N(runtime_codes));
}

/* ------------------------------------------------ generated C names */

/* Indexed by agg_cname_id.  A state reserves the names of a message up to
 * _fields (so _validate and _check too); the thunks belong to commands,
 * events and rows. */
static const struct {
    unsigned bases;
    const char *suffix;
} cnames[AGG_CN_COUNT] = {
    [AGG_CN_DOMAIN] = {AGG_CB_DOMAIN, "_domain"},
    [AGG_CN_REJECTION] = {AGG_CB_DOMAIN, "_rejection"},
    [AGG_CN_REJECTION_OF] = {AGG_CB_DOMAIN, "_rejection_of"},
    [AGG_CN_REJECTION_NAME] = {AGG_CB_DOMAIN, "_rejection_name"},
    [AGG_CN_AGGREGATES] = {AGG_CB_DOMAIN, "_aggregates"},
    [AGG_CN_ALL_COMMANDS] = {AGG_CB_DOMAIN, "_all_commands"},
    [AGG_CN_ALL_EVENTS] = {AGG_CB_DOMAIN, "_all_events"},
    [AGG_CN_ALL_PROJECTIONS] = {AGG_CB_DOMAIN, "_all_projections"},
    [AGG_CN_ENUMS] = {AGG_CB_DOMAIN, "_enums"},
    [AGG_CN_REJECTION_NAMES] = {AGG_CB_DOMAIN, "_rejection_names"},
    [AGG_CN_DDL] = {AGG_CB_DOMAIN, "_ddl"},
    [AGG_CN_REACTIONS] = {AGG_CB_DOMAIN, "_reactions"},
    [AGG_CN_GUARD] = {AGG_CB_MACRO, "_AGG_H"},
    [AGG_CN_REJECTIONS] = {AGG_CB_MACRO, "_REJECTIONS"},
    [AGG_CN_REJECT_NONE] = {AGG_CB_MACRO, "_REJECT_NONE"},
    [AGG_CN_REJECT_COUNT] = {AGG_CB_MACRO, "_REJECT_COUNT_"},
    [AGG_CN_REJECTION_ENUM] = {AGG_CB_MACRO, "_REJECTION_ENUM"},
    [AGG_CN_REJECTION_MATCH] = {AGG_CB_MACRO, "_REJECTION_MATCH"},
    [AGG_CN_REJECTION_NAME_X] = {AGG_CB_MACRO, "_REJECTION_NAME"},
    [AGG_CN_ENUM] = {AGG_CB_ENUM, ""},
    [AGG_CN_ENUM_DESC] = {AGG_CB_ENUM, "_desc"},
    [AGG_CN_ENUM_MEMBERS] = {AGG_CB_ENUM, "_members"},
    [AGG_CN_MSG] = {AGG_CB_STATE | AGG_CB_MESSAGE, ""},
    [AGG_CN_MSG_DESC] = {AGG_CB_STATE | AGG_CB_MESSAGE, "_desc"},
    [AGG_CN_MSG_INIT] = {AGG_CB_STATE | AGG_CB_MESSAGE, "_init"},
    [AGG_CN_MSG_FREE] = {AGG_CB_STATE | AGG_CB_MESSAGE, "_free"},
    [AGG_CN_MSG_TO_JSON] = {AGG_CB_STATE | AGG_CB_MESSAGE, "_to_json"},
    [AGG_CN_MSG_FROM_JSON] = {AGG_CB_STATE | AGG_CB_MESSAGE, "_from_json"},
    [AGG_CN_MSG_VALIDATE] = {AGG_CB_STATE | AGG_CB_MESSAGE, "_validate"},
    [AGG_CN_MSG_CHECK] = {AGG_CB_STATE | AGG_CB_MESSAGE, "_check"},
    [AGG_CN_MSG_FIELDS] = {AGG_CB_STATE | AGG_CB_MESSAGE, "_fields"},
    [AGG_CN_EXECUTE_THUNK] = {AGG_CB_MESSAGE, "_execute_thunk"},
    [AGG_CN_APPLY_THUNK] = {AGG_CB_MESSAGE, "_apply_thunk"},
    [AGG_CN_PROJECT_THUNK] = {AGG_CB_MESSAGE, "_project_thunk"},
    [AGG_CN_AGG_TYPE] = {AGG_CB_AGGREGATE, ""},
    [AGG_CN_AGG_COMMANDS] = {AGG_CB_AGGREGATE, "_commands"},
    [AGG_CN_AGG_EVENTS] = {AGG_CB_AGGREGATE, "_events"},
    [AGG_CN_AGG_PROJECTIONS] = {AGG_CB_AGGREGATE, "_projections"},
};

const char *agg_cname(agg_arena *a, agg_cname_id id, const char *base) {
    return agg_arena_cat(a, base, cnames[id].suffix, (char *)NULL);
}

unsigned agg_cname_bases(agg_cname_id id) { return cnames[id].bases; }

/* "<d>_<snake name><suffix>" */
static const char *d_snake(agg_arena *a, const char *d, const char *name, const char *suffix) {
    return agg_arena_cat(a, d, "_", agg_snake(a, name), suffix, (char *)NULL);
}

const char *agg_c_message(agg_arena *a, const char *d, const char *name) {
    return d_snake(a, d, name, "");
}
const char *agg_c_state(agg_arena *a, const char *d, const char *agg) {
    return d_snake(a, d, agg, "_state");
}
const char *agg_c_agg_type(agg_arena *a, const char *d, const char *agg) {
    return d_snake(a, d, agg, "_type");
}
const char *agg_c_row(agg_arena *a, const char *d, const char *proj) {
    return d_snake(a, d, proj, "_row");
}
const char *agg_c_projection(agg_arena *a, const char *d, const char *proj) {
    return d_snake(a, d, proj, "_projection");
}
const char *agg_c_project(agg_arena *a, const char *d, const char *proj) {
    return d_snake(a, d, proj, "_project");
}
const char *agg_c_execute(agg_arena *a, const char *d, const char *agg, const char *cmd) {
    return agg_arena_cat(a, d, "_", agg_snake(a, agg), "_execute_", agg_snake(a, cmd),
                         (char *)NULL);
}
const char *agg_c_apply(agg_arena *a, const char *d, const char *agg, const char *ev) {
    return agg_arena_cat(a, d, "_", agg_snake(a, agg), "_apply_", agg_snake(a, ev),
                         (char *)NULL);
}
const char *agg_c_reaction(agg_arena *a, const char *d, const char *reaction) {
    return d_snake(a, d, reaction, "_reaction");
}
const char *agg_c_member(agg_arena *a, const char *c_enum, const char *member) {
    return agg_arena_cat(a, agg_upper(a, c_enum), "_", agg_upper(a, member), (char *)NULL);
}
const char *agg_c_reject(agg_arena *a, const char *d, const char *code) {
    return agg_arena_cat(a, agg_upper(a, d), "_REJECT_", agg_upper(a, code), (char *)NULL);
}
