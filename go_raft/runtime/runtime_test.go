package runtime

import (
	goruntime "runtime"
	"testing"
	"time"

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
	c := runText(t, `{"scenario": "election", "nodes": 3, "observe_ms": 100}`)
	if c.rec.FirstLeaderUs < 0 {
		t.Fatal("no leader")
	}
}

func TestFailover(t *testing.T) {
	c := runText(t, `{"scenario": "failover", "nodes": 3, "trials": 3, "settle_ms": 60}`)
	if c.trialsDone != 3 {
		t.Fatalf("%d failovers", c.trialsDone)
	}
}

// Drops, a partition that isolates the leader, a crash and a restart: the
// trial finishes, commits, and leaves no goroutine behind.
func TestReplicationUnderFaults(t *testing.T) {
	before := goruntime.NumGoroutine()
	c := runText(t, `{"scenario": "replication", "nodes": 5, "clients": 4, "duration_ms": 700,
		"network": {"drop_rate": 0.2},
		"faults": [{"at_ms": 50, "action": "partition", "groups": [["leader"]]},
		           {"at_ms": 300, "action": "heal"},
		           {"at_ms": 400, "action": "crash", "node": 2},
		           {"at_ms": 550, "action": "restart", "node": 2}]}`)
	if c.rec.Acks == 0 {
		t.Fatal("nothing committed")
	}
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left, %d before", goruntime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCommandsStopEarly(t *testing.T) {
	c := runText(t, `{"scenario": "replication", "nodes": 1, "clients": 2, "commands": 20}`)
	if c.rec.Acks < 20 {
		t.Fatalf("%d acks", c.rec.Acks)
	}
}
