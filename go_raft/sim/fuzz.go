package sim

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"raftbench/go_raft/raft"
	"raftbench/go_raft/scenario"
)

// FuzzStream is the derive_seed stream of the fuzz scenario generator.
const FuzzStream = 0xF0225EED

// FuzzDurationMs is how long the clients of a fuzz scenario run.
const FuzzDurationMs = 1500

// FuzzScenario draws a small cluster, a lossy network and a fault schedule,
// with the same draws in the same order as py_raft/sim/fuzz.py's
// fuzz_scenario, so that a failing seed reproduces in either language. With
// snapshots it makes one more draw after all of them, snapshot_entries in
// [10, 50], so that a seed's scenario is the same either way but for that
// field, and crashes, restarts and partitions meet compaction,
// InstallSnapshot and restores all the time.
func FuzzScenario(seed int64, snapshots bool) *scenario.Scenario {
	rng := raft.NewSplitMix64(raft.DeriveSeed(uint64(seed), FuzzStream))
	nodes := int(rng.UniformInt(1, 7))
	faults := []scenario.Fault{}
	for range rng.UniformInt(0, 8) {
		f := scenario.Fault{AtMs: float64(rng.UniformInt(0, FuzzDurationMs))}
		f.Action = [...]string{"crash", "restart", "partition", "heal"}[rng.UniformInt(0, 3)]
		switch f.Action {
		case "crash", "restart":
			node := scenario.NodeRef(rng.UniformInt(0, int64(nodes))) // nodes: "leader"
			if node == scenario.NodeRef(nodes) {
				node = scenario.Leader
			}
			f.Node = &node
		case "partition":
			f.Groups = [][]scenario.NodeRef{{}, {}}
			for n := range nodes {
				side := rng.UniformInt(0, 1)
				f.Groups[side] = append(f.Groups[side], scenario.NodeRef(n))
			}
		}
		faults = append(faults, f)
	}
	slices.SortStableFunc(faults, func(a, b scenario.Fault) int { return cmp.Compare(a.AtMs, b.AtMs) })
	sc := scenario.Default()
	sc.Kind = "replication"
	sc.Nodes = nodes
	sc.Seed = seed
	sc.Network = scenario.Network{
		LatencyMs: float64(rng.UniformInt(100, 5000)) / 1000,
		JitterMs:  float64(rng.UniformInt(0, 5000)) / 1000,
		DropRate:  float64(rng.UniformInt(0, 30)) / 100,
	}
	sc.Clients = int(rng.UniformInt(1, 3))
	sc.DurationMs = FuzzDurationMs
	sc.MaxBatchEntries = int(rng.UniformInt(1, 8))
	sc.Faults = faults
	sc.TimeoutMs = 4 * FuzzDurationMs
	if snapshots {
		sc.SnapshotEntries = scenario.SnapshotEntries(rng.UniformInt(10, 50))
	}
	return &sc
}

// RunSeed simulates one fuzz seed with the invariants on; it returns the
// violation, or nil. A panic in the core (a broken assertion) counts as one.
func RunSeed(seed int64, snapshots bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	s, err := New(FuzzScenario(seed, snapshots), nil, true)
	if err != nil {
		return err
	}
	s.Run()
	return s.Violation
}

// Fuzz runs seeds first..first+n-1 on jobs goroutines (0: GOMAXPROCS), each
// every jobs-th seed; errs[i] is seed first+i's violation, or nil.
func Fuzz(first, n int64, jobs int, snapshots bool) (errs []error) {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	errs = make([]error, n)
	var wg sync.WaitGroup
	for job := range int64(jobs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := job; i < n; i += int64(jobs) {
				errs[i] = RunSeed(first+i, snapshots)
			}
		}()
	}
	wg.Wait()
	return errs
}

// FuzzMain is `goraft fuzz`: each failing seed, then "N seeds, V violations,
// T s", as python -m py_raft.sim.fuzz prints them; 1 if a seed failed.
func FuzzMain(w io.Writer, first, n int64, jobs int, snapshots bool) int {
	start := time.Now()
	violations := 0
	for i, err := range Fuzz(first, n, jobs, snapshots) {
		if err != nil {
			fmt.Fprintf(w, "seed %d: %v\n", first+int64(i), err)
			violations++
		}
	}
	fmt.Fprintf(w, "%d seeds, %d violations, %.1f s\n", n, violations, time.Since(start).Seconds())
	return min(violations, 1)
}
