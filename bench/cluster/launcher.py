"""launcher: one scenario against N node processes over TCP.

TcpCluster is the threads runtime's cluster (py_raft/threads_rt.py) with its
nodes replaced by processes: the same scenario script, fault schedule and
client scripts run here, blocking as the threads runtime does, while a crash
is SIGKILL, a restart a new process over the same files, a partition a
`block` request to each node's admin port, and a client a TCP connection per
node. The live Recorder hears the nodes' role changes from their admin ports
and the clients' acks; the nodes' own traces, merged, are judged by
bench/tracecheck.py when the trial ends.
"""

import json
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.cluster.conns import Conns
from bench.cluster.merge import merged
from bench.cluster.procs import SAMPLE_S, NodeProc, Watch, admin, free_ports, node_argv, remove
from bench.tracecheck import check_trace
from py_raft.client import ClientScript, Outcome, Pause, Request, client_script
from py_raft.recorder import Recorder
from py_raft.result import build_result
from py_raft.scenario import Scenario, us
from py_raft.threads_rt import ThreadCluster

FAULT_EVENTS = frozenset({"crash", "restart", "partition", "heal"})
COUNTED = ("malformed", "oversized", "truncated", "bad_hello", "unknown_id", "unexpected_frame",
           "queue_dropped", "connections", "reconnects")


class FaultRecorder(Recorder):
    """FaultRecorder writes only the faults: the nodes write everything else themselves."""

    def _emit(self, line: dict[str, Any]) -> None:
        if line["event"] in FAULT_EVENTS:
            super()._emit(line)


class TcpCluster(ThreadCluster):
    def __init__(self, sc: Scenario, impls: list[str], trace_out: Any) -> None:
        # The nodes keep their own storage; the in-process base needs none.
        super().__init__(replace(sc, storage="memory", storage_dir=None), None)
        self.sc_in = sc
        self.impls = impls
        self.dir = Path(tempfile.mkdtemp(prefix="raftbench-tcp-", dir=sc.storage_dir))
        self.t0_unix_us = _unix_us() - self.clock.now()
        self.events = open(self.dir / "launcher.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self.recorder = FaultRecorder(self.events, self.recorder._lock, self._notify, sc.nodes)
        self.trace_out = trace_out
        # A SIGKILLed process keeps only its files: a scenario that crashes a node
        # runs every node on file storage, whatever `storage` says.
        crashes = sc.kind == "failover" or any(f.action == "crash" for f in sc.faults)
        self.storage = "file" if crashes or sc.storage == "file" else "memory"
        n = sc.nodes
        ports = free_ports(3 * n)
        self.peer_ports, self.client_ports, self.admin_ports = (ports[:n], ports[n:2 * n],
                                                                 ports[2 * n:])
        (self.dir / "scenario.json").write_text(json.dumps(sc.to_json()), encoding="utf-8")
        self.nodes: list[Any] = [None] * n  # NodeProc of each running node
        self.procs: list[NodeProc] = []  # every incarnation started
        self.blocked: list[list[int]] = [[] for _ in range(n)]
        self._sampling = threading.Event()
        self._local = threading.local()
        self._conns: list[Conns] = []
        self.peak_rss_kb = 0

    # ---- nodes --------------------------------------------------------------------------

    def start_node(self, node_id: int) -> None:
        inc = self.incarnations[node_id]
        argv = [*node_argv(self.impls[node_id]), "--id", str(node_id),
                "--peers", ",".join(f"127.0.0.1:{p}" for p in self.peer_ports),
                "--client-port", str(self.client_ports[node_id]),
                "--admin-port", str(self.admin_ports[node_id]),
                "--scenario", str(self.dir / "scenario.json"),
                "--storage", self.storage,
                "--trace", str(self.dir / f"node-{node_id}.{inc}.jsonl"),
                "--t0-unix-us", str(self.t0_unix_us), "--incarnation", str(inc)]
        if self.storage == "file":
            argv += ["--storage-dir", str(self.dir / f"node-{node_id}")]
        proc = NodeProc(argv, self.dir / f"node-{node_id}.{inc}.log", self.admin_ports[node_id])
        self.procs.append(proc)
        self.nodes[node_id] = proc

        def on_state(t: int, role: str, term: int) -> None:
            if proc.alive:
                self.recorder.state(t, node_id, role, term)

        def on_ready() -> None:  # a restarted node rejoins the partition it left
            if self.blocked[node_id]:
                admin(proc.admin_port, {"op": "block", "peers": self.blocked[node_id]})

        watch = Watch(proc, on_ready, on_state)
        watch.start()
        proc.watch = watch  # type: ignore[attr-defined]

    def partition(self, groups: list[list[int]]) -> None:
        side = {n: i for i, g in enumerate(groups) for n in g}
        n = self.sc.nodes
        self._block([[p for p in range(n) if side.get(p, -1) != side.get(me, -1)]
                     for me in range(n)])
        self.recorder.partition(self.clock.now(), groups)

    def heal(self) -> None:
        self._block([[] for _ in range(self.sc.nodes)])
        self.recorder.heal(self.clock.now())

    def _block(self, blocked: list[list[int]]) -> None:
        self.blocked = blocked
        for node_id, proc in enumerate(self.nodes):
            if proc is not None:
                admin(proc.admin_port, {"op": "block", "peers": blocked[node_id]})

    def _sample_loop(self) -> None:
        while not self._sampling.wait(SAMPLE_S):
            self._sample()

    def _sample(self) -> None:
        total = sum(p.sample() for p in self.procs if p.alive)
        self.peak_rss_kb = max(self.peak_rss_kb, total)

    # ---- clients ------------------------------------------------------------------------

    def client_scripts(self, leader: int) -> list[ClientScript]:
        # The hop to a node is the real network's: no modelled pause.
        sc = self.sc
        return [client_script(i, leader, sc.nodes, 0, us(sc.client_retry_ms),
                              lambda: self.clients_on, self.up) for i in range(sc.clients)]

    def _step(self, step: Pause | Request) -> Outcome | None:
        """_step is ThreadCluster's, with each request sent over the client's connection."""
        if isinstance(step, Pause):
            return super()._step(step)
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = Conns(
                [("127.0.0.1", p) for p in self.client_ports], self.sc.client_timeout_ms / 1000,
                self.payload, self._ack, self.up)
            self._conns.append(conns)
        return conns.request(step)

    def _ack(self, cmd: str, index: int, latency_us: int) -> None:
        now = self.clock.now()
        self.recorder.ack(now, cmd, index, latency_us)

    # ---- the trial ----------------------------------------------------------------------

    def execute(self) -> None:
        sampler = threading.Thread(target=self._sample_loop, daemon=True)
        sampler.start()
        try:
            for i in range(self.sc.nodes):
                self.start_node(i)
            for proc in list(self.procs):
                proc.watch.ready.wait(30)  # type: ignore[attr-defined]
            faults = threading.Thread(target=self.drive, args=(self.fault_script(), False),
                                      daemon=True)
            faults.start()
            self.drive(self.script(), True)
            self._stopping.set()
            self._notify()
            self.clients_on = False
            for t in self._client_threads:
                t.join()
            for conns in self._conns:
                conns.close()
            faults.join()
        finally:
            self._sample()
            self._sampling.set()
            for proc in self.nodes:
                if proc is not None:
                    proc.read_stats()
            for proc in self.procs:
                if proc.alive:
                    proc.terminate()
                proc.join()
            self.nodes = [None] * self.sc.nodes

    def close(self) -> None:
        self.events.close()
        try:
            self._judge()
        finally:
            remove(self.dir)

    def _judge(self) -> None:
        """_judge merges the traces (into --trace) and checks them with bench/tracecheck.py."""
        files = [self.dir / "launcher.jsonl",
                 *sorted(self.dir.glob("node-*.jsonl"), key=_file_order)]

        def lines() -> Any:
            for line in merged(files):
                if self.trace_out is not None:
                    self.trace_out.write(line)
                yield line

        problems = check_trace(lines())
        if problems:
            self.fail(f"trace: {problems[0]} ({len(problems)} problems)")

    def build(self, impl: str, elapsed_us: int, runtime: dict[str, Any],
              extra_versions: dict[str, str] | None = None) -> dict[str, Any]:
        stats = {k: sum(p.stats.get(k, 0) for p in self.procs)
                 for k in ("messages_sent", "messages_dropped", "inbox_dropped", *COUNTED)}
        self.recorder.inbox_dropped = stats["inbox_dropped"]
        runtime = {**runtime,
                   "launcher_cpu_s": round(runtime["cpu_user_s"] + runtime["cpu_sys_s"], 6),
                   "cpu_user_s": round(sum(p.cpu[0] for p in self.procs), 6),
                   "cpu_sys_s": round(sum(p.cpu[1] for p in self.procs), 6),
                   "max_rss_kb": self.peak_rss_kb, "processes": len(self.procs),
                   "node_impls": self.impls, "node_storage": self.storage,
                   "partitions": "admin-drop",
                   "node_counters": {k: stats[k] for k in COUNTED}}
        if self.window[1] < self.window[0]:
            self.window[1] = elapsed_us
        return build_result(impl, self.sc_in, self.recorder, self.error, self.failovers_done,
                            self.window[1] - self.window[0], elapsed_us,
                            (stats["messages_sent"], stats["messages_dropped"]), runtime,
                            extra_versions)


def _file_order(p: Path) -> tuple[int, int]:
    node, inc, _ = p.name.removeprefix("node-").split(".")
    return int(node), int(inc)


def _unix_us() -> int:
    import time

    return time.time_ns() // 1000
