// Package kv is the replicated state machine: a command "c<client>.<seq>"
// sets key "c<client>" to the entry's payload.
package kv

import (
	"fmt"
	"strings"

	"raftbench/go_raft/raft"
)

// KeyValue is one node's copy of the state machine.
type KeyValue struct {
	Data      map[string]string
	LastIndex int
}

// New returns an empty state machine.
func New() *KeyValue { return &KeyValue{Data: map[string]string{}} }

// Apply applies the entry at index. Invariant: entries come in index order.
func (k *KeyValue) Apply(index int, e raft.Entry) {
	if index != k.LastIndex+1 {
		panic(fmt.Sprintf("kv: applied %d after %d", index, k.LastIndex))
	}
	k.LastIndex = index
	if !e.Noop {
		key, _, _ := strings.Cut(e.Cmd, ".")
		k.Data[key] = e.Payload
	}
}
