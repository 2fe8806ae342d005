"""pytest-benchmark: the Python core's hot paths.

`make bench-micro` runs these with timing; `make test` runs each once as a
smoke test (--benchmark-disable), so they can never rot.
"""

import pytest

from py_raft.core import (
    AppendEntries,
    AppendEntriesReply,
    Config,
    Entry,
    MemoryStorage,
    Raft,
    RequestVoteReply,
    SplitMix64,
    quorum,
)
from py_raft.scenario import scenario_from_dict
from py_raft.sim import Sim

CONFIG = Config(150_000, 300_000, 50_000, 64)
BATCH = tuple(Entry(1, f"c0.{i}", "x" * 16) for i in range(64))


def _leader(peers: int = 4) -> Raft:
    raft = Raft(0, range(peers + 1), MemoryStorage(), CONFIG, SplitMix64(1), 0)
    raft.tick(raft.election_deadline)
    for voter in range(1, peers + 1):
        raft.step(RequestVoteReply(1, True, voter), 1)
    raft.ready()
    assert raft.role == "leader"
    return raft


def test_follower_handles_append_entries_batch(benchmark) -> None:
    def run() -> None:
        f = Raft(1, range(5), MemoryStorage(), CONFIG, SplitMix64(2), 0)
        f.step(AppendEntries(1, 0, 0, 0, BATCH, 32), 1)
        f.ready()

    benchmark(run)


def test_leader_handles_append_entries_reply(benchmark) -> None:
    raft = _leader()
    for i in range(64):
        raft.propose(f"c.{i}", "x", 2)
    raft.ready()
    replies = [AppendEntriesReply(1, True, p, raft.last_index, 0, 0) for p in range(1, 5)]

    def run() -> None:
        for peer in raft.progress.values():
            peer.match_index = 0
        raft.commit_index = 0
        for reply in replies:
            raft.step(reply, 3)
        raft.ready()

    benchmark(run)


def test_leader_log_append(benchmark) -> None:
    raft = _leader()
    counter = iter(range(10**9))

    def run() -> None:
        raft.propose(f"c.{next(counter)}", "x" * 16, 2)
        raft.ready()

    benchmark(run)


@pytest.mark.parametrize("servers", [5, 101])
def test_commit_counting(benchmark, servers: int) -> None:
    matches = list(range(servers))
    benchmark(quorum.committed_index, matches)


def test_simulated_5_node_step_loop(benchmark) -> None:
    sc = scenario_from_dict({"kind": "replication", "nodes": 5, "clients": 8,
                             "duration_ms": 200})

    def run() -> int:
        sim = Sim(sc, check=False)
        sim.run()
        return sim.events

    events = benchmark(run)
    benchmark.extra_info["events_per_run"] = events
