// Package recorder is what every runtime reports about a trial, in one place,
// ported from py_raft/recorder.py.
//
// Runtimes call it on each role change, apply, client ack and fault. It writes
// the JSON-lines trace (docs/protocol.md), keeps the figures for the result's
// metrics, and checks online the two safety rules that are cheap to check (one
// leader per term; one entry per applied index), so that a result never says
// ok for a run that broke Raft. It is safe for concurrent use.
package recorder

import (
	"bufio"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"raftbench/go_raft/internal/pyjson"
	"raftbench/go_raft/raft"
)

// TMs renders microseconds as milliseconds, as an integer when whole, else as
// the float64 t/1000 printed as Python prints it.
func TMs(tUs int64) string {
	if tUs%1000 == 0 {
		return strconv.FormatInt(tUs/1000, 10)
	}
	return pyjson.FloatRepr(float64(tUs) / 1000)
}

// Percentile is the nearest-rank percentile of sorted values.
func Percentile(sorted []float64, p float64) float64 {
	rank := max(1, int(math.Ceil(p/100*float64(len(sorted)))))
	return sorted[rank-1]
}

type applied struct {
	term int
	cmd  string
	noop bool
}

// Recorder keeps the trace writer and the trial's figures.
type Recorder struct {
	mu       sync.Mutex
	trace    *bufio.Writer
	onLeader func()

	Leader        int // raft.None if none
	LeaderTerm    int
	LeaderUs      int64 // when the current leader took office
	leaderByTerm  map[int]int
	FirstLeaderUs int64 // -1 if none yet
	Elections     int
	MaxTerm       int
	TermChanges   int // term changes after the first leader
	applied       map[int]applied
	Acks          int
	LastAckUs     int64
	LatenciesUs   []int64
	FailoverUs    []int64
	Violation     string
	lineBuf       strings.Builder
	writeErr      error
}

// New returns a recorder writing to trace (nil: no trace). onLeader, if not
// nil, is called, outside the lock, whenever the known leader changes.
func New(trace *bufio.Writer, onLeader func()) *Recorder {
	return &Recorder{
		trace: trace, onLeader: onLeader, Leader: raft.None, FirstLeaderUs: -1,
		leaderByTerm: map[int]int{}, applied: map[int]applied{},
	}
}

// Snapshot returns the known leader and its term under the lock.
func (r *Recorder) Snapshot() (leader, term int, leaderUs int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Leader, r.LeaderTerm, r.LeaderUs
}

// AckCount returns the acks so far and the time of the last one.
func (r *Recorder) AckCount() (int, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Acks, r.LastAckUs
}

func (r *Recorder) emit(t int64, head string, rest func(b *strings.Builder)) {
	if r.trace == nil {
		return
	}
	b := &r.lineBuf
	b.Reset()
	b.WriteString(`{"t_ms":`)
	b.WriteString(TMs(t))
	b.WriteString(head)
	if rest != nil {
		rest(b)
	}
	b.WriteString("}\n")
	if _, err := r.trace.WriteString(b.String()); err != nil && r.writeErr == nil {
		r.writeErr = err
	}
}

// State records that node became role in term.
func (r *Recorder) State(t int64, node int, role raft.Role, term int) {
	changed := false
	r.mu.Lock()
	r.emit(t, fmt.Sprintf(`,"node":%d,"event":"state","state":"%s","term":%d`, node, role, term), nil)
	if term > r.MaxTerm {
		if r.FirstLeaderUs >= 0 {
			r.TermChanges++
		}
		r.MaxTerm = term
	}
	switch {
	case role == raft.Candidate:
		r.Elections++
	case role == raft.Leader:
		other, seen := r.leaderByTerm[term]
		if !seen {
			r.leaderByTerm[term], other = node, node
		}
		if other != node && r.Violation == "" {
			r.Violation = fmt.Sprintf("election safety: nodes %d and %d lead term %d", other, node, term)
		}
		if r.FirstLeaderUs < 0 {
			r.FirstLeaderUs = t
		}
		if term >= r.LeaderTerm {
			r.Leader, r.LeaderTerm, changed = node, term, true
			r.LeaderUs = t
		}
	case node == r.Leader:
		r.Leader, changed = raft.None, true
	}
	r.mu.Unlock()
	if changed && r.onLeader != nil {
		r.onLeader()
	}
}

func cmdRepr(e raft.Entry) string {
	if e.Noop {
		return "None"
	}
	return pyjson.StrRepr(e.Cmd)
}

// Apply records that node applied e at index.
func (r *Recorder) Apply(t int64, node, index int, e raft.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, fmt.Sprintf(`,"node":%d,"event":"apply","index":%d,"term":%d,"cmd":`, node, index, e.Term), func(b *strings.Builder) {
		if e.Noop {
			b.WriteString("null")
		} else {
			pyjson.WriteString(b, e.Cmd)
		}
	})
	now := applied{e.Term, e.Cmd, e.Noop}
	seen, ok := r.applied[index]
	if !ok {
		r.applied[index], seen = now, now
	}
	if seen != now && r.Violation == "" {
		old := raft.Entry{Term: seen.term, Cmd: seen.cmd, Noop: seen.noop}
		r.Violation = fmt.Sprintf("state machine safety: index %d applied as (%d, %s) and (%d, %s)",
			index, seen.term, cmdRepr(old), e.Term, cmdRepr(e))
	}
}

// Ack records that a client was told cmd committed at index.
func (r *Recorder) Ack(t int64, cmd string, index int, latencyUs int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, `,"event":"ack","cmd":`, func(b *strings.Builder) {
		pyjson.WriteString(b, cmd)
		fmt.Fprintf(b, `,"index":%d`, index)
	})
	r.Acks++
	r.LastAckUs = t
	r.LatenciesUs = append(r.LatenciesUs, latencyUs)
}

// Crash records that node crashed.
func (r *Recorder) Crash(t int64, node int) {
	changed := false
	r.mu.Lock()
	r.emit(t, fmt.Sprintf(`,"node":%d,"event":"crash"`, node), nil)
	if node == r.Leader {
		r.Leader, changed = raft.None, true
	}
	r.mu.Unlock()
	if changed && r.onLeader != nil {
		r.onLeader()
	}
}

// Restart records that node restarted.
func (r *Recorder) Restart(t int64, node int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, fmt.Sprintf(`,"node":%d,"event":"restart"`, node), nil)
}

// Partition records a partition into groups.
func (r *Recorder) Partition(t int64, groups [][]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, `,"event":"partition","groups":`+pyjson.Dumps(groups, true), nil)
}

// Heal records the end of a partition.
func (r *Recorder) Heal(t int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, `,"event":"heal"`, nil)
}

// Failover records one failover's duration.
func (r *Recorder) Failover(durationUs int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.FailoverUs = append(r.FailoverUs, durationUs)
}

// Flush writes out the buffered trace and reports any write error.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.trace != nil {
		if err := r.trace.Flush(); err != nil && r.writeErr == nil {
			r.writeErr = err
		}
	}
	return r.writeErr
}

// roundTo is Python's round(x, digits): correctly rounded, half to even.
func roundTo(x float64, digits int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return f
}

// RoundTo is Python's round(x, digits).
func RoundTo(x float64, digits int) float64 { return roundTo(x, digits) }

// AppendClock is what one incarnation of a node remembers to measure its
// heartbeat gaps: the term and handling time of the last AppendEntries it
// handled. Its zero value has handled none.
type AppendClock struct {
	seen bool
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
	gapUs, ok = now-c.at, c.seen && c.term == ae.Term
	c.seen, c.term, c.at = true, ae.Term, now
	return gapUs, ok
}

// gapMetrics is heartbeat_gap_ms: nearest-rank percentiles of the gaps in
// milliseconds, as commit_latency_ms, and their count; nil when there are none.
func gapMetrics(gapsUs []int64) any {
	if len(gapsUs) == 0 {
		return nil
	}
	ms := make([]float64, len(gapsUs))
	for i, x := range gapsUs {
		ms[i] = float64(x) / 1000
	}
	slices.Sort(ms)
	return pyjson.O("p50", Percentile(ms, 50), "p99", Percentile(ms, 99), "max", ms[len(ms)-1],
		"count", len(ms))
}

// Metrics builds the result's metrics object (docs/protocol.md). gapsUs are
// the trial's heartbeat gaps (AppendClock), inboxDropped the peer messages
// dropped at full inboxes.
func (r *Recorder) Metrics(elapsedUs, clientWindowUs int64, sent, dropped int, gapsUs []int64, inboxDropped int) pyjson.Obj {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := make([]float64, len(r.LatenciesUs))
	for i, x := range r.LatenciesUs {
		lat[i] = float64(x) / 1000
	}
	slices.Sort(lat)
	var latency any
	if len(lat) > 0 {
		latency = pyjson.O("p50", Percentile(lat, 50), "p90", Percentile(lat, 90),
			"p99", Percentile(lat, 99), "max", lat[len(lat)-1])
	}
	throughput := 0.0
	if clientWindowUs > 0 {
		throughput = float64(r.Acks) / (float64(clientWindowUs) / 1e6)
	}
	var first any
	if r.FirstLeaderUs >= 0 {
		first = float64(r.FirstLeaderUs) / 1000
	}
	failover := make([]float64, len(r.FailoverUs))
	for i, x := range r.FailoverUs {
		failover[i] = float64(x) / 1000
	}
	return pyjson.O(
		"first_leader_ms", first,
		"failover_ms", failover,
		"term_changes_after_leader", r.TermChanges,
		"committed", r.Acks,
		"throughput_ops_s", roundTo(throughput, 3),
		"commit_latency_ms", latency,
		"elections", r.Elections,
		"max_term", r.MaxTerm,
		"messages_sent", sent,
		"messages_dropped", dropped,
		"elapsed_ms", float64(elapsedUs)/1000,
		"heartbeat_gap_ms", gapMetrics(gapsUs),
		"inbox_dropped", inboxDropped,
	)
}
