"""Implementations and the driver command that runs each (docs/protocol.md, table).

An *implementation* is one way of running the cluster: a driver program plus the
arguments and environment that pick its runtime. `go-1p` is the Go driver held to
one OS thread running Go code (GOMAXPROCS=1), the fairest match for CPython's GIL.

The table can be replaced by a JSON file named in RAFTBENCH_DRIVERS, mapping an
implementation to {"argv": [...], "env": {...}}; "{python}" in argv stands for this
interpreter and "{root}" for the repository root. Tests use it to run fake drivers.
"""

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GO_BINARY = ROOT / "go_raft" / "bin" / "goraft"
OVERRIDE_ENV = "RAFTBENCH_DRIVERS"


class Impl(StrEnum):
    go = "go"
    go_1p = "go-1p"
    py_threads = "py-threads"
    py_asyncio = "py-asyncio"
    py_asyncio_uvloop = "py-asyncio-uvloop"
    py_sim = "py-sim"
    go_sim = "go-sim"


ALL_IMPLS: tuple[str, ...] = tuple(i.value for i in Impl)
SIMULATORS = frozenset({"py-sim", "go-sim"})


def ideal(impls: tuple[str, ...] | list[str]) -> str | None:
    """ideal: the one simulator that stands for both in the capacity and scale runs.

    The two simulators are one algorithm, proven byte-identical (tests/test_cross_sim.py);
    running both at 65,536 nodes would double the longest part of a run for nothing.
    go-sim is preferred because it is the faster to run.
    """
    return next((s for s in ("go-sim", "py-sim") if s in impls), None)


@dataclass(frozen=True)
class Driver:
    """Driver is the command line of one implementation, without --scenario/--trace."""

    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    def missing(self) -> str | None:
        """missing says why the driver cannot run here, or None when it can."""
        exe = self.argv[0]
        if os.sep in exe:
            return None if os.access(exe, os.X_OK) else f"{exe} not found (build it first)"
        return None if shutil.which(exe) else f"{exe} not found on PATH"


def _builtin() -> dict[str, Driver]:
    py = (sys.executable, "-m", "py_raft")
    go = str(GO_BINARY)
    return {
        "go": Driver((go, "--runtime", "goroutines")),
        "go-1p": Driver((go, "--runtime", "goroutines"), {"GOMAXPROCS": "1"}),
        "py-threads": Driver((*py, "--runtime", "threads")),
        "py-asyncio": Driver((*py, "--runtime", "asyncio")),
        "py-asyncio-uvloop": Driver((*py, "--runtime", "asyncio", "--loop", "uvloop")),
        "py-sim": Driver((*py, "--runtime", "sim")),
        "go-sim": Driver((go, "--runtime", "sim")),
    }


def _override(path: str) -> dict[str, Driver]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    subst = {"{python}": sys.executable, "{root}": str(ROOT)}
    out = {}
    for name, spec in raw.items():
        argv = tuple(subst.get(a, a).replace("{root}", str(ROOT)) for a in spec["argv"])
        out[name] = Driver(argv, dict(spec.get("env", {})))
    return out


def drivers() -> dict[str, Driver]:
    """drivers gives the command of every implementation, overrides applied."""
    table = _builtin()
    path = os.environ.get(OVERRIDE_ENV)
    if path:
        table.update(_override(path))
    return table


def unavailable(names: list[str]) -> dict[str, str]:
    """unavailable maps each named implementation that cannot run here to why not."""
    table = drivers()
    out = {}
    for name in names:
        why = table[name].missing()
        if why:
            out[name] = why
    return out


def default_impls() -> tuple[list[str], dict[str, str]]:
    """default_impls: every implementation that can run here, and those left out (why)."""
    missing = unavailable(list(ALL_IMPLS))
    return [i for i in ALL_IMPLS if i not in missing], missing
