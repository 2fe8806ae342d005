package network

import (
	"testing"

	"raftbench/go_raft/raft"
)

// A partition drops what crosses it, unlisted nodes forming one more group,
// and draws nothing for what it drops; Heal ends it.
func TestPartition(t *testing.T) {
	n := New(100, 0, 0, raft.NewSplitMix64(1))
	n.Partition([][]int{{0, 1}, {2}})
	for _, c := range []struct {
		src, dst int
		ok       bool
	}{{0, 1, true}, {1, 2, false}, {2, 3, false}, {3, 4, true}, {0, 3, false}} {
		if delay, ok := n.Delay(c.src, c.dst); ok != c.ok || (ok && delay != 100) {
			t.Fatalf("%d -> %d: (%d, %v), want ok %v", c.src, c.dst, delay, ok, c.ok)
		}
	}
	n.Heal()
	if _, ok := n.Delay(1, 2); !ok || n.Sent != 6 || n.Dropped != 3 {
		t.Fatalf("after heal: ok %v, %d sent, %d dropped", ok, n.Sent, n.Dropped)
	}
}

// Drop is drawn before jitter, each only when its parameter is non-zero, so
// that both simulators draw alike.
func TestDrawOrder(t *testing.T) {
	n, rng := New(100, 50, 0.5, raft.NewSplitMix64(7)), raft.NewSplitMix64(7)
	n.Partition([][]int{{0}})
	if _, ok := n.Delay(0, 1); ok {
		t.Fatal("delivered across the partition")
	}
	n.Heal()
	for range 100 {
		delay, ok := n.Delay(0, 1)
		if rng.Random() < 0.5 {
			if ok {
				t.Fatal("delivered a dropped message")
			}
		} else if want := 100 + rng.UniformInt(0, 50); !ok || delay != want {
			t.Fatalf("delay (%d, %v), want %d", delay, ok, want)
		}
	}
}
