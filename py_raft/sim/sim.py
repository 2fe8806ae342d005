"""Sim: the deterministic simulator, a runtime that runs in virtual time.

One event queue ordered by (time, sequence number) drives every core, the
network model, the clients, the fault schedule and the scenario's controller.
Nothing sleeps and nothing is concurrent, so a seed replays exactly; the Go
simulator (go_raft/sim) follows this file step for step, and the two write
byte-identical traces. Processing costs nothing here, which makes this the
ideal timing of the algorithm that the real runtimes are measured against.

After every event the Figure 3 properties are checked (`Invariants`).
"""

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Any, TextIO

from py_raft.core import (
    AppendEntries,
    Config,
    MemoryStorage,
    Message,
    NotLeader,
    Raft,
    SplitMix64,
    derive_seed,
)
from py_raft.invariants import Invariants, SafetyViolation
from py_raft.kv import KeyValue
from py_raft.network import Network
from py_raft.recorder import Recorder
from py_raft.result import build_result, process_usage
from py_raft.scenario import Fault, Scenario, us

# Event kinds; the order of this list is also the Go constants' order.
DELIVER, TIMER, FAULT, CLIENT, CLIENT_TIMEOUT, CONTROL = range(6)
# Controller actions carried by CONTROL events.
ARM, CRASH, RESTART, STOP_CLIENTS, END = range(5)
# Controller phases.
WAIT_LEADER, RUNNING, WAIT_NEW_LEADER, DONE = range(4)


def node_seed(seed: int, node: int, incarnation: int) -> int:
    """node_seed is the seed of one incarnation of one node's core (streams 2 and up)."""
    return derive_seed(derive_seed(seed, 2 + node), incarnation)


def make_config(sc: Scenario) -> Config:
    lo, hi = sc.election_timeout_ms
    first_lo, first_hi = sc.first_election_timeout_ms or (0.0, 0.0)
    return Config(us(lo), us(hi), us(sc.heartbeat_ms), sc.max_batch_entries,
                  us(first_lo), us(first_hi))


@dataclass(slots=True)
class Client:
    """Client is one closed-loop client: one command in flight at a time."""

    id: int
    leader_guess: int
    seq: int = 0
    cmd: str = ""
    node: int = -1
    sent_us: int = 0
    attempt: int = 0


class Sim:
    def __init__(self, sc: Scenario, trace: TextIO | None = None, check: bool = True) -> None:
        self.sc = sc
        self.now = 0
        self._queue: list[tuple[int, int, int, Any]] = []
        self._seq = 0
        self.events = 0
        self._control_rng = SplitMix64(derive_seed(sc.seed, 0))
        net = sc.network
        self.network = Network(us(net.latency_ms), us(net.jitter_ms), net.drop_rate,
                               SplitMix64(derive_seed(sc.seed, 1)))
        self.config = make_config(sc)
        n = sc.nodes
        self.members = range(n)
        self.storages = [MemoryStorage() for _ in range(n)]
        self.incarnation = [0] * n
        self.timer_at = [-1] * n
        self.pending: list[dict[int, Client]] = [{} for _ in range(n)]
        self.kv = [KeyValue() for _ in range(n)]
        self.recorder = Recorder(trace)
        self.invariants = Invariants() if check else None
        self.cores: list[Raft | None] = [self._new_core(i) for i in range(n)]
        self.clients = [Client(c, c % n) for c in range(sc.clients)]
        self.payload = "x" * sc.payload_bytes
        self.clients_on = False
        self.window = [0, 0]
        self.phase = WAIT_LEADER
        self.failovers_done = 0
        self.crashed = -1
        self.crashed_term = 0
        self.crash_us = 0
        self.last_crashed = -1
        self.faults_waiting: deque[int] = deque()
        self.error: str | None = None
        self.violation: str | None = None  # a broken Figure 3 property ends the run

    # ---- the event loop -----------------------------------------------------------------

    def push(self, t: int, kind: int, arg: Any) -> None:
        heapq.heappush(self._queue, (t, self._seq, kind, arg))
        self._seq += 1

    def run(self) -> None:
        for i in range(self.sc.nodes):
            self._schedule_timer(i)
        for i, f in enumerate(self.sc.faults):
            self.push(us(f.at_ms), FAULT, i)
        limit = us(self.sc.timeout_ms)
        while self._queue and self.phase != DONE:
            t, _, kind, arg = heapq.heappop(self._queue)
            if t > limit:
                self.error = self._timeout_reason()
                break
            self.now = t
            self.events += 1
            try:
                self._dispatch(kind, arg)
            except SafetyViolation as e:
                self.violation = str(e)
                break
        if self.clients_on:
            self.window[1] = self.now

    def _dispatch(self, kind: int, arg: Any) -> None:
        if kind == DELIVER:
            to, msg = arg
            core = self.cores[to]
            if core is not None:
                if type(msg) is AppendEntries:
                    self.recorder.append_entries(self.now, to, msg.term)
                core.step(msg, self.now)
                self._flush(to)
        elif kind == TIMER:
            node, incarnation = arg
            if incarnation == self.incarnation[node] and self.timer_at[node] == self.now:
                self.timer_at[node] = -1
                core = self.cores[node]
                assert core is not None
                core.tick(self.now)
                self._flush(node)
        elif kind == FAULT:
            self._faults_due(arg)
        elif kind == CLIENT:
            self._client_send(self.clients[arg])
        elif kind == CLIENT_TIMEOUT:
            client_id, attempt = arg
            self._client_timeout(self.clients[client_id], attempt)
        else:
            self._control(arg)

    # ---- driving one core: persist, then send, then apply ----------------------------

    def _flush(self, node: int) -> None:
        core = self.cores[node]
        assert core is not None
        if core.has_ready():
            r = core.ready()
            storage = self.storages[node]
            if r.hard_state is not None:
                storage.set_hard_state(*r.hard_state)
            if r.log_from:
                storage.truncate_and_append(r.log_from, r.entries)
                if self.invariants:
                    self.invariants.on_log(node, r.log_from, core.log)
            for role, term in r.transitions:
                self.recorder.state(self.now, node, role, term)
                if role == "leader":
                    if self.invariants:
                        self.invariants.on_leader(node, term, core.log)
                    self._on_leader(node, term)
            for to, msg in r.messages:
                self._send(node, to, msg)
            for index, entry in r.committed:
                self.recorder.apply(self.now, node, index, entry)
                if self.invariants:
                    self.invariants.on_apply(node, index, entry)
                self.kv[node].apply(index, entry)
                self._resolve(node, index, entry.cmd)
        self._schedule_timer(node)

    def _send(self, src: int, dst: int, msg: Message) -> None:
        delay = self.network.delay(src, dst)
        if delay is not None:
            self.push(self.now + delay, DELIVER, (dst, msg))

    def _schedule_timer(self, node: int) -> None:
        """_schedule_timer keeps one pending TIMER per node, moved only earlier.

        A deadline that moved later is found when the old event fires and is
        re-armed then: cheaper than one queue entry per heartbeat received.
        """
        core = self.cores[node]
        if core is None:
            return
        deadline = core.next_deadline()
        if self.timer_at[node] == -1 or deadline < self.timer_at[node]:
            self.timer_at[node] = deadline
            self.push(deadline, TIMER, (node, self.incarnation[node]))

    # ---- faults -----------------------------------------------------------------------

    def _faults_due(self, index: int) -> None:
        """_faults_due applies due faults in order; index -1 only retries the waiting ones.

        A fault that names the leader while there is none waits for the next
        leader, and the faults after it wait behind it, as in the real-time
        runtimes' fault script.
        """
        if index >= 0:
            self.faults_waiting.append(index)
        while self.faults_waiting:
            f = self.sc.faults[self.faults_waiting[0]]
            if f.needs_leader and self.recorder.leader is None:
                return
            self.faults_waiting.popleft()
            self._fault(f)

    def _fault(self, f: Fault) -> None:
        if f.action == "crash":
            node = self.recorder.leader if f.node == "leader" else f.node
            if isinstance(node, int) and self.cores[node] is not None:
                self._crash(node)
        elif f.action == "restart":
            node = self.last_crashed if f.node == "leader" else f.node
            if isinstance(node, int) and node >= 0 and self.cores[node] is None:
                self._restart(node)
        elif f.action == "partition":
            assert f.groups is not None
            groups = [self._resolve_group(g) for g in f.groups]
            self.network.partition(groups)
            self.recorder.partition(self.now, groups)
        else:
            self.network.heal()
            self.recorder.heal(self.now)

    def _resolve_group(self, group: tuple[int | str, ...]) -> list[int]:
        leader = self.recorder.leader
        out = [leader if n == "leader" else n for n in group]
        return [n for n in out if isinstance(n, int)]

    def _crash(self, node: int) -> None:
        self.cores[node] = None
        self.incarnation[node] += 1
        self.timer_at[node] = -1
        self.last_crashed = node
        self.recorder.crash(self.now, node)
        pending, self.pending[node] = self.pending[node], {}
        for index in sorted(pending):
            self._retry(pending[index], 1)

    def _restart(self, node: int) -> None:
        core = self._new_core(node)
        self.cores[node] = core
        self.kv[node] = KeyValue()
        if self.invariants:
            self.invariants.on_restart(node, core.log)
        self.recorder.restart(self.now, node)
        self._flush(node)

    def _new_core(self, node: int) -> Raft:
        rng = SplitMix64(node_seed(self.sc.seed, node, self.incarnation[node]))
        return Raft(node, self.members, self.storages[node], self.config, rng, self.now)

    # ---- clients ----------------------------------------------------------------------

    def _client_send(self, c: Client) -> None:
        if not self.clients_on:
            return
        node = c.leader_guess
        core = self.cores[node]
        c.seq += 1
        c.cmd = f"c{c.id}.{c.seq}"
        try:
            if core is None:
                raise NotLeader(None)
            index, _ = core.propose(c.cmd, self.payload, self.now)
        except NotLeader as e:
            c.leader_guess = e.leader_hint if e.leader_hint is not None else (node + 1) % len(
                self.cores)
            self.push(self.now + us(self.sc.client_retry_ms), CLIENT, c.id)
            return
        c.node, c.sent_us = node, self.now
        c.attempt += 1
        self.pending[node][index] = c
        self.push(self.now + us(self.sc.client_timeout_ms), CLIENT_TIMEOUT, (c.id, c.attempt))
        self._flush(node)

    def _resolve(self, node: int, index: int, cmd: str | None) -> None:
        c = self.pending[node].pop(index, None)
        if c is None:
            return
        c.attempt += 1  # the timeout of this attempt is void now
        if cmd == c.cmd:
            self.recorder.ack(self.now, c.cmd, index, self.now - c.sent_us)
            if self.sc.commands is not None and self.recorder.acks >= self.sc.commands:
                self.push(self.now, CONTROL, (STOP_CLIENTS, -1))
            # The ack and the next request each cross the network once.
            self.push(self.now + 2 * self.network.latency_us, CLIENT, c.id)
        else:
            self._retry(c, 0)  # another entry took the index: a new leader overwrote ours

    def _client_timeout(self, c: Client, attempt: int) -> None:
        if attempt != c.attempt:
            return
        for index, pc in list(self.pending[c.node].items()):
            if pc is c:
                del self.pending[c.node][index]
        self._retry(c, 1, pause=False)

    def _retry(self, c: Client, step: int, pause: bool = True) -> None:
        c.attempt += 1
        c.leader_guess = (c.node + step) % len(self.cores)
        self.push(self.now + (us(self.sc.client_retry_ms) if pause else 0), CLIENT, c.id)

    # ---- the scenario's controller -------------------------------------------------------

    def _on_leader(self, node: int, term: int) -> None:
        if self.faults_waiting:  # after this node's flush, not inside it
            self.push(self.now, FAULT, -1)
        if self.phase == WAIT_LEADER:
            self.phase = RUNNING
            self._start(node)
        elif self.phase == WAIT_NEW_LEADER and term > self.crashed_term:
            self.recorder.failover(self.now - self.crash_us)
            self.failovers_done += 1
            self.phase = RUNNING
            self.push(self.now, CONTROL, (RESTART, self.crashed))

    def _start(self, leader: int) -> None:
        """_start begins the scenario's measured part once a leader exists."""
        kind = self.sc.kind
        if kind == "failover":
            self.push(self.now + us(self.sc.settle_ms), CONTROL, (ARM, -1))
        elif kind == "election":
            self.push(self.now + us(self.sc.observe_ms), CONTROL, (END, -1))
        else:
            self.clients_on = True
            self.window[0] = self.now
            for c in self.clients:
                c.leader_guess = leader
                self.push(self.now + self.network.latency_us, CLIENT, c.id)
            if self.sc.commands is None:
                self.push(self.now + us(self.sc.duration_ms), CONTROL, (STOP_CLIENTS, -1))

    def _control(self, arg: tuple[int, int]) -> None:
        action, node = arg
        if action == ARM:
            offset = self._control_rng.uniform_int(0, us(self.sc.heartbeat_ms) - 1)
            self.push(self.now + offset, CONTROL, (CRASH, -1))
        elif action == CRASH:
            leader = self.recorder.leader
            if leader is None:
                self.phase = WAIT_LEADER  # faults left no leader: crash the next one
                return
            self.crashed, self.crashed_term = leader, self.recorder.leader_term
            self.crash_us = self.now
            self._crash(leader)
            self.phase = WAIT_NEW_LEADER
        elif action == RESTART:
            if self.cores[node] is None:
                self._restart(node)
            if self.failovers_done >= self.sc.failovers:
                self.phase = DONE
            else:
                self.push(self.now + us(self.sc.settle_ms), CONTROL, (ARM, -1))
        elif action == STOP_CLIENTS:
            if self.clients_on:
                self.clients_on = False
                self.window[1] = self.now
                self.push(self.now + 2 * us(self.sc.heartbeat_ms), CONTROL, (END, -1))
        else:
            self.phase = DONE

    def _timeout_reason(self) -> str:
        if self.recorder.first_leader_us is None:
            return "timeout: no leader elected within timeout_ms"
        if self.phase == WAIT_NEW_LEADER:
            return f"timeout: no new leader after crash {self.failovers_done + 1}"
        return "timeout: scenario did not finish within timeout_ms"


def run(sc: Scenario, trace: TextIO | None = None, check: bool = True) -> dict[str, Any]:
    """run simulates one trial and builds its result (virtual times throughout)."""
    sim = Sim(sc, trace, check)
    sim.run()
    runtime = {"virtual": True, "events": sim.events, **process_usage()}
    net = sim.network
    error = f"safety violation: {sim.violation}" if sim.violation else sim.error
    return build_result("py-sim", sc, sim.recorder, error, sim.failovers_done,
                        sim.window[1] - sim.window[0], sim.now, (net.sent, net.dropped), runtime)
