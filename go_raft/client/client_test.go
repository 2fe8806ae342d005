package client

import (
	"errors"
	"testing"

	"raftbench/go_raft/raft"
)

// A client's decisions, step by step: whom it asks next and how long it
// pauses first (docs/protocol.md, "Clients").
func TestDecisions(t *testing.T) {
	c := New(3, 1, 5, 100, 10_000)
	up := func(node int) bool { return node != 2 }
	if c.Next() != "c3.1" || c.Next() != "c3.2" || c.HopUs != 100 {
		t.Fatal("commands are c<id>.<seq>")
	}
	for i, s := range []struct {
		o      Outcome
		hint   int
		target int
		pause  int64
	}{
		{OK, raft.None, 1, 200},          // the ack back, the next request out
		{Redirect, 4, 4, 10_000},         // to the hint
		{Redirect, raft.None, 0, 10_000}, // no hint: the next node
		{Lost, raft.None, 0, 10_000},     // overwritten at a live node: there again
		{Timeout, raft.None, 1, 0},       // the next node at once
		{Redirect, raft.None, 2, 10_000}, // node 2 is down
		{Lost, raft.None, 3, 10_000},     // lost to a crash: the next node
	} {
		if pause := c.Outcome(s.o, s.hint, up); pause != s.pause || c.Target != s.target {
			t.Fatalf("step %d: target %d pause %d, want %d %d", i, c.Target, pause, s.target, s.pause)
		}
	}
}

func TestHint(t *testing.T) {
	if Hint(&raft.NotLeaderError{LeaderHint: 4}) != 4 || Hint(errors.New("other")) != raft.None {
		t.Fatal("hint")
	}
}
