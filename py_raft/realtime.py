"""Trial: the scenario's script, shared by the two real-time runtimes.

The script is a generator that yields what it waits for (`Sleep`,
`WaitLeader`); the threads runtime blocks on each, the asyncio runtime awaits
it. So both runtimes run the very same control flow, and differ only in how
they wait. (The simulator has the same script in event form, which is what
the Go simulator ports one to one.)
"""

import json
import os
import resource
import sys
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from py_raft.clock import Clock
from py_raft.core import SplitMix64, derive_seed
from py_raft.recorder import Recorder
from py_raft.result import build_result, process_usage
from py_raft.scenario import Scenario, us


@dataclass(frozen=True, slots=True)
class Sleep:
    until_us: int


@dataclass(frozen=True, slots=True)
class WaitLeader:
    """WaitLeader resumes with the id of a leader of a term above after_term, or None (timeout)."""

    after_term: int


Wait = Sleep | WaitLeader
POLL_S = 0.1  # how often the watchdog looks
GRACE_S = 3.0  # how long a runtime has to stop once asked, before the hard stop


class Watchdog(threading.Thread):
    """Watchdog keeps the driver's own limits: memory_limit_mb and timeout_ms.

    It runs on a thread of its own because an overloaded runtime is slow to
    come back to its own timers: an asyncio loop runs every ready callback
    before it looks at its timers again, and a thread waits its turn for the
    GIL among thousands. Past a limit the watchdog asks the runtime to stop;
    if the trial has not ended GRACE_S later it prints the result as it stands
    and ends the process, so overload is a recorded failure, never a machine
    brought down (docs/benchmarking.md).
    """

    def __init__(self, trial: "Trial") -> None:
        super().__init__(name="watchdog", daemon=True)
        self.trial = trial
        self.done = threading.Event()

    def run(self) -> None:
        trial, hard_at = self.trial, None
        limit = us(trial.sc.timeout_ms)
        while not self.done.wait(POLL_S):
            if hard_at is None and (trial.over_memory() or trial.clock.now() > limit + 1_000_000):
                trial.fail("timeout: scenario did not finish within timeout_ms")
                trial.request_stop()
                hard_at = time.monotonic() + GRACE_S
            elif hard_at is not None and time.monotonic() > hard_at:
                trial.hard_stop()

Script = Generator[Wait, int | None, None]


class Trial:
    """Trial holds what a real-time cluster shares with the script; runtimes subclass it."""

    def __init__(self, sc: Scenario, trace: Any, lock: Any, on_leader: Any) -> None:
        self.sc = sc
        self.clock = Clock()
        self.recorder = Recorder(trace, lock, on_leader)
        self.control_rng = SplitMix64(derive_seed(sc.seed, 0))
        self.error: str | None = None
        self.failovers_done = 0
        self.window = [0, 0]
        self.peaks = {"threads_peak": 0, "tasks_peak": 0}

    def fail(self, reason: str) -> None:
        """fail ends the trial's verdict with reason; the first reason given stands."""
        if self.error is None:
            self.error = reason

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

    # Each runtime provides these.
    def request_stop(self) -> None: raise NotImplementedError  # from the watchdog's thread
    def crash(self, node_id: int) -> None: raise NotImplementedError
    def restart(self, node_id: int) -> None: raise NotImplementedError
    def alive(self, node_id: int) -> bool: raise NotImplementedError
    def partition(self, groups: list[list[int]]) -> None: raise NotImplementedError
    def heal(self) -> None: raise NotImplementedError
    def start_clients(self, leader: int) -> None: raise NotImplementedError
    def stop_clients(self) -> None: raise NotImplementedError
    def execute(self) -> None: raise NotImplementedError
    def sample(self) -> None: raise NotImplementedError

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
        self.start_clients(leader)
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
        self.stop_clients()
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
        last_crashed = -1
        for f in self.sc.faults:
            yield Sleep(us(f.at_ms))
            leader = self.recorder.leader
            if f.needs_leader and leader is None:
                # An election is under way: the fault waits for its leader, and the
                # faults after it wait behind it, so a schedule always runs whole.
                leader = yield WaitLeader(0)
                if leader is None:
                    return
            if f.action == "crash":
                node = leader if f.node == "leader" else f.node
                if isinstance(node, int) and self.alive(node):
                    last_crashed = node
                    self.crash(node)
            elif f.action == "restart":
                node = last_crashed if f.node == "leader" else f.node
                if isinstance(node, int) and node >= 0:
                    self.restart(node)
            elif f.action == "partition":
                assert f.groups is not None
                groups = [[leader if n == "leader" else n for n in g] for g in f.groups]
                self.partition([[n for n in g if isinstance(n, int)] for g in groups])
            else:
                self.heal()

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
        self._emitting.acquire()
        return self._build()

    def _build(self) -> dict[str, Any]:
        elapsed = self.clock.now()
        if self.window[1] < self.window[0]:  # the clients outlived the trial's limit
            self.window[1] = elapsed
        runtime = {"wall_ms": elapsed / 1000, **self.peaks, **process_usage(),
                   "cpu_trial_s": round(time.process_time() - self._cpu_start, 6)}
        return build_result(self._impl, self.sc, self.recorder, self.error, self.failovers_done,
                            self.window[1] - self.window[0], elapsed, self.messages(),
                            runtime, self._versions)

    def hard_stop(self) -> None:
        """hard_stop prints the result as it stands and ends the process (watchdog only)."""
        if not self._emitting.acquire(blocking=False):
            return  # the runtime stopped in time and is printing its own result
        self.fail("timeout: the runtime did not stop within the grace period")
        sys.stdout.write(json.dumps(self._build()) + "\n")
        sys.stdout.flush()
        self.recorder.flush()
        os._exit(0)

    def messages(self) -> tuple[int, int]:
        raise NotImplementedError
