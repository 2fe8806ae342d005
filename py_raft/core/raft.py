"""Raft: the protocol of Figure 2 as a sans-I/O state machine, with the log compaction of section 7.

Every rule that changes a server's state lives in this file: the term check at
the top of `step`, one handler per role, and one `_become_*` per transition.
Section numbers refer to the extended Raft paper (Ongaro and Ousterhout, 2014).

Log compaction (section 7, Figure 13): a snapshot replaces the log up to
`last_included_index`, so `log[0]` holds index `last_included_index + 1`.
Every lookup by index subtracts that offset (`term_at`, `last_index`), and the
term of the last included entry stands in for the entries it replaced. With
snapshots off the offset stays 0 and every decision is the one of Figure 2.
"""

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from py_raft.core import quorum
from py_raft.core.errors import NotLeader, SnapshotAhead
from py_raft.core.messages import (
    AppendEntries,
    AppendEntriesReply,
    Entry,
    InstallSnapshot,
    InstallSnapshotReply,
    Message,
    RequestVote,
    RequestVoteReply,
)
from py_raft.core.progress import Progress
from py_raft.core.ready import Ready
from py_raft.core.rng import SplitMix64
from py_raft.core.snapshot import Snapshot
from py_raft.core.storage import Storage

_log = logging.getLogger("py_raft.core")


class Role(StrEnum):
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class Config:
    """Config holds the timing rules, in integer microseconds, the batching cap and
    the compaction threshold."""

    election_timeout_min_us: int
    election_timeout_max_us: int
    heartbeat_us: int
    max_batch_entries: int = 64
    # The first election timeout a server draws when it starts may come from a
    # wider range (0: the normal one). Raft's timing rule asks for a spread
    # large against a broadcast; at thousands of nodes that starting spread
    # must grow with N (docs/benchmarking.md), while every later draw keeps
    # the normal range, which is what a held leader is judged under.
    first_election_timeout_min_us: int = 0
    first_election_timeout_max_us: int = 0
    # Section 7: once the state machine has applied this many entries past the
    # last snapshot, a Ready asks the host for a new one (`snapshot_due`).
    # 0: never; the log then grows without compaction, as before.
    snapshot_entries: int = 0

    def __post_init__(self) -> None:
        assert 0 < self.election_timeout_min_us <= self.election_timeout_max_us
        assert 0 <= self.first_election_timeout_min_us <= self.first_election_timeout_max_us
        assert self.heartbeat_us > 0 and self.max_batch_entries > 0
        assert self.snapshot_entries >= 0


class Raft:
    """Raft is one server. It is not thread-safe: one runtime thread or task owns it."""

    def __init__(
        self,
        node_id: int,
        members: Iterable[int],
        storage: Storage,
        config: Config,
        rng: SplitMix64,
        now: int,
    ) -> None:
        self.id = node_id
        self.members = _members(node_id, members)
        self.config = config
        self._rng = rng
        self.current_term, self.voted_for = storage.hard_state()
        # Section 7: log[0] is the entry at last_included_index + 1; the
        # snapshot stands for every entry up to last_included_index.
        self._snapshot: Snapshot | None = None
        self.last_included_index = 0
        self.last_included_term = 0
        self.log: list[Entry] = storage.entries()
        # Volatile state restarts from zero (Figure 2): a restarted server
        # re-applies its log from the start once it learns the commit index.
        # With a snapshot it restarts from the snapshot's index instead: the
        # snapshot holds only applied, hence committed, entries.
        self.commit_index = 0
        self.last_applied = 0
        self.role = Role.FOLLOWER
        self.leader_id: int | None = None
        self.votes: set[int] = set()
        self.progress: dict[int, Progress] = {}
        # replicas[i], on a leader: followers whose match_index >= i, for
        # commit_index < i <= last_index (what _maybe_commit counts).
        self.replicas: dict[int, int] = {}
        self.election_deadline = now + self._first_election_timeout()
        self.heartbeat_deadline = 0
        self._ready = Ready()
        # A Storage from before snapshots has no `snapshot` (see SnapshotStorage);
        # getattr, not a runtime Protocol check, which costs as much as the rest of __init__.
        load = getattr(storage, "snapshot", None)
        snap: Snapshot | None = load() if load is not None else None
        if snap is not None:
            self._snapshot = snap
            self.last_included_index = snap.last_included_index
            self.last_included_term = snap.last_included_term
            self.commit_index = self.last_applied = snap.last_included_index
            self._ready.restore = snap  # the host's state machine starts from it

    # ---- queries -------------------------------------------------------------------

    @property
    def last_index(self) -> int:
        return self.last_included_index + len(self.log)

    def term_at(self, index: int) -> int:
        """term_at is the term of the entry at index: 0 at index 0, and the
        snapshot's last included term at its last included index."""
        offset = index - self.last_included_index
        if offset > 0:
            return self.log[offset - 1].term
        assert offset == 0, f"the term of compacted index {index} is gone"
        return self.last_included_term

    def next_deadline(self) -> int:
        """next_deadline is when the runtime must call `tick` next, if nothing else arrives."""
        return self.heartbeat_deadline if self.role is Role.LEADER else self.election_deadline

    def has_ready(self) -> bool:
        r = self._ready
        return bool(
            r.hard_state or r.log_from or r.messages or r.transitions or r.snapshot or r.restore
        ) or self.last_applied < self.commit_index

    def ready(self) -> Ready:
        """ready hands over, and forgets, everything the runtime must now do."""
        r, self._ready = self._ready, Ready()
        base, log = self.last_included_index, self.log
        if r.log_from:
            r.entries = log[r.log_from - base - 1 :]
        if self.last_applied < self.commit_index:
            first = self.last_applied + 1
            r.committed = [(i, log[i - base - 1]) for i in range(first, self.commit_index + 1)]
            self.last_applied = self.commit_index
            # The one place that decides when to compact (section 7).
            every = self.config.snapshot_entries
            if every and self.last_applied - base >= every:
                r.snapshot_due = self.last_applied
        return r

    # ---- inputs --------------------------------------------------------------------

    def tick(self, now: int) -> None:
        """tick fires whichever deadline has passed: a heartbeat or an election timeout."""
        if self.role is Role.LEADER:
            if now >= self.heartbeat_deadline:
                self.heartbeat_deadline = now + self.config.heartbeat_us
                for peer in self._peers():
                    self._send_append(peer)
        elif now >= self.election_deadline:
            self._become_candidate(now)  # section 5.2: no word from a leader in time

    def propose(self, cmd: str, payload: str, now: int) -> tuple[int, int]:
        """propose appends a client command; it returns (index, term) for the client to await."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.leader_id)
        self._append(Entry(self.current_term, cmd, payload))
        for peer in self._peers():
            if not self.progress[peer].inflight:
                self._send_append(peer)
        self._maybe_commit()
        return self.last_index, self.current_term

    def snapshot(self, index: int, data: bytes) -> None:
        """snapshot compacts the log (section 7): data, the host's state machine
        after applying the entry at index, replaces the log up to that entry.

        The host calls it when a Ready's `snapshot_due` asks, after applying
        that Ready; the next Ready carries the snapshot to persist. An index
        already compacted is stale and ignored; one above `last_applied` is the
        host's mistake (SnapshotAhead).
        """
        if index <= self.last_included_index:
            _log.debug("node %d ignores a snapshot at %d (it has one at %d)", self.id, index,
                       self.last_included_index)
            return
        if index > self.last_applied:
            raise SnapshotAhead(index, self.last_applied)
        snap = Snapshot(index, self.term_at(index), data)
        self._compact(snap, keep_log=True)
        self._ready.snapshot = snap

    def step(self, msg: Message, now: int) -> None:
        """step handles one message. The term rules of section 5.1 are checked once, here."""
        if msg.term > self.current_term:
            leader = msg.leader_id if isinstance(msg, (AppendEntries, InstallSnapshot)) else None
            self._become_follower(msg.term, leader, now)
        elif msg.term < self.current_term:
            self._reject_stale(msg)
            return
        if isinstance(msg, RequestVote):
            self._handle_request_vote(msg, now)
        elif self.role is Role.LEADER:
            self._step_leader(msg)
        elif self.role is Role.CANDIDATE:
            self._step_candidate(msg, now)
        else:
            self._step_follower(msg, now)

    # ---- per-role handlers ---------------------------------------------------------

    def _step_follower(self, msg: Message, now: int) -> None:
        if isinstance(msg, AppendEntries):
            self._handle_append_entries(msg, now)
        elif isinstance(msg, InstallSnapshot):
            self._handle_install_snapshot(msg, now)
        # Replies to an old candidacy or leadership in this same term are stale.

    def _step_candidate(self, msg: Message, now: int) -> None:
        if isinstance(msg, RequestVoteReply):
            if msg.vote_granted:
                self.votes.add(msg.voter_id)
                if len(self.votes) >= quorum.majority(len(self.members)):
                    self._become_leader(now)
        elif isinstance(msg, (AppendEntries, InstallSnapshot)):
            # Section 5.2: a leader of our own term exists, so we return to follower.
            self._become_follower(self.current_term, msg.leader_id, now)
            self._step_follower(msg, now)

    def _step_leader(self, msg: Message) -> None:
        if isinstance(msg, AppendEntriesReply):
            self._handle_append_reply(msg)
        elif isinstance(msg, InstallSnapshotReply):
            self._handle_install_reply(msg)
        else:
            # Election Safety makes a second leader in our term impossible.
            assert not isinstance(msg, (AppendEntries, InstallSnapshot)), (
                f"two leaders in term {msg.term}")

    # ---- RequestVote (section 5.2, 5.4.1) ---------------------------------------------

    def _handle_request_vote(self, m: RequestVote, now: int) -> None:
        free = self.voted_for is None or self.voted_for == m.candidate_id
        # Election restriction (5.4.1): the candidate's log is at least as up to date.
        up_to_date = (m.last_log_term, m.last_log_index) >= (
            self.term_at(self.last_index),
            self.last_index,
        )
        granted = free and up_to_date
        if granted:
            self.voted_for = m.candidate_id
            self._ready.hard_state = (self.current_term, self.voted_for)
            self.election_deadline = now + self._election_timeout()
        self._send(m.candidate_id, RequestVoteReply(self.current_term, granted, self.id))

    # ---- AppendEntries (section 5.3) ---------------------------------------------------

    def _handle_append_entries(self, m: AppendEntries, now: int) -> None:
        self.leader_id = m.leader_id
        self.election_deadline = now + self._election_timeout()
        prev, entries = m.prev_log_index, m.entries
        if prev < self.last_included_index:
            # Section 7: the snapshot holds only committed entries, and a
            # leader of this term holds them too (Leader Completeness), so
            # the part of the message the snapshot covers matches: skip it.
            entries = entries[self.last_included_index - prev :]
            prev = self.last_included_index
        elif prev > self.last_index:
            self._reply_append(False, 0, self.last_index + 1, 0, m.leader_id)
            return
        else:
            prev_term = self.term_at(prev)
            if prev_term != m.prev_log_term:
                first = self._first_index_of_term(prev, prev_term)
                self._reply_append(False, 0, first, prev_term, m.leader_id)
                return
        self._merge(prev, entries)
        last_new = m.prev_log_index + len(m.entries)
        if m.leader_commit > self.commit_index:
            self.commit_index = max(self.commit_index, min(m.leader_commit, last_new))
        self._reply_append(True, last_new, 0, 0, m.leader_id)

    def _merge(self, prev_index: int, entries: tuple[Entry, ...]) -> None:
        """_merge appends entries after prev_index, truncating only at a real conflict.

        An entry that already matches stays: a delayed, shorter AppendEntries
        must never cut off entries a newer one delivered (Figure 2, receiver rule 3).
        """
        base, log = self.last_included_index, self.log
        for offset, entry in enumerate(entries):
            index = prev_index + 1 + offset
            if index <= self.last_index:
                if log[index - base - 1].term == entry.term:
                    continue
                assert index > self.commit_index, "truncating a committed entry"
                del log[index - base - 1 :]
            log.extend(entries[offset:])
            self._mark_log(index)
            return

    def _first_index_of_term(self, index: int, term: int) -> int:
        """_first_index_of_term walks back over term; the hint never points into the snapshot."""
        base, log = self.last_included_index, self.log
        while index > base + 1 and log[index - base - 2].term == term:
            index -= 1
        return index

    def _reply_append(
        self, success: bool, match: int, conflict_index: int, conflict_term: int, to: int
    ) -> None:
        reply = AppendEntriesReply(
            self.current_term, success, self.id, match, conflict_index, conflict_term
        )
        self._send(to, reply)

    def _handle_append_reply(self, m: AppendEntriesReply) -> None:
        pr = self.progress[m.follower_id]
        pr.inflight = False
        if m.success:
            self._advance(m.follower_id, pr, m.match_index)
            return
        # Fast backtracking (5.3): skip a whole conflicting term per round trip.
        target = max(pr.match_index + 1, self._next_after_conflict(m, pr.next_index - 1))
        if target < pr.next_index:  # otherwise the rejection is stale
            pr.next_index = target
            self._send_append(m.follower_id)

    def _next_after_conflict(self, m: AppendEntriesReply, rejected_prev: int) -> int:
        """_next_after_conflict is the next index to try after a rejection.

        If the leader holds entries of the follower's conflicting term, it
        resumes after its last one; all of them lie below the rejected prev
        index, since terms only grow along a log. Otherwise it skips the
        follower's whole conflicting term.
        """
        if m.conflict_term:
            base, log = self.last_included_index, self.log
            start = min(rejected_prev, self.last_index)
            for index in range(start, base, -1):
                term = log[index - base - 1].term
                if term == m.conflict_term:
                    return index + 1
                if term < m.conflict_term:
                    break
            else:
                # The walk reached the snapshot (section 7): its last included
                # term is the only one left to compare. Below it the terms are
                # unknown, so the follower's hint is used as when the term is not held.
                if base and start >= base and self.last_included_term == m.conflict_term:
                    return base + 1
        return m.conflict_index

    def _send_append(self, peer: int) -> None:
        pr = self.progress[peer]
        prev = pr.next_index - 1
        base = self.last_included_index
        if prev < base:
            self._send_snapshot(peer, pr)
            return
        batch = tuple(self.log[prev - base : prev - base + self.config.max_batch_entries])
        msg = AppendEntries(
            self.current_term, self.id, prev, self.term_at(prev), batch, self.commit_index
        )
        pr.inflight = bool(batch)
        self._send(peer, msg)

    def _advance(self, peer: int, pr: Progress, match: int) -> None:
        """_advance: peer's log matches ours up to match; send it what follows, if anything."""
        if match > pr.match_index:
            self._count_replicas(pr.match_index, match)
            pr.match_index = match
            self._maybe_commit()
        pr.next_index = max(pr.next_index, match + 1)
        if pr.next_index <= self.last_index:
            self._send_append(peer)

    # ---- InstallSnapshot (section 7, Figure 13) ----------------------------------------

    def _send_snapshot(self, peer: int, pr: Progress) -> None:
        """_send_snapshot: the entries peer needs next are compacted, so it gets the snapshot.

        As with a batch of entries, the leader holds back new proposals for
        peer until the reply; a heartbeat resends it, which recovers a loss.
        """
        snap = self._snapshot
        assert snap is not None, "a compacted log without a snapshot"
        pr.inflight = True
        self._send(peer, InstallSnapshot(self.current_term, self.id, snap.last_included_index,
                                         snap.last_included_term, snap.data))

    def _handle_install_snapshot(self, m: InstallSnapshot, now: int) -> None:
        """Figure 13, receiver rules 6 to 8 (one chunk, so rules 2 to 5 never arise)."""
        self.leader_id = m.leader_id
        self.election_deadline = now + self._election_timeout()
        index = m.last_included_index
        if index <= self.commit_index:
            # The log already holds a committed prefix at least this long:
            # installing would move the state machine back, so it is ignored.
            self._send(m.leader_id, InstallSnapshotReply(self.current_term, self.id,
                                                         self.commit_index))
            return
        snap = Snapshot(index, m.last_included_term, m.data)
        # Rule 6: an entry of the snapshot's last index and term keeps the log after it.
        keep = index <= self.last_index and self.term_at(index) == m.last_included_term
        had = self.last_index
        self._compact(snap, keep_log=keep)
        if not keep and had > index:
            self._mark_log(index + 1)  # rule 7: the persisted entries after it go as well
        # Rule 8: the state machine is reset from the snapshot.
        self.commit_index = self.last_applied = index
        self._ready.snapshot = self._ready.restore = snap
        self._send(m.leader_id, InstallSnapshotReply(self.current_term, self.id, index))

    def _handle_install_reply(self, m: InstallSnapshotReply) -> None:
        pr = self.progress[m.follower_id]
        pr.inflight = False
        self._advance(m.follower_id, pr, m.match_index)

    def _compact(self, snap: Snapshot, keep_log: bool) -> None:
        """_compact makes snap the log's new start, keeping the entries after it or none."""
        if keep_log:
            del self.log[: snap.last_included_index - self.last_included_index]
        else:
            self.log = []
        self._snapshot = snap
        self.last_included_index = snap.last_included_index
        self.last_included_term = snap.last_included_term
        r = self._ready
        if r.log_from and r.log_from <= snap.last_included_index:
            # A change not yet persisted below the snapshot is in the snapshot now.
            r.log_from = snap.last_included_index + 1

    def _count_replicas(self, old_match: int, new_match: int) -> None:
        """_count_replicas: one follower now holds the entries (old_match, new_match]."""
        replicas = self.replicas
        for index in range(max(old_match, self.commit_index) + 1, new_match + 1):
            replicas[index] = replicas.get(index, 0) + 1

    def _maybe_commit(self) -> None:
        """_maybe_commit advances commit_index by counting replicas (5.3, 5.4.2).

        The index committed is the largest one stored on a majority, the leader
        included: quorum.committed_index over every match index, found from
        per-index counts so that a reply costs only the entries it acknowledges,
        not a pass over every follower (which made each election O(N^2)). The
        counts fall as the index rises, so the scan stops at the first short one.
        Only an entry of the current term is committed by counting; earlier
        ones follow it (the Figure 8 case).
        """
        majority, replicas = quorum.majority(len(self.members)), self.replicas
        n, last = self.commit_index, self.last_index
        while n < last and replicas.get(n + 1, 0) + 1 >= majority:
            n += 1
        if n > self.commit_index and self.term_at(n) == self.current_term:
            for index in range(self.commit_index + 1, n + 1):
                replicas.pop(index, None)
            self.commit_index = n

    # ---- transitions ------------------------------------------------------------------

    def _become_follower(self, term: int, leader_id: int | None, now: int) -> None:
        if self.role is not Role.FOLLOWER:
            # Its old deadline is long past; a fresh one avoids an instant re-election.
            self.election_deadline = now + self._election_timeout()
        if term != self.current_term:
            self.current_term, self.voted_for = term, None
            self._ready.hard_state = (term, None)
        self.leader_id = leader_id
        self._set_role(Role.FOLLOWER)

    def _become_candidate(self, now: int) -> None:
        self.current_term += 1
        self.voted_for = self.id
        self._ready.hard_state = (self.current_term, self.id)
        self.leader_id = None
        self.votes = {self.id}
        self.election_deadline = now + self._election_timeout()
        self._set_role(Role.CANDIDATE)
        if len(self.votes) >= quorum.majority(len(self.members)):
            self._become_leader(now)
            return
        last = self.last_index
        request = RequestVote(self.current_term, self.id, last, self.term_at(last))
        for peer in self._peers():
            self._send(peer, request)

    def _become_leader(self, now: int) -> None:
        self.leader_id = self.id
        self.progress = {p: Progress(next_index=self.last_index + 1) for p in self._peers()}
        self.replicas = {}  # counts of the new term only
        self._set_role(Role.LEADER)
        # Section 8: a no-op of the new term lets earlier entries commit.
        self._append(Entry(self.current_term, None))
        self.heartbeat_deadline = now + self.config.heartbeat_us
        for peer in self._peers():
            self._send_append(peer)
        self._maybe_commit()

    def _set_role(self, role: Role) -> None:
        if role is not self.role or role is Role.CANDIDATE:
            self._ready.transitions.append((role.value, self.current_term))
        self.role = role

    # ---- helpers ----------------------------------------------------------------------

    def _append(self, entry: Entry) -> None:
        self.log.append(entry)
        self._mark_log(self.last_index)

    def _mark_log(self, index: int) -> None:
        r = self._ready
        r.log_from = index if not r.log_from else min(r.log_from, index)

    def _peers(self) -> Iterator[int]:
        """_peers yields the other servers by ascending id, so message order is deterministic."""
        me = self.id
        return (m for m in self.members if m != me)

    def _send(self, to: int, msg: Message) -> None:
        self._ready.messages.append((to, msg))

    def _first_election_timeout(self) -> int:
        c = self.config
        if c.first_election_timeout_min_us > 0:
            return self._rng.uniform_int(c.first_election_timeout_min_us,
                                         c.first_election_timeout_max_us)
        return self._election_timeout()

    def _election_timeout(self) -> int:
        c = self.config
        return self._rng.uniform_int(c.election_timeout_min_us, c.election_timeout_max_us)

    def _reject_stale(self, msg: Message) -> None:
        """_reject_stale answers an old-term request so its sender learns our term."""
        _log.debug("node %d drops stale %s (term %d < %d)", self.id, type(msg).__name__,
                   msg.term, self.current_term)
        if isinstance(msg, RequestVote):
            self._send(msg.candidate_id, RequestVoteReply(self.current_term, False, self.id))
        elif isinstance(msg, AppendEntries):
            self._reply_append(False, 0, 0, 0, msg.leader_id)
        elif isinstance(msg, InstallSnapshot):
            self._send(msg.leader_id, InstallSnapshotReply(self.current_term, self.id, 0))


def _members(node_id: int, members: Iterable[int]) -> Sequence[int]:
    """_members gives every server's id, ascending, node_id included.

    A range of consecutive ids that holds node_id is kept as it is, so the cores
    of one process share it: an N-node cluster then holds one list of ids, not
    N lists of N (at 10,000 nodes, 100 million ids). Anything else is copied.
    """
    if isinstance(members, range) and members.step == 1 and node_id in members:
        return members
    return tuple(sorted({*members, node_id}))
