"""Crashes at random moments on file storage lose no acknowledged command (issue 10).

Each real-time driver runs a replication trial on files, with small snapshots,
while 20 crash/restart faults hit random nodes at random moments; the trace
checker must find nothing wrong, which includes every acknowledged command
being applied at its index.
"""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bench.impls import drivers
from bench.tracecheck import check_trace_file

SEED = 7


def crash_scenario(seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    faults, t = [], 300.0
    for _ in range(20):
        t += rng.uniform(100, 300)
        node = rng.randrange(5)
        faults.append({"at_ms": round(t, 1), "action": "crash", "node": node})
        faults.append({"at_ms": round(t + rng.uniform(20, 150), 1), "action": "restart",
                       "node": node})
    return {"kind": "replication", "nodes": 5, "seed": seed, "clients": 8,
            "duration_ms": t + 800, "storage": "file", "snapshot_entries": 200,
            "client_timeout_ms": 300, "timeout_ms": 60_000, "faults": faults}


@pytest.mark.parametrize("impl", ["go", "py-asyncio", "py-threads"])
def test_twenty_crashes_on_files_lose_no_acknowledged_command(impl: str, tmp_path: Path) -> None:
    driver = drivers()[impl]
    if driver.missing():
        pytest.skip(f"{impl}: {driver.missing()}")
    trace = tmp_path / "trace.jsonl"
    proc = subprocess.run([*driver.argv, "--scenario", "-", "--trace", str(trace)],
                          input=json.dumps(crash_scenario(SEED)), capture_output=True,
                          text=True, timeout=180, env={**os.environ, **driver.env})
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["ok"], f"seed {SEED}: {res['error']}"
    text = trace.read_text()
    assert text.count('"event":"crash"') == 20 and res["metrics"]["committed"] > 0
    assert res["runtime"]["fsync_us"]["count"] > 0
    problems = check_trace_file(trace)
    assert not problems, f"seed {SEED}: {problems[:5]}"


if __name__ == "__main__":  # a quick look at one seed by hand
    print(json.dumps(crash_scenario(int(sys.argv[1]) if len(sys.argv) > 1 else SEED)))
