#!/usr/bin/env bash
# Golden test of one case folder: aggc's outputs must equal expected/ byte
# for byte, be identical on a second run, and compile warning-free.
#   check.sh AGGC CASE_DIR RUNTIME_INCLUDE [--update]
set -euo pipefail
aggc=$1 case_dir=$2 rt_inc=$3 mode=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$case_dir"
mapfile -t inputs < <(ls *.agg | sort)
mkdir -p "$work/a" "$work/b"
"$aggc" -o "$work/a" --emit=c,sql,dot "${inputs[@]}"
"$aggc" -o "$work/b" --emit=c,sql,dot "${inputs[@]}"
if ! diff -r "$work/a" "$work/b" >/dev/null; then
  echo "FAIL: two runs of aggc gave different output"; diff -r "$work/a" "$work/b" | head -20; exit 1
fi
if [ "$mode" = "--update" ]; then
  rm -rf expected && mkdir expected && cp "$work/a"/* expected/
  echo "updated $case_dir/expected"; exit 0
fi
if ! diff -ru expected "$work/a"; then
  echo "FAIL: output differs from $case_dir/expected (scripts/update-golden after review)"; exit 1
fi
for c in "$work"/a/*.c; do
  cc -std=c11 -Wall -Wextra -Werror -pedantic -I "$work/a" -I "$rt_inc" \
     $(pkg-config --cflags jansson) -c "$c" -o "$work/$(basename "$c").o"
done
echo "ok: $(basename "$case_dir"): ${#inputs[@]} input(s), outputs match, deterministic, compile clean"
