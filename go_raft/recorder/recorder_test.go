package recorder

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"raftbench/go_raft/raft"
)

// The trace's bytes: keys in the documented order, compact, t_ms an
// integer when whole and else the shortest decimal (docs/protocol.md).
func TestTraceLines(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	r := New(w, nil, 3)
	r.State(150_000, 2, raft.Leader, 3)
	r.Apply(150_001, 2, 7, raft.Entry{Term: 3, Noop: true})
	r.Apply(150_010, 1, 8, raft.Entry{Term: 3, Cmd: "c0.1"})
	r.Ack(150_100, "c0.1", 8, 5)
	r.Crash(1_234_567, 2)
	r.Restart(2_000_000, 2)
	r.Partition(2_000_500, [][]int{{0, 1}, {}})
	r.Heal(3_000_000)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"t_ms":150,"node":2,"event":"state","state":"leader","term":3}
{"t_ms":150.001,"node":2,"event":"apply","index":7,"term":3,"cmd":null}
{"t_ms":150.01,"node":1,"event":"apply","index":8,"term":3,"cmd":"c0.1"}
{"t_ms":150.1,"event":"ack","cmd":"c0.1","index":8}
{"t_ms":1234.567,"node":2,"event":"crash"}
{"t_ms":2000,"node":2,"event":"restart"}
{"t_ms":2000.5,"event":"partition","groups":[[0,1],[]]}
{"t_ms":3000,"event":"heal"}
`
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// The online safety checks and the leader the recorder knows.
func TestSafetyAndLeader(t *testing.T) {
	changes := 0
	r := New(nil, func() { changes++ }, 3)
	r.State(10, 0, raft.Candidate, 1)
	r.State(20, 0, raft.Leader, 1)
	if leader, term, at := r.KnownLeader(); leader != 0 || term != 1 || at != 20 || changes != 1 {
		t.Fatalf("leader %d term %d at %d, %d changes", leader, term, at, changes)
	}
	r.Crash(30, 0)
	if leader, _, _ := r.KnownLeader(); leader != raft.None || changes != 2 {
		t.Fatalf("leader %d after its crash", leader)
	}
	r.Apply(40, 1, 1, raft.Entry{Term: 1, Cmd: "c0.1", Payload: "x"})
	r.Apply(41, 2, 1, raft.Entry{Term: 1, Cmd: "c0.1", Payload: "y"}) // payloads are not compared
	if r.Violated() != "" {
		t.Fatal(r.Violated())
	}
	r.State(50, 1, raft.Leader, 1)
	r.Apply(60, 2, 1, raft.Entry{Term: 2, Cmd: "c1.1"})
	if want := "election safety: nodes 0 and 1 lead term 1"; r.Violated() != want {
		t.Fatalf("violation %q, want %q", r.Violated(), want)
	}
	r = New(nil, nil, 3)
	r.Apply(40, 1, 1, raft.Entry{Term: 1, Noop: true})
	r.Apply(60, 2, 1, raft.Entry{Term: 2, Cmd: "c1.1"})
	if want := "state machine safety: index 1 applied as (1, None) and (2, 'c1.1')"; r.Violated() != want {
		t.Fatalf("violation %q, want %q", r.Violated(), want)
	}
}

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

func TestMetrics(t *testing.T) {
	r := New(nil, nil, 3)
	text, _ := json.Marshal(r.Metrics(1000, 0, 0, 0, 3))
	if want := `"elapsed_ms":1,"heartbeat_gap_ms":null,"inbox_dropped":3}`; !strings.HasSuffix(string(text), want) {
		t.Fatalf("metrics %s", text)
	}
	var a, b Series
	for _, gap := range []int64{50_000, 49_999} {
		a.Add(gap)
	}
	for _, gap := range []int64{51_234, 150_001} {
		b.Add(gap)
	}
	r.Gaps(&a)
	r.Gaps(&b)
	if a.Len() != 0 || r.GapsUs.Len() != 4 {
		t.Fatalf("gaps moved: %d left, %d taken", a.Len(), r.GapsUs.Len())
	}
	r.Ack(10, "c0.1", 1, 2_500)
	m := r.Metrics(2_000_000, 1_000_000, 10, 1, 0)
	if *m.HeartbeatGapMs != (Gaps{50, 150.001, 150.001, 4}) || m.ThroughputOpsS != 1 ||
		*m.CommitLatencyMs != (Latencies{2.5, 2.5, 2.5, 2.5}) || m.FirstLeaderMs != nil ||
		m.FailoverMs == nil || m.MessagesSent != 10 || m.MessagesDropped != 1 {
		t.Fatalf("%+v", m)
	}
}

// The hot path of a real-time run: every node applies each entry and a
// client is acked; with and without a trace.
func BenchmarkApplyAck(b *testing.B) {
	for _, traced := range []bool{false, true} {
		b.Run(map[bool]string{false: "untraced", true: "traced"}[traced], func(b *testing.B) {
			var w *bufio.Writer
			if traced {
				w = bufio.NewWriter(io.Discard)
			}
			r := New(w, nil, 3)
			e := raft.Entry{Term: 2, Cmd: "c12.345", Payload: "xxxxxxxx"}
			for i := range b.N {
				for node := range 3 {
					r.Apply(int64(i)*10+1, node, i+1, e)
				}
				r.Ack(int64(i)*10+5, e.Cmd, i+1, 1234)
				if i%1000 == 999 {
					r.Snapshot(int64(i)*10+7, i%3, i+1-500, "abcd")
				}
			}
		})
	}
}

// Low is the lowest snapshot of all nodes, a node without one at 0; Rise
// says when it rose, and ignores a snapshot that is not above the node's own.
func TestSnapshotFloors(t *testing.T) {
	f := NewSnapshotFloors(3)
	steps := []struct {
		node, index, low int
		rose             bool
	}{
		{0, 10, 0, false},
		{1, 20, 0, false},
		{2, 5, 5, true},
		{2, 4, 5, false}, // an older snapshot
		{2, 30, 10, true},
		{0, 40, 20, true},
		{0, 50, 20, false},
	}
	for i, s := range steps {
		if rose := f.Rise(s.node, s.index); rose != s.rose || f.Low != s.low {
			t.Fatalf("step %d: rose %v, low %d; want %v, %d", i, rose, f.Low, s.rose, s.low)
		}
	}
}

func TestFirstSeen(t *testing.T) {
	m := map[int]string{}
	if FirstSeen(m, 1, "a") != "a" || FirstSeen(m, 1, "b") != "a" || m[1] != "a" {
		t.Fatalf("first seen %v", m)
	}
}

// A trace-only recorder writes every line, hears each role change, and keeps
// no figures and makes no checks.
func TestTraceOnly(t *testing.T) {
	var buf bytes.Buffer
	var roles []raft.Role
	r := NewTrace(bufio.NewWriter(&buf), func(_ int64, role raft.Role, _ int) { roles = append(roles, role) })
	r.State(1000, 0, raft.Leader, 1)
	r.Apply(2000, 0, 1, raft.Entry{Term: 1, Cmd: "a"})
	r.Apply(2000, 0, 1, raft.Entry{Term: 1, Cmd: "b"})
	r.Ack(3000, "a", 1, 10)
	r.Snapshot(4000, 0, 1, "d")
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 5 || r.KeepsFigures() || r.Violated() != "" ||
		r.Acks != 0 || len(roles) != 1 || roles[0] != raft.Leader {
		t.Fatalf("%d lines, keeps figures %v, violation %q, %d acks, roles %v",
			lines, r.KeepsFigures(), r.Violated(), r.Acks, roles)
	}
}
