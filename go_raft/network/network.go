// Package network is the one network model every runtime shares, ported from
// py_raft/network.py.
//
// A message from src to dst is either dropped or delivered after latency +
// uniform jitter. Reordering follows from the jitter. A partition splits the
// nodes into groups, and a message between groups is dropped when it is sent.
// A crashed destination drops what arrives for it (the runtime's job).
//
// The draws happen in a fixed order (drop first, then jitter, each only when
// its parameter is non-zero) so that both simulators make exactly the same
// ones. A Network is not safe for concurrent use; real-time runtimes guard it.
package network

import "raftbench/go_raft/raft"

// Network is the model's state: its parameters, its partition and its counters.
type Network struct {
	LatencyUs int64
	JitterUs  int64
	DropRate  float64
	rng       *raft.SplitMix64
	group     map[int]int // node -> group; nil: no partition
	Sent      int
	Dropped   int
}

// New returns a healed network drawing from rng.
func New(latencyUs, jitterUs int64, dropRate float64, rng *raft.SplitMix64) *Network {
	return &Network{LatencyUs: latencyUs, JitterUs: jitterUs, DropRate: dropRate, rng: rng}
}

// Partition puts each listed group apart; unlisted nodes form one more group.
func (n *Network) Partition(groups [][]int) {
	n.group = map[int]int{}
	for g, members := range groups {
		for _, node := range members {
			n.group[node] = g + 1 // 0, the zero value, is the unlisted nodes' group
		}
	}
}

// Heal ends the partition.
func (n *Network) Heal() { n.group = nil }

// Delay is the one-way delay of the next message in microseconds; ok is
// false when the message is dropped.
func (n *Network) Delay(src, dst int) (delay int64, ok bool) {
	n.Sent++
	if n.group[src] != n.group[dst] || n.DropRate > 0 && n.rng.Random() < n.DropRate {
		n.Dropped++
		return 0, false
	}
	if n.JitterUs > 0 {
		return n.LatencyUs + n.rng.UniformInt(0, n.JitterUs), true
	}
	return n.LatencyUs, true
}
