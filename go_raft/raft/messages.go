package raft

// Entry is one log entry. Noop marks the no-op a new leader appends (section
// 8); its Cmd is empty, and it is the null command of the JSON encodings.
type Entry struct {
	Term    int
	Cmd     string
	Payload string
	Noop    bool
}

// Message is one of the RPCs of Figures 2 and 13. Field names follow the paper.
// Replies carry the id of the server that sent them (VoterID, FollowerID),
// which the paper leaves to the transport.
type Message interface {
	// MsgTerm is the sender's current term, which every RPC carries.
	MsgTerm() int
	isMessage()
}

// RequestVote is sent by candidates to gather votes (section 5.2).
type RequestVote struct {
	Term         int
	CandidateID  int
	LastLogIndex int
	LastLogTerm  int
}

// RequestVoteReply answers RequestVote.
type RequestVoteReply struct {
	Term        int
	VoteGranted bool
	VoterID     int
}

// AppendEntries replicates entries; with no entries it is a heartbeat (section 5.3).
type AppendEntries struct {
	Term         int
	LeaderID     int
	PrevLogIndex int
	PrevLogTerm  int
	Entries      []Entry
	LeaderCommit int
}

// AppendEntriesReply answers AppendEntries.
//
// On success MatchIndex is the last index known to match the leader. On
// failure ConflictIndex/ConflictTerm are the fast-backtracking hint of
// section 5.3: the first index the follower holds for ConflictTerm (or its
// log length + 1 with ConflictTerm 0 when its log is too short).
type AppendEntriesReply struct {
	Term          int
	Success       bool
	FollowerID    int
	MatchIndex    int
	ConflictIndex int
	ConflictTerm  int
}

// InstallSnapshot sends a leader's snapshot to a follower whose next entry it
// compacted (section 7, Figure 13). It is sent in one chunk: the paper's offset
// is always 0 and done always true, so neither is carried. Data is shared with
// the leader's snapshot and must not be changed.
type InstallSnapshot struct {
	Term              int
	LeaderID          int
	LastIncludedIndex int
	LastIncludedTerm  int
	Data              []byte
}

// InstallSnapshotReply answers InstallSnapshot.
//
// MatchIndex is the last index the follower now knows to match the leader: the
// snapshot's LastIncludedIndex once installed, or the follower's CommitIndex
// when its log already covers the snapshot (0 when it rejects a stale term).
// There is no Success: a reply of the leader's term always counts, a higher
// term makes it step down.
type InstallSnapshotReply struct {
	Term       int
	FollowerID int
	MatchIndex int
}

func (m *RequestVote) MsgTerm() int          { return m.Term }
func (m *RequestVoteReply) MsgTerm() int     { return m.Term }
func (m *AppendEntries) MsgTerm() int        { return m.Term }
func (m *AppendEntriesReply) MsgTerm() int   { return m.Term }
func (m *InstallSnapshot) MsgTerm() int      { return m.Term }
func (m *InstallSnapshotReply) MsgTerm() int { return m.Term }

func (*RequestVote) isMessage()          {}
func (*RequestVoteReply) isMessage()     {}
func (*AppendEntries) isMessage()        {}
func (*AppendEntriesReply) isMessage()   {}
func (*InstallSnapshot) isMessage()      {}
func (*InstallSnapshotReply) isMessage() {}
