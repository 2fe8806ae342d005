package raft

import (
	"fmt"
	"testing"
)

var benchConfig = Config{ElectionTimeoutMinUs: 150_000, ElectionTimeoutMaxUs: 300_000,
	HeartbeatUs: 50_000, MaxBatchEntries: 64}

// benchLeader is node 0 of five, elected in term 1.
func benchLeader(b *testing.B) *Raft {
	r := New(0, []int{0, 1, 2, 3, 4}, NewMemoryStorage(), benchConfig, NewSplitMix64(1), 0)
	r.Tick(r.NextDeadline())
	for voter := 1; voter < 5; voter++ {
		r.Step(&RequestVoteReply{Term: 1, VoteGranted: true, VoterID: voter}, 1)
	}
	r.Ready()
	if r.Role != Leader {
		b.Fatal("no leader")
	}
	return r
}

func BenchmarkFollowerAppendEntriesBatch(b *testing.B) {
	batch := make([]Entry, 64)
	for i := range batch {
		batch[i] = Entry{Term: 1, Cmd: fmt.Sprintf("c0.%d", i), Payload: "xxxxxxxxxxxxxxxx"}
	}
	for i := 0; i < b.N; i++ {
		f := New(1, []int{0, 1, 2, 3, 4}, NewMemoryStorage(), benchConfig, NewSplitMix64(2), 0)
		f.Step(&AppendEntries{Term: 1, LeaderID: 0, Entries: batch, LeaderCommit: 32}, 1)
		f.Ready()
	}
}

func BenchmarkLeaderAppendEntriesReply(b *testing.B) {
	r := benchLeader(b)
	for i := 0; i < 64; i++ {
		if _, _, err := r.Propose(fmt.Sprintf("c.%d", i), "x", 2); err != nil {
			b.Fatal(err)
		}
	}
	r.Ready()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, pr := range r.progress {
			pr.MatchIndex = 0
		}
		r.CommitIndex = 0
		clear(r.replicated)
		for peer := 1; peer < 5; peer++ {
			r.Step(&AppendEntriesReply{Term: 1, Success: true, FollowerID: peer,
				MatchIndex: r.LastIndex()}, 3)
		}
		r.Ready()
	}
}

func BenchmarkLeaderLogAppend(b *testing.B) {
	r := benchLeader(b)
	for i := 0; i < b.N; i++ {
		if _, _, err := r.Propose("c", "xxxxxxxxxxxxxxxx", 2); err != nil {
			b.Fatal(err)
		}
		r.Ready()
	}
}

func BenchmarkCommittedIndex(b *testing.B) {
	for _, n := range []int{5, 101} {
		matches := make([]int, n)
		for i := range matches {
			matches[i] = i
		}
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				CommittedIndex(matches)
			}
		})
	}
}
