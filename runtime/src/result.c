/* result.c - inc_result and recorded events: freeing them, and an event
 * as JSON (what the CLI prints). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"

void incx_recorded_free(inc_recorded_event *e) {
    if (!e) return;
    free(e->aggregate_id);
    if (e->data) {
        inc_msg_free(e->desc, e->data);
        free(e->data);
    }
    memset(e, 0, sizeof *e);
}

void inc_result_init(inc_result *r) {
    if (!r) return;
    memset(r, 0, sizeof *r);
    inc_error_clear(&r->handler_error);
}

void inc_result_free(inc_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++) incx_recorded_free(&r->events[i]);
    free(r->events);
    inc_result_init(r);
}

json_t *inc_recorded_event_to_json(const inc_recorded_event *ev) {
    char ts[INC_TIMESTAMP_TEXT_MAX];
    json_t *o = json_object();
    json_t *data = inc_msg_to_json(ev->desc, ev->data, INC_JSON_SKIP_IMPLICIT);
    if (!o || !data || inc_timestamp_format(ev->event_date, ts) != 0) goto fail;
    /* set_new steals the value even on failure */
    if (json_object_set_new(o, "event_id", json_string(ev->event_id)) ||
        json_object_set_new(o, "aggregate_id",
                            json_string(ev->aggregate_id ? ev->aggregate_id
                                                         : "")) ||
        json_object_set_new(o, "aggregate_type",
                            json_string(ev->aggregate_type)) ||
        json_object_set_new(o, "version", json_integer(ev->version)) ||
        json_object_set_new(o, "event_type", json_string(ev->event_type)) ||
        json_object_set_new(o, "event_date", json_string(ts)))
        goto fail;
    if (json_object_set_new(o, "data", data)) {
        data = NULL;
        goto fail;
    }
    return o;
fail:
    json_decref(data);
    json_decref(o);
    return NULL;
}
