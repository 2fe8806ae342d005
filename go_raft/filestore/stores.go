package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"raftbench/go_raft/recorder"
)

// Stores is the file storage of one trial's nodes, in a fresh directory
// raftbench-* that Remove deletes; each node keeps node-<id>/ in it.
type Stores struct {
	Root    string
	mu      sync.Mutex // the nodes' goroutines report their fsyncs together
	fsyncNs []int64
}

// NewStores makes the trial's directory in parent ("": the system's
// temporary directory).
func NewStores(parent string) (*Stores, error) {
	root, err := os.MkdirTemp(parent, "raftbench-")
	return &Stores{Root: root}, err
}

// Open opens node's storage afresh, as a (re)started node reads it.
func (s *Stores) Open(node int) (*Store, error) {
	return Open(filepath.Join(s.Root, fmt.Sprintf("node-%d", node)), s.record)
}

func (s *Stores) record(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fsyncNs = append(s.fsyncNs, d.Nanoseconds())
}

// Summary is the result's runtime.fsync_us (docs/protocol.md, "Result").
type Summary struct {
	Count int      `json:"count"`
	P50   *float64 `json:"p50"`
	P99   *float64 `json:"p99"`
	Max   *float64 `json:"max"`
}

// Summary is every fsync so far: the count and nearest-rank p50, p99 and
// max, in microseconds to 3 decimals (nil when there was none).
func (s *Stores) Summary() *Summary {
	s.mu.Lock()
	us := make([]float64, len(s.fsyncNs))
	for i, ns := range s.fsyncNs {
		us[i] = recorder.RoundTo(float64(ns)/1000, 3)
	}
	s.mu.Unlock()
	slices.Sort(us)
	sum := &Summary{Count: len(us)}
	if len(us) > 0 {
		p50, p99 := recorder.Percentile(us, 50), recorder.Percentile(us, 99)
		sum.P50, sum.P99, sum.Max = &p50, &p99, &us[len(us)-1]
	}
	return sum
}

// Remove deletes the trial's directory.
func (s *Stores) Remove() { _ = os.RemoveAll(s.Root) }
