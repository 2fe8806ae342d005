"""Trial: the scenario's script, shared by the two real-time runtimes.

The script is a generator that yields what it waits for (`Sleep`,
`WaitLeader`); the threads runtime blocks on each, the asyncio runtime awaits
it. So both runtimes run the very same control flow, and differ only in how
they wait. (The simulator has the same script in event form, which is what
the Go simulator ports one to one.)
"""

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
Script = Generator[Wait, int | None, None]


class Trial:
    """Trial holds what a real-time cluster shares with the script; runtimes subclass it."""

    def __init__(self, sc: Scenario, trace: Any, lock: Any, on_leader: Any) -> None:
        self.sc = sc
        self.clock = Clock()
        self.recorder = Recorder(trace, lock, on_leader)
        self.control_rng = SplitMix64(derive_seed(sc.seed, 0))
        self.error: str | None = None
        self.trials_done = 0
        self.window = [0, 0]
        self.peaks = {"threads_peak": 0, "tasks_peak": 0}

    # Each runtime provides these.
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
            self.error = "timeout: no leader elected within timeout_ms"
            return
        self.sample()
        if sc.scenario == "election":
            yield Sleep(self.clock.now() + us(sc.observe_ms))
        elif sc.scenario == "replication":
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
        while self.trials_done < sc.trials:
            yield Sleep(self.clock.now() + us(sc.settle_ms))
            yield Sleep(self.clock.now() + self.control_rng.uniform_int(0, heartbeat - 1))
            leader = r.leader
            if leader is None:
                if (yield WaitLeader(r.leader_term - 1)) is None:
                    self.error = "timeout: no leader to crash"
                    return
                continue
            crashed_term = r.leader_term
            crash_us = self.clock.now()
            self.crash(leader)
            if (yield WaitLeader(crashed_term)) is None:
                self.error = f"timeout: no new leader after crash {self.trials_done + 1}"
                return
            r.failover(r.leader_us - crash_us)
            self.trials_done += 1
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
        cpu_start = time.process_time()
        self.execute()
        elapsed = self.clock.now()
        if self.window[1] < self.window[0]:  # the clients outlived the trial's limit
            self.window[1] = elapsed
        runtime = {"wall_ms": elapsed / 1000, **self.peaks, **process_usage(),
                   "cpu_trial_s": round(time.process_time() - cpu_start, 6)}
        messages = self.messages()
        return build_result(impl, self.sc, self.recorder, self.error, self.trials_done,
                            self.window[1] - self.window[0], elapsed, messages, runtime,
                            extra_versions)

    def messages(self) -> tuple[int, int]:
        raise NotImplementedError
