package raft

import (
	"math/rand/v2"
	"testing"
)

// The leader's incremental commit counting against the reference rule: at
// every step CommitIndex is what CommittedIndex over every server's match index
// (the leader's LastIndex included) gives, committed only if that entry is of
// the current term (Figure 8), else unchanged. Leaders of 1 to 9 servers start
// from logs of earlier terms, take proposals, successful replies that raise,
// repeat or lower a follower's match index, rejections, and lose and regain
// leadership in later terms.
func TestIncrementalCommitMatchesCommittedIndex(t *testing.T) {
	for seed := uint64(1); seed <= 500; seed++ {
		checkIncrementalCommit(t, seed)
		if t.Failed() {
			return
		}
	}
}

func checkIncrementalCommit(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	size := 1 + rng.IntN(9)
	members := make([]int, size)
	for i := range members {
		members[i] = i
	}
	id := rng.IntN(size)
	storage := NewMemoryStorage()
	term := 0
	var log []Entry
	for range rng.IntN(12) {
		term += rng.IntN(2)
		log = append(log, Entry{Term: max(term, 1), Cmd: "old"})
	}
	if len(log) > 0 {
		storage.TruncateAndAppend(1, log)
		term = log[len(log)-1].Term
	}
	storage.SetHardState(term+rng.IntN(3), None)
	r := New(id, members, storage, benchConfig, NewSplitMix64(seed), 0)
	now := int64(0)

	elect := func() {
		now = r.ElectionDeadline
		r.Tick(now)
		for _, voter := range members {
			if r.Role == Leader {
				break
			}
			if voter != id {
				r.Step(&RequestVoteReply{Term: r.CurrentTerm, VoteGranted: true, VoterID: voter}, now)
			}
		}
		if r.Role != Leader {
			t.Fatalf("seed %d: not elected", seed)
		}
	}
	randomPeer := func() (int, bool) {
		if size == 1 {
			return 0, false
		}
		for {
			if p := rng.IntN(size); p != id {
				return p, true
			}
		}
	}

	prev := r.CommitIndex
	elect()
	for step := 0; step < 300; step++ {
		if r.Role == Leader {
			checkCommitStep(t, seed, step, r, prev)
			if t.Failed() {
				return
			}
		}
		prev = r.CommitIndex
		now++
		peer, hasPeer := randomPeer()
		switch action := rng.IntN(100); {
		case action < 35:
			if _, _, err := r.Propose("c", "x", now); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		case action < 85 && hasPeer:
			match := rng.IntN(r.LastIndex() + 1)
			if rng.IntN(2) == 0 {
				match = min(r.progress[peer].MatchIndex+1+rng.IntN(3), r.LastIndex())
			}
			r.Step(&AppendEntriesReply{Term: r.CurrentTerm, Success: true, FollowerID: peer, MatchIndex: match}, now)
		case action < 92 && hasPeer:
			r.Step(&AppendEntriesReply{Term: r.CurrentTerm, FollowerID: peer,
				ConflictIndex: 1 + rng.IntN(r.LastIndex()+1), ConflictTerm: rng.IntN(r.CurrentTerm + 1)}, now)
		case action >= 92:
			// A later term deposes the leader; it wins again at once or after
			// more terms, its uncommitted entries now of earlier terms.
			voter := id
			if hasPeer {
				voter = peer
			}
			r.Step(&RequestVoteReply{Term: r.CurrentTerm + 1 + rng.IntN(2), VoterID: voter}, now)
			if r.Role != Follower || r.replicated != nil {
				t.Fatalf("seed %d step %d: deposed leader is %v with counts %v", seed, step, r.Role, r.replicated)
			}
			for range rng.IntN(2) {
				r.becomeCandidate(now) // a lost election
			}
			prev = r.CommitIndex
			elect()
		}
		r.Ready()
	}
}

// checkCommitStep checks CommitIndex after one input, prev being its value
// before, and the counts against a recount.
func checkCommitStep(t *testing.T, seed uint64, step int, r *Raft, prev int) {
	t.Helper()
	matches := []int{r.LastIndex()}
	for peer := range r.peers() {
		matches = append(matches, r.progress[peer].MatchIndex)
	}
	want := prev
	if n := CommittedIndex(append([]int(nil), matches...)); n > prev && r.TermAt(n) == r.CurrentTerm {
		want = n
	}
	if r.CommitIndex != want {
		t.Fatalf("seed %d step %d: CommitIndex %d, want %d (was %d; matches %v, term %d, log terms %v)",
			seed, step, r.CommitIndex, want, prev, matches, r.CurrentTerm, logTerms(r))
	}
	for i := range r.replicated {
		if i <= r.CommitIndex || i > r.LastIndex() {
			t.Fatalf("seed %d step %d: count kept for index %d outside (%d, %d]",
				seed, step, i, r.CommitIndex, r.LastIndex())
		}
	}
	for i := r.CommitIndex + 1; i <= r.LastIndex(); i++ {
		holders := 0
		for _, m := range matches[1:] {
			if m >= i {
				holders++
			}
		}
		if r.replicated[i] != holders {
			t.Fatalf("seed %d step %d: replicated[%d] = %d, want %d (matches %v)",
				seed, step, i, r.replicated[i], holders, matches)
		}
	}
}

func logTerms(r *Raft) []int {
	terms := make([]int, len(r.Log))
	for i, e := range r.Log {
		terms[i] = e.Term
	}
	return terms
}
