"""NodeHost: one core and its state machine, as every runtime drives them.

The simulator and the real-time runtimes wait and deliver differently, but
once an input has reached a node they do the same thing with it, so that part
lives here: feed the core, then carry out its Ready in the documented order
(persist, send, apply) and answer the clients whose commands were applied.
The runtime supplies `send` and the node's storage (memory, or a FileStorage
opened afresh at each restart); the simulator also passes its Figure 3
checker and a hook for each new leader.

Snapshots (section 7) take three more steps, in the Ready's order: persist
`snapshot` before anything else, reset the state machine from `restore`
before applying `committed`, and after applying, hand the state machine's
image to the core when `snapshot_due` asks, then persist the Ready that
follows. With snapshots off each is one test of an empty field per Ready.
"""

import os
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from py_raft.client import LOST, OK, REDIRECT, Proposal, Reply
from py_raft.core import AppendEntries, Message, NotLeader, Raft, Snapshot, SnapshotStorage
from py_raft.invariants import Invariants
from py_raft.kv import KeyValue, digest
from py_raft.recorder import Recorder
from py_raft.scenario import Scenario

# RAFTBENCH_SELFTEST_SLOWDOWN exists only for the regression gate's self-test
# (docs/benchmarking.md): a factor such as 1.5 makes the handling of every
# message take that many times as long. Unset, it costs nothing: `step` is
# then the plain method.
SLOWDOWN = float(os.environ.get("RAFTBENCH_SELFTEST_SLOWDOWN", "1") or 1)

Send = Callable[[int, int, Message], None]  # (src, dst, message)
OnLeader = Callable[[int, int], None]  # (node, term)


class Pending(NamedTuple):
    cmd: str
    sent_us: int
    reply: Reply


class NodeHost:
    def __init__(self, node_id: int, sc: Scenario, storage: SnapshotStorage, incarnation: int,
                 recorder: Recorder, send: Send, now: int,
                 checker: Invariants | None = None, on_leader: OnLeader | None = None) -> None:
        self.id = node_id
        self.core = core = Raft(node_id, range(sc.nodes), storage, sc.core_config(),
                                sc.node_rng(node_id, incarnation), now)
        self.storage = storage
        # A FileStorage makes its writes durable in `sync`; memory has none.
        self._sync = getattr(storage, "sync", None)
        self.recorder = recorder
        self.send = send
        self.checker = checker
        self.on_leader = on_leader
        self.kv = KeyValue()
        self.pending: dict[int, Pending] = {}
        if checker is not None:
            checker.on_restart(node_id, core.log, core.last_included_index,
                               core.last_included_term)
        if SLOWDOWN != 1:
            self.step = self._slow_step  # type: ignore[method-assign]
        self.flush(now)  # a restart's first Ready restores the state machine from the snapshot

    def step(self, msg: Message, now: int) -> None:
        if type(msg) is AppendEntries:
            self.recorder.append_entries(now, self.id, msg.term)
        self.core.step(msg, now)
        self.flush(now)

    def _slow_step(self, msg: Message, now: int) -> None:
        start = time.perf_counter_ns()
        NodeHost.step(self, msg, now)
        until = start + int((time.perf_counter_ns() - start) * SLOWDOWN)
        while time.perf_counter_ns() < until:
            pass

    def tick(self, now: int) -> None:
        self.core.tick(now)
        self.flush(now)

    def propose(self, cmd: str, payload: str, now: int, reply: Reply) -> int:
        """propose hands a client's command to the core; the caller then flushes.

        It returns the entry's index, or -1 when the client was redirected.
        """
        try:
            index, _ = self.core.propose(cmd, payload, now)
        except NotLeader as e:
            reply(REDIRECT, -1 if e.leader_hint is None else e.leader_hint)
            return -1
        self.pending[index] = Pending(cmd, now, reply)
        return index

    def flush(self, now: int) -> None:
        core = self.core
        if not core.has_ready():
            return
        r = core.ready()
        storage, checker = self.storage, self.checker
        if r.snapshot is not None:
            storage.save_snapshot(r.snapshot)
            if checker is not None:
                checker.on_snapshot(self.id, r.snapshot.last_included_index,
                                    r.snapshot.last_included_term, core.log)
        if r.hard_state is not None:
            storage.set_hard_state(*r.hard_state)
        if r.log_from:
            storage.truncate_and_append(r.log_from, r.entries)
            if checker is not None:
                checker.on_log(self.id, r.log_from, core.log, core.last_included_index)
        if self._sync is not None:
            self._sync()
        for role, term in r.transitions:
            self.recorder.state(now, self.id, role, term)
            if role == "leader":
                if checker is not None:
                    checker.on_leader(self.id, term, core.log, core.last_included_index,
                                      core.last_included_term)
                if self.on_leader is not None:
                    self.on_leader(self.id, term)
        for to, msg in r.messages:
            self.send(self.id, to, msg)
        if r.restore is not None:
            self._restore(r.restore, now)
        for index, entry in r.committed:
            self.recorder.apply(now, self.id, index, entry)
            if self.checker is not None:
                self.checker.on_apply(self.id, index, entry)
            self.kv.apply(index, entry)
            p = self.pending.pop(index, None)
            if p is None:
                continue
            if entry.cmd == p.cmd:
                self.recorder.ack(now, p.cmd, index, now - p.sent_us)
                p.reply(OK, index)
            else:
                p.reply(LOST, index)
        if r.snapshot_due:
            self._compact(r.snapshot_due, now)

    def _restore(self, snap: Snapshot, now: int) -> None:
        """_restore resets the state machine from a snapshot (Ready.restore).

        A client waiting on an index the snapshot covers hears that its
        command is lost: this node will never apply that index itself.
        """
        index = snap.last_included_index
        self.kv.restore(snap.data, index)
        d = digest(snap.data)
        self.recorder.install(now, self.id, index, d)
        if self.checker is not None:
            self.checker.on_install(self.id, index, d, digest(self.kv.image()))
        for i in sorted(i for i in self.pending if i <= index):
            self.pending.pop(i).reply(LOST, i)

    def _compact(self, index: int, now: int) -> None:
        """_compact hands the core the state machine's image at index, then persists it."""
        data = self.kv.image()
        self.core.snapshot(index, data)
        d = digest(data)
        self.recorder.snapshot(now, self.id, index, d)
        if self.checker is not None:
            self.checker.on_image(self.id, index, d)
        self.flush(now)  # the Ready that follows carries the snapshot to persist

    def close(self) -> None:
        """close lets go of the storage's files, if it has any (the node stopped)."""
        close = getattr(self.storage, "close", None)
        if close is not None:
            close()

    def fail_pending(self, leftovers: Sequence[object] = ()) -> None:
        """fail_pending tells every waiting client its command is lost (the node crashed).

        leftovers are the items still in the node's inbox: requests that raced
        with the crash are lost too.
        """
        pending, self.pending = self.pending, {}
        for index, p in sorted(pending.items()):
            p.reply(LOST, index)
        for item in leftovers:
            if isinstance(item, Proposal):
                item.reply(LOST, -1)
