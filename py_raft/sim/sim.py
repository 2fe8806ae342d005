"""Sim: the deterministic simulator, a runtime that runs in virtual time.

One event queue ordered by (time, sequence number) drives every node, the
network model, the clients, the fault schedule and the scenario's controller.
Nothing sleeps and nothing is concurrent, so a seed replays exactly; the Go
simulator (go_raft/sim) makes the same events in the same order, and the two
write byte-identical traces. Processing costs nothing here, which makes this
the ideal timing of the algorithm that the real runtimes are measured against.

Nodes, clients and faults are the shared ones (py_raft/host.py, client.py,
faults.py); what is the simulator's own is how it waits: events. After every
event the Figure 3 properties are checked (`Invariants`).
"""

import heapq
from collections import deque
from typing import Any, TextIO

from py_raft.client import REDIRECT, TIMEOUT, ClientScript, Outcome, Pause, advance, client_script
from py_raft.cluster import Cluster
from py_raft.core import Message
from py_raft.host import NodeHost
from py_raft.invariants import Invariants, SafetyViolation
from py_raft.recorder import Recorder
from py_raft.result import process_usage
from py_raft.scenario import Scenario, us

# Event kinds; the order of this list is also the Go constants' order.
DELIVER, TIMER, FAULT, CLIENT, CLIENT_TIMEOUT, CONTROL = range(6)
# Controller actions carried by CONTROL events.
ARM, CRASH, RESTART, STOP_CLIENTS, END = range(5)
# Controller phases.
WAIT_LEADER, RUNNING, WAIT_NEW_LEADER, DONE = range(4)


class SimClient:
    """SimClient is one client script and what the simulator tracks of its request."""

    __slots__ = ("id", "script", "node", "index", "attempt")

    def __init__(self, client_id: int, script: ClientScript) -> None:
        self.id = client_id
        self.script = script
        self.node = -1  # where its request waits, and at which index
        self.index = -1
        self.attempt = 0  # a timeout counts only for the attempt it was set for


class Sim(Cluster):
    def __init__(self, sc: Scenario, trace: TextIO | None = None, check: bool = True) -> None:
        super().__init__(sc, Recorder(trace, nodes=sc.nodes))
        self.now = 0
        self._queue: list[tuple[int, int, int, Any]] = []
        self._seq = 0
        self.events = 0
        n = sc.nodes
        self.timer_at = [-1] * n
        self.invariants = Invariants(n) if check else None
        self.hosts: list[NodeHost | None] = [None] * n
        for i in range(n):
            self.hosts[i] = self._new_host(i)
        self.clients: list[SimClient] = []
        self.clients_on = False
        self.phase = WAIT_LEADER
        self.crashed = -1
        self.crashed_term = 0
        self.crash_us = 0
        self.faults_waiting: deque[int] = deque()
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
                self.fail(self._timeout_reason())
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
            host = self.hosts[to]
            if host is not None:
                host.step(msg, self.now)
                self._schedule_timer(to)
        elif kind == TIMER:
            node, incarnation = arg
            if incarnation == self.incarnations[node] and self.timer_at[node] == self.now:
                self.timer_at[node] = -1
                host = self.hosts[node]
                assert host is not None
                host.tick(self.now)
                self._schedule_timer(node)
        elif kind == FAULT:
            self._faults_due(arg)
        elif kind == CLIENT:
            self._resume(self.clients[arg], None)
        elif kind == CLIENT_TIMEOUT:
            client_id, attempt = arg
            self._client_timeout(self.clients[client_id], attempt)
        else:
            self._control(arg)

    # ---- nodes ----------------------------------------------------------------------------

    def _new_host(self, node: int) -> NodeHost:
        return NodeHost(node, self.sc, self.open_storage(node), self.incarnations[node],
                        self.recorder, self._send, self.now, self.invariants, self._on_leader)

    def _send(self, src: int, dst: int, msg: Message) -> None:
        delay = self.network.delay(src, dst)
        if delay is not None:
            self.push(self.now + delay, DELIVER, (dst, msg))

    def _schedule_timer(self, node: int) -> None:
        """_schedule_timer keeps one pending TIMER per node, moved only earlier.

        A deadline that moved later is found when the old event fires and is
        re-armed then: cheaper than one queue entry per heartbeat received.
        """
        host = self.hosts[node]
        if host is None:
            return
        deadline = host.core.next_deadline()
        if self.timer_at[node] == -1 or deadline < self.timer_at[node]:
            self.timer_at[node] = deadline
            self.push(deadline, TIMER, (node, self.incarnations[node]))

    def time_us(self) -> int:
        return self.now

    def up(self, node: int) -> bool:
        return self.hosts[node] is not None

    def crash(self, node: int) -> None:
        host = self.hosts[node]
        assert host is not None
        self.hosts[node] = None
        self.incarnations[node] += 1
        self.timer_at[node] = -1
        self.last_crashed = node
        self.recorder.crash(self.now, node)
        host.fail_pending()
        host.close()

    def restart(self, node: int) -> None:
        self.recorder.restart(self.now, node)
        self.hosts[node] = self._new_host(node)  # its first Ready restores a snapshot
        self._schedule_timer(node)

    def close(self) -> None:
        for host in self.hosts:
            if host is not None:
                host.close()
        super().close()

    def _faults_due(self, index: int) -> None:
        """_faults_due applies due faults in order; index -1 only retries the waiting ones."""
        if index >= 0:
            self.faults_waiting.append(index)
        while self.faults_waiting:
            if not self.apply_fault(self.sc.faults[self.faults_waiting[0]]):
                return  # it waits for the next leader, and the faults after it wait behind it
            self.faults_waiting.popleft()

    # ---- clients: the shared script, driven by events ---------------------------------------

    def _resume(self, c: SimClient, outcome: Outcome | None) -> None:
        """_resume runs a client's script to its next step: a pause, or a request."""
        step = advance(c.script, outcome)
        if step is None:
            return
        if isinstance(step, Pause):
            self.push(self.now + step.us, CLIENT, c.id)
            return
        host = self.hosts[step.node]
        if host is None:
            self._resume(c, (REDIRECT, -1))
            return
        c.attempt += 1
        attempt = c.attempt
        index = host.propose(step.cmd, self.payload, self.now,
                             lambda kind, value: self._reply(c, attempt, kind, value))
        if index < 0:
            return
        c.node, c.index = step.node, index
        self.push(self.now + us(self.sc.client_timeout_ms), CLIENT_TIMEOUT, (c.id, attempt))
        host.flush(self.now)
        self._schedule_timer(step.node)

    def _reply(self, c: SimClient, attempt: int, kind: str, value: int) -> None:
        if attempt != c.attempt:
            return
        c.attempt += 1  # the timeout of this attempt is void now
        if kind == "ok" and self.sc.commands is not None and self.recorder.acks >= self.sc.commands:
            self.push(self.now, CONTROL, (STOP_CLIENTS, -1))
        self._resume(c, (kind, value))

    def _client_timeout(self, c: SimClient, attempt: int) -> None:
        if attempt != c.attempt:
            return
        host = self.hosts[c.node]
        if host is not None:
            host.pending.pop(c.index, None)
        c.attempt += 1
        self._resume(c, (TIMEOUT, -1))

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
            sc = self.sc
            for i in range(sc.clients):
                script = client_script(i, leader, sc.nodes, self.network.latency_us,
                                       us(sc.client_retry_ms), lambda: self.clients_on, self.up)
                self.clients.append(SimClient(i, script))
                self._resume(self.clients[i], None)
            if self.sc.commands is None:
                self.push(self.now + us(self.sc.duration_ms), CONTROL, (STOP_CLIENTS, -1))

    def _control(self, arg: tuple[int, int]) -> None:
        action, node = arg
        if action == ARM:
            offset = self.control_rng.uniform_int(0, us(self.sc.heartbeat_ms) - 1)
            self.push(self.now + offset, CONTROL, (CRASH, -1))
        elif action == CRASH:
            leader = self.recorder.leader
            if leader is None:
                self.phase = WAIT_LEADER  # faults left no leader: crash the next one
                return
            self.crashed, self.crashed_term = leader, self.recorder.leader_term
            self.crash_us = self.now
            self.crash(leader)
            self.phase = WAIT_NEW_LEADER
        elif action == RESTART:
            if not self.up(node):
                self.restart(node)
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
    try:
        sim.run()
    finally:
        sim.close()
    if sim.violation:
        sim.error = f"safety violation: {sim.violation}"
    return sim.build("py-sim", sim.now, {"virtual": True, "events": sim.events, **process_usage()})
