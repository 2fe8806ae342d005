"""Presets: the settings of a whole run, chosen for a time budget.

A `RunConfig` is everything a run needs besides the drivers; it is stored in the
run's `run.json`, so that `--resume` repeats exactly the same plan.

Budgets (2 cores; each driver process costs ~0.2-0.5 s of start-up):
* quick: at most 3 minutes, what `make bench` runs;
* standard: at most 25 minutes;
* full: hours, large N;
* paper: Figure 16 of the Raft paper (long: trials on the equal-timeout lines
  can run to their 120 s limit).

The standard preset also runs the anchors (docs/anchors.md), each beside its
reference driver, when --impl is not given; the others leave them out for time.
"""

from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from bench.impls import ANCHORS, DefaultImpls, unavailable

SCENARIOS = ("election", "failover", "replication", "capacity", "scale")

# Figure 16 of the Raft paper: election timeout ranges in ms, top and bottom rows.
PAPER_TOP = ((150, 150), (150, 151), (150, 155), (150, 175), (150, 200), (150, 300))
PAPER_BOTTOM = ((12, 24), (25, 50), (50, 100), (100, 200), (150, 300))


class Preset(StrEnum):
    quick = "quick"
    standard = "standard"
    full = "full"
    paper = "paper"


class Workload(StrEnum):
    """Workload: what `--scenario` picks in raftbench, a measurement built from one or
    more driver scenarios (docs/benchmarking.md); `kind` is the driver's own field."""

    election = "election"
    failover = "failover"
    replication = "replication"
    capacity = "capacity"
    scale = "scale"


@dataclass(frozen=True)
class RunConfig:
    preset: str
    impls: tuple[str, ...]
    scenarios: tuple[str, ...]
    sizes: tuple[int, ...]  # N for election, failover and replication
    trials: int  # measured trials per (impl, scenario, N, variant); warm-ups extra
    election_observe_ms: float = 200.0
    failovers_per_trial: int = 3  # leader crashes per failover driver run
    settle_ms: float = 300.0
    failover_ranges: tuple[tuple[float, float], ...] = ((150, 300),)
    # The paper's method (section 9.3): the heartbeat is half the minimum election
    # timeout on every line. Otherwise 50 ms where that fits (bench.plan.heartbeat_for).
    paper_heartbeat: bool = False
    # "memory", or "file": the nodes persist to files with fsync before they answer,
    # so that persisting is part of the broadcast time, as in the paper's servers.
    storage: str = "memory"
    # Every node its own process over TCP (docs/deploy.md): a cluster of N processes
    # costs N interpreter start-ups per trial, so these run at small N only.
    tcp_sizes: tuple[int, ...] = (3, 5, 9)
    replication_ms: float = 500.0
    light_clients: int = 1
    # Saturation: enough clients, and batches large enough, that neither the network
    # model nor the batch cap limits throughput but the runtime does. With 64 clients
    # and 64-entry batches even the simulator stalls near 20k ops/s (one batch per
    # round trip); with 256 and 1024 it reaches ~80k while the real runtimes do not.
    saturated_clients: int = 256
    saturated_batch: int = 1024
    # Capacity (docs/benchmarking.md): a sweep of closed-loop client counts on a
    # network fast enough (1 us, no jitter) that the runtime, not Little's law over
    # the network's round trips, is the limit.
    capacity_sizes: tuple[int, ...] = (3, 33)
    capacity_clients: tuple[int, ...] = (1, 16, 256)
    capacity_ms: float = 500.0
    capacity_latency_ms: float = 0.001
    capacity_p99_bound_ms: float = 50.0  # "sustained": p99 commit latency under this
    capacity_sim_commands: int = 5_000  # simulators stop here: their time is virtual
    # Scale to failure: N doubles from scale_start while a leader holds, then
    # scale_bisect steps bisect between the last N that held and the first that
    # did not; scale_first_ms_per_node widens the first election's range.
    scale_start: int = 3
    scale_max: int = 768
    scale_bisect: int = 0
    trials_scale: int = 1  # trials per N in the scale search (each at seed 1, 2, ...)
    scale_hold_s: float = 0.5  # S: a stable leader must hold this long
    scale_first_ms_per_node: float = 20.0
    scale_timeout_s: float = 45.0  # the harness's limit for one scale trial
    memory_cap_mb: float = 4096.0  # a driver past this is killed: failed, "memory"
    scenario_timeout_ms: float = 20_000.0  # the driver's own limit (ok: false past it)
    trial_timeout_s: float = 40.0  # the harness kills the driver past this

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(raw: dict[str, Any]) -> "RunConfig":
        known = {f.name for f in fields(RunConfig)}
        vals = {k: v for k, v in raw.items() if k in known}
        vals["failover_ranges"] = tuple(tuple(r) for r in vals.get("failover_ranges", ()))
        for k in ("impls", "scenarios", "sizes", "capacity_sizes", "capacity_clients"):
            if k in vals:
                vals[k] = tuple(vals[k])
        return RunConfig(**vals)


_PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(sizes=(3, 5), trials=2, capacity_sizes=(3,), capacity_ms=300.0, scale_max=384),
    "standard": dict(
        sizes=(3, 5, 9, 33), trials=5, failovers_per_trial=4, replication_ms=500.0,
        capacity_sizes=(3, 9, 33), capacity_clients=(1, 16, 256, 1024),
        capacity_ms=500.0, scale_max=65_536, scale_bisect=2, scale_hold_s=1.0,
        scale_timeout_s=60.0, scenario_timeout_ms=30_000.0, trial_timeout_s=60.0,
    ),
    "full": dict(
        sizes=(3, 5, 9, 17, 33, 65, 129), trials=20, failovers_per_trial=10,
        election_observe_ms=500.0, replication_ms=2000.0, saturated_clients=512,
        capacity_sizes=(3, 9, 33, 65), capacity_clients=(1, 4, 16, 64, 256, 1024, 4096),
        capacity_ms=2000.0, scale_max=100_000, scale_bisect=4, scale_hold_s=2.0,
        scale_timeout_s=300.0, scenario_timeout_ms=120_000.0, trial_timeout_s=180.0,
    ),
    # 4 trials x 25 crashes = 100 failovers per line, as the paper's figure has.
    "paper": dict(
        scenarios=("failover",), sizes=(5,), trials=4, failovers_per_trial=25,
        paper_heartbeat=True, storage="file",
        capacity_sizes=(), capacity_clients=(),
        failover_ranges=tuple(dict.fromkeys(PAPER_TOP + PAPER_BOTTOM)),
        # Equal timeouts (150-150) can split votes forever when nothing breaks the
        # symmetry (the simulator never elects); such trials end at this limit.
        scenario_timeout_ms=120_000.0, trial_timeout_s=150.0,
    ),
}


# Presets that run each anchor beside its reference driver, and the TCP
# implementations, when --impl is not given.
ANCHORED_PRESETS = frozenset({"standard"})


def with_anchors(impls: list[str]) -> list[str]:
    """with_anchors: impls, then every anchor that can run here whose reference is in it."""
    extra = [a for a, ref in ANCHORS.items() if ref in impls and a not in impls]
    missing = unavailable(extra)
    return [*impls, *(a for a in extra if a not in missing)]


# Each TCP implementation and the in-process driver it is read against.
TCP_REFERENCE = {"go-tcp": "go", "py-asyncio-tcp": "py-asyncio",
                 "py-threads-tcp": "py-threads", "mixed-tcp": "go"}


def with_tcp(impls: list[str]) -> list[str]:
    """with_tcp: impls, then every TCP implementation that can run here whose
    in-process reference is in it."""
    extra = [t for t, ref in TCP_REFERENCE.items() if ref in impls and t not in impls]
    missing = unavailable(extra)
    return [*impls, *(t for t in extra if t not in missing)]


def preset_config(preset: str, impls: list[str]) -> RunConfig:
    """preset_config is the RunConfig of a preset for the given implementations."""
    vals = dict(_PRESETS[preset])
    scenarios = vals.pop("scenarios", SCENARIOS)
    if preset in ANCHORED_PRESETS and isinstance(impls, DefaultImpls):
        impls = with_tcp(with_anchors(impls))
    return RunConfig(preset=preset, impls=tuple(impls), scenarios=tuple(scenarios), **vals)


def with_overrides(cfg: RunConfig, **over: Any) -> RunConfig:
    """with_overrides replaces the fields given (not None) by the user."""
    return replace(cfg, **{k: v for k, v in over.items() if v is not None})
