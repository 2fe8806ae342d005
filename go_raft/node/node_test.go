package node

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"raftbench/go_raft/raft"
)

// cluster is a fake network between real nodes: direct delivery, with cut nodes.
type cluster struct {
	mu       sync.Mutex
	nodes    []*Node
	storages []*raft.MemoryStorage
	applied  [][]raft.Entry
}

func (c *cluster) Send(from, to int, msg raft.Message) {
	c.mu.Lock()
	n := c.nodes[to]
	c.mu.Unlock()
	if n != nil {
		n.Step(msg)
	}
}

func (c *cluster) start(id int) {
	c.mu.Lock()
	c.applied[id] = nil // a restarted node applies again from index 1
	c.mu.Unlock()
	var peers []int
	for p := range c.nodes {
		if p != id {
			peers = append(peers, p)
		}
	}
	n := Start(Config{
		ID: id, Peers: peers, Transport: c, Storage: c.storages[id],
		Apply: func(index int, e raft.Entry) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if index != len(c.applied[id])+1 {
				panic(fmt.Sprintf("node %d applied %d after %d", id, index, len(c.applied[id])))
			}
			c.applied[id] = append(c.applied[id], e)
		},
		Raft: raft.Config{ElectionTimeoutMinUs: 30_000, ElectionTimeoutMaxUs: 60_000, HeartbeatUs: 10_000, MaxBatchEntries: 64},
		Seed: uint64(id) + 1,
	})
	c.mu.Lock()
	c.nodes[id] = n
	c.mu.Unlock()
}

func (c *cluster) stop(id int) {
	c.mu.Lock()
	n := c.nodes[id]
	c.nodes[id] = nil
	c.mu.Unlock()
	n.Stop()
}

func (c *cluster) node(id int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

func newCluster(n int) *cluster {
	c := &cluster{nodes: make([]*Node, n), storages: make([]*raft.MemoryStorage, n), applied: make([][]raft.Entry, n)}
	for i := range n {
		c.storages[i] = raft.NewMemoryStorage()
	}
	for i := range n {
		c.start(i)
	}
	return c
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// leader waits for exactly one node that believes it leads in the highest term.
func (c *cluster) leader(t *testing.T, minTerm int) int {
	t.Helper()
	leader := -1
	eventually(t, "a leader", func() bool {
		leader = -1
		for id := range c.nodes {
			if n := c.node(id); n != nil {
				if term, ok := n.State(); ok && term > minTerm {
					leader = id
				}
			}
		}
		return leader >= 0
	})
	return leader
}

func (c *cluster) hasApplied(id int, cmd string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.applied[id] {
		if !e.Noop && e.Cmd == cmd {
			return true
		}
	}
	return false
}

func TestElectProposeCrashRestart(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newCluster(3)
	leader := c.leader(t, 0)
	index, term, isLeader := c.node(leader).Propose("c0.1")
	if !isLeader || index < 2 || term < 1 {
		t.Fatalf("propose on the leader: %d %d %v", index, term, isLeader)
	}
	follower := (leader + 1) % 3
	if _, _, ok := c.node(follower).Propose("nope"); ok {
		t.Fatal("a follower accepted a proposal")
	}
	for id := range 3 {
		eventually(t, fmt.Sprintf("node %d to apply c0.1", id), func() bool { return c.hasApplied(id, "c0.1") })
	}

	// A crash is Stop: the others elect a leader of a higher term and commit.
	c.stop(leader)
	oldTerm := term
	next := c.leader(t, oldTerm)
	if _, _, ok := c.node(next).Propose("c0.2"); !ok {
		t.Fatal("the new leader refused a proposal")
	}

	// A restart is a new node over the same storage: its log survived, and it
	// applies everything again from index 1, the new command included.
	if got := len(c.storages[leader].Entries()); got < index {
		t.Fatalf("the crashed node's storage holds %d entries, want >= %d", got, index)
	}
	c.start(leader)
	eventually(t, "the restarted node to catch up", func() bool {
		return c.hasApplied(leader, "c0.1") && c.hasApplied(leader, "c0.2")
	})
	for id := range 3 {
		c.stop(id)
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestStoppedNodeNeverBlocks(t *testing.T) {
	c := newCluster(1)
	n := c.node(0)
	c.stop(0)
	n.Stop() // idempotent
	for range 10_000 {
		n.Step(&raft.RequestVote{Term: 5, CandidateID: 1})
	}
	if _, _, ok := n.Propose("late"); ok {
		t.Fatal("a stopped node accepted a proposal")
	}
}

// blockedNode is a follower whose goroutine is held inside the handling of
// its first peer message until release is closed, so its inbox fills.
func blockedNode(t *testing.T, capacity int, quit chan struct{}) (n *Node, release chan struct{}) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	n = Start(Config{
		ID: 0, Peers: []int{0, 1, 2}, Transport: discard{}, Storage: raft.NewMemoryStorage(),
		Raft: raft.Config{ElectionTimeoutMinUs: 1 << 40, ElectionTimeoutMaxUs: 1 << 40, HeartbeatUs: 1, MaxBatchEntries: 1},
		Observe: func(raft.Message, int64) {
			if first {
				first = false
				close(entered)
				<-release
			}
		},
		InboxCapacity: capacity,
		Quit:          quit,
	})
	n.Step(&raft.RequestVote{Term: 1, CandidateID: 1})
	<-entered
	return n, release
}

// A full inbox drops peer messages and counts them; proposals always get in.
func TestBoundedInboxDropsAndCounts(t *testing.T) {
	n, release := blockedNode(t, 8, nil)
	for range 8 + 5 {
		n.Step(&raft.RequestVote{Term: 1, CandidateID: 2})
	}
	answers := make(chan error, 3)
	for i := range 3 {
		n.ProposeAsync(fmt.Sprintf("c%d", i), "", func(_, _ int, err error) { answers <- err })
	}
	if got := n.Dropped(); got != 5 {
		t.Fatalf("dropped %d, want 5", got)
	}
	close(release)
	for range 3 {
		var notLeader *raft.NotLeaderError
		if err := <-answers; !errors.As(err, &notLeader) {
			t.Fatalf("a proposal to a follower: %v", err)
		}
	}
	// Handled, the inbox has room again: nothing more is dropped.
	eventually(t, "the inbox to drain", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.inbox) == 0
	})
	for range 8 {
		n.Step(&raft.RequestVote{Term: 1, CandidateID: 2})
	}
	n.Stop()
	if got := n.Dropped(); got != 5 {
		t.Fatalf("dropped %d after the drain, want 5", got)
	}
}

// Closing Config.Quit halts a node as Halt does, even one that is busy: it
// stops at its next message and refuses what waits.
func TestQuitHaltsNodes(t *testing.T) {
	quit := make(chan struct{})
	busy, release := blockedNode(t, 0, quit)
	busy.Step(&raft.RequestVote{Term: 1, CandidateID: 2})
	refused := make(chan error, 1)
	busy.ProposeAsync("c0", "", func(_, _ int, err error) { refused <- err })
	idle := Start(Config{
		ID: 1, Peers: []int{0, 1, 2}, Transport: discard{}, Storage: raft.NewMemoryStorage(),
		Raft: raft.Config{ElectionTimeoutMinUs: 1 << 40, ElectionTimeoutMaxUs: 1 << 40, HeartbeatUs: 1, MaxBatchEntries: 1},
		Quit: quit,
	})
	close(quit)
	<-idle.Done()
	close(release)
	<-busy.Done()
	if err := <-refused; !errors.Is(err, ErrStopped) {
		t.Fatalf("the waiting proposal: %v", err)
	}
	if _, _, ok := idle.Propose("late"); ok {
		t.Fatal("a quit node accepted a proposal")
	}
	busy.Stop() // Stop after Quit returns at once
}
