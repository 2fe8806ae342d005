package scenario

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Error is an invalid scenario. Field is the first bad field as
// docs/protocol.md spells it ("nodes", "network.drop_rate",
// "faults[2].node"; "scenario" for the whole text): the one the Python
// driver names too, since both check the fields in the same order.
type Error struct {
	Field, Problem string
}

func (e *Error) Error() string { return e.Field + ": " + e.Problem }

// Parse reads a scenario from JSON, fills in every default and checks every
// field; the first bad one is an *Error.
//
// The members are decoded one at a time, in the Python driver's checking
// order, rather than the whole object into a struct: encoding/json matches
// keys regardless of case, leaves a field alone for null as for a missing
// key, and reports type errors in the text's order.
func Parse(data []byte) (*Scenario, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		if syntax := (*json.SyntaxError)(nil); errors.As(err, &syntax) {
			err = fmt.Errorf("%w at line %d", err, 1+bytes.Count(data[:syntax.Offset], []byte("\n")))
		}
		return nil, &Error{"scenario", fmt.Sprintf("not valid JSON (%v)", err)}
	}
	var p parser
	sc := p.scenario(p.object(raw, "scenario", "", scenarioKeys))
	if p.err != nil {
		return nil, p.err
	}
	return sc, nil
}

// parser's first error sticks and later reads do nothing, so that a parse
// reads as the list of fields in checking order.
type parser struct{ err error }

func (p *parser) fail(field, format string, args ...any) {
	if p.err == nil {
		p.err = &Error{field, fmt.Sprintf(format, args...)}
	}
}

// object is a JSON object's members; where prefixes their fields' names.
type object struct {
	where   string
	members map[string]json.RawMessage
}

// object reads v, called name, as an object with only known keys. An
// unknown one, the first in the text, is the error before any value is
// looked at, and keys match exactly.
func (p *parser) object(v json.RawMessage, name, where string, known []string) object {
	o := object{where, map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(v))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		p.fail(name, "must be an object")
		return o
	}
	for dec.More() { // v is valid JSON: it was decoded once already
		tok, _ := dec.Token()
		key := tok.(string)
		if !slices.Contains(known, key) {
			p.fail(where+key, "unknown field")
		}
		var value json.RawMessage
		_ = dec.Decode(&value)
		o.members[key] = value
	}
	return o
}

// rule is what a member must be: a JSON value of T (a Go int refuses 2.0,
// true and "2") for which ok holds, described by want.
type rule[T any] struct {
	want string
	ok   func(T) bool
	null bool // null is allowed, and leaves the default
}

// get decodes o's member key, if present, into *dst by r.
func get[T any](p *parser, o object, key string, dst *T, r rule[T]) {
	v, present := o.members[key]
	if !present || p.err != nil || r.null && string(v) == "null" {
		return
	}
	var x *T
	if json.Unmarshal(v, &x) != nil || x == nil || !r.ok(*x) {
		shown := strings.Join(strings.Fields(string(v)), " ") // on one line
		p.fail(o.where+key, "must be %s, got %s", r.want, shown)
		return
	}
	*dst = *x
}

// required fails unless o has key.
func (p *parser) required(o object, key, want string) {
	if _, ok := o.members[key]; !ok {
		p.fail(o.where+key, "required, %s", want)
	}
}

func integer[T ~int | ~int64](lo, hi T) rule[T] {
	return rule[T]{fmt.Sprintf("an integer in [%d, %d]", lo, hi), func(x T) bool { return lo <= x && x <= hi }, false}
}

// number is a finite number at least lo: encoding/json refuses 1e400.
func number(lo float64) rule[float64] {
	return rule[float64]{fmt.Sprintf("a finite number >= %g", lo), func(x float64) bool { return x >= lo }, false}
}

func oneOf[T ~string](choices ...string) rule[T] {
	return rule[T]{"one of " + strings.Join(choices, ", "), func(s T) bool { return slices.Contains(choices, string(s)) }, false}
}

var span = rule[Span]{"[min, max] with 0 < min <= max", func(s Span) bool { return 0 < s[0] && s[0] <= s[1] }, false}

// orNull is r for a member that may be null, which leaves it nil.
func orNull[T any](r rule[T]) rule[*T] {
	return rule[*T]{"null or " + r.want, func(x *T) bool { return r.ok(*x) }, true}
}

var scenarioKeys = []string{"kind", "nodes", "seed", "election_timeout_ms", "heartbeat_ms", "network",
	"observe_ms", "failovers", "settle_ms", "clients", "commands", "duration_ms", "payload_bytes",
	"max_batch_entries", "client_retry_ms", "client_timeout_ms", "faults", "timeout_ms",
	"first_election_timeout_ms", "inbox_capacity", "memory_limit_mb", "snapshot_entries", "storage",
	"storage_dir", "transport", "node_impls"}

// scenario checks the fields in the Python driver's order.
func (p *parser) scenario(o object) *Scenario {
	sc := Default()
	get(p, o, "kind", &sc.Kind, oneOf[string]("election", "failover", "replication"))
	get(p, o, "nodes", &sc.Nodes, integer(1, MaxNodes))
	get(p, o, "election_timeout_ms", &sc.ElectionTimeoutMs, span)
	get(p, o, "first_election_timeout_ms", &sc.FirstElectionTimeoutMs, orNull(span))
	get(p, o, "heartbeat_ms", &sc.HeartbeatMs, number(0.001))
	if p.err == nil && sc.HeartbeatMs >= sc.ElectionTimeoutMs[0] {
		p.fail("heartbeat_ms", "must be below election_timeout_ms[0]")
	}
	get(p, o, "commands", &sc.Commands, orNull(integer(1, 1_000_000_000)))
	get(p, o, "seed", &sc.Seed, integer[int64](0, math.MaxInt64))
	if v, ok := o.members["network"]; ok {
		n := p.object(v, "network", "network.", []string{"latency_ms", "jitter_ms", "drop_rate"})
		get(p, n, "latency_ms", &sc.Network.LatencyMs, number(0.001))
		get(p, n, "jitter_ms", &sc.Network.JitterMs, number(0))
		get(p, n, "drop_rate", &sc.Network.DropRate, rule[float64]{"in [0, 1)", func(x float64) bool { return 0 <= x && x < 1 }, false})
	}
	get(p, o, "observe_ms", &sc.ObserveMs, number(0))
	get(p, o, "failovers", &sc.Failovers, integer(1, 100_000))
	get(p, o, "settle_ms", &sc.SettleMs, number(0))
	get(p, o, "clients", &sc.Clients, integer(0, 100_000))
	get(p, o, "duration_ms", &sc.DurationMs, number(0))
	get(p, o, "payload_bytes", &sc.PayloadBytes, integer(0, 1<<20))
	get(p, o, "max_batch_entries", &sc.MaxBatchEntries, integer(1, 1<<20))
	get(p, o, "client_retry_ms", &sc.ClientRetryMs, number(0.001))
	get(p, o, "client_timeout_ms", &sc.ClientTimeoutMs, number(0.001))
	if v, ok := o.members["faults"]; ok {
		sc.Faults = p.faults(v, sc.Nodes)
	}
	get(p, o, "timeout_ms", &sc.TimeoutMs, number(1))
	get(p, o, "inbox_capacity", &sc.InboxCapacity, integer(0, 1_000_000_000))
	get(p, o, "memory_limit_mb", &sc.MemoryLimitMb, number(0))
	get(p, o, "snapshot_entries", &sc.SnapshotEntries, integer[SnapshotEntries](0, 1_000_000_000))
	get(p, o, "storage", &sc.Storage, oneOf[Storage]("memory", "file"))
	get(p, o, "storage_dir", &sc.StorageDir, rule[string]{`null, or with storage "file" a directory's path`,
		func(dir string) bool { return dir != "" && sc.Storage == "file" }, true})
	get(p, o, "transport", &sc.Transport, oneOf[Transport]("inproc", "tcp"))
	get(p, o, "node_impls", &sc.NodeImpls, rule[[]string]{fmt.Sprintf(`null, or with transport "tcp" a list of %d of %s, one per node`,
		sc.Nodes, strings.Join(NodeImpls, ", ")), func(impls []string) bool {
		return sc.Transport == "tcp" && len(impls) == sc.Nodes &&
			!slices.ContainsFunc(impls, func(impl string) bool { return !slices.Contains(NodeImpls, impl) })
	}, true})
	return &sc
}

// faults reads the fault schedule, sorted by time.
func (p *parser) faults(v json.RawMessage, nodes int) []Fault {
	var list []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &list) != nil {
		p.fail("faults", "must be a list")
	}
	node := rule[NodeRef]{fmt.Sprintf(`a node id in [0, %d] or "leader"`, nodes-1),
		func(r NodeRef) bool { return r == Leader || int(r) < nodes }, false}
	groups := rule[[][]NodeRef]{"a non-empty list of lists of " + node.want, func(groups [][]NodeRef) bool {
		return len(groups) > 0 && !slices.ContainsFunc(groups, func(g []NodeRef) bool {
			return g == nil || slices.ContainsFunc(g, func(r NodeRef) bool { return !node.ok(r) })
		})
	}, false}
	faults := make([]Fault, len(list))
	for i, item := range list {
		name := fmt.Sprintf("faults[%d]", i)
		o, f := p.object(item, name, name+".", []string{"at_ms", "action", "node", "groups"}), &faults[i]
		p.required(o, "at_ms", "a number >= 0")
		get(p, o, "at_ms", &f.AtMs, number(0))
		p.required(o, "action", "partition, heal, crash or restart")
		get(p, o, "action", &f.Action, oneOf[string]("partition", "heal", "crash", "restart"))
		switch f.Action {
		case "crash", "restart":
			p.required(o, "node", node.want)
			get(p, o, "node", &f.Node, rule[*NodeRef]{node.want, func(r *NodeRef) bool { return node.ok(*r) }, false})
		case "partition":
			p.required(o, "groups", groups.want)
			get(p, o, "groups", &f.Groups, groups)
		}
	}
	slices.SortStableFunc(faults, func(a, b Fault) int { return cmp.Compare(a.AtMs, b.AtMs) })
	return faults
}
