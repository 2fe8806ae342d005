package runtime

// The network's delivery: one goroutine that owns a min-heap of the messages
// in flight, ordered by (due time, send sequence), and one time.Timer, as the
// Python threads runtime's network thread (threads_rt._deliver_loop). It
// replaces one time.AfterFunc per message, that is one goroutine per message
// delivered, which in an election storm of thousands of nodes held millions
// of goroutines at once.

import (
	"container/heap"
	"iter"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"raftbench/go_raft/raft"
)

// inflight is one message on its way to dst.
type inflight struct {
	due, seq int64
	dst      int
	msg      raft.Message
}

// inflightHeap is the heap's array, in chunks of a fixed size rather than
// one slice: in a storm it holds tens of millions of messages, and a slice
// that large grows by reallocating hundreds of megabytes at once, a step
// in the resident set that would take the watchdog by surprise. Chunks grow
// and shrink it a little at a time.
type inflightHeap struct {
	chunks [][]inflight
	n      int
}

const (
	chunkBits = 12 // 4,096 messages, 160 KB, per chunk
	chunkLen  = 1 << chunkBits
)

func (h *inflightHeap) at(i int) *inflight { return &h.chunks[i>>chunkBits][i&(chunkLen-1)] }

func (h *inflightHeap) Len() int { return h.n }
func (h *inflightHeap) Less(i, j int) bool {
	a, b := h.at(i), h.at(j)
	return a.due < b.due || (a.due == b.due && a.seq < b.seq)
}
func (h *inflightHeap) Swap(i, j int) {
	a, b := h.at(i), h.at(j)
	*a, *b = *b, *a
}
func (h *inflightHeap) Push(x any) {
	if h.n == len(h.chunks)*chunkLen {
		h.chunks = append(h.chunks, make([]inflight, chunkLen))
	}
	*h.at(h.n) = x.(inflight)
	h.n++
}
func (h *inflightHeap) Pop() any {
	h.n--
	last := h.at(h.n)
	x := *last
	*last = inflight{} // let the message be collected
	// Keep one empty chunk in reserve, give back the others.
	if spare := len(h.chunks) - (h.n+chunkLen-1)/chunkLen; spare > 1 {
		h.chunks[len(h.chunks)-1] = nil
		h.chunks = h.chunks[:len(h.chunks)-1]
	}
	return x
}

// head is the earliest message; the heap must not be empty.
func (h *inflightHeap) head() *inflight { return h.at(0) }

// maxBatch bounds one batch, so that the lock is held only briefly even when
// thousands of messages are due at once, and a stop is seen between batches.
const maxBatch = 256

// Wake times of the courier goroutine (courier.wakeAt).
const (
	awake = math.MinInt64 // it looks at the heap again before it waits
	never = math.MaxInt64 // it waits for a message, with no timer set
)

// courier delivers posted messages when they are due, on its own goroutine:
// the due messages in batches of up to maxBatch, in (due, seq) order.
type courier struct {
	now     func() int64           // the clock, in microseconds
	deliver func(batch []inflight) // on the courier goroutine, outside the lock

	closed atomic.Bool // set by close: post refuses without taking the lock

	mu     sync.Mutex
	queue  *inflightHeap
	seq    int64
	exited bool // the goroutine has returned and dropped the queue
	// wakeAt is when the goroutine next looks at the heap unasked: the time
	// its timer is set for, never, or awake. A post wakes it only for a
	// message due before that, so a message behind the head costs no
	// wake-up and no timer reset.
	wakeAt int64

	wake     chan struct{} // capacity 1: "a message earlier than wakeAt came"
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

func newCourier(now func() int64, deliver func(batch []inflight)) *courier {
	return &courier{
		now: now, deliver: deliver, wakeAt: awake, queue: &inflightHeap{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// start starts the courier's goroutine.
func (q *courier) start() { go q.run() }

// postAll hands over messages, each with the trial time it is due, in
// order; once the courier is closed they are refused (lost with the trial).
func (q *courier) postAll(msgs iter.Seq2[int64, raft.Envelope]) {
	if q.closed.Load() {
		return
	}
	q.mu.Lock()
	if q.exited {
		q.mu.Unlock()
		return
	}
	earliest := int64(never)
	for due, e := range msgs {
		heap.Push(q.queue, inflight{due: due, seq: q.seq, dst: e.To, msg: e.Msg})
		q.seq++
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

// close stops the courier without waiting for anything, not even its lock:
// posts are refused from now on, and the goroutine drops what is in flight
// and returns after the batch it may be delivering. close is idempotent.
func (q *courier) close() {
	q.closed.Store(true)
	q.stopOnce.Do(func() { close(q.stop) })
}

// halt is close, then waits for the goroutine to return.
func (q *courier) halt() {
	q.close()
	<-q.done
}

func (q *courier) run() {
	defer close(q.done)
	defer func() {
		q.mu.Lock()
		q.exited, q.queue = true, &inflightHeap{}
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
		for len(batch) < maxBatch && q.queue.Len() > 0 && q.queue.head().due <= now {
			batch = append(batch, heap.Pop(q.queue).(inflight))
		}
		if len(batch) > 0 {
			q.wakeAt = awake
			q.mu.Unlock()
			q.deliver(batch)
			clear(batch)
			batch = batch[:0]
			if q.closed.Load() {
				return
			}
			continue // more may have come due while it delivered
		}
		next := int64(never)
		if q.queue.Len() > 0 {
			next = q.queue.head().due
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
		case <-q.stop:
			return
		case <-q.wake:
		case <-timer.C:
			timerAt = never
		}
	}
}
