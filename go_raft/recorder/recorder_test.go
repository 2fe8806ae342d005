package recorder

import (
	"testing"

	"raftbench/go_raft/internal/pyjson"
	"raftbench/go_raft/raft"
)

// A gap is between two AppendEntries of one term that a node handles; other
// messages leave the clock alone, and a new term starts a new series.
func TestAppendClock(t *testing.T) {
	var c AppendClock
	ae := func(term int) raft.Message { return &raft.AppendEntries{Term: term, LeaderID: 1} }
	steps := []struct {
		msg  raft.Message
		now  int64
		gap  int64
		want bool
	}{
		{ae(1), 100, 0, false}, // the first one: nothing to measure from
		{&raft.RequestVote{Term: 1}, 120, 0, false},
		{ae(1), 150, 50, true},
		{&raft.AppendEntriesReply{Term: 1}, 160, 0, false},
		{ae(1), 150, 0, true}, // two at one time: a gap of 0
		{ae(2), 400, 0, false},
		{ae(1), 410, 0, false}, // a stale leader's: a change of term too
		{ae(1), 470, 60, true},
	}
	for i, s := range steps {
		gap, ok := c.Handle(s.msg, s.now)
		if ok != s.want || (ok && gap != s.gap) {
			t.Fatalf("step %d: got (%d, %v), want (%d, %v)", i, gap, ok, s.gap, s.want)
		}
	}
}

func TestGapMetrics(t *testing.T) {
	if gapMetrics(nil) != nil {
		t.Fatal("no gaps must give null")
	}
	gaps := []int64{50_000, 49_999, 51_234, 150_001}
	got := pyjson.Dumps(gapMetrics(gaps), false)
	if want := `{"p50": 50.0, "p99": 150.001, "max": 150.001, "count": 4}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	r := New(nil, nil)
	m := pyjson.Dumps(r.Metrics(1000, 0, 0, 0, []int64{7}, 3), false)
	if want := `"elapsed_ms": 1.0, "heartbeat_gap_ms": {"p50": 0.007, "p99": 0.007, "max": 0.007, "count": 1}, "inbox_dropped": 3}`; len(m) < len(want) || m[len(m)-len(want):] != want {
		t.Fatalf("metrics end %s", m)
	}
}
