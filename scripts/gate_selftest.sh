#!/usr/bin/env bash
# gate_selftest.sh: does the regression gate stay quiet on unchanged code and
# catch a 1.5x slowdown of message handling? It runs `raftbench gate` RUNS times
# each way and counts the failures (docs/benchmarking.md).
# Usage: scripts/gate_selftest.sh [RUNS]   (default 10 of each)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
gate() { .venv/bin/raftbench gate "$@" 2>"$err"; }

count() {  # count LABEL ARGS...: how many of $runs gate runs fail
  local label=$1 fails=0; shift
  for i in $(seq 1 "$runs"); do
    out=$(gate "$@"); rc=$?
    [ $rc -eq 1 ] && fails=$((fails + 1))
    [ $rc -gt 1 ] && { echo "$label: gate error (exit $rc): $(tail -n 1 "$err")"; exit 2; }
    echo "$label run $i: exit $rc | $(echo "$out" | tr -s ' ' | tr '\n' ' ')"
  done
  echo "== $label: $fails of $runs gate runs failed"
}

count "unchanged code"
count "python slowed 1.5x" --probes py/handle,py-asyncio/e2e --selftest-slowdown 1.5
count "go slowed 1.5x" --probes go/handle,go/e2e --selftest-slowdown 1.5
