package raft

import "fmt"

// Storage is what a server persists before it answers (Figure 2,
// "Persistent state"). A restarted server is rebuilt from its Storage and
// nothing else.
type Storage interface {
	// HardState returns (current term, voted for); votedFor is None if none.
	HardState() (term, votedFor int)
	// Entries returns a copy of the whole persisted log; index 1 is element 0.
	Entries() []Entry
	SetHardState(term, votedFor int)
	// TruncateAndAppend drops every entry at or after firstIndex, then appends.
	TruncateAndAppend(firstIndex int, entries []Entry)
}

// MemoryStorage keeps the persistent state in memory; it outlives a crashed
// node. It is not safe for concurrent use: one node goroutine owns it at a time.
type MemoryStorage struct {
	term int
	vote int
	log  []Entry
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
	if firstIndex < 1 || firstIndex > len(s.log)+1 {
		panic(fmt.Sprintf("raft: truncate at %d of a log of %d", firstIndex, len(s.log)))
	}
	s.log = append(s.log[:firstIndex-1], entries...)
}
