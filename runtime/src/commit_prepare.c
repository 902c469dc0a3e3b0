/* commit_prepare.c - from the events a command emitted to one inc_commit:
 * the new state (the events applied to a copy), event ids, versions and
 * JSON, every projection row of the aggregate, a snapshot when one is due,
 * and the events' metadata.  inc_dispatch and inc_dispatch_batch commit
 * what this prepares; the store writes it in one transaction. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"
#include "internal.h"

static char *dump_compact(json_t *j) {
    if (!j) return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

void incx_work_free(const inc_aggregate_desc *a, incx_work *w) {
    incx_state_drop(a, w->next);
    if (w->data_json)
        for (size_t i = 0; i < w->events.count; i++) free(w->data_json[i]);
    free(w->data_json);
    inc_event_list_free(&w->events);
    free(w->stored);
    for (size_t i = 0; i < w->n_rows; i++) {
        const inc_projection_desc *p = w->rows[i].projection;
        inc_msg_free(p->row, (void *)w->rows[i].row);
        free((void *)w->rows[i].row);
    }
    free(w->rows);
    free(w->snapshot);
    free(w->positions);
    memset(w, 0, sizeof *w);
}

int incx_project_row(const inc_projection_desc *p, const void *state,
                     void *row, const char *id, inc_error *err) {
    if (!p->project)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "projection %s has no project function", p->name);
    if (p->project(state, row, err) != 0) return -1;
    const inc_field_desc *f =
        incx_field_implicit(p->row, "aggregate_id", INC_TYPE_STRING);
    if (f && !*INC_FIELD_AT(row, f, char *) &&
        inc_str_set(INC_FIELD_AT(row, f, char *), id, err) != 0)
        return -1;
    return 0;
}

/* Every projection row of the aggregate, from the new state w->next,
 * stamped with the last event (version v1). */
static int project_rows(const inc_aggregate_desc *a, const char *id,
                        incx_work *w, int64_t v1, inc_timestamp now,
                        inc_error *err) {
    size_t n = w->events.count;
    if (a->n_projections &&
        !(w->rows = calloc(a->n_projections, sizeof *w->rows)))
        return incx_oom(err);
    for (size_t i = 0; i < a->n_projections; i++) {
        const inc_projection_desc *p = a->projections[i];
        void *row = malloc(p->row->size);
        if (!row) return incx_oom(err);
        inc_msg_init(p->row, row);
        w->rows[i].projection = p;
        w->rows[i].row = row;
        w->n_rows++;
        if (incx_project_row(p, w->next, row, id, err) != 0) return -1;
        w->rows[i].meta.version = v1;
        memcpy(w->rows[i].meta.event_id, w->stored[n - 1].event_id,
               INC_UUID_TEXT_SIZE);
        w->rows[i].meta.event_date = now;
    }
    return 0;
}

int incx_work_prepare(inc_app *app, const inc_aggregate_desc *a,
                      const char *id, const void *state, const char *metadata,
                      incx_work *w, inc_commit *c, inc_error *err) {
    size_t n = w->events.count;
    /* The new state: a copy, so a failing apply leaves nothing half-done. */
    if (!(w->next = malloc(a->state->size))) return incx_oom(err);
    if (inc_msg_copy(a->state, w->next, state, err) != 0) {
        free(w->next);
        w->next = NULL;
        return -1;
    }
    int64_t v0 = incx_state_version(a, state), v1 = v0 + (int64_t)n;
    /* the attempt's time (set before execute); a caller that did not set
     * one gets the clock's, so no event is ever dated 1970 */
    inc_timestamp now = w->now ? w->now : inc_timestamp_now();
    w->stored = calloc(n, sizeof *w->stored);
    w->data_json = calloc(n, sizeof *w->data_json);
    w->positions = calloc(n, sizeof *w->positions);
    if (!w->stored || !w->data_json || !w->positions) return incx_oom(err);
    for (size_t i = 0; i < n; i++) {
        const inc_event_item *it = &w->events.items[i];
        inc_stored_event *e = &w->stored[i];
        /* the id first: an apply rule may read event.event_id */
        if (inc_uuid_v7(e->event_id, err) != 0) return -1;
        inc_event_info info = {v0 + 1 + (int64_t)i, now, e->event_id};
        if (inc_state_apply_info(a, w->next, it->desc, it->data, &info, err) !=
            0)
            return -1;
        w->data_json[i] =
            inc_msg_to_text(it->desc, it->data, INC_JSON_SKIP_IMPLICIT, NULL);
        if (!w->data_json[i]) return incx_oom(err);
        e->aggregate_type = a->name;
        e->aggregate_id = id;
        e->version = v0 + 1 + (int64_t)i;
        e->event_type = it->desc->name;
        e->data = w->data_json[i];
        e->metadata = metadata;
        e->event_date = now;
        e->schema_version = it->desc->schema_version; /* 0 is stored as 1 */
    }

    if (project_rows(a, id, w, v1, now, err) != 0) return -1;

    /* A snapshot whenever this commit crosses a multiple of `every`. */
    int64_t every = incx_snapshot_every(app, a);
    if (every > 0 && v1 / every > v0 / every &&
        !(w->snapshot = inc_msg_to_text(a->state, w->next, 0, NULL)))
        return incx_oom(err);

    memset(c, 0, sizeof *c);
    c->aggregate = a;
    c->aggregate_id = id;
    c->n_events = n;
    c->events = w->stored;
    c->n_rows = w->n_rows;
    c->rows = w->rows;
    c->snapshot_json = w->snapshot;
    c->snapshot_version = v1;
    c->positions = w->positions;
    return 0;
}

/* Whether s needs no JSON escaping (ids and .agg names always). */
static bool plain(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

char *incx_metadata_text(const char *command_id, const char *command_type,
                         const char *causation, const char *correlation) {
    if (!correlation) correlation = command_id;
    if (plain(command_id) && plain(command_type) && plain(correlation) &&
        (!causation || plain(causation))) {
        /* the common case, without building a jansson object */
        size_t n = strlen(command_id) + strlen(command_type) +
                   strlen(correlation) + (causation ? strlen(causation) : 0) + 128;
        char *out = malloc(n);
        if (!out) return NULL;
        snprintf(out, n,
                 "{\"command_id\":\"%s\",\"command_type\":\"%s\","
                 "\"correlation_id\":\"%s\"%s%s%s,\"durable_handlers\":true}",
                 command_id, command_type, correlation,
                 causation ? ",\"causation_id\":\"" : "",
                 causation ? causation : "", causation ? "\"" : "");
        return out;
    }
    json_t *m = json_object();
    if (!m) return NULL;
    json_object_set_new(m, "command_id", json_string(command_id));
    json_object_set_new(m, "command_type", json_string(command_type));
    json_object_set_new(m, "correlation_id", json_string(correlation));
    if (causation) json_object_set_new(m, "causation_id", json_string(causation));
    json_object_set_new(m, "durable_handlers", json_true());
    return dump_compact(m);
}
