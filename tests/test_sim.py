"""The simulator: determinism, the Figure 3 checks, and randomized fault schedules."""

import io

import pytest

from py_raft.core import Entry
from py_raft.invariants import Invariants, SafetyViolation
from py_raft.scenario import scenario_from_dict
from py_raft.sim import Sim
from py_raft.sim.fuzz import fuzz_scenario, run_seed

SEEDS = 500
CHUNK = 50


@pytest.mark.parametrize("first", range(1, SEEDS + 1, CHUNK))
def test_fuzz_seeds_keep_figure3_properties(first: int) -> None:
    """500 randomized schedules of loss, partitions, crashes and restarts break no property."""
    for seed in range(first, first + CHUNK):
        violation = run_seed(seed)
        assert violation is None, f"seed {seed}: {violation} (rerun: fuzz_scenario({seed}))"


def _trace(seed: int) -> str:
    out = io.StringIO()
    Sim(fuzz_scenario(seed), out).run()
    return out.getvalue()


@pytest.mark.parametrize("seed", [3, 17, 42])
def test_same_seed_same_trace(seed: int) -> None:
    first = _trace(seed)
    assert first, f"seed {seed}: empty trace"
    assert _trace(seed) == first, f"seed {seed}: the simulator is not deterministic"


def test_different_seeds_differ() -> None:
    assert _trace(5) != _trace(6)


def test_invariants_catch_two_leaders_in_a_term() -> None:
    inv = Invariants()
    inv.on_leader(0, 3, [])
    with pytest.raises(SafetyViolation, match="election safety"):
        inv.on_leader(1, 3, [])


def test_invariants_catch_diverging_applies() -> None:
    inv = Invariants()
    inv.on_apply(0, 1, Entry(1, "a"))
    with pytest.raises(SafetyViolation, match="state machine safety"):
        inv.on_apply(1, 1, Entry(1, "b"))


def test_invariants_catch_log_mismatch() -> None:
    inv = Invariants()
    inv.on_log(0, 1, [Entry(1, "a"), Entry(2, "b")])
    with pytest.raises(SafetyViolation, match="log matching"):
        inv.on_log(1, 1, [Entry(1, "x"), Entry(2, "b")])


def test_invariants_catch_leader_missing_committed_entry() -> None:
    inv = Invariants()
    inv.on_apply(0, 1, Entry(1, "a"))
    with pytest.raises(SafetyViolation, match="leader completeness"):
        inv.on_leader(2, 2, [Entry(2, None)])


def _sim(**fields: object) -> Sim:
    sim = Sim(scenario_from_dict(fields))
    sim.run()
    return sim


@pytest.mark.parametrize("nodes", [1, 2, 3, 4, 5, 7, 9])
def test_sim_elects_one_leader(nodes: int) -> None:
    sim = _sim(kind="election", nodes=nodes, seed=nodes)
    assert sim.error is None
    assert sim.recorder.first_leader_us is not None
    assert all(len({n}) == 1 for n in sim.recorder.leader_by_term.values())


def test_sim_failover_counts_every_crash() -> None:
    sim = _sim(kind="failover", nodes=5, failovers=20)
    assert sim.failovers_done == 20
    assert len(sim.recorder.failover_us) == 20
    # A failover can't beat the minimum election timeout after the last heartbeat.
    assert min(sim.recorder.failover_us) >= 150_000 - 50_000


def test_sim_single_node_replication_terminates() -> None:
    sim = _sim(kind="replication", nodes=1, clients=2, duration_ms=200)
    assert sim.error is None and sim.recorder.acks > 0


def test_sim_replication_applies_one_order_everywhere() -> None:
    sim = _sim(kind="replication", nodes=5, clients=8, duration_ms=300)
    kvs = [host.kv for host in sim.hosts if host is not None]
    logs = [kv.last_index for kv in kvs]
    assert sim.recorder.acks > 0 and len(kvs) == 5
    assert len(set(logs)) == 1, f"nodes applied up to different indices: {logs}"
    assert all(kv.data == kvs[0].data for kv in kvs)
