"""Snapshots and file storage in the real-time runtimes, and the scenario fields that turn them on.

Each runtime replicates under loss while a follower and then the leader crash
and restart, compacting every 20 entries, on memory and on file storage: the
trace must pass the checker (which includes: no acknowledged command is lost,
and images at one index agree), the nodes must compact, a node that restarts
with a snapshot must restore it first, and a restarted node that lagged must
catch up by InstallSnapshot. These are safety and liveness checks with
generous limits, never speed checks.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from drive import ROOT, trial

from bench.tracecheck import check_trace
from py_raft.filestore import FileStorage
from py_raft.scenario import scenario_from_dict
from py_raft.sim import Sim

RUNTIMES = ["py-threads", "py-asyncio", "py-asyncio-uvloop"]

CRASHES = {
    "kind": "replication", "nodes": 5, "seed": 11, "clients": 8, "duration_ms": 2500,
    "snapshot_entries": 20, "client_timeout_ms": 300, "network": {"drop_rate": 0.05},
    "faults": [{"at_ms": 200, "action": "crash", "node": 1},
               {"at_ms": 900, "action": "restart", "node": 1},
               {"at_ms": 1300, "action": "crash", "node": "leader"},
               {"at_ms": 1800, "action": "restart", "node": "leader"}],
}


def _events(trace: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in trace]


@pytest.mark.parametrize("storage", ["memory", "file"])
@pytest.mark.parametrize("impl", RUNTIMES)
def test_crashes_with_snapshots_keep_every_acked_command(impl: str, storage: str,
                                                         tmp_path: Path) -> None:
    scenario = dict(CRASHES)
    if storage == "file":
        scenario.update(storage="file", storage_dir=str(tmp_path))
    result, trace = trial(impl, scenario)
    assert result["ok"], result["error"]
    assert result["metrics"]["committed"] > 20
    assert check_trace(trace) == []  # includes: every acked cmd applied at its index
    events = _events(trace)
    kinds = [e["event"] for e in events]
    assert kinds.count("snapshot") >= 5 and kinds.count("restart") == 2
    assert "install" in kinds
    snapped: set[int] = set()
    for i, e in enumerate(events):
        if e["event"] in ("snapshot", "install"):
            snapped.add(e["node"])
        elif e["event"] == "restart" and e["node"] in snapped:
            after = next(f for f in events[i + 1:] if f.get("node") == e["node"])
            assert after["event"] == "install", after
    if storage == "file":
        assert result["runtime"]["fsync_us"]["count"] > 0
        assert list(tmp_path.iterdir()) == [], "the trial's directory was left behind"
    else:
        assert "fsync_us" not in result["runtime"]


def test_a_restart_opens_a_new_file_storage(tmp_path: Path) -> None:
    """What a restarted node reads is what is on disk: not the object it wrote through."""
    sc = scenario_from_dict({"kind": "replication", "nodes": 3, "clients": 2, "duration_ms": 300,
                             "snapshot_entries": 10, "storage": "file",
                             "storage_dir": str(tmp_path)})
    sim = Sim(sc)
    sim.run()
    host = sim.hosts[1]
    assert host is not None and isinstance(host.storage, FileStorage)
    before = host.storage
    sim.crash(1)
    sim.restart(1)
    host = sim.hosts[1]
    assert host is not None and host.storage is not before
    assert host.storage.snapshot() == before.snapshot() and host.storage.snapshot() is not None
    assert host.storage.entries() == before.entries()
    snap = host.storage.snapshot()
    assert snap is not None and host.kv.image() == snap.data  # restored, not yet caught up
    assert host.kv.last_index == snap.last_included_index
    sim.close()


@pytest.mark.parametrize(("scenario", "field"), [
    ({"snapshot_entries": -1}, "snapshot_entries"),
    ({"snapshot_entries": 2.5}, "snapshot_entries"),
    ({"storage": "disk"}, "storage"),
    ({"storage": "file", "storage_dir": ""}, "storage_dir"),
    ({"storage": "file", "storage_dir": 7}, "storage_dir"),
    ({"storage_dir": "/tmp"}, "storage_dir"),
    ({"storage": "file", "storage_dir": "/nonexistent/raftbench"}, "storage_dir"),
])
@pytest.mark.parametrize("runtime", ["sim", "asyncio"])
def test_bad_storage_fields_are_one_line_naming_the_field(
        tmp_path: Path, runtime: str, scenario: dict[str, Any], field: str) -> None:
    trace = tmp_path / "t.jsonl"
    proc = subprocess.run([sys.executable, "-m", "py_raft", "--runtime", runtime, "--scenario",
                           "-", "--trace", str(trace)], input=json.dumps(scenario),
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {field}: ")
    assert not trace.exists()


def test_the_result_echoes_storage_fields_only_when_set() -> None:
    plain = scenario_from_dict({}).to_json()
    assert not {"snapshot_entries", "storage", "storage_dir"} & set(plain)
    set_ = scenario_from_dict({"snapshot_entries": 0, "storage": "file"}).to_json()
    assert set_["snapshot_entries"] == 0 and set_["storage"] == "file"
    assert "storage_dir" not in set_
