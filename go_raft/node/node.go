// Package node runs one Raft core on a goroutine of its own: the library API
// any Go program can drive, as etcd's node.go wraps its raw node.
//
// A Node owns its core and its Storage. Its goroutine selects on an inbox and
// on one time.Timer, feeds the core, and carries out each Ready in the order
// raft.Ready documents: persist, then send, then apply. A sender never
// blocks: the inbox holds at most Config.InboxCapacity peer messages and
// drops (and counts) the ones beyond; a stopped node drops what it is sent.
// A crash is Stop; a restart is a new Node over the same Storage.
package node

import (
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"raftbench/go_raft/raft"
)

// ErrStopped is given to a proposal that reached a node after it stopped.
var ErrStopped = errors.New("node: stopped")

// Transport carries a message to another node; it must not block for long.
type Transport interface {
	Send(from, to int, msg raft.Message)
}

// BatchTransport is a Transport that also takes all the messages of one
// Ready in one call, in order: a candidate's or a leader's broadcast to
// thousands of peers then costs the transport one round of locking, not one
// per message.
type BatchTransport interface {
	Transport
	SendAll(from int, msgs []raft.Envelope)
}

// Config is what a node is made from.
type Config struct {
	ID int
	// Peers are the other members of the cluster; the node's own id may be
	// among them (it is skipped). A slice in ascending order that holds the
	// node's id is shared, not copied, so that many nodes can use one.
	Peers     []int
	Transport Transport
	Storage   raft.Storage
	// Apply receives every committed entry, in index order, on the node's
	// goroutine. A restarted node applies again from index 1.
	Apply func(index int, e raft.Entry)
	Raft  raft.Config
	Seed  uint64 // seeds the core's SplitMix64 (its election timeouts)
	// Now is the clock, in microseconds; nil: time since the node started.
	Now func() int64
	// OnTransition, if set, hears every role change on the node's goroutine.
	OnTransition func(role raft.Role, term int)
	// Observe, if set, sees every peer message on the node's goroutine just
	// before the core steps it, with the clock's time of handling.
	Observe func(msg raft.Message, now int64)
	// InboxCapacity is the most peer messages (Step) the inbox holds; the
	// ones beyond are dropped and counted (Dropped). 0: unbounded. Proposals
	// are never dropped: their callers bound them.
	InboxCapacity int
	// Quit, if not nil, halts the node when it is closed, as Halt does: one
	// close halts any number of nodes at once.
	Quit <-chan struct{}
}

type proposal struct {
	cmd, payload string
	done         func(index, term int, err error)
}

// Node is one running server.
type Node struct {
	cfg   Config
	core  *raft.Raft
	batch BatchTransport // cfg.Transport, if it is one

	mu       sync.Mutex
	inbox    []any // raft.Message or *proposal
	messages int   // peer messages in inbox
	stopped  bool
	wake     chan struct{} // capacity 1: "the inbox is not empty, or stop"
	done     chan struct{} // closed when the goroutine has returned
	// halted is stopped, read without the lock: the goroutine leaves a
	// batch in the middle once it is set.
	halted  atomic.Bool
	dropped atomic.Int64

	term     atomic.Int64
	isLeader atomic.Bool
}

// Start makes a node over cfg.Storage and starts its goroutine.
func Start(cfg Config) *Node {
	if cfg.Now == nil {
		start := time.Now()
		cfg.Now = func() int64 { return time.Since(start).Microseconds() }
	}
	rng := raft.NewSplitMix64(cfg.Seed)
	n := &Node{
		cfg:  cfg,
		core: raft.New(cfg.ID, cfg.Peers, cfg.Storage, cfg.Raft, rng, cfg.Now()),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	n.batch, _ = cfg.Transport.(BatchTransport)
	n.publish()
	go n.run()
	return n
}

// Step hands the node a message from a peer; it never blocks. A full inbox
// drops the message and counts it.
func (n *Node) Step(msg raft.Message) {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return
	}
	if n.cfg.InboxCapacity > 0 && n.messages >= n.cfg.InboxCapacity {
		n.dropped.Add(1) // under the lock: once Done is closed, Dropped is final
		n.mu.Unlock()
		return
	}
	n.messages++
	n.inbox = append(n.inbox, msg)
	n.mu.Unlock()
	n.signal()
}

// Dropped is how many peer messages a full inbox has dropped so far; final
// once Done is closed.
func (n *Node) Dropped() int64 {
	return n.dropped.Load()
}

// ProposeAsync asks the node to append a command. done is called on the
// node's goroutine right after the core took (or refused) it and before its
// Ready is carried out, so a caller can register the index before the entry
// can be applied: with the index and term, with a *raft.NotLeaderError, or
// with ErrStopped.
func (n *Node) ProposeAsync(cmd, payload string, done func(index, term int, err error)) {
	if !n.enqueue(&proposal{cmd, payload, done}) {
		done(0, 0, ErrStopped)
	}
}

// Propose appends cmd if this node is the leader and returns the index and
// term at which it will commit, if it commits; isLeader is false otherwise.
func (n *Node) Propose(cmd string) (index, term int, isLeader bool) {
	type answer struct {
		index, term int
		err         error
	}
	ch := make(chan answer, 1)
	n.ProposeAsync(cmd, "", func(i, t int, err error) { ch <- answer{i, t, err} })
	a := <-ch
	return a.index, a.term, a.err == nil
}

// State returns the node's current term and whether it believes it leads.
func (n *Node) State() (term int, isLeader bool) {
	return int(n.term.Load()), n.isLeader.Load()
}

// Stop stops the node and waits for its goroutine; its Storage keeps what
// was persisted. Stop is idempotent.
func (n *Node) Stop() {
	n.Halt()
	<-n.done
}

// Halt is Stop without the wait: the node stops handling messages at once,
// drops what it is sent, and its goroutine returns soon after; Done tells
// when. Stopping many nodes, Halt them all (or close their Config.Quit),
// then wait: they wind down together instead of one after another.
func (n *Node) Halt() {
	n.halted.Store(true)
	n.mu.Lock()
	n.stopped = true
	n.mu.Unlock()
	n.signal()
}

// Done is closed once the node's goroutine has returned after Halt or Stop.
func (n *Node) Done() <-chan struct{} {
	return n.done
}

func (n *Node) enqueue(item any) bool {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return false
	}
	n.inbox = append(n.inbox, item)
	n.mu.Unlock()
	n.signal()
	return true
}

func (n *Node) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// take swaps out the inbox; stopped tells the loop to return.
func (n *Node) take(buf []any) (items []any, stopped bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	items, n.inbox = n.inbox, buf[:0]
	n.messages = 0
	return items, n.stopped
}

func (n *Node) run() {
	defer close(n.done)
	t := newTimer(n.cfg.Now(), n.core.NextDeadline())
	defer t.timer.Stop()
	var spare []any
	for {
		select {
		case <-n.wake:
			items, stopped := n.take(spare)
			if stopped {
				n.refuse(items)
				return
			}
			for i, item := range items {
				if n.quitting() {
					n.quit(items[i:])
					return
				}
				n.handle(item)
				items[i] = nil
			}
			spare = items
		case <-t.timer.C:
			t.armed = false
			if n.quitting() {
				n.quit(nil)
				return
			}
			n.core.Tick(n.cfg.Now())
			n.flush()
		case <-n.cfg.Quit:
			n.quit(nil)
			return
		}
		t.arm(n.cfg.Now(), n.core.NextDeadline())
	}
}

// quitting tells whether Halt or Stop was called or Config.Quit closed.
func (n *Node) quitting() bool {
	if n.halted.Load() {
		return true
	}
	select {
	case <-n.cfg.Quit:
		return true
	default:
		return false
	}
}

// quit stops the node from its own goroutine: it refuses rest, the items
// it had not handled yet, and whatever still waits in the inbox.
func (n *Node) quit(rest []any) {
	n.halted.Store(true)
	n.mu.Lock()
	n.stopped = true
	waiting := n.inbox
	n.inbox, n.messages = nil, 0
	n.mu.Unlock()
	n.refuse(rest)
	n.refuse(waiting)
}

// refuse answers the proposals that raced with Stop.
func (n *Node) refuse(items []any) {
	for _, item := range items {
		if p, ok := item.(*proposal); ok {
			p.done(0, 0, ErrStopped)
		}
	}
}

func (n *Node) handle(item any) {
	now := n.cfg.Now()
	switch x := item.(type) {
	case *proposal:
		index, term, err := n.core.Propose(x.cmd, x.payload, now)
		x.done(index, term, err)
	case raft.Message:
		if n.cfg.Observe != nil {
			n.cfg.Observe(x, now)
		}
		if selftestSlowdown != 1 {
			n.slowStep(x, now)
			return
		}
		n.core.Step(x, now)
	}
	n.flush()
}

// selftestSlowdown is RAFTBENCH_SELFTEST_SLOWDOWN, which exists only for the
// regression gate's self-test (docs/benchmarking.md): a factor such as 1.5
// makes the handling of every message take that many times as long.
var selftestSlowdown = func() float64 {
	f, err := strconv.ParseFloat(os.Getenv("RAFTBENCH_SELFTEST_SLOWDOWN"), 64)
	if err != nil || f <= 0 {
		return 1
	}
	return f
}()

func (n *Node) slowStep(msg raft.Message, now int64) {
	start := time.Now()
	n.core.Step(msg, now)
	n.flush()
	until := start.Add(time.Duration(float64(time.Since(start)) * selftestSlowdown))
	for time.Now().Before(until) {
	}
}

// flush carries out the core's Ready: persist, then send, then apply.
func (n *Node) flush() {
	if !n.core.HasReady() {
		return
	}
	r := n.core.Ready()
	if r.HardState != nil {
		n.cfg.Storage.SetHardState(r.HardState.Term, r.HardState.VotedFor)
	}
	if r.LogFrom != 0 {
		n.cfg.Storage.TruncateAndAppend(r.LogFrom, r.Entries)
	}
	n.publish()
	for _, tr := range r.Transitions {
		if n.cfg.OnTransition != nil {
			n.cfg.OnTransition(tr.Role, tr.Term)
		}
	}
	if n.batch != nil {
		if len(r.Messages) > 0 {
			n.batch.SendAll(n.cfg.ID, r.Messages)
		}
	} else {
		for _, m := range r.Messages {
			n.cfg.Transport.Send(n.cfg.ID, m.To, m.Msg)
		}
	}
	for _, a := range r.Committed {
		if n.cfg.Apply != nil {
			n.cfg.Apply(a.Index, a.Entry)
		}
	}
}

func (n *Node) publish() {
	n.term.Store(int64(n.core.CurrentTerm))
	n.isLeader.Store(n.core.Role == raft.Leader)
}

// timer is the node's one time.Timer. It moves only when the deadline moves
// earlier; a timer that fires early just re-arms (a follower hears a
// heartbeat far more often than it times out), as the Python runtimes do.
type timer struct {
	timer *time.Timer
	at    int64
	armed bool
}

func newTimer(now, deadline int64) *timer {
	return &timer{timer: time.NewTimer(usDuration(deadline - now)), at: deadline, armed: true}
}

func (t *timer) arm(now, deadline int64) {
	if !t.armed || deadline < t.at {
		t.timer.Reset(usDuration(deadline - now))
		t.at, t.armed = deadline, true
	}
}

func usDuration(us int64) time.Duration {
	return time.Duration(max(0, us)) * time.Microsecond
}
