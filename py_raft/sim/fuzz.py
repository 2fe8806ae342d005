"""Fuzz: randomized fault schedules for the simulator, one scenario per seed.

`fuzz_scenario(seed)` is deterministic and ported to Go (go_raft/sim), so a
failing seed reproduces in either language. The simulator checks the Figure 3
properties after every event and raises `SafetyViolation` on the first break.

`fuzz_scenario(seed, snapshots=True)` is the same scenario with log compaction
every few entries (section 7), so that crashes, restarts and partitions meet
snapshots, InstallSnapshot and restores from a snapshot all the time.

    python -m py_raft.sim.fuzz --seeds 100000 --jobs 2 [--snapshots]
"""

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from py_raft.core import SplitMix64, derive_seed
from py_raft.scenario import Scenario, scenario_from_dict
from py_raft.sim.sim import Sim

FUZZ_STREAM = 0xF0225EED
DURATION_MS = 1500


SNAPSHOT_ENTRIES = (10, 50)


def fuzz_scenario(seed: int, snapshots: bool = False) -> Scenario:
    """fuzz_scenario draws a small cluster, a lossy network and a fault schedule.

    The draws, in this order (Go's FuzzScenario makes the same ones):
    nodes; the fault count, then per fault at_ms, action, and its node or
    each node's side; latency, jitter, drop rate; clients; max_batch_entries.
    With snapshots, one more draw after all of those, so that the rest are
    the same: snapshot_entries, uniform in [10, 50]. Without, the field is
    left at its default.
    """
    rng = SplitMix64(derive_seed(seed, FUZZ_STREAM))
    nodes = rng.uniform_int(1, 7)
    faults = []
    for _ in range(rng.uniform_int(0, 8)):
        at_ms = rng.uniform_int(0, DURATION_MS)
        action = ("crash", "restart", "partition", "heal")[rng.uniform_int(0, 3)]
        fault: dict[str, object] = {"at_ms": at_ms, "action": action}
        if action in ("crash", "restart"):
            pick = rng.uniform_int(0, nodes)
            fault["node"] = "leader" if pick == nodes else pick
        elif action == "partition":
            side = [rng.uniform_int(0, 1) for _ in range(nodes)]
            fault["groups"] = [[n for n in range(nodes) if side[n] == g] for g in (0, 1)]
        faults.append(fault)
    fields = {
        "kind": "replication",
        "nodes": nodes,
        "seed": seed,
        "network": {
            "latency_ms": rng.uniform_int(100, 5000) / 1000,
            "jitter_ms": rng.uniform_int(0, 5000) / 1000,
            "drop_rate": rng.uniform_int(0, 30) / 100,
        },
        "clients": rng.uniform_int(1, 3),
        "duration_ms": DURATION_MS,
        "max_batch_entries": rng.uniform_int(1, 8),
        "faults": faults,
        "timeout_ms": 4 * DURATION_MS,
    }
    if snapshots:
        fields["snapshot_entries"] = rng.uniform_int(*SNAPSHOT_ENTRIES)
    return scenario_from_dict(fields)


def run_seed(seed: int, snapshots: bool = False) -> str | None:
    """run_seed simulates one fuzz seed; it returns the violation, or None."""
    sim = Sim(fuzz_scenario(seed, snapshots))
    sim.run()
    return sim.violation


def _run_range(job: tuple[int, int, bool]) -> list[tuple[int, str]]:
    first, end, snapshots = job
    return [(s, v) for s in range(first, end) if (v := run_seed(s, snapshots)) is not None]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m py_raft.sim.fuzz")
    p.add_argument("--seeds", type=int, default=500)
    p.add_argument("--first", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--snapshots", action="store_true",
                   help="compact every 10 to 50 entries (a draw after the others)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    chunk = 250
    ranges = [(s, min(s + chunk, args.first + args.seeds), args.snapshots)
              for s in range(args.first, args.first + args.seeds, chunk)]
    failures: list[tuple[int, str]] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for found in pool.map(_run_range, ranges):
            failures.extend(found)
    elapsed = time.perf_counter() - start
    for seed, violation in failures:
        print(f"seed {seed}: {violation}")
    print(f"{args.seeds} seeds, {len(failures)} violations, {elapsed:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
