package runtime

import (
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
)

// parse reads a scenario the test wrote; it must be valid.
func parse(t *testing.T, text string) (sc *scenario.Scenario) {
	t.Helper()
	var err error
	if sc, err = scenario.Parse([]byte(text)); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return sc
}

func run(t *testing.T, text string) result.Result {
	t.Helper()
	res := Run(parse(t, text), nil, nil)
	if !res.OK {
		t.Fatalf("%s: %s", text, *res.Error)
	}
	return res
}

func TestElection(t *testing.T) {
	run(t, `{"kind": "election", "nodes": 3, "observe_ms": 100}`)
}

func TestFailover(t *testing.T) {
	if res := run(t, `{"kind": "failover", "nodes": 3, "failovers": 3, "settle_ms": 60}`); len(res.Metrics.FailoverMs) != 3 {
		t.Fatalf("%d failovers", len(res.Metrics.FailoverMs))
	}
}

// Drops, a partition that isolates the leader, crashes and restarts, some by
// the failover script and some by the schedule: the trial finishes, and
// leaves no goroutine behind.
func TestFaultsAndFailovers(t *testing.T) {
	before := goruntime.NumGoroutine()
	run(t, `{"kind": "failover", "nodes": 5, "failovers": 3, "settle_ms": 80, "network": {"drop_rate": 0.1},
		"faults": [{"at_ms": 50, "action": "partition", "groups": [["leader"]]},
		           {"at_ms": 300, "action": "heal"},
		           {"at_ms": 400, "action": "crash", "node": "leader"},
		           {"at_ms": 550, "action": "restart", "node": "leader"}]}`)
	waitGoroutines(t, before)
}

func TestReplicationUnderFaults(t *testing.T) {
	before := goruntime.NumGoroutine()
	res := run(t, `{"kind": "replication", "nodes": 5, "clients": 4, "duration_ms": 700,
		"network": {"drop_rate": 0.2},
		"faults": [{"at_ms": 50, "action": "partition", "groups": [["leader"]]},
		           {"at_ms": 300, "action": "heal"},
		           {"at_ms": 400, "action": "crash", "node": 2},
		           {"at_ms": 550, "action": "restart", "node": 2}]}`)
	if res.Metrics.Committed == 0 {
		t.Fatal("nothing committed")
	}
	waitGoroutines(t, before)
}

func TestCommandsStopEarly(t *testing.T) {
	if res := run(t, `{"kind": "replication", "nodes": 1, "clients": 2, "commands": 20}`); res.Metrics.Committed < 20 {
		t.Fatalf("%d acks", res.Metrics.Committed)
	}
}

// The new metrics: heartbeat gaps of a steady leader are about one heartbeat.
func TestHeartbeatGapsAndInbox(t *testing.T) {
	m := run(t, `{"kind": "election", "nodes": 3, "observe_ms": 300, "heartbeat_ms": 20}`).Metrics
	if g := m.HeartbeatGapMs; g == nil || g.Count < 10 || g.P50 < 15 || g.P50 > 40 || m.InboxDropped != 0 {
		t.Fatalf("%+v %+v", m, g)
	}
}

func TestNoLeader(t *testing.T) {
	res := Run(parse(t, `{"nodes": 3, "timeout_ms": 100, "election_timeout_ms": [500, 600], "heartbeat_ms": 50}`), nil, nil)
	if res.OK || *res.Error != "timeout: no leader elected within timeout_ms" {
		t.Fatalf("error %v", res.Error)
	}
}

// Past memory_limit_mb the trial ends at once, with the memory error, and
// leaves no goroutine behind. (A process of this test holds well over 1 MB.)
func TestMemoryLimitEndsTrial(t *testing.T) {
	before := goruntime.NumGoroutine()
	sc := parse(t, `{"kind": "replication", "nodes": 5, "clients": 4, "duration_ms": 30000,
		"memory_limit_mb": 1, "timeout_ms": 60000}`)
	start := time.Now()
	res := Run(sc, nil, nil)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the trial took %v", took)
	}
	if res.OK || !strings.HasPrefix(*res.Error, "memory: resident set ") ||
		!strings.HasSuffix(*res.Error, " MB passed memory_limit_mb 1") {
		t.Fatalf("error %v", res.Error)
	}
	waitGoroutines(t, before)
}

// A trial that does not stop within the grace period is hard-stopped: the
// watchdog hands over the result as it stands. Here nothing runs the trial,
// so nothing can end it.
func TestWatchdogHardStop(t *testing.T) {
	c := New(parse(t, `{"nodes": 3, "memory_limit_mb": 1}`), nil)
	got := make(chan result.Result, 1)
	c.hardStop = func(res result.Result) { got <- res }
	quit := make(chan struct{})
	defer close(quit)
	go c.watchdog(quit)
	select {
	case res := <-got:
		if res.OK || !strings.HasPrefix(*res.Error, "memory: resident set ") {
			t.Fatalf("%+v", res)
		}
	case <-time.After(watchdogGrace + 5*time.Second):
		t.Fatal("no hard stop")
	}
	if c.endedAt.Load() == 0 || !c.frozen.Load() {
		t.Fatal("the watchdog did not end the trial first")
	}
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left, %d before", goruntime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
