#!/usr/bin/env bash
# Views under a storm (docs/runtime.md "Views"): writers dispatch to two
# aggregates at once while the view maintainer (`views`) is SIGKILLed and
# restarted again and again; once it has caught up, the view equals its
# recomputation from the event log (every event counted exactly once, the
# deletes in log order), also after `rebuild`; `consumers` shows the view
# with lag 0; `projection` queries the view; a view is not written by a
# command's transaction.
#   run.sh LEDGER_CLI
set -uo pipefail
cli=$1
: "${INCIDENT_DB:?INCIDENT_DB is not set: this test needs a real PostgreSQL}"
schema="views_$$"
tmp=$(mktemp -d)
maint=
cleanup() {
  [ -n "$maint" ] && kill -9 "$maint" 2>/dev/null
  psql "$INCIDENT_DB" -qXc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
L() { "$cli" --schema "$schema" "$@"; }
fails=0 tests=0
expect() { # expect DESCRIPTION CONDITION
  tests=$((tests + 1))
  if ! eval "$2"; then echo "FAIL: $1"; fails=$((fails + 1)); fi
}

L init || exit 1
L dispatch Pay '{"aggregate_id":"W1","payee":"W2","amount":5,"note":"first"}' >/dev/null || exit 1
expect "a command does not write the view" '[ -z "$(L projection flows)" ]'

# writers: random payments, refunds and closes over eight wallets
writer() {
  local w=$1 i r a b amt
  RANDOM=$((w * 7919))
  for i in $(seq 1 45); do
    a="W$((RANDOM % 8 + 1))" b="W$((RANDOM % 8 + 1))" amt=$((RANDOM % 50 + 1))
    r=$((RANDOM % 20))
    if [ $r -lt 13 ]; then
      if [ $((RANDOM % 3)) = 0 ]; then
        L dispatch Pay "{\"aggregate_id\":\"$a\",\"payee\":\"$b\",\"amount\":$amt}"
      else
        L dispatch Pay "{\"aggregate_id\":\"$a\",\"payee\":\"$b\",\"amount\":$amt,\"note\":\"n$w-$i 'q;\\\"\"}"
      fi
    elif [ $r -lt 19 ]; then
      L dispatch Refund "{\"aggregate_id\":\"S$w\",\"wallet\":\"$a\",\"amount\":$amt}"
    else
      L dispatch Close "{\"aggregate_id\":\"$a\"}"
    fi
  done >/dev/null 2>&1
}
pids=()
for w in 1 2 3 4; do writer $w & pids+=($!); done

# the maintainer (the program itself: $! is its pid), killed with SIGKILL
# every 0.1-0.4 s while writers run
kills=0
alive() { for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while alive; do
  "$cli" --schema "$schema" views >/dev/null 2>"$tmp/maint.err" &
  maint=$!
  sleep "0.$((RANDOM % 4 + 1))"
  kill -9 "$maint" 2>/dev/null && kills=$((kills + 1))
  wait "$maint" 2>/dev/null
  maint=
done
for p in "${pids[@]}"; do wait "$p"; done
expect "the maintainer was killed during the storm ($kills times)" '[ $kills -ge 3 ]'

L views --idle 500 >/dev/null 2>"$tmp/final.err"
expect "the maintainer catches up and exits 0" '[ $? = 0 ]'
n_events=$(L follow --idle 300 | tee "$tmp/log" | wc -l)
expect "the storm wrote events ($n_events)" '[ "$n_events" -gt 100 ]'

# the recomputation: the log in commit order through the same rules
recompute() {
  jq -s -c '
    def row: {out_count:0,out_total:0,in_count:0,in_total:0,refunds:0,
              last_note:null,tier:"none",weight:0.5};
    def upd($k; f): .[$k] = ((.[$k] // row) | f);
    reduce .[] as $e ({};
      if $e.event_type == "Paid" then
        upd($e.aggregate_id; .out_count += 1 | .out_total += $e.data.amount
                             | .last_note = ($e.data.note // null))
        | upd($e.data.payee; .in_count += 1 | .in_total += $e.data.amount
                             | .tier = "gold" | .weight += 1.5)
      elif $e.event_type == "Refunded" then
        upd($e.data.wallet; .refunds += 1 | .out_total -= $e.data.amount)
      elif $e.event_type == "Closed" then del(.[$e.aggregate_id])
      else . end)
    | to_entries | sort_by(.key) | map({party: .key} + .value)' "$1"
}
actual() {
  L projection flows | jq -s -c 'map(del(.version, .event_id, .event_date))'
}
# the view keyed by an expression (aggregate_id + "->" + event.payee)
recompute_pairs() {
  jq -s -c 'reduce .[] as $e ({};
      if $e.event_type == "Paid" then
        .[$e.aggregate_id + "->" + $e.data.payee] |=
          ((. // {count: 0, total: 0}) | .count += 1 | .total += $e.data.amount)
      else . end)
    | to_entries | sort_by(.key) | map({pair: .key} + .value)' "$1"
}
actual_pairs() {
  L projection pairs | jq -s -c 'map(del(.version, .event_id, .event_date))'
}
recompute "$tmp/log" >"$tmp/want"
actual >"$tmp/got"
expect "view == recomputation from the events" 'cmp -s "$tmp/want" "$tmp/got"'
recompute_pairs "$tmp/log" >"$tmp/want_pairs"
actual_pairs >"$tmp/got_pairs"
expect "the view keyed by an expression == its recomputation" '[ "$(jq length "$tmp/got_pairs")" -ge 2 ] && cmp -s "$tmp/want_pairs" "$tmp/got_pairs"'
if ! cmp -s "$tmp/want_pairs" "$tmp/got_pairs"; then
  diff <(jq . "$tmp/want_pairs") <(jq . "$tmp/got_pairs") | head -20
fi
expect "the view has rows and a delete happened" '[ "$(jq length "$tmp/got")" -ge 1 ] && grep -q "\"event_type\":\"Closed\"" "$tmp/log"'
if ! cmp -s "$tmp/want" "$tmp/got"; then
  diff <(jq . "$tmp/want") <(jq . "$tmp/got") | head -40
  cat "$tmp/maint.err" "$tmp/final.err" | head -5
fi
lag=$(L consumers | jq -r 'select(.consumer == "view:flows") | .lag')
expect "consumers shows the view, lag 0 ($lag)" '[ "$lag" = 0 ]'

# a new event reaches the view through the maintainer only
L dispatch Pay '{"aggregate_id":"W9","payee":"W8","amount":7}' >/dev/null
expect "not before the maintainer runs" '[ -z "$(L projection flows W9)" ]'
lag=$(L consumers | jq -r 'select(.consumer == "view:flows") | .lag')
expect "lag counts it ($lag)" '[ "$lag" -ge 1 ]'
L views --limit 1 >/dev/null
expect "then it does" '[ "$(L projection flows W9 | jq .out_total)" = 7 ]'
L follow --idle 200 >"$tmp/log"

# rebuild: the same rows again from the whole log
L rebuild flows 2>/dev/null
expect "rebuild exits 0" '[ $? = 0 ]'
recompute "$tmp/log" >"$tmp/want"
actual >"$tmp/got"
expect "rebuilt view == recomputation" 'cmp -s "$tmp/want" "$tmp/got"'
L rebuild pairs 2>/dev/null
recompute_pairs "$tmp/log" >"$tmp/want_pairs"
actual_pairs >"$tmp/got_pairs"
expect "rebuilt expression-keyed view == recomputation" 'cmp -s "$tmp/want_pairs" "$tmp/got_pairs"'

# rebuilds while a maintainer runs and writers write: the table is emptied
# by whichever of them reads from the beginning first, never added to
"$cli" --schema "$schema" views >/dev/null 2>"$tmp/maint.err" &
maint=$!
for i in 1 2 3 4; do
  L dispatch Pay "{\"aggregate_id\":\"V$i\",\"payee\":\"W7\",\"amount\":$i}" >/dev/null 2>&1
  L rebuild flows 2>/dev/null || echo "rebuild $i failed"
done
sleep 0.5
kill -TERM "$maint"; wait "$maint"; rc=$?; maint=
expect "the maintainer stops on SIGTERM with exit 0 ($rc)" '[ $rc = 0 ]'
L views --idle 300 >/dev/null
L follow --idle 200 >"$tmp/log"
recompute "$tmp/log" >"$tmp/want"
actual >"$tmp/got"
expect "view == recomputation after rebuilds racing a maintainer" 'cmp -s "$tmp/want" "$tmp/got"'

# queries on a view: by a column, ordered, limited; the key as ID
top=$(L projection flows --where tier=gold --order -in_total --limit 2 | jq -r .party | tr '\n' ' ')
want=$(jq -r '[.[] | select(.tier == "gold")] | sort_by(-.in_total, .party) | .[:2] | .[].party' "$tmp/want" | tr '\n' ' ')
expect "projection flows --where tier=gold --order -in_total --limit 2 ($top)" '[ -n "$top" ] && [ "$top" = "$want" ]'
expect "projection flows W8 (the key)" '[ "$(L projection flows W8 | jq -r .party)" = W8 ]'
expect "--where on a view's unknown column exits 2" 'L projection flows --where nope=1 2>/dev/null; [ $? = 2 ]'
expect "--help lists the view" 'L --help | grep -q "^  flows {party: string, out_count: int (default)"'

echo "$((tests - fails))/$tests passed (maintainer killed $kills times, $n_events events)"
[ "$fails" = 0 ]
