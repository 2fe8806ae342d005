"""The py_raft driver speaks docs/protocol.md: one result line, exit 2 on bad input."""

import json
import subprocess
import sys

import pytest
from drive import ROOT

DRIVER = [sys.executable, "-m", "py_raft"]


def _run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(DRIVER + args, input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_prints_exactly_one_result_line_and_writes_the_trace(tmp_path) -> None:
    trace = tmp_path / "t.jsonl"
    proc = _run(["--runtime", "sim", "--scenario", "-", "--trace", str(trace)],
                json.dumps({"nodes": 3}))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["impl"] == "py-sim" and result["ok"] is True
    assert result["scenario"]["election_timeout_ms"] == [150.0, 300.0]  # defaults filled in
    events = [json.loads(line)["event"] for line in trace.read_text().splitlines()]
    assert "state" in events


@pytest.mark.parametrize(
    ("scenario", "field"),
    [
        ({"nodes": 0}, "nodes"),
        ({"kind": "dance"}, "kind"),
        ({"election_timeout_ms": [300, 150]}, "election_timeout_ms"),
        ({"heartbeat_ms": 200}, "heartbeat_ms"),
        ({"network": {"drop_rate": 1.5}}, "network.drop_rate"),
        ({"faults": [{"at_ms": 1, "action": "crash", "node": 9}]}, "faults[0].node"),
        ({"bogus": 1}, "bogus"),
        ({"first_election_timeout_ms": [500, 100]}, "first_election_timeout_ms"),
        ({"first_election_timeout_ms": 300}, "first_election_timeout_ms"),
        ({"inbox_capacity": -1}, "inbox_capacity"),
        ({"inbox_capacity": 1.5}, "inbox_capacity"),
        ({"memory_limit_mb": -5}, "memory_limit_mb"),
        ({"memory_limit_mb": "lots"}, "memory_limit_mb"),
    ],
)
def test_bad_scenario_is_one_line_naming_the_field(tmp_path, scenario, field) -> None:
    trace = tmp_path / "t.jsonl"
    proc = _run(["--runtime", "sim", "--scenario", "-", "--trace", str(trace)],
                json.dumps(scenario))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {field}")
    assert not trace.exists()


def test_bad_flag_and_unreadable_file_exit_2() -> None:
    for args in (["--runtime", "fibers", "--scenario", "-"],
                 ["--runtime", "sim", "--scenario", "/nonexistent.json"]):
        proc = _run(args)
        assert proc.returncode == 2, args
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")


def test_invalid_json_is_rejected() -> None:
    proc = _run(["--runtime", "threads", "--scenario", "-"], "{nope")
    assert proc.returncode == 2 and "scenario: not valid JSON" in proc.stderr


def test_uvloop_impl_name() -> None:
    proc = _run(["--runtime", "asyncio", "--loop", "uvloop", "--scenario", "-"],
                json.dumps({"nodes": 3, "observe_ms": 50}))
    assert json.loads(proc.stdout)["impl"] == "py-asyncio-uvloop"
