package runtime

// The watchdog keeps the driver's own limits, memory_limit_mb and
// timeout_ms (docs/runtimes.md). It does not wait on the runtime: in an
// election storm of thousands of nodes, thousands of goroutines are runnable
// and one woken for its timer can wait long for its turn while memory grows.
// Past a limit it freezes the cluster, which stops all work at once, and ends
// the trial; if the trial has not ended a grace period later, it hands the
// result as it stands to Run's hardStop, which prints it and ends the
// process. Overload is a recorded failure, never a machine brought down.
//
// The watchdog can wait its turn too, so the senders keep watch as well, in
// SendAll, the path that allocates in a storm: when the watchdog's last look
// at the resident set is overdue a sender looks instead (lookIfOverdue), and
// once the trial was ended a sender still finishing its step makes the hard
// stop when it is due (hardStopIfDue).

import (
	"fmt"
	"runtime/debug"
	"time"

	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
)

const (
	watchdogPoll  = 100 * time.Millisecond // how often the watchdog looks
	watchdogGrace = 3 * time.Second        // from ending the trial to the hard stop
	// timeoutSlackUs is how far past timeout_ms the scripts' own timers may
	// end the trial before the watchdog does.
	timeoutSlackUs = 1_000_000
	overdueUs      = 2 * int64(watchdogPoll/time.Microsecond) // when a look is overdue
)

// watchdog runs beside the trial, its shutdown included, until quit closes.
func (c *Trial) watchdog(quit <-chan struct{}) {
	tick := time.NewTicker(watchdogPoll)
	defer tick.Stop()
	limit := scenario.Us(c.Scenario.TimeoutMs)
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
		if !c.checkMemory() && now > limit+timeoutSlackUs {
			c.endTrial("timeout: scenario did not finish within timeout_ms")
		}
	}
}

// hardStopIfDue makes the hard stop, once, when the trial was ended more than
// watchdogGrace before now and is still running. A hardStop that returns (a
// test's) leaves the trial to end by itself.
func (c *Trial) hardStopIfDue(now int64) {
	at := c.endedAt.Load()
	if at == 0 || now-at <= watchdogGrace.Microseconds() || c.hardStop == nil ||
		!c.hardStopped.CompareAndSwap(false, true) {
		return
	}
	c.Fail("timeout: the runtime did not stop within the grace period")
	_ = c.Recorder.Flush() // a write error is the driver's to report
	c.hardStop(c.result(), c.Close)
}

// lookIfOverdue looks at the resident set in the watchdog's place when its
// last look is overdue; one caller looks, the others go on at once.
func (c *Trial) lookIfOverdue(now int64) {
	last := c.lastLook.Load()
	if now-last > overdueUs && c.Scenario.MemoryLimitMb > 0 && c.lastLook.CompareAndSwap(last, now) {
		c.checkMemory()
	}
}

// checkMemory ends the trial, with the memory error, if the resident set
// passed memory_limit_mb (0: no limit).
func (c *Trial) checkMemory() (over bool) {
	limit := c.Scenario.MemoryLimitMb
	kb, ok := result.RSSKb()
	if over = limit > 0 && ok && float64(kb/1024) > limit; over {
		c.endTrial(fmt.Sprintf("memory: resident set %d MB passed memory_limit_mb %g", kb/1024, limit))
	}
	return over
}

// endTrial fails the trial with reason and freezes the cluster, which ends
// every wait; only the first call acts.
func (c *Trial) endTrial(reason string) {
	if c.endedAt.CompareAndSwap(0, max(c.now(), 1)) {
		c.Fail(reason)
		c.freeze()
	}
}

// freeze stops the cluster's work without waiting for any goroutine or lock:
// cancelling the trial's context makes the network drop what is in flight
// and refuse more, and every node, idle or busy, stop at its next message
// (node.Config.Context). Shutdown freezes first too, then waits for the
// goroutines.
//
// Goroutines caught in the middle of a step still finish it, and in a storm
// that is a broadcast to thousands of peers each, garbage at once, which the
// collector would let pile up to twice the live heap. So memory_limit_mb
// becomes the collector's soft limit for the wind-down (execute restores it).
func (c *Trial) freeze() {
	c.cancel()
	if limit := c.Scenario.MemoryLimitMb; limit > 0 {
		debug.SetMemoryLimit(int64(limit * (1 << 20)))
	}
}
