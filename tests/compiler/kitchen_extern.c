/* kitchen_extern.c - the extern rules of tests/golden/kitchen, written by
 * hand as a user would. */
#include "kitchen.h"

#include <incident/error.h>

int kitchen_pantry_execute_audit(const kitchen_pantry_state *state,
                                 const kitchen_audit *command, inc_event_list *out,
                                 inc_error *err) {
    if (!state->open) return inc_reject(err, "closed");
    kitchen_audited *ev = inc_event_list_add(out, &kitchen_audited_desc,
                                             command->aggregate_id, err);
    if (!ev) return -1;
    ev->ok = state->count >= 0;
    return 0;
}

int kitchen_pantry_apply_audited(kitchen_pantry_state *state,
                                 const kitchen_audited *event, inc_error *err) {
    (void)err;
    if (!event->ok) state->count = 0;
    return 0;
}
