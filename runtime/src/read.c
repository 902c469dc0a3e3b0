/* read.c - reads through the descriptors: a stream's events decoded
 * (inc_app_read_stream) and a projection rebuilt from every stream of its
 * aggregate type (inc_app_rebuild). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"
#include "internal.h"

/* Pick command_id/causation_id/correlation_id out of the metadata. */
static void read_metadata(const char *text, inc_recorded_event *r) {
    r->command_id[0] = r->causation_id[0] = r->correlation_id[0] = '\0';
    if (!text) return;
    json_t *m = json_loads(text, 0, NULL);
    if (!m) return;
    const char *keys[3] = {"command_id", "causation_id", "correlation_id"};
    char *dst[3] = {r->command_id, r->causation_id, r->correlation_id};
    for (int i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(m, keys[i]));
        if (v && strlen(v) == INC_UUID_TEXT_SIZE - 1)
            memcpy(dst[i], v, INC_UUID_TEXT_SIZE);
    }
    json_decref(m);
}

typedef struct stream_ctx {
    const inc_aggregate_desc *a;
    inc_recorded_cb cb;
    void *ud;
} stream_ctx;

int incx_recorded_from_stored(const inc_aggregate_desc *a,
                              const inc_stored_event *ev,
                              inc_recorded_event *r, inc_error *err) {
    memset(r, 0, sizeof *r);
    r->data = incx_decode_event(a, ev, &r->desc, err);
    if (!r->data) return -1;
    memcpy(r->event_id, ev->event_id, INC_UUID_TEXT_SIZE);
    r->aggregate_type = a->name;
    r->aggregate_id = (char *)ev->aggregate_id; /* borrowed */
    r->version = ev->version;
    r->event_type = r->desc->name;
    r->event_date = ev->event_date;
    r->position = ev->position;
    read_metadata(ev->metadata, r);
    return 0;
}

static int stream_event(void *ud, const inc_stored_event *ev, inc_error *err) {
    stream_ctx *sc = ud;
    inc_recorded_event r;
    if (incx_recorded_from_stored(sc->a, ev, &r, err) != 0) return -1;
    int rc = sc->cb(sc->ud, &r, err);
    inc_msg_free(r.desc, r.data);
    free(r.data);
    return rc;
}

int inc_app_read_stream(inc_app *app, const inc_aggregate_desc *a,
                        const char *id, inc_recorded_cb cb, void *ud,
                        inc_error *err) {
    stream_ctx sc = {a, cb, ud};
    return inc_store_read_stream(app->store, a->name, id, 0, stream_event, &sc,
                                 err);
}

static int rebuild_event(void *ud, const inc_stored_event *ev,
                         inc_error *err) {
    incx_fold *fc = ud;
    const char *cur = fc->state ? incx_msg_id(fc->a->state, fc->state) : NULL;
    if (!cur || strcmp(cur, ev->aggregate_id) != 0) {
        inc_msg_free(fc->a->state, fc->state);
        if (inc_state_init(fc->a, fc->state, ev->aggregate_id, err) != 0)
            return -1;
    }
    if (incx_fold_event(fc, ev, err) != 0) return -1;
    fc->last.version = ev->version;
    memcpy(fc->last.event_id, ev->event_id, INC_UUID_TEXT_SIZE);
    fc->last.event_date = ev->event_date;
    return 0;
}

static int rebuild_row(void *ud, void *row, inc_row_meta *meta,
                       inc_error *err) {
    incx_fold *fc = ud;
    if (incx_project_row(fc->p, fc->state, row,
                         incx_msg_id(fc->a->state, fc->state), err) != 0)
        return -1;
    *meta = fc->last;
    return 1;
}

static void rebuild_progress(void *ud, int64_t done, int64_t total) {
    incx_fold *fc = ud;
    if (fc->progress) fc->progress(fc->progress_ud, done, total);
}

int inc_app_rebuild(inc_app *app, const inc_projection_desc *p,
                    void (*progress)(void *ud, int64_t done, int64_t total),
                    void *ud, inc_error *err) {
    incx_fold fc;
    memset(&fc, 0, sizeof fc);
    fc.a = p->aggregate;
    fc.p = p;
    fc.progress = progress;
    fc.progress_ud = ud;
    fc.state = malloc(fc.a->state->size);
    if (!fc.state) return incx_oom(err);
    inc_msg_init(fc.a->state, fc.state); /* aggregate_id NULL: "no aggregate yet" */
    inc_rebuild_cbs cbs = {rebuild_event, rebuild_row, rebuild_progress, &fc};
    int rc = inc_store_rebuild(app->store, p, &cbs, err);
    inc_msg_free(fc.a->state, fc.state);
    free(fc.state);
    return rc;
}
