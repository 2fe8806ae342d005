"""Snapshots and file storage in the Go driver, held to the Python side's contract.

The goroutine runtime replicates under loss while a follower and then the
leader crash and restart, compacting every 20 entries, on memory and on file
storage: its trace must pass bench/tracecheck.py (no acknowledged command is
lost; images at one index agree), and a node that restarts with a snapshot
restores it first. Go's file storage is py_raft/filestore.py's format, byte
for byte. The new scenario fields are refused naming the field Python names.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from drive import GORAFT, ROOT, trial

from bench.tracecheck import check_trace
from py_raft.core import Entry, Snapshot
from py_raft.filestore import FileStorage

pytestmark = pytest.mark.skipif(shutil.which("go") is None and not GORAFT.exists(),
                                reason="go is not installed")

CRASHES = {
    "kind": "replication", "nodes": 5, "seed": 11, "clients": 8, "duration_ms": 2500,
    "snapshot_entries": 20, "client_timeout_ms": 300, "network": {"drop_rate": 0.05},
    "faults": [{"at_ms": 200, "action": "crash", "node": 1},
               {"at_ms": 900, "action": "restart", "node": 1},
               {"at_ms": 1300, "action": "crash", "node": "leader"},
               {"at_ms": 1800, "action": "restart", "node": "leader"}],
}


@pytest.mark.parametrize("storage", ["memory", "file"])
def test_goroutines_crash_with_snapshots_and_keep_every_acked_command(
        storage: str, tmp_path: Path) -> None:
    assert GORAFT.exists(), f"{GORAFT} missing: cd go_raft && go build -o bin/goraft ./cmd/goraft"
    parent = tmp_path / "storage"
    parent.mkdir()
    scenario = dict(CRASHES)
    if storage == "file":
        scenario.update(storage="file", storage_dir=str(parent))
    result, trace = trial("go", scenario, tmp_path)
    assert result["ok"], result["error"]
    assert result["metrics"]["committed"] > 20
    assert check_trace(trace) == []  # includes: every acked cmd applied at its index
    events = [json.loads(line) for line in trace]
    kinds = [e["event"] for e in events]
    assert kinds.count("snapshot") >= 5 and kinds.count("restart") == 2 and "install" in kinds
    snapped: set[int] = set()
    for i, e in enumerate(events):
        if e["event"] in ("snapshot", "install"):
            snapped.add(e["node"])
        elif e["event"] == "restart" and e["node"] in snapped:
            after = next(f for f in events[i + 1:] if f.get("node") == e["node"])
            assert after["event"] == "install", after
    assert list(parent.iterdir()) == [], "the trial's directory was left behind"
    if storage == "file":
        assert result["runtime"]["fsync_us"]["count"] > 0
        assert result["scenario"]["storage"] == "file"
    else:
        assert "fsync_us" not in result["runtime"] and "storage" not in result["scenario"]


def write_sequence(node: Path) -> None:
    """write_sequence is what go_raft/filestore/testdata/py-node holds (Go's pySequence)."""
    s = FileStorage(node)
    s.set_hard_state(1, 0)
    s.truncate_and_append(1, [Entry(1, None, ""), Entry(1, "c0.1", "xx"), Entry(1, "c1.1", "yé")])
    s.sync()
    s.set_hard_state(2, None)
    s.truncate_and_append(3, [Entry(2, "c1.2", "zz"), Entry(2, "c0.2", "xx")])
    s.sync()
    s.save_snapshot(Snapshot(3, 2, b"3\nc0.1\txx\nc1.2\tzz\n"))
    s.sync()
    s.truncate_and_append(5, [Entry(3, None, "")])
    s.set_hard_state(3, 1)
    s.sync()
    s.close()


def test_go_file_storage_is_pythons_format(tmp_path: Path) -> None:
    """Python writes the bytes Go's test reads and writes (go_raft/filestore TestPythonFiles)."""
    write_sequence(tmp_path / "node")
    fixture = ROOT / "go_raft" / "filestore" / "testdata" / "py-node"
    for name in ("log", "snapshot"):
        assert (tmp_path / "node" / name).read_bytes() == (fixture / name).read_bytes(), name
    again = FileStorage(fixture)  # and Python reads them back
    assert again.hard_state() == (3, 1) and again.cut_bytes == 0
    assert again.entries() == [Entry(2, "c0.2", "xx"), Entry(3, None, "")]
    again.close()


def _field(cmd: list[str], runtime: str, scenario: dict[str, Any], trace: Path) -> str:
    proc = subprocess.run(cmd + ["--runtime", runtime, "--scenario", "-", "--trace", str(trace)],
                          input=json.dumps(scenario), capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert not trace.exists()
    return proc.stderr.removeprefix("error: ").split(": ", 1)[0]


@pytest.mark.parametrize("scenario", [
    {"snapshot_entries": -1},
    {"snapshot_entries": 2.5},
    {"memory_limit_mb": -1, "snapshot_entries": -1},
    {"storage": "disk"},
    {"storage": None},
    {"storage": "file", "storage_dir": ""},
    {"storage": "file", "storage_dir": 7},
    {"storage_dir": "/tmp"},
    {"storage": "file", "storage_dir": "/nonexistent/raftbench"},
])
@pytest.mark.parametrize("runtime", [("sim", "sim"), ("asyncio", "goroutines")])
def test_go_refuses_the_new_fields_as_python_does(
        tmp_path: Path, runtime: tuple[str, str], scenario: dict[str, Any]) -> None:
    assert GORAFT.exists(), f"{GORAFT} missing: cd go_raft && go build -o bin/goraft ./cmd/goraft"
    py = _field([sys.executable, "-m", "py_raft"], runtime[0], scenario, tmp_path / "py.jsonl")
    go = _field([str(GORAFT)], runtime[1], scenario, tmp_path / "go.jsonl")
    assert go == py
