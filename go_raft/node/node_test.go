package node

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"raftbench/go_raft/client"
	"raftbench/go_raft/host"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
)

var testConfig = raft.Config{ElectionTimeoutMinUs: 30_000, ElectionTimeoutMaxUs: 60_000, HeartbeatUs: 10_000, MaxBatchEntries: 64}

// cluster is a fake network between real nodes: direct delivery, with
// crashed nodes; its recorder knows the leader.
type cluster struct {
	mu       sync.Mutex
	nodes    []*Node
	storages []*raft.MemoryStorage
	applied  [][]raft.Entry
	rec      *recorder.Recorder
}

func (c *cluster) send(_ int, msgs []raft.Envelope) {
	for _, m := range msgs {
		if n := c.node(m.To); n != nil {
			n.Step(m.Msg)
		}
	}
}

func (c *cluster) start(id int) {
	c.mu.Lock()
	c.applied[id] = nil // a restarted node applies again from index 1
	c.mu.Unlock()
	members := []int{0, 1, 2}
	h := host.New(raft.New(id, members, c.storages[id], testConfig, raft.NewSplitMix64(uint64(id)+1), 0),
		c.storages[id], c.rec, host.Hooks{Send: c.send, Applied: func(_, index int, e raft.Entry) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.applied[id] = append(c.applied[id], e)
		}}, 0)
	n := Start(h, Config{Now: func() int64 { return time.Since(epoch).Microseconds() }})
	c.mu.Lock()
	c.nodes[id] = n
	c.mu.Unlock()
}

var epoch = time.Now()

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

func newCluster() *cluster {
	c := &cluster{nodes: make([]*Node, 3), storages: make([]*raft.MemoryStorage, 3),
		applied: make([][]raft.Entry, 3), rec: recorder.New(nil, nil, 3)}
	for i := range 3 {
		c.storages[i] = raft.NewMemoryStorage()
	}
	for i := range 3 {
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

// leader waits for a leader of a term above minTerm.
func (c *cluster) leader(t *testing.T, minTerm int) (leader, term int) {
	t.Helper()
	eventually(t, "a leader", func() bool {
		leader, term, _ = c.rec.KnownLeader()
		return leader != raft.None && term > minTerm
	})
	return leader, term
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

// propose sends cmd to node id and waits for its outcome.
func (c *cluster) propose(id int, cmd string) client.Outcome { return propose(c.node(id), cmd) }

func propose(n *Node, cmd string) client.Outcome {
	answer := make(chan client.Outcome, 1)
	n.Propose(&host.Request{Cmd: cmd, Answer: func(o client.Outcome, _ int) { answer <- o }}, "")
	select {
	case o := <-answer:
		return o
	case <-time.After(5 * time.Second):
		return client.Timeout
	}
}

func TestElectProposeCrashRestart(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newCluster()
	leader, term := c.leader(t, 0)
	if o := c.propose(leader, "c0.1"); o != client.OK {
		t.Fatalf("propose on the leader: %v", o)
	}
	if o := c.propose((leader+1)%3, "nope"); o != client.Redirect {
		t.Fatalf("a follower answered %v", o)
	}
	for id := range 3 {
		eventually(t, fmt.Sprintf("node %d to apply c0.1", id), func() bool { return c.hasApplied(id, "c0.1") })
	}

	// A crash is Stop: the others elect a leader of a higher term and commit.
	c.stop(leader)
	c.rec.Crash(0, leader)
	next, _ := c.leader(t, term)
	if o := c.propose(next, "c0.2"); o != client.OK {
		t.Fatalf("the new leader answered %v", o)
	}

	// A restart is a new node over the same storage: its log survived, and it
	// applies everything again from index 1, the new command included.
	c.start(leader)
	eventually(t, "the restarted node to catch up", func() bool {
		return c.hasApplied(leader, "c0.1") && c.hasApplied(leader, "c0.2")
	})
	for id := range 3 {
		c.stop(id)
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// A stopped node never blocks a sender, and loses what it is asked.
func TestStoppedNodeNeverBlocks(t *testing.T) {
	c := newCluster()
	n := c.node(0)
	c.stop(0)
	n.Stop() // idempotent
	for range 10_000 {
		n.Step(&raft.RequestVote{Term: 5, CandidateID: 1})
	}
	if o := propose(n, "late"); o != client.Lost {
		t.Fatalf("a stopped node answered %v", o)
	}
	c.stop(1)
	c.stop(2)
}

// idle is a follower that never times out.
func idle(id int, capacity int, ctx context.Context, stepped func()) *Node {
	cfg := raft.Config{ElectionTimeoutMinUs: 1 << 40, ElectionTimeoutMaxUs: 1 << 40, HeartbeatUs: 1, MaxBatchEntries: 1}
	storage := raft.NewMemoryStorage()
	h := host.New(raft.New(id, []int{0, 1, 2}, storage, cfg, raft.NewSplitMix64(1), 0), storage, nil,
		host.Hooks{Send: func(int, []raft.Envelope) { stepped() }}, 0)
	return Start(h, Config{Now: func() int64 { return 0 }, InboxCapacity: capacity, Context: ctx})
}

// blocked is an idle follower whose goroutine is held inside the handling of
// its first peer message until release is closed, so its inbox fills.
func blocked(capacity int, ctx context.Context) (n *Node, release chan struct{}) {
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	n = idle(0, capacity, ctx, func() {
		if first {
			first = false
			close(entered)
			<-release
		}
	})
	n.Step(&raft.RequestVote{Term: 1, CandidateID: 1}) // its vote is a message to send
	<-entered
	return n, release
}

func answers(n *Node, count int) chan client.Outcome {
	ch := make(chan client.Outcome, count)
	for i := range count {
		n.Propose(&host.Request{Cmd: fmt.Sprintf("c%d", i), Answer: func(o client.Outcome, _ int) { ch <- o }}, "")
	}
	return ch
}

// A full inbox drops peer messages and counts them; proposals always get in.
func TestBoundedInboxDropsAndCounts(t *testing.T) {
	n, release := blocked(8, context.Background())
	for range 8 + 5 {
		n.Step(&raft.RequestVote{Term: 1, CandidateID: 2})
	}
	ch := answers(n, 3)
	if got := n.Dropped(); got != 5 {
		t.Fatalf("dropped %d, want 5", got)
	}
	close(release)
	for range 3 {
		if o := <-ch; o != client.Redirect {
			t.Fatalf("a proposal to a follower: %v", o)
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

// Cancelling Config.Context stops nodes as Stop does, even one that is busy: it
// stops at its next message and loses the proposals that wait.
func TestContextStopsNodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	busy, release := blocked(0, ctx)
	busy.Step(&raft.RequestVote{Term: 1, CandidateID: 2})
	lost := answers(busy, 1)
	other := idle(1, 0, ctx, func() {})
	cancel()
	<-other.done
	close(release)
	<-busy.done
	if o := <-lost; o != client.Lost {
		t.Fatalf("the waiting proposal: %v", o)
	}
	if o := <-answers(other, 1); o != client.Lost {
		t.Fatalf("a quit node answered %v", o)
	}
	busy.Stop() // Stop after the cancel returns at once
}
