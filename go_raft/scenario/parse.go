package scenario

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
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
func Parse(data []byte) (*Scenario, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		if syntax := (*json.SyntaxError)(nil); errors.As(err, &syntax) {
			err = fmt.Errorf("%w at line %d", err, 1+bytes.Count(data[:syntax.Offset], []byte("\n")))
		}
		return nil, &Error{"scenario", fmt.Sprintf("not valid JSON (%v)", err)}
	}
	var p parser
	sc := p.scenario(raw)
	if p.err != nil {
		return nil, p.err
	}
	return sc, nil
}

// parser reads decoded JSON. Its first error sticks and later reads do
// nothing, so that a parse reads as the list of fields in checking order.
type parser struct{ err error }

func (p *parser) fail(field, format string, args ...any) {
	if p.err == nil {
		p.err = &Error{field, fmt.Sprintf(format, args...)}
	}
}

// object is a JSON object's members; where is its fields' prefix.
type object struct {
	where   string
	members map[string]json.RawMessage
}

// object reads v as an object with only known keys. An unknown one, the
// first in the text, is the error before any value is looked at.
func (p *parser) object(v json.RawMessage, name string, known ...string) object {
	o := object{name + ".", map[string]json.RawMessage{}}
	if name == "scenario" {
		o.where = ""
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		p.fail(name, "must be an object")
		return o
	}
	for dec.More() { // v is valid JSON: it was decoded once already
		tok, _ := dec.Token()
		if key := tok.(string); !slices.Contains(known, key) {
			p.fail(o.where+key, "unknown field")
		}
		var value json.RawMessage
		_ = dec.Decode(&value)
		o.members[tok.(string)] = value
	}
	return o
}

// shown is v as an error message shows it, on one line.
func shown(v json.RawMessage) string { return strings.Join(strings.Fields(string(v)), " ") }

// integer reads o's key, if present, into *dst: an integer in [lo, hi].
func integer[T ~int | ~int64](p *parser, o object, key string, dst *T, lo, hi int64) {
	if v, ok := o.members[key]; ok {
		i, err := strconv.ParseInt(string(v), 10, 64) // refuses 2.0, true and "2"
		if err != nil || i < lo || i > hi {
			p.fail(o.where+key, "must be an integer in [%d, %d], got %s", lo, hi, shown(v))
		}
		*dst = T(i)
	}
}

// number reads o's key, if present, into *dst: a finite number >= lo.
func (p *parser) number(o object, key string, dst *float64, lo float64) {
	if v, ok := o.members[key]; ok {
		f, isNum := numeral(v)
		if !isNum || f < lo || math.IsInf(f, 0) {
			p.fail(o.where+key, "must be a finite number >= %g, got %s", lo, shown(v))
		}
		*dst = f
	}
}

// numeral is v as a number, if it is one; 1e400 is +Inf, as in Python.
func numeral(v json.RawMessage) (float64, bool) {
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil || errors.Is(err, strconv.ErrRange)
}

// text is v as a string, if it is one.
func text(v json.RawMessage) (string, bool) {
	var s string
	return s, len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil
}

// span reads v as [min, max] with 0 < min <= max.
func span(v json.RawMessage) ([2]float64, bool) {
	var pair []json.RawMessage
	if json.Unmarshal(v, &pair) != nil || len(pair) != 2 {
		return [2]float64{}, false
	}
	lo, ok1 := numeral(pair[0])
	hi, ok2 := numeral(pair[1])
	return [2]float64{lo, hi}, ok1 && ok2 && 0 < lo && lo <= hi
}

// scenario checks the fields in the Python driver's order.
func (p *parser) scenario(raw json.RawMessage) *Scenario {
	o := p.object(raw, "scenario", "kind", "nodes", "seed", "election_timeout_ms", "heartbeat_ms",
		"network", "observe_ms", "failovers", "settle_ms", "clients", "commands", "duration_ms",
		"payload_bytes", "max_batch_entries", "client_retry_ms", "client_timeout_ms", "faults",
		"timeout_ms", "first_election_timeout_ms", "inbox_capacity", "memory_limit_mb",
		"snapshot_entries", "storage", "storage_dir", "transport", "node_impls")
	sc := Default()
	kinds := []string{"election", "failover", "replication"}
	if v, ok := o.members["kind"]; ok {
		if sc.Kind, ok = text(v); !ok || !slices.Contains(kinds, sc.Kind) {
			p.fail("kind", "must be one of %s, got %s", strings.Join(kinds, ", "), shown(v))
		}
	}
	integer(p, o, "nodes", &sc.Nodes, 1, MaxNodes)
	if v, ok := o.members["election_timeout_ms"]; ok {
		if sc.ElectionTimeoutMs, ok = span(v); !ok {
			p.fail("election_timeout_ms", "must be [min, max] with 0 < min <= max")
		}
	}
	if v, ok := o.members["first_election_timeout_ms"]; ok && string(v) != "null" {
		first, ok := span(v)
		if !ok {
			p.fail("first_election_timeout_ms", "must be null or [min, max] with 0 < min <= max")
		}
		sc.FirstElectionTimeoutMs = &first
	}
	p.number(o, "heartbeat_ms", &sc.HeartbeatMs, 0.001)
	if p.err == nil && sc.HeartbeatMs >= sc.ElectionTimeoutMs[0] {
		p.fail("heartbeat_ms", "must be below election_timeout_ms[0]")
	}
	if v, ok := o.members["commands"]; ok && string(v) != "null" {
		sc.Commands = new(int)
		integer(p, o, "commands", sc.Commands, 1, 1_000_000_000)
	}
	integer(p, o, "seed", &sc.Seed, 0, math.MaxInt64)
	if v, ok := o.members["network"]; ok {
		n := p.object(v, "network", "latency_ms", "jitter_ms", "drop_rate")
		p.number(n, "latency_ms", &sc.Network.LatencyMs, 0.001)
		p.number(n, "jitter_ms", &sc.Network.JitterMs, 0)
		p.number(n, "drop_rate", &sc.Network.DropRate, 0)
		if sc.Network.DropRate >= 1 {
			p.fail("network.drop_rate", "must be in [0, 1), got %g", sc.Network.DropRate)
		}
	}
	p.number(o, "observe_ms", &sc.ObserveMs, 0)
	integer(p, o, "failovers", &sc.Failovers, 1, 100_000)
	p.number(o, "settle_ms", &sc.SettleMs, 0)
	integer(p, o, "clients", &sc.Clients, 0, 100_000)
	p.number(o, "duration_ms", &sc.DurationMs, 0)
	integer(p, o, "payload_bytes", &sc.PayloadBytes, 0, 1<<20)
	integer(p, o, "max_batch_entries", &sc.MaxBatchEntries, 1, 1<<20)
	p.number(o, "client_retry_ms", &sc.ClientRetryMs, 0.001)
	p.number(o, "client_timeout_ms", &sc.ClientTimeoutMs, 0.001)
	if v, ok := o.members["faults"]; ok {
		sc.Faults = p.faults(v, sc.Nodes)
	}
	p.number(o, "timeout_ms", &sc.TimeoutMs, 1)
	integer(p, o, "inbox_capacity", &sc.InboxCapacity, 0, 1_000_000_000)
	p.number(o, "memory_limit_mb", &sc.MemoryLimitMb, 0)
	integer(p, o, "snapshot_entries", &sc.SnapshotEntries, 0, 1_000_000_000)
	p.storage(o, &sc)
	p.transport(o, &sc)
	return &sc
}

func (p *parser) storage(o object, sc *Scenario) {
	if v, ok := o.members["storage"]; ok {
		s, _ := text(v)
		if sc.Storage = Storage(s); s != "memory" && s != "file" {
			p.fail("storage", "must be one of memory, file, got %s", shown(v))
		}
	}
	if v, ok := o.members["storage_dir"]; ok && string(v) != "null" {
		switch sc.StorageDir, ok = text(v); {
		case !ok || sc.StorageDir == "":
			p.fail("storage_dir", "must be null or a directory's path")
		case sc.Storage != "file":
			p.fail("storage_dir", `only with storage "file"`)
		}
	}
}

func (p *parser) transport(o object, sc *Scenario) {
	if v, ok := o.members["transport"]; ok {
		s, _ := text(v)
		if sc.Transport = Transport(s); s != "inproc" && s != "tcp" {
			p.fail("transport", "must be one of inproc, tcp, got %s", shown(v))
		}
	}
	v, ok := o.members["node_impls"]
	switch {
	case !ok || string(v) == "null":
	case sc.Transport != "tcp":
		p.fail("node_impls", `only with transport "tcp"`)
	case json.Unmarshal(v, &sc.NodeImpls) != nil || len(sc.NodeImpls) != sc.Nodes ||
		slices.ContainsFunc(sc.NodeImpls, func(impl string) bool { return !slices.Contains(NodeImpls, impl) }):
		p.fail("node_impls", "must be a list of %d of %s, one per node", sc.Nodes, strings.Join(NodeImpls, ", "))
	}
}

func (p *parser) faults(v json.RawMessage, nodes int) []Fault {
	var list []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &list) != nil {
		p.fail("faults", "must be a list")
	}
	faults := make([]Fault, len(list))
	for i, item := range list {
		faults[i] = p.fault(p.object(item, fmt.Sprintf("faults[%d]", i), "at_ms", "action", "node", "groups"), nodes)
	}
	slices.SortStableFunc(faults, func(a, b Fault) int { return cmp.Compare(a.AtMs, b.AtMs) })
	return faults
}

func (p *parser) fault(o object, nodes int) Fault {
	var f Fault
	if _, ok := o.members["at_ms"]; !ok {
		p.fail(o.where+"at_ms", "required, a number >= 0")
	}
	p.number(o, "at_ms", &f.AtMs, 0)
	actions := []string{"partition", "heal", "crash", "restart"}
	if f.Action, _ = text(o.members["action"]); !slices.Contains(actions, f.Action) {
		p.fail(o.where+"action", "must be one of %s", strings.Join(actions, ", "))
	}
	switch f.Action {
	case "crash", "restart":
		node := p.nodeRef(o.members["node"], o.where+"node", nodes)
		f.Node = &node
	case "partition":
		var groups [][]json.RawMessage
		if json.Unmarshal(o.members["groups"], &groups) != nil || len(groups) == 0 ||
			slices.ContainsFunc(groups, func(g []json.RawMessage) bool { return g == nil }) {
			p.fail(o.where+"groups", "must be a non-empty list of lists of ids")
		}
		f.Groups = make([][]NodeRef, len(groups))
		for i, g := range groups {
			f.Groups[i] = make([]NodeRef, len(g))
			for j, ref := range g {
				f.Groups[i][j] = p.nodeRef(ref, o.where+"groups", nodes)
			}
		}
	}
	return f
}

// nodeRef reads v as a node id or "leader".
func (p *parser) nodeRef(v json.RawMessage, field string, nodes int) NodeRef {
	if name, _ := text(v); name == "leader" {
		return Leader
	}
	id, err := strconv.Atoi(string(v))
	if err != nil || id < 0 || id >= nodes {
		p.fail(field, `must be a node id in [0, %d] or "leader"`, nodes-1)
	}
	return NodeRef(id)
}
