/* core.c - the database-free core of the pipeline: initialise a state, fold
 * events into it, execute a command against it.  The stores and the
 * dispatcher build on these; unit tests of domain logic can use them
 * directly. */
#include <stdlib.h>
#include <string.h>

#include <incident/domain.h>

#include "internal.h"

/* The state's runtime-maintained fields. */
typedef struct state_fields {
    const inc_field_desc *id, *version, *updated_at;
} state_fields;

static int find_state_fields(const inc_aggregate_desc *a, state_fields *sf,
                             inc_error *err) {
    const inc_message_desc *s = a->state;
    sf->id = incx_field_implicit(s, "aggregate_id", INC_TYPE_STRING);
    sf->version = incx_field_implicit(s, "version", INC_TYPE_INT);
    sf->updated_at = incx_field_implicit(s, "updated_at", INC_TYPE_TIMESTAMP);
    if (!sf->id || !sf->version || !sf->updated_at)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "state of %s lacks an implicit aggregate_id, "
                             "version or updated_at field",
                             a->name);
    return 0;
}

int inc_state_init(const inc_aggregate_desc *a, void *state, const char *id,
                   inc_error *err) {
    state_fields sf;
    bool *has;
    inc_msg_init(a->state, state);
    if (find_state_fields(a, &sf, err) != 0) return -1;
    if (!id || !*id)
        return inc_error_set(err, INC_ERR_INVALID, "invalid_value",
                             "aggregate_id: must not be empty");
    if (!(*INC_FIELD_AT(state, sf.id, char *) = inc_strdup(id)))
        return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                             "out of memory initialising %s state", a->name);
    *INC_FIELD_AT(state, sf.version, int64_t) = 0;
    *INC_FIELD_AT(state, sf.updated_at, int64_t) = 0;
    if ((has = inc_field_has_ptr(state, sf.updated_at))) *has = false;
    return 0;
}

/* On failure of the apply rule the state may be partly updated: callers
 * discard it (inc_msg_free) rather than keep folding. */
int inc_state_apply(const inc_aggregate_desc *a, void *state,
                    const inc_message_desc *event, const void *data,
                    int64_t version, inc_timestamp at, inc_error *err) {
    inc_event_info info = {version, at, ""};
    return inc_state_apply_info(a, state, event, data, &info, err);
}

int inc_state_apply_info(const inc_aggregate_desc *a, void *state,
                         const inc_message_desc *event, const void *data,
                         const inc_event_info *info, inc_error *err) {
    int64_t version = info->version;
    inc_timestamp at = info->event_date;
    state_fields sf;
    int64_t current;
    bool *has;
    if (find_state_fields(a, &sf, err) != 0) return -1;
    current = *INC_FIELD_AT(state, sf.version, int64_t);
    if (current == INT64_MAX || version != current + 1)
        return inc_error_set(err, INC_ERR_INTERNAL, "version_gap",
                             "%s %s: event %s has version %lld but the state "
                             "is at version %lld (expected %lld)",
                             a->name,
                             *INC_FIELD_AT(state, sf.id, char *)
                                 ? *INC_FIELD_AT(state, sf.id, char *)
                                 : "(null)",
                             event->name, (long long)version,
                             (long long)current, (long long)current + 1);
    if (event->aggregate != a)
        return inc_error_set(err, INC_ERR_INTERNAL, "wrong_aggregate",
                             "event %s does not belong to aggregate %s",
                             event->name, a->name);
    if (!event->apply && !event->apply_at)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "event %s has no apply rule", event->name);
    /* updated_at is still the previous event's date while the rule runs
     * (docs/language.md, "Time") */
    if (event->apply_at ? event->apply_at(state, data, info, err) != 0
                        : event->apply(state, data, err) != 0)
        return -1;
    *INC_FIELD_AT(state, sf.version, int64_t) = version;
    *INC_FIELD_AT(state, sf.updated_at, int64_t) = at;
    if ((has = inc_field_has_ptr(state, sf.updated_at))) *has = true;
    return 0;
}

/* Every emitted event must be well-formed and belong to the command's
 * stream: a hand-written extern execute is trusted with neither. */
static int check_emitted(const inc_aggregate_desc *a,
                         const inc_message_desc *command, const void *cmd,
                         const inc_event_item *it, inc_error *err) {
    inc_error inner;
    const inc_field_desc *cid =
        incx_field_implicit(command, "aggregate_id", INC_TYPE_STRING);
    const inc_field_desc *eid =
        incx_field_implicit(it->desc, "aggregate_id", INC_TYPE_STRING);
    const char *cs, *es;
    if (it->desc->aggregate != a)
        return inc_error_set(err, INC_ERR_INTERNAL, "invalid_event",
                             "execute %s emitted %s, an event of another "
                             "aggregate",
                             command->name, it->desc->name);
    inc_error_clear(&inner);
    if (incx_msg_validate_structure(it->desc, it->data, &inner) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "invalid_event",
                             "execute %s emitted an invalid %s: %s",
                             command->name, it->desc->name, inner.message);
    cs = cid ? *INC_CFIELD_AT(cmd, cid, char *) : NULL;
    es = eid ? *INC_CFIELD_AT(it->data, eid, char *) : NULL;
    if (cs && es && strcmp(cs, es) != 0)
        return inc_error_set(err, INC_ERR_INTERNAL, "invalid_event",
                             "execute %s emitted %s for aggregate_id \"%.100s\""
                             " but the command is for \"%.100s\"",
                             command->name, it->desc->name, es, cs);
    return 0;
}

int inc_execute(const inc_aggregate_desc *a, const void *state,
                const inc_message_desc *command, const void *data,
                inc_event_list *out, inc_error *err) {
    return inc_execute_at(a, state, command, data, inc_timestamp_now(), out,
                          err);
}

int inc_execute_at(const inc_aggregate_desc *a, const void *state,
                   const inc_message_desc *command, const void *data,
                   inc_timestamp now, inc_event_list *out, inc_error *err) {
    inc_event_list tmp = INC_EVENT_LIST_INIT;
    inc_error local;
    size_t i;
    if (!err) err = &local; /* we inspect it below */
    inc_error_clear(err);
    if (command->aggregate != a)
        return inc_error_set(err, INC_ERR_INTERNAL, "wrong_aggregate",
                             "command %s does not belong to aggregate %s",
                             command->name, a->name);
    if (!command->execute && !command->execute_at)
        return inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                             "command %s has no execute rule", command->name);
    if (inc_msg_validate(command, data, err) != 0) return -1;
    if (command->execute_at ? command->execute_at(state, data, now, &tmp, err) != 0
                            : command->execute(state, data, &tmp, err) != 0) {
        inc_event_list_free(&tmp);
        /* An extern rule that fails without saying why. */
        if (err->kind == INC_OK)
            inc_error_set(err, INC_ERR_INTERNAL, "execute_failed",
                          "execute %s failed without an error",
                          command->name);
        return -1;
    }
    for (i = 0; i < tmp.count; i++) {
        if (check_emitted(a, command, data, &tmp.items[i], err) != 0) {
            inc_event_list_free(&tmp);
            return -1;
        }
    }
    if (tmp.count > 0 && out->cap - out->count < tmp.count) {
        size_t cap = out->count + tmp.count;
        inc_event_item *items = realloc(out->items, cap * sizeof *items);
        if (!items) {
            inc_event_list_free(&tmp);
            return inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                                 "out of memory collecting events");
        }
        out->items = items;
        out->cap = cap;
    }
    if (tmp.count > 0)
        memcpy(out->items + out->count, tmp.items, tmp.count * sizeof *tmp.items);
    out->count += tmp.count;
    free(tmp.items); /* the events now belong to `out` */
    return 0;
}
