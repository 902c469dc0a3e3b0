/* event_list.c - the growable list of events an execute rule emits.
 *
 * Each item owns a desc->size struct initialised with inc_msg_init and the
 * command's aggregate_id, ready for the generated code to fill in. */
#include <stdlib.h>

#include <incident/domain.h>

#include "internal.h"

void inc_event_list_init(inc_event_list *l) {
    l->count = l->cap = 0;
    l->items = NULL;
}

void *inc_event_list_add(inc_event_list *l, const inc_message_desc *d,
                         const char *aggregate_id, inc_error *err) {
    const inc_field_desc *id =
        incx_field_implicit(d, "aggregate_id", INC_TYPE_STRING);
    void *data;
    if (!id) {
        inc_error_set(err, INC_ERR_INTERNAL, "bad_descriptor",
                      "%s has no implicit aggregate_id field", d->name);
        return NULL;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        inc_event_item *items = realloc(l->items, cap * sizeof *items);
        if (!items) goto oom;
        l->items = items;
        l->cap = cap;
    }
    if (!(data = malloc(d->size))) goto oom;
    inc_msg_init(d, data);
    if (aggregate_id &&
        !(*INC_FIELD_AT(data, id, char *) = inc_strdup(aggregate_id))) {
        inc_msg_free(d, data);
        free(data);
        goto oom;
    }
    l->items[l->count].desc = d;
    l->items[l->count].data = data;
    l->count++;
    return data;
oom:
    inc_error_set(err, INC_ERR_INTERNAL, "out_of_memory",
                  "out of memory adding a %s event", d->name);
    return NULL;
}

void inc_event_list_clear(inc_event_list *l) {
    size_t i;
    if (!l) return;
    for (i = 0; i < l->count; i++) {
        inc_msg_free(l->items[i].desc, l->items[i].data);
        free(l->items[i].data);
    }
    l->count = 0;
}

void inc_event_list_free(inc_event_list *l) {
    if (!l) return;
    inc_event_list_clear(l);
    free(l->items);
    l->items = NULL;
    l->cap = 0;
}
