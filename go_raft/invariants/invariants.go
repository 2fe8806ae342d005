// Package invariants checks the safety properties of Figure 3, fed by the
// simulator's hosts after every change; ported from py_raft/invariants.py.
//
// Each check is incremental, fed by what the event changed, so that a check
// after every event stays cheap enough for 100,000 randomized runs. The first
// broken property is kept in Violation; the simulator stops on it.
//
// With log compaction (section 7) a node's log starts after its snapshot:
// log[0] is index base + 1, where base is the core's LastIncludedIndex. The
// snapshot stands for the committed prefix up to base, so
//
//   - Log Matching hashes each node's log as a chain that starts from the
//     chain value of its snapshot's (index, term), the one any log that held
//     that entry had there;
//   - Leader Completeness asks a leader for the committed entries after its
//     snapshot, and that its snapshot's term be the committed entry's at base;
//   - State Machine Safety also compares state machine images: every image at
//     one index (a node's compaction, an installed snapshot) has one digest,
//     and a node that restores an image holds exactly that image afterwards.
package invariants

import (
	"fmt"
	"hash/maphash"
	"maps"

	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
)

type indexTerm struct{ index, term int }

// chain: hashes[k] is the chain value at index base + k (0 at index 0).
type chain struct {
	base   int
	hashes []uint64
}

// Invariants holds what the checks have seen so far.
type Invariants struct {
	Violation    error // the first broken property
	leaderByTerm map[int]int
	// Log Matching, via a hash chain: equal (index, term) must mean equal prefixes.
	chains  map[int]*chain
	chainAt map[indexTerm]uint64
	// committed[i] is the entry applied at index floors.Low + 1 + i: every
	// index is first applied after the one below it, so they are contiguous.
	committed []raft.Entry
	digests   map[int]string
	floors    recorder.SnapshotFloors
}

// New returns checks of a cluster of nodes nodes that have seen nothing.
func New(nodes int) *Invariants {
	return &Invariants{
		leaderByTerm: map[int]int{}, chains: map[int]*chain{},
		chainAt: map[indexTerm]uint64{}, digests: map[int]string{},
		floors: recorder.NewSnapshotFloors(nodes),
	}
}

func (v *Invariants) fail(format string, args ...any) {
	if v.Violation == nil {
		v.Violation = fmt.Errorf(format, args...)
	}
}

// seed keys the chain's hash. Chain values never leave this process, so a
// seed of its own does: only their equality within one run matters.
var seed = maphash.MakeSeed()

// link is the chain value at entry e after the chain value h.
func link(h uint64, e raft.Entry) uint64 {
	return maphash.Comparable(seed, struct {
		h uint64
		e raft.Entry
	}{h, e})
}

// OnLog checks Log Matching for entries logFrom.. of node's persisted log,
// which starts after base.
func (v *Invariants) OnLog(node, logFrom int, log []raft.Entry, base int) {
	c := v.chains[node]
	if c == nil {
		c = &chain{hashes: []uint64{0}}
		v.chains[node] = c
	}
	if c.base != base {
		panic(fmt.Sprintf("invariants: node %d's chain starts at %d, its log at %d", node, c.base, base))
	}
	c.hashes = c.hashes[:logFrom-base]
	h := c.hashes[len(c.hashes)-1]
	for index := logFrom; index <= base+len(log); index++ {
		e := log[index-base-1]
		h = link(h, e)
		c.hashes = append(c.hashes, h)
		if recorder.FirstSeen(v.chainAt, indexTerm{index, e.Term}, h) != h {
			v.fail("log matching: node %d index %d term %d has another prefix", node, index, e.Term)
			return
		}
	}
}

// OnRestart starts node's chain again from its persisted log, after its
// snapshot at (base, baseTerm) if it has one. The chain starts from the
// value at the snapshot's last entry, the one every log that held it had.
func (v *Invariants) OnRestart(node int, log []raft.Entry, base, baseTerm int) {
	anchor, ok := v.chainAt[indexTerm{base, baseTerm}]
	if !ok && base > 0 {
		v.fail("log matching: node %d holds a snapshot at index %d term %d, an entry no log ever held",
			node, base, baseTerm)
	}
	v.chains[node] = &chain{base, []uint64{anchor}}
	v.OnLog(node, base+1, log, base)
}

// OnSnapshot: node persisted a snapshot at (index, term); log is what follows
// it. Its chain starts there, as after a restart.
func (v *Invariants) OnSnapshot(node, index, term int, log []raft.Entry) {
	v.OnRestart(node, log, index, term)
}

// OnLeader checks Election Safety and Leader Completeness (5.4) for node's
// log, which starts after its snapshot at (base, baseTerm).
func (v *Invariants) OnLeader(node, term int, log []raft.Entry, base, baseTerm int) {
	if other := recorder.FirstSeen(v.leaderByTerm, term, node); other != node {
		v.fail("election safety: nodes %d and %d lead term %d", other, node, term)
		return
	}
	for i, entry := range v.committed {
		index := v.floors.Low + 1 + i
		var holds bool
		switch {
		case index < base:
			continue // in the snapshot, whose image OnImage checks
		case index == base:
			holds = baseTerm == entry.Term
		default:
			holds = index <= base+len(log) && log[index-base-1] == entry
		}
		if !holds {
			v.fail("leader completeness: leader %d of term %d lacks index %d", node, term, index)
			return
		}
	}
}

// OnApply checks State Machine Safety: one entry per index, on every node.
func (v *Invariants) OnApply(node, index int, e raft.Entry) {
	i := index - v.floors.Low - 1
	if i == len(v.committed) {
		v.committed = append(v.committed, e)
	} else if i >= 0 && i < len(v.committed) && v.committed[i] != e {
		v.fail("state machine safety: node %d applied %v at %d, others %v", node, e, index, v.committed[i])
	}
}

// OnImage: node's state machine at index has the image digest (it compacted
// or installed).
func (v *Invariants) OnImage(node, index int, digest string) {
	if seen := recorder.FirstSeen(v.digests, index, digest); seen != digest {
		v.fail("state machine safety: node %d has image %s at index %d, others %s", node, digest, index, seen)
	}
	if low := v.floors.Low; v.floors.Rise(node, index) {
		v.forget(low, v.floors.Low)
	}
}

// OnInstall: node restored the image named digest and now holds the one
// named restored.
func (v *Invariants) OnInstall(node, index int, digest, restored string) {
	if restored != digest {
		v.fail("state machine safety: node %d restored image %s at index %d as %s", node, digest, index, restored)
	}
	v.OnImage(node, index, digest)
}

// forget drops what no node can meet again: indices below every snapshot.
// The chain values at each node's own snapshot index stay (a restart
// anchors there).
func (v *Invariants) forget(oldLow, low int) {
	v.committed = append([]raft.Entry(nil), v.committed[min(low-oldLow, len(v.committed)):]...)
	maps.DeleteFunc(v.digests, func(i int, _ string) bool { return i <= low })
	maps.DeleteFunc(v.chainAt, func(k indexTerm, _ uint64) bool { return k.index < low })
}
