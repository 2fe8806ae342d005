package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"testing"

	"raftbench/go_raft/scenario"
)

// fuzzSeeds is sized to stay well under a minute with -race on two cores.
const fuzzSeeds = 1000

// Every fuzz seed must keep the Figure 3 properties; a failure prints its seed.
func TestFuzzSeedsKeepInvariants(t *testing.T) {
	for i, err := range Fuzz(1, fuzzSeeds, 0, false) {
		if err != nil {
			t.Errorf("seed %d: %v", 1+i, err)
		}
	}
}

func trace(t *testing.T, sc *scenario.Scenario) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	s := must(New(sc, w, true))
	s.Run()
	if s.Violation != nil {
		t.Fatal(s.Violation)
	}
	w.Flush()
	return buf.Bytes()
}

func TestSameSeedSameTrace(t *testing.T) {
	sc := FuzzScenario(42, false)
	a, b := trace(t, sc), trace(t, sc)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("traces differ or are empty (%d, %d bytes)", len(a), len(b))
	}
}

func parse(t *testing.T, text string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestScenarios(t *testing.T) {
	for _, text := range []string{
		`{"kind": "election", "nodes": 5}`,
		`{"kind": "failover", "nodes": 3, "failovers": 5}`,
		`{"kind": "replication", "nodes": 3, "clients": 4, "duration_ms": 200}`,
		`{"kind": "replication", "nodes": 1, "commands": 50}`,
		`{"kind": "replication", "nodes": 5, "clients": 3, "commands": 300, "network": {"drop_rate": 0.1},
		  "faults": [{"at_ms": 0, "action": "crash", "node": "leader"}, {"at_ms": 400, "action": "restart", "node": "leader"},
		             {"at_ms": 500, "action": "partition", "groups": [["leader"]]}, {"at_ms": 800, "action": "heal"}]}`,
	} {
		sc := parse(t, text)
		res := must(Run(sc, nil, true))
		if !res.OK {
			t.Errorf("%s: %s", text, *res.Error)
		}
		if sc.Kind == "failover" && len(res.Metrics.FailoverMs) != sc.Failovers {
			t.Errorf("%s: %d failovers", text, len(res.Metrics.FailoverMs))
		}
		if sc.Commands != nil && res.Metrics.Committed < *sc.Commands {
			t.Errorf("%s: %d acks", text, res.Metrics.Committed)
		}
	}
}

// A trial that cannot finish says why: no leader, or no new leader.
func TestTimeoutReasons(t *testing.T) {
	for text, want := range map[string]string{
		`{"nodes": 3, "timeout_ms": 100}`: "timeout: no leader elected within timeout_ms",
		`{"kind": "failover", "nodes": 3, "timeout_ms": 5000,
		  "faults": [{"at_ms": 1, "action": "partition", "groups": [[0], [1], [2]]}]}`: "timeout: no leader elected within timeout_ms",
		`{"kind": "failover", "nodes": 2, "failovers": 1, "timeout_ms": 5000}`: "timeout: no new leader after crash 1",
		`{"kind": "election", "observe_ms": 10000, "timeout_ms": 2000}`:        "timeout: scenario did not finish within timeout_ms",
	} {
		if res := must(Run(parse(t, text), nil, true)); res.OK || *res.Error != want {
			t.Errorf("%s: error %v, want %q", text, res.Error, want)
		}
	}
}

// The simulator's heartbeat gaps: a steady leader's heartbeats arrive one
// heartbeat apart, give or take the jitter; a restarted node starts a new
// series; first_election_timeout_ms sets when the first leader comes.
func TestHeartbeatGapsAndFirstTimeout(t *testing.T) {
	sc := parse(t, `{"kind": "election", "nodes": 5, "observe_ms": 1000,
		"first_election_timeout_ms": [1000, 2000],
		"faults": [{"at_ms": 2100, "action": "crash", "node": 0}, {"at_ms": 2300, "action": "restart", "node": 0}]}`)
	s := must(New(sc, nil, true))
	s.Run()
	if s.Violation != nil {
		t.Fatalf("violation %v", s.Violation)
	}
	if first := s.Recorder.FirstLeaderUs; first < 1_000_000 || first > 2_010_000 {
		t.Fatalf("first leader at %d us", first)
	}
	if s.Recorder.GapsUs.Len() < 4*15 {
		t.Fatalf("%d gaps", s.Recorder.GapsUs.Len())
	}
	for g := range s.Recorder.GapsUs.All() {
		if g < 49_000 || g > 51_000 {
			t.Fatalf("gap %d us", g)
		}
	}
}

// ---- snapshots (section 7) ---------------------------------------------------

// snapSeeds is sized as fuzzSeeds: compaction every 10 to 50 entries under
// the same faults breaks no property either.
const snapSeeds = 1000

func TestFuzzSeedsWithSnapshotsKeepInvariants(t *testing.T) {
	for i, err := range Fuzz(1, snapSeeds, 0, true) {
		if err != nil {
			t.Errorf("seed %d: %v (rerun: FuzzScenario(%d, true))", 1+i, err, 1+i)
		}
	}
}

// A fuzz scenario with snapshots is the one without, plus snapshot_entries.
func TestSnapshotsAreALastDraw(t *testing.T) {
	for seed := range int64(50) {
		plain, snapped := FuzzScenario(seed, false), FuzzScenario(seed, true)
		if plain.SnapshotEntries != 10_000 || snapped.SnapshotEntries < 10 || snapped.SnapshotEntries > 50 {
			t.Fatalf("seed %d: %d and %d", seed, plain.SnapshotEntries, snapped.SnapshotEntries)
		}
		snapped.SnapshotEntries = plain.SnapshotEntries
		if !reflect.DeepEqual(plain, snapped) {
			t.Fatalf("seed %d: %+v\n%+v", seed, plain, snapped)
		}
	}
}

type traceEvent struct {
	Event string
	Node  *int
}

func events(t *testing.T, trace []byte) []traceEvent {
	var out []traceEvent
	for line := range bytes.Lines(trace) {
		var e traceEvent
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

const crashy = `{"kind": "replication", "nodes": 5, "seed": 4, "clients": 4, "duration_ms": 1500,
	"snapshot_entries": 20, "network": {"drop_rate": 0.05},
	"faults": [{"at_ms": 200, "action": "crash", "node": 1}, {"at_ms": 700, "action": "restart", "node": 1},
	           {"at_ms": 800, "action": "crash", "node": "leader"}, {"at_ms": 1100, "action": "restart", "node": "leader"}]}`

// Nodes compact; node 1, down while the others compacted past it, catches up
// by InstallSnapshot; a restarted node with a snapshot restores it before
// anything else; every state machine ends alike, with compacted logs.
func TestCompactsInstallsAndRestoresAfterARestart(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	s := must(New(parse(t, crashy), w, true))
	s.Run()
	w.Flush()
	if s.Violation != nil {
		t.Fatal(s.Violation)
	}
	evs := events(t, buf.Bytes())
	snapshots, installs, restores := 0, map[int]bool{}, 0
	snapped := map[int]bool{}
	for i, e := range evs {
		switch e.Event {
		case "snapshot":
			snapshots++
			snapped[*e.Node] = true
		case "install":
			installs[*e.Node], snapped[*e.Node] = true, true
		case "restart":
			if snapped[*e.Node] {
				next := slices.IndexFunc(evs[i+1:], func(f traceEvent) bool { return f.Node != nil && *f.Node == *e.Node })
				if evs[i+1+next].Event != "install" {
					t.Fatalf("node %d restarted with a snapshot and did %s first", *e.Node, evs[i+1+next].Event)
				}
				restores++
			}
		}
	}
	if snapshots <= 10 || !installs[1] || restores != 1 {
		t.Fatalf("%d snapshots, installs %v, %d restores", snapshots, installs, restores)
	}
	image := s.hosts[0].KV.Image()
	for _, h := range s.hosts {
		if !bytes.Equal(h.KV.Image(), image) || len(h.Core.Log) >= 2*20+64 {
			t.Fatalf("node %d: image %q of %q, log of %d", h.ID, h.KV.Image(), image, len(h.Core.Log))
		}
	}
}

// Storage is invisible in a trace: file storage, reopened at each restart,
// gives the memory store's trace, and leaves no directory behind.
func TestFileStorageSimulatesAsMemory(t *testing.T) {
	parent, tried := t.TempDir(), 0
	for seed := int64(1); tried < 8; seed++ {
		sc := FuzzScenario(seed, true)
		if !slices.ContainsFunc(sc.Faults, func(f scenario.Fault) bool { return f.Action == "restart" }) {
			continue
		}
		tried++
		memory := trace(t, sc)
		sc.Storage, sc.StorageDir = "file", parent
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		res := must(Run(sc, w, true))
		w.Flush()
		if !bytes.Equal(buf.Bytes(), memory) || res.Runtime.(Runtime).FsyncUs.Count == 0 {
			t.Fatalf("seed %d: the traces differ, or no fsync", seed)
		}
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// must is v, or a panic: the trials here make their directories.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
