/* counter.h - a tiny hand-written domain "counter" for the storage and
 * pipeline tests, laid out exactly as aggc emits domains (domain.h): until
 * the suites switch to generated code.
 *
 *   enum Mood { calm, busy }
 *   aggregate Counter {
 *     state { total: int = 0; label: string?; ratio: float = 0;
 *             big: bool = false; label_at: timestamp?; mood: Mood = calm; }
 *     command Add     { amount: int; check amount != 0 else zero_amount; }
 *     command AddMany { amount: int; times: int;
 *                       check times >= 1 && times <= 10 else bad_times; }
 *     command Label   { label: string; at: timestamp?; }   // needs version > 0
 *     command Fail    { }                                  // fail always_fails
 *     command Noop    { }                                  // emits nothing
 *     event Added   { amount: int; }
 *     event Labeled { label: string; at: timestamp?; }
 *     projection counters { total; label; ratio; big; label_at; mood; }
 *   }
 */
#ifndef COUNTER_H
#define COUNTER_H

#include <stdbool.h>
#include <stdint.h>

#include <incident/domain.h>

#if INC_ABI_VERSION != 1
#error "counter.h was written for libincident ABI 1"
#endif

typedef enum counter_mood { COUNTER_MOOD_CALM, COUNTER_MOOD_BUSY } counter_mood;
_Static_assert(sizeof(counter_mood) == sizeof(int), "enums are int-sized");

typedef struct counter_counter_state {
    char *aggregate_id;
    int64_t version;
    inc_timestamp updated_at;
    bool has_updated_at;
    int64_t total;
    char *label;
    bool has_label;
    double ratio;
    bool big;
    inc_timestamp label_at;
    bool has_label_at;
    counter_mood mood;
} counter_counter_state;

typedef struct counter_add {
    char *aggregate_id;
    int64_t amount;
} counter_add;

typedef struct counter_add_many {
    char *aggregate_id;
    int64_t amount;
    int64_t times;
} counter_add_many;

typedef struct counter_label {
    char *aggregate_id;
    char *label;
    inc_timestamp at;
    bool has_at;
} counter_label;

typedef struct counter_fail {
    char *aggregate_id;
} counter_fail;

typedef struct counter_noop {
    char *aggregate_id;
} counter_noop;

typedef struct counter_added {
    char *aggregate_id;
    int64_t amount;
} counter_added;

typedef struct counter_labeled {
    char *aggregate_id;
    char *label;
    inc_timestamp at;
    bool has_at;
} counter_labeled;

typedef struct counter_counters_row {
    char *aggregate_id;
    int64_t total;
    char *label;
    bool has_label;
    double ratio;
    bool big;
    inc_timestamp label_at;
    bool has_label_at;
    counter_mood mood;
} counter_counters_row;

extern const inc_enum_desc counter_mood_enum;
extern const inc_message_desc counter_counter_state_desc;
extern const inc_message_desc counter_add_desc, counter_add_many_desc,
    counter_label_desc, counter_fail_desc, counter_noop_desc;
extern const inc_message_desc counter_added_desc, counter_labeled_desc;
extern const inc_message_desc counter_counters_row_desc;
extern const inc_projection_desc counter_counters_projection;
/* Not const: the snapshot tests change the layout hash at run time. */
extern inc_aggregate_desc counter_counter_type;
extern const inc_domain counter_domain;

#define COUNTER_LAYOUT_HASH UINT64_C(0x9c0f3e2d1b5a4789)

#endif
