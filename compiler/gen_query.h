/* gen_query.h - typed queries of projections and views (gen_query.c). */
#ifndef AGGC_GEN_QUERY_H
#define AGGC_GEN_QUERY_H

#include <stddef.h>

#include "arena.h"
#include "ast.h"
#include "sbuf.h"

/* An indexed column: a find_by function. */
typedef struct agg_qcol {
    const char *name;
    agg_type type;
} agg_qcol;

/* Forward declarations of the runtime's structs the prototypes use (the
 * generated header includes only <incident/domain.h>). */
void agg_gen_query_forward(sbuf *out);
/* The row callback type, BASE_query and one BASE_find_by_COL per column. */
void agg_gen_query_header(sbuf *out, agg_arena *a, const char *d, const char *base,
                          const char *row, const agg_qcol *cols, size_t n);
/* Their definitions, over `table` (an inc_projection_desc). */
void agg_gen_query_source(sbuf *out, agg_arena *a, const char *d, const char *base,
                          const char *table, const agg_qcol *cols, size_t n);

#endif
