package raft

import "fmt"

// Storage is what a server persists before it answers (Figure 2,
// "Persistent state"). A restarted server is rebuilt from its Storage and
// nothing else: its snapshot, if the Storage keeps one (SnapshotStorage),
// then the log after it.
type Storage interface {
	// HardState returns (current term, voted for); votedFor is None if none.
	HardState() (term, votedFor int)
	// Entries returns a copy of the persisted log after the snapshot, if any:
	// element 0 is index 1, or LastIncludedIndex + 1 after a snapshot.
	Entries() []Entry
	SetHardState(term, votedFor int)
	// TruncateAndAppend drops every entry at or after firstIndex, then appends.
	TruncateAndAppend(firstIndex int, entries []Entry)
}

// SnapshotStorage is a Storage that also keeps the latest snapshot (section
// 7). A Storage without these methods never holds a snapshot; a core over it
// starts with none, and its host must leave Config.SnapshotEntries at 0.
type SnapshotStorage interface {
	Storage
	// Snapshot returns the latest saved snapshot, nil if there is none.
	Snapshot() *Snapshot
	// SaveSnapshot keeps snap and drops every entry at or below its index.
	// Entries after its index stay; when they conflict, the Ready that carries
	// the snapshot also carries the log change that truncates them, persisted
	// after it. All entries go if the log ends before the snapshot's index.
	SaveSnapshot(snap Snapshot)
}

// MemoryStorage keeps the persistent state in memory; it outlives a crashed
// node. It is not safe for concurrent use: one node goroutine owns it at a time.
type MemoryStorage struct {
	term     int
	vote     int
	log      []Entry
	snapshot *Snapshot
}

// NewMemoryStorage returns an empty storage: term 0, no vote, no entries.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{vote: None}
}

func (s *MemoryStorage) HardState() (int, int) { return s.term, s.vote }

func (s *MemoryStorage) Entries() []Entry {
	return append([]Entry(nil), s.log...)
}

func (s *MemoryStorage) SetHardState(term, votedFor int) {
	s.term, s.vote = term, votedFor
}

func (s *MemoryStorage) TruncateAndAppend(firstIndex int, entries []Entry) {
	base := s.base()
	if firstIndex < base+1 || firstIndex > base+len(s.log)+1 {
		panic(fmt.Sprintf("raft: truncate at %d of a log of %d after %d", firstIndex, len(s.log), base))
	}
	s.log = append(s.log[:firstIndex-base-1], entries...)
}

func (s *MemoryStorage) Snapshot() *Snapshot {
	if s.snapshot == nil {
		return nil
	}
	snap := *s.snapshot
	return &snap
}

func (s *MemoryStorage) SaveSnapshot(snap Snapshot) {
	base := s.base()
	if snap.LastIncludedIndex <= base {
		panic(fmt.Sprintf("raft: snapshot at %d over one at %d", snap.LastIncludedIndex, base))
	}
	drop := min(snap.LastIncludedIndex-base, len(s.log))
	s.log = append([]Entry(nil), s.log[drop:]...)
	s.snapshot = &snap
}

// base is the index just before the first entry held: the snapshot's, or 0.
func (s *MemoryStorage) base() int {
	if s.snapshot == nil {
		return 0
	}
	return s.snapshot.LastIncludedIndex
}
