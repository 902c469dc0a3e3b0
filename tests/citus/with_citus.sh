#!/usr/bin/env bash
# Run a test program against the Citus coordinator of the Citus suite
# (scripts/test starts it with scripts/citus and exports INCIDENT_CITUS_DB).
# Unset is a failure, never a skip.
[ -n "${INCIDENT_CITUS_DB:-}" ] || {
  echo "INCIDENT_CITUS_DB is not set: the Citus suite needs a Citus coordinator (scripts/citus)" >&2
  exit 1
}
export INCIDENT_DB=$INCIDENT_CITUS_DB
exec "$@"
