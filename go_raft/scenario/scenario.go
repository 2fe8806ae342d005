// Package scenario is the input of one trial, as docs/protocol.md specifies it,
// ported from py_raft/scenario.py: Parse fills in every default and rejects bad
// input with an *Error whose message names the offending field on one line,
// word for word as the Python driver says it.
package scenario

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"raftbench/go_raft/internal/pyjson"
)

// Kinds and Actions are the allowed values of "kind" and of a fault's "action".
var (
	Kinds   = []string{"election", "failover", "replication"}
	Actions = []string{"partition", "heal", "crash", "restart"}
)

// MaxNodes is the largest cluster a scenario may ask for.
const MaxNodes = 100_000

// LeaderRef is the node reference "leader" in a fault, as a node id.
const LeaderRef = -2

// Error is an invalid scenario; its message names the field.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func fail(format string, args ...any) {
	panic(&Error{fmt.Sprintf(format, args...)})
}

// Network is the network model's parameters.
type Network struct {
	LatencyMs float64
	JitterMs  float64
	DropRate  float64
}

// Fault is one entry of the fault schedule. Node is an id or LeaderRef;
// Groups hold ids or LeaderRef.
type Fault struct {
	AtMs    float64
	Action  string
	Node    int
	HasNode bool
	Groups  [][]int // nil unless Action is "partition"
}

// NeedsLeader reports whether the fault names the current leader, so it
// waits until one exists.
func (f *Fault) NeedsLeader() bool {
	switch f.Action {
	case "crash":
		return f.Node == LeaderRef
	case "partition":
		for _, g := range f.Groups {
			if slices.Contains(g, LeaderRef) {
				return true
			}
		}
	}
	return false
}

// Scenario is one trial's input with every default filled in.
type Scenario struct {
	Kind              string
	Nodes             int
	Seed              int64
	ElectionTimeoutMs [2]float64
	HeartbeatMs       float64
	Network           Network
	ObserveMs         float64
	Failovers         int
	SettleMs          float64
	Clients           int
	Commands          int // 0: none (use DurationMs)
	DurationMs        float64
	PayloadBytes      int
	MaxBatchEntries   int
	ClientRetryMs     float64
	ClientTimeoutMs   float64
	Faults            []Fault
	TimeoutMs         float64
	// FirstElectionTimeoutMs is the range of each core's first election
	// timeout; nil (null) draws it from ElectionTimeoutMs like the others.
	FirstElectionTimeoutMs *[2]float64
	// InboxCapacity bounds a node's inbox of peer messages in the real-time
	// runtimes; 0 is automatic (see EffectiveInboxCapacity).
	InboxCapacity int
	// MemoryLimitMb ends a real-time trial whose resident set passes it; 0: none.
	MemoryLimitMb float64
}

// EffectiveInboxCapacity is InboxCapacity, or max(1024, 2 * nodes) when it is 0.
func (s *Scenario) EffectiveInboxCapacity() int {
	if s.InboxCapacity > 0 {
		return s.InboxCapacity
	}
	return max(1024, 2*s.Nodes)
}

// Default is the scenario of an empty JSON object.
func Default() Scenario {
	return Scenario{
		Kind: "election", Nodes: 5, Seed: 1, ElectionTimeoutMs: [2]float64{150, 300},
		HeartbeatMs: 50, Network: Network{1, 1, 0}, ObserveMs: 500, Failovers: 10, SettleMs: 300,
		Clients: 8, DurationMs: 1000, PayloadBytes: 16, MaxBatchEntries: 64,
		ClientRetryMs: 10, ClientTimeoutMs: 1000, TimeoutMs: 60_000,
		MemoryLimitMb: 3072,
	}
}

// Us converts milliseconds to whole microseconds, rounding half up, as Python's
// int(ms * 1000 + 0.5). The float64 conversion forbids a fused multiply-add,
// which would round differently from Python.
func Us(ms float64) int64 {
	return int64(float64(ms*1000) + 0.5)
}

var fieldOrder = []string{
	"kind", "nodes", "seed", "election_timeout_ms", "heartbeat_ms", "network",
	"observe_ms", "failovers", "settle_ms", "clients", "commands", "duration_ms",
	"payload_bytes", "max_batch_entries", "client_retry_ms", "client_timeout_ms",
	"faults", "timeout_ms", "first_election_timeout_ms", "inbox_capacity", "memory_limit_mb",
}

// ToJSON gives the scenario with every default filled in, in field order.
func (s *Scenario) ToJSON() pyjson.Obj {
	var commands any
	if s.Commands != 0 {
		commands = s.Commands
	}
	var first any
	if s.FirstElectionTimeoutMs != nil {
		first = []float64{s.FirstElectionTimeoutMs[0], s.FirstElectionTimeoutMs[1]}
	}
	faults := make([]any, len(s.Faults))
	for i, f := range s.Faults {
		faults[i] = f.toJSON()
	}
	values := []any{
		s.Kind, s.Nodes, s.Seed, []float64{s.ElectionTimeoutMs[0], s.ElectionTimeoutMs[1]},
		s.HeartbeatMs,
		pyjson.O("latency_ms", s.Network.LatencyMs, "jitter_ms", s.Network.JitterMs, "drop_rate", s.Network.DropRate),
		s.ObserveMs, s.Failovers, s.SettleMs, s.Clients, commands, s.DurationMs, s.PayloadBytes,
		s.MaxBatchEntries, s.ClientRetryMs, s.ClientTimeoutMs, faults, s.TimeoutMs,
		first, s.InboxCapacity, s.MemoryLimitMb,
	}
	out := make(pyjson.Obj, len(fieldOrder))
	for i, k := range fieldOrder {
		out[i] = pyjson.KV{Key: k, Value: values[i]}
	}
	return out
}

func nodeRefJSON(n int) any {
	if n == LeaderRef {
		return "leader"
	}
	return n
}

func (f Fault) toJSON() pyjson.Obj {
	out := pyjson.O("at_ms", f.AtMs, "action", f.Action)
	if f.HasNode {
		out = append(out, pyjson.KV{Key: "node", Value: nodeRefJSON(f.Node)})
	}
	if f.Groups != nil {
		groups := make([]any, len(f.Groups))
		for i, g := range f.Groups {
			ids := make([]any, len(g))
			for j, n := range g {
				ids[j] = nodeRefJSON(n)
			}
			groups[i] = ids
		}
		out = append(out, pyjson.KV{Key: "groups", Value: groups})
	}
	return out
}

// Parse reads a scenario from JSON text.
func Parse(text string) (sc Scenario, err error) {
	raw, jerr := pyjson.Parse(text)
	if jerr != nil {
		se := jerr.(*pyjson.SyntaxError)
		return sc, &Error{fmt.Sprintf("scenario: not valid JSON (%s at line %d)", se.Msg, se.Line)}
	}
	obj, ok := raw.(*pyjson.Object)
	if !ok {
		return sc, &Error{"scenario: must be a JSON object"}
	}
	return FromObject(obj)
}

// FromObject validates a decoded JSON object, in the order Python checks it.
func FromObject(raw *pyjson.Object) (sc Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	return fromObject(raw), nil
}

func fromObject(raw *pyjson.Object) Scenario {
	for _, key := range raw.Keys {
		if !slices.Contains(fieldOrder, key) {
			fail("%s: unknown field", key)
		}
	}
	d := Default()
	var kind any = d.Kind
	if v, ok := raw.Get("kind"); ok {
		kind = v
	}
	ks, isStr := kind.(string)
	if !isStr || !slices.Contains(Kinds, ks) {
		fail("kind: must be one of %s, got %s", strings.Join(Kinds, ", "), pyjson.Repr(kind))
	}
	sc := d
	sc.Kind = ks
	sc.Nodes = int(getInt(raw, "nodes", int64(d.Nodes), 1, MaxNodes))
	sc.ElectionTimeoutMs = electionTimeout(raw)
	sc.FirstElectionTimeoutMs = firstElectionTimeout(raw)
	sc.HeartbeatMs = getNum(raw, "heartbeat_ms", d.HeartbeatMs, 0.001)
	if sc.HeartbeatMs >= sc.ElectionTimeoutMs[0] {
		fail("heartbeat_ms: must be below election_timeout_ms[0]")
	}
	if v, ok := raw.Get("commands"); ok && v != nil {
		sc.Commands = int(getInt(raw, "commands", 0, 1, 1_000_000_000))
	}
	sc.Seed = getInt(raw, "seed", d.Seed, 0, 1<<63-1)
	sc.Network = network(raw)
	sc.ObserveMs = getNum(raw, "observe_ms", d.ObserveMs, 0)
	sc.Failovers = int(getInt(raw, "failovers", int64(d.Failovers), 1, 100_000))
	sc.SettleMs = getNum(raw, "settle_ms", d.SettleMs, 0)
	sc.Clients = int(getInt(raw, "clients", int64(d.Clients), 0, 100_000))
	sc.DurationMs = getNum(raw, "duration_ms", d.DurationMs, 0)
	sc.PayloadBytes = int(getInt(raw, "payload_bytes", int64(d.PayloadBytes), 0, 1<<20))
	sc.MaxBatchEntries = int(getInt(raw, "max_batch_entries", int64(d.MaxBatchEntries), 1, 1<<20))
	sc.ClientRetryMs = getNum(raw, "client_retry_ms", d.ClientRetryMs, 0.001)
	sc.ClientTimeoutMs = getNum(raw, "client_timeout_ms", d.ClientTimeoutMs, 0.001)
	var faults any = []any{}
	if v, ok := raw.Get("faults"); ok {
		faults = v
	}
	sc.Faults = parseFaults(faults, sc.Nodes)
	sc.TimeoutMs = getNum(raw, "timeout_ms", d.TimeoutMs, 1.0)
	sc.InboxCapacity = int(getInt(raw, "inbox_capacity", int64(d.InboxCapacity), 0, 1_000_000_000))
	sc.MemoryLimitMb = getNum(raw, "memory_limit_mb", d.MemoryLimitMb, 0)
	return sc
}

// firstElectionTimeout is first_election_timeout_ms: null, or a range as
// election_timeout_ms is.
func firstElectionTimeout(raw *pyjson.Object) *[2]float64 {
	v, ok := raw.Get("first_election_timeout_ms")
	if !ok || v == nil {
		return nil
	}
	if r, ok := numRange(v); ok {
		return &r
	}
	fail("first_election_timeout_ms: must be null or [min, max] with 0 < min <= max")
	return nil
}

// numRange reads [min, max] with 0 < min <= max.
func numRange(v any) ([2]float64, bool) {
	list, isList := v.([]any)
	if isList && len(list) == 2 {
		lo, ok1 := number(list[0])
		hi, ok2 := number(list[1])
		if ok1 && ok2 && 0 < lo && lo <= hi {
			return [2]float64{lo, hi}, true
		}
	}
	return [2]float64{}, false
}

func electionTimeout(raw *pyjson.Object) [2]float64 {
	v, ok := raw.Get("election_timeout_ms")
	if !ok {
		return Default().ElectionTimeoutMs
	}
	if r, ok := numRange(v); ok {
		return r
	}
	fail("election_timeout_ms: must be [min, max] with 0 < min <= max")
	return [2]float64{}
}

// number is Python's _is_num and float(v): an int or a float, never a bool.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case pyjson.Int:
		return x.Float(), true
	case float64:
		return x, true
	}
	return 0, false
}

func getInt(raw *pyjson.Object, key string, def, lo, hi int64) int64 {
	var v any = pyjson.Int{V: def}
	if got, ok := raw.Get(key); ok {
		v = got
	}
	i, ok := v.(pyjson.Int)
	if !ok || i.Big != "" || i.V < lo || i.V > hi {
		fail("%s: must be an integer in [%d, %d], got %s", key, lo, hi, pyjson.Repr(v))
	}
	return i.V
}

func getNum(raw *pyjson.Object, key string, def, lo float64) float64 {
	return getNumNamed(raw, key, def, lo, key)
}

// getNumNamed is getNum with the field's name for the error message given in full.
func getNumNamed(raw *pyjson.Object, key string, def, lo float64, name string) float64 {
	var v any = def
	if got, ok := raw.Get(key); ok {
		v = got
	}
	f, ok := number(v)
	if !ok || f < lo || f != f || math.IsInf(f, 1) {
		fail("%s: must be a finite number >= %s, got %s", name, formatG(lo), pyjson.Repr(v))
	}
	return f
}

// formatG is Python's format(x, "g") for the few bounds used here.
func formatG(x float64) string {
	return strconv.FormatFloat(x, 'g', 6, 64)
}

func network(root *pyjson.Object) Network {
	v, ok := root.Get("network")
	if !ok {
		v = &pyjson.Object{Values: map[string]any{}}
	}
	raw, isObj := v.(*pyjson.Object)
	if !isObj {
		fail("network: must be an object")
	}
	for _, key := range raw.Keys {
		if !slices.Contains([]string{"latency_ms", "jitter_ms", "drop_rate"}, key) {
			fail("network.%s: unknown field", key)
		}
	}
	d := Default().Network
	n := Network{
		LatencyMs: getNum(raw, "latency_ms", d.LatencyMs, 0.001),
		JitterMs:  getNum(raw, "jitter_ms", d.JitterMs, 0),
		DropRate:  getNum(raw, "drop_rate", d.DropRate, 0),
	}
	if n.DropRate >= 1.0 {
		fail("network.drop_rate: must be in [0, 1), got %s", pyjson.FloatRepr(n.DropRate))
	}
	return n
}

func nodeRef(v any, nodes int, where string) int {
	if s, ok := v.(string); ok && s == "leader" {
		return LeaderRef
	}
	i, ok := v.(pyjson.Int)
	if !ok || i.Big != "" || i.V < 0 || i.V >= int64(nodes) {
		fail("%s: must be a node id in [0, %d] or \"leader\"", where, nodes-1)
	}
	return int(i.V)
}

func parseFaults(raw any, nodes int) []Fault {
	list, ok := raw.([]any)
	if !ok {
		fail("faults: must be a list")
	}
	out := []Fault{}
	for i, item := range list {
		where := fmt.Sprintf("faults[%d]", i)
		f, isObj := item.(*pyjson.Object)
		if !isObj {
			fail("%s: must be an object", where)
		}
		for _, key := range f.Keys {
			if !slices.Contains([]string{"at_ms", "action", "node", "groups"}, key) {
				fail("%s.%s: unknown field", where, key)
			}
		}
		out = append(out, parseFault(f, nodes, where))
	}
	// Python's sorted is stable: equal times keep their listed order.
	slices.SortStableFunc(out, func(a, b Fault) int {
		switch {
		case a.AtMs < b.AtMs:
			return -1
		case a.AtMs > b.AtMs:
			return 1
		}
		return 0
	})
	return out
}

func parseFault(f *pyjson.Object, nodes int, where string) Fault {
	if _, ok := f.Get("at_ms"); !ok {
		fail("%s.at_ms: required, a number >= 0", where)
	}
	at := getNumNamed(f, "at_ms", 0, 0, where+".at_ms")
	action, _ := f.Values["action"].(string)
	if !slices.Contains(Actions, action) {
		fail("%s.action: must be one of %s", where, strings.Join(Actions, ", "))
	}
	out := Fault{AtMs: at, Action: action}
	switch action {
	case "crash", "restart":
		out.Node = nodeRef(f.Values["node"], nodes, where+".node")
		out.HasNode = true
	case "partition":
		g, isList := f.Values["groups"].([]any)
		if !isList || len(g) == 0 || !allLists(g) {
			fail("%s.groups: must be a non-empty list of lists of ids", where)
		}
		out.Groups = make([][]int, len(g))
		for i, grp := range g {
			out.Groups[i] = []int{}
			for _, n := range grp.([]any) {
				out.Groups[i] = append(out.Groups[i], nodeRef(n, nodes, where+".groups"))
			}
		}
	}
	return out
}

func allLists(g []any) bool {
	for _, x := range g {
		if _, ok := x.([]any); !ok {
			return false
		}
	}
	return true
}
