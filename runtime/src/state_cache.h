/* state_cache.h - an app's bounded cache of aggregate states (not installed).
 *
 * Entries are taken out for the length of a command and put back after it,
 * so nothing is copied and a failed command simply drops its entry.  Each
 * entry remembers the id of the event that produced its version: the next
 * load re-reads that event with the later ones and trusts the entry only if
 * it is still there (docs/runtime.md, "State cache"). */
#ifndef INCIDENT_STATE_CACHE_H
#define INCIDENT_STATE_CACHE_H

#include <stddef.h>

#include <incident/domain.h>
#include <incident/store.h>

typedef struct incx_state_cache incx_state_cache;

/* NULL only when out of memory.  capacity 0: every put is dropped. */
incx_state_cache *incx_state_cache_new(size_t capacity);
void incx_state_cache_free(incx_state_cache *c); /* NULL-safe; frees the states */
/* Drop every entry and keep at most `capacity` from now on. */
void incx_state_cache_resize(incx_state_cache *c, size_t capacity);

/* Remove (a, id)'s entry and hand over its state (a malloc'd a->state
 * struct) and the id of its last event; NULL when there is none. */
void *incx_state_cache_take(incx_state_cache *c, const inc_aggregate_desc *a,
                            const char *id, char last_event_id[INC_UUID_TEXT_SIZE]);
/* Take ownership of `state` (a malloc'd a->state struct whose version is
 * that of event `last_event_id`) as (a, id)'s entry, evicting the least
 * recently used one when full.  Frees the state instead when the cache
 * has no room or memory runs out. */
void incx_state_cache_put(incx_state_cache *c, const inc_aggregate_desc *a,
                          const char *id, void *state,
                          const char *last_event_id);

#endif
