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

from py_raft.client import DOWN, NO_ANSWER, ClientScript, Outcome, Pause, Proposal, Request, advance
from py_raft.core import Message
from py_raft.host import NodeHost
from py_raft.realtime import RealTimeCluster, Script, TimeUp, Wait, WaitLeader
from py_raft.scenario import Scenario, us

_TICK = object()


class Node:
    def __init__(self, cluster: "AsyncCluster", node_id: int, incarnation: int) -> None:
        self.cluster = cluster
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.host = NodeHost(node_id, cluster.sc, cluster.open_storage(node_id), incarnation,
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

    def stop(self) -> None:
        self.task.cancel()

    def join(self) -> None:
        pass  # the task ends at the loop's next turn; main() gathers it

    async def _run(self) -> None:
        now, host, inbox = self.cluster.clock.now, self.host, self.inbox
        self._arm(now())
        try:
            while True:
                item = await inbox.get()
                t = now()
                if item is _TICK:
                    host.tick(t)
                elif isinstance(item, Proposal):
                    host.propose(item.cmd, item.payload, t, item.reply)
                    host.flush(t)
                else:
                    host.step(item, t)
                self._arm(t)
        finally:
            if self._timer is not None:
                self._timer.cancel()
            leftovers = []
            while not inbox.empty():  # requests that raced with the crash
                leftovers.append(inbox.get_nowait())
            host.fail_pending(leftovers)
            host.close()


class AsyncCluster(RealTimeCluster):
    def __init__(self, sc: Scenario, trace: Any, loop_name: str) -> None:
        super().__init__(sc, trace, None, self._notify)
        self.loop_name = loop_name
        self.nodes: list[Node | None] = [None] * sc.nodes
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


    # ---- clients ----------------------------------------------------------------------

    async def _client(self, script: ClientScript) -> None:
        """_client runs a client's script, awaiting each pause and request."""
        heard: Outcome | None = None
        while (step := advance(script, heard)) is not None:
            heard = await self._step(step)

    async def _step(self, step: Pause | Request) -> Outcome | None:
        if isinstance(step, Pause):
            await asyncio.sleep(step.s)
            return None
        node = self.nodes[step.node]
        if node is None:
            return DOWN
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        node.inbox.put_nowait(Proposal(step.cmd, self.payload, future))
        try:
            async with asyncio.timeout(self.sc.client_timeout_ms / 1000):
                return await future
        except TimeoutError:
            return NO_ANSWER

    def start_clients(self, scripts: list[ClientScript]) -> None:
        for c, script in enumerate(scripts):
            self._clients.append(asyncio.create_task(self._client(script), name=f"client-{c}"))

    # ---- the scenario -------------------------------------------------------------------

    async def drive(self, script: Script, main: bool) -> None:
        """drive runs a script, awaiting each thing it waits for."""
        value: int | None = None
        with self.time_limit(main):
            while (wait := advance(script, value)) is not None:
                value = await self.wait(wait)

    async def wait(self, wait: Wait) -> int | None:
        limit = us(self.sc.timeout_ms)
        if isinstance(wait, WaitLeader):
            return await self.wait_leader(wait.after_term, limit)
        await asyncio.sleep(max(0, min(wait.until_us, limit) - self.clock.now()) / 1e6)
        if wait.until_us > limit:
            raise TimeUp
        return None

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
            self.clients_on = False
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
