package node

import (
	"testing"

	"raftbench/go_raft/host"
	"raftbench/go_raft/raft"
)

// BenchmarkHandleAppendEntries times a follower's whole handling of one
// message: the core's step, then persist, send (the reply) and apply. The
// regression gate (bench/gate.py) runs it in the baseline and this checkout.
// The follower compacts every 10,000 entries, the default, as a running node
// does: with a log that grew for the whole benchmark, the cost of a message
// grew with the benchmark's length, and runs of the same code ranged over 2x.
func BenchmarkHandleAppendEntries(b *testing.B) {
	cfg := raft.Config{ElectionTimeoutMinUs: 150_000, ElectionTimeoutMaxUs: 300_000, HeartbeatUs: 50_000, MaxBatchEntries: 64,
		SnapshotEntries: 10_000}
	storage := raft.NewMemoryStorage()
	h := host.New(raft.New(1, []int{0, 1, 2}, storage, cfg, raft.NewSplitMix64(1), 0), storage, nil,
		host.Hooks{Send: func(int, []raft.Envelope) {}}, 0)
	n := &Node{host: h, cfg: Config{Now: func() int64 { return 0 }}}
	entries := []raft.Entry{{Term: 1, Cmd: "c", Payload: "xxxxxxxxxxxxxxxx"}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		prevTerm := 1
		if i == 0 {
			prevTerm = 0
		}
		n.handle(&raft.AppendEntries{Term: 1, LeaderID: 0, PrevLogIndex: i, PrevLogTerm: prevTerm,
			Entries: entries, LeaderCommit: i})
	}
}
