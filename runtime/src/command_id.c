/* command_id.c - idempotent commands: a command id (a caller's, or one an
 * event handler's dispatch derives), the canonical payload it is recorded
 * with, and a repeat's answer (the events the first run recorded, read
 * back from the store, or the rejection recorded under the id).  The store records
 * the id in the command's own commit (inc_commit.command_id); see
 * docs/runtime.md, "Idempotent commands". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <incident/app.h>
#include <incident/gen.h>

#include "app_internal.h"
#include "internal.h"
#include "store_util.h"

int incx_cmdid_make(incx_cmdid *c, const char *id, const inc_message_desc *cmd,
                    const void *data, inc_error *err) {
    memset(c, 0, sizeof *c);
    if (!id || !*id || strlen(id) > INC_COMMAND_ID_MAX)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_command_id",
                             "a command id is 1 to %d bytes",
                             INC_COMMAND_ID_MAX);
    if (incx_store_check_text(id, "command id", err) != 0) return -1;
    c->id = id;
    c->type = cmd->name;
    c->aggregate_id = incx_msg_id(cmd, data);
    /* canonical: every field, in descriptor order, one spelling */
    if (!(c->payload = inc_msg_to_text(cmd, data, 0, NULL)))
        return incx_oom(err);
    return 0;
}

void incx_cmdid_free(incx_cmdid *c) {
    free(c->payload);
    c->payload = NULL;
}

typedef struct replay {
    const incx_cmdid *want;
    const inc_domain *d;
    const inc_aggregate_desc *a;
    char *aggregate_id;
    int64_t first, n;
    inc_result *out;
    size_t got;
    bool rejected;
    char rejection[INC_ERROR_CODE_MAX];
} replay;

static int on_record(void *ud, const inc_command_record *r, inc_error *err) {
    replay *rp = ud;
    if (strcmp(r->command_type, rp->want->type) != 0 ||
        strcmp(r->payload, rp->want->payload) != 0)
        return inc_error_set(err, INC_ERR_INVALID, "command_id_reused",
                             "command id '%s' was used for another command "
                             "(%s %s)",
                             rp->want->id, r->command_type, r->payload);
    if (!(rp->a = inc_domain_aggregate(rp->d, r->aggregate_type)))
        return inc_error_set(err, INC_ERR_INTERNAL, "unknown_aggregate",
                             "command id '%s' names aggregate %s, not in "
                             "the domain",
                             rp->want->id, r->aggregate_type);
    if (r->rejection) {
        rp->rejected = true;
        snprintf(rp->rejection, sizeof rp->rejection, "%s", r->rejection);
        return 0;
    }
    if (!(rp->aggregate_id = inc_strdup(r->aggregate_id))) return incx_oom(err);
    rp->first = r->first_version;
    rp->n = r->n_events;
    return 0;
}

static int on_event(void *ud, const inc_stored_event *ev, inc_error *err) {
    replay *rp = ud;
    /* the stream goes on after the command's events: skip the rest */
    if (ev->version >= rp->first + rp->n) return 0;
    inc_result *out = rp->out;
    if (out->count == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        inc_recorded_event *e = realloc(out->events, cap * sizeof *e);
        if (!e) return incx_oom(err);
        out->events = e;
        out->cap = cap;
    }
    inc_recorded_event *r = &out->events[out->count];
    if (incx_recorded_from_stored(rp->a, ev, r, err) != 0) return -1;
    if (!(r->aggregate_id = inc_strdup(ev->aggregate_id))) {
        r->aggregate_id = NULL;
        incx_recorded_free(r);
        return incx_oom(err);
    }
    out->count++;
    rp->got++;
    return 0;
}

int incx_command_replay(inc_app *app, const incx_cmdid *c, inc_result *out,
                        inc_error *err) {
    replay rp;
    memset(&rp, 0, sizeof rp);
    rp.want = c;
    rp.d = app->d;
    rp.out = out;
    bool found;
    int rc = inc_store_command_get_in(app->store, c->aggregate_id, c->id,
                                      on_record, &rp, &found, err);
    if (rc == 0 && found && out && rp.n > 0) {
        size_t before = out->count;
        rc = inc_store_read_stream(app->store, rp.a->name, rp.aggregate_id,
                                   rp.first - 1, on_event, &rp, err);
        if (rc == 0 && rp.got != (size_t)rp.n)
            rc = inc_error_set(err, INC_ERR_INTERNAL, "events_missing",
                               "command id '%s': %lld events recorded, %zu "
                               "found",
                               c->id, (long long)rp.n, rp.got);
        if (rc != 0) { /* leave `out` as it was */
            while (out->count > before)
                incx_recorded_free(&out->events[--out->count]);
        } else {
            out->n_direct += rp.got;
        }
    }
    free(rp.aggregate_id);
    if (rc != 0) return -1;
    if (found && rp.rejected)
        return inc_error_set(err, INC_ERR_REJECTED, rp.rejection,
                             "%s (the outcome recorded for command id '%s')",
                             rp.rejection, c->id);
    return found ? 1 : 0;
}
