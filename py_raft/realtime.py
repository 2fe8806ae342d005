"""RealTimeCluster: a cluster on a real clock, and the scenario's script for it.

The script is a generator that yields what it waits for (`Sleep`,
`WaitLeader`); the threads runtime blocks on each, the asyncio runtime awaits
it. So both runtimes run the very same control flow, and differ only in how
they wait. (The simulator runs the same scenario as events, in the order the
Go simulator follows one to one.)
"""

import json
import os
import resource
import sys
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from py_raft.client import ClientScript, client_script
from py_raft.clock import Clock
from py_raft.cluster import Cluster
from py_raft.recorder import Recorder
from py_raft.result import process_usage
from py_raft.scenario import Scenario, us
from py_raft.watchdog import Watchdog


@dataclass(frozen=True, slots=True)
class Sleep:
    until_us: int


@dataclass(frozen=True, slots=True)
class WaitLeader:
    """WaitLeader resumes with the id of a leader of a term above after_term, or None (timeout)."""

    after_term: int


Wait = Sleep | WaitLeader


class TimeUp(Exception):
    """TimeUp: a script slept past timeout_ms; the runtime's drive stops it."""
Script = Generator[Wait, int | None, None]


class RealTimeCluster(Cluster):
    """RealTimeCluster holds what a real-time cluster shares with its scripts."""

    def __init__(self, sc: Scenario, trace: Any, lock: Any, on_leader: Any) -> None:
        super().__init__(sc, Recorder(trace, lock, on_leader, sc.nodes))
        self.clock = Clock()
        self.nodes: list[Any] = [None] * sc.nodes  # each runtime's node, None while down
        self.clients_on = False
        self.peaks = {"threads_peak": 0, "tasks_peak": 0}

        self.membership: Any = nullcontext()  # held by crash and restart

    def time_us(self) -> int:
        return self.clock.now()

    # The runtime's nodes have stop() and join(); start_node starts one.
    def start_node(self, node: int) -> None: raise NotImplementedError

    def crash(self, node: int) -> None:
        with self.membership:
            running = self.nodes[node]
            if running is None:
                return
            self.nodes[node] = None
            self.incarnations[node] += 1
            self.last_crashed = node
            # The node stops before its crash is recorded: a node thread still
            # finishing an input would otherwise trace an apply after its crash.
            running.stop()
            running.join()
            self.recorder.crash(self.clock.now(), node)

    def restart(self, node: int) -> None:
        with self.membership:
            if self.nodes[node] is None:
                self.recorder.restart(self.clock.now(), node)
                self.start_node(node)

    def up(self, node: int) -> bool:
        return self.nodes[node] is not None

    def over_limit(self) -> bool:
        """over_limit: past memory_limit_mb, or past timeout_ms and a second's grace."""
        if self.over_memory() or self.clock.now() > us(self.sc.timeout_ms) + 1_000_000:
            self.fail("timeout: scenario did not finish within timeout_ms")
            return True
        return False

    def over_memory(self) -> bool:
        """over_memory: the process passed memory_limit_mb; the trial then fails."""
        limit = self.sc.memory_limit_mb
        if limit <= 0:
            return False
        # getrusage, not /proc: a file read lets go of the GIL, and under overload
        # each return to it waits behind every runnable thread (seconds at 8,192).
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        if rss_mb <= limit:
            return False
        self.fail(f"memory: peak resident set {rss_mb} MB passed memory_limit_mb {limit:g}")
        return True

    # Each runtime provides these, besides Cluster's.
    def request_stop(self) -> None: raise NotImplementedError  # from the watchdog's thread
    def start_clients(self, scripts: list[ClientScript]) -> None: raise NotImplementedError
    def execute(self) -> None: raise NotImplementedError
    def sample(self) -> None: raise NotImplementedError

    @contextmanager
    def time_limit(self, main: bool) -> Iterator[None]:
        """time_limit ends a script that ran out of time; the main script's verdict fails."""
        try:
            yield
        except TimeUp:
            if main:
                self.fail("timeout: scenario did not finish within timeout_ms")

    def client_scripts(self, leader: int) -> list[ClientScript]:
        sc = self.sc
        return [client_script(i, leader, sc.nodes, us(sc.network.latency_ms),
                              us(sc.client_retry_ms), lambda: self.clients_on, self.up)
                for i in range(sc.clients)]

    def script(self) -> Script:
        sc = self.sc
        leader = yield WaitLeader(0)
        if leader is None:
            self.fail("timeout: no leader elected within timeout_ms")
            return
        self.sample()
        if sc.kind == "election":
            yield Sleep(self.clock.now() + us(sc.observe_ms))
        elif sc.kind == "replication":
            yield from self._replicate(leader)
        else:
            yield from self._failovers()
        self.sample()

    def _replicate(self, leader: int) -> Script:
        sc = self.sc
        self.window[0] = self.clock.now()
        self.clients_on = True
        self.start_clients(self.client_scripts(leader))
        self.sample()
        end = self.window[0] + us(sc.duration_ms)
        if sc.commands is None:
            yield Sleep(end)
            self.window[1] = self.clock.now()
        else:
            step = us(sc.heartbeat_ms) // 10 or 1
            while self.recorder.acks < sc.commands and self.clock.now() < us(sc.timeout_ms):
                yield Sleep(self.clock.now() + step)
            self.window[1] = self.recorder.last_ack_us
        self.clients_on = False
        yield Sleep(self.clock.now() + 2 * us(self.sc.heartbeat_ms))  # followers catch up

    def _failovers(self) -> Script:
        sc, r = self.sc, self.recorder
        heartbeat = us(sc.heartbeat_ms)
        while self.failovers_done < sc.failovers:
            yield Sleep(self.clock.now() + us(sc.settle_ms))
            yield Sleep(self.clock.now() + self.control_rng.uniform_int(0, heartbeat - 1))
            leader = r.leader
            if leader is None:
                if (yield WaitLeader(r.leader_term - 1)) is None:
                    self.fail("timeout: no leader to crash")
                    return
                continue
            crashed_term = r.leader_term
            crash_us = self.clock.now()
            self.crash(leader)
            if (yield WaitLeader(crashed_term)) is None:
                self.fail(f"timeout: no new leader after crash {self.failovers_done + 1}")
                return
            r.failover(r.leader_us - crash_us)
            self.failovers_done += 1
            self.restart(leader)

    def fault_script(self) -> Script:
        for f in self.sc.faults:
            yield Sleep(us(f.at_ms))
            while not self.apply_fault(f):
                if (yield WaitLeader(0)) is None:
                    return

    def result(self, impl: str, extra_versions: dict[str, str] | None = None) -> dict[str, Any]:
        self._impl, self._versions = impl, extra_versions
        self._cpu_start = time.process_time()
        self._emitting = threading.Lock()  # the result is built once: here or by hard_stop
        watchdog = Watchdog(self)
        watchdog.start()
        try:
            self.execute()
        finally:
            watchdog.done.set()
            watchdog.join()
            self.close()  # every node has stopped and closed its files
        self._emitting.acquire()
        return self._build()

    def _build(self) -> dict[str, Any]:
        elapsed = self.clock.now()
        runtime = {"wall_ms": elapsed / 1000, **self.peaks, **process_usage(),
                   "cpu_trial_s": round(time.process_time() - self._cpu_start, 6)}
        return self.build(self._impl, elapsed, runtime, self._versions)

    def hard_stop(self) -> None:
        """hard_stop prints the result as it stands and ends the process (watchdog only)."""
        if not self._emitting.acquire(blocking=False):
            return  # the runtime stopped in time and is printing its own result
        self.fail("timeout: the runtime did not stop within the grace period")
        sys.stdout.write(json.dumps(self._build()) + "\n")
        sys.stdout.flush()
        self.recorder.flush()
        self.close()
        os._exit(0)
