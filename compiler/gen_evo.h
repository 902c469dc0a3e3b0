/* gen_evo.h - the C back end's schema evolution part (gen_evo.c) and the
 * pieces of gen_c.c it is built from. */
#ifndef AGGC_GEN_EVO_H
#define AGGC_GEN_EVO_H

#include "arena.h"
#include "ast.h"
#include "sbuf.h"

/* gen_evo.c: before an event's descriptor, the structs and descriptors of
 * its older versions, one function per upcast block and the upcaster that
 * chains them, its `was` names; nothing for an event without evolution. */
void agg_gen_evo_code(sbuf *out, const agg_program *p, agg_arena *a, const agg_event *ev);
/* gen_evo.c: the descriptor members .schema_version, .n_was, .was, .upcast
 * (only those that are set, so other output stays unchanged). */
void agg_gen_evo_members(sbuf *out, agg_arena *a, const char *domain, const agg_event *ev);

/* gen_c.c: a message struct (aggregate_id first), a static descriptor of
 * an event's older version, and one compiled upcast block as a function
 * `proto` reading `old` and writing `next`. */
void agg_gen_c_struct(sbuf *out, const agg_program *p, agg_arena *a, const char *cname,
                      const char *what, const agg_field *fields);
void agg_gen_c_desc(sbuf *out, const agg_program *p, agg_arena *a, const agg_event *ev,
                    const char *cname, const agg_field *fields);
void agg_gen_c_upcast_step(sbuf *out, const agg_program *p, agg_arena *a, const char *title,
                           const char *proto, const agg_stmt *body);

#endif
