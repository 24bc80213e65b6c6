#!/usr/bin/env bash
# make fuzz: run each libFuzzer target (build/fuzz/fuzz_NAME) for SECONDS from its committed seeds
# (native/fuzz/corpus/NAME) plus what earlier runs found (build/fuzz/corpus/NAME). A crash, a sanitizer
# report or a failed check of the target fails the run, leaving the input in build/fuzz/artifacts/NAME.
# Prints one line per target: executions, coverage (cov: edges, ft: features) and corpus size.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift
failed=0
# the targets' scratch files (the log target's rotated logs), in memory where possible, removed at the end
TMPDIR=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/codex32-fuzz-XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
for t in "$@"; do
  bin=build/fuzz/fuzz_$t work=build/fuzz/corpus/$t art=build/fuzz/artifacts/$t/ log=build/fuzz/$t.log
  mkdir -p "$work" "$art"
  "$bin" -max_total_time="$seconds" -timeout=10 -max_len=8192 -print_final_stats=1 -artifact_prefix="$art" \
    "$work" "native/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} runs; input in $art, log in $log:"
    grep -m1 -A16 -E 'ERROR:|runtime error:|deadly signal' "$log"
    grep -E '^SUMMARY|Test unit written' "$log"
  else
    cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+')
    ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+')
    corp=$(grep -oE 'corp: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+')
    echo "fuzz $t: ok, ${runs:-?} runs in ${seconds} s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
  fi
done
exit $failed
