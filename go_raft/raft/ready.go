package raft

// HardState is the persistent (current term, voted for) pair; VotedFor is None if none.
type HardState struct {
	Term     int
	VotedFor int
}

// Envelope is one message and its destination.
type Envelope struct {
	To  int
	Msg Message
}

// Applied is one committed entry and its index.
type Applied struct {
	Index int
	Entry Entry
}

// Transition is one role change, for the runtime's trace.
type Transition struct {
	Role Role
	Term int
}

// Ready is the core's output. A runtime must handle its fields in this order:
//
//  1. Persist Snapshot (SnapshotStorage.SaveSnapshot: it also drops the
//     persisted entries it covers), then HardState and the log change
//     (LogFrom, Entries). This comes first: a vote or an acknowledgement in
//     Messages must never promise state that a crash right after sending
//     could forget.
//  2. Send Messages, each to its destination.
//  3. Apply: first reset the state machine from Restore, if any (it is then
//     at Restore.LastIncludedIndex), then apply Committed in index order.
//  4. If SnapshotDue is not 0, the state machine is now at that index and the
//     core asks for its image: call Raft.Snapshot(SnapshotDue, data), then
//     handle the Ready that follows (its Snapshot is to persist).
//
// Transitions lists the role changes this input caused, oldest first, for the
// runtime's trace; they need no action. With snapshots off
// (Config.SnapshotEntries 0, no snapshot in Storage, no InstallSnapshot
// received) Snapshot, Restore and SnapshotDue stay empty.
type Ready struct {
	HardState *HardState // nil: unchanged
	// LogFrom is 0 when the log did not change; else entries >= LogFrom are replaced.
	LogFrom     int
	Entries     []Entry
	Messages    []Envelope
	Committed   []Applied
	Transitions []Transition
	// Snapshot, if not nil, is to persist: a compaction or an installed snapshot.
	Snapshot *Snapshot
	// Restore, if not nil, is to load into the state machine before Committed.
	Restore *Snapshot
	// SnapshotDue is 0, or the index to snapshot the state machine at once
	// Committed is applied.
	SnapshotDue int
}
