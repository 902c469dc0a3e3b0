/* counter_rules.c - the extern rule of the counter test domain
 * (counter.agg): AddMany emits `times` Added events, a loop the language
 * does not express.  An Added that would overflow the total is refused by
 * the generated apply (integer_overflow), so the whole command is. */
#include "counter.h"

int counter_counter_execute_add_many(const counter_counter_state *state,
                                     const counter_add_many *command,
                                     inc_event_list *out, inc_error *err) {
    (void)state;
    for (int64_t i = 0; i < command->times; i++) {
        counter_added *e = inc_event_list_add(out, &counter_added_desc,
                                              command->aggregate_id, err);
        if (!e) return -1;
        e->amount = command->amount;
    }
    return 0;
}
