package invariants

import (
	"strings"
	"testing"

	"raftbench/go_raft/raft"
)

func violated(t *testing.T, v *Invariants, want string) {
	t.Helper()
	if v.Violation == nil || !strings.HasPrefix(v.Violation.Error(), want) {
		t.Fatalf("violation %v, want %s", v.Violation, want)
	}
	v.Violation = nil
}

// A compacted log is checked from its snapshot on: Log Matching chains from
// the snapshot's entry, Leader Completeness asks for its term at the base.
func TestCompactedLog(t *testing.T) {
	v := New(2)
	noop, a, b, c := raft.Entry{Term: 1, Noop: true}, raft.Entry{Term: 1, Cmd: "a"}, raft.Entry{Term: 1, Cmd: "b"}, raft.Entry{Term: 2, Cmd: "c"}
	v.OnLog(0, 1, []raft.Entry{noop, a, b}, 0)
	v.OnApply(0, 1, noop)
	v.OnApply(0, 2, a)
	v.OnSnapshot(0, 2, 1, []raft.Entry{b}) // compaction: the log now starts at 3
	v.OnLog(0, 4, []raft.Entry{b, c}, 2)
	v.OnLeader(0, 2, []raft.Entry{b, c}, 2, 1)
	if v.Violation != nil {
		t.Fatal(v.Violation)
	}
	v.OnLog(1, 1, []raft.Entry{noop, {Term: 1, Cmd: "x"}, b}, 0)
	violated(t, v, "log matching")
	v.OnLeader(1, 3, []raft.Entry{b}, 2, 5)
	violated(t, v, "leader completeness")
}

func TestSnapshotOfAnEntryNoLogHeld(t *testing.T) {
	v := New(1)
	v.OnSnapshot(0, 7, 3, nil)
	violated(t, v, "log matching: node 0 holds a snapshot at index 7 term 3, an entry no log ever held")
}

func TestDivergingImages(t *testing.T) {
	v := New(2)
	v.OnImage(0, 5, "aaaa")
	v.OnImage(1, 5, "bbbb")
	violated(t, v, "state machine safety")
	v.OnInstall(1, 6, "cccc", "dddd")
	violated(t, v, "state machine safety: node 1 restored image cccc at index 6 as dddd")
}

// What lies below every node's snapshot is forgotten; what lies above is
// still checked.
func TestForgetsBelowEverySnapshot(t *testing.T) {
	v := New(2)
	log := []raft.Entry{{Term: 1, Cmd: "a"}, {Term: 1, Cmd: "b"}, {Term: 1, Cmd: "c"}}
	for node := range 2 {
		v.OnLog(node, 1, log, 0)
		for i, e := range log {
			v.OnApply(node, i+1, e)
		}
	}
	v.OnImage(0, 2, "x")
	v.OnImage(1, 2, "x")
	if len(v.committed) != 1 || len(v.digests) != 0 || v.floors.Low != 2 {
		t.Fatalf("kept %d entries, %d digests, low %d", len(v.committed), len(v.digests), v.floors.Low)
	}
	v.OnApply(1, 3, raft.Entry{Term: 2, Cmd: "z"})
	violated(t, v, "state machine safety: node 1 applied")
}
