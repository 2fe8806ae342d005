// Package scenario is the input of one trial (docs/protocol.md, "Scenario")
// and what every runtime derives from it, the same way in each: the core's
// configuration, the seeded random streams, and what a fault means when it
// comes due (fault.go). Parse (parse.go) reads the JSON.
package scenario

import (
	"encoding/json"
	"errors"

	"raftbench/go_raft/network"
	"raftbench/go_raft/raft"
)

// MaxNodes is the largest cluster a scenario may ask for.
const MaxNodes = 100_000

// Scenario is one trial's input with every default filled in. Its JSON
// encoding, fields in this order, is the result's "scenario".
type Scenario struct {
	Kind              string  `json:"kind"` // election, failover or replication
	Nodes             int     `json:"nodes"`
	Seed              int64   `json:"seed"`
	ElectionTimeoutMs Span    `json:"election_timeout_ms"`
	HeartbeatMs       float64 `json:"heartbeat_ms"`
	Network           Network `json:"network"`
	ObserveMs         float64 `json:"observe_ms"`
	Failovers         int     `json:"failovers"`
	SettleMs          float64 `json:"settle_ms"`
	Clients           int     `json:"clients"`
	// Commands, if not nil, ends a replication trial at that many acks
	// instead of after DurationMs.
	Commands        *int    `json:"commands"`
	DurationMs      float64 `json:"duration_ms"`
	PayloadBytes    int     `json:"payload_bytes"`
	MaxBatchEntries int     `json:"max_batch_entries"`
	ClientRetryMs   float64 `json:"client_retry_ms"`
	ClientTimeoutMs float64 `json:"client_timeout_ms"`
	Faults          []Fault `json:"faults"` // by AtMs; equal times keep their listed order
	TimeoutMs       float64 `json:"timeout_ms"`
	// FirstElectionTimeoutMs is the range of each core's first election
	// timeout; nil draws it from ElectionTimeoutMs like the others.
	FirstElectionTimeoutMs *Span `json:"first_election_timeout_ms"`
	// InboxCapacity bounds a node's inbox of peer messages in the real-time
	// runtimes; 0 is automatic (InboxLimit).
	InboxCapacity int `json:"inbox_capacity"`
	// MemoryLimitMb ends a real-time trial whose resident set passes it; 0: none.
	MemoryLimitMb float64 `json:"memory_limit_mb"`
	// The fields added after the result's first version: the echo leaves each
	// out at its default (omitzero asks their IsZero), so that the echo of a
	// scenario that leaves them alone is what it was, and still input that an
	// older driver accepts.
	SnapshotEntries SnapshotEntries `json:"snapshot_entries,omitzero"`
	Storage         Storage         `json:"storage,omitzero"`
	StorageDir      string          `json:"storage_dir,omitzero"` // "" (null): the temporary directory
	// Transport "tcp" runs every node as its own process (docs/deploy.md):
	// only the launcher runs it, and the driver refuses it. NodeImpls names
	// each node's server there (nil: the launcher's choice).
	Transport Transport `json:"transport,omitzero"`
	NodeImpls []string  `json:"node_impls,omitempty"`
}

// Span is [min, max] in milliseconds.
type Span [2]float64

// UnmarshalJSON reads exactly two numbers, where encoding/json would read
// [1, 2, 3] into a [2]float64 as well.
func (s *Span) UnmarshalJSON(b []byte) error {
	var pair []float64
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return errors.New("not a pair of numbers")
	}
	*s = Span(pair)
	return nil
}

// Transport is "inproc" or "tcp".
type Transport string

// IsZero tells whether t is the default, which the echo leaves out.
func (t Transport) IsZero() bool { return t == "inproc" }

// NodeImpls are the node servers a tcp scenario's node_impls may name.
var NodeImpls = []string{"go", "py-asyncio", "py-threads"}

// SnapshotEntries is how many entries a node applies past its last snapshot
// before it compacts its log (section 7); 0: never. The default, 10,000,
// keeps a saturated run's memory flat (docs/protocol.md) while a follower
// that lags by less still catches up by AppendEntries.
type SnapshotEntries int

// IsZero tells whether n is the default, which the echo leaves out.
func (n SnapshotEntries) IsZero() bool { return n == 10_000 }

// Storage is where nodes persist: "memory", or "file" (package filestore,
// fsynced before anything is sent).
type Storage string

// IsZero tells whether s is the default, which the echo leaves out.
func (s Storage) IsZero() bool { return s == "memory" }

// Network is the network model's parameters.
type Network struct {
	LatencyMs float64 `json:"latency_ms"`
	JitterMs  float64 `json:"jitter_ms"`
	DropRate  float64 `json:"drop_rate"`
}

// Default is the scenario of an empty JSON object.
func Default() Scenario {
	return Scenario{
		Kind: "election", Nodes: 5, Seed: 1, ElectionTimeoutMs: [2]float64{150, 300},
		HeartbeatMs: 50, Network: Network{1, 1, 0}, ObserveMs: 500, Failovers: 10, SettleMs: 300,
		Clients: 8, DurationMs: 1000, PayloadBytes: 16, MaxBatchEntries: 64,
		ClientRetryMs: 10, ClientTimeoutMs: 1000, Faults: []Fault{}, TimeoutMs: 60_000,
		MemoryLimitMb: 3072, SnapshotEntries: 10_000, Storage: "memory", Transport: "inproc",
	}
}

// Us converts milliseconds to whole microseconds, rounding half up, as Python's
// int(ms * 1000 + 0.5). The float64 conversion forbids a fused multiply-add,
// which would round differently from Python.
func Us(ms float64) int64 {
	return int64(float64(ms*1000) + 0.5)
}

// InboxLimit is InboxCapacity, or automatically max(1024, 2 * nodes): room
// for two full rounds of replies from every peer.
func (s *Scenario) InboxLimit() int {
	if s.InboxCapacity > 0 {
		return s.InboxCapacity
	}
	return max(1024, 2*s.Nodes)
}

// Config is the configuration of every core of the trial, restarted ones too.
func (s *Scenario) Config() raft.Config {
	cfg := raft.Config{
		ElectionTimeoutMinUs: Us(s.ElectionTimeoutMs[0]), ElectionTimeoutMaxUs: Us(s.ElectionTimeoutMs[1]),
		HeartbeatUs: Us(s.HeartbeatMs), MaxBatchEntries: s.MaxBatchEntries,
		SnapshotEntries: int(s.SnapshotEntries),
	}
	if first := s.FirstElectionTimeoutMs; first != nil {
		cfg.FirstElectionTimeoutMinUs, cfg.FirstElectionTimeoutMaxUs = Us(first[0]), Us(first[1])
	}
	return cfg
}

// The seed's streams (raft.DeriveSeed), one per consumer, so that draws added
// to one never shift another's: the controller's own choices, the network
// model, and from firstNodeStream on one per node, derived again per
// incarnation, so that a restarted core draws afresh.
const (
	controlStream = iota
	networkStream
	firstNodeStream
)

// ControlRng draws the scenario's own choices, such as when to crash a leader.
func (s *Scenario) ControlRng() *raft.SplitMix64 {
	return raft.NewSplitMix64(raft.DeriveSeed(uint64(s.Seed), controlStream))
}

// NetworkModel is the trial's network model, healed.
func (s *Scenario) NetworkModel() *network.Network {
	rng := raft.NewSplitMix64(raft.DeriveSeed(uint64(s.Seed), networkStream))
	return network.New(Us(s.Network.LatencyMs), Us(s.Network.JitterMs), s.Network.DropRate, rng)
}

// NodeRng is the random source of one incarnation of one node's core.
func (s *Scenario) NodeRng(node, incarnation int) *raft.SplitMix64 {
	stream := raft.DeriveSeed(uint64(s.Seed), uint64(firstNodeStream+node))
	return raft.NewSplitMix64(raft.DeriveSeed(stream, uint64(incarnation)))
}
