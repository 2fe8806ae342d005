"""Implementations and the driver command that runs each (docs/protocol.md, table).

An *implementation* is one way of running the cluster: a driver program plus the
arguments and environment that pick its runtime. `go-1p` is the Go driver held to
one OS thread running Go code (GOMAXPROCS=1), the fairest match for CPython's GIL.

The *anchors* are the libraries a user would pick instead, run on the same
scenarios (docs/anchors.md): `anchor-hashicorp` (hashicorp/raft, beside go) and
`anchor-pysyncobj` (PySyncObj, beside py-asyncio). They are never a baseline;
they run when named with --impl, or in the presets that list them
(bench/presets.py), and only the scenarios their libraries can honour.

The table can be replaced by a JSON file named in RAFTBENCH_DRIVERS, mapping an
implementation to {"argv": [...], "env": {...}}; "{python}" in argv stands for this
interpreter and "{root}" for the repository root. Tests use it to run fake drivers.
"""

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GO_BINARY = ROOT / "go_raft" / "bin" / "goraft"
HASHICORP_BINARY = ROOT / "anchors" / "hashicorp" / "bin" / "anchor-hashicorp"
PYSYNCOBJ_SCRIPT = ROOT / "anchors" / "pysyncobj" / "anchor.py"
OVERRIDE_ENV = "RAFTBENCH_DRIVERS"


class Impl(StrEnum):
    go = "go"
    go_1p = "go-1p"
    py_threads = "py-threads"
    py_asyncio = "py-asyncio"
    py_asyncio_uvloop = "py-asyncio-uvloop"
    py_sim = "py-sim"
    go_sim = "go-sim"
    anchor_hashicorp = "anchor-hashicorp"
    anchor_pysyncobj = "anchor-pysyncobj"
    go_tcp = "go-tcp"
    py_asyncio_tcp = "py-asyncio-tcp"
    py_threads_tcp = "py-threads-tcp"
    mixed_tcp = "mixed-tcp"


# Each anchor and the driver of ours it is measured beside (the ratio's numerator).
ANCHORS: dict[str, str] = {"anchor-hashicorp": "go", "anchor-pysyncobj": "py-asyncio"}
# The project's own implementations, in the order tables and charts show them; the
# anchors come after them there.
# Every node its own process over TCP (docs/deploy.md): `raftbench cluster` with
# node_impls filled in. Like the anchors they run only when named with --impl,
# and only these scenarios (N processes per trial; no capacity or scale search).
TCP_IMPLS = frozenset({"go-tcp", "py-asyncio-tcp", "py-threads-tcp", "mixed-tcp"})
TCP_SCENARIOS = frozenset({"election", "failover", "replication"})
ALL_IMPLS: tuple[str, ...] = tuple(i.value for i in Impl
                                   if i.value not in ANCHORS and i.value not in TCP_IMPLS)
SIMULATORS = frozenset({"py-sim", "go-sim"})
# What the anchors' libraries can run: no scale search (its widened first
# election timeout is refused by both), no fault schedule.
ANCHOR_SCENARIOS = frozenset({"election", "failover", "replication", "capacity"})


def runs(impl: str, scenario: str) -> bool:
    """runs: whether an implementation can run a harness scenario at all."""
    if impl in TCP_IMPLS:
        return scenario in TCP_SCENARIOS
    return impl not in ANCHORS or scenario in ANCHOR_SCENARIOS


class DefaultImpls(list[str]):
    """DefaultImpls is the list run when --impl is not given; a preset may widen it
    with the anchors (bench/presets.py), never a list the user named."""


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
    requires: str | None = None  # a Python package the driver imports
    needs_go_node: bool = False  # runs `goraft node` (docs/deploy.md), which may not exist yet

    def missing(self) -> str | None:
        """missing says why the driver cannot run here, or None when it can."""
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"the Python package {self.requires} is not installed (make setup)"
        if self.needs_go_node:
            from bench.cluster.procs import go_node_missing

            return go_node_missing()
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
        "anchor-hashicorp": Driver((str(HASHICORP_BINARY),)),
        "anchor-pysyncobj": Driver((sys.executable, str(PYSYNCOBJ_SCRIPT)),
                                   requires="pysyncobj"),
        **{impl: Driver((sys.executable, "-m", "bench.cluster", "--impl", impl),
                        needs_go_node=impl in ("go-tcp", "mixed-tcp")) for impl in TCP_IMPLS},
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
    """default_impls: every implementation of ours (not the anchors) that can run here,
    and those left out (why)."""
    missing = unavailable(list(ALL_IMPLS))
    return DefaultImpls(i for i in ALL_IMPLS if i not in missing), missing
