// Package host is the layer every runtime, the simulator included, shares
// above the core: a Host carries out each Ready of its core (persist, send,
// apply, answer the clients); a Cluster keeps what outlives a node's
// incarnations, the meaning of a fault and the scenario's controller
// (Cluster.Script). A runtime adds only how it waits and delivers.
package host

import (
	"maps"
	"slices"

	"raftbench/go_raft/client"
	"raftbench/go_raft/invariants"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
)

// Hooks are what a runtime adds to a Host. Send, which must not block, is
// required; the simulator's controller uses Leader and its Figure 3 checks
// Check.
type Hooks struct {
	Send    func(from int, msgs []raft.Envelope) // once persisted
	Leader  func(node, term int)                 // after the trace and the checks
	Applied func(node, index int, e raft.Entry)  // before the state machine
	Check   *invariants.Invariants               // nil: no checks
}

// Request is a client's command on its way into a host. Answer hears, once
// and on the host's goroutine, what became of it: client.OK, client.Lost
// (another entry took its index, the node crashed, or a snapshot covered
// it), or client.Redirect with the leader hint (raft.None: none).
type Request struct {
	Cmd    string
	SentUs int64 // when the host took it
	Index  int   // where the host proposed it, once it has
	Answer func(o client.Outcome, hint int)
}

// Host is one incarnation of a node. It is not safe for concurrent use:
// one goroutine owns it, as it owns the core.
type Host struct {
	ID      int
	Core    *raft.Raft
	storage raft.Storage
	sync    func()             // file storage's: make the writes durable; nil for memory
	rec     *recorder.Recorder // nil: nothing recorded (a host outside a trial)
	hooks   Hooks
	pending map[int]*Request // by the index each command was proposed at
	KV      KeyValue         // the replicated state machine
	clock   recorder.AppendClock
	gapsUs  recorder.Series // heartbeat gaps (recorder.AppendClock)
}

// New hosts core, built over storage at trial time now; rec may be nil. A
// core whose storage holds a snapshot restores the state machine from it at
// once, in its first Ready.
func New(core *raft.Raft, storage raft.Storage, rec *recorder.Recorder, hooks Hooks, now int64) *Host {
	h := &Host{ID: core.ID, Core: core, storage: storage, rec: rec, hooks: hooks,
		pending: map[int]*Request{}, KV: KeyValue{Data: map[string]Value{}}}
	if s, ok := storage.(interface{ Sync() }); ok {
		h.sync = s.Sync
	}
	if c := hooks.Check; c != nil {
		c.OnRestart(h.ID, core.Log, core.LastIncludedIndex, core.LastIncludedTerm)
	}
	h.Flush(now)
	return h
}

// Step hands the core a peer's message at trial time now.
func (h *Host) Step(msg raft.Message, now int64) {
	if gap, ok := h.clock.Handle(msg, now); ok && h.rec.KeepsFigures() {
		h.gapsUs.Add(gap)
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
	r.SentUs, r.Index = now, index
	h.pending[index] = r
	return index, true
}

// Cancel forgets r, proposed at index, if it still waits there.
func (h *Host) Cancel(index int, r *Request) {
	if h.pending[index] == r {
		delete(h.pending, index)
	}
}

// Flush carries out the core's Ready, if it has one, in the order
// raft.Ready documents: persist, send, apply. Snapshots (section 7) add three
// steps, each one test of an empty field per Ready when they are off: persist
// Snapshot before anything else, reset the state machine from Restore before
// applying Committed, and hand the core the state machine's image when
// SnapshotDue asks.
func (h *Host) Flush(now int64) {
	if !h.Core.HasReady() {
		return
	}
	r, core, check := h.Core.Ready(), h.Core, h.hooks.Check
	if snap := r.Snapshot; snap != nil {
		h.storage.(raft.SnapshotStorage).SaveSnapshot(*snap)
		if check != nil {
			check.OnSnapshot(h.ID, snap.LastIncludedIndex, snap.LastIncludedTerm, core.Log)
		}
	}
	if r.HardState != nil {
		h.storage.SetHardState(r.HardState.Term, r.HardState.VotedFor)
	}
	if r.LogFrom != 0 {
		h.storage.TruncateAndAppend(r.LogFrom, r.Entries)
		if check != nil {
			check.OnLog(h.ID, r.LogFrom, core.Log, core.LastIncludedIndex)
		}
	}
	if h.sync != nil {
		h.sync() // durable before anything is sent
	}
	for _, tr := range r.Transitions {
		if h.rec != nil {
			h.rec.State(now, h.ID, tr.Role, tr.Term)
		}
		if tr.Role == raft.Leader {
			if check != nil {
				check.OnLeader(h.ID, tr.Term, core.Log, core.LastIncludedIndex, core.LastIncludedTerm)
			}
			if h.hooks.Leader != nil {
				h.hooks.Leader(h.ID, tr.Term)
			}
		}
	}
	if len(r.Messages) > 0 {
		h.hooks.Send(h.ID, r.Messages)
	}
	if r.Restore != nil {
		h.restore(r.Restore, now)
	}
	for _, a := range r.Committed {
		h.apply(a.Index, a.Entry, now)
	}
	if r.SnapshotDue != 0 {
		h.compact(r.SnapshotDue, now)
	}
}

func (h *Host) apply(index int, e raft.Entry, now int64) {
	if h.rec != nil {
		h.rec.Apply(now, h.ID, index, e)
	}
	if h.hooks.Check != nil {
		h.hooks.Check.OnApply(h.ID, index, e)
	}
	if h.hooks.Applied != nil {
		h.hooks.Applied(h.ID, index, e)
	}
	h.KV.Apply(index, e)
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

// restore resets the state machine from a snapshot (Ready.Restore). A client
// waiting on an index the snapshot covers hears that its command is lost:
// this node will never apply that index itself.
func (h *Host) restore(snap *raft.Snapshot, now int64) {
	index := snap.LastIncludedIndex
	h.KV.Restore(snap.Data, index)
	digest := Digest(snap.Data)
	if h.rec != nil {
		h.rec.Install(now, h.ID, index, digest)
	}
	if h.hooks.Check != nil {
		h.hooks.Check.OnInstall(h.ID, index, digest, Digest(h.KV.Image()))
	}
	h.lose(func(i int) bool { return i <= index })
}

// compact hands the core the state machine's image at index, then persists
// it: the Ready that follows carries the snapshot.
func (h *Host) compact(index int, now int64) {
	data := h.KV.Image()
	if err := h.Core.Snapshot(index, data); err != nil {
		panic(err) // the state machine is at index: the core asked for it
	}
	digest := Digest(data)
	if h.rec != nil {
		h.rec.Snapshot(now, h.ID, index, digest)
	}
	if h.hooks.Check != nil {
		h.hooks.Check.OnImage(h.ID, index, digest)
	}
	h.Flush(now)
}

// lose tells the clients waiting on the indexes that match, in index order,
// that their commands are lost.
func (h *Host) lose(match func(index int) bool) {
	for _, index := range slices.Sorted(maps.Keys(h.pending)) {
		if match(index) {
			r := h.pending[index]
			delete(h.pending, index)
			r.Answer(client.Lost, raft.None)
		}
	}
}

// Retire ends the incarnation, once nothing runs it: the waiting clients
// hear in index order that their commands are lost, the storage lets go of
// its files, if it has any, and the recorder gets its heartbeat gaps.
func (h *Host) Retire() {
	h.lose(func(int) bool { return true })
	if c, ok := h.storage.(interface{ Close() error }); ok {
		_ = c.Close() // writes not synced are lost, as in a crash
	}
	if h.rec != nil {
		h.rec.Gaps(&h.gapsUs)
	}
}
