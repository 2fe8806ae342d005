// Package recorder is what every runtime reports about a trial, in one place.
//
// Runtimes call it on each role change, apply, client ack and fault. It writes
// the JSON-lines trace (docs/protocol.md, "Trace"), keeps the figures for the
// result's metrics, and checks online the two safety rules that are cheap to
// check (one leader per term; one entry per applied index), so that a result
// never says ok for a run that broke Raft. It is safe for concurrent use.
package recorder

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"sync"

	"raftbench/go_raft/raft"
)

// Recorder keeps the trace writer and the trial's figures. The simulator,
// which has one goroutine, reads Acks, FirstLeaderUs and GapsUs directly; a
// real-time runtime calls KnownLeader and AckCount.
type Recorder struct {
	mu       sync.Mutex
	trace    *bufio.Writer // nil: no trace
	onLeader func()
	// traceOnly: write the trace, keep no figures and make no checks
	// (NewTrace); onState hears each role change.
	traceOnly bool
	onState   func(t int64, role raft.Role, term int)

	leader        int // raft.None if none
	leaderTerm    int
	leaderUs      int64 // when the current leader took office
	leaderByTerm  map[int]int
	FirstLeaderUs int64 // -1 if none yet
	elections     int
	maxTerm       int
	termChanges   int // term changes after the first leader
	applied       map[int]applied
	digests       map[int]string // a state machine image's digest, by index
	floors        SnapshotFloors
	Acks          int
	lastAckUs     int64
	latenciesUs   Series
	failoverMs    []float64 // never nil: the result's [] when none
	GapsUs        Series    // heartbeat gaps of ended incarnations (AppendClock)
	violation     string
}

// New returns a recorder of a cluster of nodes nodes, writing to trace (nil:
// no trace). onLeader, if not nil, is called, outside the lock, whenever the
// known leader changes.
func New(trace *bufio.Writer, onLeader func(), nodes int) *Recorder {
	return &Recorder{trace: trace, onLeader: onLeader, leader: raft.None, FirstLeaderUs: -1,
		leaderByTerm: map[int]int{}, applied: map[int]applied{}, digests: map[int]string{},
		floors: NewSnapshotFloors(nodes), failoverMs: []float64{}}
}

// NewTrace returns a recorder that writes trace and keeps nothing else: a
// node server's (docs/deploy.md), which runs for as long as it is left to, so
// that figures and checks kept per index would grow without bound; the
// launcher judges the merged traces instead. onState hears each role change,
// outside the lock.
func NewTrace(trace *bufio.Writer, onState func(t int64, role raft.Role, term int)) *Recorder {
	return &Recorder{trace: trace, traceOnly: true, onState: onState, leader: raft.None, FirstLeaderUs: -1}
}

// KeepsFigures tells whether r keeps the trial's figures; false for nil.
func (r *Recorder) KeepsFigures() bool { return r != nil && !r.traceOnly }

// KnownLeader returns the known leader, its term and when it took office.
func (r *Recorder) KnownLeader() (leader, term int, leaderUs int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leader, r.leaderTerm, r.leaderUs
}

// AckCount returns the acks so far and the time of the last one.
func (r *Recorder) AckCount() (int, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Acks, r.lastAckUs
}

// Violated is the first safety violation seen, or "".
func (r *Recorder) Violated() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.violation
}

// fail keeps the first violation.
func (r *Recorder) fail(format string, args ...any) {
	if r.violation == "" {
		r.violation = fmt.Sprintf(format, args...)
	}
}

// emit writes one trace line, its keys in the documented order with compact
// separators, so that both simulators' traces are byte-identical. t_ms is the
// shortest decimal that reads back as t/1000, as Python prints it (and no
// ".0" when whole). A write error stays in the bufio.Writer for Flush.
func (r *Recorder) emit(t int64, format string, args ...any) {
	if r.trace != nil {
		tMs := strconv.FormatFloat(ms(t), 'f', -1, 64)
		fmt.Fprintf(r.trace, `{"t_ms":`+tMs+format+"}\n", args...)
	}
}

// record takes the lock to write one trace line and nothing else.
func (r *Recorder) record(t int64, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, format, args...)
}

// unlock releases r and then, if the known leader changed, tells onLeader.
func (r *Recorder) unlock(leaderChanged bool) {
	r.mu.Unlock()
	if leaderChanged && r.onLeader != nil {
		r.onLeader()
	}
}

// State records that node became role in term.
func (r *Recorder) State(t int64, node int, role raft.Role, term int) {
	r.mu.Lock()
	r.emit(t, `,"node":%d,"event":"state","state":"%s","term":%d`, node, role, term)
	if r.traceOnly {
		r.mu.Unlock()
		r.onState(t, role, term)
		return
	}
	if term > r.maxTerm {
		if r.FirstLeaderUs >= 0 {
			r.termChanges++
		}
		r.maxTerm = term
	}
	changed := false
	switch {
	case role == raft.Candidate:
		r.elections++
	case role == raft.Leader:
		if other := FirstSeen(r.leaderByTerm, term, node); other != node {
			r.fail("election safety: nodes %d and %d lead term %d", other, node, term)
		}
		if r.FirstLeaderUs < 0 {
			r.FirstLeaderUs = t
		}
		if term >= r.leaderTerm {
			r.leader, r.leaderTerm, r.leaderUs, changed = node, term, t, true
		}
	case node == r.leader:
		r.leader, changed = raft.None, true
	}
	r.unlock(changed)
}

// applied is what the state machine safety check compares: (term, cmd).
type applied struct {
	term int
	cmd  string
	noop bool
}

// String is Python's repr of (term, cmd), for the violation message both
// drivers give alike; commands are "c<id>.<seq>".
func (a applied) String() string {
	if a.noop {
		return fmt.Sprintf("(%d, None)", a.term)
	}
	return fmt.Sprintf("(%d, '%s')", a.term, a.cmd)
}

// Apply records that node applied e at index.
func (r *Recorder) Apply(t int64, node, index int, e raft.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.trace != nil { // boxing emit's arguments allocates: only for a trace
		cmd := []byte("null")
		if !e.Noop {
			cmd, _ = json.Marshal(e.Cmd)
		}
		r.emit(t, `,"node":%d,"event":"apply","index":%d,"term":%d,"cmd":%s`, node, index, e.Term, cmd)
	}
	if r.traceOnly {
		return
	}
	now := applied{e.Term, e.Cmd, e.Noop}
	if seen := FirstSeen(r.applied, index, now); seen != now {
		r.fail("state machine safety: index %d applied as %s and %s", index, seen, now)
	}
}

// Snapshot records that node's state machine, at index, became its snapshot
// (a compaction); digest names the image.
func (r *Recorder) Snapshot(t int64, node, index int, digest string) {
	r.image("snapshot", t, node, index, digest)
}

// Install records that node's state machine was reset from a snapshot at index.
func (r *Recorder) Install(t int64, node, index int, digest string) {
	r.image("install", t, node, index, digest)
}

func (r *Recorder) image(event string, t int64, node, index int, digest string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, `,"node":%d,"event":"%s","index":%d,"digest":"%s"`, node, event, index, digest)
	if r.traceOnly {
		return
	}
	if seen := FirstSeen(r.digests, index, digest); seen != digest {
		r.fail("state machine safety: the images at index %d differ (%s and %s)", index, seen, digest)
	}
	if low := r.floors.Low; r.floors.Rise(node, index) {
		// What the checks kept for indices no node can reach again goes.
		for i := low + 1; i <= r.floors.Low; i++ {
			delete(r.applied, i)
		}
		maps.DeleteFunc(r.digests, func(i int, _ string) bool { return i <= r.floors.Low })
	}
}

// Ack records that a client was told cmd committed at index.
func (r *Recorder) Ack(t int64, cmd string, index int, latencyUs int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.trace != nil { // as in Apply
		text, _ := json.Marshal(cmd)
		r.emit(t, `,"event":"ack","cmd":%s,"index":%d`, text, index)
	}
	if !r.traceOnly {
		r.Acks++
		r.lastAckUs = t
		r.latenciesUs.Add(latencyUs)
	}
}

// Crash records that node crashed.
func (r *Recorder) Crash(t int64, node int) {
	r.mu.Lock()
	r.emit(t, `,"node":%d,"event":"crash"`, node)
	changed := node == r.leader
	if changed {
		r.leader = raft.None
	}
	r.unlock(changed)
}

// Restart records that node restarted.
func (r *Recorder) Restart(t int64, node int) { r.record(t, `,"node":%d,"event":"restart"`, node) }

// Partition records a partition into groups.
func (r *Recorder) Partition(t int64, groups [][]int) {
	text, _ := json.Marshal(groups)
	r.record(t, `,"event":"partition","groups":%s`, text)
}

// Heal records the end of a partition.
func (r *Recorder) Heal(t int64) { r.record(t, `,"event":"heal"`) }

// Failover records one failover's duration.
func (r *Recorder) Failover(durationUs int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failoverMs = append(r.failoverMs, ms(durationUs))
}

// Gaps moves the heartbeat gaps of an incarnation that ended into GapsUs.
func (r *Recorder) Gaps(gapsUs *Series) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.GapsUs.chunks = append(r.GapsUs.chunks, gapsUs.chunks...)
	gapsUs.chunks = nil
}

// Flush writes out the buffered trace; its error is the trace's first.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.trace == nil {
		return nil
	}
	return r.trace.Flush()
}

// AppendClock is what one incarnation of a node remembers to measure its
// heartbeat gaps: the term and handling time of the last AppendEntries it
// handled. Its zero value has handled none (every AppendEntries has a term of
// at least 1).
type AppendClock struct {
	term int
	at   int64
}

// Handle notes that the node handles msg at now (microseconds). It returns a
// gap when msg is an AppendEntries of the same term as the previous
// AppendEntries this incarnation handled: the time between the two.
func (c *AppendClock) Handle(msg raft.Message, now int64) (gapUs int64, ok bool) {
	ae, isAE := msg.(*raft.AppendEntries)
	if !isAE {
		return 0, false
	}
	gapUs, ok = now-c.at, c.term == ae.Term
	*c = AppendClock{ae.Term, now}
	return gapUs, ok
}
