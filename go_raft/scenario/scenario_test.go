package scenario

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"raftbench/go_raft/raft"
)

func TestUsRoundsHalfUp(t *testing.T) {
	for ms, want := range map[float64]int64{0.0005: 1, 0.0004: 0, 1.5: 1500, 4.557: 4557, 0.1: 100} {
		if got := Us(ms); got != want {
			t.Errorf("Us(%v) = %d, want %d", ms, got, want)
		}
	}
}

// A bad scenario's error names the first bad field, in the Python driver's
// checking order, on one line.
func TestErrorsNameTheField(t *testing.T) {
	for text, field := range map[string]string{
		``:                                   "scenario",
		`{"nodes": 3,}`:                      "scenario",
		`[]`:                                 "scenario",
		`{"nodes": 0}`:                       "nodes",
		`{"nodes": 2.0}`:                     "nodes",
		`{"nodes": true}`:                    "nodes",
		`{"nodes": "3"}`:                     "nodes",
		`{"nodes": null}`:                    "nodes",
		`{"nodes": 99999999999999999999}`:    "nodes",
		`{"x": 1}`:                           "x",
		`{"Nodes": 3}`:                       "Nodes", // keys match exactly, not as encoding/json's do
		`{"seed": null}`:                     "seed",  // null is not absence
		`{"election_timeout_ms": [1, 2, 3]}`: "election_timeout_ms",
		`{"network": {"Drop_Rate": 0.5}}`:    "network.Drop_Rate",
		`{"nodes": 0, "x": 1}`:               "x", // unknown fields first
		`{"y": 1, "x": 1}`:                   "y", // the first in the text
		`{"kind": "z"}`:                      "kind",
		`{"kind": null}`:                     "kind",
		`{"heartbeat_ms": 0}`:                "heartbeat_ms",
		`{"heartbeat_ms": 200}`:              "heartbeat_ms",
		`{"heartbeat_ms": 1e400}`:            "heartbeat_ms",
		`{"seed": -1}`:                       "seed",
		`{"commands": 0}`:                    "commands",
		`{"network": []}`:                    "network",
		`{"network": {"speed": 1}}`:          "network.speed",
		`{"network": {"drop_rate": 1}}`:      "network.drop_rate",
		`{"network": {"latency_ms": 0}}`:     "network.latency_ms",
		`{"faults": {}}`:                     "faults",
		`{"faults": [1]}`:                    "faults[0]",
		`{"faults": [{"action": "heal"}]}`:   "faults[0].at_ms",
		`{"faults": [{"at_ms": -1, "action": "heal"}]}`:                            "faults[0].at_ms",
		`{"faults": [{"at_ms": 1, "action": "explode"}]}`:                          "faults[0].action",
		`{"faults": [{"at_ms": 1, "action": "crash", "node": 9}]}`:                 "faults[0].node",
		`{"faults": [{"at_ms": 1, "action": "crash"}]}`:                            "faults[0].node",
		`{"faults": [{"at_ms": 1, "action": "crash", "node": -2}]}`:                "faults[0].node", // not Leader
		`{"faults": [{"at_ms": 1, "action": "crash", "node": null}]}`:              "faults[0].node",
		`{"faults": [{"at_ms": 1, "action": "partition", "groups": [[null]]}]}`:    "faults[0].groups",
		`{"faults": [{"at_ms": 1}]}`:                                               "faults[0].action",
		`{"faults": [{"at_ms": 1, "action": "heal", "x": 1}]}`:                     "faults[0].x",
		`{"faults": [{"at_ms": 1, "action": "partition", "groups": []}]}`:          "faults[0].groups",
		`{"faults": [{"at_ms": 1, "action": "partition", "groups": [[0], null]}]}`: "faults[0].groups",
		`{"faults": [{"at_ms": 1, "action": "partition", "groups": [["x"]]}]}`:     "faults[0].groups",
		`{"first_election_timeout_ms": [300, 150]}`:                                "first_election_timeout_ms",
		`{"first_election_timeout_ms": [true, 2]}`:                                 "first_election_timeout_ms",
		`{"first_election_timeout_ms": 150}`:                                       "first_election_timeout_ms",
		`{"inbox_capacity": 1.5}`:                                                  "inbox_capacity",
		`{"memory_limit_mb": "big"}`:                                               "memory_limit_mb",
		`{"timeout_ms": 0, "inbox_capacity": -1}`:                                  "timeout_ms",
		`{"heartbeat_ms": 0, "first_election_timeout_ms": 1}`:                      "first_election_timeout_ms",
		`{"election_timeout_ms": 1, "first_election_timeout_ms": 1}`:               "election_timeout_ms",
		`{"nodes": [1,
		   2]}`: "nodes",
		`{"snapshot_entries": -1}`:                                   "snapshot_entries",
		`{"snapshot_entries": 2.5}`:                                  "snapshot_entries",
		`{"memory_limit_mb": -1, "snapshot_entries": -1}`:            "memory_limit_mb",
		`{"snapshot_entries": -1, "storage": "disk"}`:                "snapshot_entries",
		`{"storage": "disk"}`:                                        "storage",
		`{"storage": null}`:                                          "storage",
		`{"storage": "disk", "storage_dir": 7}`:                      "storage",
		`{"storage": "file", "storage_dir": ""}`:                     "storage_dir",
		`{"storage": "file", "storage_dir": 7}`:                      "storage_dir",
		`{"storage_dir": "/tmp"}`:                                    "storage_dir",
		`{"storage": "memory", "storage_dir": "/tmp"}`:               "storage_dir",
		`{"transport": "udp"}`:                                       "transport",
		`{"transport": null}`:                                        "transport",
		`{"storage": "disk", "transport": "udp"}`:                    "storage",
		`{"node_impls": ["go"]}`:                                     "node_impls",
		`{"transport": "udp", "node_impls": ["go"]}`:                 "transport",
		`{"transport": "tcp", "nodes": 2, "node_impls": ["go"]}`:     "node_impls",
		`{"transport": "tcp", "nodes": 1, "node_impls": ["erlang"]}`: "node_impls",
		`{"transport": "tcp", "nodes": 1, "node_impls": [1]}`:        "node_impls",
		`{"transport": "tcp", "nodes": 1, "node_impls": "go"}`:       "node_impls",
	} {
		_, err := Parse([]byte(text))
		var e *Error
		if !errors.As(err, &e) || e.Field != field || !strings.HasPrefix(err.Error(), field+": ") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want field %s", text, err, field)
		}
	}
}

func TestDefaultsAndSort(t *testing.T) {
	sc, err := Parse([]byte(`{"faults": [{"at_ms": 5, "action": "heal"}, {"at_ms": 1, "action": "crash", "node": "leader"},
		{"at_ms": 5, "action": "crash", "node": 1}], "commands": null, "first_election_timeout_ms": null}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if sc.Nodes != want.Nodes || sc.ElectionTimeoutMs != want.ElectionTimeoutMs || sc.Commands != nil ||
		sc.FirstElectionTimeoutMs != nil || sc.InboxLimit() != 1024 || sc.MemoryLimitMb != 3072 {
		t.Fatalf("defaults: %+v", sc)
	}
	if *sc.Faults[0].Node != Leader || sc.Faults[1].Action != "heal" || *sc.Faults[2].Node != 1 {
		t.Fatalf("faults out of order: %+v", sc.Faults)
	}
}

// The scenario a result echoes parses back to itself.
func TestJSONRoundTrip(t *testing.T) {
	sc, err := Parse([]byte(`{"kind": "replication", "nodes": 4096, "commands": 7, "network": {"drop_rate": 0.5},
		"first_election_timeout_ms": [150, 8342.5], "inbox_capacity": 7, "memory_limit_mb": 0,
		"faults": [{"at_ms": 1.5, "action": "partition", "groups": [["leader", 3], []]}, {"at_ms": 2, "action": "restart", "node": 0}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if sc.InboxLimit() != 7 || *sc.Commands != 7 {
		t.Fatalf("%+v", sc)
	}
	text, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), `"groups":[["leader",3],[]]`) || !strings.Contains(string(text), `{"at_ms":2,"action":"restart","node":0}`) {
		t.Fatalf("faults: %s", text)
	}
	again, err := Parse(text)
	if err != nil || !reflect.DeepEqual(again, sc) {
		t.Fatalf("round trip: %v\n%s", err, text)
	}
	sc.InboxCapacity = 0
	if got := sc.InboxLimit(); got != 8192 {
		t.Fatalf("automatic capacity of 4096 nodes: %d", got)
	}
	text, _ = json.Marshal(Default())
	if !strings.Contains(string(text), `"commands":null`) || !strings.Contains(string(text), `"faults":[]`) ||
		!strings.Contains(string(text), `"first_election_timeout_ms":null`) {
		t.Fatalf("defaults: %s", text)
	}
}

// The fields added later are echoed only off their defaults, so that the
// echo of a scenario that leaves them alone is what it was.
func TestLaterFieldsEchoOnlyWhenSet(t *testing.T) {
	text, _ := json.Marshal(Default())
	for _, key := range []string{"snapshot_entries", "storage", "transport", "node_impls"} {
		if strings.Contains(string(text), key) {
			t.Fatalf("%s echoed at its default: %s", key, text)
		}
	}
	sc, err := Parse([]byte(`{"snapshot_entries": 0, "storage": "file", "storage_dir": "/tmp"}`))
	if err != nil || sc.Config().SnapshotEntries != 0 {
		t.Fatalf("%v %+v", err, sc)
	}
	text, _ = json.Marshal(sc)
	if !strings.HasSuffix(string(text), `"snapshot_entries":0,"storage":"file","storage_dir":"/tmp"}`) {
		t.Fatalf("echo: %s", text)
	}
	sc, err = Parse([]byte(`{"nodes": 2, "transport": "tcp", "node_impls": ["go", "py-threads"]}`))
	if text, _ = json.Marshal(sc); err != nil ||
		!strings.HasSuffix(string(text), `"transport":"tcp","node_impls":["go","py-threads"]}`) {
		t.Fatalf("%v echo: %s", err, text)
	}
	if sc, _ = Parse([]byte(`{"storage": "file"}`)); sc.StorageDir != "" || sc.Config().SnapshotEntries != 10_000 {
		t.Fatalf("%+v", sc)
	}
}

func ref(r NodeRef) *NodeRef { return &r }

// Resolve: "leader", waiting for one, and faults that change nothing.
func TestResolve(t *testing.T) {
	up := func(node int) bool { return node != 2 } // node 2 is down
	crash := func(r NodeRef) Fault { return Fault{Action: "crash", Node: ref(r)} }
	restart := func(r NodeRef) Fault { return Fault{Action: "restart", Node: ref(r)} }
	partition := Fault{Action: "partition", Groups: [][]NodeRef{{Leader, 0}, {}}}
	for i, c := range []struct {
		f                   Fault
		leader, lastCrashed int
		want                Effect
	}{
		{crash(1), raft.None, -1, Effect{Op: Crash, Node: 1}},
		{crash(2), 1, -1, Effect{Op: Skip}}, // down already
		{crash(Leader), 3, -1, Effect{Op: Crash, Node: 3}},
		{crash(Leader), raft.None, -1, Effect{Op: Wait}},
		{restart(2), raft.None, -1, Effect{Op: Restart, Node: 2}},
		{restart(1), raft.None, -1, Effect{Op: Skip}}, // up already
		{restart(Leader), 1, 2, Effect{Op: Restart, Node: 2}},
		{restart(Leader), 1, -1, Effect{Op: Skip}}, // nothing crashed yet
		{partition, 4, -1, Effect{Op: Partition, Groups: [][]int{{4, 0}, {}}}},
		{partition, raft.None, -1, Effect{Op: Wait}},
		{Fault{Action: "heal"}, raft.None, -1, Effect{Op: Heal}},
	} {
		got := c.f.Resolve(c.leader, c.lastCrashed, up)
		if got.Op != c.want.Op || got.Node != c.want.Node ||
			!slices.EqualFunc(got.Groups, c.want.Groups, slices.Equal) {
			t.Errorf("case %d: got %+v, want %+v", i, got, c.want)
		}
	}
}
