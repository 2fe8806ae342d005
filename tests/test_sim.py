"""The simulator: determinism, the Figure 3 checks, and randomized fault schedules."""

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench.tracecheck import check_trace
from py_raft.core import Entry
from py_raft.invariants import Invariants, SafetyViolation
from py_raft.scenario import scenario_from_dict
from py_raft.sim import Sim, run
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


# ---- snapshots (section 7) ----------------------------------------------------------------

SNAP_SEEDS = 1000


@pytest.mark.parametrize("first", range(1, SNAP_SEEDS + 1, 100))
def test_fuzz_seeds_with_snapshots_keep_figure3_properties(first: int) -> None:
    """Compaction every 10 to 50 entries under the same faults breaks no property either."""
    for seed in range(first, first + 100):
        violation = run_seed(seed, snapshots=True)
        assert violation is None, (
            f"seed {seed}: {violation} (rerun: fuzz_scenario({seed}, snapshots=True))")


def test_snapshots_are_a_last_draw() -> None:
    """A fuzz scenario with snapshots is the one without, plus snapshot_entries."""
    for seed in range(1, 50):
        plain, snapped = fuzz_scenario(seed), fuzz_scenario(seed, snapshots=True)
        assert plain.snapshot_entries == 10_000 and 10 <= snapped.snapshot_entries <= 50
        assert replace(snapped, snapshot_entries=plain.snapshot_entries) == plain


def _events(trace: str) -> list[dict]:
    return [json.loads(line) for line in trace.splitlines()]


CRASHY = {
    "kind": "replication", "nodes": 5, "seed": 4, "clients": 4, "duration_ms": 1500,
    "snapshot_entries": 20, "network": {"drop_rate": 0.05},
    "faults": [{"at_ms": 200, "action": "crash", "node": 1},
               {"at_ms": 700, "action": "restart", "node": 1},
               {"at_ms": 800, "action": "crash", "node": "leader"},
               {"at_ms": 1100, "action": "restart", "node": "leader"}],
}


def test_sim_compacts_installs_and_restores_after_a_restart() -> None:
    out = io.StringIO()
    sim = Sim(scenario_from_dict(CRASHY), out)
    sim.run()
    assert sim.violation is None and sim.error is None
    events = _events(out.getvalue())
    assert check_trace(out.getvalue().splitlines()) == []
    kinds = [e["event"] for e in events]
    assert kinds.count("snapshot") > 10
    # Node 1 was down while the others compacted past it: it needs InstallSnapshot.
    assert any(e["event"] == "install" and e["node"] == 1 for e in events)
    # A restarted node with a snapshot restores it at once, before any apply.
    snapped, restores = set(), 0
    for i, e in enumerate(events):
        if e["event"] in ("snapshot", "install"):
            snapped.add(e["node"])
        elif e["event"] == "restart" and e["node"] in snapped:
            nxt = next(f for f in events[i + 1:] if f.get("node") == e["node"])
            assert nxt["event"] == "install", nxt
            restores += 1
    assert restores == 1  # the leader crashed at 800 ms (node 1 had no snapshot at 200 ms)
    kvs = [host.kv for host in sim.hosts if host is not None]
    assert len({kv.last_index for kv in kvs}) == 1
    assert all(kv.data == kvs[0].data and kv.image() == kvs[0].image() for kv in kvs)
    logs = [len(host.core.log) for host in sim.hosts if host is not None]
    assert max(logs) < 2 * 20 + 64, f"the logs were not compacted: {logs}"


def test_file_storage_simulates_as_memory_does(tmp_path: Path) -> None:
    """Storage is invisible in a trace: a file store that reads back exactly what was
    written gives the memory store's trace, restarts included (a new FileStorage each)."""
    seeds = [s for s in range(1, 200)
             if any(f.action == "restart" for f in fuzz_scenario(s).faults)][:12]
    for seed in seeds:
        sc = fuzz_scenario(seed, snapshots=True)
        memory, files = io.StringIO(), io.StringIO()
        run(sc, memory)
        result = run(replace(sc, storage="file", storage_dir=str(tmp_path)), files)
        assert files.getvalue() == memory.getvalue(), f"seed {seed}"
        assert result["runtime"]["fsync_us"]["count"] > 0
        assert result["scenario"]["storage"] == "file"
    assert list(tmp_path.iterdir()) == [], "the trial's directory was left behind"


def test_invariants_follow_a_compacted_log() -> None:
    inv = Invariants(2)
    log = [Entry(1, None), Entry(1, "a"), Entry(1, "b")]
    inv.on_log(0, 1, log)
    inv.on_apply(0, 1, log[0])
    inv.on_apply(0, 2, log[1])
    inv.on_snapshot(0, 2, 1, log[2:])  # compaction: the log now starts at 3
    inv.on_log(0, 4, [log[2], Entry(2, "c")], base=2)
    inv.on_leader(0, 2, [log[2], Entry(2, "c")], base=2, base_term=1)
    with pytest.raises(SafetyViolation, match="log matching"):
        inv.on_log(1, 1, [Entry(1, None), Entry(1, "x"), Entry(1, "b")])
    with pytest.raises(SafetyViolation, match="leader completeness"):
        inv.on_leader(1, 3, [log[2]], base=2, base_term=5)


def test_invariants_catch_a_snapshot_of_an_entry_no_log_held() -> None:
    inv = Invariants(1)
    with pytest.raises(SafetyViolation, match="no log ever held"):
        inv.on_snapshot(0, 7, 3, [])


def test_invariants_catch_diverging_images() -> None:
    inv = Invariants(2)
    inv.on_image(0, 5, "aaaa")
    with pytest.raises(SafetyViolation, match="state machine safety"):
        inv.on_image(1, 5, "bbbb")
    with pytest.raises(SafetyViolation, match="restored"):
        inv.on_install(1, 6, "cccc", "dddd")
