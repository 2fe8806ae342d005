"""procs: the node processes of one trial, started, watched and measured from outside.

Each node is a process of its own (python -m py_raft node, or goraft node).
The launcher learns role changes from each node's admin port (`watch`),
applies partitions there (`block`), and sums every process's CPU time and
resident set with psutil, sampled every 100 ms and once more before a node is
stopped; a SIGKILLed process's last sample stands.
"""

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from bench.impls import GO_BINARY, ROOT

SAMPLE_S = 0.1
START_S = 20.0  # how long a node may take to open its admin port


def free_ports(n: int) -> list[int]:
    """free_ports picks n ports the kernel says are free (bound to port 0, then closed)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def go_node_missing() -> str | None:
    """go_node_missing says why `goraft node` cannot run here, or None when it can."""
    if not GO_BINARY.exists():
        return f"{GO_BINARY} not found (build it first)"
    try:
        out = subprocess.run([str(GO_BINARY), "node", "--help"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{GO_BINARY} node did not run ({e})"
    if "--peers" not in out.stdout + out.stderr and "-peers" not in out.stdout + out.stderr:
        return f"{GO_BINARY} has no node command yet (docs/deploy.md)"
    return None


def node_argv(impl: str) -> list[str]:
    if impl == "go":
        return [str(GO_BINARY), "node"]
    runtime = impl.removeprefix("py-")
    return [sys.executable, "-m", "py_raft", "node", "--runtime", runtime]


def admin(port: int, request: dict[str, Any], timeout: float = 2.0) -> dict[str, Any] | None:
    """admin sends one request to a node's admin port; None if the node does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(json.dumps(request).encode() + b"\n")
            with s.makefile("rb") as f:
                line = f.readline()
        reply: dict[str, Any] = json.loads(line)
        return reply
    except (OSError, ValueError):
        return None


class NodeProc:
    """NodeProc is one incarnation of one node: its process and what was measured of it."""

    def __init__(self, argv: list[str], log: Path, admin_port: int) -> None:
        self.admin_port = admin_port
        self.log = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed in join
        self.popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.log,
                                      cwd=ROOT, start_new_session=True)
        self.ps = psutil.Process(self.popen.pid)
        self.cpu = (0.0, 0.0)
        self.rss_kb = 0
        self.stats: dict[str, int] = {}
        self.alive = True

    def sample(self) -> int:
        """sample reads the process's CPU and RSS; it returns the RSS in kB (0: gone)."""
        try:
            with self.ps.oneshot():
                t = self.ps.cpu_times()
                rss = int(self.ps.memory_info().rss) // 1024
        except psutil.Error:
            return 0
        self.cpu = (t.user, t.system)
        self.rss_kb = max(self.rss_kb, rss)
        return rss

    def read_stats(self) -> None:
        reply = admin(self.admin_port, {"op": "stats"}, timeout=1.0)
        if reply and reply.get("ok"):
            self.stats = reply["stats"]

    def stop(self) -> None:
        """stop is a crash: SIGKILL."""
        self.alive = False
        self.popen.kill()

    def terminate(self, grace_s: float = 5.0) -> None:
        """terminate asks the node to exit (SIGTERM), and kills it past grace_s."""
        self.alive = False
        self.popen.terminate()
        try:
            self.popen.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()

    def join(self) -> None:
        self.popen.wait()
        self.log.close()


class Watch(threading.Thread):
    """Watch follows one incarnation's role changes on its admin port."""

    def __init__(self, proc: NodeProc, on_ready: Callable[[], None],
                 on_state: Callable[[int, str, int], None]) -> None:
        super().__init__(daemon=True)
        self.proc, self.on_ready, self.on_state = proc, on_ready, on_state
        self.ready = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + START_S
        while self.proc.alive and time.monotonic() < deadline:
            try:
                sock = socket.create_connection(("127.0.0.1", self.proc.admin_port), 1.0)
                break
            except OSError:
                if self.proc.popen.poll() is not None:
                    return
                time.sleep(0.02)
        else:
            return
        with sock, sock.makefile("rb") as lines:
            self.on_ready()
            sock.sendall(b'{"op":"watch"}\n')
            lines.readline()  # {"ok": true}
            self.ready.set()
            sock.settimeout(None)
            for line in lines:
                ev = json.loads(line)
                self.on_state(int(round(ev["t_ms"] * 1000)), ev["state"], ev["term"])


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
