"""Recorder: what every runtime reports about a trial, in one place.

Runtimes call it on each role change, apply, client ack and fault. It writes
the JSON-lines trace (docs/protocol.md), keeps the figures for the result's
`metrics`, and checks online the two safety rules that are cheap to check
(one leader per term; one entry per applied index), so that a result never
says `ok` for a run that broke Raft.
"""

import json
import math
from array import array
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TextIO

from py_raft.core.messages import Entry


def t_ms(t_us: int) -> int | float:
    """t_ms renders microseconds as milliseconds, as an integer when whole.

    Go's encoder prints a whole float64 without ".0"; this keeps both byte-identical.
    """
    return t_us // 1000 if t_us % 1000 == 0 else t_us / 1000


def percentile(sorted_values: list[float], p: float) -> float:
    """percentile is the nearest-rank percentile, the same rule as the Go driver."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class SnapshotFloors:
    """SnapshotFloors holds each node's snapshot index and the lowest of them (`low`).

    A node never applies an index at or below its own snapshot's again (a
    restart restores from it; an InstallSnapshot only moves forward), and
    never snapshots or installs there again, so whatever a check keeps per
    index is needed only above `low`: the rest can go, and a long run's checks
    stay as small as its logs.
    """

    __slots__ = ("at", "low", "_at_low")

    def __init__(self, nodes: int) -> None:
        self.at = [0] * nodes
        self.low = 0
        self._at_low = nodes  # how many nodes are at low

    def rise(self, node: int, index: int) -> bool:
        """rise records node's snapshot at index; True if `low` rose."""
        if node >= len(self.at):
            return False  # built for 0 nodes: not tracked
        old = self.at[node]
        if index <= old:
            return False
        self.at[node] = index
        if old != self.low:
            return False
        self._at_low -= 1
        if self._at_low:
            return False
        self.low = min(self.at)  # once per round of snapshots, not per node
        self._at_low = self.at.count(self.low)
        return True


class Recorder:
    def __init__(
        self,
        trace: TextIO | None,
        lock: AbstractContextManager[Any] | None = None,
        on_leader: Callable[[], None] | None = None,
        nodes: int = 0,
    ) -> None:
        self._trace = trace
        self._lock = lock if lock is not None else nullcontext()
        self._on_leader = on_leader
        self.leader: int | None = None
        self.leader_term = 0
        self.leader_us = 0  # when the current leader took office
        self.leader_by_term: dict[int, int] = {}
        self.first_leader_us: int | None = None
        self.elections = 0
        self.max_term = 0
        self.term_changes_after_leader = 0
        self.applied: dict[int, tuple[int, str | None]] = {}
        self.digests: dict[int, str] = {}  # a state machine image's digest, by index
        self.floors = SnapshotFloors(nodes)
        self.acks = 0
        self.last_ack_us = 0
        # Raw values, kept for the percentiles; 8 bytes each, where a list of
        # ints takes 36 (a 60-second saturated run acknowledges millions).
        self.latencies_us = array("q")
        self.failover_us: list[int] = []
        self.violation: str | None = None
        # Heartbeat lag: per node, the term and time of the last AppendEntries it
        # handled; a gap is recorded between two of the same term. Each node is
        # touched by its own thread or task only, so no lock is taken.
        self._last_append: dict[int, tuple[int, int]] = {}
        self.heartbeat_gaps_us = array("q")
        self.inbox_dropped = 0

    def _emit(self, line: dict[str, Any]) -> None:
        if self._trace is not None:
            self._trace.write(json.dumps(line, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        """flush pushes the trace to its file (the watchdog's hard stop skips close)."""
        if self._trace is not None:
            with self._lock:
                self._trace.flush()

    def state(self, t: int, node: int, role: str, term: int) -> None:
        changed = False
        with self._lock:
            self._emit({"t_ms": t_ms(t), "node": node, "event": "state", "state": role,
                        "term": term})
            if term > self.max_term:
                if self.first_leader_us is not None:
                    self.term_changes_after_leader += 1
                self.max_term = term
            if role == "candidate":
                self.elections += 1
            elif role == "leader":
                other = self.leader_by_term.setdefault(term, node)
                if other != node and self.violation is None:
                    self.violation = f"election safety: nodes {other} and {node} lead term {term}"
                if self.first_leader_us is None:
                    self.first_leader_us = t
                if term >= self.leader_term:
                    self.leader, self.leader_term, changed = node, term, True
                    self.leader_us = t
            elif node == self.leader:
                self.leader, changed = None, True
        if changed and self._on_leader is not None:
            self._on_leader()

    def apply(self, t: int, node: int, index: int, entry: Entry) -> None:
        with self._lock:
            self._emit({"t_ms": t_ms(t), "node": node, "event": "apply", "index": index,
                        "term": entry.term, "cmd": entry.cmd})
            seen = self.applied.setdefault(index, (entry.term, entry.cmd))
            if seen != (entry.term, entry.cmd) and self.violation is None:
                self.violation = (
                    f"state machine safety: index {index} applied as {seen} and "
                    f"({entry.term}, {entry.cmd!r})"
                )

    def snapshot(self, t: int, node: int, index: int, digest: str) -> None:
        """snapshot: node's state machine, at index, became its snapshot (a compaction)."""
        self._image("snapshot", t, node, index, digest)

    def install(self, t: int, node: int, index: int, digest: str) -> None:
        """install: node's state machine was reset from a snapshot at index."""
        self._image("install", t, node, index, digest)

    def _image(self, event: str, t: int, node: int, index: int, digest: str) -> None:
        with self._lock:
            self._emit({"t_ms": t_ms(t), "node": node, "event": event, "index": index,
                        "digest": digest})
            seen = self.digests.setdefault(index, digest)
            if seen != digest and self.violation is None:
                self.violation = (f"state machine safety: the images at index {index} "
                                  f"differ ({seen} and {digest})")
            old_low = self.floors.low
            if self.floors.rise(node, index):
                self._forget(old_low, self.floors.low)

    def _forget(self, old_low: int, low: int) -> None:
        """_forget drops what the checks kept for indices no node can reach again."""
        for i in range(old_low + 1, low + 1):
            self.applied.pop(i, None)
        for i in [i for i in self.digests if i <= low]:
            del self.digests[i]

    def ack(self, t: int, cmd: str, index: int, latency_us: int) -> None:
        with self._lock:
            self._emit({"t_ms": t_ms(t), "event": "ack", "cmd": cmd, "index": index})
            self.acks += 1
            self.last_ack_us = t
            self.latencies_us.append(latency_us)

    def append_entries(self, t: int, node: int, term: int) -> None:
        """append_entries: node handles an AppendEntries of term at t (heartbeat lag)."""
        last = self._last_append.get(node)
        if last is not None and last[0] == term:
            self.heartbeat_gaps_us.append(t - last[1])
        self._last_append[node] = (term, t)

    def crash(self, t: int, node: int) -> None:
        changed = False
        self._last_append.pop(node, None)  # a restarted node starts a new series
        with self._lock:
            self._emit({"t_ms": t_ms(t), "node": node, "event": "crash"})
            if node == self.leader:
                self.leader, changed = None, True
        if changed and self._on_leader is not None:
            self._on_leader()

    def restart(self, t: int, node: int) -> None:
        with self._lock:
            self._emit({"t_ms": t_ms(t), "node": node, "event": "restart"})

    def partition(self, t: int, groups: list[list[int]]) -> None:
        with self._lock:
            self._emit({"t_ms": t_ms(t), "event": "partition", "groups": groups})

    def heal(self, t: int) -> None:
        with self._lock:
            self._emit({"t_ms": t_ms(t), "event": "heal"})

    def failover(self, duration_us: int) -> None:
        with self._lock:
            self.failover_us.append(duration_us)

    def metrics(self, elapsed_us: int, client_window_us: int, messages: tuple[int, int]
                ) -> dict[str, Any]:
        """metrics builds the result's `metrics` object (docs/protocol.md)."""
        lat = sorted(x / 1000 for x in self.latencies_us)
        latency = (
            {"p50": percentile(lat, 50), "p90": percentile(lat, 90),
             "p99": percentile(lat, 99), "max": lat[-1]}
            if lat else None
        )
        gaps = sorted(x / 1000 for x in self.heartbeat_gaps_us)
        gap = (
            {"p50": percentile(gaps, 50), "p99": percentile(gaps, 99), "max": gaps[-1],
             "count": len(gaps)}
            if gaps else None
        )
        throughput = self.acks / (client_window_us / 1e6) if client_window_us > 0 else 0.0
        first = self.first_leader_us
        return {
            "first_leader_ms": None if first is None else first / 1000,
            "failover_ms": [x / 1000 for x in self.failover_us],
            "term_changes_after_leader": self.term_changes_after_leader,
            "committed": self.acks,
            "throughput_ops_s": round(throughput, 3),
            "commit_latency_ms": latency,
            "elections": self.elections,
            "max_term": self.max_term,
            "messages_sent": messages[0],
            "messages_dropped": messages[1],
            "elapsed_ms": elapsed_us / 1000,
            "heartbeat_gap_ms": gap,
            "inbox_dropped": self.inbox_dropped,
        }
