"""threaded: the node server on blocking sockets and threads.

One node thread owns the core: it blocks on its inbox with the time left to
the core's next deadline as the timeout, as in the threads runtime. Every
connection has a reader thread that puts what it reads in the inbox (peer
messages only while it has room: the rest are dropped and counted), and every
peer a sender thread that holds the outgoing connection and drains that peer's
bounded queue.
"""

import contextlib
import json
import queue
import signal
import socket
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from py_raft.cli import fail
from py_raft.core import Message
from py_raft.node.config import NodeConfig
from py_raft.node.logic import NodeLogic, backoff, client_answer
from py_raft.wire import VERSION, Hello, encode, read

_STOP = object()
Task = Callable[[], None]  # work handed to the node thread


class ThreadNode:
    def __init__(self, cfg: NodeConfig) -> None:
        self.cfg = cfg
        self.limit = cfg.sc.inbox_limit()
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.queues: dict[int, queue.Queue[Any]] = {
            p: queue.Queue(self.limit) for p in range(len(cfg.peers)) if p != cfg.id}
        self.stopping = threading.Event()
        self._socks: set[socket.socket] = set()
        self._socks_lock = threading.Lock()
        self.logic = NodeLogic(cfg, self._enqueue)

    def _enqueue(self, dst: int, msg: Message) -> bool:
        try:
            self.queues[dst].put_nowait(msg)
        except queue.Full:
            return False
        return True

    def _run(self) -> None:
        logic, inbox = self.logic, self.inbox
        while True:
            try:
                task = inbox.get(timeout=logic.wait_s())
            except queue.Empty:
                logic.tick()
                continue
            if task is _STOP:
                return
            task()

    def _to_node(self, task: Task, counted: bool) -> None:
        """_to_node hands work to the node thread; a peer message finds room or is dropped."""
        if counted and self.inbox.qsize() >= self.limit:
            self.logic.stats["inbox_dropped"] += 1
        else:
            self.inbox.put(task)

    # ---- connections ----------------------------------------------------------------------

    def _track(self, sock: socket.socket, on: bool) -> None:
        with self._socks_lock:
            (self._socks.add if on else self._socks.discard)(sock)

    def _read_peer(self, src: int, stream: Any) -> None:
        logic = self.logic
        while (frame := read(stream)) is not None:
            self._to_node(partial(logic.deliver, src, logic.peer_message(frame)), counted=True)

    def _serve(self, sock: socket.socket, kind: str) -> None:
        """_serve reads one accepted connection until it ends or breaks a rule."""
        self._track(sock, True)
        stream = sock.makefile("rb")
        try:
            if kind == "peer":
                src = self.logic.hello(read(stream), peer=True)
                self._read_peer(src or 0, stream)
            else:
                self._serve_client(sock, stream)
        except Exception as e:  # noqa: BLE001 - whatever a peer does, the node goes on
            self.logic.refuse(e, f"a {kind} connection")
        finally:
            self._track(sock, False)
            stream.close()
            sock.close()

    def _serve_client(self, sock: socket.socket, stream: Any) -> None:
        lock = threading.Lock()

        def reply(outcome: str, value: int) -> None:
            with lock, contextlib.suppress(OSError):  # a client that left forfeits it
                sock.sendall(encode(client_answer(outcome, value)))

        logic = self.logic
        logic.hello(read(stream), peer=False)
        while (frame := read(stream)) is not None:
            p = logic.proposal(frame)
            self._to_node(partial(logic.propose, p.cmd, p.payload, reply), counted=False)

    def _serve_admin(self, sock: socket.socket) -> None:
        def watcher(line: str) -> None:
            with contextlib.suppress(OSError):
                sock.sendall(line.encode() + b"\n")

        self._track(sock, True)
        try:
            with sock.makefile("rb") as lines:
                for line in lines:
                    answer, watch = self.logic.admin(line.decode(errors="replace"))
                    sock.sendall(json.dumps(answer).encode() + b"\n")
                    if watch:
                        self._to_node(lambda: self.logic.watch(watcher), counted=False)
        except OSError:
            pass
        finally:
            self.logic.unwatch(watcher)
            self._track(sock, False)
            sock.close()

    def _link(self, peer: int) -> None:
        """_link keeps the one outgoing connection to peer and sends its queue on it."""
        q, waits = self.queues[peer], backoff()
        while not self.stopping.is_set():
            try:
                sock = socket.create_connection(self.cfg.peers[peer], timeout=1.0)
            except OSError:
                self.stopping.wait(next(waits))
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            waits = backoff()
            self._track(sock, True)
            _thread(self._replies, peer, sock)
            try:
                sock.sendall(encode(Hello(VERSION, self.cfg.id)))
                while (msg := q.get()) is not _STOP:
                    batch = [encode(msg)]
                    while not q.empty() and len(batch) < 64:
                        if (msg := q.get_nowait()) is _STOP:
                            return
                        batch.append(encode(msg))
                    sock.sendall(b"".join(batch))
                return
            except OSError:
                self.logic.stats["reconnects"] += 1
            finally:
                self._track(sock, False)
                sock.close()

    def _replies(self, peer: int, sock: socket.socket) -> None:
        try:
            with sock.makefile("rb") as stream:
                self._read_peer(peer, stream)
        except Exception as e:  # noqa: BLE001
            self.logic.refuse(e, f"the connection to peer {peer}")

    def _accept(self, listener: socket.socket, kind: str) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return  # the listener closed: the node is stopping
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if kind == "admin":
                _thread(self._serve_admin, sock)
            else:
                _thread(self._serve, sock, kind)

    # ---- the process --------------------------------------------------------------------

    def serve(self) -> None:
        cfg = self.cfg
        listeners = [(_listen(cfg.bind, cfg.peers[cfg.id][1], "--peers"), "peer")]
        if cfg.client_port:
            listeners.append((_listen(cfg.bind, cfg.client_port, "--client-port"), "client"))
        if cfg.admin_port:
            listeners.append((_listen(cfg.bind, cfg.admin_port, "--admin-port"), "admin"))
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        node = threading.Thread(target=self._run, name="node")
        node.start()
        for listener, kind in listeners:
            _thread(self._accept, listener, kind)
        for p in self.queues:
            _thread(self._link, p)
        self.logic.log(f"serving as node {cfg.id} of {len(cfg.peers)} (threads)")
        while not self.stopping.wait(0.5):
            pass
        for listener, _ in listeners:
            listener.close()
        for q in self.queues.values():
            q.put(_STOP)
        with self._socks_lock:
            for sock in self._socks:
                with contextlib.suppress(OSError):  # already closed by its own thread
                    sock.shutdown(socket.SHUT_RDWR)
        self.inbox.put(_STOP)
        node.join()
        self.logic.close()


def _thread(target: Any, *args: Any) -> None:
    threading.Thread(target=target, args=args, daemon=True).start()


def _listen(bind: str, port: int, flag: str) -> socket.socket:
    try:
        return socket.create_server((bind, port), reuse_port=False, backlog=128)
    except OSError as e:
        fail(f"{flag}: cannot listen on {bind}:{port}: {e.strerror}")


def run(cfg: NodeConfig) -> None:
    ThreadNode(cfg).serve()
