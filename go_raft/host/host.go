// Package host is the layer every runtime, the simulator included, shares
// above the core: a Host carries out each Ready of its core (persist, send,
// apply, answer the clients); a Cluster keeps what outlives a node's
// incarnations and the meaning of a fault; a Script is the scenario's
// controller. A runtime adds only how it waits and delivers.
package host

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"raftbench/go_raft/client"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
)

// Hooks are what a runtime adds to a Host. Send, which must not block, is
// required; the simulator's Figure 3 checks and controller use the others.
type Hooks struct {
	Send      func(from int, msgs []raft.Envelope)      // once persisted
	Persisted func(node, logFrom int, log []raft.Entry) // entries from logFrom on
	Leader    func(node, term int, log []raft.Entry)    // after the trace
	Applied   func(node, index int, e raft.Entry)       // before the state machine
}

// Request is a client's command on its way into a host. Answer hears, once
// and on the host's goroutine, what became of it: client.OK, client.Lost
// (another entry took its index, or the node crashed), or client.Redirect
// with the leader hint (raft.None: none).
type Request struct {
	Cmd    string
	SentUs int64 // when the host took it
	Answer func(o client.Outcome, hint int)
}

// Host is one incarnation of a node. It is not safe for concurrent use:
// one goroutine owns it, as it owns the core.
type Host struct {
	ID      int
	Core    *raft.Raft
	storage raft.Storage
	rec     *recorder.Recorder // nil: nothing recorded (a host outside a trial)
	hooks   Hooks
	pending map[int]*Request // by the index each command was proposed at
	// KV is the replicated state machine: command "c<client>.<seq>" sets
	// key "c<client>" to the entry's payload. Applied is its last index.
	KV      map[string]string
	Applied int
	clock   recorder.AppendClock
	gapsUs  []int64 // heartbeat gaps (recorder.AppendClock)
}

// New hosts core, built over storage; rec may be nil.
func New(core *raft.Raft, storage raft.Storage, rec *recorder.Recorder, hooks Hooks) *Host {
	return &Host{ID: core.ID, Core: core, storage: storage, rec: rec, hooks: hooks,
		pending: map[int]*Request{}, KV: map[string]string{}}
}

// Step hands the core a peer's message at trial time now.
func (h *Host) Step(msg raft.Message, now int64) {
	if gap, ok := h.clock.Handle(msg, now); ok && h.rec != nil {
		h.gapsUs = append(h.gapsUs, gap)
	}
	h.Core.Step(msg, now)
	h.Flush(now)
}

// Tick lets the core's timers fire.
func (h *Host) Tick(now int64) {
	h.Core.Tick(now)
	h.Flush(now)
}

// Propose hands the core a client's command; r is answered when an entry at
// its index applies, or at once Redirect. The caller flushes.
func (h *Host) Propose(r *Request, payload string, now int64) (index int, ok bool) {
	index, _, err := h.Core.Propose(r.Cmd, payload, now)
	if err != nil {
		r.Answer(client.Redirect, client.Hint(err))
		return 0, false
	}
	r.SentUs = now
	h.pending[index] = r
	return index, true
}

// Cancel forgets r, proposed at index, if it still waits there.
func (h *Host) Cancel(index int, r *Request) {
	if h.pending[index] == r {
		delete(h.pending, index)
	}
}

// Flush carries out the core's Ready, if it has one.
func (h *Host) Flush(now int64) {
	if !h.Core.HasReady() {
		return
	}
	r := h.Core.Ready()
	if r.HardState != nil {
		h.storage.SetHardState(r.HardState.Term, r.HardState.VotedFor)
	}
	if r.LogFrom != 0 {
		h.storage.TruncateAndAppend(r.LogFrom, r.Entries)
		if h.hooks.Persisted != nil {
			h.hooks.Persisted(h.ID, r.LogFrom, h.Core.Log)
		}
	}
	for _, tr := range r.Transitions {
		if h.rec != nil {
			h.rec.State(now, h.ID, tr.Role, tr.Term)
		}
		if tr.Role == raft.Leader && h.hooks.Leader != nil {
			h.hooks.Leader(h.ID, tr.Term, h.Core.Log)
		}
	}
	if len(r.Messages) > 0 {
		h.hooks.Send(h.ID, r.Messages)
	}
	for _, a := range r.Committed {
		h.apply(a.Index, a.Entry, now)
	}
}

func (h *Host) apply(index int, e raft.Entry, now int64) {
	if h.rec != nil {
		h.rec.Apply(now, h.ID, index, e)
	}
	if h.hooks.Applied != nil {
		h.hooks.Applied(h.ID, index, e)
	}
	if index != h.Applied+1 {
		panic(fmt.Sprintf("host: node %d applied %d after %d", h.ID, index, h.Applied))
	}
	h.Applied = index
	if !e.Noop {
		key, _, _ := strings.Cut(e.Cmd, ".")
		h.KV[key] = e.Payload
	}
	r, ok := h.pending[index]
	if !ok {
		return
	}
	delete(h.pending, index)
	if e.Noop || e.Cmd != r.Cmd {
		r.Answer(client.Lost, raft.None)
		return
	}
	if h.rec != nil {
		h.rec.Ack(now, r.Cmd, index, now-r.SentUs)
	}
	r.Answer(client.OK, raft.None)
}

// Retire ends the incarnation, once nothing runs it: the waiting clients
// hear in index order that their commands are lost, and the recorder gets
// its heartbeat gaps.
func (h *Host) Retire() {
	pending := h.pending
	h.pending = map[int]*Request{}
	for _, index := range slices.Sorted(maps.Keys(pending)) {
		pending[index].Answer(client.Lost, raft.None)
	}
	if h.rec != nil {
		h.rec.Gaps(h.gapsUs)
	}
	h.gapsUs = nil
}
