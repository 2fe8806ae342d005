"""conns: one client's TCP connections to the nodes' client ports (docs/wire.md).

A request is a Propose on the node's connection, answered by Committed,
Redirect or Lost; a connection that fails or times out is dropped and made
again when next needed. The launcher and the load generator both use it.
"""

import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

from py_raft.client import DOWN, LOST, NO_ANSWER, OK, REDIRECT, Outcome, Request
from py_raft.wire import VERSION, Committed, Hello, Lost, Propose, Redirect, encode, read

Ack = Callable[[str, int, int], None]  # (cmd, index, latency in µs)


class Conns:
    def __init__(self, addrs: list[tuple[str, int]], timeout_s: float, payload: str,
                 ack: Ack, up: Callable[[int], bool] = lambda node: True) -> None:
        self.addrs, self.timeout_s, self.payload = addrs, timeout_s, payload
        self.ack, self.up = ack, up
        self.conns: dict[int, tuple[socket.socket, Any]] = {}

    def close(self) -> None:
        for node in list(self.conns):
            self._drop(node)

    def request(self, req: Request) -> Outcome:
        if not self.up(req.node):
            return DOWN
        sent = time.monotonic_ns()
        try:
            sock, f = self._conn(req.node)
            sock.sendall(encode(Propose(req.cmd, self.payload)))
            answer = read(f)
        except TimeoutError:
            self._drop(req.node)
            return NO_ANSWER
        except OSError:
            self._drop(req.node)
            return (LOST, -1)
        if type(answer) is Committed:
            self.ack(req.cmd, answer.index, (time.monotonic_ns() - sent) // 1000)
            return (OK, answer.index)
        if type(answer) is Redirect:
            return (REDIRECT, -1 if answer.leader_hint is None else answer.leader_hint)
        if type(answer) is not Lost:
            self._drop(req.node)
        return (LOST, -1)

    def _conn(self, node: int) -> tuple[socket.socket, Any]:
        if node not in self.conns:
            sock = socket.create_connection(self.addrs[node], timeout=1.0)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.timeout_s)
            sock.sendall(encode(Hello(VERSION, None)))
            self.conns[node] = (sock, sock.makefile("rb"))
        return self.conns[node]

    def _drop(self, node: int) -> None:
        if node in self.conns:
            sock, f = self.conns.pop(node)
            with contextlib.suppress(OSError):
                f.close()
                sock.close()
