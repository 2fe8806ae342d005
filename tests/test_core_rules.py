"""The rules of Figure 2 of the Raft paper, one test each, driving the core directly.

Section numbers refer to the extended Raft paper (Ongaro and Ousterhout, 2014).
The Hypothesis tests check the quorum arithmetic and SplitMix64; Hypothesis
prints the failing example (and its seed) on failure.
"""

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from py_raft.core import (
    AppendEntries,
    AppendEntriesReply,
    Config,
    Entry,
    MemoryStorage,
    NotLeader,
    Raft,
    Ready,
    RequestVote,
    RequestVoteReply,
    SplitMix64,
    quorum,
)

CFG = Config(150_000, 300_000, 50_000, 64)


def log_of(*terms: int) -> list[Entry]:
    return [Entry(t, f"c{i}", f"p{i}") for i, t in enumerate(terms, start=1)]


def storage(
    term: int = 0, vote: int | None = None, log: list[Entry] | None = None
) -> MemoryStorage:
    s = MemoryStorage()
    s.set_hard_state(term, vote)
    if log:
        s.truncate_and_append(1, log)
    return s


def node(
    node_id: int = 1,
    term: int = 0,
    vote: int | None = None,
    log: list[Entry] | None = None,
    members: tuple[int, ...] = (0, 1, 2),
    config: Config = CFG,
    store: MemoryStorage | None = None,
    seed: int = 1,
) -> Raft:
    s = store if store is not None else storage(term, vote, log)
    return Raft(node_id, members, s, config, SplitMix64(seed), 0)


def persist(r: Raft, s: MemoryStorage) -> Ready:
    rd = r.ready()
    if rd.hard_state is not None:
        s.set_hard_state(*rd.hard_state)
    if rd.log_from:
        s.truncate_and_append(rd.log_from, rd.entries)
    return rd


def elect(r: Raft, *voters: int) -> Ready:
    """elect makes r time out and win with grants from voters; returns the Ready."""
    r.tick(r.next_deadline())
    r.ready()  # the RequestVotes
    now = r.next_deadline() - 1
    for v in voters:
        r.step(RequestVoteReply(r.current_term, True, v), now)
    assert r.role == "leader"
    return r.ready()


def only(rd: Ready) -> object:
    assert len(rd.messages) == 1, rd.messages
    return rd.messages[0][1]


# ---- RequestVote receiver (Figure 2) ------------------------------------------------------


def test_request_vote_rejects_stale_term() -> None:
    """Figure 2, RequestVote rule 1: reply false if term < currentTerm (5.1)."""
    r = node(term=3)
    r.step(RequestVote(2, 0, 10, 2), 1)
    rd = r.ready()
    assert rd.messages == [(0, RequestVoteReply(3, False, 1))]
    assert rd.hard_state is None and r.voted_for is None


def test_request_vote_grants_when_not_voted_and_log_up_to_date() -> None:
    """Figure 2, RequestVote rule 2: votedFor null and log at least as up-to-date (5.2, 5.4.1)."""
    r = node(term=2, log=log_of(1, 2))
    d0 = r.next_deadline()
    r.step(RequestVote(3, 0, 2, 2), d0 - 1)
    rd = r.ready()
    assert rd.messages == [(0, RequestVoteReply(3, True, 1))]
    assert rd.hard_state == (3, 0) and r.voted_for == 0
    assert r.next_deadline() > d0  # granting a vote resets the election timer


def test_request_vote_grants_again_to_same_candidate() -> None:
    """Figure 2, RequestVote rule 2: votedFor == candidateId is granted again (5.2)."""
    r = node(term=3, vote=0)
    r.step(RequestVote(3, 0, 0, 0), 1)
    assert only(r.ready()) == RequestVoteReply(3, True, 1)


def test_request_vote_denies_when_already_voted_for_another() -> None:
    """Figure 2, RequestVote rule 2: at most one vote per term (5.2, Election Safety)."""
    r = node(term=3, vote=2)
    r.step(RequestVote(3, 0, 5, 3), 1)
    rd = r.ready()
    assert only(rd) == RequestVoteReply(3, False, 1) and r.voted_for == 2


def test_request_vote_denies_stale_log_by_last_term() -> None:
    """Figure 2, RequestVote rule 2 / 5.4.1: a lower last log term loses, whatever the length."""
    r = node(term=3, log=log_of(1, 3))
    r.step(RequestVote(4, 0, 9, 2), 1)
    rd = r.ready()
    assert only(rd) == RequestVoteReply(4, False, 1) and rd.hard_state == (4, None)


def test_request_vote_denies_stale_log_by_last_index() -> None:
    """Figure 2, RequestVote rule 2 / 5.4.1: same last term, a shorter log loses."""
    r = node(term=2, log=log_of(1, 2, 2))
    r.step(RequestVote(3, 0, 2, 2), 1)
    assert only(r.ready()) == RequestVoteReply(3, False, 1)


def test_request_vote_grants_higher_last_term_with_shorter_log() -> None:
    """5.4.1: the log whose last entry has the later term is more up-to-date."""
    r = node(term=2, log=log_of(1, 1, 1))
    r.step(RequestVote(3, 0, 1, 2), 1)
    assert only(r.ready()) == RequestVoteReply(3, True, 1)


# ---- AppendEntries receiver (Figure 2) ----------------------------------------------------


def test_append_entries_rejects_stale_term() -> None:
    """Figure 2, AppendEntries rule 1: reply false if term < currentTerm (5.1)."""
    r = node(term=3, log=log_of(1))
    d0 = r.next_deadline()
    r.step(AppendEntries(2, 0, 1, 1, (Entry(2, "x"),), 1), 1)
    rd = r.ready()
    assert only(rd) == AppendEntriesReply(3, False, 1, 0, 0, 0)
    assert rd.log_from == 0 and r.leader_id is None and r.next_deadline() == d0


def test_append_entries_rejects_missing_prev_log_index() -> None:
    """Figure 2, AppendEntries rule 2: no entry at prevLogIndex; hint = log length + 1 (5.3)."""
    r = node(term=2, log=log_of(1))
    r.step(AppendEntries(2, 0, 4, 2, (), 0), 1)
    rd = r.ready()
    assert only(rd) == AppendEntriesReply(2, False, 1, 0, 2, 0) and rd.log_from == 0


def test_append_entries_rejects_prev_term_mismatch_with_conflict_hint() -> None:
    """Figure 2, AppendEntries rule 2 with the 5.3 hint: first index of the conflicting term."""
    r = node(term=3, log=log_of(1, 2, 2, 2))
    r.step(AppendEntries(3, 0, 4, 3, (), 0), 1)
    assert only(r.ready()) == AppendEntriesReply(3, False, 1, 0, 2, 2)


def test_append_entries_truncates_conflicting_suffix() -> None:
    """Figure 2, AppendEntries rule 3: delete the conflicting entry and all after it (5.3)."""
    s = storage(3, None, log_of(1, 2, 2))
    r = node(store=s)
    new = (Entry(3, "a"), Entry(3, "b"))
    r.step(AppendEntries(3, 0, 1, 1, new, 0), 1)
    rd = persist(r, s)
    assert rd.log_from == 2 and rd.entries == list(new)
    assert s.entries() == [log_of(1)[0], *new]
    assert only(rd) == AppendEntriesReply(3, True, 1, 3, 0, 0)


def test_append_entries_appends_new_entries() -> None:
    """Figure 2, AppendEntries rule 4: append any new entries not already in the log."""
    r = node(term=1)
    r.step(AppendEntries(1, 0, 0, 0, tuple(log_of(1, 1)), 0), 1)
    rd = r.ready()
    assert rd.log_from == 1 and rd.entries == log_of(1, 1) and r.last_index == 2
    assert only(rd) == AppendEntriesReply(1, True, 1, 2, 0, 0)


def test_append_entries_delayed_shorter_does_not_truncate() -> None:
    """Figure 2, AppendEntries rule 3: only a real conflict truncates; a delayed, shorter
    AppendEntries whose entries match keeps the later entries."""
    r = node(term=1, log=log_of(1, 1, 1))
    r.step(AppendEntries(1, 0, 0, 0, tuple(log_of(1)), 0), 1)
    rd = r.ready()
    assert rd.log_from == 0 and r.last_index == 3
    assert only(rd) == AppendEntriesReply(1, True, 1, 1, 0, 0)


def test_append_entries_commit_is_min_of_leader_commit_and_last_new_entry() -> None:
    """Figure 2, AppendEntries rule 5: commitIndex = min(leaderCommit, index of last new entry)."""
    r = node(term=1, log=log_of(1, 1, 1, 1))
    r.step(AppendEntries(1, 0, 1, 1, (log_of(1, 1)[1],), 4), 1)
    assert r.commit_index == 2
    r.step(AppendEntries(1, 0, 4, 1, (), 3), 2)
    assert r.commit_index == 3


# ---- Rules for servers -------------------------------------------------------------------


def test_all_servers_higher_term_converts_to_follower_and_persists() -> None:
    """Figure 2, All Servers: term T > currentTerm: set currentTerm = T, convert to follower;
    persist currentTerm and votedFor (5.1)."""
    s = storage()
    r = node(node_id=0, store=s)
    elect(r, 1)
    persist(r, s)
    r.step(AppendEntriesReply(7, False, 2, 0, 0, 0), 1_000_000)
    rd = persist(r, s)
    assert r.role == "follower" and r.current_term == 7 and r.voted_for is None
    assert rd.transitions == [("follower", 7)] and s.hard_state() == (7, None)


def test_all_servers_apply_committed_entries_in_order() -> None:
    """Figure 2, All Servers: if commitIndex > lastApplied, apply log[lastApplied+1..] (5.3)."""
    log = log_of(1, 1, 1)
    r = node(term=1, log=log)
    r.step(AppendEntries(1, 0, 3, 1, (), 2), 1)
    assert r.ready().committed == [(1, log[0]), (2, log[1])] and r.last_applied == 2
    r.step(AppendEntries(1, 0, 3, 1, (), 3), 2)
    assert r.ready().committed == [(3, log[2])]
    r.step(AppendEntries(1, 0, 3, 1, (), 3), 3)
    assert r.ready().committed == []


def test_follower_election_timeout_becomes_candidate() -> None:
    """Figure 2, Followers: election timeout without AppendEntries or a vote -> candidate (5.2)."""
    r = node(node_id=0)
    d = r.next_deadline()
    assert CFG.election_timeout_min_us <= d <= CFG.election_timeout_max_us
    r.tick(d - 1)
    assert r.role == "follower" and r.ready().messages == []
    r.tick(d)
    assert r.role == "candidate"


def test_follower_append_entries_resets_election_timer() -> None:
    """Figure 2, Followers: AppendEntries from the current leader postpones the election (5.2)."""
    r = node(node_id=0, term=1)
    d = r.next_deadline()
    r.step(AppendEntries(1, 2, 0, 0, (), 0), d - 1)
    r.tick(d)
    assert r.role == "follower" and r.next_deadline() > d and r.leader_id == 2


def test_candidate_starts_election_increments_term_votes_self_sends_request_vote() -> None:
    """Figure 2, Candidates: increment currentTerm, vote for self, reset election timer,
    send RequestVote to all other servers (5.2)."""
    r = node(node_id=0, term=4, log=log_of(1, 4))
    d = r.next_deadline()
    r.tick(d)
    rd = r.ready()
    assert r.current_term == 5 and r.voted_for == 0 and rd.hard_state == (5, 0)
    assert rd.messages == [(1, RequestVote(5, 0, 2, 4)), (2, RequestVote(5, 0, 2, 4))]
    assert d + CFG.election_timeout_min_us <= r.next_deadline() <= d + CFG.election_timeout_max_us
    assert rd.transitions == [("candidate", 5)]


def test_candidate_with_majority_becomes_leader() -> None:
    """Figure 2, Candidates: votes from a majority -> leader (5.2); grants count once each."""
    r = node(node_id=0, members=(0, 1, 2, 3, 4))
    r.tick(r.next_deadline())
    now = r.next_deadline() - 1
    r.step(RequestVoteReply(1, True, 1), now)
    r.step(RequestVoteReply(1, True, 1), now)
    r.step(RequestVoteReply(1, False, 2), now)
    assert r.role == "candidate"
    r.step(RequestVoteReply(1, True, 3), now)
    assert r.role == "leader" and r.leader_id == 0


def test_candidate_append_entries_from_new_leader_becomes_follower() -> None:
    """Figure 2, Candidates: AppendEntries from a new leader (same term) -> follower (5.2)."""
    r = node(node_id=0)
    r.tick(r.next_deadline())
    r.ready()
    r.step(AppendEntries(1, 2, 0, 0, (), 0), r.next_deadline() - 1)
    rd = r.ready()
    assert r.role == "follower" and r.current_term == 1 and r.leader_id == 2
    assert rd.hard_state is None and only(rd) == AppendEntriesReply(1, True, 0, 0, 0, 0)


def test_candidate_timeout_starts_new_election() -> None:
    """Figure 2, Candidates: election timeout elapses -> start a new election (5.2)."""
    r = node(node_id=0)
    r.tick(r.next_deadline())
    r.ready()
    r.tick(r.next_deadline())
    rd = r.ready()
    assert r.role == "candidate" and r.current_term == 2
    assert rd.transitions == [("candidate", 2)] and len(rd.messages) == 2


def test_leader_sends_noop_append_entries_to_all_on_election() -> None:
    """Figure 2, Leaders: upon election send initial AppendEntries to each server; section 8:
    the leader appends a no-op of its term."""
    r = node(node_id=0, term=2, log=log_of(1, 2))
    rd = elect(r, 1)
    ae = AppendEntries(3, 0, 2, 2, (Entry(3, None),), 0)
    assert rd.messages == [(1, ae), (2, ae)] and rd.log_from == 3


def test_leader_sends_empty_heartbeats_when_idle() -> None:
    """Figure 2, Leaders: empty AppendEntries during idle periods (5.2)."""
    r = node(node_id=0)
    elect(r, 1)
    for f in (1, 2):
        r.step(AppendEntriesReply(1, True, f, 1, 0, 0), 1)
    r.ready()
    hb = r.next_deadline()
    r.tick(hb)
    beat = AppendEntries(1, 0, 1, 1, (), 1)
    assert r.ready().messages == [(1, beat), (2, beat)]
    assert r.next_deadline() == hb + CFG.heartbeat_us


def test_leader_appends_and_replicates_proposal() -> None:
    """Figure 2, Leaders: a client command is appended and sent from nextIndex (5.3)."""
    r = node(node_id=0)
    elect(r, 1)
    for f in (1, 2):
        r.step(AppendEntriesReply(1, True, f, 1, 0, 0), 1)
    r.ready()
    assert r.propose("set", "k", 2) == (2, 1)
    ae = AppendEntries(1, 0, 1, 1, (Entry(1, "set", "k"),), 1)
    rd = r.ready()
    assert rd.messages == [(1, ae), (2, ae)] and rd.log_from == 2


def test_leader_updates_next_and_match_index_on_success() -> None:
    """Figure 2, Leaders: if successful, update nextIndex and matchIndex for the follower (5.3)."""
    r = node(node_id=0)
    elect(r, 1)
    r.propose("a", "", 1)  # held back: the no-op is in flight
    r.ready()
    r.step(AppendEntriesReply(1, True, 1, 1, 0, 0), 2)
    pr = r.progress[1]
    assert (pr.match_index, pr.next_index, pr.inflight) == (1, 2, True)
    r.step(AppendEntriesReply(1, True, 1, 2, 0, 0), 3)
    assert (pr.match_index, pr.next_index, pr.inflight) == (2, 3, False)
    assert r.commit_index == 2 and [i for i, _ in r.ready().committed] == [1, 2]


def test_leader_fast_backtracking_skips_a_term_in_one_round_trip() -> None:
    """Figure 2, Leaders: on an inconsistency decrement nextIndex and retry; the 5.3 conflict
    hint skips the follower's whole conflicting term in one round trip."""
    r = node(node_id=0, term=3, log=log_of(1, 1, 3, 3, 3))
    elect(r, 1)
    r.step(AppendEntriesReply(4, False, 1, 0, 3, 2), 1)
    ae = only(r.ready())
    assert isinstance(ae, AppendEntries)
    assert (ae.prev_log_index, ae.prev_log_term, len(ae.entries)) == (2, 1, 4)
    # A short follower log (conflict_term 0) jumps straight to its length + 1.
    r.step(AppendEntriesReply(4, False, 2, 0, 2, 0), 2)
    assert only(r.ready()).prev_log_index == 1  # type: ignore[attr-defined]


def test_leader_commits_only_current_term_entries_by_counting_figure8() -> None:
    """Figure 2, Leaders: commit N only if log[N].term == currentTerm (5.4.2, Figure 8): an
    older-term entry on a majority stays uncommitted until a current-term entry is."""
    r = node(node_id=0, term=3, log=log_of(1, 2), config=Config(150_000, 300_000, 50_000, 1))
    elect(r, 1)
    r.step(AppendEntriesReply(4, True, 1, 2, 0, 0), 1)
    assert r.progress[1].match_index == 2 and r.commit_index == 0
    assert r.ready().committed == []
    r.step(AppendEntriesReply(4, True, 1, 3, 0, 0), 2)
    assert r.commit_index == 3 and [i for i, _ in r.ready().committed] == [1, 2, 3]


def test_propose_on_non_leader_raises_not_leader_with_hint() -> None:
    """Section 8: a non-leader rejects client requests and names the leader it knows of."""
    r = node(term=1)
    with pytest.raises(NotLeader) as e:
        r.propose("x", "", 1)
    assert e.value.leader_hint is None
    r.step(AppendEntries(1, 2, 0, 0, (), 0), 2)
    with pytest.raises(NotLeader) as e:
        r.propose("x", "", 3)
    assert e.value.leader_hint == 2 and r.last_index == 0


def test_leader_caps_batch_at_max_batch_entries() -> None:
    """5.3 (entries[] may hold several): at most max_batch_entries per AppendEntries; the next
    batch follows the successful reply."""
    r = node(node_id=0, term=1, log=log_of(1, 1, 1, 1, 1),
             config=Config(150_000, 300_000, 50_000, 2))
    elect(r, 1)
    r.step(AppendEntriesReply(2, False, 1, 0, 1, 0), 1)
    ae = only(r.ready())
    assert isinstance(ae, AppendEntries) and (ae.prev_log_index, len(ae.entries)) == (0, 2)
    r.step(AppendEntriesReply(2, True, 1, 2, 0, 0), 2)
    ae = only(r.ready())
    assert isinstance(ae, AppendEntries) and (ae.prev_log_index, len(ae.entries)) == (2, 2)


def test_leader_holds_proposal_while_append_in_flight() -> None:
    """5.3 flow control: one AppendEntries with entries in flight per follower; a proposal
    meanwhile waits for that follower's reply."""
    r = node(node_id=0)
    elect(r, 1)
    assert r.progress[1].inflight and r.progress[2].inflight
    r.propose("a", "", 1)
    assert r.ready().messages == []
    r.step(AppendEntriesReply(1, True, 1, 1, 0, 0), 2)
    ae = only(r.ready())
    assert isinstance(ae, AppendEntries) and ae.entries == (Entry(1, "a"),)


def test_restart_keeps_persistent_state_and_resets_volatile() -> None:
    """Figure 2, State: currentTerm, votedFor and log[] persist; commitIndex and lastApplied
    restart at 0."""
    s = storage(2, None, log_of(1, 2))
    r = node(store=s)
    r.step(RequestVote(3, 0, 2, 2), 1)
    r.step(AppendEntries(3, 0, 2, 2, (Entry(3, None),), 3), 2)
    persist(r, s)
    assert r.commit_index == 3
    again = node(store=s, seed=2)
    assert (again.current_term, again.voted_for, again.log) == (3, 0, r.log)
    assert (again.commit_index, again.last_applied, again.role) == (0, 0, "follower")


def test_restarted_node_does_not_vote_twice_in_a_term() -> None:
    """Figure 2, State: votedFor persists, so a restart cannot grant a second vote (5.2)."""
    s = storage(3, None)
    r = node(store=s)
    r.step(RequestVote(3, 0, 0, 0), 1)
    persist(r, s)
    again = node(store=s, seed=2)
    again.step(RequestVote(3, 2, 5, 3), 2)
    assert only(again.ready()) == RequestVoteReply(3, False, 1)


def test_single_node_elects_itself_and_commits_alone() -> None:
    """Figure 2 with one server: its own vote is a majority; it commits alone (5.2, 5.3)."""
    r = node(node_id=0, members=(0,))
    r.tick(r.next_deadline())
    rd = r.ready()
    assert r.role == "leader" and rd.committed == [(1, Entry(1, None))] and rd.messages == []
    assert r.propose("x", "y", r.next_deadline() - 1) == (2, 1)
    assert r.ready().committed == [(2, Entry(1, "x", "y"))]


def test_stale_replies_are_ignored() -> None:
    """5.1: a reply from an older term is dropped (a stale grant does not count)."""
    r = node(node_id=0, term=2)
    r.tick(r.next_deadline())
    r.ready()
    r.step(RequestVoteReply(2, True, 1), 1)
    assert r.role == "candidate" and r.votes == {0}
    r.step(RequestVoteReply(3, True, 1), 2)
    r.ready()
    r.step(AppendEntriesReply(2, True, 1, 5, 0, 0), 3)
    r.step(AppendEntriesReply(3, False, 2, 0, 5, 0), 4)  # delayed rejection past nextIndex 1
    rd = r.ready()
    assert rd.messages == [] and r.progress[1].match_index == 0 and r.progress[2].next_index == 1


# ---- properties --------------------------------------------------------------------------


def naive_committed_index(values: list[int]) -> int:
    """The largest index i such that more than half of the values are >= i."""
    return max(i for i in range(max(values) + 1) if 2 * sum(v >= i for v in values) > len(values))


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=9))
def test_quorum_committed_index_matches_naive_definition(values: list[int]) -> None:
    assert quorum.committed_index(values) == naive_committed_index(values)


@given(st.integers(min_value=1, max_value=10_000))
def test_quorum_majority_is_smallest_count_above_half(n: int) -> None:
    m = quorum.majority(n)
    assert 2 * m > n and 2 * (m - 1) <= n


def test_splitmix64_reference_outputs_for_seed_zero() -> None:
    rng = SplitMix64(0)
    assert [rng.next_u64() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(0, 10**6), st.integers(0, 10**6))
def test_splitmix64_uniform_int_stays_in_range_and_replays(seed: int, a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    x, y = SplitMix64(seed), SplitMix64(seed)
    draws = [x.uniform_int(lo, hi) for _ in range(5)]
    assert all(lo <= d <= hi for d in draws)
    assert draws == [y.uniform_int(lo, hi) for _ in range(5)]


def test_core_is_pure() -> None:
    """The core reads no clock and starts nothing: no threading, asyncio, socket, time, random."""
    forbidden = {"threading", "asyncio", "socket", "time", "random"}
    core_dir = Path(__file__).resolve().parent.parent / "py_raft" / "core"
    files = sorted(core_dir.glob("*.py"))
    assert files
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for n in ast.walk(tree):
            if isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom):
                names = [n.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


@given(st.integers(min_value=3, max_value=9), st.lists(st.integers(0, 1), min_size=2,
       max_size=6), st.lists(st.tuples(st.integers(0, 8), st.integers(0, 12)), max_size=60))
def test_commit_counting_matches_the_naive_rule(size: int, old_terms: list[int],
                                               acks: list[tuple[int, int]]) -> None:
    """The leader's per-index replica counts commit exactly what the naive rule does:
    the largest index stored on a majority (the leader included), if of its term (5.4.2)."""
    members = tuple(range(size))
    log = log_of(*[1 + t for t in sorted(old_terms)])  # earlier terms' entries: Figure 8
    r = node(0, term=3, log=log, members=members)
    elect(r, *members[1:quorum.majority(size)])
    for k in range(4):
        r.propose(f"x{k}", "", 0)
    matches = dict.fromkeys(members[1:], 0)
    expected = r.commit_index
    for who, upto in acks:
        peer = members[1 + who % (size - 1)]
        upto = min(upto, r.last_index)
        if upto <= matches[peer]:
            continue
        matches[peer] = upto
        r.step(AppendEntriesReply(r.current_term, True, peer, upto, 0, 0), 0)
        n = quorum.committed_index([r.last_index, *matches.values()])
        if n > expected and r.term_at(n) == r.current_term:
            expected = n
        assert r.commit_index == expected, f"size {size}, acks {acks}"
    assert not r.replicas or min(r.replicas) > r.commit_index  # counts only above commit
