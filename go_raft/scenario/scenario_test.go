package scenario

import (
	"strings"
	"testing"

	"raftbench/go_raft/internal/pyjson"
)

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
		`{"kind": "z"}`:                    "kind: must be one of election, failover, replication, got 'z'",
		`{"heartbeat_ms": 0}`:              "heartbeat_ms: must be a finite number >= 0.001, got 0",
		`{"faults": [{"action": "heal"}]}`: "faults[0].at_ms: required, a number >= 0",
		`{"first_election_timeout_ms": [300, 150]}`:              "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max",
		`{"first_election_timeout_ms": [0, 150]}`:                "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max",
		`{"first_election_timeout_ms": 150}`:                     "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max",
		`{"first_election_timeout_ms": [1, 2, 3]}`:               "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max",
		`{"first_election_timeout_ms": [true, 2]}`:               "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max",
		`{"first_election_timeout_ms": ["1", 2]}`:                "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max",
		`{"inbox_capacity": -1}`:                                 "inbox_capacity: must be an integer in [0, 1000000000], got -1",
		`{"inbox_capacity": 1.5}`:                                "inbox_capacity: must be an integer in [0, 1000000000], got 1.5",
		`{"inbox_capacity": 1000000001}`:                         "inbox_capacity: must be an integer in [0, 1000000000], got 1000000001",
		`{"inbox_capacity": null}`:                               "inbox_capacity: must be an integer in [0, 1000000000], got None",
		`{"memory_limit_mb": -1}`:                                "memory_limit_mb: must be a finite number >= 0, got -1",
		`{"memory_limit_mb": "big"}`:                             "memory_limit_mb: must be a finite number >= 0, got 'big'",
		`{"memory_limit_mb": Infinity}`:                          "memory_limit_mb: must be a finite number >= 0, got inf",
		`{"memory_limit_mb": null}`:                              "memory_limit_mb: must be a finite number >= 0, got None",
		`{"timeout_ms": 0, "inbox_capacity": -1}`:                "timeout_ms: must be a finite number >= 1, got 0",
		`{"inbox_capacity": -1, "memory_limit_mb": -1}`:          "inbox_capacity: must be an integer in [0, 1000000000], got -1",
		`{"first_election_timeout_ms": 1, "inbox_capacity": -1}`: "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max",
		// Python checks first_election_timeout_ms right after election_timeout_ms.
		`{"heartbeat_ms": 0, "first_election_timeout_ms": 1}`:        "first_election_timeout_ms: must be null or [min, max] with 0 < min <= max",
		`{"election_timeout_ms": 1, "first_election_timeout_ms": 1}`: "election_timeout_ms: must be [min, max] with 0 < min <= max",
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

// The three fields after timeout_ms: defaults, parsing, and where ToJSON puts them.
func TestElectionStartInboxMemoryFields(t *testing.T) {
	sc, err := Parse(`{}`)
	if err != nil {
		t.Fatal(err)
	}
	if sc.FirstElectionTimeoutMs != nil || sc.InboxCapacity != 0 || sc.MemoryLimitMb != 3072 {
		t.Fatalf("defaults: %v %d %v", sc.FirstElectionTimeoutMs, sc.InboxCapacity, sc.MemoryLimitMb)
	}
	if got := sc.EffectiveInboxCapacity(); got != 1024 {
		t.Fatalf("automatic capacity of 5 nodes: %d", got)
	}
	text := pyjson.Dumps(sc.ToJSON(), false)
	if want := `"faults": [], "timeout_ms": 60000.0, "first_election_timeout_ms": null, "inbox_capacity": 0, "memory_limit_mb": 3072.0}`; !strings.HasSuffix(text, want) {
		t.Fatalf("ToJSON ends %q, want %q", text[len(text)-min(len(text), len(want)):], want)
	}

	sc, err = Parse(`{"nodes": 4096, "first_election_timeout_ms": [150, 8342.5], "inbox_capacity": 7, "memory_limit_mb": 0}`)
	if err != nil {
		t.Fatal(err)
	}
	if *sc.FirstElectionTimeoutMs != [2]float64{150, 8342.5} || sc.InboxCapacity != 7 || sc.MemoryLimitMb != 0 ||
		sc.EffectiveInboxCapacity() != 7 {
		t.Fatalf("%+v", sc)
	}
	text = pyjson.Dumps(sc.ToJSON(), false)
	if want := `"timeout_ms": 60000.0, "first_election_timeout_ms": [150.0, 8342.5], "inbox_capacity": 7, "memory_limit_mb": 0.0}`; !strings.HasSuffix(text, want) {
		t.Fatalf("ToJSON: %s", text)
	}
	// The scenario a result echoes parses back to itself.
	again, err := Parse(text)
	if err != nil || pyjson.Dumps(again.ToJSON(), false) != text {
		t.Fatalf("round trip: %v", err)
	}
	sc.InboxCapacity = 0
	if got := sc.EffectiveInboxCapacity(); got != 8192 {
		t.Fatalf("automatic capacity of 4096 nodes: %d", got)
	}
	if _, err := Parse(`{"first_election_timeout_ms": null}`); err != nil {
		t.Fatalf("null: %v", err)
	}
}
