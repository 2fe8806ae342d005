"""Gate: fail CI on a real slowdown against the baseline commit, not on noise.

`make bench-check` runs `python -m bench.gate`. The baseline commit (named in
results/baseline/baseline.json) is checked out in a git worktree and built,
and both trees run the same probes in fresh processes, in interleaved rounds
(ABBA order, so drift and order effects hit both alike). Two kinds of probe:
the time one node takes to handle a message (Go and Python), and the CPU time
per committed command of each real driver on a fixed amount of work. A
regression needs both a one-sided Mann-Whitney U test at `alpha` and a median
ratio above 1 + `min_effect`; docs/benchmarking.md explains the choice and
gives the gate's measured false-alarm and detection counts.

    python -m bench.gate [--rounds 8] [--probes go/handle,py/handle,...]
    python -m bench.gate --record    # make bench-baseline: name HEAD the baseline
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scipy.stats import mannwhitneyu

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "results" / "baseline" / "baseline.json"
WORKTREES = ROOT / "build"
WORKLOAD = {"scenario": "replication", "nodes": 5, "clients": 16, "commands": 1000,
            "election_timeout_ms": [50, 100], "heartbeat_ms": 20, "timeout_ms": 60_000}
SELFTEST_ENV = "RAFTBENCH_SELFTEST_SLOWDOWN"
HANDLED = 20_000  # messages per Python handling probe
# Go handles a message in about a microsecond: it needs far more of them for a
# measurement of a few hundred milliseconds, long enough to average out noise.
GO_HANDLED = 300_000


class GateError(Exception):
    """GateError is bad input or a broken setup: exit 2 with its one-line message."""

# A follower's whole handling of one message (step, persist, send, apply),
# timed in a fresh interpreter over the tree on PYTHONPATH.
PY_HANDLE = f"""
import time
from py_raft.core import AppendEntries, Entry, MemoryStorage
from py_raft.host import NodeHost
from py_raft.recorder import Recorder
from py_raft.scenario import scenario_from_dict
host = NodeHost(1, scenario_from_dict({{"nodes": 3}}), MemoryStorage(), 0, Recorder(None),
                lambda src, dst, msg: None, 0)
e = (Entry(1, "c", "x" * 16),)
msgs = [AppendEntries(1, 0, i, 1 if i else 0, e, i) for i in range({HANDLED})]
start = time.perf_counter_ns()
for i, m in enumerate(msgs):
    host.step(m, i)
print((time.perf_counter_ns() - start) / {HANDLED})
"""

# Each probe measures one thing, in a fresh process, lower is better.
PROBES = {
    "go/handle": "ns per message handled by a Go node (BenchmarkHandleAppendEntries)",
    "py/handle": "ns per message handled by a Python NodeHost",
    "go/e2e": "CPU us per committed command, Go driver",
    "py-asyncio/e2e": "CPU us per committed command, asyncio driver",
    "py-threads/e2e": "CPU us per committed command, threads driver",
}


def _env(tree: Path, slowdown: float | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop(SELFTEST_ENV, None)
    if slowdown is not None:
        env[SELFTEST_ENV] = str(slowdown)
    return env


def _run(argv: list[str], tree: Path, env: dict[str, str], stdin: str = "") -> str:
    proc = subprocess.run(argv, cwd=tree, env=env, input=stdin, capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise GateError(f"{argv[0]} in {tree} failed: {proc.stderr.strip()[-300:]}")
    return proc.stdout


def measure(probe: str, tree: Path, slowdown: float | None = None) -> float:
    """measure runs one probe once in the given tree."""
    env = _env(tree, slowdown)
    if probe == "go/handle":
        out = _run([str(tree / "build" / "node.test"), "-test.run", "^$", "-test.bench",
                    "HandleAppendEntries", "-test.benchtime", f"{GO_HANDLED}x"], tree, env)
        found = re.search(r"([\d.]+) ns/op", out)
        if found is None:
            raise GateError(f"go/handle in {tree}: no ns/op in the benchmark's output")
        return float(found.group(1))
    if probe == "py/handle":
        return float(_run([sys.executable, "-c", PY_HANDLE], tree, env))
    impl = probe.removesuffix("/e2e")
    argv = {"go": [str(tree / "go_raft" / "bin" / "goraft"), "--runtime", "goroutines"],
            "py-asyncio": [sys.executable, "-m", "py_raft", "--runtime", "asyncio"],
            "py-threads": [sys.executable, "-m", "py_raft", "--runtime", "threads"]}[impl]
    result = json.loads(_run(argv + ["--scenario", "-"], tree, env, json.dumps(WORKLOAD)))
    if not result["ok"] or not result["metrics"]["committed"]:
        raise GateError(f"{probe} in {tree}: trial not ok: {result['error']}")
    return float(result["runtime"]["cpu_trial_s"]) / result["metrics"]["committed"] * 1e6


def build(tree: Path) -> None:
    """build makes the tree's Go driver and its node benchmark binary."""
    for argv in (["go", "build", "-o", "bin/goraft", "./cmd/goraft"],
                 ["go", "test", "-c", "-o", str(tree / "build" / "node.test"), "./node"]):
        done = subprocess.run(argv, cwd=tree / "go_raft", capture_output=True, text=True)
        if done.returncode != 0:
            raise GateError(f"cannot build in {tree}: {done.stderr.strip()[-300:]}")


def git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise GateError(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def baseline_tree(commit: str) -> Path:
    """baseline_tree checks the baseline commit out once, in a git worktree."""
    tree = WORKTREES / f"baseline-{commit[:12]}"
    if not (tree / ".git").exists():
        WORKTREES.mkdir(exist_ok=True)
        git("worktree", "prune")
        git("worktree", "add", "--detach", "--force", str(tree), commit)
    return tree


def verdict(base: list[float], new: list[float], alpha: float, min_effect: float
            ) -> dict[str, Any]:
    ratio = statistics.median(new) / statistics.median(base)
    p = float(mannwhitneyu(new, base, alternative="greater").pvalue)
    return {"ratio": ratio, "p": p, "regression": p < alpha and ratio > 1 + min_effect,
            "base": base, "new": new}


def run_gate(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    commit = load_baseline()["commit"]
    base_tree = baseline_tree(commit)
    build(base_tree)
    build(ROOT)
    values: dict[str, dict[str, list[float]]] = {p: {"base": [], "new": []} for p in args.probes}
    for r in range(args.rounds):
        order = [("base", base_tree, None), ("new", ROOT, args.selftest_slowdown)]
        if r % 2:
            order.reverse()
        for probe in args.probes:
            for side, tree, slowdown in order:
                values[probe][side].append(measure(probe, tree, slowdown))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    return {p: verdict(v["base"], v["new"], args.alpha, args.min_effect)
            for p, v in values.items()}


def load_baseline() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(BASELINE.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise GateError(f"cannot read {BASELINE}: {e} (run `make bench-baseline`)") from None
    if "commit" not in data:
        raise GateError(f"{BASELINE}: no commit named")
    return data


def record(rounds: int, probes: list[str]) -> None:
    """record names HEAD the baseline and stores its values for reference."""
    if git("status", "--porcelain", "--untracked-files=no"):
        raise GateError("the working tree has changes: commit them before recording")
    build(ROOT)
    values = {p: [measure(p, ROOT) for _ in range(rounds)] for p in probes}
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE.write_text(json.dumps({
        "commit": git("rev-parse", "HEAD"),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "workload": WORKLOAD,
        "probes": PROBES,
        "values": values,
    }, indent=1) + "\n")
    print(f"baseline: {BASELINE} names {git('rev-parse', '--short', 'HEAD')}")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.gate", description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--probes", default=",".join(PROBES), help="comma-separated")
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--min-effect", type=float, default=0.08)
    p.add_argument("--selftest-slowdown", type=float, default=None,
                   help="slow this checkout's message handling by this factor (self-test)")
    p.add_argument("--record", action="store_true", help="name HEAD the baseline")
    p.add_argument("--json", type=Path, help="also write the raw values and verdicts here")
    args = p.parse_args(argv)
    args.probes = [i for i in args.probes.split(",") if i]
    unknown = [i for i in args.probes if i not in PROBES]
    if unknown or args.rounds < 3:
        p.error(f"--probes: unknown {unknown}" if unknown else "--rounds: at least 3")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        if args.record:
            record(args.rounds, args.probes)
            return 0
        verdicts = run_gate(args)
    except GateError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for probe, v in verdicts.items():
        mark = "REGRESSION" if v["regression"] else "ok"
        print(f"{probe:15} median ratio {v['ratio']:.3f}  p={v['p']:.4f}  {mark}")
    if args.json:
        args.json.write_text(json.dumps(verdicts, indent=1) + "\n")
    return 1 if any(v["regression"] for v in verdicts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
