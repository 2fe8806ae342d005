"""Gate: fail CI on a real slowdown against the baseline commit, not on noise.

`raftbench gate` (`make bench-check`). The baseline commit, named in
results/baseline/baseline.json, is checked out in a git worktree under build/
and built; both trees run the same probes in fresh processes, in interleaved
rounds (ABBA order, so drift and order effects hit both alike). Two kinds of
probe: the time one node takes to handle a message (Go's
BenchmarkHandleAppendEntries, Python's bench/probe.py), and the CPU time per
committed command of each real driver of bench/impls.py on a fixed amount of
work. A regression needs both a one-sided Mann-Whitney U test at `alpha`,
its p values adjusted over the probes of the run, and a median ratio above
1 + `min_effect`; docs/benchmarking.md explains the choice and gives the
gate's measured false-alarm and detection counts.

Each tree is measured with its own code: its own py_raft, drivers and probe
module (bench.probe, or bench/probe_legacy.py for a tree older than it); only
the driver table and the statistics are this checkout's.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bench import store
from bench.impls import GO_BINARY, ROOT, Driver, drivers
from bench.measure import run_driver
from bench.units import fmt

BASELINE = ROOT / "results" / "baseline" / "baseline.json"
WORKTREES = ROOT / "build"
LEGACY_PROBE = Path(__file__).with_name("probe_legacy.py")
SELFTEST_ENV = "RAFTBENCH_SELFTEST_SLOWDOWN"
# Go handles a message in about a microsecond: it needs far more of them than
# Python (bench.probe.HANDLED) for a measurement of a few hundred milliseconds,
# long enough to average out noise.
GO_HANDLED = 300_000
# A handling probe's value in a round is the best of this many runs: the loop
# is deterministic, so anything above its best run is interference from the
# rest of the machine, which on a shared 2-core runner moved single runs by
# up to 1.36x between two rounds of unchanged code.
REPEATS = 3
PROBE_TIMEOUT_S = 120.0

# Each probe measures one thing, in a fresh process; lower is better. The
# end-to-end probes name the only implementations the gate runs.
PROBES = {
    "go/handle": "ns per message handled by a Go node (BenchmarkHandleAppendEntries)",
    "py/handle": "ns per message handled by a Python NodeHost",
    "go/e2e": "CPU us per committed command, Go driver",
    "py-asyncio/e2e": "CPU us per committed command, asyncio driver",
    "py-threads/e2e": "CPU us per committed command, threads driver",
}
UNITS = {"handle": "ns", "e2e": "us"}


class GateError(Exception):
    """GateError is bad input or a broken setup: exit 2 with its one-line message."""


@dataclass(frozen=True)
class Options:
    rounds: int = 8
    probes: tuple[str, ...] = tuple(PROBES)
    alpha: float = 0.01
    min_effect: float = 0.08
    slowdown: float = 1.0  # this checkout's message handling, for the self-test


def options(rounds: int, probes: list[str] | None, alpha: float, min_effect: float,
            slowdown: float | None) -> Options:
    """options checks the user's choices before anything is built or written."""
    names = [p.strip() for item in probes or [] for p in item.split(",") if p.strip()]
    unknown = [p for p in names if p not in PROBES]
    if unknown:
        raise GateError(f"--probes: unknown {', '.join(unknown)} (choose from "
                        f"{', '.join(PROBES)})")
    if rounds < 2:
        raise GateError(f"--rounds: at least 2, got {rounds}")
    if not 0 < alpha < 1:
        raise GateError(f"--alpha: must be between 0 and 1, got {alpha:g}")
    if min_effect < 0:
        raise GateError(f"--min-effect: must not be negative, got {min_effect:g}")
    if slowdown is not None and slowdown < 1:
        raise GateError(f"--selftest-slowdown: a factor of at least 1, got {slowdown:g}")
    return Options(rounds, tuple(dict.fromkeys(names)) or tuple(PROBES), alpha, min_effect,
                   slowdown or 1.0)


@dataclass
class Tree:
    """Tree is one checkout the gate measures, with the slowdown its runs get."""

    path: Path
    slowdown: float = 1.0

    def env(self) -> dict[str, str]:
        # PYTHONSAFEPATH: `python -m` would otherwise put the current directory
        # ahead of PYTHONPATH, and with it this checkout's packages.
        return {"PYTHONPATH": str(self.path), "PYTHONSAFEPATH": "1",
                SELFTEST_ENV: f"{self.slowdown:g}"}

    def probe_argv(self, action: str) -> list[str]:
        if (self.path / "bench" / "probe.py").is_file():
            return [sys.executable, "-m", "bench.probe", action]
        return [sys.executable, "-P", str(LEGACY_PROBE), action]

    def output(self, argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, cwd=self.path, env=os.environ | self.env(),
                                  capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise GateError(f"{argv[0]} in {self.path}: {e}") from None
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise GateError(f"{' '.join(argv[-2:])} in {self.path} failed: {why}")
        return done.stdout

    @cached_property
    def workload(self) -> dict[str, Any]:
        """workload: the end-to-end scenario, in the format this tree's drivers read."""
        found: dict[str, Any] = json.loads(self.output(self.probe_argv("workload")))
        return found

    def driver(self, impl: str) -> Driver:
        """driver: impl's command from bench/impls.py, pointed into this tree.

        Paths into this checkout (the Go binary) become paths into the tree; the
        interpreter stays, and PYTHONPATH picks the tree's py_raft.
        """
        base = drivers()[impl]
        here = str(ROOT) + os.sep
        argv = tuple(str(self.path / a.removeprefix(here))
                     if a.startswith(here) and a != sys.executable else a for a in base.argv)
        return Driver(argv, base.env | self.env())


def measure(probe: str, tree: Tree) -> float:
    """measure runs one probe once in the given tree."""
    if probe == "go/handle":
        out = tree.output([str(tree.path / "build" / "node.test"), "-test.run", "^$",
                           "-test.bench", "^BenchmarkHandleAppendEntries$",
                           "-test.benchtime", f"{GO_HANDLED}x", "-test.count", str(REPEATS)])
        found = re.findall(r"([\d.]+) ns/op", out)
        if not found:
            raise GateError(f"go/handle in {tree.path}: no ns/op in the benchmark's output")
        return min(float(ns) for ns in found)
    if probe == "py/handle":
        return min(float(tree.output(tree.probe_argv("py-handle"))) for _ in range(REPEATS))
    return _e2e(probe, tree)


def _e2e(probe: str, tree: Tree) -> float:
    """_e2e: CPU us per committed command, as the driver measures its trial (no start-up)."""
    outcome = run_driver(tree.driver(probe.removesuffix("/e2e")), tree.workload,
                         PROBE_TIMEOUT_S)
    result = store.parse_result(outcome.stdout)
    failure = store.failure_of(outcome, result, PROBE_TIMEOUT_S)
    if failure is not None or result is None:
        tail = (outcome.stderr_tail.strip().splitlines() or [""])[-1]
        raise GateError(f"{probe} in {tree.path}: {failure} {tail}".rstrip())
    committed = int(result["metrics"]["committed"])
    if not committed:
        raise GateError(f"{probe} in {tree.path}: no command committed")
    return float(result["runtime"]["cpu_trial_s"]) / committed * 1e6


def build(tree: Path, probes: tuple[str, ...]) -> None:
    """build makes what the probes run from the tree: its Go driver, its node benchmark."""
    steps = []
    if "go/e2e" in probes:
        steps.append(["go", "build", "-o", str(tree / GO_BINARY.relative_to(ROOT)),
                      "./cmd/goraft"])
    if "go/handle" in probes:
        steps.append(["go", "test", "-c", "-o", str(tree / "build" / "node.test"), "./node"])
    for argv in steps:
        try:
            done = subprocess.run(argv, cwd=tree / "go_raft", capture_output=True, text=True)
        except OSError as e:
            raise GateError(f"cannot build in {tree}: {e}") from None
        if done.returncode != 0:
            raise GateError(f"cannot build in {tree}: {done.stderr.strip()[-300:]}")


def git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise GateError(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def load_baseline() -> str:
    """load_baseline: the baseline commit, which must be in this clone."""
    try:
        data = json.loads(BASELINE.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise GateError(f"cannot read {BASELINE}: {e} (record one: raftbench gate --record)"
                        ) from None
    commit = data.get("commit") if isinstance(data, dict) else None
    if not isinstance(commit, str):
        raise GateError(f"{BASELINE}: no commit named")
    if subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT,
                      capture_output=True).returncode != 0:
        raise GateError(f"baseline commit {commit[:12]} is not in this clone "
                        "(a shallow CI checkout needs the full history: fetch-depth 0)")
    return commit


def baseline_tree(commit: str) -> Path:
    """baseline_tree checks the baseline commit out once, in a git worktree.

    A new baseline's worktree replaces the old ones, so build/ holds one.
    """
    tree = WORKTREES / f"baseline-{commit[:12]}"
    if (tree / ".git").exists():
        return tree
    for old in WORKTREES.glob("baseline-*/.git"):
        git("worktree", "remove", "--force", str(old.parent))
    WORKTREES.mkdir(exist_ok=True)
    git("worktree", "prune")
    git("worktree", "add", "--detach", "--force", str(tree), commit)
    return tree


@dataclass(frozen=True)
class Verdict:
    ratio: float  # median(new) / median(base)
    p: float  # one-sided Mann-Whitney U: new is larger
    regression: bool
    base: list[float] = field(default_factory=list)
    new: list[float] = field(default_factory=list)
    p_adjusted: float | None = None  # over the run's probes (judge); None: alone


def verdict(base: list[float], new: list[float], alpha: float, min_effect: float,
            p_adjusted: float | None = None) -> Verdict:
    """verdict: a regression is a significant shift upwards that is also large enough.

    p_adjusted, when the probe is one of several (judge), is what must be below alpha.
    """
    from bench.stats import p_greater  # scipy: not loaded for `raftbench --help`

    ratio = statistics.median(new) / statistics.median(base)
    p = p_greater(base, new)
    significant = (p if p_adjusted is None else p_adjusted) < alpha
    return Verdict(ratio, p, significant and ratio > 1 + min_effect, list(base), list(new),
                   p_adjusted)


def judge(values: dict[str, tuple[list[float], list[float]]], alpha: float,
          min_effect: float) -> dict[str, Verdict]:
    """judge: each probe's verdict, its p value adjusted over all the probes judged."""
    from bench.stats import adjust_p, p_greater

    adjusted = adjust_p([p_greater(base, new) for base, new in values.values()])
    return {probe: verdict(base, new, alpha, min_effect, p_adj)
            for (probe, (base, new)), p_adj in zip(values.items(), adjusted, strict=True)}


Measure = Callable[[str, Tree], float]


def rounds(opts: Options, base: Tree, new: Tree, measure: Measure = measure,
           done: Callable[[int], None] = lambda r: None) -> dict[str, Verdict]:
    """rounds runs every probe in both trees, round after round, in ABBA order."""
    values: dict[str, dict[str, list[float]]] = {p: {"base": [], "new": []}
                                                 for p in opts.probes}
    for r in range(opts.rounds):
        order = [("base", base), ("new", new)]
        if r % 2:
            order.reverse()
        for probe in opts.probes:
            for side, tree in order:
                values[probe][side].append(measure(probe, tree))
        done(r + 1)
    return judge({p: (v["base"], v["new"]) for p, v in values.items()}, opts.alpha,
                 opts.min_effect)


def run_gate(opts: Options, done: Callable[[int], None] = lambda r: None
             ) -> dict[str, Verdict]:
    base = baseline_tree(load_baseline())
    build(base, opts.probes)
    build(ROOT, opts.probes)
    return rounds(opts, Tree(base), Tree(ROOT, opts.slowdown), measure, done)


def record(opts: Options) -> str:
    """record names HEAD the baseline and stores its values for reference."""
    if git("status", "--porcelain", "--untracked-files=no"):
        raise GateError("the working tree has changes: commit them before recording")
    build(ROOT, opts.probes)
    here = Tree(ROOT)
    values = {p: [measure(p, here) for _ in range(opts.rounds)] for p in opts.probes}
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE.write_text(json.dumps({
        "commit": git("rev-parse", "HEAD"),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "workload": here.workload,
        "probes": {p: PROBES[p] for p in opts.probes},
        "values": values,
    }, indent=1) + "\n")
    return git("rev-parse", "--short", "HEAD")


def render(verdicts: dict[str, Verdict]) -> list[str]:
    """render: one line per probe, the medians of baseline -> this checkout."""
    lines = []
    for probe, v in verdicts.items():
        unit = UNITS[probe.split("/")[1]]
        mark = "REGRESSION" if v.regression else "ok"
        base, new = (fmt(statistics.median(x), unit, 4) for x in (v.base, v.new))
        adjusted = "" if v.p_adjusted is None else f" (adjusted {v.p_adjusted:.4f})"
        lines.append(f"{probe:15} {base:>10} -> {new:<10}  ratio {v.ratio:.3f}  "
                     f"p={v.p:.4f}{adjusted}  {mark}")
    return lines


def to_json(verdicts: dict[str, Verdict]) -> str:
    return json.dumps({p: asdict(v) for p, v in verdicts.items()}, indent=1) + "\n"


if __name__ == "__main__":  # a CI script still calling the old command must not pass silently
    print("error: python -m bench.gate is gone: run `raftbench gate` (make bench-check)",
          file=sys.stderr)
    sys.exit(2)
