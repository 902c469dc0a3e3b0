#!/usr/bin/env bash
# run.sh - one time-boxed libFuzzer run for ctest (tests/fuzz/CMakeLists.txt).
#
#   run.sh FUZZER WORKDIR SEED_DIR...
#
# Runs FUZZER for $INCIDENT_FUZZ_SECONDS (default 60) seconds of wall time
# on one core (0: only replay the corpus).  New inputs go to WORKDIR/corpus (kept between runs, so later
# runs start from what earlier ones found), crashes to WORKDIR/artifacts/.
# The seed directories are only read.  Exit 0 when no crash, leak, timeout
# or out-of-memory was found; otherwise libFuzzer's report is in the output
# and the reproducer in WORKDIR/artifacts/ (copy it to tests/fuzz/<target>/
# once fixed: it then stays in the seed corpus as a regression test).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: run.sh FUZZER WORKDIR SEED_DIR..." >&2; exit 2; }
fuzzer=$1 work=$2
shift 2
secs=${INCIDENT_FUZZ_SECONDS:-60}
[[ $secs =~ ^[0-9]+$ ]] || { echo "INCIDENT_FUZZ_SECONDS must be a number, not '$secs'" >&2; exit 2; }
# Every seed directory must hold inputs: a corpus that moved would leave
# libFuzzer starting from nothing, and a replay (0 seconds) testing nothing.
for d in "$@"; do
  n=$(find "$d" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l)
  [ "$n" -gt 0 ] || { echo "run.sh: no seed inputs in '$d'" >&2; exit 1; }
done
mkdir -p "$work/corpus" "$work/artifacts"
name=$(basename "$fuzzer")
extra=()
# The CLI prints a line per input on stderr (exit 2/3 reasons): close it;
# libFuzzer and the sanitizers still report on their own copy of stderr.
[ "$name" = fuzz_cli ] && extra+=(-close_fd_mask=2)
# -timeout: one input taking >10s is a finding; -rss_limit_mb: likewise
# 2 GB.  -max_len: allow inputs larger than the biggest seed (e.g. 64 KiB
# JSON, large .agg files).
# 0 seconds: just replay the corpus once (-max_total_time=0 means forever).
if [ "$secs" -eq 0 ]; then limit=(-runs=0); else limit=(-max_total_time="$secs"); fi
exec "$fuzzer" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
     -max_len=65536 -print_final_stats=1 \
     -artifact_prefix="$work/artifacts/" ${extra[@]+"${extra[@]}"} \
     "$work/corpus" "$@"
