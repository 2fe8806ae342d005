package main

// The scenario (docs/protocol.md, "Scenario"): every field, its default and
// its check, with the one-line messages of the project's own drivers. The
// anchor keeps its own copy, not go_raft's, so that it builds on its own
// while go_raft changes; refuse.go then turns away what hashicorp cannot do.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

var (
	kinds     = []string{"election", "failover", "replication"}
	fieldKeys = []string{
		"kind", "nodes", "seed", "election_timeout_ms", "heartbeat_ms", "network",
		"observe_ms", "failovers", "settle_ms", "clients", "commands", "duration_ms",
		"payload_bytes", "max_batch_entries", "client_retry_ms", "client_timeout_ms",
		"faults", "timeout_ms", "first_election_timeout_ms", "inbox_capacity", "memory_limit_mb",
	}
)

const maxNodes = 100_000

type network struct {
	LatencyMs, JitterMs, DropRate float64
}

type scenario struct {
	Kind                   string
	Nodes                  int
	Seed                   int64
	ElectionTimeoutMs      [2]float64
	HeartbeatMs            float64
	Network                network
	ObserveMs              float64
	Failovers              int
	SettleMs               float64
	Clients                int
	Commands               int // 0: none (duration_ms decides)
	DurationMs             float64
	PayloadBytes           int
	MaxBatchEntries        int
	ClientRetryMs          float64
	ClientTimeoutMs        float64
	Faults                 int // how many faults were given: the anchor runs none
	TimeoutMs              float64
	FirstElectionTimeoutMs *[2]float64
	InboxCapacity          int
	MemoryLimitMb          float64
}

func defaultScenario() scenario {
	return scenario{
		Kind: "election", Nodes: 5, Seed: 1, ElectionTimeoutMs: [2]float64{150, 300},
		HeartbeatMs: 50, Network: network{1, 1, 0}, ObserveMs: 500, Failovers: 10, SettleMs: 300,
		Clients: 8, DurationMs: 1000, PayloadBytes: 16, MaxBatchEntries: 64,
		ClientRetryMs: 10, ClientTimeoutMs: 1000, TimeoutMs: 60_000, MemoryLimitMb: 3072,
	}
}

// us converts milliseconds to whole microseconds, rounding half up.
func us(ms float64) int64 { return int64(float64(ms*1000) + 0.5) }

// scenarioError is an invalid scenario; its message names the field.
type scenarioError struct{ msg string }

func (e scenarioError) Error() string { return e.msg }

func bad(format string, args ...any) { panic(scenarioError{fmt.Sprintf(format, args...)}) }

// parseScenario reads a scenario from JSON text, every default filled in.
func parseScenario(text []byte) (sc scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(scenarioError)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if jerr := dec.Decode(&raw); jerr != nil {
		var v any
		if json.Unmarshal(text, &v) == nil {
			bad("scenario: must be a JSON object")
		}
		bad("scenario: not valid JSON (%v)", jerr)
	}
	if raw == nil {
		bad("scenario: must be a JSON object")
	}
	return fromMap(raw), nil
}

func fromMap(raw map[string]any) scenario {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(fieldKeys, k) {
			bad("%s: unknown field", k)
		}
	}
	sc := defaultScenario()
	if v, ok := raw["kind"]; ok {
		s, isStr := v.(string)
		if !isStr || !slices.Contains(kinds, s) {
			bad("kind: must be one of %s, got %s", strings.Join(kinds, ", "), repr(v))
		}
		sc.Kind = s
	}
	sc.Nodes = int(getInt(raw, "nodes", int64(sc.Nodes), 1, maxNodes))
	if v, ok := raw["election_timeout_ms"]; ok {
		r, ok := numRange(v)
		if !ok {
			bad("election_timeout_ms: must be [min, max] with 0 < min <= max")
		}
		sc.ElectionTimeoutMs = r
	}
	if v, ok := raw["first_election_timeout_ms"]; ok && v != nil {
		r, ok := numRange(v)
		if !ok {
			bad("first_election_timeout_ms: must be null or [min, max] with 0 < min <= max")
		}
		sc.FirstElectionTimeoutMs = &r
	}
	sc.HeartbeatMs = getNum(raw, "heartbeat_ms", sc.HeartbeatMs, 0.001)
	if sc.HeartbeatMs >= sc.ElectionTimeoutMs[0] {
		bad("heartbeat_ms: must be below election_timeout_ms[0]")
	}
	if v, ok := raw["commands"]; ok && v != nil {
		sc.Commands = int(getInt(raw, "commands", 0, 1, 1_000_000_000))
	}
	sc.Seed = getInt(raw, "seed", sc.Seed, 0, math.MaxInt64)
	sc.Network = parseNetwork(raw)
	sc.ObserveMs = getNum(raw, "observe_ms", sc.ObserveMs, 0)
	sc.Failovers = int(getInt(raw, "failovers", int64(sc.Failovers), 1, 100_000))
	sc.SettleMs = getNum(raw, "settle_ms", sc.SettleMs, 0)
	sc.Clients = int(getInt(raw, "clients", int64(sc.Clients), 0, 100_000))
	sc.DurationMs = getNum(raw, "duration_ms", sc.DurationMs, 0)
	sc.PayloadBytes = int(getInt(raw, "payload_bytes", int64(sc.PayloadBytes), 0, 1<<20))
	sc.MaxBatchEntries = int(getInt(raw, "max_batch_entries", int64(sc.MaxBatchEntries), 1, 1<<20))
	sc.ClientRetryMs = getNum(raw, "client_retry_ms", sc.ClientRetryMs, 0.001)
	sc.ClientTimeoutMs = getNum(raw, "client_timeout_ms", sc.ClientTimeoutMs, 0.001)
	if v, ok := raw["faults"]; ok {
		list, isList := v.([]any)
		if !isList {
			bad("faults: must be a list")
		}
		sc.Faults = len(list)
	}
	sc.TimeoutMs = getNum(raw, "timeout_ms", sc.TimeoutMs, 1)
	sc.InboxCapacity = int(getInt(raw, "inbox_capacity", int64(sc.InboxCapacity), 0, 1_000_000_000))
	sc.MemoryLimitMb = getNum(raw, "memory_limit_mb", sc.MemoryLimitMb, 0)
	return sc
}

func parseNetwork(root map[string]any) network {
	d := defaultScenario().Network
	v, ok := root["network"]
	if !ok {
		return d
	}
	raw, isObj := v.(map[string]any)
	if !isObj {
		bad("network: must be an object")
	}
	for k := range raw {
		if k != "latency_ms" && k != "jitter_ms" && k != "drop_rate" {
			bad("network.%s: unknown field", k)
		}
	}
	n := network{
		LatencyMs: getNum(raw, "latency_ms", d.LatencyMs, 0.001),
		JitterMs:  getNum(raw, "jitter_ms", d.JitterMs, 0),
		DropRate:  getNum(raw, "drop_rate", d.DropRate, 0),
	}
	if n.DropRate >= 1 {
		bad("network.drop_rate: must be in [0, 1), got %g", n.DropRate)
	}
	return n
}

// number is a JSON number as float64; bools and strings are not numbers.
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func numRange(v any) ([2]float64, bool) {
	list, ok := v.([]any)
	if !ok || len(list) != 2 {
		return [2]float64{}, false
	}
	lo, ok1 := number(list[0])
	hi, ok2 := number(list[1])
	return [2]float64{lo, hi}, ok1 && ok2 && 0 < lo && lo <= hi
}

func getInt(raw map[string]any, key string, def, lo, hi int64) int64 {
	v, ok := raw[key]
	if !ok {
		return def
	}
	n, isNum := v.(json.Number)
	i, err := n.Int64()
	if !isNum || err != nil || i < lo || i > hi {
		bad("%s: must be an integer in [%d, %d], got %s", key, lo, hi, repr(v))
	}
	return i
}

func getNum(raw map[string]any, key string, def, lo float64) float64 {
	v, ok := raw[key]
	if !ok {
		return def
	}
	f, isNum := number(v)
	if !isNum || f < lo || math.IsNaN(f) || math.IsInf(f, 0) {
		bad("%s: must be a finite number >= %g, got %s", key, lo, repr(v))
	}
	return f
}

// repr shows a JSON value in an error message.
func repr(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// toJSON is the scenario with every default filled in, in the protocol's order.
func (sc *scenario) toJSON() ordered {
	var commands, first any
	if sc.Commands != 0 {
		commands = sc.Commands
	}
	if sc.FirstElectionTimeoutMs != nil {
		first = sc.FirstElectionTimeoutMs[:]
	}
	return obj(
		"kind", sc.Kind, "nodes", sc.Nodes, "seed", sc.Seed,
		"election_timeout_ms", sc.ElectionTimeoutMs[:], "heartbeat_ms", sc.HeartbeatMs,
		"network", obj("latency_ms", sc.Network.LatencyMs, "jitter_ms", sc.Network.JitterMs,
			"drop_rate", sc.Network.DropRate),
		"observe_ms", sc.ObserveMs, "failovers", sc.Failovers, "settle_ms", sc.SettleMs,
		"clients", sc.Clients, "commands", commands, "duration_ms", sc.DurationMs,
		"payload_bytes", sc.PayloadBytes, "max_batch_entries", sc.MaxBatchEntries,
		"client_retry_ms", sc.ClientRetryMs, "client_timeout_ms", sc.ClientTimeoutMs,
		"faults", []any{}, "timeout_ms", sc.TimeoutMs, "first_election_timeout_ms", first,
		"inbox_capacity", sc.InboxCapacity, "memory_limit_mb", sc.MemoryLimitMb,
	)
}
