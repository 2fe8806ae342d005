package runtime

// The watchdog keeps the driver's own limits, memory_limit_mb and
// timeout_ms, as py_raft/trial.py's Watchdog does (docs/runtimes.md). It
// does not wait on the runtime: in an overloaded trial, an election storm of
// thousands of nodes, thousands of goroutines are runnable, each with a full
// inbox, and a goroutine woken for its timer can wait long for its turn while
// memory grows. Past a limit the watchdog freezes the cluster, which stops
// all work at once, and ends the trial; if the trial has not ended a grace
// period later, it hands the result as it stands to Run's hardStop, which
// prints it and ends the process. Overload is a recorded failure, never a
// machine brought down.
//
// The watchdog itself can wait its turn too: a goroutine woken by its ticker
// queues behind the goroutines woken after it, thousands in a storm. So the
// senders keep watch as well, in SendAll, the path that allocates in a storm:
// when the watchdog's last look at the resident set is overdue, a sender looks
// instead (lookIfOverdue), and once the trial was ended, a sender still
// finishing its step makes the hard stop when it is due (hardStopIfDue).

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
)

const (
	watchdogPoll = 100 * time.Millisecond // how often the watchdog looks
	// watchdogGrace is how long the trial has to end once asked to, before
	// the hard stop.
	watchdogGrace = 3 * time.Second
	// timeoutSlackUs is how far past timeout_ms the watchdog lets the
	// script's own timers end the trial before it steps in.
	timeoutSlackUs = 1_000_000
	// overdueUs is when a look at the resident set counts as overdue.
	overdueUs = 2 * int64(watchdogPoll/time.Microsecond)
)

// watchdog runs beside the trial, its shutdown included, until quit closes.
func (c *Cluster) watchdog(quit <-chan struct{}) {
	tick := time.NewTicker(watchdogPoll)
	defer tick.Stop()
	limit := scenario.Us(c.sc.TimeoutMs)
	for {
		select {
		case <-quit:
			return
		case <-tick.C:
		}
		now := c.now()
		if c.endedAt.Load() != 0 { // by the watchdog, or by a sender (lookIfOverdue)
			c.hardStopIfDue(now)
			continue
		}
		c.lastLook.Store(now)
		reason, over := c.overMemory()
		if !over && now <= limit+timeoutSlackUs {
			continue
		}
		if !over {
			reason = "timeout: scenario did not finish within timeout_ms"
		}
		c.endTrial(reason)
	}
}

// hardStopIfDue makes the hard stop, once, when the trial was ended more
// than watchdogGrace before now and is still running: the result as it
// stands, the trace flushed, goes to Run's hardStop, which ends the process.
// A hardStop that returns (a test's) leaves the trial to end by itself.
func (c *Cluster) hardStopIfDue(now int64) {
	at := c.endedAt.Load()
	if at == 0 || now-at <= watchdogGrace.Microseconds() || c.hardStop == nil ||
		!c.hardStopped.CompareAndSwap(false, true) {
		return
	}
	c.fail("timeout: the runtime did not stop within the grace period")
	_ = c.rec.Flush() // the trace as it stands; a write error is the driver's to report
	c.hardStop(c.result())
}

// lookIfOverdue looks at the resident set in the watchdog's place when its
// last look is overdue (now is the trial time), and ends the trial past
// memory_limit_mb. One caller looks; the others go on at once.
func (c *Cluster) lookIfOverdue(now int64) {
	last := c.lastLook.Load()
	if now-last <= overdueUs || c.sc.MemoryLimitMb <= 0 || !c.lastLook.CompareAndSwap(last, now) {
		return
	}
	if reason, over := c.overMemory(); over {
		c.endTrial(reason)
	}
}

// overMemory tells whether the process's resident set passed
// memory_limit_mb (0: no limit), and says so as the trial's error would.
func (c *Cluster) overMemory() (reason string, over bool) {
	limit := c.sc.MemoryLimitMb
	if limit <= 0 {
		return "", false
	}
	kb, ok := result.RSSKb()
	if mb := kb / 1024; ok && float64(mb) > limit {
		return fmt.Sprintf("memory: resident set %d MB passed memory_limit_mb %s",
			mb, strconv.FormatFloat(limit, 'g', 6, 64)), true
	}
	return "", false
}

// endTrial fails the trial with reason (the first reason given stands),
// freezes the cluster, and makes the scripts unwind as they do at the trial's
// limit. Only the first call acts.
func (c *Cluster) endTrial(reason string) {
	c.endOnce.Do(func() {
		c.fail(reason)
		c.endedAt.Store(max(c.now(), 1))
		c.freeze()
		close(c.ended)
	})
}

// freeze stops the cluster's work without waiting for any goroutine or lock:
// the network drops what is in flight and refuses more, and every node, idle
// or busy, stops at its next message (node.Config.Quit, one close for all).
// Shutdown freezes first too, then waits for the goroutines.
//
// Goroutines caught in the middle of a step still finish it, and in a storm
// that is a broadcast to thousands of peers each, garbage at once; the
// collector would let it pile up to twice the live heap before it runs. So
// memory_limit_mb becomes the collector's soft limit for the wind-down
// (execute restores the old one).
func (c *Cluster) freeze() {
	c.freezeOnce.Do(func() {
		c.frozen.Store(true)
		c.courier.close()
		close(c.quit)
		if limit := c.sc.MemoryLimitMb; limit > 0 {
			debug.SetMemoryLimit(int64(limit * (1 << 20)))
		}
	})
}
