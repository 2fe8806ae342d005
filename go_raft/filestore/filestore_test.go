package filestore

// What a node reads back after a crash is what reached the disk, never
// garbage. As etcd's wal tests do, the log file is cut at every offset and
// has each of its bytes damaged in turn; each time the store must reopen to
// the state after the last whole record before the damage, and cut the rest
// away. Round trips cover the hard state, truncation, compaction, and a
// compaction that a crash interrupted between its two renames; a randomized
// run checks the store against MemoryStorage; and the files are Python's
// (py_raft/filestore.py), byte for byte.

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"raftbench/go_raft/raft"
)

func init() { slog.SetDefault(slog.New(slog.DiscardHandler)) } // the warnings of cut tails

func state(s raft.SnapshotStorage) string {
	term, vote := s.HardState()
	out := fmt.Sprintf("hard (%d, %d), entries %v", term, vote, s.Entries())
	if snap := s.Snapshot(); snap != nil {
		out += fmt.Sprintf(", snapshot (%d, %d, %q)", snap.LastIncludedIndex, snap.LastIncludedTerm, snap.Data)
	}
	return out
}

// entries are entries of term, one per cmd; "" is a no-op.
func entries(term int, cmds ...string) []raft.Entry {
	out := []raft.Entry{}
	for _, c := range cmds {
		e := raft.Entry{Term: term, Cmd: c, Payload: "v-" + c, Noop: c == ""}
		if e.Noop {
			e.Payload = ""
		}
		out = append(out, e)
	}
	return out
}

// op is one change, synced on its own, so that it is one record of the log.
type op struct {
	first      int // an append at first; 0: a hard state
	entries    []raft.Entry
	term, vote int
}

func (o op) apply(s raft.Storage) {
	if o.first == 0 {
		s.SetHardState(o.term, o.vote)
	} else {
		s.TruncateAndAppend(o.first, o.entries)
	}
}

var ops = []op{
	{term: 1, vote: 0},
	{first: 1, entries: entries(1, "", "a", "b")},
	{term: 2, vote: raft.None},
	{first: 4, entries: entries(2, "c", "dé")}, // non-ASCII survives
	{first: 3, entries: entries(2, "x")},       // a truncation: 3.. replaced
	{term: 3, vote: 4},
	{first: 2, entries: nil}, // a truncation alone
	{first: 2, entries: entries(3, "y", "z", "")},
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// written is a node directory after ops, each op's record end, and the state after each.
func written(t *testing.T) (dir string, ends []int, states []string) {
	dir = filepath.Join(t.TempDir(), "node")
	store, model := open(t, dir), raft.NewMemoryStorage()
	ends, states = []int{0}, []string{state(model)}
	for _, o := range ops {
		o.apply(store)
		o.apply(model)
		store.Sync()
		info, _ := os.Stat(filepath.Join(dir, logName))
		ends, states = append(ends, int(info.Size())), append(states, state(model))
	}
	store.Close()
	return dir, ends, states
}

// reopen copies a node directory with its log damaged, and opens a store over it.
func reopen(t *testing.T, src string, damage func([]byte) []byte) (*Store, string) {
	t.Helper()
	dst := t.TempDir()
	for _, name := range []string{logName, snapshotName} {
		if data, err := os.ReadFile(filepath.Join(src, name)); err == nil {
			if name == logName {
				data = damage(data)
			}
			os.WriteFile(filepath.Join(dst, name), data, 0o644)
		}
	}
	return open(t, dst), dst
}

// whole is the last record that ends at or before offset.
func whole(ends []int, offset int) int {
	i := 0
	for i+1 < len(ends) && ends[i+1] <= offset {
		i++
	}
	return i
}

func TestRoundTrip(t *testing.T) {
	dir, _, states := written(t)
	s := open(t, dir)
	defer s.Close()
	if got := state(s); got != states[len(states)-1] || s.CutBytes != 0 {
		t.Fatalf("reopened as %s (cut %d), want %s", got, s.CutBytes, states[len(states)-1])
	}
}

func TestCrashAtEveryOffsetKeepsTheLastWholeRecord(t *testing.T) {
	dir, ends, states := written(t)
	for cut := 0; cut <= ends[len(ends)-1]; cut++ {
		s, dst := reopen(t, dir, func(d []byte) []byte { return d[:cut] })
		i := whole(ends, cut)
		if got := state(s); got != states[i] || s.CutBytes != cut-ends[i] {
			t.Fatalf("cut at byte %d: %s (cut %d), want %s", cut, got, s.CutBytes, states[i])
		}
		// The torn tail is gone from the file too: appends follow the good records.
		ops[1].apply(s)
		s.Sync()
		s.Close()
		again := open(t, dst)
		if again.CutBytes != 0 || fmt.Sprint(again.Entries()) != fmt.Sprint(ops[1].entries) {
			t.Fatalf("cut at byte %d, then an append: %s", cut, state(again))
		}
		again.Close()
	}
}

func TestDamagedByteEndsTheLogBeforeItsRecord(t *testing.T) {
	dir, ends, states := written(t)
	last := ends[len(ends)-1]
	for at := range last {
		s, _ := reopen(t, dir, func(d []byte) []byte { d[at] ^= 0x5A; return d })
		i := whole(ends, at)
		if got := state(s); got != states[i] || s.CutBytes != last-ends[i] {
			t.Fatalf("damaged byte %d: %s (cut %d), want %s", at, got, s.CutBytes, states[i])
		}
		s.Close()
	}
}

func TestUnsyncedWritesAreLostInACrash(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.SetHardState(1, 1)
	s.TruncateAndAppend(1, entries(1, "a"))
	s.Sync()
	s.SetHardState(2, raft.None)
	s.TruncateAndAppend(2, entries(2, "b"))
	s.Close() // a crash: nothing after the last Sync reached the file
	again := open(t, dir)
	defer again.Close()
	if term, vote := again.HardState(); term != 1 || vote != 1 || len(again.Entries()) != 1 {
		t.Fatal(state(again))
	}
}

func TestCompactionRewritesTheLogAndRoundTrips(t *testing.T) {
	dir := t.TempDir()
	s, model := open(t, dir), raft.NewMemoryStorage()
	for _, st := range []raft.Storage{s, model} {
		st.SetHardState(4, 2)
		st.TruncateAndAppend(1, entries(4, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"))
	}
	s.Sync()
	before, _ := os.Stat(filepath.Join(dir, logName))
	snap := raft.Snapshot{LastIncludedIndex: 7, LastIncludedTerm: 4, Data: []byte("7\nc0.3\tv\n")}
	for _, st := range []raft.SnapshotStorage{s, model} {
		st.SaveSnapshot(snap)
		st.TruncateAndAppend(10, entries(5, "k", "l")) // a conflict after it, in one Ready
	}
	s.Sync()
	after, _ := os.Stat(filepath.Join(dir, logName))
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if after.Size() >= before.Size() || len(names) != 2 {
		t.Fatalf("log of %d bytes after %d; files %v", after.Size(), before.Size(), names)
	}
	s.Close()
	again := open(t, dir)
	if state(again) != state(model) {
		t.Fatalf("reopened as %s, want %s", state(again), state(model))
	}
	// A second compaction that covers every entry, then more appends on top.
	again.SaveSnapshot(raft.Snapshot{LastIncludedIndex: 11, LastIncludedTerm: 5, Data: []byte("11\n")})
	again.Sync()
	again.TruncateAndAppend(12, entries(6, "m"))
	again.Sync()
	again.Close()
	last := open(t, dir)
	defer last.Close()
	if want := `hard (4, 2), entries [{6 m v-m false}], snapshot (11, 5, "11\n")`; state(last) != want {
		t.Fatalf("%s, want %s", state(last), want)
	}
}

// The new snapshot is in place, the old log still starts at 1: it is cut on open.
func TestCrashBetweenTheSnapshotAndTheLogRewrite(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.SetHardState(3, raft.None)
	s.TruncateAndAppend(1, entries(3, "a", "b", "c", "d", "e", "f"))
	s.Sync()
	s.Close()
	body := append(le.AppendUint64(le.AppendUint64(nil, 4), 3), "4\n"...)
	os.WriteFile(filepath.Join(dir, snapshotName), frame(nil, body), 0o644)
	os.WriteFile(filepath.Join(dir, "log.tmp"), []byte("half a rewrite"), 0o644)
	again := open(t, dir)
	if fmt.Sprint(again.Entries()) != fmt.Sprint(entries(3, "e", "f")) {
		t.Fatal(state(again))
	}
	if _, err := os.Stat(filepath.Join(dir, "log.tmp")); err == nil {
		t.Fatal("log.tmp left")
	}
	again.TruncateAndAppend(7, entries(3, "g")) // appends after the snapshot
	again.Sync()
	again.Close()
	last := open(t, dir)
	defer last.Close()
	if fmt.Sprint(last.Entries()) != fmt.Sprint(entries(3, "e", "f", "g")) {
		t.Fatal(state(last))
	}
}

func TestDamagedSnapshotOrAGapIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.TruncateAndAppend(1, entries(1, "a", "b", "c"))
	s.SaveSnapshot(raft.Snapshot{LastIncludedIndex: 1, LastIncludedTerm: 1, Data: []byte("1\n")})
	s.Sync()
	s.Close()
	path := filepath.Join(dir, snapshotName)
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 1
	os.WriteFile(path, data, 0o644)
	if _, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a damaged snapshot: %v", err)
	}
	os.Remove(path) // the log now starts at 2 with nothing before it
	if _, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a gap before the log: %v", err)
	}
}

// Random changes, syncs, unsynced crashes and reopenings: a reopened store
// holds what the last Sync made durable.
func TestRandomOperationsMatchMemory(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		dir := t.TempDir()
		s, live := open(t, dir), raft.NewMemoryStorage()
		durable := state(live)
		term, base := 1, 0
		for step := range 300 {
			last := base + len(live.Entries())
			var change func(raft.SnapshotStorage)
			switch roll := rng.Float64(); {
			case roll < 0.45:
				first, cmds := base+1+rng.IntN(last-base+1), []string{}
				for k := range rng.IntN(4) {
					cmds = append(cmds, fmt.Sprintf("c%d.%d", step, k))
				}
				change = func(st raft.SnapshotStorage) { st.TruncateAndAppend(first, entries(term, cmds...)) }
			case roll < 0.6:
				term += rng.IntN(2)
				vote := rng.IntN(4) - 1
				change = func(st raft.SnapshotStorage) { st.SetHardState(term, vote) }
			case roll < 0.7 && last > base:
				index := base + 1 + rng.IntN(last-base)
				snap := raft.Snapshot{LastIncludedIndex: index, LastIncludedTerm: term, Data: fmt.Appendf(nil, "%d\n", index)}
				change, base = func(st raft.SnapshotStorage) { st.SaveSnapshot(snap) }, index
			}
			if change != nil {
				change(s)
				change(live)
			}
			if rng.Float64() < 0.7 {
				s.Sync()
				durable = state(live)
			}
			if rng.Float64() < 0.1 {
				s.Close() // a crash: whatever was not synced is lost
				s = open(t, dir)
				if got := state(s); got != durable {
					t.Fatalf("seed %d, step %d: reopened as %s, want %s", seed, step, got, durable)
				}
				live, base = clone(s)
				term = max(term, func() int { t, _ := s.HardState(); return t }())
			}
		}
		s.Close()
	}
}

// clone is a MemoryStorage that holds what s holds, and its snapshot's index.
func clone(s raft.SnapshotStorage) (*raft.MemoryStorage, int) {
	out, base := raft.NewMemoryStorage(), 0
	if snap := s.Snapshot(); snap != nil {
		out.SaveSnapshot(*snap)
		base = snap.LastIncludedIndex
	}
	out.SetHardState(s.HardState())
	out.TruncateAndAppend(base+1, s.Entries())
	return out, base
}

func TestStoresReportFsyncsAndRemoveTheirDirectory(t *testing.T) {
	parent := t.TempDir()
	stores, err := NewStores(parent)
	if err != nil {
		t.Fatal(err)
	}
	s, err := stores.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	s.SetHardState(1, 0)
	s.Sync()
	s.Close()
	if sum := stores.Summary(); sum.Count < 1 || sum.P50 == nil {
		t.Fatalf("%+v", sum)
	}
	if _, err := os.Stat(filepath.Join(stores.Root, "node-0", logName)); err != nil {
		t.Fatal(err)
	}
	stores.Remove()
	if _, err := os.Stat(stores.Root); err == nil {
		t.Fatal("the trial's directory is left")
	}
}

// testdata/py-node is what py_raft/filestore.py wrote for pySequence
// (tests/test_go_snapshots.py writes it again and compares): Go reads it, and
// writes the same bytes for the same changes.
func pySequence(s *Store) {
	s.SetHardState(1, 0)
	s.TruncateAndAppend(1, []raft.Entry{{Term: 1, Noop: true}, {Term: 1, Cmd: "c0.1", Payload: "xx"}, {Term: 1, Cmd: "c1.1", Payload: "yé"}})
	s.Sync()
	s.SetHardState(2, raft.None)
	s.TruncateAndAppend(3, []raft.Entry{{Term: 2, Cmd: "c1.2", Payload: "zz"}, {Term: 2, Cmd: "c0.2", Payload: "xx"}})
	s.Sync()
	s.SaveSnapshot(raft.Snapshot{LastIncludedIndex: 3, LastIncludedTerm: 2, Data: []byte("3\nc0.1\txx\nc1.2\tzz\n")})
	s.Sync()
	s.TruncateAndAppend(5, []raft.Entry{{Term: 3, Noop: true}})
	s.SetHardState(3, 1)
	s.Sync()
}

func TestPythonFiles(t *testing.T) {
	py, _ := reopen(t, "testdata/py-node", func(d []byte) []byte { return d })
	want := `hard (3, 1), entries [{2 c0.2 xx false} {3   true}], snapshot (3, 2, "3\nc0.1\txx\nc1.2\tzz\n")`
	if got := state(py); got != want || py.CutBytes != 0 {
		t.Fatalf("Python's files read as %s, want %s", got, want)
	}
	py.Close()
	dir := t.TempDir()
	s := open(t, dir)
	pySequence(s)
	s.Close()
	for _, name := range []string{logName, snapshotName} {
		ours, _ := os.ReadFile(filepath.Join(dir, name))
		theirs, _ := os.ReadFile(filepath.Join("testdata/py-node", name))
		if !bytes.Equal(ours, theirs) {
			t.Errorf("%s: Go wrote %x, Python %x", name, ours, theirs)
		}
	}
}
