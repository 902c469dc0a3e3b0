/* cli_describe.c - the part of the domain CLI's --help that describes the
 * domain (docs/cli.md): every command's, event's and projection's fields
 * with their types, read from the descriptors, so a user can write the
 * JSON of a command without opening the .agg file. */
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"

/* A field's type as the .agg file spells it ("int", "Priority",
 * "list<Line>"); records and lists carry their spelling. */
static const char *type_name(const inc_field_desc *f) {
    const inc_type_desc *td = inc_field_type_desc(f);
    switch (f->type) {
    case INC_TYPE_INT: return "int";
    case INC_TYPE_FLOAT: return "float";
    case INC_TYPE_BOOL: return "bool";
    case INC_TYPE_STRING: return "string";
    case INC_TYPE_TIMESTAMP: return "timestamp";
    case INC_TYPE_ENUM: return f->enum_desc ? f->enum_desc->name : "enum";
    case INC_TYPE_RECORD: return td ? td->head.name : "record";
    case INC_TYPE_LIST: return td ? td->head.name : "list";
    }
    return "?";
}

/* "{name: type, note: string?, n: int = default}"; implicit fields only
 * when `implicit` (a command's aggregate_id is part of its JSON, an
 * event's is not). */
static void print_fields(FILE *out, const inc_message_desc *m, bool implicit) {
    const char *sep = "";
    fputc('{', out);
    for (size_t i = 0; i < m->n_fields; i++) {
        const inc_field_desc *f = &m->fields[i];
        if ((f->flags & INC_FIELD_IMPLICIT) && !implicit) continue;
        fprintf(out, "%s%s: %s%s%s", sep, f->name, type_name(f),
                (f->flags & INC_FIELD_OPTIONAL) ? "?" : "",
                (f->flags & INC_FIELD_DEFAULTED) ? " (default)" : "");
        sep = ", ";
    }
    fputs("}\n", out);
}

/* "  Name (Aggregate) {fields}" for each message of a table. */
static void print_messages(FILE *out, size_t n,
                           const inc_message_desc *const *msgs, bool implicit) {
    for (size_t i = 0; i < n; i++) {
        const inc_message_desc *m = msgs[i];
        fprintf(out, "  %s (%s) ", m->name,
                m->aggregate ? m->aggregate->name : "?");
        print_fields(out, m, implicit);
    }
}

void incx_cli_describe(const inc_domain *d, FILE *out) {
    fprintf(out, "\ncommands (JSON fields; T? may be null or left out, "
                 "(default) may be left out):\n");
    print_messages(out, d->n_commands, d->commands, true);
    fprintf(out, "\nevents (the \"data\" of each event line):\n");
    print_messages(out, d->n_events, d->events, false);
    if (d->n_enums) fprintf(out, "\nenums:\n");
    for (size_t i = 0; i < d->n_enums; i++) {
        const inc_enum_desc *e = d->enums[i];
        fprintf(out, "  %s:", e->name);
        for (size_t k = 0; k < e->n_members; k++)
            fprintf(out, "%s %s", k ? "," : "", e->members[k]);
        fputc('\n', out);
    }
    fprintf(out, "\nprojections (columns; also version, event_id, "
                 "event_date):\n");
    for (size_t i = 0; i < d->n_projections; i++) {
        const inc_projection_desc *p = d->projections[i];
        fprintf(out, "  %s (%s) ", p->name,
                p->aggregate ? p->aggregate->name : "?");
        print_fields(out, p->row, true);
    }
    if (d->n_views)
        fprintf(out, "\nviews (columns, the key first; also version, "
                     "event_id, event_date):\n");
    for (size_t i = 0; i < d->n_views; i++) {
        const inc_view_desc *v = d->views[i];
        fprintf(out, "  %s ", v->name);
        print_fields(out, v->table->row, true);
    }
}
