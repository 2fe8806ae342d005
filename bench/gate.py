"""Gate: fail CI on a real slowdown against the baseline commit, not on noise.

`make bench-check` runs `python -m bench.gate`. The baseline commit (named in
results/baseline/baseline.json) is checked out in a git worktree and built, and
both trees run the same fixed-work workload in fresh driver processes, in
interleaved rounds (ABBA order, so drift and order effects hit both alike).
The measure is CPU time per committed command inside the driver (`cpu_trial_s`
/ `committed`): CPU is steadier than wall time on a shared machine, and fixed
work makes it comparable. A regression needs both a one-sided Mann-Whitney U
test at `alpha` and a median ratio above 1 + `min_effect`; docs/benchmarking.md
explains the choice and shows the gate's false-alarm and detection counts.

    python -m bench.gate [--rounds 8] [--impls go,py-asyncio,py-threads]
    python -m bench.gate --record    # make bench-baseline: name HEAD the baseline
"""

import argparse
import json
import os
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
IMPLS = ("go", "py-asyncio", "py-threads")
WORKLOAD = {"scenario": "replication", "nodes": 5, "clients": 16, "commands": 1000,
            "election_timeout_ms": [50, 100], "heartbeat_ms": 20, "timeout_ms": 60_000}
SELFTEST_ENV = "RAFTBENCH_SELFTEST_SLOWDOWN"


class GateError(Exception):
    """GateError is bad input or a broken setup: exit 2 with its one-line message."""


def driver_argv(impl: str, tree: Path) -> list[str]:
    if impl == "go":
        return [str(tree / "go_raft" / "bin" / "goraft"), "--runtime", "goroutines"]
    runtime = {"py-asyncio": "asyncio", "py-threads": "threads"}[impl]
    return [sys.executable, "-m", "py_raft", "--runtime", runtime]


def measure(impl: str, tree: Path, slowdown: float | None = None) -> float:
    """measure runs the workload once; it returns CPU microseconds per command."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop(SELFTEST_ENV, None)
    if slowdown is not None:
        env[SELFTEST_ENV] = str(slowdown)
    proc = subprocess.run(driver_argv(impl, tree) + ["--scenario", "-"], cwd=tree, env=env,
                          input=json.dumps(WORKLOAD), capture_output=True, text=True,
                          timeout=120)
    if proc.returncode != 0:
        raise GateError(f"{impl} in {tree} failed: {proc.stderr.strip()[-300:]}")
    result = json.loads(proc.stdout)
    if not result["ok"] or not result["metrics"]["committed"]:
        raise GateError(f"{impl} in {tree}: trial not ok: {result['error']}")
    cpu = result["runtime"]["cpu_trial_s"]
    return float(cpu) / result["metrics"]["committed"] * 1e6


def git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise GateError(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def baseline_tree(commit: str) -> Path:
    """baseline_tree checks the baseline commit out once, and builds its Go driver."""
    tree = WORKTREES / f"baseline-{commit[:12]}"
    if not (tree / ".git").exists():
        WORKTREES.mkdir(exist_ok=True)
        git("worktree", "prune")
        git("worktree", "add", "--detach", "--force", str(tree), commit)
    build = subprocess.run(["go", "build", "-o", "bin/goraft", "./cmd/goraft"],
                           cwd=tree / "go_raft", capture_output=True, text=True)
    if build.returncode != 0:
        raise GateError(f"cannot build the baseline's Go driver: {build.stderr.strip()}")
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
    values: dict[str, dict[str, list[float]]] = {i: {"base": [], "new": []} for i in args.impls}
    for r in range(args.rounds):
        order = [("base", base_tree, None), ("new", ROOT, args.selftest_slowdown)]
        if r % 2:
            order.reverse()
        for impl in args.impls:
            for side, tree, slowdown in order:
                values[impl][side].append(measure(impl, tree, slowdown))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    return {impl: verdict(v["base"], v["new"], args.alpha, args.min_effect)
            for impl, v in values.items()}


def load_baseline() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(BASELINE.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise GateError(f"cannot read {BASELINE}: {e} (run `make bench-baseline`)") from None
    if "commit" not in data:
        raise GateError(f"{BASELINE}: no commit named")
    return data


def record(rounds: int, impls: list[str]) -> None:
    """record names HEAD the baseline and stores its values for reference."""
    if git("status", "--porcelain", "--untracked-files=no"):
        raise GateError("the working tree has changes: commit them before recording")
    values = {impl: [measure(impl, ROOT) for _ in range(rounds)] for impl in impls}
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE.write_text(json.dumps({
        "commit": git("rev-parse", "HEAD"),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "workload": WORKLOAD,
        "measure": "CPU microseconds per committed command (cpu_trial_s / committed)",
        "values": values,
    }, indent=1) + "\n")
    print(f"baseline: {BASELINE} names {git('rev-parse', '--short', 'HEAD')}")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.gate", description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--impls", default=",".join(IMPLS))
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--min-effect", type=float, default=0.08)
    p.add_argument("--selftest-slowdown", type=float, default=None,
                   help="slow this checkout's message handling by this factor (self-test)")
    p.add_argument("--record", action="store_true", help="name HEAD the baseline")
    p.add_argument("--json", type=Path, help="also write the raw values and verdicts here")
    args = p.parse_args(argv)
    args.impls = [i for i in args.impls.split(",") if i]
    unknown = [i for i in args.impls if i not in IMPLS]
    if unknown or args.rounds < 3:
        p.error(f"--impls: unknown {unknown}" if unknown else "--rounds: at least 3")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        if args.record:
            record(args.rounds, args.impls)
            return 0
        verdicts = run_gate(args)
    except GateError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for impl, v in verdicts.items():
        mark = "REGRESSION" if v["regression"] else "ok"
        print(f"{impl:12} median ratio {v['ratio']:.3f}  p={v['p']:.4f}  {mark}")
    if args.json:
        args.json.write_text(json.dumps(verdicts, indent=1) + "\n")
    return 1 if any(v["regression"] for v in verdicts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
