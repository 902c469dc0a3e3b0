#!/usr/bin/env bash
# check_symbols.sh LIB INCLUDE_DIR API_MD - the exported-symbol test.
#
# 1. The shared library's dynamic symbols (nm -D --defined-only) are
#    exactly the functions and variables that the headers in INCLUDE_DIR
#    declare: nothing internal is exported, nothing declared is missing.
# 2. docs/api.md (API_MD) mentions every public function and type name.
# The public list comes from the headers themselves (public_api.awk).
set -euo pipefail
lib=$1 incdir=$2 apimd=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

awk -f "$here/public_api.awk" "$incdir"/*.h | sort -u >"$tmp/decl"
awk '$1 == "F" || $1 == "V" {print $2}' "$tmp/decl" | sort -u >"$tmp/public"
# defined text, data, bss and read-only symbols; not the linker's own
nm -D --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBRVWGSi]$/ {print $3}' |
  sed 's/@.*//' | grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$' |
  sort -u >"$tmp/exported"

fail=0
if [ ! -s "$tmp/public" ]; then
  echo "no public declarations found in $incdir/*.h" >&2
  exit 1
fi
extra=$(comm -13 "$tmp/public" "$tmp/exported")
missing=$(comm -23 "$tmp/public" "$tmp/exported")
if [ -n "$extra" ]; then
  echo "exported by $(basename "$lib") but declared in no public header:" >&2
  echo "$extra" | sed 's/^/  /' >&2
  fail=1
fi
if [ -n "$missing" ]; then
  echo "declared in $incdir but not exported by $(basename "$lib"):" >&2
  echo "$missing" | sed 's/^/  /' >&2
  fail=1
fi

undocumented=$(awk '{print $2}' "$tmp/decl" | sort -u |
  while read -r name; do grep -qw -- "$name" "$apimd" || echo "$name"; done)
if [ -n "$undocumented" ]; then
  echo "public names that $(basename "$apimd") does not mention:" >&2
  echo "$undocumented" | sed 's/^/  /' >&2
  fail=1
fi

if [ "$fail" = 0 ]; then
  echo "ok: $(wc -l <"$tmp/public") public functions/variables exported, no other symbol;" \
       "$(wc -l <"$tmp/decl") public names in $(basename "$apimd")"
fi
exit "$fail"
