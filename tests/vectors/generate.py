"""Generate the shared test vectors: scripted inputs run on the Python core, outputs recorded.

Run `python tests/vectors/generate.py` from the repository root after a deliberate
change to the core, then review the diff. Each scenario also asserts the behaviour
its rule demands, so a core that breaks a rule fails here instead of being recorded.
The format is in tests/vectors/README.md; the runner is tests/vectorlib.py.
"""

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE.parent)]

from vectorlib import (  # noqa: E402
    Cluster,
    Json,
    config_to_json,
    entries_to_json,
    msg_to_json,
    observe,
    snapshot_to_json,
)

from py_raft.core import (  # noqa: E402
    AppendEntries,
    AppendEntriesReply,
    Config,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    Message,
    Raft,
    Ready,
    RequestVote,
    RequestVoteReply,
    Snapshot,
)

HB = 50_000
CONFIG = {"election_timeout_min_us": 150_000, "election_timeout_max_us": 300_000,
          "heartbeat_us": HB, "max_batch_entries": 64}

RV_RULE_1 = "Figure 2, RequestVote receiver rule 1: reply false if term < currentTerm (5.1)"
RV_RULE_2 = ("Figure 2, RequestVote receiver rule 2: grant if votedFor is null or candidateId, "
             "and candidate's log is at least as up-to-date as receiver's log (5.2, 5.4.1)")
AE_RULE_1 = "Figure 2, AppendEntries receiver rule 1: reply false if term < currentTerm (5.1)"
AE_RULE_2 = ("Figure 2, AppendEntries receiver rule 2: reply false if log doesn't contain an "
             "entry at prevLogIndex whose term matches prevLogTerm (5.3)")
AE_RULE_3 = ("Figure 2, AppendEntries receiver rule 3: if an existing entry conflicts with a new "
             "one (same index, different terms), delete the existing entry and all that follow "
             "it (5.3)")
AE_RULE_4 = "Figure 2, AppendEntries receiver rule 4: append any new entries not already in the log"
AE_RULE_5 = ("Figure 2, AppendEntries receiver rule 5: if leaderCommit > commitIndex, set "
             "commitIndex = min(leaderCommit, index of last new entry)")
ALL_TERM = ("Figure 2, Rules for Servers, All Servers: if RPC request or response contains term "
            "T > currentTerm: set currentTerm = T, convert to follower (5.1); persist currentTerm "
            "and votedFor before responding")
ALL_APPLY = ("Figure 2, Rules for Servers, All Servers: if commitIndex > lastApplied: increment "
             "lastApplied, apply log[lastApplied] to state machine (5.3)")
FOLLOWER = ("Figure 2, Rules for Servers, Followers: if election timeout elapses without "
            "receiving AppendEntries from current leader or granting vote to candidate: convert "
            "to candidate (5.2)")
CAND_START = ("Figure 2, Rules for Servers, Candidates: on conversion to candidate, start "
              "election: increment currentTerm, vote for self, reset election timer, send "
              "RequestVote RPCs to all other servers (5.2)")
CAND_WIN = ("Figure 2, Rules for Servers, Candidates: if votes received from majority of servers: "
            "become leader (5.2)")
CAND_AE = ("Figure 2, Rules for Servers, Candidates: if AppendEntries RPC received from new "
           "leader: convert to follower (5.2)")
CAND_TIMEOUT = ("Figure 2, Rules for Servers, Candidates: if election timeout elapses: start new "
                "election (5.2)")
LEAD_INIT = ("Figure 2, Rules for Servers, Leaders: upon election send initial AppendEntries to "
             "each server, carrying the leader's no-op of its term (5.2, section 8)")
LEAD_HB = ("Figure 2, Rules for Servers, Leaders: send empty AppendEntries (heartbeat) to each "
           "server, repeat during idle periods to prevent election timeouts (5.2)")
LEAD_PROPOSE = ("Figure 2, Rules for Servers, Leaders: if command received from client: append "
                "entry to local log, respond after entry applied to state machine; if last log "
                "index >= nextIndex for a follower, send AppendEntries with entries starting at "
                "nextIndex (5.3)")
LEAD_SUCCESS = ("Figure 2, Rules for Servers, Leaders: if successful, update nextIndex and "
                "matchIndex for follower (5.3)")
LEAD_BACKOFF = ("Figure 2, Rules for Servers, Leaders: if AppendEntries fails because of log "
                "inconsistency, decrement nextIndex and retry; with the conflict hint of 5.3 "
                "(fast backtracking) a whole conflicting term is skipped per round trip")
LEAD_COMMIT = ("Figure 2, Rules for Servers, Leaders: if there exists an N such that N > "
               "commitIndex, a majority of matchIndex[i] >= N, and log[N].term == currentTerm: "
               "set commitIndex = N (5.3, 5.4.2, Figure 8)")
NOT_LEADER = ("Section 8 (client interaction): a server that is not the leader rejects a client "
              "request and supplies the most recent leader it knows of (not_leader hint)")
BATCH = ("Section 5.3 / Figure 2 AppendEntries 'entries[]: may send more than one for "
         "efficiency': at most max_batch_entries per AppendEntries; the next batch follows the "
         "successful reply")
INFLIGHT = ("Section 5.3 replication, flow control: while an AppendEntries carrying entries is in "
            "flight to a follower, new proposals are held for that follower until its reply (a "
            "heartbeat resends regardless)")
RESTART = ("Figure 2, State: persistent state (currentTerm, votedFor, log[]) survives a restart; "
           "volatile commitIndex and lastApplied are initialized to 0 (5.1, 5.2)")
SINGLE = ("Figure 2, Rules for Servers, Candidates/Leaders with a cluster of one: the self vote "
          "is a majority, so the server elects itself on its first timeout and commits alone "
          "(5.2, 5.3)")
STALE = ("Section 5.1: a server receiving a request or response with a stale term ignores it "
         "(requests are answered with the current term so the sender steps down)")
MULTI = ("Section 5.2 leader election and 5.3 log replication, end to end: messages produced by "
         "each node are delivered as inputs to the others")
SNAP_WHEN = ("Section 7: each server snapshots independently, when its log reaches a fixed size: "
             "once the state machine has applied snapshot_entries entries past the last snapshot, "
             "the Ready asks the host for one (snapshot_due); the core alone decides when, the "
             "host supplies the state machine's image")
SNAP_COMPACT = ("Section 7, Figure 12: a snapshot replaces the committed entries up to the last "
                "included index; the server keeps lastIncludedIndex and lastIncludedTerm, discards "
                "the log prefix and persists the snapshot (Ready.snapshot), and the storage drops "
                "the entries it covers")
SNAP_AE_BOUNDARY = ("Figure 2, AppendEntries receiver rule 2 after compaction (section 7): a "
                    "prevLogIndex equal to lastIncludedIndex is checked against lastIncludedTerm")
SNAP_AE_BELOW = ("Section 7: the entries a snapshot covers are committed, so they match the "
                 "leader's (Log Matching, Leader Completeness); an AppendEntries whose "
                 "prevLogIndex lies inside the snapshot is taken from the snapshot's end, and its "
                 "reply is the one an uncompacted log gives")
SNAP_HINT = ("Section 5.3 fast backtracking after compaction (section 7): the follower's "
             "conflict_index never points into its snapshot; it stops at lastIncludedIndex + 1")
SNAP_VOTE = ("Figure 2, RequestVote receiver rule 2 and 5.4.1 after compaction: with every entry "
             "compacted, the last log index and term are lastIncludedIndex and lastIncludedTerm, "
             "for the up-to-date check and in the server's own RequestVote")
SNAP_RESTART = ("Section 7 with Figure 2 State: a restarted server loads its snapshot "
                "(Ready.restore resets the state machine), then the log after it; commitIndex and "
                "lastApplied restart at lastIncludedIndex, and only later entries are applied")
IS_SEND = ("Section 7: the leader sends InstallSnapshot to a follower that lags so far that its "
           "next entry is discarded (nextIndex <= lastIncludedIndex); one chunk, offset 0, done "
           "true; until the reply no entries are sent to it, a heartbeat resends the snapshot")
IS_RULE_1 = "Figure 13, InstallSnapshot receiver rule 1: reply immediately if term < currentTerm"
IS_RULE_6 = ("Figure 13, InstallSnapshot receiver rule 6: if an existing log entry has the same "
             "index and term as the snapshot's last included entry, retain log entries following "
             "it; rule 8: reset the state machine from the snapshot")
IS_RULE_7 = ("Figure 13, InstallSnapshot receiver rules 7 and 8: otherwise discard the entire log "
             "(persisted entries after the snapshot are truncated too) and reset the state machine "
             "from the snapshot; commitIndex and lastApplied become lastIncludedIndex")
IS_OLD = ("Section 7: an InstallSnapshot whose last included index is not above the follower's "
          "commitIndex holds nothing new and is ignored (installing it would move the state "
          "machine back); the reply reports commitIndex as the match")
IS_REPLY = ("Section 7 with Figure 2, Rules for Servers, Leaders: an InstallSnapshotReply of the "
            "current term updates matchIndex and nextIndex as a successful AppendEntries does, "
            "and the entries after the snapshot follow")
IS_CAND = ("Figure 2, Rules for Servers, Candidates: an InstallSnapshot from the leader of its own "
           "term converts a candidate to follower (5.2), which then installs it (Figure 13)")
SNAP_BACKTRACK = ("Section 5.3 fast backtracking after compaction (section 7): the leader's search "
                  "for the conflicting term ends at its snapshot, where lastIncludedTerm is the "
                  "last term to compare; below it the follower's hint is used, and a hint inside "
                  "the snapshot leads to InstallSnapshot")
SNAP_MULTI = (MULTI + "; section 7 end to end: the leader and a follower compact when asked, a "
              "node that starts late catches up by InstallSnapshot and then AppendEntries, and "
              "commits")


def ent(term: int, i: int) -> Entry:
    """ent is a client entry for a hand-made log: index i of term `term`."""
    return Entry(term, f"c{i}", f"p{i}")


def log_of(*terms: int) -> list[Entry]:
    return [ent(t, i) for i, t in enumerate(terms, start=1)]


class V:
    """V builds one vector: it runs each input at once and records what came out."""

    def __init__(
        self,
        name: str,
        rule: str,
        members: Iterable[int] = (0, 1, 2),
        seed: int = 7,
        initial: dict[int, tuple[int, int | None, list[Entry]]] | None = None,
        snapshots: dict[int, Snapshot] | None = None,
        **config: int,
    ) -> None:
        """`snapshots` gives a node of `initial` a snapshot; its log then starts after it."""
        cfg = dict(CONFIG, **config)
        self.members = list(members)
        self.initial: Json = {
            str(n): {"current_term": t, "voted_for": v, "log": entries_to_json(log)}
            for n, (t, v, log) in sorted((initial or {}).items())
        }
        for n, snap in (snapshots or {}).items():
            self.initial[str(n)]["snapshot"] = snapshot_to_json(snap)
        self.config = Config(**cfg)
        self.cluster = Cluster(self.members, self.config, seed, self.initial)
        self.name, self.rule, self.seed = name, rule, seed
        self.steps: list[Json] = []

    def _do(self, node: int, inp: Json, storage: bool) -> tuple[Ready, Json]:
        out = self.cluster.apply(node, inp)
        exp = observe(out, storage)
        self.steps.append({"node": node, "input": inp, "expect": exp})
        return out.ready, exp

    def core(self, node: int) -> Raft:
        return self.cluster.cores[node]

    def start(self, node: int, now: int = 0, storage: bool = False) -> Ready:
        return self._do(node, {"type": "start", "now": now}, storage)[0]

    def restart(self, node: int, now: int, storage: bool = True) -> Ready:
        return self._do(node, {"type": "restart", "now": now}, storage)[0]

    def tick(self, node: int, now: int | None = None, storage: bool = False) -> Ready:
        """tick ticks a node, by default exactly at its next deadline."""
        t = self.core(node).next_deadline() if now is None else now
        return self._do(node, {"type": "tick", "now": t}, storage)[0]

    def step(self, node: int, msg: Message, now: int, storage: bool = False) -> Ready:
        inp = {"type": "step", "now": now, "msg": msg_to_json(msg)}
        return self._do(node, inp, storage)[0]

    def propose(self, node: int, cmd: str, now: int, payload: str = "") -> tuple[Ready, Json]:
        inp = {"type": "propose", "now": now, "cmd": cmd, "payload": payload}
        r, exp = self._do(node, inp, False)
        return r, exp["propose"]

    def snapshot(self, node: int, index: int, data: str, now: int) -> Ready:
        """snapshot is the host handing node's state machine image at index to its core."""
        inp = {"type": "snapshot", "now": now, "index": index, "data": data}
        return self._do(node, inp, True)[0]

    def deliver(
        self, ready: Ready, now: int, only: Iterable[int] | None = None
    ) -> dict[int, Ready]:
        """deliver steps each message of `ready` into its (started) destination, in order."""
        want = None if only is None else set(only)
        out: dict[int, Ready] = {}
        for to, msg in ready.messages:
            if to in self.cluster.cores and (want is None or to in want):
                out[to] = self.step(to, msg, now)
        return out

    def elect(self, node: int, voters: Iterable[int]) -> tuple[Ready, int]:
        """elect makes `node` time out and feeds it hand-made grants; returns (Ready, now)."""
        now = self.core(node).next_deadline()
        self.tick(node, now)
        term = self.core(node).current_term
        r = Ready()
        for v in voters:
            now += 1000
            r = self.step(node, RequestVoteReply(term, True, v), now)
        assert self.core(node).role == "leader"
        return r, now

    def vector(self) -> Json:
        return {
            "name": self.name,
            "rule": self.rule,
            "members": self.members,
            "config": config_to_json(self.config),
            "seed": self.seed,
            "initial": self.initial,
            "steps": self.steps,
        }


def only_msg(r: Ready) -> Message:
    assert len(r.messages) == 1, r.messages
    return r.messages[0][1]


def empty(r: Ready) -> bool:
    return (r.hard_state is None and not r.log_from and not r.messages and not r.committed
            and not r.transitions)


SCENARIOS: list[Callable[[], V]] = []


def scenario(fn: Callable[[], V]) -> Callable[[], V]:
    SCENARIOS.append(fn)
    return fn


# ---- RequestVote receiver ----------------------------------------------------------------


@scenario
def rv_reject_stale_term() -> V:
    v = V("rv_reject_stale_term", RV_RULE_1, initial={1: (3, None, log_of(1))})
    v.start(1)
    r = v.step(1, RequestVote(2, 0, 5, 2), 1000, storage=True)
    assert r.messages == [(0, RequestVoteReply(3, False, 1))] and r.hard_state is None
    return v


@scenario
def rv_grant_up_to_date_log() -> V:
    v = V("rv_grant_up_to_date_log", RV_RULE_2,
          initial={1: (2, None, [Entry(1, "a", "x")])})
    v.start(1)
    r = v.step(1, RequestVote(3, 0, 1, 1), 1000, storage=True)
    assert r.hard_state == (3, 0) and only_msg(r) == RequestVoteReply(3, True, 1)
    return v


@scenario
def rv_grant_equal_log() -> V:
    v = V("rv_grant_equal_log", RV_RULE_2 + "; an equal log is at least as up-to-date",
          initial={1: (3, None, log_of(1, 2, 3))})
    v.start(1)
    r = v.step(1, RequestVote(3, 2, 3, 3), 1000)
    assert only_msg(r) == RequestVoteReply(3, True, 1) and r.hard_state == (3, 2)
    return v


@scenario
def rv_grant_again_to_same_candidate() -> V:
    v = V("rv_grant_again_to_same_candidate",
          RV_RULE_2 + "; votedFor == candidateId: a retried RequestVote is granted again",
          initial={1: (3, 0, log_of(1))})
    v.start(1)
    r = v.step(1, RequestVote(3, 0, 1, 1), 1000)
    assert only_msg(r) == RequestVoteReply(3, True, 1)
    return v


@scenario
def rv_deny_already_voted_for_another() -> V:
    v = V("rv_deny_already_voted_for_another",
          RV_RULE_2 + "; deny when votedFor is another candidate in this term (Election Safety)",
          initial={1: (3, 2, log_of(1))})
    v.start(1)
    r = v.step(1, RequestVote(3, 0, 9, 3), 1000)
    assert only_msg(r) == RequestVoteReply(3, False, 1) and r.hard_state is None
    r = v.step(1, RequestVote(3, 2, 1, 1), 2000, storage=True)
    assert only_msg(r) == RequestVoteReply(3, True, 1)
    return v


@scenario
def rv_deny_stale_log_by_last_term() -> V:
    v = V("rv_deny_stale_log_by_last_term",
          RV_RULE_2 + "; deny when the candidate's last log term is lower, however long its log"
          " (5.4.1); the higher term is still adopted (All Servers)",
          initial={1: (3, None, log_of(1, 3))})
    v.start(1)
    r = v.step(1, RequestVote(4, 0, 5, 2), 1000, storage=True)
    assert only_msg(r) == RequestVoteReply(4, False, 1) and r.hard_state == (4, None)
    return v


@scenario
def rv_deny_stale_log_by_last_index() -> V:
    v = V("rv_deny_stale_log_by_last_index",
          RV_RULE_2 + "; deny when last terms are equal and the candidate's log is shorter (5.4.1)",
          initial={1: (2, None, log_of(1, 2, 2))})
    v.start(1)
    r = v.step(1, RequestVote(3, 0, 2, 2), 1000, storage=True)
    assert only_msg(r) == RequestVoteReply(3, False, 1) and r.hard_state == (3, None)
    return v


@scenario
def rv_grant_higher_last_term_shorter_log() -> V:
    v = V("rv_grant_higher_last_term_shorter_log",
          RV_RULE_2 + "; a higher last log term wins over a longer log (5.4.1)",
          initial={1: (2, None, log_of(1, 1, 1))})
    v.start(1)
    r = v.step(1, RequestVote(3, 0, 1, 2), 1000)
    assert only_msg(r) == RequestVoteReply(3, True, 1)
    return v


# ---- AppendEntries receiver --------------------------------------------------------------


@scenario
def ae_reject_stale_term() -> V:
    v = V("ae_reject_stale_term", AE_RULE_1 + "; no log change, no timer reset, no leader learnt",
          initial={1: (3, None, log_of(1))})
    v.start(1)
    d0 = v.core(1).next_deadline()
    r = v.step(1, AppendEntries(2, 0, 1, 1, (Entry(2, "x"),), 1), 1000, storage=True)
    assert only_msg(r) == AppendEntriesReply(3, False, 1, 0, 0, 0)
    assert v.core(1).leader_id is None and v.core(1).last_index == 1
    assert v.core(1).next_deadline() == d0
    return v


@scenario
def ae_reject_missing_prev_index() -> V:
    v = V("ae_reject_missing_prev_index",
          AE_RULE_2 + "; log too short: conflict_index = last index + 1, conflict_term 0",
          initial={1: (2, None, log_of(1))})
    v.start(1)
    r = v.step(1, AppendEntries(2, 0, 3, 2, (Entry(2, "x"),), 0), 1000, storage=True)
    assert only_msg(r) == AppendEntriesReply(2, False, 1, 0, 2, 0)
    return v


@scenario
def ae_reject_prev_term_mismatch_conflict_hint() -> V:
    v = V("ae_reject_prev_term_mismatch_conflict_hint",
          AE_RULE_2 + "; term mismatch: conflict_term = the follower's term at prevLogIndex, "
          "conflict_index = its first index of that term (5.3 optimization)",
          initial={1: (3, None, log_of(1, 2, 2, 2))})
    v.start(1)
    r = v.step(1, AppendEntries(3, 0, 4, 3, (), 0), 1000, storage=True)
    assert only_msg(r) == AppendEntriesReply(3, False, 1, 0, 2, 2)
    return v


@scenario
def ae_truncate_conflicting_suffix() -> V:
    v = V("ae_truncate_conflicting_suffix", AE_RULE_3,
          initial={1: (3, None, log_of(1, 2, 2))})
    v.start(1)
    new = (Entry(3, "n2", "q2"), Entry(3, "n3", "q3"))
    r = v.step(1, AppendEntries(3, 0, 1, 1, new, 1), 1000, storage=True)
    assert r.log_from == 2 and r.entries == list(new)
    assert only_msg(r) == AppendEntriesReply(3, True, 1, 3, 0, 0)
    return v


@scenario
def ae_truncate_conflict_in_middle_of_batch() -> V:
    v = V("ae_truncate_conflict_in_middle_of_batch",
          AE_RULE_3 + "; matching leading entries of the batch are kept, truncation starts at "
          "the first conflict",
          initial={1: (3, None, log_of(1, 1, 2, 2))})
    v.start(1)
    old = log_of(1, 1, 2, 2)
    new = (old[1], Entry(3, "n3"), Entry(3, "n4"), Entry(3, "n5"))
    r = v.step(1, AppendEntries(3, 0, 1, 1, new, 0), 1000, storage=True)
    assert r.log_from == 3 and v.core(1).last_index == 5
    return v


@scenario
def ae_append_new_entries() -> V:
    v = V("ae_append_new_entries", AE_RULE_4, initial={1: (1, None, [])})
    v.start(1)
    r = v.step(1, AppendEntries(1, 0, 0, 0, (ent(1, 1), ent(1, 2)), 0), 1000, storage=True)
    assert r.log_from == 1 and only_msg(r) == AppendEntriesReply(1, True, 1, 2, 0, 0)
    r = v.step(1, AppendEntries(1, 0, 2, 1, (ent(1, 3),), 0), 2000, storage=True)
    assert r.log_from == 3 and only_msg(r) == AppendEntriesReply(1, True, 1, 3, 0, 0)
    return v


@scenario
def ae_delayed_shorter_append_does_not_truncate() -> V:
    v = V("ae_delayed_shorter_append_does_not_truncate",
          AE_RULE_3 + "; only a real conflict truncates: a delayed, shorter AppendEntries whose "
          "entries all match leaves the later entries in place",
          initial={1: (1, None, log_of(1, 1, 1))})
    v.start(1)
    r = v.step(1, AppendEntries(1, 0, 0, 0, (ent(1, 1),), 0), 1000, storage=True)
    assert r.log_from == 0 and only_msg(r) == AppendEntriesReply(1, True, 1, 1, 0, 0)
    assert v.core(1).last_index == 3
    return v


@scenario
def ae_leader_commit_min_last_new_entry() -> V:
    v = V("ae_leader_commit_min_last_new_entry", AE_RULE_5,
          initial={1: (1, None, log_of(1, 1, 1, 1))})
    v.start(1)
    r = v.step(1, AppendEntries(1, 0, 1, 1, (ent(1, 2),), 4), 1000)
    assert v.core(1).commit_index == 2 and [i for i, _ in r.committed] == [1, 2]
    r = v.step(1, AppendEntries(1, 0, 4, 1, (), 4), 2000)
    assert v.core(1).commit_index == 4 and [i for i, _ in r.committed] == [3, 4]
    return v


@scenario
def ae_heartbeat_resets_election_timer() -> V:
    v = V("ae_heartbeat_resets_election_timer",
          FOLLOWER + "; an AppendEntries from the current leader resets the timer",
          initial={1: (1, None, [])})
    v.start(1)
    d0 = v.core(1).next_deadline()
    r = v.step(1, AppendEntries(1, 0, 0, 0, (), 0), d0 - 1000)
    assert only_msg(r) == AppendEntriesReply(1, True, 1, 0, 0, 0)
    assert v.core(1).next_deadline() > d0 and v.core(1).leader_id == 0
    assert empty(v.tick(1, d0)) and v.core(1).role == "follower"
    r = v.tick(1)
    assert v.core(1).role == "candidate"
    return v


# ---- all servers -------------------------------------------------------------------------


@scenario
def all_servers_apply_committed_in_order() -> V:
    v = V("all_servers_apply_committed_in_order", ALL_APPLY,
          initial={1: (1, None, log_of(1, 1, 1))})
    v.start(1)
    r = v.step(1, AppendEntries(1, 0, 3, 1, (), 2), 1000)
    assert [i for i, _ in r.committed] == [1, 2] and v.core(1).last_applied == 2
    r = v.step(1, AppendEntries(1, 0, 3, 1, (), 2), 2000)
    assert r.committed == []
    r = v.step(1, AppendEntries(1, 0, 3, 1, (), 3), 3000)
    assert [i for i, _ in r.committed] == [3]
    return v


@scenario
def all_servers_higher_term_candidate_steps_down() -> V:
    v = V("all_servers_higher_term_candidate_steps_down",
          ALL_TERM + "; here a RequestVote response carries the higher term")
    v.start(0)
    v.tick(0)
    assert v.core(0).role == "candidate"
    r = v.step(0, RequestVoteReply(5, False, 1), v.core(0).next_deadline() - 1, storage=True)
    assert r.hard_state == (5, None) and r.transitions == [("follower", 5)]
    return v


@scenario
def all_servers_higher_term_leader_steps_down_and_votes() -> V:
    v = V("all_servers_higher_term_leader_steps_down_and_votes",
          ALL_TERM + "; a leader receiving a higher-term RequestVote steps down, then grants it "
          "(RequestVote rule 2)")
    v.start(0)
    _, now = v.elect(0, [1])
    r = v.step(0, RequestVote(3, 2, 1, 1), now + 1000, storage=True)
    assert r.hard_state == (3, 2) and r.transitions == [("follower", 3)]
    assert only_msg(r) == RequestVoteReply(3, True, 0)
    return v


@scenario
def all_servers_higher_term_leader_steps_down_on_append() -> V:
    v = V("all_servers_higher_term_leader_steps_down_on_append",
          ALL_TERM + "; a leader receiving a higher-term AppendEntries becomes its follower and "
          "handles it")
    v.start(0)
    _, now = v.elect(0, [2])
    r = v.step(0, AppendEntries(4, 1, 0, 0, (Entry(4, None),), 0), now + 1000, storage=True)
    assert r.hard_state == (4, None) and v.core(0).leader_id == 1 and r.log_from == 1
    assert only_msg(r) == AppendEntriesReply(4, True, 0, 1, 0, 0)
    return v


# ---- followers and candidates ------------------------------------------------------------


@scenario
def follower_election_timeout_becomes_candidate() -> V:
    v = V("follower_election_timeout_becomes_candidate", FOLLOWER + "; " + CAND_START,
          initial={0: (2, 1, log_of(1, 2))})
    v.start(0)
    d = v.core(0).next_deadline()
    assert empty(v.tick(0, d - 1))
    r = v.tick(0, d, storage=True)
    assert r.hard_state == (3, 0) and r.transitions == [("candidate", 3)]
    assert r.messages == [(1, RequestVote(3, 0, 2, 2)), (2, RequestVote(3, 0, 2, 2))]
    assert v.core(0).next_deadline() > d
    return v


@scenario
def candidate_wins_majority_becomes_leader() -> V:
    v = V("candidate_wins_majority_becomes_leader", CAND_WIN + "; " + LEAD_INIT)
    v.start(0)
    v.tick(0)
    now = v.core(0).next_deadline() - 100_000
    r = v.step(0, RequestVoteReply(1, False, 2), now)
    assert empty(r) and v.core(0).role == "candidate"
    r = v.step(0, RequestVoteReply(1, True, 1), now + 1000)
    assert r.transitions == [("leader", 1)] and r.log_from == 1
    ae = AppendEntries(1, 0, 0, 0, (Entry(1, None),), 0)
    assert r.messages == [(1, ae), (2, ae)]
    return v


@scenario
def candidate_five_nodes_needs_three_distinct_votes() -> V:
    v = V("candidate_five_nodes_needs_three_distinct_votes",
          CAND_WIN + "; in a cluster of five the majority is three, a repeated grant counts once",
          members=(0, 1, 2, 3, 4))
    v.start(0)
    r = v.tick(0)
    assert [to for to, _ in r.messages] == [1, 2, 3, 4]
    now = v.core(0).next_deadline() - 100_000
    assert empty(v.step(0, RequestVoteReply(1, True, 3), now))
    assert empty(v.step(0, RequestVoteReply(1, True, 3), now + 1))
    assert v.core(0).role == "candidate"
    r = v.step(0, RequestVoteReply(1, True, 4), now + 2)
    assert v.core(0).role == "leader" and len(r.messages) == 4
    return v


@scenario
def candidate_steps_down_on_append_entries_same_term() -> V:
    v = V("candidate_steps_down_on_append_entries_same_term", CAND_AE)
    v.start(0)
    v.tick(0)
    r = v.step(0, AppendEntries(1, 2, 0, 0, (Entry(1, None),), 0),
               v.core(0).next_deadline() - 1, storage=True)
    assert r.transitions == [("follower", 1)] and r.hard_state is None
    assert v.core(0).leader_id == 2
    assert only_msg(r) == AppendEntriesReply(1, True, 0, 1, 0, 0)
    return v


@scenario
def candidate_timeout_starts_new_election() -> V:
    v = V("candidate_timeout_starts_new_election", CAND_TIMEOUT + "; " + CAND_START,
          initial={0: (4, None, log_of(1, 4))})
    v.start(0)
    v.tick(0)
    d = v.core(0).next_deadline()
    assert empty(v.tick(0, d - 1))
    r = v.tick(0, d, storage=True)
    assert r.hard_state == (6, 0) and r.transitions == [("candidate", 6)]
    assert r.messages == [(1, RequestVote(6, 0, 2, 4)), (2, RequestVote(6, 0, 2, 4))]
    return v


# ---- leaders -----------------------------------------------------------------------------


@scenario
def leader_initial_noop_with_existing_log() -> V:
    v = V("leader_initial_noop_with_existing_log", LEAD_INIT,
          initial={0: (2, None, log_of(1, 2))})
    v.start(0)
    r, _ = v.elect(0, [2])
    ae = AppendEntries(3, 0, 2, 2, (Entry(3, None),), 0)
    assert r.messages == [(1, ae), (2, ae)] and r.log_from == 3
    assert v.core(0).commit_index == 0
    return v


@scenario
def leader_heartbeat_on_tick_when_idle() -> V:
    v = V("leader_heartbeat_on_tick_when_idle", LEAD_HB)
    v.start(0)
    _, now = v.elect(0, [1])
    r = v.step(0, AppendEntriesReply(1, True, 1, 1, 0, 0), now + 1000)
    assert [i for i, _ in r.committed] == [1]
    assert empty(v.step(0, AppendEntriesReply(1, True, 2, 1, 0, 0), now + 2000))
    hb = v.core(0).next_deadline()
    assert empty(v.tick(0, hb - 1))
    r = v.tick(0, hb)
    beat = AppendEntries(1, 0, 1, 1, (), 1)
    assert r.messages == [(1, beat), (2, beat)] and v.core(0).next_deadline() == hb + HB
    return v


@scenario
def leader_propose_replicates_and_commits() -> V:
    v = V("leader_propose_replicates_and_commits", LEAD_PROPOSE + "; " + LEAD_COMMIT)
    v.start(0)
    _, now = v.elect(0, [1])
    v.step(0, AppendEntriesReply(1, True, 1, 1, 0, 0), now + 1000)
    v.step(0, AppendEntriesReply(1, True, 2, 1, 0, 0), now + 2000)
    r, res = v.propose(0, "set", now + 3000, "k=v")
    assert res == {"index": 2, "term": 1} and r.log_from == 2
    ae = AppendEntries(1, 0, 1, 1, (Entry(1, "set", "k=v"),), 1)
    assert r.messages == [(1, ae), (2, ae)] and r.committed == []
    r = v.step(0, AppendEntriesReply(1, True, 2, 2, 0, 0), now + 4000)
    assert [i for i, _ in r.committed] == [2] and r.messages == []
    assert empty(v.step(0, AppendEntriesReply(1, True, 1, 2, 0, 0), now + 5000))
    r = v.tick(0)
    beat = AppendEntries(1, 0, 2, 1, (), 2)
    assert r.messages == [(1, beat), (2, beat)]
    return v


@scenario
def leader_success_updates_next_and_match() -> V:
    v = V("leader_success_updates_next_and_match",
          LEAD_SUCCESS + "; a partial success (match below last index) sends the rest at once",
          initial={0: (1, None, log_of(1, 1))})
    v.start(0)
    _, now = v.elect(0, [1])
    r = v.step(0, AppendEntriesReply(2, True, 1, 2, 0, 0), now + 1000)
    assert r.messages == [(1, AppendEntries(2, 0, 2, 1, (Entry(2, None),), 0))]
    assert v.core(0).progress[1].match_index == 2 and r.committed == []
    r = v.step(0, AppendEntriesReply(2, True, 1, 3, 0, 0), now + 2000)
    assert [i for i, _ in r.committed] == [1, 2, 3] and r.messages == []
    pr = v.core(0).progress[1]
    assert (pr.match_index, pr.next_index) == (3, 4)
    r = v.tick(0)
    assert r.messages == [(1, AppendEntries(2, 0, 3, 2, (), 3)),
                          (2, AppendEntries(2, 0, 2, 1, (Entry(2, None),), 3))]
    r = v.step(0, AppendEntriesReply(2, True, 2, 3, 0, 0), v.core(0).next_deadline() - 1)
    assert empty(r)
    pr = v.core(0).progress[2]
    assert (pr.match_index, pr.next_index) == (3, 4)
    return v


@scenario
def leader_backoff_short_follower_log() -> V:
    v = V("leader_backoff_short_follower_log",
          LEAD_BACKOFF + "; the follower's log is too short: nextIndex jumps to its length + 1",
          initial={0: (1, None, log_of(1, 1, 1)), 1: (1, None, log_of(1))})
    v.start(0)
    v.start(1)
    r = v.tick(0)
    now = v.core(0).next_deadline() - 100_000
    rv = v.deliver(r, now, only=[1])
    r = v.deliver(rv[1], now + 1000)[0]
    assert v.core(0).role == "leader"
    r = v.deliver(r, now + 2000, only=[1])[1]
    assert only_msg(r) == AppendEntriesReply(2, False, 1, 0, 2, 0)
    r = v.deliver(r, now + 3000)[0]
    assert only_msg(r).prev_log_index == 1 and len(only_msg(r).entries) == 3
    r = v.deliver(r, now + 4000)[1]
    r = v.deliver(r, now + 5000)[0]
    assert [i for i, _ in r.committed] == [1, 2, 3, 4]
    return v


@scenario
def leader_fast_backtracking_skips_a_term() -> V:
    v = V("leader_fast_backtracking_skips_a_term",
          LEAD_BACKOFF + "; the follower's whole term-2 suffix is skipped in one round trip "
          "because the leader holds no entry of term 2",
          initial={0: (3, None, log_of(1, 1, 3, 3, 3)), 1: (2, None, log_of(1, 1, 2, 2, 2))})
    v.start(0)
    v.start(1)
    r = v.tick(0)
    now = v.core(0).next_deadline() - 100_000
    r = v.deliver(r, now, only=[1])[1]
    r = v.deliver(r, now + 1000)[0]
    r = v.deliver(r, now + 2000, only=[1])[1]
    assert only_msg(r) == AppendEntriesReply(4, False, 1, 0, 3, 2)
    r = v.deliver(r, now + 3000)[0]
    ae = only_msg(r)
    assert isinstance(ae, AppendEntries)
    assert (ae.prev_log_index, ae.prev_log_term, len(ae.entries)) == (2, 1, 4)
    r = v.deliver(r, now + 4000, only=[1])[1]
    assert only_msg(r) == AppendEntriesReply(4, True, 1, 6, 0, 0) and r.log_from == 3
    r = v.deliver(r, now + 5000)[0]
    assert [i for i, _ in r.committed] == [1, 2, 3, 4, 5, 6]
    r = v.tick(0)
    v.deliver(r, v.core(0).next_deadline() - 1, only=[1])
    assert v.core(1).commit_index == 6
    return v


@scenario
def leader_backtracking_conflict_term_known_to_leader() -> V:
    v = V("leader_backtracking_conflict_term_known_to_leader",
          LEAD_BACKOFF + "; the leader also holds the conflicting term, so nextIndex moves just "
          "past its entry of that term at or below conflict_index",
          initial={0: (3, None, log_of(1, 2, 3)), 1: (2, None, log_of(1, 2, 2))})
    v.start(0)
    v.start(1)
    r = v.tick(0)
    now = v.core(0).next_deadline() - 100_000
    r = v.deliver(r, now, only=[1])[1]
    r = v.deliver(r, now + 1000)[0]
    r = v.deliver(r, now + 2000, only=[1])[1]
    assert only_msg(r) == AppendEntriesReply(4, False, 1, 0, 2, 2)
    r = v.deliver(r, now + 3000)[0]
    assert only_msg(r).prev_log_index == 2
    r = v.deliver(r, now + 4000, only=[1])[1]
    assert r.log_from == 3 and only_msg(r) == AppendEntriesReply(4, True, 1, 4, 0, 0)
    r = v.deliver(r, now + 5000)[0]
    assert v.core(0).commit_index == 4
    return v


@scenario
def leader_figure8_commits_only_current_term() -> V:
    v = V("leader_figure8_commits_only_current_term",
          LEAD_COMMIT + "; an entry of term 2 stored on a majority is not committed by the "
          "term-4 leader until its own term-4 entry is",
          initial={0: (3, None, log_of(1, 2)), 1: (3, None, log_of(1))},
          max_batch_entries=1)
    v.start(0)
    v.start(1)
    r = v.tick(0)
    now = v.core(0).next_deadline() - 100_000
    r = v.deliver(r, now, only=[1])[1]
    r = v.deliver(r, now + 1000)[0]
    r = v.deliver(r, now + 2000, only=[1])[1]
    assert only_msg(r) == AppendEntriesReply(4, False, 1, 0, 2, 0)
    r = v.deliver(r, now + 3000)[0]
    assert only_msg(r) == AppendEntries(4, 0, 1, 1, (ent(2, 2),), 0)
    r = v.deliver(r, now + 4000)[1]
    r = v.deliver(r, now + 5000)[0]
    assert v.core(0).progress[1].match_index == 2 and v.core(0).commit_index == 0
    assert r.committed == [] and only_msg(r) == AppendEntries(4, 0, 2, 2, (Entry(4, None),), 0)
    r = v.deliver(r, now + 6000)[1]
    r = v.deliver(r, now + 7000)[0]
    assert [i for i, _ in r.committed] == [1, 2, 3]
    return v


@scenario
def leader_batching_cap() -> V:
    v = V("leader_batching_cap", BATCH + "; " + LEAD_SUCCESS,
          initial={0: (1, None, log_of(1, 1, 1, 1, 1)), 1: (1, None, [])},
          max_batch_entries=2)
    v.start(0)
    v.start(1)
    r = v.tick(0)
    now = v.core(0).next_deadline() - 100_000
    r = v.deliver(r, now, only=[1])[1]
    r = v.deliver(r, now + 1000)[0]
    r = v.deliver(r, now + 2000, only=[1])[1]
    assert only_msg(r) == AppendEntriesReply(2, False, 1, 0, 1, 0)
    sizes = []
    for k in range(4):
        r = v.deliver(r, now + 3000 + 2000 * k)[0]
        if not r.messages:
            break
        ae = only_msg(r)
        assert isinstance(ae, AppendEntries)
        sizes.append((ae.prev_log_index, len(ae.entries)))
        r = v.deliver(r, now + 4000 + 2000 * k)[1]
    assert sizes == [(0, 2), (2, 2), (4, 2)], sizes
    assert v.core(0).commit_index == 6
    return v


@scenario
def leader_one_in_flight_flow_control() -> V:
    v = V("leader_one_in_flight_flow_control", INFLIGHT)
    v.start(0)
    _, now = v.elect(0, [1])
    v.step(0, AppendEntriesReply(1, True, 1, 1, 0, 0), now + 1000)
    v.step(0, AppendEntriesReply(1, True, 2, 1, 0, 0), now + 2000)
    r, _ = v.propose(0, "a", now + 3000)
    assert [to for to, _ in r.messages] == [1, 2]
    r, res = v.propose(0, "b", now + 4000)
    assert res == {"index": 3, "term": 1} and r.messages == [] and r.log_from == 3
    r = v.step(0, AppendEntriesReply(1, True, 1, 2, 0, 0), now + 5000)
    assert r.messages == [(1, AppendEntries(1, 0, 2, 1, (Entry(1, "b"),), 2))]
    r = v.tick(0)
    assert r.messages == [(1, AppendEntries(1, 0, 2, 1, (Entry(1, "b"),), 2)),
                          (2, AppendEntries(1, 0, 1, 1, (Entry(1, "a"), Entry(1, "b")), 2))]
    return v


@scenario
def propose_on_non_leader_returns_hint() -> V:
    v = V("propose_on_non_leader_returns_hint", NOT_LEADER, initial={1: (1, None, [])})
    v.start(1)
    r, res = v.propose(1, "x", 1000)
    assert res == {"not_leader": None} and empty(r)
    v.step(1, AppendEntries(1, 2, 0, 0, (), 0), 2000)
    r, res = v.propose(1, "x", 3000)
    assert res == {"not_leader": 2} and empty(r)
    v.tick(1)
    r, res = v.propose(1, "x", v.core(1).next_deadline() - 1)
    assert res == {"not_leader": None} and v.core(1).role == "candidate"
    return v


# ---- restart -----------------------------------------------------------------------------


@scenario
def restart_keeps_term_vote_log_and_resets_commit() -> V:
    v = V("restart_keeps_term_vote_log_and_resets_commit",
          RESTART + "; the restarted node denies a second vote in the same term and re-applies "
          "its log from index 1 once it learns the commit index",
          initial={1: (2, None, log_of(1, 2))})
    v.start(1)
    r = v.step(1, RequestVote(3, 0, 2, 2), 1000)
    assert only_msg(r) == RequestVoteReply(3, True, 1)
    r = v.step(1, AppendEntries(3, 0, 2, 2, (Entry(3, None), Entry(3, "w")), 3), 2000)
    assert [i for i, _ in r.committed] == [1, 2, 3]
    r = v.restart(1, 500_000)
    s = v.core(1)
    assert (s.current_term, s.voted_for, s.last_index) == (3, 0, 4)
    assert (s.commit_index, s.last_applied, s.role) == (0, 0, "follower") and empty(r)
    r = v.step(1, RequestVote(3, 2, 9, 3), 501_000, storage=True)
    assert only_msg(r) == RequestVoteReply(3, False, 1)
    r = v.step(1, AppendEntries(3, 0, 4, 3, (), 4), 502_000)
    assert [i for i, _ in r.committed] == [1, 2, 3, 4]
    return v


@scenario
def restart_candidate_does_not_vote_twice() -> V:
    v = V("restart_candidate_does_not_vote_twice",
          RESTART + "; a candidate that voted for itself and restarts denies another candidate "
          "of the same term (Election Safety, 5.2)")
    v.start(0)
    v.tick(0)
    v.restart(0, 400_000)
    assert (v.core(0).current_term, v.core(0).voted_for) == (1, 0)
    r = v.step(0, RequestVote(1, 2, 0, 0), 401_000)
    assert only_msg(r) == RequestVoteReply(1, False, 0)
    return v


# ---- single node -------------------------------------------------------------------------


@scenario
def single_node_elects_itself_and_commits() -> V:
    v = V("single_node_elects_itself_and_commits", SINGLE, members=(0,))
    v.start(0)
    r = v.tick(0, storage=True)
    assert r.transitions == [("candidate", 1), ("leader", 1)] and r.messages == []
    assert r.committed == [(1, Entry(1, None))]
    r, res = v.propose(0, "x", v.core(0).next_deadline() - 1, "y")
    assert res == {"index": 2, "term": 1} and r.committed == [(2, Entry(1, "x", "y"))]
    assert empty(v.tick(0))
    r = v.restart(0, 1_000_000)
    assert v.core(0).commit_index == 0
    r = v.tick(0)
    assert [i for i, _ in r.committed] == [1, 2, 3] and v.core(0).current_term == 2
    return v


# ---- stale messages ----------------------------------------------------------------------


@scenario
def stale_replies_ignored() -> V:
    v = V("stale_replies_ignored",
          STALE + "; a stale vote grant does not count toward a majority, a stale "
          "AppendEntries reply does not move nextIndex",
          initial={0: (2, None, log_of(1, 2))})
    v.start(0)
    v.tick(0)
    now = v.core(0).next_deadline() - 100_000
    assert empty(v.step(0, RequestVoteReply(2, True, 1), now))
    assert v.core(0).role == "candidate"
    v.step(0, RequestVoteReply(3, True, 1), now + 1000)
    assert v.core(0).role == "leader"
    assert empty(v.step(0, AppendEntriesReply(2, False, 1, 0, 1, 0), now + 2000))
    assert empty(v.step(0, AppendEntriesReply(2, True, 2, 3, 0, 0), now + 3000))
    assert empty(v.step(0, RequestVoteReply(2, True, 2), now + 4000))
    assert v.core(0).progress[2].match_index == 0 and v.core(0).progress[1].next_index == 3
    return v


@scenario
def stale_rejection_after_success_ignored() -> V:
    v = V("stale_rejection_after_success_ignored",
          STALE + "; a delayed rejection of the current term below matchIndex + 1 is stale and "
          "sends nothing")
    v.start(0)
    _, now = v.elect(0, [1])
    v.step(0, AppendEntriesReply(1, True, 1, 1, 0, 0), now + 1000)
    r = v.step(0, AppendEntriesReply(1, False, 1, 0, 1, 0), now + 2000)
    assert empty(r) and v.core(0).progress[1].next_index == 2
    return v


@scenario
def follower_ignores_replies_of_its_term() -> V:
    v = V("follower_ignores_replies_of_its_term",
          STALE + "; replies reaching a follower belong to an old candidacy or leadership",
          initial={1: (2, None, log_of(1))})
    v.start(1)
    assert empty(v.step(1, RequestVoteReply(2, True, 0), 1000))
    assert empty(v.step(1, AppendEntriesReply(2, True, 0, 1, 0, 0), 2000))
    assert v.core(1).role == "follower"
    return v


# ---- multi-node --------------------------------------------------------------------------


def earliest(v: V, nodes: Iterable[int]) -> int:
    return min(nodes, key=lambda n: (v.core(n).next_deadline(), n))


@scenario
def multi_node_election_and_replication() -> V:
    v = V("multi_node_election_and_replication",
          MULTI + "; " + CAND_WIN + "; " + LEAD_COMMIT + "; " + AE_RULE_5, seed=11)
    for n in v.members:
        v.start(n)
    c = earliest(v, v.members)
    r = v.tick(c)
    now = v.core(c).next_deadline() - 100_000
    replies = v.deliver(r, now)
    for k, n in enumerate(sorted(replies)):
        lr = v.deliver(replies[n], now + 1000 + k)[c]
        if lr.transitions:
            r = lr
    assert v.core(c).role == "leader"
    acks = v.deliver(r, now + 2000)
    for k, n in enumerate(sorted(acks)):
        v.deliver(acks[n], now + 3000 + k)
    assert v.core(c).commit_index == 1
    r, res = v.propose(c, "set", now + 4000, "a=1")
    assert res == {"index": 2, "term": 1}
    acks = v.deliver(r, now + 5000)
    for k, n in enumerate(sorted(acks)):
        v.deliver(acks[n], now + 6000 + k)
    assert v.core(c).commit_index == 2
    r = v.tick(c)
    acks = v.deliver(r, v.core(c).next_deadline() - HB + 1000)
    assert all(v.core(n).commit_index == 2 for n in v.members)
    return v


@scenario
def multi_node_competing_candidates() -> V:
    v = V("multi_node_competing_candidates",
          MULTI + "; two candidates of the same term: each denies the other (it voted for "
          "itself), the voter grants only the first (one vote per term), the loser steps down "
          "on the winner's AppendEntries", seed=3)
    for n in v.members:
        v.start(n)
    a, b = sorted((0, 1), key=lambda n: (v.core(n).next_deadline(), n))
    ra = v.tick(a)
    rb = v.tick(b)
    now = max(v.core(a).next_deadline(), v.core(b).next_deadline()) - 150_000
    assert now > 0
    ga = v.deliver(ra, now, only=[2])[2]
    gb = v.deliver(rb, now + 100, only=[2])[2]
    assert only_msg(ga).vote_granted and not only_msg(gb).vote_granted
    da = v.deliver(ra, now + 200, only=[b])[b]
    db = v.deliver(rb, now + 300, only=[a])[a]
    assert not only_msg(da).vote_granted and not only_msg(db).vote_granted
    v.deliver(db, now + 400)
    v.deliver(gb, now + 500)
    assert v.core(b).role == "candidate"
    r = v.deliver(ga, now + 600)[a]
    assert v.core(a).role == "leader"
    r = v.deliver(r, now + 700, only=[b])[b]
    assert v.core(b).role == "follower" and v.core(b).leader_id == a
    v.deliver(da, now + 800)
    return v


@scenario
def multi_node_five_with_failed_node_and_stale_voter() -> V:
    v = V("multi_node_five_with_failed_node_and_stale_voter",
          MULTI + "; five members, one never started, one denies on a stale log (5.4.1); the "
          "candidate still reaches three votes",
          members=(0, 1, 2, 3, 4), seed=5,
          initial={0: (1, None, log_of(1)), 1: (1, None, []), 2: (1, None, log_of(1)),
                   3: (1, None, log_of(1, 1))})
    for n in (0, 1, 2, 3):
        v.start(n)
    r = v.tick(0)
    now = v.core(0).next_deadline() - 140_000
    replies = v.deliver(r, now)
    assert sorted(replies) == [1, 2, 3] and not only_msg(replies[3]).vote_granted
    r = v.deliver(replies[3], now + 1000)[0]
    r = v.deliver(replies[1], now + 1001)[0]
    assert v.core(0).role == "candidate"
    r = v.deliver(replies[2], now + 1002)[0]
    assert v.core(0).role == "leader"
    acks = v.deliver(r, now + 2000)
    for k, n in enumerate(sorted(acks)):
        v.deliver(acks[n], now + 3000 + k)
    assert v.core(0).commit_index == 2 and v.core(3).last_index == 2
    return v


# ---- log compaction and InstallSnapshot (section 7, Figure 13) --------------------------


def snap(index: int, term: int) -> Snapshot:
    """snap is a hand-made snapshot; its data names the index it stands for."""
    return Snapshot(index, term, f"sm@{index}".encode())


def installs(m: Message, s: Snapshot, term: int, leader: int) -> bool:
    return m == InstallSnapshot(term, leader, s.last_included_index, s.last_included_term, s.data)


@scenario
def snap_due_when_applied_reaches_threshold() -> V:
    v = V("snap_due_when_applied_reaches_threshold",
          SNAP_WHEN + "; a host that does not snapshot is asked again at its next commit",
          members=(0,), snapshot_entries=3)
    v.start(0)
    r = v.tick(0)
    assert r.committed == [(1, Entry(1, None))] and r.snapshot_due == 0
    now = v.core(0).next_deadline() - 10_000
    r, _ = v.propose(0, "a", now, "1")
    assert r.snapshot_due == 0
    r, _ = v.propose(0, "b", now + 1000, "2")
    assert r.committed == [(3, Entry(1, "b", "2"))] and r.snapshot_due == 3
    r, _ = v.propose(0, "c", now + 2000, "3")
    assert r.snapshot_due == 4 and v.core(0).last_included_index == 0
    return v


@scenario
def snap_compaction_drops_prefix() -> V:
    v = V("snap_compaction_drops_prefix",
          SNAP_COMPACT + "; a request at an index already compacted is stale and ignored",
          members=(0,), snapshot_entries=3)
    v.start(0)
    v.tick(0)
    now = v.core(0).next_deadline() - 10_000
    v.propose(0, "a", now, "1")
    r, _ = v.propose(0, "b", now + 1000, "2")
    assert r.snapshot_due == 3
    r = v.snapshot(0, 3, "sm@3", now + 1000)
    s = v.core(0)
    assert r.snapshot == snap(3, 1) and r.log_from == 0 and not r.committed
    assert (s.last_included_index, s.last_included_term, s.last_index, s.log) == (3, 1, 3, [])
    assert v.cluster.storages[0].entries() == [] and s.term_at(3) == 1
    r, res = v.propose(0, "c", now + 2000, "3")
    assert res == {"index": 4, "term": 1} and r.committed == [(4, Entry(1, "c", "3"))]
    assert r.snapshot_due == 0 and s.log == [Entry(1, "c", "3")]
    assert empty(v.snapshot(0, 2, "sm@2", now + 3000)) and s.last_included_index == 3
    return v


@scenario
def snap_append_prev_at_boundary() -> V:
    v = V("snap_append_prev_at_boundary", SNAP_AE_BOUNDARY,
          initial={1: (2, None, [])}, snapshots={1: snap(4, 2)})
    v.start(1)
    r = v.step(1, AppendEntries(2, 0, 4, 2, (ent(2, 5), ent(2, 6)), 6), 1000, storage=True)
    assert only_msg(r) == AppendEntriesReply(2, True, 1, 6, 0, 0) and r.log_from == 5
    assert [i for i, _ in r.committed] == [5, 6]
    return v


@scenario
def snap_append_prev_below_boundary_skips_covered_entries() -> V:
    v = V("snap_append_prev_below_boundary_skips_covered_entries", SNAP_AE_BELOW,
          initial={1: (2, None, [ent(2, 5)])}, snapshots={1: snap(4, 2)})
    v.start(1)
    batch = (ent(1, 3), ent(2, 4), ent(2, 5), ent(2, 6))
    r = v.step(1, AppendEntries(2, 0, 2, 1, batch, 6), 1000, storage=True)
    assert only_msg(r) == AppendEntriesReply(2, True, 1, 6, 0, 0) and r.log_from == 6
    assert [i for i, _ in r.committed] == [5, 6]
    r = v.step(1, AppendEntries(2, 0, 1, 1, (ent(1, 2), ent(1, 3)), 3), 2000, storage=True)
    assert only_msg(r) == AppendEntriesReply(2, True, 1, 3, 0, 0) and r.log_from == 0
    assert v.core(1).commit_index == 6 and v.core(1).last_index == 6
    return v


@scenario
def snap_conflict_hint_stops_at_snapshot() -> V:
    v = V("snap_conflict_hint_stops_at_snapshot", SNAP_HINT,
          initial={1: (3, None, [ent(2, 5), ent(2, 6), ent(2, 7)])}, snapshots={1: snap(4, 2)})
    v.start(1)
    r = v.step(1, AppendEntries(3, 0, 7, 3, (), 4), 1000)
    assert only_msg(r) == AppendEntriesReply(3, False, 1, 0, 5, 2)
    return v


@scenario
def snap_vote_up_to_date_uses_last_included_term() -> V:
    v = V("snap_vote_up_to_date_uses_last_included_term", SNAP_VOTE,
          initial={1: (3, None, [])}, snapshots={1: snap(5, 2)})
    r = v.start(1)
    assert r.restore == snap(5, 2) and v.core(1).last_index == 5
    r = v.step(1, RequestVote(4, 0, 9, 1), 1000)
    assert only_msg(r) == RequestVoteReply(4, False, 1)
    r = v.step(1, RequestVote(4, 2, 4, 2), 2000)
    assert only_msg(r) == RequestVoteReply(4, False, 1)
    r = v.step(1, RequestVote(4, 2, 5, 2), 3000, storage=True)
    assert only_msg(r) == RequestVoteReply(4, True, 1) and r.hard_state == (4, 2)
    r = v.tick(1)
    assert r.messages == [(0, RequestVote(5, 1, 5, 2)), (2, RequestVote(5, 1, 5, 2))]
    return v


@scenario
def snap_restart_from_snapshot_and_log() -> V:
    v = V("snap_restart_from_snapshot_and_log", SNAP_RESTART,
          initial={1: (2, None, log_of(1, 1, 2))}, snapshot_entries=2)
    v.start(1)
    r = v.step(1, AppendEntries(2, 0, 3, 2, (), 3), 1000)
    assert [i for i, _ in r.committed] == [1, 2, 3] and r.snapshot_due == 3
    r = v.snapshot(1, 3, "sm@3", 1000)
    assert r.snapshot == snap(3, 2)
    r = v.step(1, AppendEntries(2, 0, 3, 2, (ent(2, 4), ent(2, 5)), 4), 2000, storage=True)
    assert [i for i, _ in r.committed] == [4] and r.snapshot_due == 0
    r = v.restart(1, 500_000)
    s = v.core(1)
    assert r.restore == snap(3, 2) and not r.committed and r.snapshot is None
    assert (s.commit_index, s.last_applied, s.last_index, s.last_included_index) == (3, 3, 5, 3)
    r = v.step(1, AppendEntries(2, 0, 5, 2, (), 5), 501_000)
    assert [i for i, _ in r.committed] == [4, 5] and r.snapshot_due == 5
    return v


@scenario
def snap_leader_sends_install_snapshot_when_next_compacted() -> V:
    v = V("snap_leader_sends_install_snapshot_when_next_compacted", IS_SEND,
          initial={0: (1, None, [ent(1, 4)])}, snapshots={0: snap(3, 1)})
    v.start(0)
    r, now = v.elect(0, [2])
    ae = AppendEntries(2, 0, 4, 1, (Entry(2, None),), 3)
    assert r.messages == [(1, ae), (2, ae)]
    r = v.step(0, AppendEntriesReply(2, False, 1, 0, 1, 0), now + 1000)
    assert installs(only_msg(r), snap(3, 1), 2, 0) and r.messages[0][0] == 1
    r, _ = v.propose(0, "x", now + 2000)
    assert r.messages == []  # 1 awaits its snapshot, 2 its no-op
    r = v.tick(0)
    assert installs(r.messages[0][1], snap(3, 1), 2, 0) and r.messages[0][0] == 1
    assert r.messages[1] == (2, AppendEntries(2, 0, 4, 1, (Entry(2, None), Entry(2, "x")), 3))
    return v


@scenario
def snap_install_reply_advances_match_and_next() -> V:
    v = V("snap_install_reply_advances_match_and_next", IS_REPLY + "; " + LEAD_COMMIT,
          initial={0: (1, None, [ent(1, 4)])}, snapshots={0: snap(3, 1)})
    v.start(0)
    _, now = v.elect(0, [2])
    v.step(0, AppendEntriesReply(2, False, 1, 0, 1, 0), now + 1000)
    r = v.step(0, InstallSnapshotReply(2, 1, 3), now + 2000)
    pr = v.core(0).progress[1]
    assert (pr.match_index, pr.next_index) == (3, 4) and v.core(0).commit_index == 3
    assert r.messages == [(1, AppendEntries(2, 0, 3, 1, (ent(1, 4), Entry(2, None)), 3))]
    r = v.step(0, AppendEntriesReply(2, True, 1, 5, 0, 0), now + 3000)
    assert [i for i, _ in r.committed] == [4, 5]
    assert empty(v.step(0, InstallSnapshotReply(2, 1, 3), now + 4000))
    return v


@scenario
def snap_install_discards_conflicting_log() -> V:
    v = V("snap_install_discards_conflicting_log", IS_RULE_7,
          initial={1: (3, None, log_of(1, 1, 2, 2))})
    v.start(1)
    r = v.step(1, InstallSnapshot(3, 0, 3, 3, b"sm@3"), 1000, storage=True)
    s = v.core(1)
    assert r.snapshot == r.restore == snap(3, 3) and (r.log_from, r.entries) == (4, [])
    assert only_msg(r) == InstallSnapshotReply(3, 1, 3) and not r.committed
    assert (s.commit_index, s.last_applied, s.last_index, s.log) == (3, 3, 3, [])
    assert v.cluster.storages[1].entries() == [] and s.leader_id == 0
    return v


@scenario
def snap_install_retains_matching_suffix() -> V:
    v = V("snap_install_retains_matching_suffix", IS_RULE_6,
          initial={1: (3, None, log_of(1, 1, 2, 2, 3))})
    v.start(1)
    r = v.step(1, InstallSnapshot(3, 0, 3, 2, b"sm@3"), 1000, storage=True)
    s = v.core(1)
    assert r.snapshot == r.restore == snap(3, 2) and r.log_from == 0
    assert only_msg(r) == InstallSnapshotReply(3, 1, 3)
    assert (s.commit_index, s.last_index, s.log) == (3, 5, log_of(1, 1, 2, 2, 3)[3:])
    r = v.step(1, AppendEntries(3, 0, 5, 3, (), 5), 2000)
    assert [i for i, _ in r.committed] == [4, 5]
    return v


@scenario
def snap_install_rejects_stale_term() -> V:
    v = V("snap_install_rejects_stale_term",
          IS_RULE_1 + "; no snapshot, no timer reset, no leader learnt",
          initial={1: (4, None, log_of(1))})
    v.start(1)
    d0 = v.core(1).next_deadline()
    r = v.step(1, InstallSnapshot(3, 0, 5, 3, b"sm@5"), 1000, storage=True)
    assert only_msg(r) == InstallSnapshotReply(4, 1, 0) and r.snapshot is None
    assert v.core(1).leader_id is None and v.core(1).next_deadline() == d0
    return v


@scenario
def snap_install_older_than_commit_ignored() -> V:
    v = V("snap_install_older_than_commit_ignored", IS_OLD,
          initial={1: (2, None, log_of(1, 1, 1, 1))})
    v.start(1)
    v.step(1, AppendEntries(2, 0, 4, 1, (), 4), 1000)
    r = v.step(1, InstallSnapshot(2, 0, 3, 1, b"sm@3"), 2000, storage=True)
    assert only_msg(r) == InstallSnapshotReply(2, 1, 4)
    assert r.snapshot is None and r.restore is None and v.core(1).last_included_index == 0
    r = v.step(1, InstallSnapshot(2, 0, 4, 1, b"sm@4"), 3000, storage=True)
    assert only_msg(r) == InstallSnapshotReply(2, 1, 4) and r.restore is None
    return v


@scenario
def snap_install_candidate_steps_down() -> V:
    v = V("snap_install_candidate_steps_down", IS_CAND)
    v.start(0)
    v.tick(0)
    r = v.step(0, InstallSnapshot(1, 2, 4, 1, b"sm@4"), v.core(0).next_deadline() - 1,
               storage=True)
    assert r.transitions == [("follower", 1)] and r.restore == snap(4, 1)
    assert only_msg(r) == InstallSnapshotReply(1, 0, 4) and v.core(0).leader_id == 2
    return v


@scenario
def snap_leader_backtracking_stops_at_snapshot() -> V:
    v = V("snap_leader_backtracking_stops_at_snapshot", SNAP_BACKTRACK,
          initial={0: (3, None, [ent(3, 4), ent(3, 5)])}, snapshots={0: snap(3, 2)})
    v.start(0)
    _, now = v.elect(0, [2])
    r = v.step(0, AppendEntriesReply(4, False, 1, 0, 2, 2), now + 1000)
    assert r.messages == [(1, AppendEntries(4, 0, 3, 2, (ent(3, 4), ent(3, 5), Entry(4, None)),
                                            3))]
    r = v.step(0, AppendEntriesReply(4, False, 2, 0, 2, 1), now + 2000)
    assert installs(only_msg(r), snap(3, 2), 4, 0) and r.messages[0][0] == 2
    return v


@scenario
def snap_multi_node_lagging_follower_catches_up() -> V:
    v = V("snap_multi_node_lagging_follower_catches_up", SNAP_MULTI, seed=11,
          snapshot_entries=3)
    applied: dict[int, list[str]] = {0: [], 1: [], 2: []}  # each host's state machine

    def host(node: int, r: Ready, now: int) -> None:
        """host applies r's committed commands, then snapshots when r asks."""
        if r.restore is not None:
            applied[node] = r.restore.data.decode().split(",")
        applied[node] += [e.cmd for _, e in r.committed if e.cmd is not None]
        if r.snapshot_due:
            v.snapshot(node, r.snapshot_due, ",".join(applied[node]), now)

    for n in (0, 1):
        v.start(n)
    r = v.tick(0)
    now = v.core(0).next_deadline() - 100_000
    r = v.deliver(r, now, only=[1])[1]
    r = v.deliver(r, now + 1000)[0]
    r = v.deliver(r, now + 2000, only=[1])[1]
    host(0, v.deliver(r, now + 3000)[0], now + 3000)
    for k, cmd in enumerate("abc"):
        at = now + 4000 + 1000 * k
        r, _ = v.propose(0, cmd, at)
        r = v.deliver(r, at + 100, only=[1])[1]
        host(1, r, at + 100)
        r = v.deliver(r, at + 200)[0]
        host(0, r, at + 200)
    assert [v.core(n).last_included_index for n in (0, 1)] == [3, 3]
    assert v.core(0).commit_index == 4 and v.core(0).log == [Entry(1, "c")]
    r = v.tick(0)
    hb = v.core(0).next_deadline() - 50_000
    v.start(2, hb)
    r = v.deliver(r, hb + 1000, only=[2])[2]
    assert r.restore == Snapshot(3, 1, b"a,b") and only_msg(r) == InstallSnapshotReply(1, 2, 3)
    host(2, r, hb + 1000)
    r = v.deliver(r, hb + 2000)[0]
    assert r.messages == [(2, AppendEntries(1, 0, 3, 1, (Entry(1, "c"),), 4))]
    r = v.deliver(r, hb + 3000)[2]
    host(2, r, hb + 3000)
    v.deliver(r, hb + 4000)
    assert v.core(0).progress[2].match_index == 4 and applied[2] == applied[0] == ["a", "b", "c"]
    return v


def main() -> None:
    out_dir = HERE
    names = set()
    for fn in SCENARIOS:
        vec = fn().vector()
        assert vec["name"] == fn.__name__, (vec["name"], fn.__name__)
        assert vec["name"] not in names
        names.add(vec["name"])
        text = json.dumps(vec, indent=1, sort_keys=False) + "\n"
        (out_dir / f"{vec['name']}.json").write_text(text)
    for p in sorted(out_dir.glob("*.json")):
        if p.stem not in names:
            print(f"note: {p.name} is not generated by this script (left in place)")
    print(f"wrote {len(names)} vectors to {out_dir}")


if __name__ == "__main__":
    main()
