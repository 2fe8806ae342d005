package recorder

import "slices"

// SnapshotFloors holds each node's snapshot index and the lowest of them
// (Low). A node never applies an index at or below its own snapshot's again
// (a restart restores from it; an InstallSnapshot only moves forward), and
// never snapshots or installs there again, so whatever a check keeps per
// index is needed only above Low: the rest can go, and a long run's checks
// stay as small as its logs.
type SnapshotFloors struct {
	at    []int
	Low   int
	atLow int // how many nodes are at Low
}

// NewSnapshotFloors tracks nodes nodes, none with a snapshot.
func NewSnapshotFloors(nodes int) SnapshotFloors {
	return SnapshotFloors{at: make([]int, nodes), atLow: nodes}
}

// Rise records node's snapshot at index; true if Low rose.
func (f *SnapshotFloors) Rise(node, index int) bool {
	old := f.at[node]
	if index <= old {
		return false
	}
	f.at[node] = index
	if old != f.Low {
		return false
	}
	if f.atLow--; f.atLow > 0 {
		return false
	}
	f.Low = slices.Min(f.at) // once per round of snapshots, not per node
	for _, at := range f.at {
		if at == f.Low {
			f.atLow++
		}
	}
	return true
}
