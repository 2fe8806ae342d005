package runtime

import (
	"encoding/json"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"raftbench/go_raft/internal/pyjson"
	"raftbench/go_raft/scenario"
)

func runText(t *testing.T, text string) *Cluster {
	t.Helper()
	sc, err := scenario.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	c := New(&sc, nil)
	c.execute()
	if c.rec.Violation != "" || c.errMsg != "" {
		t.Fatalf("%s: violation %q, error %q", text, c.rec.Violation, c.errMsg)
	}
	return c
}

func TestElection(t *testing.T) {
	c := runText(t, `{"kind": "election", "nodes": 3, "observe_ms": 100}`)
	if c.rec.FirstLeaderUs < 0 {
		t.Fatal("no leader")
	}
}

func TestFailover(t *testing.T) {
	c := runText(t, `{"kind": "failover", "nodes": 3, "failovers": 3, "settle_ms": 60}`)
	if c.failoversDone != 3 {
		t.Fatalf("%d failovers", c.failoversDone)
	}
}

// Drops, a partition that isolates the leader, a crash and a restart: the
// trial finishes, commits, and leaves no goroutine behind.
func TestReplicationUnderFaults(t *testing.T) {
	before := goruntime.NumGoroutine()
	c := runText(t, `{"kind": "replication", "nodes": 5, "clients": 4, "duration_ms": 700,
		"network": {"drop_rate": 0.2},
		"faults": [{"at_ms": 50, "action": "partition", "groups": [["leader"]]},
		           {"at_ms": 300, "action": "heal"},
		           {"at_ms": 400, "action": "crash", "node": 2},
		           {"at_ms": 550, "action": "restart", "node": 2}]}`)
	if c.rec.Acks == 0 {
		t.Fatal("nothing committed")
	}
	waitGoroutines(t, before)
}

func TestCommandsStopEarly(t *testing.T) {
	c := runText(t, `{"kind": "replication", "nodes": 1, "clients": 2, "commands": 20}`)
	if c.rec.Acks < 20 {
		t.Fatalf("%d acks", c.rec.Acks)
	}
}

// The new metrics: heartbeat gaps of a steady leader are about one heartbeat.
func TestHeartbeatGapsAndInbox(t *testing.T) {
	sc, err := scenario.Parse(`{"kind": "election", "nodes": 3, "observe_ms": 300, "heartbeat_ms": 20}`)
	if err != nil {
		t.Fatal(err)
	}
	res := pyjson.Dumps(Run(&sc, nil, nil), false)
	var out struct {
		OK      bool `json:"ok"`
		Metrics struct {
			Gap *struct {
				P50, P99, Max float64
				Count         int
			} `json:"heartbeat_gap_ms"`
			InboxDropped *int `json:"inbox_dropped"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(res), &out); err != nil {
		t.Fatal(err)
	}
	g := out.Metrics.Gap
	if !out.OK || g == nil || g.Count < 10 || g.P50 < 15 || g.P50 > 40 || out.Metrics.InboxDropped == nil || *out.Metrics.InboxDropped != 0 {
		t.Fatalf("%s", res)
	}
	if !strings.Contains(res, `"elapsed_ms": `) || strings.Index(res, `"heartbeat_gap_ms"`) < strings.Index(res, `"elapsed_ms"`) ||
		strings.Index(res, `"inbox_dropped"`) < strings.Index(res, `"heartbeat_gap_ms"`) {
		t.Fatalf("metrics order: %s", res)
	}
}

// Past memory_limit_mb the trial ends at once, with the memory error, and
// leaves no goroutine behind. (A process of this test holds well over 1 MB.)
func TestMemoryLimitEndsTrial(t *testing.T) {
	before := goruntime.NumGoroutine()
	sc, err := scenario.Parse(`{"kind": "replication", "nodes": 5, "clients": 4, "duration_ms": 30000,
		"memory_limit_mb": 1, "timeout_ms": 60000}`)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c := New(&sc, nil)
	c.execute()
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the trial took %v", took)
	}
	if !strings.HasPrefix(c.errMsg, "memory: resident set ") || !strings.HasSuffix(c.errMsg, " MB passed memory_limit_mb 1") {
		t.Fatalf("error %q", c.errMsg)
	}
	waitGoroutines(t, before)
}

// A trial that does not stop within the grace period is hard-stopped: the
// watchdog hands over the result as it stands. Here nothing runs the trial,
// so nothing can end it.
func TestWatchdogHardStop(t *testing.T) {
	sc, err := scenario.Parse(`{"nodes": 3, "memory_limit_mb": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	c := New(&sc, nil)
	got := make(chan pyjson.Obj, 1)
	c.hardStop = func(res pyjson.Obj) { got <- res }
	quit := make(chan struct{})
	defer close(quit)
	go c.watchdog(quit)
	select {
	case res := <-got:
		text := pyjson.Dumps(res, false)
		if !strings.Contains(text, `"ok": false, "error": "memory: resident set `) {
			t.Fatalf("%s", text)
		}
	case <-time.After(watchdogGrace + 5*time.Second):
		t.Fatal("no hard stop")
	}
	select {
	case <-c.ended:
	default:
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
