"""vectorlib: the JSON codec of the shared test vectors and their replayer.

The format is specified in tests/vectors/README.md. `Cluster` runs a vector's
inputs on fresh Python cores, one MemoryStorage per node; `observe` turns what an
input produced into the JSON of an `expect` object. generate.py runs and records
(`Cluster` + `observe`), `replay` runs and compares.
"""

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from py_raft.core import (
    AppendEntries,
    AppendEntriesReply,
    Config,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    MemoryStorage,
    Message,
    NotLeader,
    Raft,
    Ready,
    RequestVote,
    RequestVoteReply,
    Snapshot,
    SplitMix64,
)
from py_raft.scenario import node_seed

Json = Any

# ---- codec ---------------------------------------------------------------------------


def entry_to_json(e: Entry) -> Json:
    return {"term": e.term, "cmd": e.cmd, "payload": e.payload}


def entry_from_json(d: Json) -> Entry:
    return Entry(int(d["term"]), d["cmd"], d.get("payload", ""))


def entries_to_json(entries: Any) -> Json:
    return [entry_to_json(e) for e in entries]


def entries_from_json(items: Json) -> list[Entry]:
    return [entry_from_json(d) for d in items]


def snapshot_to_json(s: Snapshot) -> Json:
    """snapshot_to_json: a vector's snapshot data is text, written as a JSON string."""
    return {
        "last_included_index": s.last_included_index,
        "last_included_term": s.last_included_term,
        "data": s.data.decode(),
    }


def snapshot_from_json(d: Json) -> Snapshot:
    return Snapshot(d["last_included_index"], d["last_included_term"], d["data"].encode())


def msg_to_json(m: Message) -> Json:
    if isinstance(m, RequestVote):
        return {
            "type": "RequestVote",
            "term": m.term,
            "candidate_id": m.candidate_id,
            "last_log_index": m.last_log_index,
            "last_log_term": m.last_log_term,
        }
    if isinstance(m, RequestVoteReply):
        return {
            "type": "RequestVoteReply",
            "term": m.term,
            "vote_granted": m.vote_granted,
            "voter_id": m.voter_id,
        }
    if isinstance(m, AppendEntries):
        return {
            "type": "AppendEntries",
            "term": m.term,
            "leader_id": m.leader_id,
            "prev_log_index": m.prev_log_index,
            "prev_log_term": m.prev_log_term,
            "entries": entries_to_json(m.entries),
            "leader_commit": m.leader_commit,
        }
    if isinstance(m, AppendEntriesReply):
        return {
            "type": "AppendEntriesReply",
            "term": m.term,
            "success": m.success,
            "follower_id": m.follower_id,
            "match_index": m.match_index,
            "conflict_index": m.conflict_index,
            "conflict_term": m.conflict_term,
        }
    if isinstance(m, InstallSnapshot):
        return {
            "type": "InstallSnapshot",
            "term": m.term,
            "leader_id": m.leader_id,
            "last_included_index": m.last_included_index,
            "last_included_term": m.last_included_term,
            "data": m.data.decode(),
        }
    if isinstance(m, InstallSnapshotReply):
        return {
            "type": "InstallSnapshotReply",
            "term": m.term,
            "follower_id": m.follower_id,
            "match_index": m.match_index,
        }
    raise TypeError(f"not a message: {m!r}")


def msg_from_json(d: Json) -> Message:
    kind = d["type"]
    if kind == "RequestVote":
        return RequestVote(d["term"], d["candidate_id"], d["last_log_index"], d["last_log_term"])
    if kind == "RequestVoteReply":
        return RequestVoteReply(d["term"], bool(d["vote_granted"]), d["voter_id"])
    if kind == "AppendEntries":
        return AppendEntries(
            d["term"],
            d["leader_id"],
            d["prev_log_index"],
            d["prev_log_term"],
            tuple(entries_from_json(d["entries"])),
            d["leader_commit"],
        )
    if kind == "AppendEntriesReply":
        return AppendEntriesReply(
            d["term"],
            bool(d["success"]),
            d["follower_id"],
            d["match_index"],
            d["conflict_index"],
            d["conflict_term"],
        )
    if kind == "InstallSnapshot":
        return InstallSnapshot(
            d["term"],
            d["leader_id"],
            d["last_included_index"],
            d["last_included_term"],
            d["data"].encode(),
        )
    if kind == "InstallSnapshotReply":
        return InstallSnapshotReply(d["term"], d["follower_id"], d["match_index"])
    raise ValueError(f"unknown message type {kind!r}")


def ready_to_json(r: Ready) -> Json:
    """ready_to_json: the snapshot fields appear only when set. With snapshots off
    they never are, so the vectors written before them stay valid."""
    out = {
        "hard_state": None if r.hard_state is None else [r.hard_state[0], r.hard_state[1]],
        "log_from": r.log_from,
        "entries": entries_to_json(r.entries),
        "messages": [[to, msg_to_json(m)] for to, m in r.messages],
        "committed": [[i, entry_to_json(e)] for i, e in r.committed],
        "transitions": [[role, term] for role, term in r.transitions],
    }
    if r.snapshot is not None:
        out["snapshot"] = snapshot_to_json(r.snapshot)
    if r.restore is not None:
        out["restore"] = snapshot_to_json(r.restore)
    if r.snapshot_due:
        out["snapshot_due"] = r.snapshot_due
    return out


def state_to_json(core: Raft) -> Json:
    out = {
        "role": core.role.value,
        "current_term": core.current_term,
        "voted_for": core.voted_for,
        "commit_index": core.commit_index,
        "last_applied": core.last_applied,
        "last_index": core.last_index,
        "leader_id": core.leader_id,
        "next_deadline": core.next_deadline(),
    }
    if core.last_included_index:
        out["last_included_index"] = core.last_included_index
        out["last_included_term"] = core.last_included_term
    return out


def storage_to_json(s: MemoryStorage) -> Json:
    term, vote = s.hard_state()
    out = {"current_term": term, "voted_for": vote, "log": entries_to_json(s.entries())}
    snap = s.snapshot()
    if snap is not None:
        out["snapshot"] = snapshot_to_json(snap)
    return out


def config_to_json(c: Config) -> Json:
    out = {
        "election_timeout_min_us": c.election_timeout_min_us,
        "election_timeout_max_us": c.election_timeout_max_us,
        "heartbeat_us": c.heartbeat_us,
        "max_batch_entries": c.max_batch_entries,
    }
    if c.snapshot_entries:
        out["snapshot_entries"] = c.snapshot_entries
    return out


def config_from_json(d: Json) -> Config:
    return Config(
        d["election_timeout_min_us"],
        d["election_timeout_max_us"],
        d["heartbeat_us"],
        d.get("max_batch_entries", 64),
        snapshot_entries=d.get("snapshot_entries", 0),
    )


# ---- running -------------------------------------------------------------------------


@dataclass
class Outcome:
    """Outcome is what one input produced on one node, before it is turned into JSON."""

    ready: Ready
    core: Raft
    storage: MemoryStorage
    propose: Json | None  # the `expect.propose` object, for a propose input only


class Cluster:
    """Cluster holds each node's storage, incarnation and current core for one vector."""

    def __init__(
        self, members: list[int], config: Config, seed: int, initial: Mapping[str, Json]
    ) -> None:
        self.members = list(members)
        self.config = config
        self.seed = seed
        self.storages: dict[int, MemoryStorage] = {}
        for node in self.members:
            s = MemoryStorage()
            init = initial.get(str(node))
            if init is not None:
                s.set_hard_state(init.get("current_term", 0), init.get("voted_for"))
                first = 1
                if "snapshot" in init:
                    snap = snapshot_from_json(init["snapshot"])
                    s.save_snapshot(snap)
                    first = snap.last_included_index + 1
                log = entries_from_json(init.get("log", []))
                if log:
                    s.truncate_and_append(first, log)
            self.storages[node] = s
        self.incarnation: dict[int, int] = {}
        self.cores: dict[int, Raft] = {}

    @classmethod
    def from_vector(cls, v: Json) -> "Cluster":
        return cls(v["members"], config_from_json(v["config"]), v["seed"], v.get("initial", {}))

    def _boot(self, node: int, incarnation: int, now: int) -> None:
        self.incarnation[node] = incarnation
        rng = SplitMix64(node_seed(self.seed, node, incarnation))
        self.cores[node] = Raft(node, self.members, self.storages[node], self.config, rng, now)

    def apply(self, node: int, inp: Json) -> Outcome:
        """apply feeds one input to one node, then takes its Ready and persists it."""
        kind = inp["type"]
        now = inp["now"]
        propose: Json | None = None
        if kind == "start":
            assert node not in self.cores, f"node {node} started twice"
            self._boot(node, 0, now)
        elif kind == "restart":
            assert node in self.incarnation, f"node {node} restarted before its start"
            self._boot(node, self.incarnation[node] + 1, now)
        else:
            core = self.cores[node]
            if kind == "tick":
                core.tick(now)
            elif kind == "step":
                core.step(msg_from_json(inp["msg"]), now)
            elif kind == "propose":
                try:
                    index, term = core.propose(inp["cmd"], inp.get("payload", ""), now)
                    propose = {"index": index, "term": term}
                except NotLeader as e:
                    propose = {"not_leader": e.leader_hint}
            elif kind == "snapshot":
                core.snapshot(inp["index"], inp["data"].encode())
            else:
                raise ValueError(f"unknown input type {kind!r}")
        core = self.cores[node]
        ready = core.ready()
        storage = self.storages[node]
        if ready.snapshot is not None:
            storage.save_snapshot(ready.snapshot)
        if ready.hard_state is not None:
            storage.set_hard_state(*ready.hard_state)
        if ready.log_from != 0:
            storage.truncate_and_append(ready.log_from, ready.entries)
        return Outcome(ready, core, storage, propose)


def observe(out: Outcome, with_storage: bool = False) -> Json:
    """observe gives the `expect` object that describes an outcome."""
    exp: Json = {"ready": ready_to_json(out.ready), "state": state_to_json(out.core)}
    if out.propose is not None:
        exp["propose"] = out.propose
    if with_storage:
        exp["storage"] = storage_to_json(out.storage)
    return exp


# ---- replaying -----------------------------------------------------------------------


def _diff(path: str, want: Json, got: Json, out: list[str]) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in want:
            if key not in got:
                out.append(f"{path}.{key}: expected {want[key]!r}, missing")
            else:
                _diff(f"{path}.{key}", want[key], got[key], out)
        for key in got:
            if key not in want:
                out.append(f"{path}.{key}: unexpected {got[key]!r}")
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            _diff(f"{path}[{i}]", w, g, out)
    elif type(want) is not type(got) or want != got:
        out.append(f"{path}: expected {want!r}, got {got!r}")


def replay(vector: Json) -> list[str]:
    """replay runs a vector on the Python core; it returns the differences, [] when none."""
    diffs: list[str] = []
    cluster = Cluster.from_vector(vector)
    for i, st in enumerate(vector["steps"]):
        where = f"step {i} (node {st['node']}, {st['input']['type']})"
        try:
            out = cluster.apply(st["node"], st["input"])
        except Exception as e:  # a crash is one more difference
            diffs.append(f"{where}: raised {type(e).__name__}: {e}")
            return diffs
        expect = st.get("expect")
        if expect is None:
            continue
        got = observe(out, with_storage="storage" in expect)
        if "propose" in expect and "propose" not in got:
            diffs.append(f"{where}: expect.propose given for a {st['input']['type']} input")
        for key in expect:
            if key in got:
                _diff(f"{where}: {key}", expect[key], got[key], diffs)
            elif key != "propose":
                diffs.append(f"{where}: unknown expect key {key!r}")
    return diffs


def corrupted(vector: Json) -> Json:
    """corrupted returns a copy of a vector whose last expectation is off by one term."""
    v = copy.deepcopy(vector)
    for st in reversed(v["steps"]):
        if "expect" in st:
            st["expect"]["state"]["current_term"] += 1
            return v
    raise ValueError("vector has no expectation to corrupt")
