package raft

// Raft: the protocol of Figure 2 as a sans-I/O state machine, with the log
// compaction of section 7.
//
// Every rule that changes a server's state lives in this file: the term check
// at the top of Step, one handler per role, and one become* per transition.
// Section numbers refer to the extended Raft paper (Ongaro and Ousterhout, 2014).
//
// Log compaction (section 7, Figure 13): a snapshot replaces the log up to
// LastIncludedIndex, so Log[0] holds index LastIncludedIndex + 1. Every lookup
// by index subtracts that offset (TermAt, LastIndex), and the term of the last
// included entry stands in for the entries it replaced. With snapshots off the
// offset stays 0 and every decision is the one of Figure 2.

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
)

// None is the id of no server: no vote, no known leader.
const None = -1

// Role is a server's role; its String is the trace's name for it.
type Role int

const (
	Follower Role = iota
	Candidate
	Leader
)

func (r Role) String() string {
	return [...]string{"follower", "candidate", "leader"}[r]
}

// Config holds the timing rules, in integer microseconds, the batching cap and
// the compaction threshold.
type Config struct {
	ElectionTimeoutMinUs int64
	ElectionTimeoutMaxUs int64
	HeartbeatUs          int64
	MaxBatchEntries      int
	// FirstElectionTimeoutMinUs and FirstElectionTimeoutMaxUs, when the
	// minimum is above 0, are the range of the first election timeout that
	// New draws; every later one comes from the range above. Spreading the
	// first timeouts of a large cluster lets one candidate win before the
	// others time out. 0: the first timeout is drawn like the others.
	FirstElectionTimeoutMinUs int64
	FirstElectionTimeoutMaxUs int64
	// SnapshotEntries: once the state machine has applied this many entries
	// past the last snapshot, a Ready asks the host for a new one
	// (SnapshotDue), section 7. 0: never; the log then grows without
	// compaction, as before.
	SnapshotEntries int
}

// Raft is one server. It is not safe for concurrent use: one runtime
// goroutine owns it.
type Raft struct {
	ID int
	// members is every server's id, ascending, this one's included; see
	// sharedMembers.
	members []int
	config  Config
	rng     *SplitMix64

	CurrentTerm int
	VotedFor    int // None if no vote in CurrentTerm
	// Log[0] is the entry at LastIncludedIndex + 1 (section 7): the snapshot
	// stands for every entry up to LastIncludedIndex, whose term is
	// LastIncludedTerm. Both are 0 while there is no snapshot.
	Log               []Entry
	LastIncludedIndex int
	LastIncludedTerm  int
	snapshot          *Snapshot
	// Volatile state restarts from zero (Figure 2): a restarted server
	// re-applies its log from the start once it learns the commit index.
	// With a snapshot it restarts from the snapshot's index instead: the
	// snapshot holds only applied, hence committed, entries.
	CommitIndex int
	LastApplied int
	Role        Role
	LeaderID    int // None if unknown in CurrentTerm
	votes       map[int]bool
	progress    map[int]*Progress
	// replicated counts, for each index i in (CommitIndex, LastIndex], the
	// followers whose MatchIndex is at least i; the leader holds every such
	// index itself. Only a leader keeps it: becomeLeader resets it with
	// progress, and becomeFollower drops it.
	replicated map[int]int

	ElectionDeadline  int64
	HeartbeatDeadline int64
	ready             Ready
}

// New builds a server from what storage holds; now starts its election timer.
func New(id int, members []int, storage Storage, config Config, rng *SplitMix64, now int64) *Raft {
	if !(0 < config.ElectionTimeoutMinUs && config.ElectionTimeoutMinUs <= config.ElectionTimeoutMaxUs) ||
		!(0 <= config.FirstElectionTimeoutMinUs && config.FirstElectionTimeoutMinUs <= config.FirstElectionTimeoutMaxUs) ||
		config.HeartbeatUs <= 0 || config.MaxBatchEntries <= 0 || config.SnapshotEntries < 0 {
		panic(fmt.Sprintf("raft: bad config %+v", config))
	}
	r := &Raft{ID: id, config: config, rng: rng, Role: Follower, LeaderID: None}
	r.members = sharedMembers(id, members)
	r.CurrentTerm, r.VotedFor = storage.HardState()
	r.Log = storage.Entries()
	if config.FirstElectionTimeoutMinUs > 0 {
		r.ElectionDeadline = now + rng.UniformInt(config.FirstElectionTimeoutMinUs, config.FirstElectionTimeoutMaxUs)
	} else {
		r.ElectionDeadline = now + r.electionTimeout()
	}
	if ss, ok := storage.(SnapshotStorage); ok {
		if snap := ss.Snapshot(); snap != nil {
			r.snapshot = snap
			r.LastIncludedIndex, r.LastIncludedTerm = snap.LastIncludedIndex, snap.LastIncludedTerm
			r.CommitIndex, r.LastApplied = snap.LastIncludedIndex, snap.LastIncludedIndex
			r.ready.Restore = snap // the host's state machine starts from it
		}
	}
	return r
}

// sharedMembers gives every server's id, ascending, id included. Members
// already in that form are kept, not copied, so the cores of one process share
// them: an N-node cluster then holds one slice of ids, not N slices of N (at
// 10,000 nodes, 100 million ids). Anything else is copied into that form.
func sharedMembers(id int, members []int) []int {
	ascending := true
	for i := 1; i < len(members) && ascending; i++ {
		ascending = members[i-1] < members[i]
	}
	if ascending && slices.Contains(members, id) {
		return members
	}
	out := append(slices.Clone(members), id)
	slices.Sort(out)
	return slices.Clip(slices.Compact(out))
}

// peers yields the other servers by ascending id, so message order is
// deterministic.
func (r *Raft) peers() iter.Seq[int] {
	return func(yield func(int) bool) {
		for _, m := range r.members {
			if m != r.ID && !yield(m) {
				return
			}
		}
	}
}

// ---- queries ---------------------------------------------------------------

// LastIndex is the index of the last log entry, 0 for an empty log; after a
// compaction that leaves no entry, the snapshot's LastIncludedIndex.
func (r *Raft) LastIndex() int { return r.LastIncludedIndex + len(r.Log) }

// TermAt is the term of the entry at index: 0 at index 0, and the snapshot's
// LastIncludedTerm at its LastIncludedIndex.
func (r *Raft) TermAt(index int) int {
	offset := index - r.LastIncludedIndex
	if offset > 0 {
		return r.Log[offset-1].Term
	}
	if offset < 0 {
		panic(fmt.Sprintf("raft: the term of compacted index %d is gone", index))
	}
	return r.LastIncludedTerm
}

// NextDeadline is when the runtime must call Tick next, if nothing else arrives.
func (r *Raft) NextDeadline() int64 {
	if r.Role == Leader {
		return r.HeartbeatDeadline
	}
	return r.ElectionDeadline
}

// HasReady tells whether Ready has anything for the runtime to do.
func (r *Raft) HasReady() bool {
	rd := &r.ready
	return rd.HardState != nil || rd.LogFrom != 0 || len(rd.Messages) > 0 ||
		len(rd.Transitions) > 0 || rd.Snapshot != nil || rd.Restore != nil ||
		r.LastApplied < r.CommitIndex
}

// Ready hands over, and forgets, everything the runtime must now do.
func (r *Raft) Ready() Ready {
	rd := r.ready
	r.ready = Ready{}
	base := r.LastIncludedIndex
	if rd.LogFrom != 0 {
		rd.Entries = slices.Clone(r.Log[rd.LogFrom-base-1:])
	}
	if r.LastApplied < r.CommitIndex {
		for i := r.LastApplied + 1; i <= r.CommitIndex; i++ {
			rd.Committed = append(rd.Committed, Applied{i, r.Log[i-base-1]})
		}
		r.LastApplied = r.CommitIndex
		// The one place that decides when to compact (section 7).
		if every := r.config.SnapshotEntries; every > 0 && r.LastApplied-base >= every {
			rd.SnapshotDue = r.LastApplied
		}
	}
	return rd
}

// ---- inputs ----------------------------------------------------------------

// Tick fires whichever deadline has passed: a heartbeat or an election timeout.
func (r *Raft) Tick(now int64) {
	if r.Role == Leader {
		if now >= r.HeartbeatDeadline {
			r.HeartbeatDeadline = now + r.config.HeartbeatUs
			for peer := range r.peers() {
				r.sendAppend(peer)
			}
		}
	} else if now >= r.ElectionDeadline {
		r.becomeCandidate(now) // section 5.2: no word from a leader in time
	}
}

// Propose appends a client command; it returns (index, term) for the client
// to await, or a *NotLeaderError.
func (r *Raft) Propose(cmd, payload string, now int64) (index, term int, err error) {
	if r.Role != Leader {
		return 0, 0, &NotLeaderError{LeaderHint: r.LeaderID}
	}
	r.appendEntry(Entry{Term: r.CurrentTerm, Cmd: cmd, Payload: payload})
	for peer := range r.peers() {
		if !r.progress[peer].Inflight {
			r.sendAppend(peer)
		}
	}
	r.maybeCommit()
	return r.LastIndex(), r.CurrentTerm, nil
}

// Snapshot compacts the log (section 7): data, the host's state machine after
// applying the entry at index, replaces the log up to that entry.
//
// The host calls it when a Ready's SnapshotDue asks, after applying that
// Ready; the next Ready carries the snapshot to persist. An index already
// compacted is stale and ignored; one above LastApplied is the host's mistake
// (ErrSnapshotAhead).
func (r *Raft) Snapshot(index int, data []byte) error {
	if index <= r.LastIncludedIndex {
		if slog.Default().Enabled(context.Background(), slog.LevelDebug) {
			slog.Debug("raft: ignore stale snapshot", "node", r.ID, "index", index, "have", r.LastIncludedIndex)
		}
		return nil
	}
	if index > r.LastApplied {
		return fmt.Errorf("%w: %d > %d", ErrSnapshotAhead, index, r.LastApplied)
	}
	snap := &Snapshot{LastIncludedIndex: index, LastIncludedTerm: r.TermAt(index), Data: data}
	r.compact(snap, true)
	r.ready.Snapshot = snap
	return nil
}

// Step handles one message. The term rules of section 5.1 are checked once, here.
func (r *Raft) Step(msg Message, now int64) {
	if term := msg.MsgTerm(); term > r.CurrentTerm {
		leader := None
		switch m := msg.(type) {
		case *AppendEntries:
			leader = m.LeaderID
		case *InstallSnapshot:
			leader = m.LeaderID
		}
		r.becomeFollower(term, leader, now)
	} else if term < r.CurrentTerm {
		r.rejectStale(msg)
		return
	}
	if rv, ok := msg.(*RequestVote); ok {
		r.handleRequestVote(rv, now)
		return
	}
	switch r.Role {
	case Leader:
		r.stepLeader(msg)
	case Candidate:
		r.stepCandidate(msg, now)
	default:
		r.stepFollower(msg, now)
	}
}

// ---- per-role handlers -----------------------------------------------------

func (r *Raft) stepFollower(msg Message, now int64) {
	switch m := msg.(type) {
	case *AppendEntries:
		r.handleAppendEntries(m, now)
	case *InstallSnapshot:
		r.handleInstallSnapshot(m, now)
	}
	// Replies to an old candidacy or leadership in this same term are stale.
}

func (r *Raft) stepCandidate(msg Message, now int64) {
	switch m := msg.(type) {
	case *RequestVoteReply:
		if m.VoteGranted {
			r.votes[m.VoterID] = true
			if len(r.votes) >= Majority(len(r.members)) {
				r.becomeLeader(now)
			}
		}
	case *AppendEntries:
		// Section 5.2: a leader of our own term exists, so we return to follower.
		r.becomeFollower(r.CurrentTerm, m.LeaderID, now)
		r.handleAppendEntries(m, now)
	case *InstallSnapshot:
		r.becomeFollower(r.CurrentTerm, m.LeaderID, now)
		r.handleInstallSnapshot(m, now)
	}
}

func (r *Raft) stepLeader(msg Message) {
	switch m := msg.(type) {
	case *AppendEntriesReply:
		r.handleAppendReply(m)
	case *InstallSnapshotReply:
		r.handleInstallReply(m)
	case *AppendEntries, *InstallSnapshot:
		// Election Safety makes a second leader in our term impossible.
		panic(fmt.Sprintf("raft: two leaders in term %d", m.MsgTerm()))
	}
}

// ---- RequestVote (section 5.2, 5.4.1) --------------------------------------

func (r *Raft) handleRequestVote(m *RequestVote, now int64) {
	free := r.VotedFor == None || r.VotedFor == m.CandidateID
	// Election restriction (5.4.1): the candidate's log is at least as up to date.
	myTerm := r.TermAt(r.LastIndex())
	upToDate := m.LastLogTerm > myTerm || (m.LastLogTerm == myTerm && m.LastLogIndex >= r.LastIndex())
	granted := free && upToDate
	if granted {
		r.VotedFor = m.CandidateID
		r.ready.HardState = &HardState{r.CurrentTerm, r.VotedFor}
		r.ElectionDeadline = now + r.electionTimeout()
	}
	r.send(m.CandidateID, &RequestVoteReply{Term: r.CurrentTerm, VoteGranted: granted, VoterID: r.ID})
}

// ---- AppendEntries (section 5.3) -------------------------------------------

func (r *Raft) handleAppendEntries(m *AppendEntries, now int64) {
	r.LeaderID = m.LeaderID
	r.ElectionDeadline = now + r.electionTimeout()
	prev, entries := m.PrevLogIndex, m.Entries
	if prev < r.LastIncludedIndex {
		// Section 7: the snapshot holds only committed entries, and a leader
		// of this term holds them too (Leader Completeness), so the part of
		// the message the snapshot covers matches: skip it.
		entries = entries[min(r.LastIncludedIndex-prev, len(entries)):]
		prev = r.LastIncludedIndex
	} else if prev > r.LastIndex() {
		r.replyAppend(false, 0, r.LastIndex()+1, 0, m.LeaderID)
		return
	} else if prevTerm := r.TermAt(prev); prevTerm != m.PrevLogTerm {
		first := r.firstIndexOfTerm(prev, prevTerm)
		r.replyAppend(false, 0, first, prevTerm, m.LeaderID)
		return
	}
	r.merge(prev, entries)
	lastNew := m.PrevLogIndex + len(m.Entries)
	if m.LeaderCommit > r.CommitIndex {
		r.CommitIndex = max(r.CommitIndex, min(m.LeaderCommit, lastNew))
	}
	r.replyAppend(true, lastNew, 0, 0, m.LeaderID)
}

// merge appends entries after prevIndex, truncating only at a real conflict.
// An entry that already matches stays: a delayed, shorter AppendEntries must
// never cut off entries a newer one delivered (Figure 2, receiver rule 3).
func (r *Raft) merge(prevIndex int, entries []Entry) {
	base := r.LastIncludedIndex
	for offset, entry := range entries {
		index := prevIndex + 1 + offset
		if index <= r.LastIndex() {
			if r.Log[index-base-1].Term == entry.Term {
				continue
			}
			if index <= r.CommitIndex {
				panic("raft: truncating a committed entry")
			}
			r.Log = r.Log[:index-base-1]
		}
		r.Log = append(r.Log, entries[offset:]...)
		r.markLog(index)
		return
	}
}

// firstIndexOfTerm walks back over term; the hint never points into the snapshot.
func (r *Raft) firstIndexOfTerm(index, term int) int {
	base := r.LastIncludedIndex
	for index > base+1 && r.Log[index-base-2].Term == term {
		index--
	}
	return index
}

func (r *Raft) replyAppend(success bool, match, conflictIndex, conflictTerm, to int) {
	r.send(to, &AppendEntriesReply{
		Term: r.CurrentTerm, Success: success, FollowerID: r.ID,
		MatchIndex: match, ConflictIndex: conflictIndex, ConflictTerm: conflictTerm,
	})
}

func (r *Raft) handleAppendReply(m *AppendEntriesReply) {
	pr := r.progress[m.FollowerID]
	pr.Inflight = false
	if m.Success {
		r.advance(m.FollowerID, pr, m.MatchIndex)
		return
	}
	// Fast backtracking (5.3): skip a whole conflicting term per round trip.
	target := max(pr.MatchIndex+1, r.nextAfterConflict(m, pr.NextIndex-1))
	if target < pr.NextIndex { // otherwise the rejection is stale
		pr.NextIndex = target
		r.sendAppend(m.FollowerID)
	}
}

// nextAfterConflict is the next index to try after a rejection. If the leader
// holds entries of the follower's conflicting term, it resumes after its last
// one; all of them lie below the rejected prev index, since terms only grow
// along a log. Otherwise it skips the follower's whole conflicting term.
//
// The walk stops at the snapshot (section 7): its LastIncludedTerm is the
// only term left to compare. Below it the terms are unknown, so the
// follower's hint is used, as when the term is not held.
func (r *Raft) nextAfterConflict(m *AppendEntriesReply, rejectedPrev int) int {
	if m.ConflictTerm != 0 {
		base := r.LastIncludedIndex
		start := min(rejectedPrev, r.LastIndex())
		index := start
		for ; index > base; index-- {
			term := r.Log[index-base-1].Term
			if term == m.ConflictTerm {
				return index + 1
			}
			if term < m.ConflictTerm {
				break
			}
		}
		if index == base && base > 0 && start >= base && r.LastIncludedTerm == m.ConflictTerm {
			return base + 1
		}
	}
	return m.ConflictIndex
}

func (r *Raft) sendAppend(peer int) {
	pr := r.progress[peer]
	prev := pr.NextIndex - 1
	base := r.LastIncludedIndex
	if prev < base {
		r.sendSnapshot(peer, pr)
		return
	}
	end := min(prev-base+r.config.MaxBatchEntries, len(r.Log))
	var batch []Entry
	if prev-base < end {
		batch = slices.Clone(r.Log[prev-base : end])
	}
	pr.Inflight = len(batch) > 0
	r.send(peer, &AppendEntries{
		Term: r.CurrentTerm, LeaderID: r.ID, PrevLogIndex: prev, PrevLogTerm: r.TermAt(prev),
		Entries: batch, LeaderCommit: r.CommitIndex,
	})
}

// advance notes that peer's log matches the leader's up to match, and sends
// it what follows, if anything.
func (r *Raft) advance(peer int, pr *Progress, match int) {
	if match > pr.MatchIndex {
		r.advanceMatch(pr, match)
		r.maybeCommit()
	}
	pr.NextIndex = max(pr.NextIndex, match+1)
	if pr.NextIndex <= r.LastIndex() {
		r.sendAppend(peer)
	}
}

// ---- InstallSnapshot (section 7, Figure 13) --------------------------------

// sendSnapshot: the entries peer needs next are compacted, so it gets the
// snapshot. As with a batch of entries, the leader holds back new proposals
// for peer until the reply; a heartbeat resends it, which recovers a loss.
func (r *Raft) sendSnapshot(peer int, pr *Progress) {
	snap := r.snapshot
	if snap == nil {
		panic("raft: a compacted log without a snapshot")
	}
	pr.Inflight = true
	r.send(peer, &InstallSnapshot{Term: r.CurrentTerm, LeaderID: r.ID,
		LastIncludedIndex: snap.LastIncludedIndex, LastIncludedTerm: snap.LastIncludedTerm, Data: snap.Data})
}

// handleInstallSnapshot follows Figure 13's receiver rules 6 to 8 (one chunk,
// so rules 2 to 5 never arise).
func (r *Raft) handleInstallSnapshot(m *InstallSnapshot, now int64) {
	r.LeaderID = m.LeaderID
	r.ElectionDeadline = now + r.electionTimeout()
	index := m.LastIncludedIndex
	if index <= r.CommitIndex {
		// The log already holds a committed prefix at least this long:
		// installing would move the state machine back, so it is ignored.
		r.send(m.LeaderID, &InstallSnapshotReply{Term: r.CurrentTerm, FollowerID: r.ID, MatchIndex: r.CommitIndex})
		return
	}
	snap := &Snapshot{LastIncludedIndex: index, LastIncludedTerm: m.LastIncludedTerm, Data: m.Data}
	// Rule 6: an entry of the snapshot's last index and term keeps the log after it.
	keep := index <= r.LastIndex() && r.TermAt(index) == m.LastIncludedTerm
	had := r.LastIndex()
	r.compact(snap, keep)
	if !keep && had > index {
		r.markLog(index + 1) // rule 7: the persisted entries after it go as well
	}
	// Rule 8: the state machine is reset from the snapshot.
	r.CommitIndex, r.LastApplied = index, index
	r.ready.Snapshot, r.ready.Restore = snap, snap
	r.send(m.LeaderID, &InstallSnapshotReply{Term: r.CurrentTerm, FollowerID: r.ID, MatchIndex: index})
}

func (r *Raft) handleInstallReply(m *InstallSnapshotReply) {
	pr := r.progress[m.FollowerID]
	pr.Inflight = false
	r.advance(m.FollowerID, pr, m.MatchIndex)
}

// compact makes snap the log's new start, keeping the entries after it or
// none. The kept entries are copied, so the compacted ones can be freed.
func (r *Raft) compact(snap *Snapshot, keepLog bool) {
	if keepLog {
		r.Log = slices.Clone(r.Log[snap.LastIncludedIndex-r.LastIncludedIndex:])
	} else {
		r.Log = nil
	}
	r.snapshot = snap
	r.LastIncludedIndex, r.LastIncludedTerm = snap.LastIncludedIndex, snap.LastIncludedTerm
	if r.ready.LogFrom != 0 && r.ready.LogFrom <= snap.LastIncludedIndex {
		// A change not yet persisted below the snapshot is in the snapshot now.
		r.ready.LogFrom = snap.LastIncludedIndex + 1
	}
}

// advanceMatch raises a follower's MatchIndex to match and counts it as a
// holder of every index it gained above CommitIndex. MatchIndex only grows
// within a leader's term, so each follower counts once for each index.
func (r *Raft) advanceMatch(pr *Progress, match int) {
	if match <= pr.MatchIndex {
		panic(fmt.Sprintf("raft: MatchIndex from %d down to %d", pr.MatchIndex, match))
	}
	for i := max(pr.MatchIndex, r.CommitIndex) + 1; i <= match; i++ {
		r.replicated[i]++
	}
	pr.MatchIndex = match
}

// maybeCommit advances CommitIndex by counting replicas (5.3, 5.4.2). Only an
// entry of the current term is committed by counting; earlier ones follow it
// (the Figure 8 case).
//
// The counts in replicated do not grow with the index, so the largest index
// stored on a majority (the leader and replicated[i] followers hold index i)
// is where a scan up from CommitIndex stops: the same index as CommittedIndex
// over every server's match index, without visiting every follower on each
// reply, which at thousands of followers stalled the leader.
func (r *Raft) maybeCommit() {
	majority := Majority(len(r.members))
	n := r.CommitIndex
	for n < r.LastIndex() && r.replicated[n+1]+1 >= majority {
		n++
	}
	if n > r.CommitIndex && r.TermAt(n) == r.CurrentTerm {
		for i := r.CommitIndex + 1; i <= n; i++ {
			delete(r.replicated, i)
		}
		r.CommitIndex = n
	}
}

// ---- transitions -----------------------------------------------------------

func (r *Raft) becomeFollower(term, leaderID int, now int64) {
	if r.Role != Follower {
		// Its old deadline is long past; a fresh one avoids an instant re-election.
		r.ElectionDeadline = now + r.electionTimeout()
	}
	if term != r.CurrentTerm {
		r.CurrentTerm, r.VotedFor = term, None
		r.ready.HardState = &HardState{term, None}
	}
	r.LeaderID = leaderID
	r.replicated = nil
	r.setRole(Follower)
}

func (r *Raft) becomeCandidate(now int64) {
	r.CurrentTerm++
	r.VotedFor = r.ID
	r.ready.HardState = &HardState{r.CurrentTerm, r.ID}
	r.LeaderID = None
	r.votes = map[int]bool{r.ID: true}
	r.ElectionDeadline = now + r.electionTimeout()
	r.setRole(Candidate)
	if len(r.votes) >= Majority(len(r.members)) {
		r.becomeLeader(now)
		return
	}
	last := r.LastIndex()
	// One value for every peer: messages are never mutated once sent.
	request := &RequestVote{Term: r.CurrentTerm, CandidateID: r.ID, LastLogIndex: last, LastLogTerm: r.TermAt(last)}
	for peer := range r.peers() {
		r.send(peer, request)
	}
}

func (r *Raft) becomeLeader(now int64) {
	r.LeaderID = r.ID
	r.progress = make(map[int]*Progress, len(r.members)-1)
	for p := range r.peers() {
		r.progress[p] = &Progress{NextIndex: r.LastIndex() + 1}
	}
	r.replicated = make(map[int]int)
	r.setRole(Leader)
	// Section 8: a no-op of the new term lets earlier entries commit.
	r.appendEntry(Entry{Term: r.CurrentTerm, Noop: true})
	r.HeartbeatDeadline = now + r.config.HeartbeatUs
	for peer := range r.peers() {
		r.sendAppend(peer)
	}
	r.maybeCommit()
}

// setRole records a transition; every candidacy is one, even from candidate.
func (r *Raft) setRole(role Role) {
	if role != r.Role || role == Candidate {
		r.ready.Transitions = append(r.ready.Transitions, Transition{role, r.CurrentTerm})
	}
	r.Role = role
}

// ---- helpers ---------------------------------------------------------------

func (r *Raft) appendEntry(e Entry) {
	r.Log = append(r.Log, e)
	r.markLog(r.LastIndex())
}

func (r *Raft) markLog(index int) {
	if r.ready.LogFrom == 0 {
		r.ready.LogFrom = index
	} else {
		r.ready.LogFrom = min(r.ready.LogFrom, index)
	}
}

func (r *Raft) send(to int, msg Message) {
	r.ready.Messages = append(r.ready.Messages, Envelope{to, msg})
}

func (r *Raft) electionTimeout() int64 {
	return r.rng.UniformInt(r.config.ElectionTimeoutMinUs, r.config.ElectionTimeoutMaxUs)
}

// rejectStale answers an old-term request so its sender learns our term.
func (r *Raft) rejectStale(msg Message) {
	if slog.Default().Enabled(context.Background(), slog.LevelDebug) {
		slog.Debug("raft: drop stale message", "node", r.ID, "type", fmt.Sprintf("%T", msg),
			"term", msg.MsgTerm(), "current", r.CurrentTerm)
	}
	switch m := msg.(type) {
	case *RequestVote:
		r.send(m.CandidateID, &RequestVoteReply{Term: r.CurrentTerm, VoteGranted: false, VoterID: r.ID})
	case *AppendEntries:
		r.replyAppend(false, 0, 0, 0, m.LeaderID)
	case *InstallSnapshot:
		r.send(m.LeaderID, &InstallSnapshotReply{Term: r.CurrentTerm, FollowerID: r.ID})
	}
}
