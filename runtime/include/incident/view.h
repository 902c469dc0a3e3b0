/* view.h - keeping a domain's views up to date (docs/runtime.md "Views").
 *
 * A view (declared with `view` in the .agg file, described by
 * inc_view_desc in <incident/domain.h>) is a table with its own key, fed
 * by events of any aggregates.  It is not written by commands: a consumer
 * named "view:NAME" (<incident/subscription.h>) applies each event's
 * statement and moves its checkpoint in one transaction, so every event
 * counts exactly once however often the maintainer is killed and
 * restarted, and `consumers` shows each view's lag.  PostgreSQL only (the
 * memory store cannot run a consumer's statements). */
#ifndef INCIDENT_VIEW_H
#define INCIDENT_VIEW_H

#include <stdint.h>

#include <incident/domain.h>
#include <incident/store.h>
#include <incident/subscription.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest view consumer name: "view:" and the view's name. */
#define INC_VIEW_CONSUMER_MAX 200

/* Keep every view of `d` up to date (or only `only`, when not NULL): the
 * run options of inc_consumer_run (limit: events handled over all views;
 * idle_ms: stop once no view got anything for that long; stop).  Lost
 * connections and checkpoint conflicts (another maintainer) are retried;
 * *handled (may be NULL) counts the events applied. */
INC_API int inc_views_run(inc_store *s, const inc_domain *d,
                          const inc_view_desc *only,
                          const inc_consumer_run_options *ro,
                          int64_t *handled, inc_error *err);

/* Recompute view `v` from the whole log: its checkpoint goes back to the
 * beginning, and the first batch read from there empties the table in its
 * own transaction, so readers see the old rows until the new ones commit
 * batch by batch; then it is caught up as inc_views_run would.  progress
 * (may be NULL) gets the events applied so far and the log's length. */
INC_API int inc_view_rebuild(inc_store *s, const inc_domain *d,
                             const inc_view_desc *v,
                             void (*progress)(void *ud, int64_t done,
                                              int64_t total),
                             void *ud, inc_error *err);

#ifdef __cplusplus
}
#endif
#endif
