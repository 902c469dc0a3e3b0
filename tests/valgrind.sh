#!/usr/bin/env bash
# valgrind.sh - run a test program under valgrind memcheck, its child
# processes too, for the `valgrind.*` ctest entries (INCIDENT_VALGRIND_CMD
# in tests/CMakeLists.txt).
#
#   valgrind.sh SUPPRESSIONS PROG ARGS...
#
# Each process writes its report to its own log file, not to stderr: the
# CLI suites compare the stderr of the programs they run.  Fails (exit 99,
# logs with errors printed) when any process had a memcheck error or a
# definite/indirect leak, or when no process at all was checked (valgrind
# wrote no report: nothing was tested); otherwise exits with the program's
# status.
set -u
[ $# -ge 2 ] || { echo "usage: valgrind.sh SUPPRESSIONS PROG ARGS..." >&2; exit 2; }
supp=$1
shift
logdir=$(mktemp -d "${TMPDIR:-/tmp}/incident-vg.XXXXXX") || exit 2
trap 'rm -rf "$logdir"' EXIT
valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
  --num-callers=30 --trace-children=yes --child-silent-after-fork=no \
  --suppressions="$supp" --log-file="$logdir/vg.%p.log" "$@"
rc=$?
bad=0 procs=0
for f in "$logdir"/vg.*.log; do
  [ -e "$f" ] || continue
  grep -q "ERROR SUMMARY:" "$f" && procs=$((procs + 1))
  if grep -qE "ERROR SUMMARY: [1-9]" "$f"; then
    bad=$((bad + 1))
    echo "---- $(basename "$f")" >&2
    cat "$f" >&2
  fi
done
echo "valgrind: $procs process(es) checked, $bad with errors or leaks (exit $rc)"
[ $bad -eq 0 ] || exit 99
[ $procs -gt 0 ] || { echo "valgrind: no process was checked" >&2; exit 99; }
exit $rc
