"""NodeHost: one core and its state machine, as every runtime drives them.

The simulator and the real-time runtimes wait and deliver differently, but
once an input has reached a node they do the same thing with it, so that part
lives here: feed the core, then carry out its Ready in the documented order
(persist, send, apply) and answer the clients whose commands were applied.
The runtime supplies `send`; the simulator also passes its Figure 3 checker
and a hook for each new leader.
"""

import os
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from py_raft.client import LOST, OK, REDIRECT, Proposal, Reply
from py_raft.core import AppendEntries, MemoryStorage, Message, NotLeader, Raft
from py_raft.invariants import Invariants
from py_raft.kv import KeyValue
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
    def __init__(self, node_id: int, sc: Scenario, storage: MemoryStorage, incarnation: int,
                 recorder: Recorder, send: Send, now: int,
                 checker: Invariants | None = None, on_leader: OnLeader | None = None) -> None:
        self.id = node_id
        self.core = Raft(node_id, range(sc.nodes), storage, sc.core_config(),
                         sc.node_rng(node_id, incarnation), now)
        self.storage = storage
        self.recorder = recorder
        self.send = send
        self.checker = checker
        self.on_leader = on_leader
        self.kv = KeyValue()
        self.pending: dict[int, Pending] = {}
        if checker is not None:
            checker.on_restart(node_id, self.core.log)
        if SLOWDOWN != 1:
            self.step = self._slow_step  # type: ignore[method-assign]

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
        if r.hard_state is not None:
            self.storage.set_hard_state(*r.hard_state)
        if r.log_from:
            self.storage.truncate_and_append(r.log_from, r.entries)
            if self.checker is not None:
                self.checker.on_log(self.id, r.log_from, core.log)
        for role, term in r.transitions:
            self.recorder.state(now, self.id, role, term)
            if role == "leader":
                if self.checker is not None:
                    self.checker.on_leader(self.id, term, core.log)
                if self.on_leader is not None:
                    self.on_leader(self.id, term)
        for to, msg in r.messages:
            self.send(self.id, to, msg)
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
