"""anchor-pysyncobj: raftbench's scenarios on PySyncObj, the Raft library most
Python users would pick, so that py-asyncio can be measured beside it
(docs/anchors.md). It speaks docs/protocol.md:

    python anchors/pysyncobj/anchor.py --scenario FILE|- [--trace FILE]

Every node is a `SyncObj` in this one process, ticked by one event loop
(memnet.py). The scenario is parsed by py_raft's own parser, so bad input gets
the same one-line errors; fields PySyncObj cannot honour are refused
(`refusal`), and the metrics come from py_raft's Recorder, so that each one
means what it means for the project's own drivers.
"""

import json
import math
import os
import pickle
import platform
import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from importlib.metadata import version
from typing import Any

import pysyncobj.syncobj as syncobj_module
from memnet import Loop, MemTransport, Network
from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf, replicated
from pysyncobj.journal import MemoryJournal
from pysyncobj.node import Node

from py_raft.cli import Parser, fail, read_scenario
from py_raft.core.messages import Entry
from py_raft.recorder import Recorder
from py_raft.result import peak_rss_kb, verdict
from py_raft.scenario import Scenario

IMPL = "anchor-pysyncobj"
CMD_WIDTH = 24  # command ids are padded to this, so every entry has one size
WATCHDOG_POLL_S = 0.1
WATCHDOG_GRACE_S = 3.0
_ROLES = {0: "follower", 1: "candidate", 2: "leader"}

# The pipe notifier wakes PySyncObj's tick thread when a command arrives;
# here there is no tick thread, the loop ticks the node itself (Loop.poke).
syncobj_module.PIPE_NOTIFIER_ENABLED = False


def refusal(sc: Scenario) -> str | None:
    """refusal names the first field, away from its default, that PySyncObj cannot
    honour; None when it can run the scenario as written."""
    d = Scenario()
    lo, hi = sc.election_timeout_ms
    if hi <= lo:
        return (f"election_timeout_ms: PySyncObj needs max above min "
                f"(raftMaxTimeout > raftMinTimeout), got [{lo:g}, {hi:g}]")
    if lo < 3 * sc.heartbeat_ms:
        return (f"heartbeat_ms: PySyncObj needs election_timeout_ms[0] >= 3 x heartbeat_ms, "
                f"got {sc.heartbeat_ms:g} with a minimum timeout of {lo:g}")
    if sc.faults:
        return "faults: not supported by anchor-pysyncobj (failover crashes the leader itself)"
    if sc.first_election_timeout_ms is not None:
        return ("first_election_timeout_ms: PySyncObj draws its first timeout like every "
                "other; must be null")
    if sc.inbox_capacity != d.inbox_capacity:
        return "inbox_capacity: PySyncObj has no bounded inbox; must be 0"
    if sc.snapshot_entries != d.snapshot_entries:
        return (f"snapshot_entries: PySyncObj compacts its log by its own rule; "
                f"must be {d.snapshot_entries}")
    if sc.storage != d.storage:
        return "storage: anchor-pysyncobj keeps each node's journal in memory; must be \"memory\""
    if sc.transport != d.transport:
        return 'transport: anchor-pysyncobj runs all its nodes in one process; must be "inproc"'
    return None


class Conf(SyncObjConf):  # type: ignore[misc]
    """Conf: PySyncObj asks raftMinTimeout > 3 x appendEntriesPeriod; the Raft
    paper's 150 ms and 50 ms (the scenario default) are exactly 3x, so equality
    is let through; everything else is PySyncObj's own check."""

    def validate(self) -> None:
        lo, floor = self.raftMinTimeout, 3 * self.appendEntriesPeriod
        if lo <= floor and math.isclose(lo, floor):
            self.raftMinTimeout = math.nextafter(floor, math.inf)
        try:
            super().validate()
        finally:
            self.raftMinTimeout = lo


def entry_bytes(payload_bytes: int) -> int:
    """entry_bytes: the size PySyncObj counts for one command entry (its pickle)."""
    cmd = (0, ("c".ljust(CMD_WIDTH), "x" * payload_bytes))
    return len(pickle.dumps(cmd)) + 1  # + the command-type byte


class Replica(SyncObj):  # type: ignore[misc]
    """Replica: one node. Its state machine records each applied command, so the
    recorder checks that no index is applied as two different commands."""

    def __init__(self, trial: "Trial", node_id: int, journal: MemoryJournal) -> None:
        # Set before SyncObj's __init__, so log compaction leaves them out.
        self._trial = trial
        self._node_id = node_id
        sc = trial.sc
        conf = Conf(
            autoTick=False,
            raftMinTimeout=sc.election_timeout_ms[0] / 1000,
            raftMaxTimeout=sc.election_timeout_ms[1] / 1000,
            appendEntriesPeriod=sc.heartbeat_ms / 1000,
            connectionTimeout=max(3.5, sc.election_timeout_ms[1] / 1000),
            # Send each command at once (PySyncObj's low-latency mode), with at
            # most max_batch_entries entries per AppendEntries: every command
            # entry has the same size, so a byte cap is an entry cap.
            appendEntriesUseBatch=False,
            appendEntriesBatchSizeBytes=entry_bytes(sc.payload_bytes) * sc.max_batch_entries,
            onStateChanged=self._state_changed,
        )
        transport = MemTransport(trial.net, [trial.node_objs[i] for i in range(sc.nodes)
                                             if i != node_id])
        transport.self_node = trial.node_objs[node_id]
        self._anchor_transport = transport
        trial.pending_journal = journal
        super().__init__(trial.node_objs[node_id], transport.peers, conf, transport=transport)
        transport.connect_all()

    def _state_changed(self, old: int, new: int) -> None:
        term = self._SyncObj__raftCurrentTerm
        if new == 1:  # PySyncObj becomes candidate before it raises its term
            term += 1
        self._trial.rec.state(self._trial.loop.now_us(), self._node_id, _ROLES[new], term)

    @replicated  # type: ignore[misc]
    def put(self, cmd: str, payload: str) -> int:
        index = self.raftLastApplied + 1  # PySyncObj counts it applied after this returns
        term = self._SyncObj__getEntries(index, 1)[0][2]
        self._trial.rec.apply(self._trial.loop.now_us(), self._node_id, index,
                              Entry(term, cmd.rstrip()))
        return int(index)




class Clients:
    """Clients: the closed-loop clients of docs/protocol.md ("Clients"), as events."""

    def __init__(self, trial: "Trial") -> None:
        self.t = trial
        sc = trial.sc
        self.on = False
        self.hop = sc.network.latency_ms / 1000
        self.retry = sc.client_retry_ms / 1000
        self.timeout = sc.client_timeout_ms / 1000
        self.payload = "x" * sc.payload_bytes
        self.guess = [0] * sc.clients
        self.seq = [0] * sc.clients
        self.waiting: list[tuple[int, str, int] | None] = [None] * sc.clients
        self.enough = False

    def start(self, leader: int) -> None:
        self.on = True
        for c in range(len(self.guess)):
            self.guess[c] = leader
            self.t.loop.later(self.hop, self.propose, c)

    def propose(self, c: int) -> None:
        if not self.on:
            return
        n = self.t.sc.nodes
        node = self.t.loop.nodes.get(self.guess[c])
        if node is None:
            self.guess[c] = (self.guess[c] + 1) % n
            self.t.loop.later(self.retry, self.propose, c)
            return
        self.seq[c] += 1
        cmd = f"c{c}.{self.seq[c]}"
        attempt = (self.seq[c], cmd, self.t.loop.now_us())
        self.waiting[c] = attempt
        node.put(cmd.ljust(CMD_WIDTH), self.payload,
                 callback=lambda res, err: self.reply(c, attempt, res, err))
        self.t.loop.poke(self.guess[c])
        self.t.loop.later(self.timeout, self.expire, c, attempt)

    def reply(self, c: int, attempt: tuple[int, str, int], res: Any, err: int) -> None:
        if self.waiting[c] is not attempt:
            return  # an answer to an attempt already given up
        self.waiting[c] = None
        if not self.on:
            return
        n = self.t.sc.nodes
        if err == FAIL_REASON.SUCCESS:
            now = self.t.loop.now_us()
            self.t.rec.ack(now, attempt[1], int(res), now - attempt[2])
            if self.t.sc.commands is not None and self.t.rec.acks >= self.t.sc.commands:
                self.on, self.enough = False, True
                self.t.resume()
                return
            self.t.loop.later(2 * self.hop, self.propose, c)  # the ack back, the next out
            return
        node = self.t.loop.nodes.get(self.guess[c])
        leader = node._getLeader() if node is not None else None
        if err in (FAIL_REASON.NOT_LEADER, FAIL_REASON.MISSING_LEADER) and leader is not None:
            self.guess[c] = int(leader.id)
        elif node is None or err in (FAIL_REASON.NOT_LEADER, FAIL_REASON.MISSING_LEADER):
            self.guess[c] = (self.guess[c] + 1) % n
        self.t.loop.later(self.retry, self.propose, c)

    def expire(self, c: int, attempt: tuple[int, str, int]) -> None:
        if self.waiting[c] is attempt:  # no answer in client_timeout_ms: the next node now
            self.waiting[c] = None
            self.guess[c] = (self.guess[c] + 1) % self.t.sc.nodes
            self.propose(c)


class Trial:
    """Trial: one scenario on N Replicas, its script a generator the loop resumes."""

    def __init__(self, sc: Scenario, trace: Any) -> None:
        self.sc = sc
        random.seed(sc.seed)  # PySyncObj draws its election timeouts from `random`
        self.loop = Loop()
        self.net = Network(self.loop, sc.network.latency_ms, sc.network.jitter_ms,
                           sc.network.drop_rate, sc.seed)
        self.lock = threading.Lock()
        self.rec = Recorder(trace, self.lock, on_leader=self.resume)
        self.node_objs = [Node(str(i)) for i in range(sc.nodes)]
        self.journals = [MemoryJournal() for _ in range(sc.nodes)]
        self.pending_journal: MemoryJournal | None = None
        self.clients = Clients(self)
        self.error: str | None = None
        self.failovers_done = 0
        self.window = [0, 0]
        self._script = self.script()
        self._waiting_leader_above: int | None = None
        self.threads_peak = threading.active_count()

    # The script and its waits.
    def resume(self) -> None:
        """resume steps the script if it waits for a leader that is now there."""
        above = self._waiting_leader_above
        if above is not None and self.rec.leader is not None and self.rec.leader_term > above:
            self._waiting_leader_above = None
            self.loop.later(0, self._step)

    def _step(self) -> None:
        try:
            wait = next(self._script)
        except StopIteration:
            self.loop.stop()
            return
        kind, value = wait
        if kind == "sleep":
            self.loop.later(value, self._step)
        elif kind == "leader":
            self._waiting_leader_above = value
            self.resume()
        elif kind == "clients":
            self._waiting_leader_above = None  # resumed by the clients, or by the timer
            self.loop.later(value, self._step)

    def script(self) -> Iterator[tuple[str, Any]]:
        sc = self.sc
        yield "leader", 0
        if sc.kind == "election":
            yield "sleep", sc.observe_ms / 1000
        elif sc.kind == "failover":
            yield from self.failovers()
        else:
            yield from self.replicate()

    def failovers(self) -> Iterator[tuple[str, Any]]:
        sc = self.sc
        for _ in range(sc.failovers):
            yield "leader", 0
            yield "sleep", sc.settle_ms / 1000
            yield "sleep", random.random() * sc.heartbeat_ms / 1000
            yield "leader", 0
            leader, term = self.rec.leader, self.rec.leader_term
            assert leader is not None
            crashed = self.loop.now_us()
            self.crash(leader)
            yield "leader", term
            self.rec.failover(self.loop.now_us() - crashed)
            self.failovers_done += 1
            self.restart(leader)

    def replicate(self) -> Iterator[tuple[str, Any]]:
        sc = self.sc
        leader = self.rec.leader
        assert leader is not None
        self.window[0] = self.loop.now_us()
        self.clients.start(leader)
        if sc.commands is None:
            yield "sleep", sc.duration_ms / 1000
        else:
            while not self.clients.enough:
                yield "clients", 0.05  # the last ack resumes it sooner
        self.clients.on = False
        self.window[1] = self.rec.last_ack_us if sc.commands is not None else self.loop.now_us()
        yield "sleep", 2 * sc.heartbeat_ms / 1000

    # Nodes.
    def start_node(self, node_id: int) -> None:
        self.loop.nodes[node_id] = Replica(self, node_id, self.journals[node_id])
        self.loop.poke(node_id)

    def crash(self, node_id: int) -> None:
        """crash: the node stops at once; its journal (term, vote, log) survives."""
        self.loop.nodes.pop(node_id, None)
        self.rec.crash(self.loop.now_us(), node_id)

    def restart(self, node_id: int) -> None:
        self.rec.restart(self.loop.now_us(), node_id)
        self.start_node(node_id)

    def run(self) -> dict[str, Any]:
        cpu0 = time.process_time()
        syncobj_module.createJournal = lambda journal_file=None: self.pending_journal
        for i in range(self.sc.nodes):
            self.start_node(i)
        self.loop.later(0, self._step)
        done = threading.Event()
        watchdog = threading.Thread(target=self.watchdog, args=(done, cpu0), daemon=True)
        watchdog.start()
        try:
            self.loop.run()
        finally:
            done.set()
        return self.result(cpu0)

    def stop(self, error: str) -> None:
        if self.error is None:
            self.error = error
        self.loop.stop()

    def watchdog(self, done: threading.Event, cpu0: float) -> None:
        limit_s = self.sc.timeout_ms / 1000
        while not done.wait(WATCHDOG_POLL_S):
            self.threads_peak = max(self.threads_peak, threading.active_count())
            rss = _rss_kb()
            elapsed = self.loop.now_us() / 1e6
            if self.sc.memory_limit_mb and rss > self.sc.memory_limit_mb * 1024:
                self.stop(f"memory: resident set {rss // 1024} MB passed memory_limit_mb "
                          f"{self.sc.memory_limit_mb:g}")
            elif elapsed >= limit_s:
                self.stop(f"timeout: the trial passed timeout_ms {self.sc.timeout_ms:g}")
            else:
                continue
            if not done.wait(WATCHDOG_GRACE_S):  # the loop is stuck in a tick: leave
                self.rec.flush()
                sys.stdout.write(json.dumps(self.result(cpu0)) + "\n")
                sys.stdout.flush()
                os._exit(0)
            return

    def result(self, cpu0: float) -> dict[str, Any]:
        elapsed = self.loop.now_us()
        cpu_trial = round(time.process_time() - cpu0, 6)
        window = list(self.window)
        if window[1] < window[0]:
            window[1] = elapsed
        ok, err = verdict(self.sc, self.rec, self.error, self.failovers_done)
        usage = os.times()
        return {
            "impl": IMPL, "ok": ok, "error": err, "scenario": self.sc.to_json(),
            "metrics": self.rec.metrics(elapsed, window[1] - window[0],
                                        (self.net.sent, self.net.dropped)),
            "runtime": {"wall_ms": elapsed / 1000, "threads_peak": self.threads_peak,
                        "tasks_peak": 0, "cpu_user_s": round(usage.user, 6),
                        "cpu_sys_s": round(usage.system, 6), "max_rss_kb": peak_rss_kb(),
                        "cpu_trial_s": cpu_trial},
            "versions": {"python": platform.python_version(), "pysyncobj": version("pysyncobj"),
                         "implementation": sys.implementation.name},
        }


def _rss_kb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="anchor-pysyncobj", description="Run one Raft trial on PySyncObj.")
    p.add_argument("--scenario", required=True, help="scenario JSON file, or - for stdin")
    p.add_argument("--trace", help="write the JSON-lines trace here")
    args = p.parse_args(argv)
    sc = read_scenario(args.scenario)
    why = refusal(sc)
    if why is not None:
        fail(why)
    with ExitStack() as stack:
        trace = None
        if args.trace:
            try:
                trace = stack.enter_context(open(args.trace, "w", encoding="utf-8"))
            except OSError as e:
                fail(f"--trace: cannot write {args.trace}: {e.strerror}")
        result = Trial(sc, trace).run()
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
