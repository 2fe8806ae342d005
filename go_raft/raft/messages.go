package raft

// Entry is one log entry. Noop marks the no-op a new leader appends (section
// 8); its Cmd is empty, and it is the null command of the JSON encodings.
type Entry struct {
	Term    int
	Cmd     string
	Payload string
	Noop    bool
}

// Message is one of the four RPCs of Figure 2. Field names follow the paper.
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

func (m *RequestVote) MsgTerm() int        { return m.Term }
func (m *RequestVoteReply) MsgTerm() int   { return m.Term }
func (m *AppendEntries) MsgTerm() int      { return m.Term }
func (m *AppendEntriesReply) MsgTerm() int { return m.Term }

func (*RequestVote) isMessage()        {}
func (*RequestVoteReply) isMessage()   {}
func (*AppendEntries) isMessage()      {}
func (*AppendEntriesReply) isMessage() {}
