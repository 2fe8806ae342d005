"""The asyncio runtime: one event loop, a task per node (optionally on uvloop).

Per trial (docs/runtimes.md):
* one task per node, awaiting its inbox (`asyncio.Queue`); the node's timer is
  one `loop.call_later` handle that puts a tick into the inbox; it is moved
  only when the core's deadline moves earlier, and a timer that fires early
  just re-arms (a follower hears a heartbeat far more often than it times out);
* the network is `loop.call_later(delay, inbox.put_nowait, msg)` per message;
* one task per client, awaiting an `asyncio.Future` per command;
* the main task runs the scenario, and one more task the fault schedule.
"""

import asyncio
import threading
from importlib.metadata import version
from typing import Any

from py_raft.core import MemoryStorage, Message, SplitMix64, derive_seed
from py_raft.host import LOST, OK, NodeHost
from py_raft.network import Network
from py_raft.scenario import Scenario, us
from py_raft.trial import Script, Trial, WaitLeader

_TICK = object()


class Propose:
    __slots__ = ("cmd", "payload", "future")

    def __init__(self, cmd: str, payload: str, future: "asyncio.Future[tuple[str, int]]"):
        self.cmd, self.payload, self.future = cmd, payload, future

    def reply(self, outcome: str, value: int) -> None:
        if not self.future.done():
            self.future.set_result((outcome, value))


class Node:
    def __init__(self, cluster: "AsyncCluster", node_id: int, incarnation: int) -> None:
        self.cluster = cluster
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.host = NodeHost(node_id, cluster.sc, cluster.storages[node_id], incarnation,
                             cluster.recorder, cluster.send, cluster.clock.now())
        self.loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0
        self.task = asyncio.create_task(self._run(), name=f"node-{node_id}")

    def _arm(self, now: int) -> None:
        deadline = self.host.core.next_deadline()
        if self._timer is None or deadline < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self.loop.call_later(max(0, deadline - now) / 1e6, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.inbox.put_nowait(_TICK)

    async def _run(self) -> None:
        now, host, inbox = self.cluster.clock.now, self.host, self.inbox
        self._arm(now())
        try:
            while True:
                item = await inbox.get()
                t = now()
                if item is _TICK:
                    host.tick(t)
                elif isinstance(item, Propose):
                    host.propose(item.cmd, item.payload, t, item.reply)
                else:
                    host.step(item, t)
                self._arm(t)
        finally:
            if self._timer is not None:
                self._timer.cancel()
            host.fail_pending()
            while not inbox.empty():
                item = inbox.get_nowait()
                if isinstance(item, Propose):
                    item.reply(LOST, -1)


class AsyncCluster(Trial):
    def __init__(self, sc: Scenario, trace: Any, loop_name: str) -> None:
        super().__init__(sc, trace, None, self._notify)
        self.loop_name = loop_name
        self.network = Network(us(sc.network.latency_ms), us(sc.network.jitter_ms),
                               sc.network.drop_rate, SplitMix64(derive_seed(sc.seed, 1)))
        self.storages = [MemoryStorage() for _ in range(sc.nodes)]
        self.nodes: list[Node | None] = [None] * sc.nodes
        self.incarnations = [0] * sc.nodes
        self.clients_on = False
        self._clients: list[asyncio.Task[None]] = []
        self._leader_changed: asyncio.Event | None = None
        self.inbox_limit = sc.inbox_limit()
        self._script: asyncio.Task[None] | None = None

    def _notify(self) -> None:
        if self._leader_changed is not None:
            self._leader_changed.set()

    # ---- network --------------------------------------------------------------------

    def send(self, src: int, dst: int, msg: Message) -> None:
        delay = self.network.delay(src, dst)
        if delay is not None:
            asyncio.get_running_loop().call_later(delay / 1e6, self._deliver, dst, msg)

    def _deliver(self, dst: int, msg: Message) -> None:
        node = self.nodes[dst]
        if node is None:
            return
        if node.inbox.qsize() >= self.inbox_limit:  # dropped, as by a full socket buffer
            self.recorder.inbox_dropped += 1
        else:
            node.inbox.put_nowait(msg)

    # ---- nodes and faults -------------------------------------------------------------

    def start_node(self, node_id: int) -> None:
        self.nodes[node_id] = Node(self, node_id, self.incarnations[node_id])

    def crash(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node is None:
            return
        self.nodes[node_id] = None
        self.incarnations[node_id] += 1
        node.task.cancel()
        self.recorder.crash(self.clock.now(), node_id)

    def restart(self, node_id: int) -> None:
        if self.nodes[node_id] is None:
            self.recorder.restart(self.clock.now(), node_id)
            self.start_node(node_id)

    def alive(self, node_id: int) -> bool:
        return self.nodes[node_id] is not None

    def partition(self, groups: list[list[int]]) -> None:
        self.network.partition(groups)
        self.recorder.partition(self.clock.now(), groups)

    def heal(self) -> None:
        self.network.heal()
        self.recorder.heal(self.clock.now())

    # ---- clients ----------------------------------------------------------------------

    async def _client(self, client_id: int, guess: int) -> None:
        sc, n = self.sc, self.sc.nodes
        loop = asyncio.get_running_loop()
        payload = "x" * sc.payload_bytes
        retry, timeout = sc.client_retry_ms / 1000, sc.client_timeout_ms / 1000
        hop = sc.network.latency_ms / 1000  # a client is one network hop from the nodes
        seq = 0
        await asyncio.sleep(hop)
        while self.clients_on:
            seq += 1
            node = self.nodes[guess]
            if node is None:
                guess = (guess + 1) % n
                await asyncio.sleep(retry)
                continue
            request = Propose(f"c{client_id}.{seq}", payload, loop.create_future())
            node.inbox.put_nowait(request)
            try:
                async with asyncio.timeout(timeout):
                    outcome, value = await request.future
            except TimeoutError:
                guess = (guess + 1) % n
                continue
            if outcome == OK:
                await asyncio.sleep(2 * hop)  # the ack back, the next request out
                continue
            if outcome == LOST:
                guess = (guess + 1) % n if not self.alive(guess) else guess
            else:
                guess = value if value >= 0 else (guess + 1) % n
            await asyncio.sleep(retry)

    def start_clients(self, leader: int) -> None:
        self.clients_on = True
        for c in range(self.sc.clients):
            self._clients.append(asyncio.create_task(self._client(c, leader), name=f"client-{c}"))

    def stop_clients(self) -> None:
        self.clients_on = False

    # ---- the scenario -------------------------------------------------------------------

    async def drive(self, script: Script, main: bool) -> None:
        """drive runs a script, awaiting each thing it waits for."""
        limit = us(self.sc.timeout_ms)
        value: int | None = None
        try:
            while True:
                wait = script.send(value)
                value = None
                if isinstance(wait, WaitLeader):
                    value = await self.wait_leader(wait.after_term, limit)
                    continue
                await asyncio.sleep(max(0, min(wait.until_us, limit) - self.clock.now()) / 1e6)
                if wait.until_us > limit:
                    if main:
                        self.fail("timeout: scenario did not finish within timeout_ms")
                    return
        except StopIteration:
            return

    async def wait_leader(self, after_term: int, limit: int) -> int | None:
        r = self.recorder
        assert self._leader_changed is not None
        while r.leader is None or r.leader_term <= after_term:
            self._leader_changed.clear()
            left = limit - self.clock.now()
            if left <= 0:
                return None
            try:
                async with asyncio.timeout(left / 1e6):
                    await self._leader_changed.wait()
            except TimeoutError:
                return None
        return r.leader

    def request_stop(self) -> None:
        if self._script is not None:
            self._script.get_loop().call_soon_threadsafe(self._script.cancel)

    def sample(self) -> None:
        self.peaks["tasks_peak"] = max(self.peaks["tasks_peak"], len(asyncio.all_tasks()))
        self.peaks["threads_peak"] = max(self.peaks["threads_peak"], threading.active_count())

    def messages(self) -> tuple[int, int]:
        return self.network.sent, self.network.dropped

    async def main(self) -> None:
        self._leader_changed = asyncio.Event()
        for i in range(self.sc.nodes):
            self.start_node(i)
        faults = asyncio.create_task(self.drive(self.fault_script(), False), name="faults")
        self._script = asyncio.create_task(self.drive(self.script(), True), name="script")
        self.sample()
        try:  # the watchdog cancels the script past a limit (request_stop)
            await asyncio.gather(self._script, return_exceptions=True)
        finally:
            faults.cancel()
            self.stop_clients()
            tasks: list[asyncio.Task[Any]] = [faults, *self._clients]
            for node in self.nodes:
                if node is not None:
                    node.task.cancel()
                    tasks.append(node.task)
            await asyncio.gather(*tasks, return_exceptions=True)

    def execute(self) -> None:
        if self.loop_name == "uvloop":
            import uvloop

            uvloop.run(self.main())
        else:
            asyncio.run(self.main())


def run(sc: Scenario, trace: Any, loop_name: str = "asyncio") -> dict[str, Any]:
    cluster = AsyncCluster(sc, trace, loop_name)
    if loop_name == "uvloop":
        return cluster.result("py-asyncio-uvloop", {"uvloop": version("uvloop")})
    return cluster.result("py-asyncio")
