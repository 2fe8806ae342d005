"""logic: what a node server does once a frame or a tick has reached it.

Everything here is the same in the asyncio and the threads servers: the
NodeHost and its storage, the trace, the rules a connection's frames must keep
(docs/deploy.md, "Connections"), the counters of what was refused, the
partition the launcher sets over the admin port, and the admin requests. The
servers only wait for sockets and hand over what arrived.
"""

import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from py_raft.client import LOST, OK, Reply
from py_raft.core import MemoryStorage, Message, SnapshotStorage
from py_raft.core.messages import Entry
from py_raft.filestore import FileStorage
from py_raft.host import NodeHost
from py_raft.node.config import NodeConfig
from py_raft.recorder import Recorder, t_ms
from py_raft.scenario import node_seed
from py_raft.wire import VERSION, Committed, Frame, Hello, Lost, Propose, Redirect, WireError

Enqueue = Callable[[int, Message], bool]  # (peer, message) -> False if its queue is full
Watcher = Callable[[str], None]  # gets one JSON line per role change

COUNTERS = ("malformed", "oversized", "truncated", "bad_hello", "unknown_id",
            "unexpected_frame", "messages_sent", "messages_dropped", "queue_dropped",
            "inbox_dropped", "connections", "reconnects")
BACKOFF_S = (0.02, 1.0)  # first and longest wait between connects to a peer


class Refused(Exception):
    """Refused: a connection broke a rule of docs/deploy.md; args[0] is its counter."""


def backoff() -> "Any":
    """backoff yields the waits between connection attempts: doubling, capped."""
    wait, cap = BACKOFF_S
    while True:
        yield wait
        wait = min(cap, wait * 2)


class NodeClock:
    """NodeClock: microseconds since the launcher's epoch, on a clock that never goes back."""

    __slots__ = ("_offset",)

    def __init__(self, t0_unix_us: int) -> None:
        self._offset = time.time_ns() // 1000 - t0_unix_us - time.monotonic_ns() // 1000

    def now(self) -> int:
        return time.monotonic_ns() // 1000 + self._offset


class TraceRecorder(Recorder):
    """TraceRecorder writes a node's trace events and keeps nothing else.

    A node server runs for as long as it is left to, so the checks and figures
    the driver's Recorder keeps per index and per ack would grow without bound;
    the launcher judges the merged trace instead. Role changes also go to the
    admin port's watchers.
    """

    def __init__(self, trace: TextIO | None, on_state: Callable[[int, str, int], None]) -> None:
        super().__init__(trace)
        self._on_state = on_state

    def state(self, t: int, node: int, role: str, term: int) -> None:
        self._emit({"t_ms": t_ms(t), "node": node, "event": "state", "state": role,
                    "term": term})
        # A node may be SIGKILLed at any moment: a role change reaches the file at
        # once, or the checker could not judge election safety for its term.
        # (Role changes are rare; applies stay buffered.)
        self.flush()
        self._on_state(t, role, term)

    def apply(self, t: int, node: int, index: int, entry: Entry) -> None:
        self._emit({"t_ms": t_ms(t), "node": node, "event": "apply", "index": index,
                    "term": entry.term, "cmd": entry.cmd})

    def _image(self, event: str, t: int, node: int, index: int, digest: str) -> None:
        self._emit({"t_ms": t_ms(t), "node": node, "event": event, "index": index,
                    "digest": digest})

    def ack(self, t: int, cmd: str, index: int, latency_us: int) -> None:
        self._emit({"t_ms": t_ms(t), "event": "ack", "cmd": cmd, "index": index})

    def append_entries(self, t: int, node: int, term: int) -> None:
        pass


def client_answer(outcome: str, value: int) -> Frame:
    """client_answer is the frame that tells a client what became of its Propose."""
    if outcome == OK:
        return Committed(value)
    if outcome == LOST:
        return Lost()
    return Redirect(None if value < 0 else value)


class NodeLogic:
    def __init__(self, cfg: NodeConfig, enqueue: Enqueue) -> None:
        self.cfg = cfg
        self.id = cfg.id
        self.clock = NodeClock(cfg.t0_unix_us)
        self.stats = dict.fromkeys(COUNTERS, 0)
        self.blocked: frozenset[int] = frozenset()
        self.role, self.term = "follower", 0
        self.watchers: list[Watcher] = []
        self._enqueue = enqueue
        self._drop_rate = cfg.sc.network.drop_rate
        self._rng = random.Random(node_seed(cfg.sc.seed, cfg.id, cfg.incarnation))
        self._trace: TextIO | None = None
        if cfg.trace:
            self._trace = open(cfg.trace, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        storage: SnapshotStorage = (MemoryStorage() if cfg.storage == "memory"
                                    else FileStorage(cfg.storage_dir or ""))
        self.host = NodeHost(cfg.id, cfg.sc, storage, cfg.incarnation,
                             TraceRecorder(self._trace, self._on_state), self._send,
                             self.clock.now())

    def log(self, text: str) -> None:
        sys.stderr.write(f"node {self.id}: {text}\n")

    # ---- the core's side ---------------------------------------------------------------

    def _send(self, src: int, dst: int, msg: Message) -> None:
        self.stats["messages_sent"] += 1
        if dst in self.blocked or (self._drop_rate and self._rng.random() < self._drop_rate):
            self.stats["messages_dropped"] += 1
        elif not self._enqueue(dst, msg):
            self.stats["queue_dropped"] += 1

    def deliver(self, src: int, msg: Message) -> None:
        if src in self.blocked:
            self.stats["messages_dropped"] += 1
            return
        self.host.step(msg, self.clock.now())

    def propose(self, cmd: str, payload: str, reply: Reply) -> None:
        now = self.clock.now()
        self.host.propose(cmd, payload, now, reply)
        self.host.flush(now)

    def tick(self) -> None:
        self.host.tick(self.clock.now())

    def wait_s(self) -> float:
        """wait_s: seconds until the core next needs a tick."""
        return max(0, self.host.core.next_deadline() - self.clock.now()) / 1e6

    def _on_state(self, t: int, role: str, term: int) -> None:
        self.role, self.term = role, term
        line = json.dumps({"t_ms": t_ms(t), "state": role, "term": term})
        for watch in self.watchers:
            watch(line)

    # ---- connections ---------------------------------------------------------------------

    def hello(self, frame: Frame | None, peer: bool) -> int | None:
        """hello checks a connection's first frame; it returns the peer's id (None: a client)."""
        if type(frame) is not Hello or frame.version != VERSION:
            raise Refused("bad_hello", f"first frame {type(frame).__name__}, not a Hello v1")
        n = len(self.cfg.peers)
        if peer and (frame.node_id is None or not 0 <= frame.node_id < n
                     or frame.node_id == self.id):
            raise Refused("unknown_id", f"node id {frame.node_id} on the peer port")
        if not peer and frame.node_id is not None:
            raise Refused("unknown_id", f"node id {frame.node_id} on the client port")
        self.stats["connections"] += 1
        return frame.node_id

    @staticmethod
    def peer_message(frame: Frame) -> Message:
        if isinstance(frame, Message):
            return frame
        raise Refused("unexpected_frame", f"a {type(frame).__name__} from a peer")

    @staticmethod
    def proposal(frame: Frame) -> Propose:
        if type(frame) is Propose:
            return frame
        raise Refused("unexpected_frame", f"a {type(frame).__name__} from a client")

    def refuse(self, e: BaseException, where: str) -> None:
        """refuse counts why a connection is being closed, and logs it."""
        if isinstance(e, Refused):
            counter, why = e.args
        elif isinstance(e, WireError):
            counter, why = type(e).__name__.lower(), str(e)
        else:
            return  # a plain disconnect or reset: nothing to count
        self.stats[counter] += 1
        self.log(f"closed {where}: {counter}: {why}")

    # ---- the admin port ------------------------------------------------------------------

    def admin(self, line: str) -> tuple[dict[str, Any], bool]:
        """admin answers one request line; True: the connection now watches role changes."""
        try:
            req = json.loads(line)
            op = req["op"]
            if op == "stats":
                return {"ok": True, "stats": self.stats, "role": self.role,
                        "term": self.term}, False
            if op == "block":
                peers = req["peers"]
                if not isinstance(peers, list) or not all(type(p) is int for p in peers):
                    raise ValueError("peers must be a list of node ids")
                self.blocked = frozenset(peers)
                self.log(f"blocked {sorted(peers)}")
                return {"ok": True}, False
            if op == "watch":
                return {"ok": True}, True
            raise ValueError(f"unknown op {op!r}")
        except (ValueError, KeyError, TypeError) as e:
            return {"ok": False, "error": str(e)}, False

    def watch(self, watcher: Watcher) -> None:
        """watch adds a watcher and tells it the role now."""
        watcher(json.dumps({"t_ms": t_ms(self.clock.now()), "state": self.role,
                            "term": self.term}))
        self.watchers = [*self.watchers, watcher]

    def unwatch(self, watcher: Watcher) -> None:
        self.watchers = [w for w in self.watchers if w is not watcher]

    def close(self) -> None:
        """close ends the node: clients hear Lost, files close, the stats go to stderr."""
        self.host.fail_pending()
        self.host.close()
        if self._trace is not None:
            self._trace.close()
        self.log("stats " + json.dumps(self.stats))
