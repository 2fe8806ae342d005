package raft

// Log compaction and InstallSnapshot (section 7, Figure 13); a port of
// tests/test_snapshot_core.py. The shared vectors (snap_*.json) pin each rule;
// these tests add the API's edges, and two seeded randomized runs: compacted
// twins fed an uncompacted cluster's inputs decide as its cores do, and a
// cluster that compacts and installs snapshots for real keeps one state
// machine history and converges once healed. A failure names its seed;
// -snapseed=N runs that seed alone.

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var snapSeed = flag.Uint64("snapseed", 0, "run the randomized snapshot tests with this seed only")

var snapConfig = Config{ElectionTimeoutMinUs: 150_000, ElectionTimeoutMaxUs: 300_000,
	HeartbeatUs: 50_000, MaxBatchEntries: 3}

// persist writes a Ready in the documented order: snapshot, hard state, log.
func persist(s *MemoryStorage, rd Ready) {
	if rd.Snapshot != nil {
		s.SaveSnapshot(*rd.Snapshot)
	}
	if rd.HardState != nil {
		s.SetHardState(rd.HardState.Term, rd.HardState.VotedFor)
	}
	if rd.LogFrom != 0 {
		s.TruncateAndAppend(rd.LogFrom, rd.Entries)
	}
}

// machine is a host's state machine: the command applied at each index ("-": a no-op).
type machine struct{ applied []string }

func (m *machine) apply(rd Ready) error {
	if rd.Restore != nil {
		m.applied = nil
		if len(rd.Restore.Data) > 0 {
			m.applied = strings.Split(string(rd.Restore.Data), ",")
		}
		if len(m.applied) != rd.Restore.LastIncludedIndex {
			return fmt.Errorf("restored %d commands at index %d", len(m.applied), rd.Restore.LastIncludedIndex)
		}
	}
	for _, a := range rd.Committed {
		if a.Index != len(m.applied)+1 {
			return fmt.Errorf("applied %d after %d", a.Index, len(m.applied))
		}
		cmd := a.Entry.Cmd
		if a.Entry.Noop {
			cmd = "-"
		}
		m.applied = append(m.applied, cmd)
	}
	return nil
}

func (m *machine) image() []byte { return []byte(strings.Join(m.applied, ",")) }

// ---- the API -----------------------------------------------------------------

// single is a one-node cluster that has elected itself and committed its no-op.
func single(t *testing.T, every int) (*Raft, *MemoryStorage, *machine) {
	t.Helper()
	s, sm := NewMemoryStorage(), &machine{}
	cfg := snapConfig
	cfg.SnapshotEntries = every
	r := New(0, []int{0}, s, cfg, NewSplitMix64(1), 0)
	r.Tick(r.NextDeadline())
	rd := r.Ready()
	persist(s, rd)
	if err := sm.apply(rd); err != nil {
		t.Fatal(err)
	}
	return r, s, sm
}

func TestSnapshotAboveLastAppliedIsTheHostsMistake(t *testing.T) {
	r, _, _ := single(t, 2)
	if _, _, err := r.Propose("a", "", 0); err != nil {
		t.Fatal(err)
	}
	err := r.Snapshot(2, []byte("-,a"))
	if !errors.Is(err, ErrSnapshotAhead) || r.LastIncludedIndex != 0 {
		t.Fatalf("got %v, LastIncludedIndex %d", err, r.LastIncludedIndex)
	}
}

func TestSnapshotDueAndCompactionKeepsTheTail(t *testing.T) {
	r, s, sm := single(t, 2)
	if _, _, err := r.Propose("a", "", 0); err != nil {
		t.Fatal(err)
	}
	rd := r.Ready()
	persist(s, rd)
	if err := sm.apply(rd); err != nil || rd.SnapshotDue != 2 {
		t.Fatalf("SnapshotDue %d, %v", rd.SnapshotDue, err)
	}
	if _, _, err := r.Propose("b", "", 0); err != nil { // appended, not handed over yet
		t.Fatal(err)
	}
	if err := r.Snapshot(2, sm.image()); err != nil {
		t.Fatal(err)
	}
	rd = r.Ready()
	want := Snapshot{LastIncludedIndex: 2, LastIncludedTerm: 1, Data: []byte("-,a")}
	if !reflect.DeepEqual(rd.Snapshot, &want) || len(rd.Committed) != 1 || rd.Committed[0].Index != 3 {
		t.Fatalf("Ready %+v", rd)
	}
	persist(s, rd)
	tail := []Entry{{Term: 1, Cmd: "b"}}
	if !reflect.DeepEqual(s.Snapshot(), &want) || !reflect.DeepEqual(s.Entries(), tail) ||
		!reflect.DeepEqual(r.Log, tail) || r.TermAt(2) != 1 || r.LastIndex() != 3 {
		t.Fatalf("storage %+v %v, log %v", s.Snapshot(), s.Entries(), r.Log)
	}
	if err := r.Snapshot(1, nil); err != nil || r.HasReady() || r.LastIncludedIndex != 2 {
		t.Fatalf("a stale snapshot: %v, HasReady %v", err, r.HasReady())
	}
}

// plainStorage is a Storage written before snapshots: no snapshot methods.
type plainStorage struct{}

func (plainStorage) HardState() (int, int)          { return 1, None }
func (plainStorage) Entries() []Entry               { return []Entry{{Term: 1, Cmd: "a"}} }
func (plainStorage) SetHardState(int, int)          {}
func (plainStorage) TruncateAndAppend(int, []Entry) {}

func TestAStorageWithoutSnapshotsStillDrivesTheCore(t *testing.T) {
	r := New(1, []int{0, 1, 2}, plainStorage{}, snapConfig, NewSplitMix64(1), 0)
	if r.LastIncludedIndex != 0 || r.LastIndex() != 1 || r.CommitIndex != 0 || r.HasReady() {
		t.Fatalf("core %+v", r)
	}
}

func TestRestartFromASnapshotHasAReadyToRestore(t *testing.T) {
	s := NewMemoryStorage()
	s.SetHardState(2, None)
	snap := Snapshot{LastIncludedIndex: 4, LastIncludedTerm: 2, Data: []byte("w,x,y,z")}
	s.SaveSnapshot(snap)
	s.TruncateAndAppend(5, []Entry{{Term: 2, Cmd: "e"}})
	r := New(1, []int{0, 1, 2}, s, snapConfig, NewSplitMix64(1), 0)
	if !r.HasReady() {
		t.Fatal("no Ready to restore from")
	}
	rd := r.Ready()
	if !reflect.DeepEqual(rd.Restore, &snap) || rd.Snapshot != nil || r.HasReady() {
		t.Fatalf("Ready %+v", rd)
	}
	if r.CommitIndex != 4 || r.LastApplied != 4 || r.LastIndex() != 5 {
		t.Fatalf("commit %d, applied %d, last %d", r.CommitIndex, r.LastApplied, r.LastIndex())
	}
}

func TestMemoryStorageSavesASnapshotPastItsLog(t *testing.T) {
	s := NewMemoryStorage()
	s.TruncateAndAppend(1, []Entry{{Term: 1, Cmd: "a"}, {Term: 1, Cmd: "b"}})
	s.SaveSnapshot(Snapshot{LastIncludedIndex: 5, LastIncludedTerm: 2})
	if len(s.Entries()) != 0 {
		t.Fatalf("entries %v", s.Entries())
	}
	s.TruncateAndAppend(6, []Entry{{Term: 2, Cmd: "f"}})
	for name, f := range map[string]func(){
		"truncate inside the snapshot": func() { s.TruncateAndAppend(5, nil) },
		"an older snapshot":            func() { s.SaveSnapshot(Snapshot{LastIncludedIndex: 5, LastIncludedTerm: 2}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	if !reflect.DeepEqual(s.Entries(), []Entry{{Term: 2, Cmd: "f"}}) {
		t.Fatalf("entries %v", s.Entries())
	}
}

// ---- random schedules --------------------------------------------------------

// cluster is what a schedule drives: nodes that are up or down, one input at a time.
type cluster interface {
	up(n int) bool
	core(n int) *Raft // the core whose messages are delivered
	boot(n int)
	crash(n int)
	input(n int, fn func(*Raft) any)
	deliver(n int, msg Message)
}

// schedule drives a cluster at random: it delivers messages mostly in order
// (some reordered, lost or duplicated), fires the earliest deadline, has
// leaders propose, and crashes and restarts nodes. Without faults it delivers
// every message in order before any deadline fires.
type schedule struct {
	t       *testing.T
	seed    uint64
	rng     *rand.Rand
	members []int
	now     int64
	bag     []Envelope
	faults  bool
	c       cluster
}

func newSchedule(t *testing.T, seed uint64, size int) *schedule {
	members := make([]int, size)
	for i := range members {
		members[i] = i
	}
	return &schedule{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x5a9)), members: members, faults: true}
}

func (s *schedule) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d (-snapseed=%d), now %d: %s", s.seed, s.seed, s.now, fmt.Sprintf(format, args...))
}

func (s *schedule) step() {
	var up []int
	for _, n := range s.members {
		if s.c.up(n) {
			up = append(up, n)
		}
	}
	x := s.rng.Float64()
	switch {
	case len(s.bag) > 0 && (x < 0.8 || !s.faults):
		i := 0
		if s.faults {
			i = s.rng.IntN(min(3, len(s.bag)))
		}
		env := s.bag[i]
		s.bag = slices.Delete(s.bag, i, i+1)
		if s.faults && s.rng.Float64() < 0.05 {
			return // lost
		}
		if s.faults && s.rng.Float64() < 0.05 {
			s.bag = slices.Insert(s.bag, s.rng.IntN(len(s.bag)+1), env) // duplicated
		}
		if s.c.up(env.To) {
			s.now += s.rng.Int64N(1000)
			s.c.deliver(env.To, env.Msg)
		}
	case x < 0.9 || !s.faults:
		n := up[0]
		for _, m := range up[1:] {
			if s.c.core(m).NextDeadline() < s.c.core(n).NextDeadline() {
				n = m
			}
		}
		s.now = max(s.now, s.c.core(n).NextDeadline())
		s.c.input(n, func(r *Raft) any { r.Tick(s.now); return nil })
	case x < 0.98:
		for _, n := range up {
			if s.c.core(n).Role == Leader {
				cmd := fmt.Sprintf("c%d", s.rng.IntN(1_000_000))
				s.c.input(n, func(r *Raft) any {
					index, term, err := r.Propose(cmd, "", s.now)
					return fmt.Sprint(index, term, err)
				})
			}
		}
	case x < 0.99 && len(up) > len(s.members)/2+1:
		s.c.crash(up[s.rng.IntN(len(up))])
	default:
		var down []int
		for _, n := range s.members {
			if !s.c.up(n) {
				down = append(down, n)
			}
		}
		if len(down) > 0 {
			s.c.boot(down[s.rng.IntN(len(down))])
		}
	}
}

func (s *schedule) run(steps int) {
	for range steps {
		s.step()
	}
}

func deliverStep(c cluster, n int, msg Message, now *int64) {
	c.input(n, func(r *Raft) any { r.Step(msg, *now); return nil })
}

// seeds gives the seeds of a randomized test: 1..count, or -snapseed alone.
func seeds(count uint64) []uint64 {
	if *snapSeed != 0 {
		return []uint64{*snapSeed}
	}
	out := make([]uint64, count)
	for i := range out {
		out[i] = uint64(i) + 1
	}
	return out
}

// ---- a compacted core decides as an uncompacted one --------------------------

type progressOf = map[int]Progress

func progressValues(r *Raft) progressOf {
	out := progressOf{}
	for p, pr := range r.progress {
		out[p] = *pr
	}
	return out
}

// twin is one node twice: index 0 never compacts, index 1 compacts when asked.
type twin struct {
	stores      [2]*MemoryStorage
	cores       *[2]*Raft // nil while down
	machines    [2]*machine
	incarnation int
}

// twinCluster runs a random schedule on uncompacted cores (twin 0): theirs are
// the messages delivered. Each node's compacted twin takes the same inputs;
// compare checks that it decides the same, up to what compaction must change.
type twinCluster struct {
	*schedule
	configs [2]Config
	twins   []*twin
	seen    map[string]int
}

func newTwinCluster(t *testing.T, seed uint64, size, every int) *twinCluster {
	c := &twinCluster{schedule: newSchedule(t, seed, size), seen: map[string]int{}}
	c.configs = [2]Config{snapConfig, snapConfig}
	c.configs[1].SnapshotEntries = every
	c.c = c
	for range c.members {
		c.twins = append(c.twins, &twin{stores: [2]*MemoryStorage{NewMemoryStorage(), NewMemoryStorage()}})
	}
	for _, n := range c.members {
		c.boot(n)
	}
	return c
}

func (c *twinCluster) up(n int) bool                   { return c.twins[n].cores != nil }
func (c *twinCluster) core(n int) *Raft                { return c.twins[n].cores[0] }
func (c *twinCluster) crash(n int)                     { c.twins[n].cores = nil }
func (c *twinCluster) input(n int, fn func(*Raft) any) { c.inputBoot(n, fn, false) }

func (c *twinCluster) boot(n int) {
	tw := c.twins[n]
	tw.incarnation++
	seed := DeriveSeed(c.seed, uint64(1000*n+tw.incarnation))
	tw.cores = &[2]*Raft{}
	for k := range 2 {
		tw.cores[k] = New(n, c.members, tw.stores[k], c.configs[k], NewSplitMix64(seed), c.now)
		tw.machines[k] = &machine{}
	}
	c.inputBoot(n, func(*Raft) any { return nil }, true)
}

func (c *twinCluster) deliver(n int, msg Message) {
	if ae, ok := msg.(*AppendEntries); ok && ae.PrevLogIndex < c.twins[n].cores[1].LastIncludedIndex {
		c.seen["below snapshot"]++
	}
	deliverStep(c, n, msg, &c.now)
}

func (c *twinCluster) inputBoot(n int, fn func(*Raft) any, boot bool) {
	tw := c.twins[n]
	a, b := tw.cores[0], tw.cores[1]
	before := [2]progressOf{progressValues(a), progressValues(b)}
	base := b.LastIncludedIndex
	if oa, ob := fn(a), fn(b); oa != ob {
		c.fatalf("node %d: outcomes %v and %v", n, oa, ob)
	}
	ra, rb := a.Ready(), b.Ready()
	for k, rd := range []Ready{ra, rb} {
		persist(tw.stores[k], rd)
		if err := tw.machines[k].apply(rd); err != nil {
			c.fatalf("node %d twin %d: %v", n, k, err)
		}
	}
	// Only a restart restores, from what the compacted twin persisted.
	var wantRestore *Snapshot
	if boot {
		wantRestore = tw.stores[1].Snapshot()
	}
	if !reflect.DeepEqual(rb.Restore, wantRestore) {
		c.fatalf("node %d: restore %+v, want %+v", n, rb.Restore, wantRestore)
	}
	rb.Restore = nil
	c.compare(a, b, ra, rb, before, base)
	c.bag = append(c.bag, ra.Messages...)
	if rb.SnapshotDue != 0 {
		if err := b.Snapshot(rb.SnapshotDue, tw.machines[1].image()); err != nil {
			c.fatalf("node %d: %v", n, err)
		}
		rs := b.Ready()
		if rs.Snapshot == nil || len(rs.Messages) > 0 || len(rs.Committed) > 0 || rs.LogFrom != 0 {
			c.fatalf("node %d: the Ready after a snapshot: %+v", n, rs)
		}
		persist(tw.stores[1], rs)
		c.seen["compactions"]++
	}
	if a.LastApplied == b.LastApplied && !slices.Equal(tw.machines[0].applied, tw.machines[1].applied) {
		c.fatalf("node %d: state machines %v and %v", n, tw.machines[0].applied, tw.machines[1].applied)
	}
}

func (c *twinCluster) compare(a, b *Raft, ra, rb Ready, before [2]progressOf, base int) {
	n := a.ID
	if a.Role != b.Role || a.CurrentTerm != b.CurrentTerm || a.VotedFor != b.VotedFor ||
		a.LeaderID != b.LeaderID || a.LastIndex() != b.LastIndex() || a.NextDeadline() != b.NextDeadline() {
		c.fatalf("node %d: states differ: %+v / %+v", n, a, b)
	}
	// A restarted uncompacted core relearns its commit index from 0.
	if b.CommitIndex != max(a.CommitIndex, base) || b.LastApplied != max(a.LastApplied, base) {
		c.fatalf("node %d: commit %d/%d, applied %d/%d, base %d", n, a.CommitIndex, b.CommitIndex,
			a.LastApplied, b.LastApplied, base)
	}
	for i := base; i <= b.LastIndex(); i++ {
		if a.TermAt(i) != b.TermAt(i) {
			c.fatalf("node %d: term at %d: %d / %d", n, i, a.TermAt(i), b.TermAt(i))
		}
	}
	if !reflect.DeepEqual(ra.HardState, rb.HardState) || !reflect.DeepEqual(ra.Transitions, rb.Transitions) ||
		ra.LogFrom != rb.LogFrom || !reflect.DeepEqual(ra.Entries, rb.Entries) || rb.Snapshot != nil {
		c.fatalf("node %d: Readies differ: %+v / %+v", n, ra, rb)
	}
	var above []Applied
	for _, x := range ra.Committed {
		if x.Index > base {
			above = append(above, x)
		}
	}
	if !reflect.DeepEqual(above, rb.Committed) {
		c.fatalf("node %d: committed %v / %v", n, ra.Committed, rb.Committed)
	}
	for _, peer := range c.members {
		pa, inA := before[0][peer]
		if inA && pa != before[1][peer] {
			c.seen["diverged"]++ // judged by the progress rule below only
			continue
		}
		var ma, mb []Message
		for _, e := range ra.Messages {
			if e.To == peer {
				ma = append(ma, e.Msg)
			}
		}
		for _, e := range rb.Messages {
			if e.To == peer {
				mb = append(mb, e.Msg)
			}
		}
		if len(ma) != len(mb) {
			c.fatalf("node %d to %d: messages %v / %v", n, peer, ma, mb)
		}
		for i := range ma {
			c.sameDecision(ma[i], mb[i], b, base)
		}
	}
	if a.Role == Leader {
		for peer, pr := range a.progress {
			// Only a follower the uncompacted leader backs up into the
			// compacted one's snapshot may be handled differently.
			if *pr != *b.progress[peer] && pr.NextIndex > base {
				c.fatalf("node %d: progress of %d: %+v / %+v, base %d", n, peer, *pr, *b.progress[peer], base)
			}
		}
	}
}

func (c *twinCluster) sameDecision(x, y Message, b *Raft, base int) {
	ok := false
	switch x := x.(type) {
	case *AppendEntries:
		if is, isIS := y.(*InstallSnapshot); isIS {
			ok = x.PrevLogIndex < base && is.LastIncludedIndex == b.LastIncludedIndex && is.Term == x.Term
			c.seen["installs"]++
		} else {
			want := *x
			want.LeaderCommit = max(x.LeaderCommit, base)
			ok = reflect.DeepEqual(&want, y)
		}
	case *AppendEntriesReply:
		want := *x
		if x.ConflictTerm != 0 {
			// The hint stops at the snapshot (vector snap_conflict_hint_stops_at_snapshot).
			want.ConflictIndex = max(x.ConflictIndex, base+1)
		}
		ok = reflect.DeepEqual(&want, y)
	default:
		ok = reflect.DeepEqual(x, y)
	}
	if !ok {
		c.fatalf("node %d: %T %+v decided as %T %+v", b.ID, x, x, y, y)
	}
}

func TestCompactedTwinsDecideAsUncompactedCores(t *testing.T) {
	seen := map[string]int{}
	for _, seed := range seeds(120) {
		size, every := 3+2*int(seed%2), 1+int(seed%6)
		c := newTwinCluster(t, seed, size, every)
		c.run(600)
		for k, v := range c.seen {
			seen[k] += v
		}
	}
	if *snapSeed == 0 && (seen["compactions"] < 100 || seen["below snapshot"] == 0 || seen["installs"] == 0) {
		t.Fatalf("the runs missed what they compare: %v", seen)
	}
	t.Logf("seen: %v", seen)
}

// ---- a cluster that compacts and installs for real ---------------------------

// snapCluster delivers what compacting cores send, InstallSnapshot included.
// Every state machine must agree with one history (history[i] is the command
// at index i + 1, as the first node to apply it applied it), and once the
// faults stop every node must converge to the leader's.
type snapCluster struct {
	*schedule
	config       Config
	stores       []*MemoryStorage
	cores        []*Raft
	machines     []*machine
	incarnations []int
	history      []string
	installed    int
}

func newSnapCluster(t *testing.T, seed uint64, size, every int) *snapCluster {
	c := &snapCluster{schedule: newSchedule(t, seed, size), config: snapConfig}
	c.config.SnapshotEntries = every
	c.c = c
	for range c.members {
		c.stores = append(c.stores, NewMemoryStorage())
		c.machines = append(c.machines, &machine{})
	}
	c.cores, c.incarnations = make([]*Raft, size), make([]int, size)
	for _, n := range c.members {
		c.boot(n)
	}
	return c
}

func (c *snapCluster) up(n int) bool              { return c.cores[n] != nil }
func (c *snapCluster) core(n int) *Raft           { return c.cores[n] }
func (c *snapCluster) crash(n int)                { c.cores[n] = nil }
func (c *snapCluster) deliver(n int, msg Message) { deliverStep(c, n, msg, &c.now) }
func (c *snapCluster) boot(n int) {
	c.incarnations[n]++
	seed := DeriveSeed(c.seed, uint64(1000*n+c.incarnations[n]))
	c.cores[n] = New(n, c.members, c.stores[n], c.config, NewSplitMix64(seed), c.now)
	c.machines[n] = &machine{}
	c.input(n, func(*Raft) any { return nil })
}

func (c *snapCluster) input(n int, fn func(*Raft) any) {
	core, sm := c.cores[n], c.machines[n]
	fn(core)
	rd := core.Ready()
	persist(c.stores[n], rd)
	c.bag = append(c.bag, rd.Messages...)
	if err := sm.apply(rd); err != nil {
		c.fatalf("node %d: %v", n, err)
	}
	if rd.Restore != nil && len(rd.Messages) > 0 {
		c.installed++ // not a restart: an InstallSnapshot, answered
	}
	if len(sm.applied) > len(c.history) {
		c.history = append(c.history, sm.applied[len(c.history):]...)
	}
	if !slices.Equal(sm.applied, c.history[:len(sm.applied)]) {
		c.fatalf("node %d applied %v, history %v", n, sm.applied, c.history)
	}
	if rd.SnapshotDue != 0 {
		if err := core.Snapshot(rd.SnapshotDue, sm.image()); err != nil {
			c.fatalf("node %d: %v", n, err)
		}
		persist(c.stores[n], core.Ready())
	}
}

func (c *snapCluster) converged() bool {
	var leader *Raft
	for _, r := range c.cores {
		if r.Role == Leader {
			if leader != nil {
				return false
			}
			leader = r
		}
	}
	if leader == nil || leader.CommitIndex != leader.LastIndex() {
		return false
	}
	for _, r := range c.cores {
		if r.CommitIndex != leader.LastIndex() || r.LastApplied != r.CommitIndex {
			return false
		}
	}
	return true
}

// heal restarts every crashed node, stops the faults and runs until converged.
func (c *snapCluster) heal(limit int) {
	for _, n := range c.members {
		if !c.up(n) {
			c.boot(n)
		}
	}
	c.faults = false
	for range limit {
		if c.converged() {
			return
		}
		c.step()
	}
	c.fatalf("no convergence in %d steps", limit)
}

func TestCompactingClusterKeepsOneHistoryAndConverges(t *testing.T) {
	installed := 0
	for _, seed := range seeds(80) {
		size, every := 3+2*int(seed%2), 1+int(seed%6)
		c := newSnapCluster(t, seed, size, every)
		c.run(600)
		c.heal(5000)
		for _, sm := range c.machines {
			if !slices.Equal(sm.applied, c.machines[0].applied) {
				c.fatalf("state machines differ: %v / %v", sm.applied, c.machines[0].applied)
			}
		}
		installed += c.installed
	}
	if *snapSeed == 0 && installed == 0 {
		t.Fatal("no run installed a snapshot")
	}
	t.Logf("installed: %d", installed)
}
