#!/usr/bin/env bash
# against_cmake.sh - aggc_generate(... AGAINST old.agg) in a small CMake
# project: the build passes when the new domain reads everything the old
# one stored, fails (naming the breaking change) when it does not, and
# re-runs aggc when the old file changes.
#   against_cmake.sh AGGC SOURCE_DIR WORK_DIR
set -euo pipefail
aggc=$1 src=$2 work=$3
cmake=${CMAKE:-cmake}
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$work"
mkdir -p "$work/p"
cd "$work/p"
cp "$src/examples/bank/bank.agg" old.agg
cp "$src/tests/compiler/against/bank_v2.agg" new.agg
cat > CMakeLists.txt <<CM
cmake_minimum_required(VERSION 3.16)
project(against_demo NONE)
set(AGGC_EXECUTABLE "$aggc")
include("$src/cmake/AggcGenerate.cmake")
add_custom_target(domain)
aggc_generate(domain FILES new.agg EMIT sql AGAINST old.agg)
CM
"$cmake" -S . -B build >cmake.log 2>&1 || { cat cmake.log; fail "configure"; }
"$cmake" --build build >build.log 2>&1 || { cat build.log; fail "compatible version did not build"; }
[ -f build/aggc_domain/bank.sql ] || fail "no output"
echo "ok: compatible version builds"

# a breaking change: MoneyPaidIn forgets `was MoneyDeposited`
sed -i 's/event MoneyPaidIn was MoneyDeposited/event MoneyPaidIn/' new.agg
if "$cmake" --build build >build2.log 2>&1; then cat build2.log; fail "breaking change built"; fi
grep -q "event MoneyDeposited of aggregate Account was removed" build2.log ||
  { cat build2.log; fail "the error does not name the removed event"; }
echo "ok: breaking change fails the build"

# fixed in the old file's place: a change of the old file alone re-runs aggc
cp new.agg old.agg
sleep 1
touch old.agg
"$cmake" --build build >build3.log 2>&1 || { cat build3.log; fail "old file change"; }
grep -q "aggc bank" build3.log || { cat build3.log; fail "aggc did not re-run after the old file changed"; }
echo "ok: a changed old file re-runs aggc"
