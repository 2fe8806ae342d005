"""Log compaction and InstallSnapshot (section 7, Figure 13) in the Python core.

The shared vectors (tests/vectors/snap_*.json) pin each rule; these tests add
what a vector cannot say:

* the API's edges (a snapshot above last_applied, a Storage without snapshots);
* that a compacted core decides as an uncompacted one does: a random cluster
  runs on uncompacted cores, and every node has a compacted twin fed the same
  inputs whose every output is compared (`TwinCluster`);
* that a cluster whose cores compact and install snapshots for real keeps one
  state machine history and converges once healed (`SnapCluster`).

Randomized runs take a seed; Hypothesis prints the failing one.
"""

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from py_raft.core import (
    AppendEntries,
    AppendEntriesReply,
    Config,
    Entry,
    InstallSnapshot,
    MemoryStorage,
    Message,
    NotLeader,
    Raft,
    Ready,
    Snapshot,
    SnapshotAhead,
    SplitMix64,
    derive_seed,
)

CFG = Config(150_000, 300_000, 50_000, 3)


def persist(s: MemoryStorage, r: Ready) -> None:
    """persist writes a Ready in the documented order: snapshot, hard state, log."""
    if r.snapshot is not None:
        s.save_snapshot(r.snapshot)
    if r.hard_state is not None:
        s.set_hard_state(*r.hard_state)
    if r.log_from:
        s.truncate_and_append(r.log_from, r.entries)


class Machine:
    """Machine is a host's state machine: the command applied at each index ("-": a no-op)."""

    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, r: Ready) -> None:
        if r.restore is not None:
            data = r.restore.data.decode()
            self.applied = data.split(",") if data else []
            assert len(self.applied) == r.restore.last_included_index
        for index, e in r.committed:
            assert index == len(self.applied) + 1, (index, len(self.applied))
            self.applied.append(e.cmd or "-")

    def image(self) -> bytes:
        return ",".join(self.applied).encode()


# ---- the API ---------------------------------------------------------------------------


def single(every: int = 2) -> tuple[Raft, MemoryStorage, Machine]:
    """single is a one-node cluster that has elected itself and committed its no-op."""
    s, sm = MemoryStorage(), Machine()
    r = Raft(0, [0], s, replace(CFG, snapshot_entries=every), SplitMix64(1), 0)
    r.tick(r.next_deadline())
    rd = r.ready()
    persist(s, rd)
    sm.apply(rd)
    return r, s, sm


def test_snapshot_above_last_applied_is_the_hosts_mistake() -> None:
    r, _, _ = single()
    r.propose("a", "", 0)  # committed at once, but not applied until ready()
    with pytest.raises(SnapshotAhead) as e:
        r.snapshot(2, b"-,a")
    assert (e.value.index, e.value.last_applied) == (2, 1)
    assert r.last_included_index == 0


def test_snapshot_due_follows_the_threshold_and_compaction_keeps_the_tail() -> None:
    r, s, sm = single(every=2)
    rd = Ready()
    for cmd in "abc":
        r.propose(cmd, "", 0)
        rd = r.ready()
        persist(s, rd)
        sm.apply(rd)
        if rd.snapshot_due:
            break
    assert rd.snapshot_due == 2 and sm.applied == ["-", "a"]
    r.propose("b", "", 0)  # appended, not yet handed over: compaction keeps it
    r.snapshot(2, sm.image())
    rd = r.ready()
    assert rd.snapshot == Snapshot(2, 1, b"-,a") and [i for i, _ in rd.committed] == [3]
    persist(s, rd)
    assert (s.snapshot(), s.entries()) == (Snapshot(2, 1, b"-,a"), [Entry(1, "b")])
    assert r.log == [Entry(1, "b")] and r.term_at(2) == 1 and r.last_index == 3


def test_a_storage_without_snapshots_still_drives_the_core() -> None:
    class Plain:
        """Plain is a Storage written before snapshots: no snapshot methods."""

        def __init__(self) -> None:
            self.log: list[Entry] = [Entry(1, "a")]

        def hard_state(self) -> tuple[int, int | None]:
            return 1, None

        def entries(self) -> list[Entry]:
            return list(self.log)

        def set_hard_state(self, current_term: int, voted_for: int | None) -> None: ...

        def truncate_and_append(self, first_index: int, entries: Any) -> None: ...

    r = Raft(1, [0, 1, 2], Plain(), CFG, SplitMix64(1), 0)
    assert (r.last_included_index, r.last_index, r.commit_index) == (0, 1, 0)
    assert not r.has_ready()


def test_restart_from_a_snapshot_has_a_ready_to_restore() -> None:
    s = MemoryStorage()
    s.set_hard_state(2, None)
    s.save_snapshot(Snapshot(4, 2, b"w,x,y,z"))
    s.truncate_and_append(5, [Entry(2, "e")])
    r = Raft(1, [0, 1, 2], s, CFG, SplitMix64(1), 0)
    assert r.has_ready()
    rd = r.ready()
    assert rd.restore == Snapshot(4, 2, b"w,x,y,z") and rd.snapshot is None
    assert (r.commit_index, r.last_applied, r.last_index) == (4, 4, 5)
    assert not r.has_ready()


def test_memory_storage_saves_a_snapshot_past_its_log() -> None:
    s = MemoryStorage()
    s.truncate_and_append(1, [Entry(1, "a"), Entry(1, "b")])
    s.save_snapshot(Snapshot(5, 2, b""))
    assert s.entries() == []
    s.truncate_and_append(6, [Entry(2, "f")])
    with pytest.raises(AssertionError):
        s.truncate_and_append(5, [])  # inside the snapshot
    with pytest.raises(AssertionError):
        s.save_snapshot(Snapshot(5, 2, b""))  # not newer
    assert s.entries() == [Entry(2, "f")]


# ---- random schedules -------------------------------------------------------------------


class Schedule:
    """Schedule drives a cluster at random: it delivers messages mostly in order
    (some reordered, lost or duplicated), fires the earliest deadline, has
    leaders propose, and crashes and restarts nodes. Without faults it delivers
    every message in order before any deadline fires."""

    def __init__(self, seed: int, size: int) -> None:
        self.seed, self.rng = seed, random.Random(seed)
        self.members = list(range(size))
        self.now = 0
        self.bag: list[tuple[int, Message]] = []
        self.faults = True

    # Subclasses say what a node is.
    def up(self, n: int) -> bool: raise NotImplementedError
    def core(self, n: int) -> Raft: raise NotImplementedError
    def boot(self, n: int) -> None: raise NotImplementedError
    def crash(self, n: int) -> None: raise NotImplementedError
    def input(self, n: int, fn: Callable[[Raft], object]) -> None: raise NotImplementedError

    def step(self) -> None:
        rng, faults = self.rng, self.faults
        up = [n for n in self.members if self.up(n)]
        x = rng.random()
        if self.bag and (x < 0.8 or not faults):  # without faults, a tick waits for quiet
            to, msg = self.bag.pop(rng.randrange(min(3, len(self.bag))) if faults else 0)
            if faults and rng.random() < 0.05:
                return  # lost
            if faults and rng.random() < 0.05:
                self.bag.insert(rng.randrange(len(self.bag) + 1), (to, msg))  # duplicated
            if self.up(to):
                self.now += rng.randrange(1000)
                self.deliver(to, msg)
        elif x < 0.9 or not faults:
            n = min(up, key=lambda n: (self.core(n).next_deadline(), n))
            self.now = max(self.now, self.core(n).next_deadline())
            self.input(n, lambda c: c.tick(self.now))
        elif x < 0.98:
            for n in up:
                if self.core(n).role == "leader":
                    cmd = f"c{rng.randrange(10**6)}"
                    self.input(n, lambda c, cmd=cmd: c.propose(cmd, "", self.now))
        elif x < 0.99 and len(up) > len(self.members) // 2 + 1:
            self.crash(rng.choice(up))
        else:
            down = [n for n in self.members if n not in up]
            if down:
                self.boot(rng.choice(down))

    def deliver(self, to: int, msg: Message) -> None:
        self.input(to, lambda c: c.step(msg, self.now))

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()


def vars_of(pr: Any) -> tuple[int, int, bool]:
    return pr.next_index, pr.match_index, pr.inflight


def _outcome(fn: Callable[[Raft], object], core: Raft) -> object:
    try:
        return fn(core)
    except NotLeader as e:
        return ("not leader", e.leader_hint)


# ---- a compacted core decides as an uncompacted one ------------------------------------


class Twin:
    """Twin is one node twice: `a` never compacts, `b` compacts when asked."""

    def __init__(self) -> None:
        self.stores = (MemoryStorage(), MemoryStorage())
        self.cores: tuple[Raft, Raft] | None = None
        self.machines = (Machine(), Machine())
        self.incarnation = 0


class TwinCluster(Schedule):
    """TwinCluster runs a random schedule on uncompacted cores (the `a` twins):
    theirs are the messages delivered. Each node's compacted twin `b` takes the
    same inputs; `compare` checks that it decides the same, up to what
    compaction must change."""

    def __init__(self, seed: int, size: int, every: int) -> None:
        super().__init__(seed, size)
        self.configs = (CFG, replace(CFG, snapshot_entries=every))
        self.twins = [Twin() for _ in self.members]
        self.seen = {"compactions": 0, "installs": 0, "below_snapshot": 0, "diverged": 0}
        for n in self.members:
            self.boot(n)

    def up(self, n: int) -> bool:
        return self.twins[n].cores is not None

    def core(self, n: int) -> Raft:
        cores = self.twins[n].cores
        assert cores is not None
        return cores[0]

    def crash(self, n: int) -> None:
        self.twins[n].cores = None

    def boot(self, n: int) -> None:
        t = self.twins[n]
        t.incarnation += 1
        seed = derive_seed(self.seed, 1000 * n + t.incarnation)
        a, b = (Raft(n, self.members, t.stores[k], self.configs[k], SplitMix64(seed), self.now)
                for k in (0, 1))
        t.cores, t.machines = (a, b), (Machine(), Machine())
        self.input(n, lambda _: None, boot=True)

    def deliver(self, to: int, msg: Message) -> None:
        cores = self.twins[to].cores
        if (cores is not None and isinstance(msg, AppendEntries)
                and msg.prev_log_index < cores[1].last_included_index):
            self.seen["below_snapshot"] += 1
        super().deliver(to, msg)

    def input(self, n: int, fn: Callable[[Raft], object], boot: bool = False) -> None:
        t = self.twins[n]
        assert t.cores is not None
        a, b = t.cores
        before = {p: (vars_of(a.progress[p]), vars_of(b.progress[p])) for p in a.progress}
        base = b.last_included_index
        outcomes = [_outcome(fn, core) for core in (a, b)]
        assert outcomes[0] == outcomes[1], outcomes
        ra, rb = a.ready(), b.ready()
        for k, r in enumerate((ra, rb)):
            persist(t.stores[k], r)
            t.machines[k].apply(r)
        # Only a restart restores, from what b persisted.
        assert rb.restore == (t.stores[1].snapshot() if boot else None)
        rb.restore = None
        self.compare(a, b, ra, rb, before, base)
        self.bag.extend(ra.messages)
        if rb.snapshot_due:
            b.snapshot(rb.snapshot_due, t.machines[1].image())
            rs = b.ready()
            assert rs.snapshot is not None and not (rs.messages or rs.committed or rs.log_from)
            persist(t.stores[1], rs)
            self.seen["compactions"] += 1
        if a.last_applied == b.last_applied:
            assert t.machines[0].applied == t.machines[1].applied

    def compare(self, a: Raft, b: Raft, ra: Ready, rb: Ready,
                before: dict[int, tuple[tuple[int, int, bool], tuple[int, int, bool]]],
                base: int) -> None:
        where = f"seed {self.seed}, node {a.id}, now {self.now}"
        assert (a.role, a.current_term, a.voted_for, a.leader_id, a.last_index) == (
            b.role, b.current_term, b.voted_for, b.leader_id, b.last_index), where
        assert a.next_deadline() == b.next_deadline(), where
        # A restarted uncompacted core relearns its commit index from 0.
        assert b.commit_index == max(a.commit_index, base), where
        assert b.last_applied == max(a.last_applied, base), where
        assert all(a.term_at(i) == b.term_at(i) for i in range(base, b.last_index + 1)), where
        assert (ra.hard_state, ra.transitions, ra.log_from, ra.entries) == (
            rb.hard_state, rb.transitions, rb.log_from, rb.entries), where
        assert rb.committed == [(i, e) for i, e in ra.committed if i > base], where
        assert rb.snapshot is None, where
        for peer in self.members:
            ma = [m for to, m in ra.messages if to == peer]
            mb = [m for to, m in rb.messages if to == peer]
            if peer in before and before[peer][0] != before[peer][1]:
                self.seen["diverged"] += 1  # judged by the progress rule below only
                continue
            assert len(ma) == len(mb), (where, ma, mb)
            for x, y in zip(ma, mb, strict=True):
                self.same_decision(x, y, b, base, where)
        if a.role == "leader":
            for peer, pr in a.progress.items():
                # Only a follower the uncompacted leader backs up into the
                # compacted one's snapshot may be handled differently.
                if vars_of(pr) != vars_of(b.progress[peer]):
                    assert pr.next_index <= base, (where, peer, pr, b.progress[peer])

    def same_decision(self, x: Message, y: Message, b: Raft, base: int, where: str) -> None:
        if isinstance(y, InstallSnapshot):
            assert isinstance(x, AppendEntries) and x.prev_log_index < base, (where, x)
            assert (y.last_included_index, y.term) == (b.last_included_index, x.term), where
            self.seen["installs"] += 1
        elif isinstance(x, AppendEntries):
            assert y == replace(x, leader_commit=max(x.leader_commit, base)), (where, x, y)
        elif isinstance(x, AppendEntriesReply) and x.conflict_term:
            # The hint stops at the snapshot (vector snap_conflict_hint_stops_at_snapshot).
            assert y == replace(x, conflict_index=max(x.conflict_index, base + 1)), (where, x, y)
        else:
            assert x == y, (where, x, y)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.sampled_from([3, 5]),
       every=st.integers(1, 6))
def test_compacted_twins_decide_as_uncompacted_cores(seed: int, size: int, every: int) -> None:
    TwinCluster(seed, size, every).run(600)


def test_twin_runs_exercise_compaction() -> None:
    """The twin runs reach what they are meant to compare: compactions,
    AppendEntries below a snapshot, and InstallSnapshot in place of AppendEntries."""
    seen: dict[str, int] = {}
    for seed in range(12):
        c = TwinCluster(seed, 3, 3)
        c.run(600)
        for k, v in c.seen.items():
            seen[k] = seen.get(k, 0) + v
    assert seen["compactions"] > 20 and seen["below_snapshot"] > 0 and seen["installs"] > 0, seen


# ---- a cluster that compacts and installs for real -------------------------------------


class SnapCluster(Schedule):
    """SnapCluster delivers what compacting cores send, InstallSnapshot included.

    Every state machine must agree with one history (`history[i]` is the
    command at index i + 1, as the first node to apply it applied it), and
    once the faults stop every node must converge to the leader's."""

    def __init__(self, seed: int, size: int, every: int) -> None:
        super().__init__(seed, size)
        self.config = replace(CFG, snapshot_entries=every)
        self.stores = [MemoryStorage() for _ in self.members]
        self.cores: list[Raft | None] = [None] * size
        self.machines = [Machine() for _ in self.members]
        self.incarnations = [0] * size
        self.history: list[str] = []
        self.installed = 0
        for n in self.members:
            self.boot(n)

    def up(self, n: int) -> bool:
        return self.cores[n] is not None

    def core(self, n: int) -> Raft:
        core = self.cores[n]
        assert core is not None
        return core

    def crash(self, n: int) -> None:
        self.cores[n] = None

    def boot(self, n: int) -> None:
        self.incarnations[n] += 1
        seed = derive_seed(self.seed, 1000 * n + self.incarnations[n])
        self.cores[n] = Raft(n, self.members, self.stores[n], self.config, SplitMix64(seed),
                             self.now)
        self.machines[n] = Machine()
        self.input(n, lambda _: None)

    def input(self, n: int, fn: Callable[[Raft], object]) -> None:
        core, sm = self.core(n), self.machines[n]
        _outcome(fn, core)
        r = core.ready()
        persist(self.stores[n], r)
        self.bag.extend(r.messages)
        sm.apply(r)
        if r.restore is not None and r.messages:
            self.installed += 1  # not a restart: an InstallSnapshot, answered
        self.history += sm.applied[len(self.history):]
        assert sm.applied == self.history[: len(sm.applied)], f"seed {self.seed}, node {n}"
        if r.snapshot_due:
            core.snapshot(r.snapshot_due, sm.image())
            persist(self.stores[n], core.ready())

    def converged(self) -> bool:
        cores = [self.core(n) for n in self.members]
        leaders = [c for c in cores if c.role == "leader"]
        if len(leaders) != 1 or leaders[0].commit_index != leaders[0].last_index:
            return False
        last = leaders[0].last_index
        return all(c.commit_index == last == c.last_applied for c in cores)

    def heal(self, limit: int) -> int:
        """heal restarts every crashed node, stops the faults and runs until converged."""
        for n in self.members:
            if not self.up(n):
                self.boot(n)
        self.faults = False
        for k in range(limit):
            if self.converged():
                return k
            self.step()
        raise AssertionError(f"seed {self.seed}: no convergence in {limit} steps")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.sampled_from([3, 5]),
       every=st.integers(1, 6))
def test_compacting_cluster_keeps_one_history_and_converges(seed: int, size: int,
                                                            every: int) -> None:
    c = SnapCluster(seed, size, every)
    c.run(600)
    c.heal(5000)
    assert len({tuple(m.applied) for m in c.machines}) == 1, f"seed {seed}"


def test_compacting_runs_install_snapshots() -> None:
    installed = 0
    for seed in range(12):
        c = SnapCluster(seed, 3, 2)
        c.run(600)
        c.heal(5000)
        installed += c.installed
    assert installed > 0
