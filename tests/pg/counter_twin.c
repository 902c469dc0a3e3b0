/* counter_twin.c - the writable twin of the generated Counter aggregate
 * (see counter_twin.h). */
#include "counter_twin.h"

static counter_twin twin;

/* execute Add, emitting the twin's Added. */
static int twin_add_execute(const void *state, const void *command,
                            inc_event_list *out, inc_error *err) {
    const counter_add *c = command;
    (void)state;
    counter_added *e = inc_event_list_add(out, &twin.added, c->aggregate_id, err);
    if (!e) return -1;
    e->amount = c->amount;
    return 0;
}

counter_twin *counter_twin_reset(void) {
    twin.type = counter_counter_type;
    twin.add = counter_add_desc;
    twin.add.aggregate = &twin.type;
    twin.add.execute = twin_add_execute;
    twin.added = counter_added_desc;
    twin.added.aggregate = &twin.type;
    twin.labeled = counter_labeled_desc;
    twin.labeled.aggregate = &twin.type;
    twin.commands[0] = &twin.add;
    twin.events[0] = &twin.added;
    twin.events[1] = &twin.labeled;
    twin.type.n_commands = 1;
    twin.type.commands = twin.commands;
    twin.type.n_events = 2;
    twin.type.events = twin.events;
    return &twin;
}
