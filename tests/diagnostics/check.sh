#!/usr/bin/env bash
# Golden diagnostic: `aggc --check NAME.agg` (run inside cases/) must print
# exactly NAME.stderr and exit with NAME.exit (1 when absent).
#   check.sh AGGC CASES_DIR NAME [--update]
set -uo pipefail
aggc=$1 dir=$2 name=$3 mode=${4:-}
cd "$dir" || exit 1
args=(--check "$name.agg")
[ -f "$name.args" ] && read -r -a args < "$name.args"
out=$(NO_COLOR=1 "$aggc" "${args[@]}" 2>&1 >/dev/null)
code=$?
if [ "$mode" = "--update" ]; then
  printf '%s\n' "$out" > "$name.stderr"
  [ "$code" = 1 ] && rm -f "$name.exit" || echo "$code" > "$name.exit"
  exit 0
fi
want_code=1
[ -f "$name.exit" ] && want_code=$(cat "$name.exit")
if [ "$code" != "$want_code" ]; then
  echo "FAIL: $name: exit $code, expected $want_code"; printf '%s\n' "$out"; exit 1
fi
if ! diff -u "$name.stderr" <(printf '%s\n' "$out"); then
  echo "FAIL: $name: diagnostics differ"; exit 1
fi
echo "ok: $name (exit $code)"
