/* gen_query.c - typed queries of projections and views (docs/api.md,
 * "Typed queries").  For a table BASE with rows ROW:
 *
 *   typedef int (*BASE_row_cb)(void *ud, const ROW *row,
 *                              const struct inc_row_meta *meta, inc_error *err);
 *   int BASE_query(struct inc_store *s, const struct inc_query *q,
 *                  BASE_row_cb cb, void *ud, inc_error *err);
 *   int BASE_find_by_COL(struct inc_store *s, CTYPE COL, int64_t limit,
 *                        BASE_row_cb cb, void *ud, inc_error *err);
 *
 * one find_by per declared index.  They are thin: inc_store_query does the
 * work (values as parameters, the same rows on every store), and
 * incg_query_by turns the typed value into the text it takes. */
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "gen_query.h"

/* The parameter type of a find_by: the column's C value type, strings
 * as const char *. */
static const char *param_type(agg_arena *a, const char *d, agg_type t) {
    t.optional = false;
    if (t.kind == AGG_T_STRING) return "const char *";
    const char *ct = agg_c_value_type(a, d, &t);
    return agg_arena_cat(a, ct, ct[strlen(ct) - 1] == '*' ? "" : " ", (char *)NULL);
}

void agg_gen_query_forward(sbuf *out) {
    sb_put(out, "/* typed queries (docs/api.md): <incident/store.h> defines these */\n"
                "struct inc_store;\nstruct inc_query;\nstruct inc_row_meta;\n\n");
}

void agg_gen_query_header(sbuf *out, agg_arena *a, const char *d, const char *base,
                          const char *row, const agg_qcol *cols, size_t n) {
    sb_printf(out,
              "/* typed queries of %s (docs/api.md \"Typed queries\"); rows are\n"
              " * borrowed for the call */\n"
              "typedef int (*%s_row_cb)(void *ud, const %s *row,\n"
              "    const struct inc_row_meta *meta, inc_error *err);\n"
              "int %s_query(struct inc_store *s, const struct inc_query *q,\n"
              "    %s_row_cb cb, void *ud, inc_error *err);\n",
              base, base, row, base, base);
    for (size_t i = 0; i < n; i++)
        sb_printf(out,
                  "int %s_find_by_%s(struct inc_store *s, %s%s, int64_t limit,\n"
                  "    %s_row_cb cb, void *ud, inc_error *err);\n",
                  base, cols[i].name, param_type(a, d, cols[i].type), cols[i].name,
                  base);
    sb_put(out, "\n");
}

void agg_gen_query_source(sbuf *out, agg_arena *a, const char *d, const char *base,
                          const char *table, const agg_qcol *cols, size_t n) {
    sb_printf(out,
              "\n/* typed queries (docs/api.md \"Typed queries\") */\n"
              "typedef struct %s_typed {\n    %s_row_cb cb;\n    void *ud;\n} %s_typed;\n"
              "static int %s_typed_row(void *ud, const void *row,\n"
              "    const inc_row_meta *meta, inc_error *err) {\n"
              "    const %s_typed *t = ud;\n"
              "    return t->cb(t->ud, row, meta, err);\n}\n"
              "int %s_query(inc_store *s, const inc_query *q,\n"
              "    %s_row_cb cb, void *ud, inc_error *err) {\n"
              "    %s_typed t = {cb, ud};\n"
              "    inc_query all;\n"
              "    if (!cb)\n"
              "        return inc_error_set(err, INC_ERR_INTERNAL, \"bad_argument\",\n"
              "                             \"%s_query: no callback\");\n"
              "    memset(&all, 0, sizeof all);\n"
              "    return inc_store_query(s, &%s, q ? q : &all, %s_typed_row, &t, err);\n"
              "}\n",
              base, base, base, base, base, base, base, base, base, table, base);
    for (size_t i = 0; i < n; i++)
        sb_printf(out,
                  "int %s_find_by_%s(inc_store *s, %s%s, int64_t limit,\n"
                  "    %s_row_cb cb, void *ud, inc_error *err) {\n"
                  "    %s_typed t = {cb, ud};\n"
                  "    if (!cb)\n"
                  "        return inc_error_set(err, INC_ERR_INTERNAL, \"bad_argument\",\n"
                  "                             \"%s_find_by_%s: no callback\");\n"
                  "    return incg_query_by(s, &%s, \"%s\", &%s, limit, %s_typed_row, &t, err);\n"
                  "}\n",
                  base, cols[i].name, param_type(a, d, cols[i].type), cols[i].name, base,
                  base, base, cols[i].name, table, cols[i].name, cols[i].name, base);
    sb_put(out, "\n");
}
