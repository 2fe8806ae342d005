"""Checks: a fixed suite of fault scenarios, each run with --trace and then verified.

A case passes when the driver exits 0 with `ok: true` and the trace checker
(bench.tracecheck) finds no violation in its trace. The suite covers message loss,
partitions (the leader isolated, a minority cut off) and crashes with restarts, at
even and odd sizes: with an even N a majority is N/2 + 1, an easy place for an
off-by-one.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.impls import drivers
from bench.measure import run_driver

CHECK_TIMEOUT_S = 60.0
_FAULTY = {"client_timeout_ms": 300, "timeout_ms": 30_000}


def _repl(n: int, seed: int, **extra: Any) -> dict[str, Any]:
    return {"kind": "replication", "nodes": n, "seed": seed, "clients": 4,
            "duration_ms": 1500, **_FAULTY, **extra}


def _partition(at: float, groups: list[list[Any]], heal: float) -> list[dict[str, Any]]:
    return [{"at_ms": at, "action": "partition", "groups": groups},
            {"at_ms": heal, "action": "heal"}]


CASES: dict[str, dict[str, Any]] = {
    "n2-loss10": _repl(2, 1, duration_ms=800, network={"drop_rate": 0.1}),
    "n3-loss20": _repl(3, 2, duration_ms=800, network={"drop_rate": 0.2}),
    "n3-election-loss20": {"kind": "election", "nodes": 3, "seed": 3, "observe_ms": 800,
                           "network": {"drop_rate": 0.2}, **_FAULTY},
    "n4-isolate-leader": _repl(4, 4, faults=_partition(500, [["leader"]], 1100)),
    "n5-crash-restart-leader": _repl(5, 5, faults=[
        {"at_ms": 500, "action": "crash", "node": "leader"},
        {"at_ms": 1000, "action": "restart", "node": "leader"}]),
    "n5-minority-partition": _repl(5, 6, faults=_partition(500, [[0, 1]], 1100)),
    "n7-failover-loss10": {"kind": "failover", "nodes": 7, "seed": 7, "failovers": 3,
                           "network": {"drop_rate": 0.1}, **_FAULTY},
}


@dataclass
class CheckRow:
    impl: str
    case: str
    ok: bool  # the driver ran and reported ok: true
    problem: str | None  # why not ok
    violations: list[str]

    @property
    def passed(self) -> bool:
        return self.ok and not self.violations


def _check_one(impl: str, case: str, trace: Path) -> CheckRow:
    from bench.store import failure_of, parse_result
    from bench.tracecheck import check_trace_file  # written beside this module

    outcome = run_driver(drivers()[impl], CASES[case], CHECK_TIMEOUT_S, trace=trace)
    problem = failure_of(outcome, parse_result(outcome.stdout), CHECK_TIMEOUT_S)
    if outcome.exit_code != 0 or not trace.exists():
        return CheckRow(impl, case, False, problem or "no trace written", [])
    return CheckRow(impl, case, problem is None, problem, check_trace_file(trace))


def run_checks(impls: list[str], trace_dir: Path | None, console: Console) -> list[CheckRow]:
    """run_checks runs every case on every implementation; traces go to trace_dir."""
    with tempfile.TemporaryDirectory(prefix="raftbench-check-") as tmp:
        base = trace_dir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        rows = []
        with console.status("checking") as status:
            for case in CASES:
                for impl in impls:
                    status.update(f"checking {impl} {case}")
                    rows.append(_check_one(impl, case, base / f"{impl}-{case}.jsonl"))
        return rows


def render(rows: list[CheckRow], console: Console) -> bool:
    """render prints the table; returns True when every case passed."""
    t = Table("impl", "case", "ok", "violations", "first problem", title="Trace checks")
    for r in rows:
        first = r.violations[0] if r.violations else (r.problem or "")
        mark = "[green]pass[/green]" if r.passed else "[red]FAIL[/red]"
        t.add_row(r.impl, r.case, mark, str(len(r.violations)), first[:120])
    console.print(t)
    failed = sum(not r.passed for r in rows)
    console.print(f"{len(rows) - failed}/{len(rows)} passed")
    return failed == 0
