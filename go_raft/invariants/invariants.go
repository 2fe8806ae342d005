// Package invariants checks the safety properties of Figure 3, fed by the
// simulator after every event; ported from py_raft/invariants.py.
//
// Each check is incremental, fed by what the event changed, so that a check
// after every event stays cheap enough for 100,000 randomized runs.
package invariants

import (
	"fmt"
	"hash/fnv"
	"strconv"

	"raftbench/go_raft/raft"
)

// SafetyViolation is a broken Figure 3 property; the simulator stops on it.
type SafetyViolation struct{ Msg string }

func (e *SafetyViolation) Error() string { return e.Msg }

type indexTerm struct{ index, term int }

// Invariants holds what the checks have seen so far.
type Invariants struct {
	leaderByTerm map[int]int
	// Log Matching, via a hash chain: equal (index, term) must mean equal prefixes.
	chains    map[int][]uint64
	chainAt   map[indexTerm]uint64
	committed map[int]raft.Entry
	order     []int // committed's indexes in first-applied order, as a Python dict keeps them
}

// New returns checks that have seen nothing.
func New() *Invariants {
	return &Invariants{
		leaderByTerm: map[int]int{}, chains: map[int][]uint64{},
		chainAt: map[indexTerm]uint64{}, committed: map[int]raft.Entry{},
	}
}

func link(h uint64, e raft.Entry) uint64 {
	f := fnv.New64a()
	var buf []byte
	buf = strconv.AppendUint(buf, h, 16)
	buf = append(buf, 0)
	buf = strconv.AppendInt(buf, int64(e.Term), 10)
	buf = append(buf, 0)
	if e.Noop {
		buf = append(buf, 1)
	} else {
		buf = append(buf, 2)
		buf = append(buf, e.Cmd...)
	}
	buf = append(buf, 0)
	buf = append(buf, e.Payload...)
	f.Write(buf)
	return f.Sum64()
}

// OnLog checks Log Matching for entries logFrom.. of node's persisted log.
func (v *Invariants) OnLog(node, logFrom int, log []raft.Entry) error {
	chain := v.chains[node]
	chain = chain[:min(len(chain), logFrom-1)]
	var h uint64
	if len(chain) > 0 {
		h = chain[len(chain)-1]
	}
	for index := logFrom; index <= len(log); index++ {
		e := log[index-1]
		h = link(h, e)
		chain = append(chain, h)
		key := indexTerm{index, e.Term}
		seen, ok := v.chainAt[key]
		if !ok {
			v.chainAt[key], seen = h, h
		}
		if seen != h {
			v.chains[node] = chain
			return &SafetyViolation{fmt.Sprintf(
				"log matching: node %d index %d term %d has another prefix", node, index, e.Term)}
		}
	}
	v.chains[node] = chain
	return nil
}

// OnRestart starts node's chain again from its persisted log.
func (v *Invariants) OnRestart(node int, log []raft.Entry) error {
	delete(v.chains, node)
	if len(log) > 0 {
		return v.OnLog(node, 1, log)
	}
	return nil
}

// OnLeader checks Election Safety and Leader Completeness (5.4).
func (v *Invariants) OnLeader(node, term int, log []raft.Entry) error {
	other, ok := v.leaderByTerm[term]
	if !ok {
		v.leaderByTerm[term], other = node, node
	}
	if other != node {
		return &SafetyViolation{fmt.Sprintf("election safety: nodes %d and %d lead term %d", other, node, term)}
	}
	for _, index := range v.order {
		if index > len(log) || log[index-1] != v.committed[index] {
			return &SafetyViolation{fmt.Sprintf(
				"leader completeness: leader %d of term %d lacks index %d", node, term, index)}
		}
	}
	return nil
}

// OnApply checks State Machine Safety: one entry per index, on every node.
func (v *Invariants) OnApply(node, index int, e raft.Entry) error {
	seen, ok := v.committed[index]
	if !ok {
		v.committed[index], seen = e, e
		v.order = append(v.order, index)
	}
	if seen != e {
		return &SafetyViolation{fmt.Sprintf(
			"state machine safety: node %d applied %v at %d, others %v", node, e, index, seen)}
	}
	return nil
}
