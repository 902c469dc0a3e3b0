/* counter_twin.h - a writable twin of the generated Counter aggregate
 * (counter.agg), for the tests that change an aggregate at run time: its
 * state layout hash (snapshots of another layout) or its projection list.
 * Generated descriptors are const; the twin copies them, with an Add
 * command and the events pointing at the twin, since the runtime checks
 * that a command emits events of its own aggregate. */
#ifndef COUNTER_TWIN_H
#define COUNTER_TWIN_H

#include "counter.h"

typedef struct counter_twin {
    inc_aggregate_desc type; /* a copy of counter_counter_type */
    inc_message_desc add;    /* Add: emits `added` */
    inc_message_desc added, labeled;
    const inc_message_desc *commands[1];
    const inc_message_desc *events[2];
} counter_twin;

/* The twin, reset to a copy of the generated descriptors.  One per
 * process: its Add rule has no context pointer to find another. */
counter_twin *counter_twin_reset(void);

#endif
