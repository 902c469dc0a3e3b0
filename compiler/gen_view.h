/* gen_view.h - the back end of views (gen_view.c): their tables in the
 * DDL, their descriptors in <d>.c, their members of the domain. */
#ifndef AGGC_GEN_VIEW_H
#define AGGC_GEN_VIEW_H

#include "arena.h"
#include "ast.h"
#include "sbuf.h"

/* CREATE TABLE / CREATE INDEX of every view (nothing without views). */
void agg_sql_views_ddl(sbuf *out, const agg_program *p);
/* Row structs, field tables, handlers and inc_view_desc of every view,
 * and the sorted table of them (nothing without views). */
void agg_gen_views(sbuf *out, const agg_program *p, agg_arena *a);
/* In the header: each view's row struct and typed queries. */
void agg_gen_views_header(sbuf *out, const agg_program *p, agg_arena *a);
/* `.n_views`/`.views` of the domain initialiser (nothing without views). */
void agg_gen_view_members(sbuf *out, const agg_program *p, agg_arena *a);

#endif
