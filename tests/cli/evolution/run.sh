#!/usr/bin/env bash
# Schema evolution end to end (docs/evolution.md), through two domain CLIs
# built by aggc from two versions of the bank: examples/bank/bank.agg (v1)
# writes; tests/compiler/against/bank_v2.agg (v2: AccountOpened gains a
# currency through `upcast 1`, MoneyDeposited becomes `MoneyPaidIn was
# MoneyDeposited` with a defaulted channel) migrates with init, reads,
# folds, follows, rebuilds and writes the same streams; then v1 meets the
# v2 events and refuses them by name, never misreading them.
#   run.sh BANK_V1 BANK_V2
set -uo pipefail
v1=$1 v2=$2
: "${INCIDENT_DB:?INCIDENT_DB is not set: this test needs a real PostgreSQL}"
s="evo_cli_$$"
out=$(mktemp) errf=$(mktemp)
trap 'psql "$INCIDENT_DB" -qXc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1; rm -f "$out" "$errf"' EXIT
fails=0 tests=0
run() { "$@" >"$out" 2>"$errf"; echo $?; }
expect() { # expect DESCRIPTION CONDITION
  tests=$((tests + 1))
  if ! eval "$2"; then
    echo "FAIL: $1"; echo "  stdout: $(head -c 600 "$out")"; echo "  stderr: $(head -c 600 "$errf")"
    fails=$((fails + 1))
  fi
}
J() { [ -s "$out" ] && jq -es "$1" "$out" >/dev/null 2>&1; }
B1() { run "$v1" --schema "$s" "$@"; }
B2() { run "$v2" --schema "$s" "$@"; }

# ---- version 1 writes
rc=$(B1 init); expect "v1 init" '[ $rc = 0 ]'
rc=$(B1 dispatch OpenAccount '{"aggregate_id":"A1","account_number":"A1"}'); expect "v1 opens A1" '[ $rc = 0 ]'
rc=$(B1 dispatch DepositMoney '{"aggregate_id":"A1","amount":100}'); expect "v1 deposits" '[ $rc = 0 ]'
rc=$(B1 dispatch WithdrawMoney '{"aggregate_id":"A1","amount":30}'); expect "v1 withdraws" '[ $rc = 0 ]'
rc=$(B1 state Account A1); expect "v1 state: balance 70, version 3" '[ $rc = 0 ] && J ".[0].balance == 70 and .[0].version == 3"'
stored=$(psql "$INCIDENT_DB" -qXAtc "SELECT string_agg(event_type || ':' || schema_version, ',' ORDER BY version) FROM $s.events WHERE aggregate_id = 'A1'")
expect "v1 stored its events at schema version 1 ($stored)" '[ "$stored" = "AccountOpened:1,MoneyDeposited:1,MoneyWithdrawn:1" ]'

# ---- version 2 reads what version 1 stored
rc=$(B2 init); expect "v2 init on the v1 store" '[ $rc = 0 ]'
rc=$(B2 state Account A1)
expect "v2 folds the v1 stream: balance 70, version 3" '[ $rc = 0 ] && J ".[0].balance == 70 and .[0].version == 3"'
rc=$(B2 events Account A1)
expect "v2 events: the renamed event under its new name, in the current shape" \
  '[ $rc = 0 ] && J "[.[].event_type] == [\"AccountOpened\",\"MoneyPaidIn\",\"MoneyWithdrawn\"] and .[1].data.channel == \"branch\" and .[1].data.amount == 100"'
expect "v2 events: the upcast filled the currency of the version-1 AccountOpened" \
  'J ".[0].data.currency == \"EUR\" and .[0].data.account_number == \"A1\""'
rc=$(B2 follow --limit 3)
expect "v2 follow delivers the three events in the current shape" \
  '[ $rc = 0 ] && J "length == 3 and [.[].event_type] == [\"AccountOpened\",\"MoneyPaidIn\",\"MoneyWithdrawn\"] and .[0].data.currency == \"EUR\""'
rc=$(B2 rebuild bank_accounts)
expect "v2 rebuilds the projection from v1 events" '[ $rc = 0 ]'
rc=$(B2 projection bank_accounts A1)
expect "v2 projection row: balance 70" '[ $rc = 0 ] && J ".[0].balance == 70"'

# ---- version 2 writes on the old stream and a new one
rc=$(B2 dispatch DepositMoney '{"aggregate_id":"A1","amount":5}')
expect "v2 deposits on the v1 stream: version 4, MoneyPaidIn" '[ $rc = 0 ] && J ".[0].version == 4 and .[0].event_type == \"MoneyPaidIn\""'
rc=$(B2 dispatch OpenAccount '{"aggregate_id":"A2","account_number":"A2"}')
expect "v2 opens A2" '[ $rc = 0 ] && J ".[0].data.currency == \"EUR\""'
rc=$(B2 state Account A1); expect "v2 state after its own write: 75" '[ $rc = 0 ] && J ".[0].balance == 75 and .[0].version == 4"'
stored=$(psql "$INCIDENT_DB" -qXAtc "SELECT string_agg(event_type || ':' || schema_version, ',' ORDER BY aggregate_id, version) FROM $s.events WHERE event_date IS NOT NULL AND (aggregate_id = 'A2' OR version = 4)")
expect "v2 stored MoneyPaidIn at version 1 and AccountOpened at version 2 ($stored)" '[ "$stored" = "MoneyPaidIn:1,AccountOpened:2" ]'

# ---- version 1 beside version 2: refused by name, never misread
rc=$(B1 state Account A2)
expect "v1 refuses the version-2 AccountOpened (exit 1)" '[ $rc = 1 ]'
expect "the refusal names the event, its version and the program's" \
  'grep -q "AccountOpened" "$errf" && grep -q "schema version 2" "$errf" && grep -q "up to schema version 1" "$errf"'
rc=$(B1 state Account A1)
expect "v1 refuses an event type it does not know (exit 1, named)" '[ $rc = 1 ] && grep -q "MoneyPaidIn" "$errf"'
rc=$(B2 state Account A1); expect "v2 still reads everything: 75" '[ $rc = 0 ] && J ".[0].balance == 75"'

echo "$((tests - fails))/$tests passed"
[ "$fails" = 0 ]
