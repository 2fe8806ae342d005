package raft

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The reference values come from py_raft.core.rng, so both languages draw alike.
func TestSplitMix64MatchesPython(t *testing.T) {
	r := NewSplitMix64(42)
	want := []uint64{13679457532755275413, 2949826092126892291, 5139283748462763858}
	for i, w := range want {
		if got := r.NextU64(); got != w {
			t.Fatalf("draw %d: got %d, want %d", i, got, w)
		}
	}
	if got := r.UniformInt(150000, 300000); got != 172075 {
		t.Fatalf("UniformInt: got %d", got)
	}
	if got := r.Random(); got != 0.03803016854024621 {
		t.Fatalf("Random: got %v", got)
	}
	if got := DeriveSeed(1, 0); got != 10451216379200822465 {
		t.Fatalf("DeriveSeed(1, 0): got %d", got)
	}
	if got := DeriveSeed(7, 1<<63-1); got != 2507104972516670462 {
		t.Fatalf("DeriveSeed(7, 2^63-1): got %d", got)
	}
}

// naiveCommitted is the largest index that a majority of servers hold.
func naiveCommitted(matches []int) int {
	best := 0
	for _, candidate := range matches {
		count := 0
		for _, m := range matches {
			if m >= candidate {
				count++
			}
		}
		if count >= Majority(len(matches)) && candidate > best {
			best = candidate
		}
	}
	return best
}

// As etcd's quorum/quick_test.go: the quorum arithmetic against a naive version.
func TestCommittedIndexMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		matches := make([]int, 1+rng.IntN(9))
		for i := range matches {
			matches[i] = rng.IntN(20)
		}
		want := naiveCommitted(matches)
		if got := CommittedIndex(slices.Clone(matches)); got != want {
			t.Fatalf("%v: got %d, want %d", matches, got, want)
		}
	}
}

func testConfig() Config {
	return Config{ElectionTimeoutMinUs: 150_000, ElectionTimeoutMaxUs: 300_000, HeartbeatUs: 50_000, MaxBatchEntries: 64}
}

func newTestRaft(id int, members []int) (*Raft, *MemoryStorage) {
	s := NewMemoryStorage()
	return New(id, members, s, testConfig(), NewSplitMix64(uint64(id)), 0), s
}

// Section 5.2: a follower that hears nothing within its election timeout
// becomes a candidate, votes for itself and asks every peer, in id order.
func TestFollowerTimeoutStartsElection(t *testing.T) {
	r, _ := newTestRaft(1, []int{2, 0, 1})
	r.Tick(r.NextDeadline() - 1)
	if r.HasReady() {
		t.Fatal("ticked before the deadline")
	}
	r.Tick(r.NextDeadline())
	rd := r.Ready()
	if r.Role != Candidate || r.CurrentTerm != 1 || r.VotedFor != 1 {
		t.Fatalf("role %v term %d vote %d", r.Role, r.CurrentTerm, r.VotedFor)
	}
	if *rd.HardState != (HardState{1, 1}) || len(rd.Messages) != 2 || rd.Messages[0].To != 0 || rd.Messages[1].To != 2 {
		t.Fatalf("ready %+v", rd)
	}
}

// Section 5.1: a server that sees a higher term steps down; a stale request
// is answered with the current term.
func TestTermRules(t *testing.T) {
	r, _ := newTestRaft(0, []int{0, 1, 2})
	r.Step(&AppendEntries{Term: 3, LeaderID: 1}, 10)
	r.Ready()
	if r.CurrentTerm != 3 || r.LeaderID != 1 {
		t.Fatalf("term %d leader %d", r.CurrentTerm, r.LeaderID)
	}
	r.Step(&RequestVote{Term: 2, CandidateID: 2}, 20)
	rd := r.Ready()
	reply, ok := rd.Messages[0].Msg.(*RequestVoteReply)
	if !ok || reply.Term != 3 || reply.VoteGranted {
		t.Fatalf("stale vote answered %+v", rd.Messages[0].Msg)
	}
}

// Section 5.2 and 8: a single server elects itself, appends a no-op and commits it.
func TestSingleNodeCommits(t *testing.T) {
	r, _ := newTestRaft(0, []int{0})
	r.Tick(r.NextDeadline())
	rd := r.Ready()
	if r.Role != Leader || len(rd.Committed) != 1 || !rd.Committed[0].Entry.Noop {
		t.Fatalf("role %v ready %+v", r.Role, rd)
	}
	index, term, err := r.Propose("c0.1", "x", 1)
	if err != nil || index != 2 || term != 1 {
		t.Fatalf("propose: %d %d %v", index, term, err)
	}
	if rd := r.Ready(); len(rd.Committed) != 1 || rd.Committed[0].Entry.Cmd != "c0.1" {
		t.Fatalf("ready %+v", rd)
	}
}

func TestProposeOnFollowerGivesHint(t *testing.T) {
	r, _ := newTestRaft(0, []int{0, 1, 2})
	r.Step(&AppendEntries{Term: 1, LeaderID: 2}, 10)
	_, _, err := r.Propose("c", "", 20)
	nl, ok := err.(*NotLeaderError)
	if !ok || nl.LeaderHint != 2 {
		t.Fatalf("err %v", err)
	}
}

// The first election deadline comes from the first range when one is set, and
// every later one from the normal range; unset, the draws are those of before.
func TestFirstElectionTimeout(t *testing.T) {
	base := Config{ElectionTimeoutMinUs: 150_000, ElectionTimeoutMaxUs: 300_000, HeartbeatUs: 50_000, MaxBatchEntries: 64}
	members := []int{0, 1, 2}

	plain := New(0, members, NewMemoryStorage(), base, NewSplitMix64(7), 1000)
	want := NewSplitMix64(7)
	if got := plain.ElectionDeadline; got != 1000+want.UniformInt(150_000, 300_000) {
		t.Fatalf("unset: deadline %d", got)
	}

	first := base
	first.FirstElectionTimeoutMinUs, first.FirstElectionTimeoutMaxUs = 5_000_000, 5_000_100
	r := New(0, members, NewMemoryStorage(), first, NewSplitMix64(7), 1000)
	want = NewSplitMix64(7)
	if got := r.ElectionDeadline; got != 1000+want.UniformInt(5_000_000, 5_000_100) {
		t.Fatalf("first: deadline %d", got)
	}
	r.Tick(r.ElectionDeadline) // a candidacy draws from the normal range
	if r.Role != Candidate {
		t.Fatalf("role %v after the first timeout", r.Role)
	}
	if d := r.ElectionDeadline - (1000 + 5_000_000); d < 150_000 || d > 300_100 {
		t.Fatalf("second timeout %d us is not from the normal range", d)
	}

	for _, bad := range [][2]int64{{-1, 0}, {200, 100}, {0, -1}} {
		cfg := base
		cfg.FirstElectionTimeoutMinUs, cfg.FirstElectionTimeoutMaxUs = bad[0], bad[1]
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("first range %v: no panic", bad)
				}
			}()
			New(0, members, NewMemoryStorage(), cfg, NewSplitMix64(7), 0)
		}()
	}
}
