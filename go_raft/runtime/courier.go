package runtime

// The network's delivery: one goroutine that owns the messages in flight
// (a timeq.Queue) and one time.Timer, as the Python threads runtime's network
// thread, not one time.AfterFunc per message, which in an election storm of
// thousands of nodes held millions of goroutines at once.

import (
	"context"
	"iter"
	"math"
	"sync"
	"time"

	"raftbench/go_raft/raft"
	"raftbench/go_raft/timeq"
)

// inflight is one message on its way to dst.
type inflight struct {
	dst int
	msg raft.Message
}

// maxBatch bounds one batch, so that the lock is held only briefly even when
// thousands of messages are due at once, and a stop is seen between batches.
const maxBatch = 256

// Wake times of the courier goroutine (courier.wakeAt).
const (
	awake = math.MinInt64 // it looks at the heap again before it waits
	never = math.MaxInt64 // it waits for a message, with no timer set
)

// courier delivers posted messages when they are due, on its own goroutine,
// in batches of up to maxBatch, in the order of the queue, until ctx ends.
type courier struct {
	ctx     context.Context        // ended: drop what is in flight, refuse posts, return
	now     func() int64           // the clock, in microseconds
	deliver func(batch []inflight) // on the courier goroutine, outside the lock
	mu      sync.Mutex
	queue   timeq.Queue[inflight]
	// wakeAt is when the goroutine next looks at the heap unasked: the time
	// its timer is set for, never, or awake. A post wakes it only for a
	// message due before that, so a message behind the head costs no
	// wake-up and no timer reset.
	wakeAt int64
	wake   chan struct{} // capacity 1: "a message earlier than wakeAt came"
}

func newCourier(ctx context.Context, now func() int64, deliver func(batch []inflight)) *courier {
	return &courier{ctx: ctx, now: now, deliver: deliver, wakeAt: awake, wake: make(chan struct{}, 1)}
}

// postAll hands over messages, each with the trial time it is due, in
// order; once ctx has ended they are refused (lost with the trial).
func (q *courier) postAll(msgs iter.Seq2[int64, raft.Envelope]) {
	q.mu.Lock()
	if q.ctx.Err() != nil { // under the lock: nothing is queued after run drops the queue
		q.mu.Unlock()
		return
	}
	earliest := int64(never)
	for due, e := range msgs {
		q.queue.Push(due, inflight{e.To, e.Msg})
		earliest = min(earliest, due)
	}
	signal := earliest < q.wakeAt
	if signal {
		q.wakeAt = earliest
	}
	q.mu.Unlock()
	if signal {
		select {
		case q.wake <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// run delivers until ctx ends, then drops what is in flight and returns
// after the batch it may be delivering.
func (q *courier) run() {
	defer func() {
		q.mu.Lock()
		q.queue = timeq.Queue[inflight]{}
		q.mu.Unlock()
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	timerAt := int64(never)
	batch := make([]inflight, 0, maxBatch)
	for {
		q.mu.Lock()
		now := q.now()
		for len(batch) < maxBatch && q.queue.Len() > 0 && q.queue.Head() <= now {
			_, m := q.queue.Pop()
			batch = append(batch, m)
		}
		if len(batch) > 0 {
			q.wakeAt = awake
			q.mu.Unlock()
			q.deliver(batch)
			clear(batch)
			batch = batch[:0]
			if q.ctx.Err() != nil {
				return
			}
			continue // more may have come due while it delivered
		}
		next := int64(never)
		if q.queue.Len() > 0 {
			next = q.queue.Head()
		}
		q.wakeAt = next
		q.mu.Unlock()
		if next != timerAt { // the head changed: move the timer
			if next == never {
				timer.Stop()
			} else {
				timer.Reset(time.Duration(next-now) * time.Microsecond)
			}
			timerAt = next
		}
		select {
		case <-q.ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
			timerAt = never
		}
	}
}
