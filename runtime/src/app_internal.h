/* app_internal.h - what batch.c needs from the app (not installed). */
#ifndef INCIDENT_APP_INTERNAL_H
#define INCIDENT_APP_INTERNAL_H

#include <stdint.h>

#include <incident/app.h>

/* The snapshot interval that applies to aggregate type `a` (0 = never). */
int64_t inc_app_snapshot_every_of(const inc_app *app,
                                  const inc_aggregate_desc *a);
unsigned inc_app_max_retries_of(const inc_app *app);
unsigned inc_app_max_backoff_of(const inc_app *app);

#endif
