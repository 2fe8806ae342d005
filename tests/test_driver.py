"""Both drivers speak docs/protocol.md: one result line, exit 2 on bad input.

Go and Python give equal JSON values (not equal bytes) for a simulated
trial's result, and reject bad input alike: exit status 2, nothing on standard
output, no trace file, and one line on standard error beginning
`error: FIELD:` with the same FIELD, each in its own words.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from drive import GORAFT, ROOT

DRIVER = [sys.executable, "-m", "py_raft"]

needs_go = pytest.mark.skipif(shutil.which("go") is None and not GORAFT.exists(),
                              reason="go is not installed")


def _run(args: list[str], stdin: str = "", driver: list[str] = DRIVER
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(driver + args, input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def _go(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert GORAFT.exists(), f"{GORAFT} missing: cd go_raft && go build -o bin/goraft ./cmd/goraft"
    return _run(args, stdin, [str(GORAFT)])


def test_prints_exactly_one_result_line_and_writes_the_trace(tmp_path: Path) -> None:
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
        ({"network": {"jitter_ms": -1}}, "network.jitter_ms"),
        ({"network": {"latency_ms": "fast"}}, "network.latency_ms"),
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
def test_bad_scenario_is_one_line_naming_the_field(tmp_path: Path, scenario: dict[str, Any],
                                                   field: str) -> None:
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


BAD_SCENARIOS = [
    "",
    "[1, 2]",
    '{"nodes": 3,}',
    '{"nodes": 0}',
    '{"nodes": 2.0}',
    '{"nodes": true}',
    '{"nodes": null}',
    '{"kind": "chaos"}',
    '{"bogus": 1}',
    '{"nodes": 0, "bogus": 1}',
    '{"election_timeout_ms": [300, 150]}',
    '{"election_timeout_ms": [1, 2, 3]}',
    '{"heartbeat_ms": 200}',
    '{"network": {"drop_rate": 1}}',
    '{"network": {"speed": 1}}',
    '{"network": []}',
    '{"faults": [{"at_ms": 1, "action": "crash", "node": 9}]}',
    '{"faults": [{"action": "heal"}]}',
    '{"faults": [{"at_ms": 1, "action": "explode"}]}',
    '{"faults": [{"at_ms": 1, "action": "partition", "groups": []}]}',
    '{"faults": [{"at_ms": 1, "action": "partition", "groups": [[0], null]}]}',
    '{"faults": [{"at_ms": 1, "action": "heal"}, 3]}',
    '{"seed": -1}',
    '{"commands": 0}',
    '{"observe_ms": "long"}',
    '{"first_election_timeout_ms": [500, 100]}',
    '{"first_election_timeout_ms": "wide"}',
    '{"inbox_capacity": -1}',
    '{"memory_limit_mb": -5}',
    '{"timeout_ms": 0, "inbox_capacity": -1}',
]


def _field(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    return proc.stderr.removeprefix("error: ").split(": ", 1)[0]


@needs_go
@pytest.mark.parametrize("text", BAD_SCENARIOS)
def test_go_and_python_reject_alike(tmp_path: Path, text: str) -> None:
    trace = tmp_path / "t.jsonl"
    args = ["--runtime", "sim", "--scenario", "-", "--trace", str(trace)]
    py_field, go_field = _field(_run(args, text)), _field(_go(args, text))
    assert go_field == py_field
    assert not trace.exists()


@needs_go
def test_go_bad_flags_exit_2() -> None:
    for args, field in ((["--runtime", "fibers", "--scenario", "-"], "--runtime"),
                        (["--scenario", "-"], "--runtime"),
                        (["--runtime", "sim"], "--scenario"),
                        (["--runtime", "sim", "--scenario", "/nonexistent.json"], "--scenario"),
                        (["--runtime", "sim", "--scenario", "-", "--bogus", "1"], "-bogus"),
                        (["fuzz", "--seeds", "many"], "-seeds")):
        assert _field(_go(args)) == field, args


def _comparable(stdout: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(stdout)
    for key in ("impl", "runtime", "versions"):
        del result[key]
    return result


@needs_go
@pytest.mark.parametrize("scenario", [
    {"nodes": 3},
    {"kind": "failover", "nodes": 5, "failovers": 3, "network": {"drop_rate": 0.05}},
    {"kind": "replication", "nodes": 3, "clients": 4, "commands": 200, "network": {"jitter_ms": 3},
     "faults": [{"at_ms": 100, "action": "crash", "node": "leader"},
                {"at_ms": 300, "action": "restart", "node": "leader"},
                {"at_ms": 400, "action": "partition", "groups": [["leader"], [0]]},
                {"at_ms": 600, "action": "heal"}]},
    {"kind": "replication", "nodes": 2, "duration_ms": 300, "timeout_ms": 100},
])
def test_go_result_equals_python_result(scenario: dict[str, Any]) -> None:
    text = json.dumps(scenario)
    py = _run(["--runtime", "sim", "--scenario", "-"], text)
    go = _go(["--runtime", "sim", "--scenario", "-"], text)
    assert py.returncode == 0 and go.returncode == 0, (py.stderr, go.stderr)
    assert _comparable(go.stdout) == _comparable(py.stdout)
