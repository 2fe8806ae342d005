"""The Go and Python simulators write the same trace, byte for byte (docs/protocol.md).

For 50 fuzz seeds both drivers run the same scenario with --trace; the traces
must be identical. Both drivers must also reject the same bad scenarios with
exit status 2 and the same one-line message.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize("seed", SEEDS)
def test_same_trace(goraft: Path, tmp_path: Path, seed: int) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps(fuzz_scenario(seed).to_json()))
    py_trace, go_trace = tmp_path / "py.trace", tmp_path / "go.trace"
    py = _run([sys.executable, "-m", "py_raft", "--runtime", "sim",
               "--scenario", str(scenario), "--trace", str(py_trace)])
    go = _run([str(goraft), "--runtime", "sim", "--scenario", str(scenario),
               "--trace", str(go_trace)])
    assert py.returncode == 0, py.stderr
    assert go.returncode == 0, go.stderr
    a, b = py_trace.read_bytes(), go_trace.read_bytes()
    if a != b:
        diff = _first_difference(a.decode().splitlines(), b.decode().splitlines())
        pytest.fail(f"seed {seed}: traces differ at {diff}")
    assert a, f"seed {seed}: empty trace"
    py_metrics = json.loads(py.stdout)["metrics"]
    go_metrics = json.loads(go.stdout)["metrics"]
    assert py_metrics == go_metrics, f"seed {seed}"


BAD_SCENARIOS = [
    "",
    "[1, 2]",
    '{"nodes": 0}',
    '{"nodes": 2.0}',
    '{"nodes": true}',
    '{"kind": "chaos"}',
    '{"bogus": 1}',
    '{"election_timeout_ms": [300, 150]}',
    '{"heartbeat_ms": 200}',
    '{"network": {"drop_rate": 1}}',
    '{"network": {"speed": 1}}',
    '{"network": []}',
    '{"faults": [{"at_ms": 1, "action": "crash", "node": 9}]}',
    '{"faults": [{"action": "heal"}]}',
    '{"faults": [{"at_ms": 1, "action": "explode"}]}',
    '{"faults": [{"at_ms": 1, "action": "partition", "groups": []}]}',
    '{"seed": -1}',
    '{"commands": 0}',
    '{"observe_ms": "long"}',
    '{"nodes": 3,}',
    '{"first_election_timeout_ms": [500, 100]}',
    '{"first_election_timeout_ms": "wide"}',
    '{"inbox_capacity": -1}',
    '{"memory_limit_mb": -5}',
]


@pytest.mark.parametrize("text", BAD_SCENARIOS)
def test_same_rejection(goraft: Path, text: str) -> None:
    py = _run([sys.executable, "-m", "py_raft", "--runtime", "sim", "--scenario", "-"], text)
    go = _run([str(goraft), "--runtime", "sim", "--scenario", "-"], text)
    assert py.returncode == 2 and go.returncode == 2, (py.stderr, go.stderr)
    assert py.stdout == "" and go.stdout == ""
    assert len(go.stderr.splitlines()) == 1, go.stderr
    assert go.stderr == py.stderr
