package runtime

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"raftbench/go_raft/raft"
)

// post hands the courier one message due at due; dst tells messages apart,
// and the message carries its due time as LastLogIndex.
func post(q *courier, due int64, dst int) {
	q.postAll(func(yield func(int64, raft.Envelope) bool) {
		yield(due, raft.Envelope{To: dst, Msg: &raft.RequestVote{Term: dst, LastLogIndex: int(due)}})
	})
}

// The courier delivers in (due, seq) order, only once due, and stops.
func TestCourierOrderAndStop(t *testing.T) {
	var clock atomic.Int64 // a clock the test moves
	var mu sync.Mutex
	var got []int
	var times []int64
	ctx, cancel := context.WithCancel(context.Background())
	q := newCourier(ctx, clock.Load, func(batch []inflight) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range batch {
			got = append(got, m.dst)
			times = append(times, clock.Load())
		}
	})
	done := make(chan struct{})
	go func() { q.run(); close(done) }()
	// Equal due times keep their posting order; 5 and 6 are due before 3
	// and 4 although posted after them. Nothing is due at time 0.
	post(q, 300, 3)
	post(q, 300, 4)
	post(q, 200, 5)
	post(q, 200, 6)
	post(q, 100, 1)
	post(q, 250, 7)
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	early := len(got)
	mu.Unlock()
	if early != 0 {
		t.Fatalf("%d messages delivered before they were due", early)
	}
	clock.Store(100) // the courier's timer is set far ahead in real time: post wakes it
	post(q, 1, 0)    // overdue: delivered at once, before 1 (due 100)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	clock.Store(1_000)
	post(q, 1_000, 8) // due now
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 8 })
	mu.Lock()
	want := []int{0, 1, 5, 6, 7, 3, 4, 8}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delivered %v, want %v", got, want)
		}
	}
	mu.Unlock()

	// Stop: what is in flight is dropped, later posts are refused, and the
	// goroutine returns.
	post(q, 2_000, 9)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the courier did not return")
	}
	post(q, 0, 10)
	clock.Store(3_000)
	time.Sleep(10 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 8 {
		t.Fatalf("delivered after the stop: %v", got)
	}
	if q.queue.Len() != 0 {
		t.Fatalf("the queue holds %d after the stop", q.queue.Len())
	}
}

// A real clock: messages come out due, in batches, with one goroutine.
func TestCourierRealTime(t *testing.T) {
	start := time.Now()
	now := func() int64 { return time.Since(start).Microseconds() }
	var mu sync.Mutex
	count := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := newCourier(ctx, now, func(batch []inflight) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range batch {
			if due := int64(m.msg.(*raft.RequestVote).LastLogIndex); now() < due {
				t.Errorf("message due at %d delivered at %d", due, now())
			}
			count++
		}
	})
	go q.run()
	for i := range 2_000 {
		post(q, now()+int64(i%7)*300, i)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return count == 2_000 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}
