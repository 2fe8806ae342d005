"""Helpers that run one trial of any driver and hand back its result and trace."""

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from py_raft.__main__ import run
from py_raft.scenario import scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
GORAFT = ROOT / "go_raft" / "bin" / "goraft"

# runtime name -> how to run it: ("py", runtime, loop) or ("go", runtime)
RUNTIMES = {
    "py-threads": ("py", "threads", "asyncio"),
    "py-asyncio": ("py", "asyncio", "asyncio"),
    "py-asyncio-uvloop": ("py", "asyncio", "uvloop"),
    "py-sim": ("py", "sim", "asyncio"),
    "go": ("go", "goroutines", ""),
    "go-sim": ("go", "sim", ""),
}


def trial(impl: str, scenario: dict[str, Any], tmp: Path | None = None
          ) -> tuple[dict[str, Any], list[str]]:
    """trial runs one scenario on impl; Python in-process, Go as a subprocess."""
    kind, runtime, loop = RUNTIMES[impl]
    if kind == "py":
        trace = io.StringIO()
        result = run(runtime, scenario_from_dict(scenario), trace, loop)
        return result, trace.getvalue().splitlines()
    assert tmp is not None, "a Go trial needs a directory for its trace"
    trace_path = tmp / f"{impl}-{scenario.get('seed', 1)}.jsonl"
    proc = subprocess.run(
        [str(GORAFT), "--runtime", runtime, "--scenario", "-", "--trace", str(trace_path)],
        input=json.dumps(scenario), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), trace_path.read_text().splitlines()


def applied_by_node(lines: list[str]) -> dict[int, list[tuple[int, str | None]]]:
    """applied_by_node lists, per node, the (index, cmd) it applied since its last restart."""
    out: dict[int, list[tuple[int, str | None]]] = {}
    for line in lines:
        ev = json.loads(line)
        if ev["event"] in ("crash", "restart"):
            out[ev["node"]] = []
        elif ev["event"] == "apply":
            out.setdefault(ev["node"], []).append((ev["index"], ev["cmd"]))
    return out


def leaders(lines: list[str]) -> dict[int, set[int]]:
    """leaders maps each term to the nodes that led it."""
    out: dict[int, set[int]] = {}
    for line in lines:
        ev = json.loads(line)
        if ev["event"] == "state" and ev["state"] == "leader":
            out.setdefault(ev["term"], set()).add(ev["node"])
    return out


def python_driver() -> list[str]:
    return [sys.executable, "-m", "py_raft"]
