"""The real-time runtimes: each elects, replicates, fails over and survives faults.

These are liveness and safety checks with generous limits, never speed checks.
The full acceptance matrix (every size, 20 failovers, 1,000 nodes) is in
test_acceptance.py, run by `make acceptance`.
"""

import json
import threading
from pathlib import Path

import pytest
from drive import applied_by_node, leaders, trial

from bench.tracecheck import check_trace

RUNTIMES = ["py-threads", "py-asyncio", "py-asyncio-uvloop"]


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


@pytest.mark.parametrize("impl", RUNTIMES)
@pytest.mark.parametrize("nodes", [1, 2, 3, 4, 5, 7, 9])
def test_election_elects_exactly_one_leader(impl: str, nodes: int) -> None:
    result, trace = trial(impl, {"kind": "election", "nodes": nodes, "seed": nodes,
                                 "observe_ms": 100})
    assert result["ok"], result["error"]
    assert check_trace(trace) == []
    by_term = leaders(trace)
    assert by_term and all(len(nodes_) == 1 for nodes_ in by_term.values()), by_term


@pytest.mark.parametrize("impl", RUNTIMES)
@pytest.mark.parametrize("nodes", [1, 3, 4])
def test_replication_commits_one_order_everywhere(impl: str, nodes: int) -> None:
    result, trace = trial(impl, {"kind": "replication", "nodes": nodes, "clients": 8,
                                 "duration_ms": 300})
    assert result["ok"], result["error"]
    assert result["metrics"]["committed"] > 0
    assert check_trace(trace) == []
    applied = applied_by_node(trace)
    assert len(applied) == nodes
    longest = max(applied.values(), key=len)
    for node, seq in applied.items():
        assert seq == longest, f"node {node} applied {len(seq)} of {len(longest)} entries"


@pytest.mark.parametrize("impl", RUNTIMES)
def test_failover_finds_a_new_leader_after_each_crash(impl: str) -> None:
    result, trace = trial(impl, {"kind": "failover", "nodes": 3, "failovers": 3,
                                 "settle_ms": 100})
    assert result["ok"], result["error"]
    assert len(result["metrics"]["failover_ms"]) == 3
    assert check_trace(trace) == []


FAULTS = {
    "kind": "replication", "nodes": 5, "seed": 3, "clients": 8, "duration_ms": 2000,
    "network": {"drop_rate": 0.2}, "client_timeout_ms": 300,
    "faults": [
        {"at_ms": 500, "action": "partition", "groups": [["leader"]]},
        {"at_ms": 1000, "action": "heal"},
        {"at_ms": 1300, "action": "crash", "node": "leader"},
        {"at_ms": 1700, "action": "restart", "node": "leader"},
    ],
}


@pytest.mark.parametrize("impl", RUNTIMES)
def test_loss_partition_crash_restart_keeps_acked_commands(impl: str) -> None:
    result, trace = trial(impl, FAULTS)
    assert result["ok"], result["error"]
    assert check_trace(trace) == []  # includes: every acked cmd applied at its index
    assert sum('"event":"crash"' in line for line in trace) == 1
    assert sum('"event":"restart"' in line for line in trace) == 1


# Nobody leads at 1 ms: the crash waits for the first leader, and the restart,
# due at 2 ms, waits behind it. Skipping the crash instead would make a fault
# schedule's effect depend on whether an election happened to be under way.
EARLY_FAULTS = {
    "kind": "election", "nodes": 5, "seed": 7, "observe_ms": 400,
    "faults": [
        {"at_ms": 1, "action": "crash", "node": "leader"},
        {"at_ms": 2, "action": "restart", "node": "leader"},
    ],
}


@pytest.mark.parametrize("impl", [*RUNTIMES, "py-sim", "go", "go-sim"])
def test_fault_naming_the_leader_waits_for_one(impl: str, tmp_path: Path) -> None:
    result, trace = trial(impl, EARLY_FAULTS, tmp_path)
    assert result["ok"], result["error"]
    assert check_trace(trace) == []
    events = [json.loads(line) for line in trace]
    first_leader = next(e for e in events if e.get("state") == "leader")
    faults = [e for e in events if e["event"] in ("crash", "restart")]
    assert [e["event"] for e in faults] == ["crash", "restart"], faults
    assert faults[0]["node"] == faults[1]["node"] == first_leader["node"]
    assert faults[0]["t_ms"] >= first_leader["t_ms"] > 2
