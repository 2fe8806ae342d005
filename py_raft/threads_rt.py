"""The threads runtime: the threading module and nothing else.

Threads per trial (docs/runtimes.md):
* one thread per node, blocking on its inbox (`queue.SimpleQueue`) with a
  timeout equal to the time left until the core's next deadline; the timeout
  expiring is the node's timer, re-armed on every loop;
* one network thread that holds in-flight messages in a heap ordered by
  delivery time and puts each into its destination's inbox when it is due;
* one thread per client, blocking on a `concurrent.futures.Future` per command;
* the main thread, which runs the scenario and the fault schedule.
"""

import heapq
import itertools
import queue
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from py_raft.client import DOWN, NO_ANSWER, ClientScript, Outcome, Pause, Proposal, Request, advance
from py_raft.core import Message
from py_raft.host import NodeHost
from py_raft.realtime import RealTimeCluster, Script, TimeUp, Wait, WaitLeader
from py_raft.scenario import Scenario, us

_STOP = object()


class Node:
    """Node runs one NodeHost on a thread of its own."""

    def __init__(self, cluster: "ThreadCluster", node_id: int, incarnation: int) -> None:
        self.cluster = cluster
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.alive = True
        clock = cluster.clock
        self.host = NodeHost(node_id, cluster.sc, cluster.open_storage(node_id), incarnation,
                             cluster.recorder, cluster.send, clock.now())
        self.thread = threading.Thread(target=self._run, name=f"node-{node_id}", daemon=True)

    def _run(self) -> None:
        now = self.cluster.clock.now
        host, inbox = self.host, self.inbox
        while self.alive:
            wait = max(0, host.core.next_deadline() - now()) / 1e6
            try:
                item = inbox.get(timeout=wait)
            except queue.Empty:
                host.tick(now())
                continue
            if item is _STOP or not self.alive:
                break
            if isinstance(item, Proposal):
                t = now()
                host.propose(item.cmd, item.payload, t, item.reply)
                host.flush(t)
            else:
                host.step(item, now())
        leftovers = []
        while not inbox.empty():  # requests that raced with the crash
            leftovers.append(inbox.get_nowait())
        host.fail_pending(leftovers)
        host.close()

    def stop(self) -> None:
        self.alive = False
        self.inbox.put(_STOP)

    def join(self) -> None:
        self.thread.join()


class ThreadCluster(RealTimeCluster):
    def __init__(self, sc: Scenario, trace: Any) -> None:
        self.cond = threading.Condition()
        super().__init__(sc, trace, threading.Lock(), self._notify)
        self._heap: list[tuple[int, int, int, Message]] = []
        self._seq = itertools.count()
        self._net_cv = threading.Condition()
        self.net_lock = self._net_cv
        self._net_on = True
        self.nodes: list[Node | None] = [None] * sc.nodes
        self._client_threads: list[threading.Thread] = []
        self._stopping = threading.Event()  # wakes the fault thread at the end
        self.membership = threading.Lock()  # crash and restart come from two threads
        self.inbox_limit = sc.inbox_limit()

    def _notify(self) -> None:
        with self.cond:
            self.cond.notify_all()

    # ---- network --------------------------------------------------------------------

    def send(self, src: int, dst: int, msg: Message) -> None:
        with self._net_cv:
            delay = self.network.delay(src, dst)
            if delay is None:
                return
            due = self.clock.now() + delay
            heapq.heappush(self._heap, (due, next(self._seq), dst, msg))
            if self._heap[0][0] == due:
                self._net_cv.notify()

    def _deliver_loop(self) -> None:
        now = self.clock.now
        while True:
            with self._net_cv:
                while self._net_on and (not self._heap or self._heap[0][0] > now()):
                    wait = (self._heap[0][0] - now()) / 1e6 if self._heap else None
                    self._net_cv.wait(wait)
                if not self._net_on:
                    return
                t = now()
                due = []
                while self._heap and self._heap[0][0] <= t:
                    due.append(heapq.heappop(self._heap))
            for _, _, dst, msg in due:
                node = self.nodes[dst]
                if node is None or not node.alive:
                    continue
                # A full inbox drops, as a full socket buffer would; Raft tolerates
                # loss. qsize() is approximate, but this thread is the only sender.
                if node.inbox.qsize() >= self.inbox_limit:
                    self.recorder.inbox_dropped += 1
                else:
                    node.inbox.put(msg)

    # ---- nodes and faults -------------------------------------------------------------

    def start_node(self, node_id: int) -> None:
        node = Node(self, node_id, self.incarnations[node_id])
        self.nodes[node_id] = node
        node.thread.start()



    # ---- clients ----------------------------------------------------------------------

    def _client(self, script: ClientScript) -> None:
        """_client runs a client's script, blocking on each pause and request."""
        heard: Outcome | None = None
        while (step := advance(script, heard)) is not None:
            heard = self._step(step)

    def _step(self, step: Pause | Request) -> Outcome | None:
        if isinstance(step, Pause):
            time.sleep(step.s)
            return None
        node = self.nodes[step.node]
        if node is None:
            return DOWN
        future: Future[Outcome] = Future()
        node.inbox.put(Proposal(step.cmd, self.payload, future))
        try:
            return future.result(self.sc.client_timeout_ms / 1000)
        except FutureTimeout:
            return NO_ANSWER

    def start_clients(self, scripts: list[ClientScript]) -> None:
        for c, script in enumerate(scripts):
            t = threading.Thread(target=self._client, args=(script,), name=f"client-{c}")
            self._client_threads.append(t)
            t.start()

    # ---- the scenario -------------------------------------------------------------------

    def sleep_until(self, t_us: int) -> bool:
        """sleep_until sleeps to trial time t_us; False once the trial's time is up."""
        limit = us(self.sc.timeout_ms)
        if self._stopping.wait(max(0, min(t_us, limit) - self.clock.now()) / 1e6):
            return False
        return t_us <= limit

    def wait_leader(self, after_term: int) -> int | None:
        """wait_leader blocks until a leader of a term above after_term is known."""
        limit = us(self.sc.timeout_ms)

        def found() -> bool:
            r = self.recorder
            return r.leader is not None and r.leader_term > after_term

        with self.cond:
            while not found():
                left = limit - self.clock.now()
                if left <= 0 or self._stopping.is_set():
                    return None
                self.cond.wait(left / 1e6)
            return self.recorder.leader

    def drive(self, script: Script, main: bool) -> None:
        """drive runs a script, blocking on each thing it waits for."""
        value: int | None = None
        with self.time_limit(main):
            while (wait := advance(script, value)) is not None:
                value = self.wait(wait)

    def wait(self, wait: Wait) -> int | None:
        if isinstance(wait, WaitLeader):
            return self.wait_leader(wait.after_term)
        if not self.sleep_until(wait.until_us):
            raise TimeUp
        return None

    def request_stop(self) -> None:
        # Under overload thousands of node threads queue for the GIL, each holding
        # it for up to the switch interval (5 ms), so every step of the shutdown
        # would wait its turn behind all of them: seconds each at 8,192 nodes.
        # Shorter turns, and nodes that stop at their next message, end it in time.
        sys.setswitchinterval(1e-4)
        for node in self.nodes:
            if node is not None:
                node.alive = False
        self._stopping.set()
        self._notify()

    def sample(self) -> None:
        self.peaks["threads_peak"] = max(self.peaks["threads_peak"], threading.active_count())

    def execute(self) -> None:
        net = threading.Thread(target=self._deliver_loop, name="network", daemon=True)
        net.start()
        for i in range(self.sc.nodes):
            self.start_node(i)
        faults = threading.Thread(target=self.drive, args=(self.fault_script(), False),
                                  name="faults", daemon=True)
        faults.start()
        self.sample()
        try:
            self.drive(self.script(), True)
        finally:
            self._stopping.set()
            self._notify()  # a fault waiting for a leader gives up
            self.clients_on = False
            for node in self.nodes:
                if node is not None:
                    node.stop()
            for node in self.nodes:
                if node is not None:
                    node.thread.join()
            for t in self._client_threads:
                t.join()
            with self._net_cv:
                self._net_on = False
                self._net_cv.notify()
            net.join()
            faults.join()


def run(sc: Scenario, trace: Any) -> dict[str, Any]:
    return ThreadCluster(sc, trace).result("py-threads")
