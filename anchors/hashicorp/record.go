package main

// The recorder: what the trial reports, kept as the project's drivers keep it
// (py_raft/recorder.py): the JSON-lines trace, the figures of the result's
// metrics, and the two safety rules cheap to check online (one leader per
// term; one command per applied index).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
)

const noLeader = -1

type recorder struct {
	mu       sync.Mutex
	trace    *bufio.Writer
	onLeader func()

	leader        int
	leaderTerm    int
	leaderByTerm  map[int]int
	firstLeaderUs int64 // -1: none yet
	elections     int
	maxTerm       int
	termChanges   int // term rises after the first leader
	applied       map[int]applied
	acks          int
	lastAckUs     int64
	latenciesUs   []int64
	failoverUs    []int64
	violation     string
}

type applied struct {
	term int
	cmd  string
}

func newRecorder(trace *bufio.Writer, onLeader func()) *recorder {
	return &recorder{trace: trace, onLeader: onLeader, leader: noLeader, firstLeaderUs: -1,
		leaderByTerm: map[int]int{}, applied: map[int]applied{}}
}

// tMs renders microseconds as milliseconds, an integer when whole.
func tMs(t int64) string {
	if t%1000 == 0 {
		return strconv.FormatInt(t/1000, 10)
	}
	return strconv.FormatFloat(float64(t)/1000, 'f', -1, 64)
}

// emit writes one trace line: t_ms first, then the pairs in order.
func (r *recorder) emit(t int64, kv ...any) {
	if r.trace == nil {
		return
	}
	line, _ := json.Marshal(obj(kv...))
	fmt.Fprintf(r.trace, `{"t_ms":%s,%s`+"\n", tMs(t), line[1:])
}

func (r *recorder) state(t int64, node int, role string, term int) {
	changed := false
	r.mu.Lock()
	r.emit(t, "node", node, "event", "state", "state", role, "term", term)
	if term > r.maxTerm {
		if r.firstLeaderUs >= 0 {
			r.termChanges++
		}
		r.maxTerm = term
	}
	switch role {
	case "candidate":
		r.elections++
	case "leader":
		if other, seen := r.leaderByTerm[term]; seen && other != node && r.violation == "" {
			r.violation = fmt.Sprintf("election safety: nodes %d and %d lead term %d", other, node, term)
		}
		r.leaderByTerm[term] = node
		if r.firstLeaderUs < 0 {
			r.firstLeaderUs = t
		}
		if term >= r.leaderTerm {
			r.leader, r.leaderTerm, changed = node, term, true
		}
	default:
		if node == r.leader {
			r.leader, changed = noLeader, true
		}
	}
	r.mu.Unlock()
	if changed && r.onLeader != nil {
		r.onLeader()
	}
}

func (r *recorder) apply(t int64, node, index, term int, cmd string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, "node", node, "event", "apply", "index", index, "term", term, "cmd", cmd)
	now := applied{term, cmd}
	seen, ok := r.applied[index]
	if !ok {
		r.applied[index] = now
	} else if seen != now && r.violation == "" {
		r.violation = fmt.Sprintf("state machine safety: index %d applied as (%d, %q) and (%d, %q)",
			index, seen.term, seen.cmd, term, cmd)
	}
}

func (r *recorder) ack(t int64, cmd string, index int, latencyUs int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, "event", "ack", "cmd", cmd, "index", index)
	r.acks++
	r.lastAckUs = t
	r.latenciesUs = append(r.latenciesUs, latencyUs)
	return r.acks
}

func (r *recorder) crash(t int64, node int) {
	changed := false
	r.mu.Lock()
	r.emit(t, "node", node, "event", "crash")
	if node == r.leader {
		r.leader, changed = noLeader, true
	}
	r.mu.Unlock()
	if changed && r.onLeader != nil {
		r.onLeader()
	}
}

func (r *recorder) restart(t int64, node int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(t, "node", node, "event", "restart")
}

func (r *recorder) failover(us int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failoverUs = append(r.failoverUs, us)
}

// snapshot is the known leader (noLeader if none) and its term.
func (r *recorder) snapshot() (leader, term int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leader, r.leaderTerm
}

func (r *recorder) lastAck() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastAckUs
}

func (r *recorder) flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.trace == nil {
		return nil
	}
	return r.trace.Flush()
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	rank := max(1, int(math.Ceil(p/100*float64(len(sorted)))))
	return sorted[rank-1]
}

// metrics is the result's metrics object (docs/protocol.md). The anchor has no
// heartbeat-gap series (hashicorp's heartbeats are internal) and no inboxes.
func (r *recorder) metrics(elapsedUs, windowUs int64, sent, dropped int64) ordered {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := make([]float64, len(r.latenciesUs))
	for i, x := range r.latenciesUs {
		lat[i] = float64(x) / 1000
	}
	slices.Sort(lat)
	var latency, first any
	if len(lat) > 0 {
		latency = obj("p50", percentile(lat, 50), "p90", percentile(lat, 90),
			"p99", percentile(lat, 99), "max", lat[len(lat)-1])
	}
	if r.firstLeaderUs >= 0 {
		first = float64(r.firstLeaderUs) / 1000
	}
	throughput := 0.0
	if windowUs > 0 {
		throughput = math.Round(float64(r.acks)/(float64(windowUs)/1e6)*1000) / 1000
	}
	failover := make([]float64, len(r.failoverUs))
	for i, x := range r.failoverUs {
		failover[i] = float64(x) / 1000
	}
	return obj(
		"first_leader_ms", first, "failover_ms", failover,
		"term_changes_after_leader", r.termChanges, "committed", r.acks,
		"throughput_ops_s", throughput, "commit_latency_ms", latency,
		"elections", r.elections, "max_term", r.maxTerm,
		"messages_sent", sent, "messages_dropped", dropped,
		"elapsed_ms", float64(elapsedUs)/1000, "heartbeat_gap_ms", nil, "inbox_dropped", 0,
	)
}

// verdict decides ok: the scenario finished and no safety rule broke.
func (r *recorder) verdict(sc *scenario, errMsg string, failoversDone int) (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.violation != "":
		return false, r.violation
	case errMsg != "":
		return false, errMsg
	case r.firstLeaderUs < 0:
		return false, "no leader elected"
	case sc.Kind == "failover" && failoversDone < sc.Failovers:
		return false, fmt.Sprintf("only %d of %d failovers completed", failoversDone, sc.Failovers)
	}
	return true, ""
}
