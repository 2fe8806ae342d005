"""The Go and Python simulators write the same trace, byte for byte (docs/protocol.md).

Both drivers run the same scenario with --trace; the traces must be identical
and the results' metrics equal. The scenarios: 50 fuzz seeds as they are; the
same 50 seeds with snapshots forced small (the fuzz draw of snapshot_entries
in [10, 50], so crashes, restarts and partitions meet compaction,
InstallSnapshot and restores from a snapshot); and explicit scenarios that
crash and restart followers and leaders under loss and a partition while
compacting every 10 to 50 entries, on memory and on file storage (which never
shows in a trace). Refusals of bad input are tests/test_driver.py's.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from py_raft.sim.fuzz import fuzz_scenario

ROOT = Path(__file__).resolve().parent.parent
GORAFT = ROOT / "go_raft" / "bin" / "goraft"
SEEDS = range(1, 51)

pytestmark = pytest.mark.skipif(shutil.which("go") is None and not GORAFT.exists(),
                                reason="go is not installed")


@pytest.fixture(scope="module")
def goraft() -> Path:
    assert GORAFT.exists(), (
        f"{GORAFT} is missing: cd go_raft && go build -o bin/goraft ./cmd/goraft"
    )
    return GORAFT


def _run(cmd: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


def _first_difference(a: list[str], b: list[str]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"line {i + 1}:\n  py: {x}\n  go: {y}"
    return f"lengths differ: py {len(a)} lines, go {len(b)} lines"


def _same_trace(goraft: Path, tmp_path: Path, scenario: dict[str, Any], name: str) -> str:
    """_same_trace runs scenario on both simulators; it returns the (identical) trace."""
    text = json.dumps(scenario)
    py_trace, go_trace = tmp_path / "py.trace", tmp_path / "go.trace"
    py = _run([sys.executable, "-m", "py_raft", "--runtime", "sim", "--scenario", "-",
               "--trace", str(py_trace)], text)
    go = _run([str(goraft), "--runtime", "sim", "--scenario", "-", "--trace", str(go_trace)],
              text)
    assert py.returncode == 0, py.stderr
    assert go.returncode == 0, go.stderr
    a, b = py_trace.read_bytes(), go_trace.read_bytes()
    if a != b:
        diff = _first_difference(a.decode().splitlines(), b.decode().splitlines())
        pytest.fail(f"{name}: traces differ at {diff}")
    assert a, f"{name}: empty trace"
    py_result, go_result = json.loads(py.stdout), json.loads(go.stdout)
    assert py_result["metrics"] == go_result["metrics"], name
    assert py_result["scenario"] == go_result["scenario"], name
    return a.decode()


@pytest.mark.parametrize("seed", SEEDS)
def test_same_trace(goraft: Path, tmp_path: Path, seed: int) -> None:
    _same_trace(goraft, tmp_path, fuzz_scenario(seed).to_json(), f"seed {seed}")


@pytest.mark.parametrize("seed", SEEDS)
def test_same_trace_with_snapshots(goraft: Path, tmp_path: Path, seed: int) -> None:
    scenario = fuzz_scenario(seed, snapshots=True).to_json()
    assert 10 <= scenario["snapshot_entries"] <= 50
    _same_trace(goraft, tmp_path, scenario, f"seed {seed} with snapshots")


def _crashy(seed: int, storage_dir: Path | None) -> dict[str, Any]:
    """_crashy: a follower, then the leader, crash and restart; the old leader is cut off."""
    scenario: dict[str, Any] = {
        "kind": "replication", "nodes": 5, "seed": seed, "clients": 6, "duration_ms": 1500,
        "snapshot_entries": 10 + 4 * seed, "network": {"drop_rate": 0.05, "jitter_ms": 2},
        "faults": [{"at_ms": 200, "action": "crash", "node": seed % 5},
                   {"at_ms": 700, "action": "restart", "node": seed % 5},
                   {"at_ms": 800, "action": "crash", "node": "leader"},
                   {"at_ms": 1000, "action": "partition", "groups": [["leader"], [0, 1]]},
                   {"at_ms": 1100, "action": "restart", "node": "leader"},
                   {"at_ms": 1200, "action": "heal"}],
    }
    if storage_dir is not None:
        scenario.update(storage="file", storage_dir=str(storage_dir))
    return scenario


@pytest.mark.parametrize("storage", ["memory", "file"])
@pytest.mark.parametrize("seed", range(1, 11))
def test_same_trace_compacting_through_crashes(goraft: Path, tmp_path: Path, seed: int,
                                               storage: str) -> None:
    parent = tmp_path / "storage"
    parent.mkdir()
    scenario = _crashy(seed, parent if storage == "file" else None)
    trace = _same_trace(goraft, tmp_path, scenario, f"seed {seed}, {storage}")
    assert trace.count('"event":"snapshot"') > 20 and '"event":"install"' in trace
    assert list(parent.iterdir()) == [], "a trial's directory was left behind"
