#!/usr/bin/env bash
# The Citus suite's CLI checks (docs/scale-out.md), against a coordinator
# with two workers ($INCIDENT_CITUS_DB; scripts/citus starts one):
#   - init distributes the per-aggregate tables, colocated, and leaves the
#     global ones on the coordinator; a second init changes nothing;
#   - the bank and the counter domains through the domain CLI: commands,
#     rejections, several events per command, state, projections, views;
#   - every command is router-executed: a storm of CLI writers runs with
#     citus.multi_task_query_log_level = error (any multi-shard statement
#     fails), no two-phase commit is recorded, and EXPLAIN of a command's
#     statements shows one task;
#   - a storm of concurrent writers leaves contiguous versions, with events
#     on both workers; a race forced with a lock held from another
#     connection;
#   - follow delivers every event, also one whose transaction commits
#     after later events were committed (held open from another session);
#   - command ids; transfers whose processes are SIGKILLed, finished by a
#     reactor itself SIGKILLed and restarted.
# Each run uses a fresh schema (--schema), dropped at the end.
#
#   run.sh BANK_CLI COUNTER_CLI
set -uo pipefail

bank=$1
counter=$2
[ -n "${INCIDENT_CITUS_DB:-}" ] || {
  echo "INCIDENT_CITUS_DB is not set: the Citus suite needs a Citus coordinator (scripts/citus)" >&2
  exit 1
}
export INCIDENT_DB=$INCIDENT_CITUS_DB
schema=citus_t$$
export INCIDENT_SCHEMA=$schema
tmp=$(mktemp -d)
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected [$2], got [$3]"; fi
}
sql() { psql "$INCIDENT_DB" -X -q -At -v ON_ERROR_STOP=1 -c "SET search_path = $schema" -c "$1"; }
# A psql session held open on file descriptor FD, fed by `echo SQL >&FD`;
# its pid in $session.  session_close FD waits for it to finish.
session_open() {
  mkfifo "$tmp/session$1"
  psql "$INCIDENT_DB" -X -q <"$tmp/session$1" >/dev/null 2>&1 &
  session=$!
  eval "exec $1>\"\$tmp/session$1\""
  echo "SET search_path = $schema;" >&"$1"
}
session_close() { eval "exec $1>&-"; wait "$2"; }
cleanup() {
  jobs -p | xargs -r kill -9 2>/dev/null
  psql "$INCIDENT_DB" -X -q -c "ALTER SYSTEM RESET citus.recover_2pc_interval" \
    -c "SELECT pg_reload_conf()" >/dev/null 2>&1
  psql "$INCIDENT_DB" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" \
    -c "DROP SCHEMA IF EXISTS ${schema}_c CASCADE" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---------------------------------------------------------------- init
"$bank" init >"$tmp/init1" 2>&1
check "init exits 0" 0 $?
check "init reports the five distributed tables" \
  "table events: distributed by aggregate_id (Citus)
table snapshots: distributed by aggregate_id (Citus)
table command_ids: distributed by aggregate_id (Citus)
table bank_accounts: distributed by aggregate_id (Citus)
table transfers: distributed by aggregate_id (Citus)" "$(cat "$tmp/init1")"
check "all five colocated with events, by aggregate_id" \
  "bank_accounts|1
command_ids|1
events|1
snapshots|1
transfers|1" \
  "$(sql "SELECT p.logicalrelid::regclass::text, (p.colocationid = e.colocationid)::int
          FROM pg_dist_partition p, pg_dist_partition e
          WHERE e.logicalrelid = 'events'::regclass AND p.logicalrelid::regclass::text
            IN ('events','snapshots','command_ids','bank_accounts','transfers')
            AND p.partkey IS NOT NULL AND column_to_column_name(p.logicalrelid, p.partkey) = 'aggregate_id'
          ORDER BY 1")"
check "consumers, schema_version and the view stay on the coordinator" 0 \
  "$(sql "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::regclass::text
          IN ('consumers','schema_version','projection_refills','account_transfers')")"
check "unique keys carry aggregate_id" \
  "command_ids_pkey|aggregate_id, command_id
events_event_id_key|aggregate_id, event_id
events_pkey|aggregate_id, \"position\"
events_stream_version|aggregate_type, aggregate_id, version" \
  "$(sql "SELECT conname, regexp_replace(pg_get_constraintdef(oid), '^[A-Z ]+\((.*)\)$', '\1')
          FROM pg_constraint WHERE contype IN ('p','u')
            AND conrelid IN ('events'::regclass, 'command_ids'::regclass) ORDER BY 1")"
"$bank" init >"$tmp/init2" 2>&1
check "a second init exits 0 and changes nothing" "0:" "$?:$(cat "$tmp/init2")"

# ------------------------------------------------ acceptance through the CLI
"$bank" dispatch OpenAccount '{"aggregate_id":"A1"}' >/dev/null &&
  "$bank" dispatch OpenAccount '{"aggregate_id":"A2"}' >/dev/null &&
  "$bank" dispatch DepositMoney '{"aggregate_id":"A1","amount":100}' >/dev/null
check "open and deposit" 0 $?
"$bank" dispatch WithdrawMoney '{"aggregate_id":"A1","amount":1000}' >/dev/null 2>"$tmp/err"
check "a rejection exits 3" "3:rejected: no_enough_balance" "$?:$(cat "$tmp/err")"
"$bank" dispatch RequestTransfer \
  '{"aggregate_id":"T1","source_account_number":"A1","destination_account_number":"A2","amount":60}' >"$tmp/t1"
check "a transfer runs its saga inline (5 events)" "0:5" "$?:$(wc -l <"$tmp/t1")"
"$bank" dispatch RequestTransfer \
  '{"aggregate_id":"T2","source_account_number":"A1","destination_account_number":"A2","amount":500}' >/dev/null
check "state" '"balance":40' "$("$bank" state Account A1 | grep -o '"balance":[0-9]*')"
check "projection rows" "A1:40 A2:60" \
  "$("$bank" projection bank_accounts | jq -r '"\(.aggregate_id):\(.balance)"' | tr '\n' ' ' | sed 's/ $//')"
check "projection --where on a distributed table" "T2:cancelled" \
  "$("$bank" projection transfers --where status=cancelled | jq -r '"\(.aggregate_id):\(.status)"')"
"$bank" views --idle 300 >/dev/null
check "the view (on the coordinator) from the distributed log" "A1:1/60 A2:0/0" \
  "$("$bank" projection account_transfers | jq -r '"\(.account):\(.sent)/\(.sent_total)"' | tr '\n' ' ' | sed 's/ $//')"

# (the counter domain in a schema of its own)
INCIDENT_SCHEMA=${schema}_c "$counter" init >/dev/null
INCIDENT_SCHEMA=${schema}_c "$counter" dispatch AddMany '{"aggregate_id":"C1","amount":2,"times":4}' >"$tmp/many"
check "several events per command" "0:4" "$?:$(wc -l <"$tmp/many")"
check "their versions" "1 2 3 4" "$(jq -r .version <"$tmp/many" | tr '\n' ' ' | sed 's/ $//')"
check "counter state" '"total":8' "$(INCIDENT_SCHEMA=${schema}_c "$counter" state Counter C1 | grep -o '"total":[0-9]*')"

# ------------------------------------------------ command ids
"$bank" dispatch --command-id dep-1 DepositMoney '{"aggregate_id":"A2","amount":5}' >"$tmp/c1"
"$bank" dispatch --command-id dep-1 DepositMoney '{"aggregate_id":"A2","amount":5}' >"$tmp/c2"
check "a repeated command id prints the first run's events" "0:$(cat "$tmp/c1")" "$?:$(cat "$tmp/c2")"
"$bank" dispatch --command-id dep-1 DepositMoney '{"aggregate_id":"A2","amount":6}' >/dev/null 2>&1
check "the same id with other JSON exits 2" 2 $?
check "deposited once" '"balance":65' "$("$bank" state Account A2 | grep -o '"balance":[0-9]*')"

# ------------------------------------------------ router execution
# (pg_stat_statements is not needed: Citus itself refuses any statement
# that needs more than one shard under this setting)
# Two-phase commits leave a row in pg_dist_transaction until Citus's
# recovery removes it: recovery is paused for the storm, and what init's
# DDL left is cleared first.
psql "$INCIDENT_DB" -X -q -c "ALTER SYSTEM SET citus.recover_2pc_interval = -1" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
sql "SELECT recover_prepared_transactions()" >/dev/null
check "no two-phase commit recorded before the storm" 0 "$(sql "SELECT count(*) FROM pg_dist_transaction")"
rc=0
for p in 1 2 3 4; do
  (
    export PGOPTIONS="-c citus.multi_task_query_log_level=error"
    for i in $(seq 1 20); do
      "$bank" dispatch OpenAccount "{\"aggregate_id\":\"S$p-$i\"}" >/dev/null || exit 1
      # (with a command id, twice: the repeat's lookup reads one shard)
      for _ in 1 2; do
        "$bank" dispatch --command-id "d-$p-$i" DepositMoney "{\"aggregate_id\":\"S$p-$i\",\"amount\":$i}" >/dev/null || exit 1
      done
    done
  ) &
done
for j in $(jobs -p); do wait "$j" || rc=1; done
check "240 commands (80 repeated ids), none needing more than one shard" 0 $rc
check "each deposit once (4 x (1 + ... + 20))" 840 "$(sql "SELECT sum(balance) FROM bank_accounts WHERE aggregate_id LIKE 'S%'")"
check "and none after it" 0 "$(sql "SELECT count(*) FROM pg_dist_transaction")"
plan=$(sql "EXPLAIN (COSTS OFF) WITH s AS (SELECT version, state FROM snapshots WHERE aggregate_type = 'Account' AND aggregate_id = 'A1') SELECT e.version FROM events e WHERE e.aggregate_type = 'Account' AND e.aggregate_id = 'A1' AND e.version > coalesce((SELECT version FROM s), 0)")
check "EXPLAIN of the load: one task (router)" "Task Count: 1" "$(grep -o 'Task Count: [0-9]*' <<<"$plan" | head -1)"
plan=$(sql "EXPLAIN (COSTS OFF) INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type, data, event_date) VALUES (gen_random_uuid(), 'Account', 'A1', 99, 'X', '{}', now())")
check "EXPLAIN of the event INSERT: one task" "Task Count: 1" "$(grep -o 'Task Count: [0-9]*' <<<"$plan" | head -1)"

# ------------------------------------------------ a storm, and a forced race
bal() { "$bank" state Account "$1" | jq -r .balance; }
a1=$(bal A1)
a2=$(bal A2)
rc=0
for p in 1 2 3 4 5 6; do
  (
    for i in $(seq 1 15); do
      "$bank" dispatch DepositMoney "{\"aggregate_id\":\"A$(( (i % 2) + 1 ))\",\"amount\":1}" >/dev/null || exit 1
    done
  ) &
done
for j in $(jobs -p); do wait "$j" || rc=1; done
check "90 concurrent deposits on two streams all commit (conflicts retried)" 0 $rc
check "versions contiguous in every stream" 0 \
  "$(sql "SELECT count(*) FROM (SELECT aggregate_type, aggregate_id FROM events GROUP BY 1, 2 HAVING max(version) <> count(*) OR min(version) <> 1) g")"
# (each writer: 7 deposits to A1, 8 to A2)
check "balances add up" "A1:$((a1 + 42)) A2:$((a2 + 48))" \
  "$("$bank" projection bank_accounts --where aggregate_id=A1 | jq -r '"A1:\(.balance)"') $("$bank" projection bank_accounts --where aggregate_id=A2 | jq -r '"A2:\(.balance)"')"
check "events on both workers" 2 \
  "$(sql "WITH s AS MATERIALIZED (SELECT DISTINCT get_shard_id_for_distribution_column('events', aggregate_id) AS shardid FROM events)
          SELECT count(DISTINCT groupid) FROM pg_dist_placement WHERE shardid IN (SELECT shardid FROM s)")"

# Forced: six writers of one stream queue behind a lock held from another
# connection, then all go at once against the same version.
"$bank" dispatch OpenAccount '{"aggregate_id":"RACE"}' >/dev/null
session_open 9
locker=$session
echo "BEGIN; LOCK TABLE events IN EXCLUSIVE MODE;" >&9
sleep 1
for p in 1 2 3 4 5 6; do
  "$bank" dispatch DepositMoney '{"aggregate_id":"RACE","amount":10}' >/dev/null 2>"$tmp/race$p" &
done
waiting=0
for _ in $(seq 1 100); do
  waiting=$(psql "$INCIDENT_DB" -X -At -c "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '$schema.events'::regclass")
  [ "$waiting" -ge 6 ] && break
  sleep 0.1
done
check "six writers wait on the lock" 6 "$waiting"
echo "COMMIT;" >&9
session_close 9 "$locker"
rc=0
for j in $(jobs -p); do wait "$j" || rc=1; done
check "all six commit, one after another" "0:7" "$rc:$(sql "SELECT max(version) FROM events WHERE aggregate_id = 'RACE'")"
check "the race's balance" '"balance":60' "$("$bank" state Account RACE | grep -o '"balance":[0-9]*')"

# ------------------------------------------------ follow
total=$(sql "SELECT count(*) FROM events")
check "follow delivers every event once" "$total:$total" \
  "$("$bank" follow --idle 500 | wc -l):$("$bank" follow --idle 500 | jq -r .event_id | sort -u | wc -l)"
check "in commit order: each stream by version" 0 \
  "$("$bank" follow --idle 500 | jq -r '"\(.aggregate_type)/\(.aggregate_id) \(.version)"' |
     awk '{ if (($1 in v) && $2 != v[$1] + 1) bad++; v[$1] = $2 } END { print bad + 0 }')"
"$bank" follow --consumer late --idle 300 >/dev/null
# A transaction that appends and stays open while a later one commits.
session_open 8
late=$session
echo "BEGIN; INSERT INTO events (event_id, aggregate_type, aggregate_id, version, event_type, data, event_date) VALUES (gen_random_uuid(), 'Account', 'LATE', 1, 'AccountOpened', '{\"account_number\":\"LATE\"}', now());" >&8
sleep 1
"$bank" dispatch DepositMoney '{"aggregate_id":"A1","amount":1}' >/dev/null
check "while it is open, the later commit is held back" "" \
  "$("$bank" follow --consumer late --idle 500 | jq -r .aggregate_id)"
echo "COMMIT;" >&8
session_close 8 "$late"
check "after it commits, both come, the late one first" "LATE A1" \
  "$("$bank" follow --consumer late --idle 500 | jq -r .aggregate_id | tr '\n' ' ' | sed 's/ $//')"

# ------------------------------------------------ reactions after SIGKILLs
"$bank" react --idle 300 >/dev/null
"$bank" dispatch OpenAccount '{"aggregate_id":"K1"}' >/dev/null
"$bank" dispatch OpenAccount '{"aggregate_id":"K2"}' >/dev/null
"$bank" dispatch DepositMoney '{"aggregate_id":"K1","amount":1000}' >/dev/null
for i in $(seq 1 12); do
  dst=K2
  [ $((i % 4)) -eq 0 ] && dst=NOWHERE   # these are refunded
  "$bank" dispatch RequestTransfer \
    "{\"aggregate_id\":\"KT$i\",\"source_account_number\":\"K1\",\"destination_account_number\":\"$dst\",\"amount\":10}" \
    >/dev/null 2>&1 &
  pid=$!
  sleep "0.0$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
for _ in 1 2 3; do
  "$bank" react >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
"$bank" react --idle 1000 >/dev/null
check "the reactor exits 0" 0 $?
requested=$(sql "SELECT count(*) FROM events WHERE aggregate_type = 'Transfer' AND event_type = 'TransferRequested'")
check "every requested transfer ended" "$requested" \
  "$(sql "SELECT count(*) FROM transfers WHERE status IN ('completed', 'cancelled')")"
check "money sent once per transfer" 0 \
  "$(sql "SELECT count(*) FROM (SELECT data->>'transfer_id' FROM events WHERE event_type = 'MoneySent' GROUP BY 1 HAVING count(*) > 1) d")"
check "money conserved" 1000 \
  "$(sql "SELECT sum(balance) FROM bank_accounts WHERE aggregate_id IN ('K1','K2')")"
check "completed ones received, cancelled ones refunded" 0 \
  "$(sql "WITH t AS MATERIALIZED (SELECT aggregate_id, status::text FROM transfers WHERE aggregate_id LIKE 'KT%'),
               r AS MATERIALIZED (SELECT data->>'transfer_id' AS id,
                   count(*) FILTER (WHERE event_type = 'MoneyReceived') AS recv,
                   count(*) FILTER (WHERE event_type = 'MoneySent') AS sent,
                   count(*) FILTER (WHERE event_type = 'MoneySentReverted') AS rev
                 FROM events WHERE event_type IN ('MoneyReceived', 'MoneySent', 'MoneySentReverted') GROUP BY 1)
          SELECT count(*) FROM t LEFT JOIN r ON r.id = t.aggregate_id
          WHERE NOT ((t.status = 'completed' AND coalesce(r.recv, 0) = 1 AND coalesce(r.rev, 0) = 0)
                  OR (t.status = 'cancelled' AND coalesce(r.recv, 0) = 0 AND coalesce(r.sent, 0) = coalesce(r.rev, 0)))")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
