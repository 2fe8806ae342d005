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
//  1. Persist HardState and the log change (LogFrom, Entries) to Storage.
//     This comes first: a vote or an acknowledgement in Messages must never
//     promise state that a crash right after sending could forget.
//  2. Send Messages, each to its destination.
//  3. Apply Committed to the state machine, in index order.
//
// Transitions lists the role changes this input caused, oldest first, for the
// runtime's trace; they need no action.
type Ready struct {
	HardState *HardState // nil: unchanged
	// LogFrom is 0 when the log did not change; else entries >= LogFrom are replaced.
	LogFrom     int
	Entries     []Entry
	Messages    []Envelope
	Committed   []Applied
	Transitions []Transition
}
