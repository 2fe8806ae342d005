package wire

// The send and receive paths of the TCP nodes: go test -run x -bench . ./wire/

import (
	"bytes"
	"testing"

	"raftbench/go_raft/raft"
)

// benchAE is a leader's batch of 16 entries, as a busy cluster sends them.
func benchAE() *raft.AppendEntries {
	es := make([]raft.Entry, 16)
	for i := range es {
		es[i] = raft.Entry{Term: 7, Cmd: "set", Payload: "x-123456789"}
	}
	return &raft.AppendEntries{Term: 7, LeaderID: 1, PrevLogIndex: 100000, PrevLogTerm: 7, Entries: es, LeaderCommit: 99999}
}

func BenchmarkEncodeAE(b *testing.B) {
	m := benchAE()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeReply(b *testing.B) {
	m := &raft.AppendEntriesReply{Term: 7, Success: true, FollowerID: 2, MatchIndex: 100016}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadAE(b *testing.B) {
	f, _ := Encode(benchAE())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(f)); err != nil {
			b.Fatal(err)
		}
	}
}
