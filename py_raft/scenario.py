"""Scenario: the input of one trial (docs/protocol.md), and all that follows from it.

`parse_scenario` fills in every default and rejects bad input with a
`ScenarioError` whose message names the offending field on one line. A
`Scenario` also hands every runtime the same derived parts: the core's
`Config`, the network model and the seed streams, so that the simulator and
the real runtimes start from one definition of each.
"""

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from py_raft.core import Config, SplitMix64, derive_seed
from py_raft.network import Network

KINDS = ("election", "failover", "replication")
ACTIONS = ("partition", "heal", "crash", "restart")
MAX_NODES = 100_000


class ScenarioError(ValueError):
    """ScenarioError is an invalid scenario; its message names the field."""


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    latency_ms: float = 1.0
    jitter_ms: float = 1.0
    drop_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class Fault:
    at_ms: float
    action: str
    node: int | str | None = None  # an id, or "leader"
    groups: tuple[tuple[int | str, ...], ...] | None = None

    @property
    def needs_leader(self) -> bool:
        """needs_leader: the fault names the current leader, so it waits until one exists."""
        if self.action == "crash":
            return self.node == "leader"
        return self.action == "partition" and any("leader" in g for g in self.groups or ())


@dataclass(frozen=True, slots=True)
class Scenario:
    kind: str = "election"
    nodes: int = 5
    seed: int = 1
    election_timeout_ms: tuple[float, float] = (150.0, 300.0)
    heartbeat_ms: float = 50.0
    network: NetworkSpec = field(default_factory=NetworkSpec)
    observe_ms: float = 500.0
    failovers: int = 10
    settle_ms: float = 300.0
    clients: int = 8
    commands: int | None = None
    duration_ms: float = 1000.0
    payload_bytes: int = 16
    max_batch_entries: int = 64
    client_retry_ms: float = 10.0
    client_timeout_ms: float = 1000.0
    faults: tuple[Fault, ...] = ()
    timeout_ms: float = 60_000.0
    first_election_timeout_ms: tuple[float, float] | None = None
    inbox_capacity: int = 0  # 0: automatic, see inbox_limit()
    memory_limit_mb: float = 3072.0  # real-time drivers end the trial past it; 0: none
    # Section 7: a node compacts its log once it has applied this many entries
    # past its last snapshot; 0: never. 10,000 keeps a saturated run's memory
    # flat (docs/protocol.md) while a follower that lags by less still
    # catches up by AppendEntries, and at N <= 33 the image (a line per
    # client) costs about one sort per 10,000 applies.
    snapshot_entries: int = 10_000
    storage: str = "memory"  # or "file": py_raft/filestore.py, fsynced before sending
    storage_dir: str | None = None  # file storage's parent directory; None: the temp dir
    # "tcp": every node its own OS process (docs/deploy.md); only `raftbench
    # cluster` runs it, and a driver refuses it. node_impls names each node's
    # server there (None: all py-asyncio).
    transport: str = "inproc"
    node_impls: tuple[str, ...] | None = None

    def inbox_limit(self) -> int:
        """inbox_limit: how many peer messages a node's inbox holds before it drops.

        Automatic: room for two full rounds of replies from every peer (a leader
        or candidate must be able to hear the whole cluster), and at least 1,024.
        """
        return self.inbox_capacity or max(1024, 2 * self.nodes)

    def core_config(self) -> Config:
        lo, hi = self.election_timeout_ms
        first_lo, first_hi = self.first_election_timeout_ms or (0.0, 0.0)
        return Config(us(lo), us(hi), us(self.heartbeat_ms), self.max_batch_entries,
                      us(first_lo), us(first_hi), self.snapshot_entries)

    # The seed streams: one per consumer, so that adding draws to one never
    # shifts another's (and a replay stays exact in both languages).
    def control_rng(self) -> SplitMix64:
        """control_rng draws the scenario's own choices, such as when to crash a leader."""
        return SplitMix64(derive_seed(self.seed, CONTROL_STREAM))

    def network_model(self) -> Network:
        net = self.network
        return Network(us(net.latency_ms), us(net.jitter_ms), net.drop_rate,
                       SplitMix64(derive_seed(self.seed, NETWORK_STREAM)))

    def node_rng(self, node: int, incarnation: int) -> SplitMix64:
        return SplitMix64(node_seed(self.seed, node, incarnation))

    def to_json(self) -> dict[str, Any]:
        """to_json gives the scenario with every default filled in, in field order."""
        out = asdict(self)
        out["election_timeout_ms"] = list(self.election_timeout_ms)
        if self.first_election_timeout_ms is not None:
            out["first_election_timeout_ms"] = list(self.first_election_timeout_ms)
        out["faults"] = [_fault_json(f) for f in self.faults]
        if self.node_impls is not None:
            out["node_impls"] = list(self.node_impls)
        for key, default in LATER_DEFAULTS.items():
            if out[key] == default:
                del out[key]
        return out


CONTROL_STREAM, NETWORK_STREAM, FIRST_NODE_STREAM = 0, 1, 2
STORAGES = ("memory", "file")
TRANSPORTS = ("inproc", "tcp")
NODE_IMPLS = ("go", "py-asyncio", "py-threads")
# Fields added after the result's first version: to_json echoes each only when
# it is not at its default, so that the echo of a scenario that leaves them
# alone is what it was, and is still input that an older driver accepts.
LATER_DEFAULTS: dict[str, Any] = {"snapshot_entries": 10_000, "storage": "memory",
                                  "storage_dir": None, "transport": "inproc", "node_impls": None}


def node_seed(seed: int, node: int, incarnation: int) -> int:
    """node_seed is the seed of one incarnation of one node's core (streams 2 and up)."""
    return derive_seed(derive_seed(seed, FIRST_NODE_STREAM + node), incarnation)


def us(ms: float) -> int:
    """us converts milliseconds to whole microseconds, rounding half up, as Go does."""
    return int(ms * 1000 + 0.5)


def _fault_json(f: Fault) -> dict[str, Any]:
    out: dict[str, Any] = {"at_ms": f.at_ms, "action": f.action}
    if f.node is not None:
        out["node"] = f.node
    if f.groups is not None:
        out["groups"] = [list(g) for g in f.groups]
    return out


def parse_scenario(text: str) -> Scenario:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"scenario: not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(raw, dict):
        raise ScenarioError("scenario: must be a JSON object")
    return scenario_from_dict(raw)


def scenario_from_dict(raw: dict[str, Any]) -> Scenario:
    known = set(Scenario.__dataclass_fields__)
    for key in raw:
        if key not in known:
            raise ScenarioError(f"{key}: unknown field")
    d = Scenario()
    kind = raw.get("kind", d.kind)
    if kind not in KINDS:
        raise ScenarioError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    nodes = _int(raw, "nodes", d.nodes, 1, MAX_NODES)
    eto = raw.get("election_timeout_ms", list(d.election_timeout_ms))
    if not _is_range(eto):
        raise ScenarioError("election_timeout_ms: must be [min, max] with 0 < min <= max")
    first = raw.get("first_election_timeout_ms")
    if first is not None and not _is_range(first):
        raise ScenarioError(
            "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max")
    heartbeat = _num(raw, "heartbeat_ms", d.heartbeat_ms, lo=0.001)
    if heartbeat >= eto[0]:
        raise ScenarioError("heartbeat_ms: must be below election_timeout_ms[0]")
    commands = raw.get("commands", d.commands)
    if commands is not None:
        commands = _int(raw, "commands", 0, 1, 10**9)
    return Scenario(
        kind=kind,
        nodes=nodes,
        seed=_int(raw, "seed", d.seed, 0, 2**63 - 1),
        election_timeout_ms=(float(eto[0]), float(eto[1])),
        heartbeat_ms=heartbeat,
        network=_network(raw.get("network", {})),
        observe_ms=_num(raw, "observe_ms", d.observe_ms),
        failovers=_int(raw, "failovers", d.failovers, 1, 100_000),
        settle_ms=_num(raw, "settle_ms", d.settle_ms),
        clients=_int(raw, "clients", d.clients, 0, 100_000),
        commands=commands,
        duration_ms=_num(raw, "duration_ms", d.duration_ms),
        payload_bytes=_int(raw, "payload_bytes", d.payload_bytes, 0, 1 << 20),
        max_batch_entries=_int(raw, "max_batch_entries", d.max_batch_entries, 1, 1 << 20),
        client_retry_ms=_num(raw, "client_retry_ms", d.client_retry_ms, lo=0.001),
        client_timeout_ms=_num(raw, "client_timeout_ms", d.client_timeout_ms, lo=0.001),
        faults=_faults(raw.get("faults", []), nodes),
        timeout_ms=_num(raw, "timeout_ms", d.timeout_ms, lo=1.0),
        first_election_timeout_ms=None if first is None else (float(first[0]), float(first[1])),
        inbox_capacity=_int(raw, "inbox_capacity", d.inbox_capacity, 0, 10**9),
        memory_limit_mb=_num(raw, "memory_limit_mb", d.memory_limit_mb),
        snapshot_entries=_int(raw, "snapshot_entries", d.snapshot_entries, 0, 10**9),
        **_storage(raw),
        **_transport(raw, nodes),
    )


def _storage(raw: dict[str, Any]) -> dict[str, Any]:
    storage = raw.get("storage", "memory")
    if storage not in STORAGES:
        raise ScenarioError(f"storage: must be one of {', '.join(STORAGES)}, got {storage!r}")
    where = raw.get("storage_dir")
    if where is not None and (not isinstance(where, str) or not where):
        raise ScenarioError("storage_dir: must be null or a directory's path")
    if where is not None and storage != "file":
        raise ScenarioError('storage_dir: only with storage "file"')
    return {"storage": storage, "storage_dir": where}


def _transport(raw: dict[str, Any], nodes: int) -> dict[str, Any]:
    transport = raw.get("transport", "inproc")
    if transport not in TRANSPORTS:
        raise ScenarioError(
            f"transport: must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
    impls = raw.get("node_impls")
    if impls is None:
        return {"transport": transport, "node_impls": None}
    if transport != "tcp":
        raise ScenarioError('node_impls: only with transport "tcp"')
    if (not isinstance(impls, list) or len(impls) != nodes
            or not all(isinstance(i, str) and i in NODE_IMPLS for i in impls)):
        raise ScenarioError(f"node_impls: must be a list of {nodes} of "
                            f"{', '.join(NODE_IMPLS)}, one per node")
    return {"transport": transport, "node_impls": tuple(impls)}


def _is_range(v: Any) -> bool:
    return (isinstance(v, list) and len(v) == 2 and all(_is_num(x) for x in v)
            and 0 < v[0] <= v[1])


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _int(raw: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    v = raw.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ScenarioError(f"{key}: must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def _num(raw: dict[str, Any], key: str, default: float, lo: float = 0.0,
         name: str | None = None) -> float:
    v = raw.get(key, default)
    if not _is_num(v) or v < lo or v != v or v == float("inf"):
        raise ScenarioError(f"{name or key}: must be a finite number >= {lo:g}, got {v!r}")
    return float(v)


def _network(raw: Any) -> NetworkSpec:
    if not isinstance(raw, dict):
        raise ScenarioError("network: must be an object")
    for key in raw:
        if key not in NetworkSpec.__dataclass_fields__:
            raise ScenarioError(f"network.{key}: unknown field")
    d = NetworkSpec()
    latency = _num(raw, "latency_ms", d.latency_ms, lo=0.001, name="network.latency_ms")
    jitter = _num(raw, "jitter_ms", d.jitter_ms, name="network.jitter_ms")
    drop = _num(raw, "drop_rate", d.drop_rate, name="network.drop_rate")
    if drop >= 1.0:
        raise ScenarioError(f"network.drop_rate: must be in [0, 1), got {drop!r}")
    return NetworkSpec(latency, jitter, drop)


def _node_ref(v: Any, nodes: int, where: str) -> int | str:
    if v == "leader":
        return "leader"
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < nodes:
        raise ScenarioError(f"{where}: must be a node id in [0, {nodes - 1}] or \"leader\"")
    return v


def _faults(raw: Any, nodes: int) -> tuple[Fault, ...]:
    if not isinstance(raw, list):
        raise ScenarioError("faults: must be a list")
    out = []
    for i, f in enumerate(raw):
        where = f"faults[{i}]"
        if not isinstance(f, dict):
            raise ScenarioError(f"{where}: must be an object")
        for key in f:
            if key not in Fault.__dataclass_fields__:
                raise ScenarioError(f"{where}.{key}: unknown field")
        if "at_ms" not in f:
            raise ScenarioError(f"{where}.at_ms: required, a number >= 0")
        at = _num(f, "at_ms", 0.0, name=f"{where}.at_ms")
        action = f.get("action")
        if action not in ACTIONS:
            raise ScenarioError(f"{where}.action: must be one of {', '.join(ACTIONS)}")
        node: int | str | None = None
        groups = None
        if action in ("crash", "restart"):
            node = _node_ref(f.get("node"), nodes, f"{where}.node")
        elif action == "partition":
            g = f.get("groups")
            if not isinstance(g, list) or not g or not all(isinstance(x, list) for x in g):
                raise ScenarioError(f"{where}.groups: must be a non-empty list of lists of ids")
            groups = tuple(
                tuple(_node_ref(n, nodes, f"{where}.groups") for n in grp) for grp in g
            )
        out.append(Fault(at, action, node, groups))
    return tuple(sorted(out, key=lambda x: x.at_ms))
