// What the online checks (here and in package invariants) share.

package recorder

import "slices"

// FirstSeen returns what m holds at k, first storing v there if m holds
// nothing: the checks' "the first value seen for k is the only one allowed".
func FirstSeen[K comparable, V any](m map[K]V, k K, v V) V {
	if seen, ok := m[k]; ok {
		return seen
	}
	m[k] = v
	return v
}

// SnapshotFloors holds each node's snapshot index and the lowest of them
// (Low). A node never applies an index at or below its own snapshot's again
// (a restart restores from it; an InstallSnapshot only moves forward), and
// never snapshots or installs there again, so whatever a check keeps per
// index is needed only above Low: the rest can go, and a long run's checks
// stay as small as its logs.
type SnapshotFloors struct {
	at  []int
	Low int
}

// NewSnapshotFloors tracks nodes nodes, none with a snapshot.
func NewSnapshotFloors(nodes int) SnapshotFloors {
	return SnapshotFloors{at: make([]int, nodes)}
}

// Rise records node's snapshot at index; true if Low rose.
func (f *SnapshotFloors) Rise(node, index int) bool {
	if index <= f.at[node] {
		return false
	}
	f.at[node] = index
	low := f.Low
	f.Low = slices.Min(f.at) // a handful of nodes, once per snapshot
	return f.Low > low
}
