#!/usr/bin/env bash
# Namespaces (docs/cli.md, "Schemas"): two domains, and two copies of one
# domain, in one PostgreSQL database, each in its own schema chosen with
# --schema or INCIDENT_SCHEMA; the one-line message before `init`; a bad
# schema name refused before the database is contacted.
#   run.sh COUNTER_CLI NOTES_CLI
set -uo pipefail
counter=$1 notes=$2
: "${INCIDENT_DB:?INCIDENT_DB is not set: this test needs a real PostgreSQL}"
a="ns_a_$$" b="ns_b_$$" n="ns_notes_$$"
trap 'for s in $a $b $n; do psql "$INCIDENT_DB" -qXc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1; done; rm -f "$out" "$errf"' EXIT
fails=0 tests=0
out=$(mktemp) errf=$(mktemp)
run() { "$@" >"$out" 2>"$errf"; echo $?; }
expect() { # expect DESCRIPTION CONDITION
  tests=$((tests + 1))
  if ! eval "$2"; then
    echo "FAIL: $1"; echo "  stdout: $(head -c 400 "$out")"; echo "  stderr: $(head -c 600 "$errf")"
    fails=$((fails + 1))
  fi
}
J() { [ -s "$out" ] && jq -e "$1" "$out" >/dev/null 2>&1; }

# before init: one line that says to run init, exit 1, no SQL
rc=$(run "$counter" --schema "$a" dispatch Add '{"aggregate_id":"C1","amount":1}')
expect "dispatch before init exits 1" '[ $rc = 1 ]'
expect "one line naming init" '[ "$(wc -l < "$errf")" = 1 ] && grep -q "run .*--schema $a init" "$errf"'
expect "no raw SQL error" '! grep -qi "relation\|LINE\|\\^" "$errf"'
rc=$(run "$counter" --schema "$a" state Counter C1)
expect "state before init: the same line" '[ $rc = 1 ] && [ "$(wc -l < "$errf")" = 1 ] && grep -q "not initialised" "$errf"'
rc=$(run "$counter" --schema "$a" projection counters)
expect "projection before init: the same line" '[ $rc = 1 ] && grep -q "not initialised" "$errf"'
rc=$(run "$counter" --schema "$a" consumers)
expect "consumers before init: the same line" '[ $rc = 1 ] && [ "$(wc -l < "$errf")" = 1 ] && grep -q "not initialised" "$errf"'

# bad names: exit 2 before any connection (--db points nowhere)
for bad in 'x"; DROP TABLE events; --' 'a.b' '1abc' '' "$(printf 'x%.0s' {1..64})"; do
  rc=$(run "$counter" --db "host=/nonexistent" --schema "$bad" state Counter C1)
  expect "schema name '$bad' refused (exit 2)" '[ $rc = 2 ] && grep -q "schema" "$errf"'
done
rc=$(run env INCIDENT_SCHEMA='bad name' "$counter" --db "host=/nonexistent" state Counter C1)
expect "a bad INCIDENT_SCHEMA refused (exit 2)" '[ $rc = 2 ]'
rc=$(run "$counter" --memory --schema "$a" state Counter C1)
expect "--schema with --memory refused" '[ $rc = 2 ]'

# --help describes every command, event and projection with typed fields
rc=$(run "$notes" --help)
expect "--help exits 0" '[ $rc = 0 ]'
expect "--help: a command's fields and types" 'grep -qx "  Write (Note) {aggregate_id: string, text: string, priority: Priority?, due: timestamp?}" "$out"'
expect "--help: an event's fields (no implicit ones)" 'grep -qx "  Written (Note) {text: string, priority: Priority?, due: timestamp?}" "$out"'
expect "--help: an empty event" 'grep -qx "  Finished (Note) {}" "$out"'
expect "--help: enum members" 'grep -qx "  Priority: low, normal, high" "$out"'
expect "--help: projection columns" 'grep -q "^  notes (Note) {aggregate_id: string, text: string, priority: Priority, due: timestamp?, edits: int, done: bool, urgent: bool}$" "$out"'
rc=$(run "$counter" help)
expect "help: float, bool, timestamp columns" '[ $rc = 0 ] && grep -q "ratio: float, big: bool, label_at: timestamp?, mood: Mood" "$out"'

# two copies of the counter domain: --schema and INCIDENT_SCHEMA
rc=$(run "$counter" --schema "$a" init); expect "init copy a" '[ $rc = 0 ]'
rc=$(run env INCIDENT_SCHEMA="$b" "$counter" init); expect "init copy b (INCIDENT_SCHEMA)" '[ $rc = 0 ]'
rc=$(run "$notes" --schema "$n" init); expect "init notes" '[ $rc = 0 ]'
rc=$(run "$counter" --schema "$a" init); expect "init is idempotent in a schema" '[ $rc = 0 ]'
rc=$(run "$counter" --schema "$a" dispatch Add '{"aggregate_id":"C1","amount":5}')
expect "dispatch in a" '[ $rc = 0 ] && J ".version == 1"'
rc=$(run "$counter" --schema "$a" dispatch Add '{"aggregate_id":"C1","amount":6}')
expect "second dispatch in a" '[ $rc = 0 ] && J ".version == 2"'
rc=$(run env INCIDENT_SCHEMA="$b" "$counter" dispatch Add '{"aggregate_id":"C1","amount":100}')
expect "the same id in b starts at version 1" '[ $rc = 0 ] && J ".version == 1"'
rc=$(run "$notes" --schema "$n" dispatch Write '{"aggregate_id":"C1","text":"hi"}')
expect "notes with the same id" '[ $rc = 0 ] && J ".version == 1 and .aggregate_type == \"Note\""'
rc=$(run "$counter" --schema "$a" state Counter C1)
expect "state in a" '[ $rc = 0 ] && J ".total == 11 and .version == 2"'
rc=$(run "$counter" --schema "$b" state Counter C1)
expect "state in b (--schema wins over nothing)" '[ $rc = 0 ] && J ".total == 100 and .version == 1"'
rc=$(run env INCIDENT_SCHEMA="$a" "$counter" --schema "$b" state Counter C1)
expect "--schema overrides INCIDENT_SCHEMA" '[ $rc = 0 ] && J ".total == 100"'
rc=$(run "$notes" --schema "$n" state Note C1)
expect "notes state" '[ $rc = 0 ] && J ".text == \"hi\" and .version == 1"'
rc=$(run "$counter" --schema "$a" events Counter C1)
expect "events in a only" '[ $rc = 0 ] && [ "$(wc -l < "$out")" = 2 ]'
rc=$(run "$counter" --schema "$a" projection counters)
expect "projection rows of a only" '[ $rc = 0 ] && [ "$(wc -l < "$out")" = 1 ] && J ".total == 11"'
rc=$(run "$counter" --schema "$b" follow --limit 5 --idle 200)
expect "follow in b sees b's one event" '[ $rc = 0 ] && [ "$(wc -l < "$out")" = 1 ] && J ".data.amount == 100"'
rc=$(run "$notes" --schema "$n" follow --consumer k --limit 5 --idle 200)
expect "a consumer in notes" '[ $rc = 0 ] && [ "$(wc -l < "$out")" = 1 ]'
rc=$(run "$counter" --schema "$a" consumers)
expect "consumers of a: none (notes' consumer lives in its schema)" '[ $rc = 0 ] && [ ! -s "$out" ]'
rc=$(run "$notes" --schema "$n" consumers)
expect "consumers of notes" '[ $rc = 0 ] && J ".consumer == \"k\""'
# every table lives in the schema, none in public
tables=$(psql "$INCIDENT_DB" -AtXc "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '$a'")
expect "a holds every table ($tables)" '[ "$tables" = "command_ids,consumers,counters,events,projection_refills,schema_version,snapshots" ]'
pub=$(psql "$INCIDENT_DB" -AtXc "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('events','counters','notes')")
expect "nothing in public" '[ "$pub" = 0 ]'
rc=$(run "$counter" --schema "$a" rebuild counters)
expect "rebuild in a" '[ $rc = 0 ]'
rc=$(run "$counter" --schema "$a" projection counters C1)
expect "rebuilt row in a" '[ $rc = 0 ] && J ".total == 11"'

# queries (projection --where/--order/--limit) through the CLI
nasty="x'); DROP TABLE events; -- \" \\ %s \$1 ;"
json=$(jq -cn --arg l "$nasty" '{aggregate_id:"C1", label:$l}')
rc=$(run "$counter" --schema "$a" dispatch Label "$json"); expect "label with SQL metacharacters" '[ $rc = 0 ]'
for i in 2 3 4; do run "$counter" --schema "$a" dispatch Add "{\"aggregate_id\":\"C$i\",\"amount\":$((i % 2 + 1))}" >/dev/null; done
rc=$(run "$counter" --schema "$a" projection counters --where "label=$nasty")
expect "--where with SQL metacharacters is only a value" '[ $rc = 0 ] && [ "$(wc -l < "$out")" = 1 ] && [ "$(jq -r .label "$out")" = "$nasty" ]'
inj="label=x' OR '1'='1"
rc=$(run "$counter" --schema "$a" projection counters --where "$inj")
expect "an injection attempt matches nothing" '[ $rc = 0 ] && [ ! -s "$out" ]'
rc=$(run "$counter" --schema "$a" events Counter C1)
expect "the events table is still there" '[ $rc = 0 ] && [ "$(wc -l < "$out")" = 3 ]'
rc=$(run "$counter" --schema "$a" projection counters --where total=2)
expect "--where total=2" '[ $rc = 0 ] && [ "$(jq -r .aggregate_id "$out" | tr "\n" " ")" = "C3 " ]'
rc=$(run "$counter" --schema "$a" projection counters --order -total --limit 2)
expect "--order -total --limit 2" '[ $rc = 0 ] && [ "$(jq -r .aggregate_id "$out" | tr "\n" " ")" = "C1 C3 " ]'
rc=$(run "$counter" --schema "$a" projection counters --where mood=calm --where big=false --order total)
expect "two --where, --order" '[ $rc = 0 ] && [ "$(jq -r .aggregate_id "$out" | tr "\n" " ")" = "C2 C4 C3 C1 " ]'
rc=$(run "$counter" --schema "$a" projection counters C2 --where total=2)
expect "ID and --where together: no row" '[ $rc = 0 ] && [ ! -s "$out" ]'
rc=$(run "$counter" --schema "$a" projection counters --where colour=red)
expect "unknown field exits 2 naming it" '[ $rc = 2 ] && grep -q "colour" "$errf"'
rc=$(run "$counter" --db "host=/nonexistent" projection counters --where total=many)
expect "ill-typed value exits 2 before connecting" '[ $rc = 2 ] && grep -q "total" "$errf"'
rc=$(run "$counter" --schema "$a" projection counters --order nope)
expect "unknown --order field exits 2" '[ $rc = 2 ] && grep -q "nope" "$errf"'
rc=$(run "$counter" --schema "$a" projection counters --limit 0)
expect "--limit 0 is a usage error" '[ $rc = 2 ]'
rc=$(run "$counter" --schema "$a" projection counters --where noequals)
expect "--where without = is a usage error" '[ $rc = 2 ]'

echo "$((tests - fails))/$tests passed"
[ "$fails" = 0 ]
