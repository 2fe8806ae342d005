"""pytest-benchmark: each implementation through the driver contract, small N.

Each round is one fresh driver process; the drivers' own metrics ride along
in extra_info. `make test` runs each once (--benchmark-disable).
"""

import json
import subprocess
import sys

import pytest
from drive import GORAFT, ROOT

DRIVERS = {
    "go": [str(GORAFT), "--runtime", "goroutines"],
    "py-threads": [sys.executable, "-m", "py_raft", "--runtime", "threads"],
    "py-asyncio": [sys.executable, "-m", "py_raft", "--runtime", "asyncio"],
}
SCENARIOS = {
    "election": {"kind": "election", "nodes": 5, "observe_ms": 50},
    "replication": {"kind": "replication", "nodes": 3, "clients": 8, "duration_ms": 300},
}


def _trial(impl: str, scenario: dict) -> dict:
    proc = subprocess.run(DRIVERS[impl] + ["--scenario", "-"], input=json.dumps(scenario),
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"], result["error"]
    return result


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("impl", sorted(DRIVERS))
def test_driver(benchmark, impl: str, scenario: str) -> None:
    if impl == "go" and not GORAFT.exists():
        pytest.fail(f"{GORAFT} is missing: run `make setup`")
    result = benchmark.pedantic(_trial, args=(impl, SCENARIOS[scenario]), rounds=3,
                                iterations=1)
    m = result["metrics"]
    benchmark.extra_info.update({
        "first_leader_ms": m["first_leader_ms"],
        "throughput_ops_s": m["throughput_ops_s"],
        "commit_latency_ms": m["commit_latency_ms"],
        "cpu_trial_s": result["runtime"].get("cpu_trial_s"),
    })
