package node

import (
	"testing"

	"raftbench/go_raft/raft"
)

type discard struct{}

func (discard) Send(int, int, raft.Message) {}

// BenchmarkHandleAppendEntries times a follower's whole handling of one
// message: the core's step, then persist, send (the reply) and apply. The
// regression gate (bench/gate.py) runs it in the baseline and this checkout.
func BenchmarkHandleAppendEntries(b *testing.B) {
	cfg := Config{
		ID: 1, Peers: []int{0, 1, 2}, Transport: discard{}, Storage: raft.NewMemoryStorage(),
		Raft: raft.Config{ElectionTimeoutMinUs: 150_000, ElectionTimeoutMaxUs: 300_000,
			HeartbeatUs: 50_000, MaxBatchEntries: 64},
		Apply: func(int, raft.Entry) {}, Now: func() int64 { return 0 },
	}
	n := &Node{cfg: cfg, core: raft.New(1, cfg.Peers, cfg.Storage, cfg.Raft, raft.NewSplitMix64(1), 0)}
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
