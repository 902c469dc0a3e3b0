/* gen_evo.c - generated C for schema evolution (docs/evolution.md).
 *
 * For an event with `upcast` blocks: a struct and a (file-local)
 * descriptor per older version, `<event>__vN`; one compiled function per
 * block, `<event>__upN`, building version N+1 from version N with the same
 * three-address code as apply rules; and the event's inc_upcast_fn,
 * `<event>__upcast`, which decodes the stored JSON as its version and runs
 * the chain up to the current struct, freeing the intermediates.  `was`
 * names become a table `<event>__was`.  Names with "__" cannot clash with
 * the user's (the checker reserves "__" for generated code). */
#include <stdio.h>
#include <string.h>

#include "gen_evo.h"
#include "names.h"

/* How stored JSON of an older version is decoded: without the implicit
 * aggregate_id, as events are stored, and tolerantly, as every stored
 * event is read: a program of version N may have stored fields its
 * successor's `upcast N` block does not list (docs/evolution.md). */
#define UPCAST_JSON_FLAGS "INC_JSON_SKIP_IMPLICIT | INC_JSON_IGNORE_UNKNOWN"

static int n_upcasts(const agg_event *ev) {
    int n = 0;
    for (const agg_upcast *u = ev->upcasts; u; u = u->next) n++;
    return n;
}

static const char *base_name(agg_arena *a, const char *domain, const agg_event *ev) {
    return agg_c_message(a, domain, ev->name);
}

static const char *version_name(agg_arena *a, const char *base, int v) {
    return agg_arena_printf(a, "%s__v%d", base, v);
}

void agg_gen_evo_code(sbuf *out, const agg_program *p, agg_arena *a, const agg_event *ev) {
    const char *base = base_name(a, p->domain, ev);
    if (ev->was) {
        sb_printf(out, "static const char *const %s__was[] = {", base);
        for (const agg_name *n = ev->was; n; n = n->next)
            sb_printf(out, "\"%s\"%s", n->name, n->next ? ", " : "");
        sb_put(out, "};\n\n");
    }
    int n = n_upcasts(ev);
    if (!n) return;
    int v = 1;
    for (const agg_upcast *u = ev->upcasts; u; u = u->next, v++) {
        const char *c = version_name(a, base, v);
        agg_gen_c_struct(out, p, a, c,
                         agg_arena_printf(a, "event %s as stored at schema version %d", ev->name, v),
                         u->fields);
        agg_gen_c_desc(out, p, a, ev, c, u->fields);
        sb_put(out, "\n");
    }
    v = 1;
    for (const agg_upcast *u = ev->upcasts; u; u = u->next, v++) {
        const char *next = u->next ? version_name(a, base, v + 1) : base;
        const char *proto = agg_arena_printf(
            a, "static int %s__up%d(const %s *old, %s *next, inc_error *err)", base, v,
            version_name(a, base, v), next);
        agg_gen_c_upcast_step(out, p, a,
                              agg_arena_printf(a, "upcast %d of %s: version %d -> %d", v,
                                               ev->name, v, v + 1),
                              proto, u->body);
    }
    /* the chain: decode as the stored version, then every step after it */
    sb_printf(out, "/* %s stored at schema version 1..%d, read as version %d */\n", ev->name, n,
              n + 1);
    sb_printf(out,
              "static int %s__upcast(unsigned version, const char *json, size_t len, void *out,\n"
              "    inc_error *err) {\n",
              base);
    for (v = 1; v <= n; v++)
        sb_printf(out, "    %s v%d;\n", version_name(a, base, v), v);
    sb_put(out, "    int rc = -1;\n");
    for (v = 1; v <= n; v++)
        sb_printf(out, "    inc_msg_init(&%s_desc, &v%d);\n", version_name(a, base, v), v);
    sb_printf(out, "    if (version < 1 || version > %d) {\n", n);
    sb_printf(out,
              "        inc_error_set(err, INC_ERR_INTERNAL, \"schema_version\",\n"
              "                      \"%s: no upcast from schema version %%u\", version);\n",
              ev->name);
    sb_put(out, "        goto done;\n    }\n");
    for (v = 1; v <= n; v++)
        sb_printf(out,
                  "    if (version == %d &&\n"
                  "        inc_msg_from_text(&%s_desc, &v%d, json, len, %s, err) != 0)\n"
                  "        goto done;\n",
                  v, version_name(a, base, v), v, UPCAST_JSON_FLAGS);
    for (v = 1; v <= n; v++) {
        const char *next = v < n ? agg_arena_printf(a, "&v%d", v + 1) : "out";
        sb_printf(out, "    if (version <= %d && %s__up%d(&v%d, %s, err) != 0) goto done;\n", v,
                  base, v, v, next);
    }
    sb_put(out, "    rc = 0;\ndone:\n");
    for (v = n; v >= 1; v--)
        sb_printf(out, "    inc_msg_free(&%s_desc, &v%d);\n", version_name(a, base, v), v);
    sb_put(out, "    return rc;\n}\n\n");
}

void agg_gen_evo_members(sbuf *out, agg_arena *a, const char *domain, const agg_event *ev) {
    const char *base = base_name(a, domain, ev);
    int n = n_upcasts(ev);
    if (n) sb_printf(out, "    .schema_version = %d,\n", n + 1);
    if (ev->was) {
        int k = 0;
        for (const agg_name *w = ev->was; w; w = w->next) k++;
        sb_printf(out, "    .n_was = %d,\n    .was = %s__was,\n", k, base);
    }
    if (n) sb_printf(out, "    .upcast = %s__upcast,\n", base);
}
