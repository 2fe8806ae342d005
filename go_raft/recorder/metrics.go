package recorder

import (
	"math"
	"slices"
	"strconv"
)

// Metrics is the result's "metrics" (docs/protocol.md, "Result").
type Metrics struct {
	FirstLeaderMs   *float64   `json:"first_leader_ms"`
	FailoverMs      []float64  `json:"failover_ms"`
	TermChanges     int        `json:"term_changes_after_leader"`
	Committed       int        `json:"committed"`
	ThroughputOpsS  float64    `json:"throughput_ops_s"`
	CommitLatencyMs *Latencies `json:"commit_latency_ms"`
	Elections       int        `json:"elections"`
	MaxTerm         int        `json:"max_term"`
	MessagesSent    int        `json:"messages_sent"`
	MessagesDropped int        `json:"messages_dropped"`
	ElapsedMs       float64    `json:"elapsed_ms"`
	HeartbeatGapMs  *Gaps      `json:"heartbeat_gap_ms"`
	InboxDropped    int        `json:"inbox_dropped"`
}

// Latencies are nearest-rank percentiles of propose-to-ack times, in ms.
type Latencies struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Gaps are nearest-rank percentiles of heartbeat gaps, in ms, and their count.
type Gaps struct {
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Count int     `json:"count"`
}

// Percentile is the nearest-rank percentile of sorted values.
func Percentile(sorted []float64, p float64) float64 {
	return sorted[max(1, int(math.Ceil(p/100*float64(len(sorted)))))-1]
}

// RoundTo is Python's round(x, digits): correctly rounded, half to even.
func RoundTo(x float64, digits int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return f
}

// ms is microseconds as milliseconds.
func ms(us int64) float64 { return float64(us) / 1000 }

// sortedMs is microseconds as sorted milliseconds.
func sortedMs(us *Series) []float64 {
	sorted := make([]float64, 0, us.Len())
	for x := range us.All() {
		sorted = append(sorted, ms(x))
	}
	slices.Sort(sorted)
	return sorted
}

// Metrics builds the result's metrics. windowUs is the clients' window, sent
// and dropped the network model's counters, inboxDropped the peer messages
// dropped at full inboxes.
func (r *Recorder) Metrics(elapsedUs, windowUs int64, sent, dropped, inboxDropped int) Metrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := Metrics{
		FailoverMs: slices.Clone(r.failoverMs), TermChanges: r.termChanges,
		Committed: r.Acks, Elections: r.elections, MaxTerm: r.maxTerm, MessagesSent: sent,
		MessagesDropped: dropped, ElapsedMs: ms(elapsedUs), InboxDropped: inboxDropped,
	}
	if r.FirstLeaderUs >= 0 {
		first := ms(r.FirstLeaderUs)
		m.FirstLeaderMs = &first
	}
	if windowUs > 0 {
		m.ThroughputOpsS = RoundTo(float64(r.Acks)/(float64(windowUs)/1e6), 3)
	}
	if lat := sortedMs(&r.latenciesUs); len(lat) > 0 {
		m.CommitLatencyMs = &Latencies{Percentile(lat, 50), Percentile(lat, 90), Percentile(lat, 99), lat[len(lat)-1]}
	}
	if gaps := sortedMs(&r.GapsUs); len(gaps) > 0 {
		m.HeartbeatGapMs = &Gaps{Percentile(gaps, 50), Percentile(gaps, 99), gaps[len(gaps)-1], len(gaps)}
	}
	return m
}
