"""load: closed-loop clients against a running cluster, wherever its nodes are.

    python -m bench.cluster.load --nodes HOST:PORT,... [--clients 8]
        [--duration-ms 2000] [--payload-bytes 16] [--timeout-ms 1000]

`--nodes` lists every node's client port, in node id order (docs/deploy.md,
"A 3-host cluster"). Each client runs the protocol's client script
(py_raft/client.py) over TCP: one command in flight, redirects followed,
a silent node abandoned after the timeout. The output is one JSON line:
commands acknowledged, throughput, and nearest-rank commit latencies. Bad
flags: one line and exit 2.
"""

import json
import sys
import threading
import time
from typing import Any

from bench.cluster.conns import Conns
from py_raft.cli import Parser, fail
from py_raft.client import ClientScript, Outcome, Request, advance, client_script
from py_raft.recorder import percentile

RETRY_US = 10_000  # a client's pause after a redirect or a lost command


def addresses(text: str) -> list[tuple[str, int]]:
    out = []
    for item in text.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            fail(f"--nodes: {item!r} is not HOST:PORT")
        out.append((host, int(port)))
    return out


class Load:
    """Load runs the clients for a while and keeps their acks."""

    def __init__(self, addrs: list[tuple[str, int]], clients: int, payload_bytes: int,
                 timeout_s: float) -> None:
        self.addrs, self.timeout_s = addrs, timeout_s
        self.payload = "x" * payload_bytes
        self.running = True
        self.lock = threading.Lock()
        self.latencies_us: list[int] = []
        self.scripts = [client_script(i, i % len(addrs), len(addrs), 0, RETRY_US,
                                      lambda: self.running, lambda node: True)
                        for i in range(clients)]

    def _ack(self, cmd: str, index: int, latency_us: int) -> None:
        with self.lock:
            self.latencies_us.append(latency_us)

    def _client(self, script: ClientScript) -> None:
        conns = Conns(self.addrs, self.timeout_s, self.payload, self._ack)
        heard: Outcome | None = None
        try:
            while (step := advance(script, heard)) is not None:
                if isinstance(step, Request):
                    heard = conns.request(step)
                else:
                    heard = None
                    time.sleep(step.s)
        finally:
            conns.close()

    def run(self, duration_s: float) -> dict[str, Any]:
        threads = [threading.Thread(target=self._client, args=(s,), daemon=True)
                   for s in self.scripts]
        start = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(duration_s)
        self.running = False
        elapsed = time.monotonic() - start
        for t in threads:
            t.join(self.timeout_s + 1)
        lat = sorted(x / 1000 for x in self.latencies_us)
        return {"committed": len(lat), "throughput_ops_s": round(len(lat) / elapsed, 3),
                "commit_latency_ms": {"p50": percentile(lat, 50), "p99": percentile(lat, 99),
                                      "max": lat[-1]} if lat else None,
                "clients": len(self.scripts), "elapsed_ms": round(elapsed * 1000, 3)}


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="raftbench load", description="Closed-loop clients against a cluster.")
    p.add_argument("--nodes", required=True, help="every node's client HOST:PORT, by id")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--duration-ms", type=float, default=2000.0)
    p.add_argument("--payload-bytes", type=int, default=16)
    p.add_argument("--timeout-ms", type=float, default=1000.0)
    args = p.parse_args(argv)
    addrs = addresses(args.nodes)
    for flag, value in (("--clients", args.clients), ("--duration-ms", args.duration_ms),
                        ("--timeout-ms", args.timeout_ms)):
        if value <= 0:
            fail(f"{flag}: must be above 0, got {value:g}")
    if args.payload_bytes < 0:
        fail(f"--payload-bytes: must be 0 or more, got {args.payload_bytes}")
    load = Load(addrs, args.clients, args.payload_bytes, args.timeout_ms / 1000)
    sys.stdout.write(json.dumps(load.run(args.duration_ms / 1000)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
