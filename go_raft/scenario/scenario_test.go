package scenario

import "testing"

func TestUsRoundsHalfUp(t *testing.T) {
	for ms, want := range map[float64]int64{0.0005: 1, 0.0004: 0, 1.5: 1500, 4.557: 4557, 0.1: 100} {
		if got := Us(ms); got != want {
			t.Errorf("Us(%v) = %d, want %d", ms, got, want)
		}
	}
}

// The messages are Python's, word for word (tests/test_cross_sim.py checks more).
func TestErrors(t *testing.T) {
	for text, want := range map[string]string{
		``:                                 "scenario: not valid JSON (Expecting value at line 1)",
		`[]`:                               "scenario: must be a JSON object",
		`{"nodes": 0}`:                     "nodes: must be an integer in [1, 100000], got 0",
		`{"nodes": 2.0}`:                   "nodes: must be an integer in [1, 100000], got 2.0",
		`{"x": 1}`:                         "x: unknown field",
		`{"scenario": "z"}`:                "scenario: must be one of election, failover, replication, got 'z'",
		`{"heartbeat_ms": 0}`:              "heartbeat_ms: must be a finite number >= 0.001, got 0",
		`{"faults": [{"action": "heal"}]}`: "faults[0].at_ms: required, a number >= 0",
	} {
		_, err := Parse(text)
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", text, err, want)
		}
	}
}

func TestDefaultsAndSort(t *testing.T) {
	sc, err := Parse(`{"faults": [{"at_ms": 5, "action": "heal"}, {"at_ms": 1, "action": "crash", "node": "leader"}, {"at_ms": 5, "action": "crash", "node": 1}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Nodes != 5 || sc.ElectionTimeoutMs != [2]float64{150, 300} || sc.Faults[0].Node != LeaderRef ||
		sc.Faults[1].Action != "heal" || sc.Faults[2].Action != "crash" {
		t.Fatalf("%+v", sc)
	}
}
