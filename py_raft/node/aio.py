"""aio: the node server on asyncio streams, everything on one event loop.

A frame is handed to the core as soon as its reader task has it (there is no
inbox: the loop is the only thread). One task per peer holds the outgoing
connection and drains that peer's bounded queue; the core's timer is one
`call_later` handle, moved only when the deadline moves earlier.
"""

import asyncio
import json
import signal
from typing import Any

from py_raft.cli import fail
from py_raft.core import Message
from py_raft.node.config import NodeConfig
from py_raft.node.logic import NodeLogic, backoff, client_answer
from py_raft.wire import VERSION, Hello, aread, encode

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class AsyncNode:
    def __init__(self, cfg: NodeConfig) -> None:
        self.cfg = cfg
        limit = cfg.sc.inbox_limit()
        self.queues: dict[int, asyncio.Queue[Message]] = {
            p: asyncio.Queue(limit) for p in range(len(cfg.peers)) if p != cfg.id}
        self.loop = asyncio.get_running_loop()
        self.logic = NodeLogic(cfg, self._enqueue)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0

    def _enqueue(self, dst: int, msg: Message) -> bool:
        try:
            self.queues[dst].put_nowait(msg)
        except asyncio.QueueFull:
            return False
        return True

    def _arm(self) -> None:
        deadline = self.logic.host.core.next_deadline()
        if self._timer is None or deadline < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self.loop.call_later(self.logic.wait_s(), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.logic.tick()
        self._arm()

    # ---- connections ----------------------------------------------------------------------

    async def _read_peer(self, src: int, reader: asyncio.StreamReader) -> None:
        logic = self.logic
        while (frame := await aread(reader)) is not None:
            logic.deliver(src, logic.peer_message(frame))
            self._arm()

    async def _serve_peer(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            src = self.logic.hello(await aread(reader), peer=True)
            await self._read_peer(src or 0, reader)
        except (Exception, asyncio.CancelledError) as e:  # noqa: BLE001 - the node goes on
            self.logic.refuse(e, "a peer connection")
        finally:
            writer.close()

    async def _serve_client(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        def reply(outcome: str, value: int) -> None:
            if not writer.is_closing():
                writer.write(encode(client_answer(outcome, value)))

        logic = self.logic
        try:
            logic.hello(await aread(reader), peer=False)
            while (frame := await aread(reader)) is not None:
                p = logic.proposal(frame)
                logic.propose(p.cmd, p.payload, reply)
                self._arm()
        except (Exception, asyncio.CancelledError) as e:  # noqa: BLE001 - as _serve_peer
            logic.refuse(e, "a client connection")
        finally:
            writer.close()

    async def _serve_admin(self, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
        def watcher(line: str) -> None:
            writer.write(line.encode() + b"\n")

        try:
            while line := await reader.readline():
                answer, watch = self.logic.admin(line.decode(errors="replace"))
                writer.write(json.dumps(answer).encode() + b"\n")
                if watch:
                    self.logic.watch(watcher)
                await writer.drain()
        except OSError:
            pass
        finally:
            self.logic.unwatch(watcher)
            writer.close()

    async def _link(self, peer: int) -> None:
        """_link keeps the one outgoing connection to peer and sends its queue on it."""
        host, port = self.cfg.peers[peer]
        queue, waits = self.queues[peer], backoff()
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(next(waits))
                continue
            waits = backoff()
            replies = asyncio.create_task(self._replies(peer, reader))
            try:
                writer.write(encode(Hello(VERSION, self.cfg.id)))
                while True:
                    writer.write(encode(await queue.get()))
                    if queue.empty():
                        await writer.drain()
            except OSError:
                self.logic.stats["reconnects"] += 1
            finally:
                replies.cancel()
                writer.close()

    async def _replies(self, peer: int, reader: asyncio.StreamReader) -> None:
        try:
            await self._read_peer(peer, reader)
        except Exception as e:  # noqa: BLE001
            self.logic.refuse(e, f"the connection to peer {peer}")

    # ---- the process --------------------------------------------------------------------

    async def serve(self) -> None:
        cfg = self.cfg
        servers = [await _listen(self._serve_peer, cfg.bind, cfg.peers[cfg.id][1], "--peers")]
        if cfg.client_port:
            servers.append(await _listen(self._serve_client, cfg.bind, cfg.client_port,
                                         "--client-port"))
        if cfg.admin_port:
            servers.append(await _listen(self._serve_admin, cfg.bind, cfg.admin_port,
                                         "--admin-port"))
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, stop.set)
        links = [asyncio.create_task(self._link(p)) for p in self.queues]
        self._arm()
        self.logic.log(f"serving as node {cfg.id} of {len(cfg.peers)} (asyncio)")
        await stop.wait()
        for s in servers:
            s.close()
        for task in links:
            task.cancel()
        await asyncio.gather(*links, return_exceptions=True)
        if self._timer is not None:
            self._timer.cancel()
        self.logic.close()


async def _listen(handler: Any, bind: str, port: int, flag: str) -> asyncio.Server:
    try:
        return await asyncio.start_server(handler, bind, port)
    except OSError as e:
        fail(f"{flag}: cannot listen on {bind}:{port}: {e.strerror}")


def run(cfg: NodeConfig) -> None:
    async def main() -> None:
        await AsyncNode(cfg).serve()

    asyncio.run(main())
