// Package node runs a host (package host) on a goroutine of its own, as
// etcd's node.go runs its raw node: the goroutine runtime's node.
//
// The goroutine selects on an inbox and one time.Timer and hands what comes
// to the host. A sender never blocks: the inbox holds at most
// Config.InboxCapacity peer messages and drops (and counts) the ones beyond,
// and a stopped node drops what it is sent. A crash is Stop; a restart, a
// new Node over a new host over the same storage.
package node

import (
	"cmp"
	"context"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"raftbench/go_raft/client"
	"raftbench/go_raft/host"
	"raftbench/go_raft/raft"
)

// Config is how a node runs its host.
type Config struct {
	Now func() int64 // the clock, in microseconds
	// InboxCapacity bounds the peer messages (Step) waiting in the inbox;
	// 0: unbounded. Proposals are not counted: their callers bound them.
	InboxCapacity int
	// Context, if not nil, stops the node when cancelled, as Stop does but
	// without the wait: one cancel stops any number of nodes at once.
	Context context.Context
}

type proposal struct {
	request *host.Request
	payload string
}

// Node is one running server.
type Node struct {
	host *host.Host
	cfg  Config

	// ctx is cancelled when the node stops; a post checks it under mu, and
	// the goroutine drains the inbox under mu once it is, so no proposal
	// goes unanswered.
	ctx      context.Context
	stop     context.CancelFunc
	mu       sync.Mutex
	inbox    []any         // raft.Message or *proposal
	messages int           // peer messages in inbox
	wake     chan struct{} // capacity 1: "the inbox is not empty"
	done     chan struct{} // closed when the goroutine has returned
	dropped  atomic.Int64
}

// Start starts h's goroutine; h belongs to it until it stops.
func Start(h *host.Host, cfg Config) *Node {
	n := &Node{host: h, cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{})}
	n.ctx, n.stop = context.WithCancel(cmp.Or(cfg.Context, context.Background()))
	go n.run()
	return n
}

// Host is the node's host; it belongs to the node's goroutine until it stops.
func (n *Node) Host() *host.Host { return n.host }

// Step hands the node a message from a peer; it never blocks. A full inbox
// drops it and counts it.
func (n *Node) Step(msg raft.Message) { n.post(msg, true) }

// Dropped is how many peer messages a full inbox has dropped; final once
// the node has stopped.
func (n *Node) Dropped() int64 { return n.dropped.Load() }

// Propose hands the node a client's request; it never blocks. r hears the
// outcome on the node's goroutine; client.Lost if the node stopped first.
func (n *Node) Propose(r *host.Request, payload string) {
	if !n.post(&proposal{r, payload}, false) {
		r.Answer(client.Lost, raft.None)
	}
}

// post queues a peer message or a proposal and wakes the goroutine; false
// when the node stopped or a peer message finds the inbox full.
func (n *Node) post(item any, peer bool) bool {
	n.mu.Lock()
	full := peer && n.cfg.InboxCapacity > 0 && n.messages >= n.cfg.InboxCapacity
	if full {
		n.dropped.Add(1) // under the lock: once the node has stopped, Dropped is final
	}
	if full || n.ctx.Err() != nil {
		n.mu.Unlock()
		return false
	}
	if peer {
		n.messages++
	}
	n.inbox = append(n.inbox, item)
	n.mu.Unlock()
	n.signal()
	return true
}

// Stop stops the node and waits for its goroutine; the storage keeps what
// was persisted. Stop is idempotent. To stop many nodes, cancel their
// Config.Context first: they wind down together, and each Stop only waits.
func (n *Node) Stop() {
	n.stop()
	<-n.done
}

func (n *Node) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// run is the node's goroutine. Its one timer moves only when the deadline
// moves earlier; a timer that fires early just re-arms (a follower hears a
// heartbeat far more often than it times out), as the Python runtimes do.
func (n *Node) run() {
	defer close(n.done)
	at := n.host.Core.NextDeadline() // the timer's; never: it fired
	timer := time.NewTimer(usDuration(at - n.cfg.Now()))
	defer timer.Stop()
	var spare []any
	for n.ctx.Err() == nil {
		select {
		case <-n.wake:
			n.mu.Lock()
			items := n.inbox
			n.inbox, n.messages = spare[:0], 0
			n.mu.Unlock()
			for i, item := range items {
				if n.ctx.Err() != nil {
					n.quit(items[i:])
					return
				}
				n.handle(item)
				items[i] = nil
			}
			spare = items
		case <-timer.C:
			at = math.MaxInt64
			if n.ctx.Err() == nil {
				n.host.Tick(n.cfg.Now())
			}
		case <-n.ctx.Done():
		}
		if deadline := n.host.Core.NextDeadline(); deadline < at {
			timer.Reset(usDuration(deadline - n.cfg.Now()))
			at = deadline
		}
	}
	n.quit(nil)
}

// quit stops the node from its own goroutine. The proposals that raced with
// the stop, those it had not handled (rest) and those still in the inbox,
// are lost with the node.
func (n *Node) quit(rest []any) {
	n.mu.Lock()
	rest = append(rest, n.inbox...)
	n.inbox, n.messages = nil, 0
	n.mu.Unlock()
	for _, item := range rest {
		if p, ok := item.(*proposal); ok {
			p.request.Answer(client.Lost, raft.None)
		}
	}
}

func (n *Node) handle(item any) {
	now := n.cfg.Now()
	switch x := item.(type) {
	case *proposal:
		n.host.Propose(x.request, x.payload, now)
		n.host.Flush(now)
	case raft.Message:
		if selftestSlowdown == 1 {
			n.host.Step(x, now)
			return
		}
		start := time.Now()
		n.host.Step(x, now)
		for until := start.Add(time.Duration(float64(time.Since(start)) * selftestSlowdown)); time.Now().Before(until); {
		}
	}
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

func usDuration(us int64) time.Duration { return time.Duration(max(0, us)) * time.Microsecond }
