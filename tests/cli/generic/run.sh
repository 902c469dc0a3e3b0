#!/usr/bin/env bash
# The domain CLI of an aggc-generated domain (notes.agg) built from the
# three-line main.c: every subcommand, output and exit code, against a real
# PostgreSQL (INCIDENT_DB) in a schema of its own.
#   run.sh NOTES_CLI
set -uo pipefail
cli=$1
: "${INCIDENT_DB:?INCIDENT_DB is not set: this test needs a real PostgreSQL}"
schema="cli_notes_$$"
psql "$INCIDENT_DB" -qXc "CREATE SCHEMA $schema" >/dev/null || exit 1
trap 'psql "$INCIDENT_DB" -qXc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1' EXIT
db="$INCIDENT_DB options='-c search_path=$schema'"
fails=0 n=0
out=$(mktemp) errf=$(mktemp)
run() { "$cli" --db "$db" "$@" >"$out" 2>"$errf"; echo $?; }
expect() { # expect DESCRIPTION CONDITION
  n=$((n + 1))
  if ! eval "$2"; then
    echo "FAIL: $1"; echo "  stdout: $(head -c 400 "$out")"; echo "  stderr: $(head -c 400 "$errf")"
    fails=$((fails + 1))
  fi
}
# jq -e exits 0 on empty input, so an empty output must fail by itself
J() { [ -s "$out" ] && jq -e "$1" "$out" >/dev/null 2>&1; }

rc=$(run init); expect "init exits 0" '[ $rc = 0 ]'
rc=$(run init); expect "init is idempotent" '[ $rc = 0 ]'
text="héllo 'quote'; drop table events; -- \\\\ \\\""
json=$(jq -cn --arg t "$text" '{aggregate_id:"N1", text:$t, priority:"high", due:"2026-12-01T10:00:00+02:00"}')
rc=$(run dispatch Write "$json")
expect "dispatch Write exits 0" '[ $rc = 0 ]'
expect "one event line" '[ "$(wc -l < "$out")" = 1 ]'
expect "event envelope" 'J ".event_type == \"Written\" and .version == 1 and .aggregate_type == \"Note\" and .aggregate_id == \"N1\" and (.event_id|length) == 36"'
expect "timestamp normalised to UTC" 'J ".data.due == \"2026-12-01T08:00:00.000000Z\""'
expect "string stored byte for byte" '[ "$(jq -r .data.text "$out")" = "$text" ]'
rc=$(run state Note N1)
expect "state" '[ $rc = 0 ] && J ".version == 1 and .priority == \"high\" and .edits == 1 and .done == false and .aggregate_id == \"N1\""'
rc=$(run state Note nobody)
expect "state of an unknown id is version 0" '[ $rc = 0 ] && J ".version == 0 and .updated_at == null and .priority == \"normal\""'
rc=$(run projection notes N1)
expect "projection row" '[ $rc = 0 ] && J ".urgent == true and .edits == 1 and .version == 1 and .priority == \"high\""'
rc=$(run dispatch Finish '{"aggregate_id":"N1"}')
expect "Finish" '[ $rc = 0 ] && J ".event_type == \"Finished\" and .version == 2"'
rc=$(run projection notes N1)
expect "projection follows in the same transaction" 'J ".urgent == false and .done == true and .version == 2"'
rc=$(run dispatch Finish '{"aggregate_id":"N1"}')
expect "second Finish rejected (exit 3)" '[ $rc = 3 ] && grep -qx "rejected: already_done" "$errf"'
rc=$(run dispatch Finish '{"aggregate_id":"N9"}')
expect "Finish of a missing note rejected" '[ $rc = 3 ] && grep -qx "rejected: note_not_found" "$errf"'
rc=$(run dispatch Write '{"aggregate_id":"N2","text":""}')
expect "check clause rejects (exit 3)" '[ $rc = 3 ] && grep -qx "rejected: empty_text" "$errf"'
rc=$(run dispatch Write '{"aggregate_id":"N2","text":5}')
expect "ill-typed field exits 2 naming it" '[ $rc = 2 ] && grep -q "\$.text" "$errf"'
rc=$(run dispatch Write '{"aggregate_id":"N2","text":"x","priority":"urgent"}')
expect "unknown enum member exits 2" '[ $rc = 2 ] && grep -q "\$.priority" "$errf"'
rc=$(run dispatch Write '{"aggregate_id":"N2","text":"x","colour":1}')
expect "unknown field exits 2" '[ $rc = 2 ] && grep -q "\$.colour" "$errf"'
rc=$(run dispatch Erase '{"aggregate_id":"N2"}')
expect "unknown command exits 2" '[ $rc = 2 ]'
rc=$(run projection notes N2)
expect "no projection row from refused commands" '[ $rc = 0 ] && [ ! -s "$out" ]'
rc=$(run events Note N2)
expect "no events from refused commands" '[ $rc = 0 ] && [ ! -s "$out" ]'
rc=$(run events Note N1)
expect "events in version order" '[ $rc = 0 ] && [ "$(jq -s "map(.version)|tostring" "$out")" = "\"[1,2]\"" ]'
run dispatch Write '{"aggregate_id":"N3","text":"third","priority":"low"}' >/dev/null
rc=$(run projection notes)
expect "all rows ordered by id" '[ $rc = 0 ] && [ "$(jq -rs "map(.aggregate_id)|join(\",\")" "$out")" = "N1,N3" ]'
# damage the table behind the store's back: one row changed, one deleted
damaged=$(psql "$db" -qXAt -c "UPDATE notes SET edits = 99 WHERE aggregate_id = 'N1'" \
  -c "DELETE FROM notes WHERE aggregate_id = 'N3'" \
  -c "SELECT count(*) FROM notes WHERE edits = 99" -c "SELECT count(*) FROM notes")
expect "the table was damaged before the rebuild" '[ "$(echo $damaged)" = "1 1" ]'
rc=$(run rebuild notes)
expect "rebuild exits 0" '[ $rc = 0 ]'
rc=$(run projection notes N1)
expect "rebuild restores a changed row from the events" '[ $rc = 0 ] && J ".edits == 1 and .done == true"'
rc=$(run projection notes N3)
expect "rebuild restores a deleted row from the events" '[ $rc = 0 ] && J ".text == \"third\" and .priority == \"low\" and .version == 1"'
rc=$("$cli" --db "host=/nonexistent port=1" state Note N1 >"$out" 2>"$errf"; echo $?)
expect "unreachable database exits 1" '[ $rc = 1 ]'
rm -f "$out" "$errf"
# `dispatch COMMAND -` reads the JSON from standard input: a command far
# larger than an argument may be (ARG_MAX, one argument at most 128 KiB).
big=$(head -c 3000000 /dev/zero | tr '\0' 'x')
rc=$(printf '{"aggregate_id":"N7","text":"%s"}' "$big" | run dispatch Write -)
expect "dispatch Write - reads 3 MB from stdin" '[ $rc = 0 ] && J ".event_type == \"Written\" and .aggregate_id == \"N7\" and (.data.text|length) == 3000000"'
rc=$(run events Note N7)
expect "the big note was stored whole" '[ $rc = 0 ] && [ "$(jq -r ".data.text|length" "$out")" = 3000000 ]'
rc=$(printf '{"aggregate_id":"N8","text":5}' | run dispatch Write -)
expect "ill-typed field from stdin exits 2 naming it" '[ $rc = 2 ] && grep -q "\$.text" "$errf"'
rc=$(printf '{"aggregate_id":' | run dispatch Write -)
expect "truncated JSON from stdin exits 2" '[ $rc = 2 ]'
rc=$(printf '' | run dispatch Write -)
expect "empty stdin exits 2" '[ $rc = 2 ]'
rc=$(run events Note N8)
expect "nothing written by refused stdin commands" '[ $rc = 0 ] && [ ! -s "$out" ]'
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
