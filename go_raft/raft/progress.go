package raft

// Progress is the leader's view of one follower (Figure 2, "Volatile state on
// leaders").
//
// Invariant: 0 <= MatchIndex < NextIndex.
// Inflight is true while an AppendEntries with entries awaits its reply; the
// leader then holds back new entries for that follower, so they gather into
// the next batch instead of one message per proposal. A heartbeat resends
// regardless, which also recovers from a lost message.
type Progress struct {
	NextIndex  int
	MatchIndex int
	Inflight   bool
}
