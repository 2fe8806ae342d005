package raft

// Snapshot is the state machine's image at one log index (section 7 of the
// Raft paper): it replaces the log up to and including LastIncludedIndex.
//
// Data is the host's serialized state machine after applying that entry; the
// core never looks inside it. The core keeps it, shares it with every
// InstallSnapshot it sends and hands it back through Ready.Restore, so nobody
// may change its bytes once it is handed over.
type Snapshot struct {
	LastIncludedIndex int
	LastIncludedTerm  int
	Data              []byte
}
