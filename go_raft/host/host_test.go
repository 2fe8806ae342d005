package host

import (
	"slices"
	"testing"

	"raftbench/go_raft/client"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
)

var testConfig = raft.Config{ElectionTimeoutMinUs: 100, ElectionTimeoutMaxUs: 200, HeartbeatUs: 50, MaxBatchEntries: 8}

// A candidate's votes leave only after its own vote is persisted: persist,
// then send.
func TestPersistThenSend(t *testing.T) {
	storage := raft.NewMemoryStorage()
	var sent int
	h := New(raft.New(0, []int{0, 1, 2}, storage, testConfig, raft.NewSplitMix64(1), 0), storage, nil,
		Hooks{Send: func(from int, msgs []raft.Envelope) {
			if term, vote := storage.HardState(); term != 1 || vote != 0 {
				t.Fatalf("sent before the vote was persisted: term %d vote %d", term, vote)
			}
			sent += len(msgs)
		}}, 0)
	h.Tick(h.Core.NextDeadline())
	if sent != 2 {
		t.Fatalf("%d vote requests", sent)
	}
}

// A leader of one applies what it takes and answers the client; a crash
// loses the commands that wait, in index order.
func TestAnswers(t *testing.T) {
	storage := raft.NewMemoryStorage()
	rec := recorder.New(nil, nil, 1)
	h := New(raft.New(0, []int{0}, storage, testConfig, raft.NewSplitMix64(1), 0), storage, rec,
		Hooks{Send: func(int, []raft.Envelope) {}}, 0)
	h.Tick(h.Core.NextDeadline())
	var got []string
	answer := func(name string) func(client.Outcome, int) {
		return func(o client.Outcome, hint int) { got = append(got, name+":"+[]string{"ok", "lost", "redirect"}[o]) }
	}
	if _, ok := h.Propose(&Request{Cmd: "c0.1", Answer: answer("a")}, "v", 1000); !ok {
		t.Fatal("a leader of one refused")
	}
	h.Flush(1000)
	if h.KV.Data["c0"] != (Value{"c0.1", "v"}) || rec.Acks != 1 || !slices.Equal(got, []string{"a:ok"}) {
		t.Fatalf("kv %v, %d acks, answers %v", h.KV, rec.Acks, got)
	}

	// Three nodes: nothing commits without the others.
	storage = raft.NewMemoryStorage()
	h = New(raft.New(0, []int{0, 1, 2}, storage, testConfig, raft.NewSplitMix64(1), 0), storage, rec,
		Hooks{Send: func(int, []raft.Envelope) {}}, 0)
	got = nil
	if _, ok := h.Propose(&Request{Cmd: "c0.1", Answer: answer("f")}, "", 0); ok || !slices.Equal(got, []string{"f:redirect"}) {
		t.Fatalf("a follower took it: %v", got)
	}
	h.Tick(h.Core.NextDeadline())
	for _, term := range []int{1, 1} {
		h.Step(&raft.RequestVoteReply{Term: term, VoteGranted: true, VoterID: 1}, 500)
	}
	got = nil
	b := &Request{Cmd: "c1.1", Answer: answer("b")}
	ib, _ := h.Propose(b, "", 600)
	h.Propose(&Request{Cmd: "c2.1", Answer: answer("c")}, "", 600)
	h.Propose(&Request{Cmd: "c3.1", Answer: answer("d")}, "", 600)
	h.Cancel(ib, b)
	h.Retire()
	if !slices.Equal(got, []string{"c:lost", "d:lost"}) {
		t.Fatalf("answers %v", got)
	}
}
