"""The event loop and the in-memory network that carry PySyncObj's nodes.

PySyncObj takes a transport (`SyncObj(..., transport=...)`, a subclass of
`pysyncobj.transport.Transport`) and, with `autoTick=False`, lets its owner
call `doTick` instead of running a thread per node. This module is both: one
heap of timed events on one thread, as py-asyncio is one event loop, and a
transport whose messages wait the scenario's latency + U[0, jitter] and are
lost with probability drop_rate. Messages are handed over as objects, not
pickled, as our own Python drivers hand theirs.

A node is ticked when a message has reached it, when a client gave it a
command, or when its own deadline is due: its election deadline as follower
or candidate, its next AppendEntries as leader (PySyncObj's private fields,
read so that an idle node costs nothing between deadlines). The loop keeps
PySyncObj's clock (CLOCK_MONOTONIC_RAW), against which those deadlines are set.
"""

import heapq
import itertools
import random
import time
from collections.abc import Callable
from typing import Any

from pysyncobj.monotonic import monotonic
from pysyncobj.transport import Transport

_LEADER = 2  # pysyncobj.syncobj._RAFT_STATE.LEADER


class Loop:
    """Loop runs timed callbacks and ticks nodes, on the calling thread."""

    def __init__(self) -> None:
        self.start = monotonic()
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self.nodes: dict[int, Any] = {}  # node id -> SyncObj, only while it is up
        self._dirty: set[int] = set()
        self._wake_at: dict[int, float] = {}  # the earliest wake-up queued per node
        self.stopped = False

    def now_us(self) -> int:
        return int((monotonic() - self.start) * 1e6)

    def at(self, t: float, fn: Callable[..., None], *args: Any) -> None:
        """at runs fn(*args) at monotonic time t."""
        heapq.heappush(self._heap, (t, next(self._seq), fn, args))

    def later(self, seconds: float, fn: Callable[..., None], *args: Any) -> None:
        self.at(monotonic() + seconds, fn, *args)

    def poke(self, node_id: int) -> None:
        """poke: tick this node before the loop sleeps again."""
        self._dirty.add(node_id)

    def _deadline(self, node: Any) -> float:
        if node._SyncObj__raftState == _LEADER:
            return float(node._SyncObj__newAppendEntriesTime)
        return float(node._SyncObj__raftElectionDeadline)

    def _schedule(self, node_id: int, node: Any) -> None:
        t = self._deadline(node)
        if t < self._wake_at.get(node_id, float("inf")):
            self._wake_at[node_id] = t
            self.at(t, self._wake, node_id)

    def _wake(self, node_id: int) -> None:
        self._wake_at.pop(node_id, None)
        node = self.nodes.get(node_id)
        if node is None:
            return
        if self._deadline(node) <= monotonic():
            self._dirty.add(node_id)
        else:  # the deadline moved on (a heartbeat came): wait for the new one
            self._schedule(node_id, node)

    def run(self) -> None:
        """run until stop(): due events, then a tick of every poked node, then sleep."""
        heap, now = self._heap, monotonic
        while not self.stopped:
            t = now()
            while heap and heap[0][0] <= t and not self.stopped:
                _, _, fn, args = heapq.heappop(heap)
                fn(*args)
            while self._dirty and not self.stopped:
                dirty, self._dirty = self._dirty, set()
                for node_id in dirty:
                    node = self.nodes.get(node_id)
                    if node is not None:
                        node.doTick(0.0)
                        self._schedule(node_id, node)
            if heap and not self.stopped:
                wait = heap[0][0] - now()
                if wait > 0:
                    time.sleep(wait)

    def stop(self) -> None:
        self.stopped = True


class Network:
    """Network: the scenario's message model between node ids."""

    def __init__(self, loop: Loop, latency_ms: float, jitter_ms: float, drop_rate: float,
                 seed: int) -> None:
        self.loop = loop
        self.latency = latency_ms / 1000
        self.jitter = jitter_ms / 1000
        self.drop_rate = drop_rate
        self.rng = random.Random(seed)
        self.sent = 0
        self.dropped = 0

    def send(self, src: Any, dst: int, message: Any) -> None:
        self.sent += 1
        if self.drop_rate and self.rng.random() < self.drop_rate:
            self.dropped += 1
            return
        delay = self.latency + (self.rng.random() * self.jitter if self.jitter else 0.0)
        self.loop.later(delay, self._deliver, src, dst, message)

    def _deliver(self, src: Any, dst: int, message: Any) -> None:
        node = self.loop.nodes.get(dst)
        if node is None:  # crashed: the message is lost with it
            return
        node._anchor_transport._onMessageReceived(src, message)
        self.loop.poke(dst)


class MemTransport(Transport):  # type: ignore[misc]
    """MemTransport is one node's link to the Network: always ready, every peer connected."""

    def __init__(self, net: Network, peers: list[Any]) -> None:
        super().__init__(None, None, None)
        self.net = net
        self.peers = peers
        self.self_node: Any = None

    def connect_all(self) -> None:
        for peer in self.peers:
            self._onNodeConnected(peer)

    def send(self, node: Any, message: Any) -> bool:
        self.net.send(self.self_node, int(node.id), message)
        return True
