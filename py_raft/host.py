"""NodeHost: one core inside a real-time runtime (threads or asyncio).

Both runtimes wait differently, but once an input has reached a node they do
the same thing with it, so that part lives here: feed the core, then carry
out its Ready in the documented order (persist, send, apply) and answer the
clients whose commands were applied.
"""

import os
import time
from collections.abc import Callable
from typing import NamedTuple

from py_raft.core import AppendEntries, MemoryStorage, Message, NotLeader, Raft, SplitMix64
from py_raft.kv import KeyValue
from py_raft.recorder import Recorder
from py_raft.scenario import Scenario
from py_raft.sim import make_config, node_seed

# RAFTBENCH_SELFTEST_SLOWDOWN exists only for the regression gate's self-test
# (docs/benchmarking.md): a factor such as 1.5 makes the handling of every
# message take that many times as long. Unset, it costs nothing: `step` is
# then the plain method.
SLOWDOWN = float(os.environ.get("RAFTBENCH_SELFTEST_SLOWDOWN", "1") or 1)

# Outcomes a client is told: committed at an index, lost (retry), or redirected.
OK, LOST, REDIRECT = "ok", "lost", "redirect"
Reply = Callable[[str, int], None]  # (outcome, index or leader hint; -1: none)
Send = Callable[[int, int, Message], None]  # (src, dst, message)


class Pending(NamedTuple):
    cmd: str
    sent_us: int
    reply: Reply


class NodeHost:
    def __init__(
        self,
        node_id: int,
        sc: Scenario,
        storage: MemoryStorage,
        incarnation: int,
        recorder: Recorder,
        send: Send,
        now: int,
    ) -> None:
        self.id = node_id
        rng = SplitMix64(node_seed(sc.seed, node_id, incarnation))
        self.core = Raft(node_id, range(sc.nodes), storage, make_config(sc), rng, now)
        self.storage = storage
        self.recorder = recorder
        self.send = send
        self.kv = KeyValue()
        self.pending: dict[int, Pending] = {}
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

    def propose(self, cmd: str, payload: str, now: int, reply: Reply) -> None:
        try:
            index, _ = self.core.propose(cmd, payload, now)
        except NotLeader as e:
            reply(REDIRECT, -1 if e.leader_hint is None else e.leader_hint)
            return
        self.pending[index] = Pending(cmd, now, reply)
        self.flush(now)

    def flush(self, now: int) -> None:
        core = self.core
        if not core.has_ready():
            return
        r = core.ready()
        if r.hard_state is not None:
            self.storage.set_hard_state(*r.hard_state)
        if r.log_from:
            self.storage.truncate_and_append(r.log_from, r.entries)
        for role, term in r.transitions:
            self.recorder.state(now, self.id, role, term)
        for to, msg in r.messages:
            self.send(self.id, to, msg)
        for index, entry in r.committed:
            self.recorder.apply(now, self.id, index, entry)
            self.kv.apply(index, entry)
            p = self.pending.pop(index, None)
            if p is None:
                continue
            if entry.cmd == p.cmd:
                self.recorder.ack(now, p.cmd, index, now - p.sent_us)
                p.reply(OK, index)
            else:
                p.reply(LOST, index)

    def fail_pending(self) -> None:
        """fail_pending tells every waiting client its command is lost (the node crashed)."""
        pending, self.pending = self.pending, {}
        for index, p in sorted(pending.items()):
            p.reply(LOST, index)
