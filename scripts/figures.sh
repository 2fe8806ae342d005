#!/usr/bin/env bash
# figures.sh: the headline figures of issues #2 and #3, straight from the drivers.
# Usage: scripts/figures.sh [IMPL...]   (default: py-threads py-asyncio go)
# Prints one line per figure; every number comes from a driver's result JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
impls=("${@:-py-threads py-asyncio go}")
read -r -a impls <<<"${impls[*]}"

driver() {
  case "$1" in
    py-threads) echo "$PY -m py_raft --runtime threads" ;;
    py-asyncio) echo "$PY -m py_raft --runtime asyncio" ;;
    go) echo "go_raft/bin/goraft --runtime goroutines" ;;
  esac
}

field() { $PY -c "import json,sys; r=json.load(sys.stdin); assert r['ok'], r['error']; print($1)"; }

for impl in "${impls[@]}"; do
  d=$(driver "$impl")
  vals=()
  for seed in $(seq 1 10); do
    vals+=("$(echo "{\"scenario\":\"election\",\"nodes\":5,\"seed\":$seed}" | $d --scenario - | field "r['metrics']['first_leader_ms']")")
  done
  med=$($PY -c "import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))" "${vals[@]}")
  echo "$impl election N=5 median first_leader_ms over 10 seeds: $med"
  for clients in 8 64; do
    tp=$(echo "{\"scenario\":\"replication\",\"nodes\":3,\"clients\":$clients,\"duration_ms\":1000}" | $d --scenario - | field "r['metrics']['throughput_ops_s']")
    echo "$impl replication N=3 clients=$clients throughput_ops_s: $tp"
  done
done
