package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
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
	res := must(Run(parse(t, text), nil, nil))
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
	res := must(Run(parse(t, `{"nodes": 3, "timeout_ms": 100, "election_timeout_ms": [500, 600], "heartbeat_ms": 50}`), nil, nil))
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
	res := must(Run(sc, nil, nil))
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
	c := must(New(parse(t, `{"nodes": 3, "memory_limit_mb": 1}`), nil))
	got := make(chan result.Result, 1)
	c.hardStop = func(res result.Result, _ func()) { got <- res }
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
	if c.endedAt.Load() == 0 || c.ctx.Err() == nil {
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

// Replication under loss while a follower and then the leader crash and
// restart, compacting every 10 entries, on memory and on file storage: no
// acknowledged command is lost (each is applied at its index), nodes compact
// and install snapshots, a node that restarts with a snapshot restores it
// first, and the trial's directory goes. (tests/test_go_snapshots.py holds
// the same trial to bench/tracecheck.py.)
func TestCrashesWithSnapshotsKeepEveryAckedCommand(t *testing.T) {
	for _, storage := range []string{"memory", "file"} {
		// On tmpfs where there is one: go test runs the filestore tests,
		// thousands of fsyncs, beside this one, and a crowded disk would
		// make it a test of the disk's speed.
		dir, err := os.MkdirTemp("/dev/shm", "raftbench-test-")
		if err != nil {
			dir = t.TempDir()
		}
		defer os.RemoveAll(dir)
		sc := parse(t, `{"kind": "replication", "nodes": 5, "seed": 11, "clients": 8, "duration_ms": 4000,
			"snapshot_entries": 10, "client_timeout_ms": 300, "network": {"drop_rate": 0.05},
			"faults": [{"at_ms": 200, "action": "crash", "node": 1}, {"at_ms": 900, "action": "restart", "node": 1},
			           {"at_ms": 1300, "action": "crash", "node": "leader"}, {"at_ms": 1800, "action": "restart", "node": "leader"}]}`)
		if storage == "file" {
			sc.Storage, sc.StorageDir = "file", dir
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		res := must(Run(sc, w, nil))
		w.Flush()
		if !res.OK || res.Metrics.Committed <= 10 {
			t.Fatalf("%s: ok %v, error %v, %d acks", storage, res.OK, res.Error, res.Metrics.Committed)
		}
		checkSnapshotTrace(t, buf.Bytes())
		fsyncs := res.Runtime.(Runtime).FsyncUs
		if left, _ := os.ReadDir(dir); len(left) != 0 || (fsyncs == nil) != (storage == "memory") ||
			(fsyncs != nil && fsyncs.Count == 0) {
			t.Fatalf("%s: left %v, fsyncs %+v", storage, left, fsyncs)
		}
	}
}

func checkSnapshotTrace(t *testing.T, trace []byte) {
	t.Helper()
	type event struct {
		Event, Cmd  string
		Node, Index int
	}
	applied, snapped, counts := map[int]string{}, map[int]bool{}, map[string]int{}
	var acks []event
	restarted := -1 // a node that restarted with a snapshot and has done nothing yet
	for line := range bytes.Lines(trace) {
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		counts[e.Event]++
		if restarted >= 0 && e.Node == restarted && e.Event != "ack" {
			if e.Event != "install" {
				t.Fatalf("node %d restarted with a snapshot and did %s first", restarted, e.Event)
			}
			restarted = -1
		}
		switch e.Event {
		case "apply":
			applied[e.Index] = e.Cmd
		case "ack":
			acks = append(acks, e)
		case "snapshot", "install":
			snapped[e.Node] = true
		case "restart":
			if snapped[e.Node] {
				restarted = e.Node
			}
		}
	}
	for _, a := range acks {
		if applied[a.Index] != a.Cmd {
			t.Fatalf("%s was acknowledged at %d, where %q was applied", a.Cmd, a.Index, applied[a.Index])
		}
	}
	if counts["snapshot"] < 5 || counts["install"] == 0 || counts["restart"] != 2 {
		t.Fatalf("events %v", counts)
	}
}

// must is v, or a panic: the trials here make their directories.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
