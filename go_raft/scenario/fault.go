package scenario

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"

	"raftbench/go_raft/raft"
)

// Fault is one entry of the fault schedule (docs/protocol.md, "Faults").
type Fault struct {
	AtMs   float64     `json:"at_ms"`
	Action string      `json:"action"`           // partition, heal, crash or restart
	Node   *NodeRef    `json:"node,omitempty"`   // crash and restart
	Groups [][]NodeRef `json:"groups,omitempty"` // partition
}

// NodeRef is a node id in a fault, or Leader: the current leader, or in a
// restart the node crashed last.
type NodeRef int

// Leader is "leader" in JSON.
const Leader NodeRef = -2

// MarshalJSON writes Leader as "leader" and an id as a number.
func (r NodeRef) MarshalJSON() ([]byte, error) {
	if r == Leader {
		return []byte(`"leader"`), nil
	}
	return strconv.AppendInt(nil, int64(r), 10), nil
}

// UnmarshalJSON reads "leader" or a node id.
func (r *NodeRef) UnmarshalJSON(b []byte) error {
	var id int
	if string(b) != "null" && json.Unmarshal(b, &id) == nil && id >= 0 {
		*r = NodeRef(id)
		return nil
	}
	if name := ""; json.Unmarshal(b, &name) != nil || name != "leader" {
		return errors.New(`not a node id or "leader"`)
	}
	*r = Leader
	return nil
}

// Op is what a fault does once it is resolved.
type Op int

const (
	Skip      Op = iota // nothing: the node to crash is down, or the one to restart is up
	Wait                // the fault names the leader while none leads: wait for the next
	Crash               // Effect.Node
	Restart             // Effect.Node
	Partition           // into Effect.Groups
	Heal
)

// Effect is a fault resolved against the cluster at the moment it comes due.
type Effect struct {
	Op     Op
	Node   int
	Groups [][]int
}

// Resolve says what f does now, given the known leader (raft.None: none), the
// node crashed last (-1: none) and which nodes are up. It is the one meaning
// of a fault, so that every runtime, the simulator included, reads "leader",
// waits for a leader, and skips a crash of a node that is down (a restart of
// one that is up) alike. A fault that must Wait holds back the ones after
// it, so that a schedule always runs whole and in order.
func (f *Fault) Resolve(leader, lastCrashed int, up func(node int) bool) Effect {
	resolve := func(r NodeRef, leader int) int {
		if r == Leader {
			return leader
		}
		return int(r)
	}
	switch f.Action {
	case "crash":
		if node := resolve(*f.Node, leader); node == raft.None {
			return Effect{Op: Wait}
		} else if up(node) {
			return Effect{Op: Crash, Node: node}
		}
	case "restart":
		if node := resolve(*f.Node, lastCrashed); node >= 0 && !up(node) {
			return Effect{Op: Restart, Node: node}
		}
	case "partition":
		groups := make([][]int, len(f.Groups))
		for i, refs := range f.Groups {
			groups[i] = make([]int, 0, len(refs))
			for _, r := range refs {
				groups[i] = append(groups[i], resolve(r, leader))
			}
			if slices.Contains(groups[i], raft.None) {
				return Effect{Op: Wait}
			}
		}
		return Effect{Op: Partition, Groups: groups}
	case "heal":
		return Effect{Op: Heal}
	}
	return Effect{Op: Skip}
}
