"""Plan: which trials a run makes, in which order, and the driver scenario of each.

A *trial* is one driver process running one scenario JSON. It is named by its
`TrialKey` (implementation, scenario, N, variant, trial index). The order
interleaves implementations (A B C A B C ...) so that drift of the machine (heat,
other load) hits all of them alike. The `scale` scenario is planned adaptively by
the runner, since whether N is tried depends on the result at N/2.
"""

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from bench.impls import SIMULATORS, TCP_IMPLS, ideal, runs
from bench.presets import RunConfig


@dataclass(frozen=True)
class TrialKey:
    impl: str
    scenario: str  # the harness scenario: election, failover, replication, scale, warmup
    n: int
    variant: str
    trial: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def label(self) -> str:
        return f"{self.impl} {self.scenario}/{self.variant} N={self.n} #{self.trial}"


@dataclass(frozen=True)
class Trial:
    key: TrialKey
    scenario: dict[str, Any]  # the driver scenario (docs/protocol.md)
    warmup: bool = False


def range_name(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g}"


def heartbeat_for(lo: float, paper: bool = False) -> float:
    """heartbeat_for: the heartbeat of a failover line whose minimum timeout is lo.

    The paper's method is half the minimum (75 ms at 150 ms). Elsewhere 50 ms, the
    heartbeat of every other scenario, where that fits below the minimum.
    """
    return lo / 2 if paper else min(50.0, lo / 2)


def variants(cfg: RunConfig, scenario: str) -> list[str]:
    if scenario == "replication":
        return ["light", "saturated"]
    if scenario == "capacity":
        return [f"c{c}" for c in cfg.capacity_clients]
    if scenario == "failover":
        return [range_name(lo, hi) for lo, hi in cfg.failover_ranges]
    if scenario == "scale":
        return [f"hold-{cfg.scale_hold_s:g}s"]
    return ["cold"]


def driver_scenario(
    cfg: RunConfig, scenario: str, n: int, variant: str, trial: int, impl: str = ""
) -> dict[str, Any]:
    """driver_scenario is the scenario JSON a driver gets for one trial.

    The seed is trial + 1: different per trial index (independent trials), equal
    across implementations at one index (same draws, paired comparisons). Every
    driver gets the harness's memory cap, less a margin, as its own limit, so
    that it reports running out of memory before the harness has to kill it.
    """
    sc: dict[str, Any] = {"nodes": n, "seed": trial + 1, "timeout_ms": cfg.scenario_timeout_ms,
                          "memory_limit_mb": max(1.0, cfg.memory_cap_mb - 512)}
    if cfg.storage != "memory":
        sc["storage"] = cfg.storage
    if scenario == "election":
        sc |= {"kind": "election", "observe_ms": cfg.election_observe_ms}
    elif scenario == "scale":
        sc |= scale_scenario(cfg, n)
    elif scenario == "capacity":
        sc |= capacity_scenario(cfg, int(variant.removeprefix("c")), impl in SIMULATORS)
    elif scenario == "failover":
        lo, hi = (float(x) for x in variant.split("-"))
        sc |= {
            "kind": "failover", "failovers": cfg.failovers_per_trial,
            "settle_ms": cfg.settle_ms, "election_timeout_ms": [lo, hi],
            "heartbeat_ms": heartbeat_for(lo, cfg.paper_heartbeat),
        }
    elif scenario == "replication":
        sc |= {"kind": "replication", "duration_ms": cfg.replication_ms,
               "clients": cfg.light_clients}
        if variant == "saturated":
            sc |= {"clients": cfg.saturated_clients, "max_batch_entries": cfg.saturated_batch}
    else:
        raise ValueError(f"unknown scenario {scenario!r}")
    return sc


def scale_scenario(cfg: RunConfig, n: int) -> dict[str, Any]:
    """scale_scenario: hold one leader S seconds at N, under the normal timing.

    Only the first election timeout each node draws is widened, to
    [150, 150 + N x scale_first_ms_per_node] ms: with N nodes the first two
    timeouts are then about that many ms apart, long against a broadcast, as
    Raft's timing rule asks. Every later draw is the normal 150-300 ms.
    """
    lo = 150.0
    # The first leader comes near 170 ms at any N; a search step that has none
    # after 15 s has failed, and waiting longer would only make the search slow.
    timeout_ms = 15_000.0 + cfg.scale_hold_s * 1000
    return {"kind": "election", "observe_ms": cfg.scale_hold_s * 1000,
            "heartbeat_ms": 50.0, "election_timeout_ms": [lo, 300.0],
            "first_election_timeout_ms": [lo, lo + n * cfg.scale_first_ms_per_node],
            "timeout_ms": timeout_ms}


def capacity_scenario(cfg: RunConfig, clients: int, simulator: bool) -> dict[str, Any]:
    """capacity_scenario: one point of the offered-load sweep (closed-loop clients).

    A simulator's time is virtual, so at zero processing cost on a 1 us network it
    would commit millions of commands per simulated second, each costing real
    time; it stops after capacity_sim_commands acks instead (its rate is the same).
    """
    sc: dict[str, Any] = {
        "kind": "replication", "clients": clients, "duration_ms": cfg.capacity_ms,
        "max_batch_entries": cfg.saturated_batch,
        "network": {"latency_ms": cfg.capacity_latency_ms, "jitter_ms": 0},
    }
    if simulator:
        sc["commands"] = cfg.capacity_sim_commands
    return sc


def make_trial(cfg: RunConfig, key: TrialKey) -> Trial:
    return Trial(key, driver_scenario(cfg, key.scenario, key.n, key.variant, key.trial,
                                      key.impl))


def warmups(cfg: RunConfig) -> list[Trial]:
    """warmups: one discarded trial per implementation, made at the start of a run.

    It fills the OS page cache with the interpreter/binary and libraries, so the
    first measured trial does not pay for a cold disk.
    """
    sc = {"kind": "election", "nodes": 3, "seed": 1, "observe_ms": 100}
    return [Trial(TrialKey(i, "warmup", 3, "cold", 0), sc, warmup=True) for i in cfg.impls]


def fixed_trials(cfg: RunConfig) -> Iterator[Trial]:
    """fixed_trials: every trial of the non-adaptive scenarios, interleaved."""
    for scenario in cfg.scenarios:
        if scenario == "scale":
            continue
        for n in cfg.capacity_sizes if scenario == "capacity" else cfg.sizes:
            impls = [i for i in scenario_impls(cfg, scenario)
                     if i not in TCP_IMPLS or n in cfg.tcp_sizes]
            for variant in variants(cfg, scenario):
                for t in range(cfg.trials):
                    for impl in impls:
                        yield make_trial(cfg, TrialKey(impl, scenario, n, variant, t))


def scenario_impls(cfg: RunConfig, scenario: str) -> list[str]:
    """scenario_impls: who runs a scenario; capacity and scale run one simulator only,
    and an anchor only the scenarios its library can run."""
    able = [i for i in cfg.impls if runs(i, scenario)]
    if scenario not in ("capacity", "scale"):
        return able
    best = ideal(able)
    return [i for i in able if i not in SIMULATORS or i == best]


def scale_sizes(cfg: RunConfig) -> list[int]:
    """scale_sizes: N doubled from scale_start up to scale_max (which is tried last)."""
    out, n = [], cfg.scale_start
    while n < cfg.scale_max:
        out.append(n)
        n *= 2
    return [*out, cfg.scale_max]
