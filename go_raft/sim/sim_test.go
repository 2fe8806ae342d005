package sim

import (
	"bufio"
	"bytes"
	"testing"

	"raftbench/go_raft/scenario"
)

// fuzzSeeds is sized to stay well under a minute with -race on two cores.
const fuzzSeeds = 1000

// Every fuzz seed must keep the Figure 3 properties; a failure prints its seed.
func TestFuzzSeedsKeepInvariants(t *testing.T) {
	for _, f := range Fuzz(1, fuzzSeeds, 0) {
		t.Errorf("seed %d: %v", f.Seed, f.Err)
	}
}

func trace(t *testing.T, sc *scenario.Scenario) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	s := New(sc, w, true)
	s.Run()
	if s.Violation != nil {
		t.Fatal(s.Violation)
	}
	w.Flush()
	return buf.Bytes()
}

func TestSameSeedSameTrace(t *testing.T) {
	sc := FuzzScenario(42)
	a, b := trace(t, &sc), trace(t, &sc)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("traces differ or are empty (%d, %d bytes)", len(a), len(b))
	}
}

func TestScenarios(t *testing.T) {
	for _, text := range []string{
		`{"kind": "election", "nodes": 5}`,
		`{"kind": "failover", "nodes": 3, "failovers": 5}`,
		`{"kind": "replication", "nodes": 3, "clients": 4, "duration_ms": 200}`,
		`{"kind": "replication", "nodes": 1, "commands": 50}`,
	} {
		sc, err := scenario.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		s := New(&sc, nil, true)
		s.Run()
		if s.Violation != nil || s.Error != "" || s.Recorder.FirstLeaderUs < 0 {
			t.Errorf("%s: violation %v, error %q", text, s.Violation, s.Error)
		}
		if sc.Kind == "failover" && s.FailoversDone != sc.Failovers {
			t.Errorf("%s: %d failovers", text, s.FailoversDone)
		}
		if sc.Commands != 0 && s.Recorder.Acks < sc.Commands {
			t.Errorf("%s: %d acks", text, s.Recorder.Acks)
		}
	}
}

// The simulator's heartbeat gaps: a steady leader's heartbeats arrive one
// heartbeat apart, give or take the jitter; a restarted node starts a new
// series; first_election_timeout_ms sets when the first leader comes.
func TestHeartbeatGapsAndFirstTimeout(t *testing.T) {
	sc, err := scenario.Parse(`{"kind": "election", "nodes": 5, "observe_ms": 1000,
		"first_election_timeout_ms": [1000, 2000],
		"faults": [{"at_ms": 2100, "action": "crash", "node": 0}, {"at_ms": 2300, "action": "restart", "node": 0}]}`)
	if err != nil {
		t.Fatal(err)
	}
	s := New(&sc, nil, true)
	s.Run()
	if s.Violation != nil || s.Error != "" {
		t.Fatalf("violation %v, error %q", s.Violation, s.Error)
	}
	if first := s.Recorder.FirstLeaderUs; first < 1_000_000 || first > 2_010_000 {
		t.Fatalf("first leader at %d us", first)
	}
	if len(s.GapsUs) < 4*15 {
		t.Fatalf("%d gaps", len(s.GapsUs))
	}
	for _, g := range s.GapsUs {
		if g < 49_000 || g > 51_000 {
			t.Fatalf("gap %d us", g)
		}
	}
}
