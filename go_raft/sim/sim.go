// Package sim is the deterministic simulator, a runtime that runs in virtual
// time, ported step for step from py_raft/sim.py.
//
// One event queue ordered by (time, sequence number) drives every core, the
// network model, the clients, the fault schedule and the scenario's
// controller. Nothing sleeps and nothing is concurrent, so a seed replays
// exactly, and the Python and Go simulators write byte-identical traces: every
// push happens in the same order as in Python, so that the sequence numbers,
// which break ties between events of equal time, agree too.
//
// After every event the Figure 3 properties are checked (package invariants).
package sim

import (
	"bufio"
	"container/heap"
	"fmt"
	"slices"
	"strings"

	"raftbench/go_raft/internal/pyjson"
	"raftbench/go_raft/invariants"
	"raftbench/go_raft/kv"
	"raftbench/go_raft/network"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
)

// Event kinds, in the order of py_raft/sim.py.
const (
	kindDeliver = iota
	kindTimer
	kindFault
	kindClient
	kindClientTimeout
	kindControl
)

// Controller actions carried by control events.
const (
	actArm = iota
	actCrash
	actRestart
	actStopClients
	actEnd
)

// Controller phases.
const (
	waitLeader = iota
	running
	waitNewLeader
	done
)

// NodeSeed is the seed of one incarnation of one node's core (streams 2 and up).
func NodeSeed(seed uint64, node, incarnation int) uint64 {
	return raft.DeriveSeed(raft.DeriveSeed(seed, uint64(2+node)), uint64(incarnation))
}

// MakeConfig is the core's configuration for a scenario, for every core of
// the trial: those of the start and those of restarts.
func MakeConfig(sc *scenario.Scenario) raft.Config {
	cfg := raft.Config{
		ElectionTimeoutMinUs: scenario.Us(sc.ElectionTimeoutMs[0]),
		ElectionTimeoutMaxUs: scenario.Us(sc.ElectionTimeoutMs[1]),
		HeartbeatUs:          scenario.Us(sc.HeartbeatMs),
		MaxBatchEntries:      sc.MaxBatchEntries,
	}
	if first := sc.FirstElectionTimeoutMs; first != nil {
		cfg.FirstElectionTimeoutMinUs = scenario.Us(first[0])
		cfg.FirstElectionTimeoutMaxUs = scenario.Us(first[1])
	}
	return cfg
}

// event is one queue entry; a and b are the kind's arguments (Python's tuple).
type event struct {
	t, seq int64
	kind   int
	a, b   int
	msg    raft.Message
}

type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	return q[i].t < q[j].t || (q[i].t == q[j].t && q[i].seq < q[j].seq)
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// client is one closed-loop client: one command in flight at a time.
type client struct {
	id          int
	leaderGuess int
	seq         int
	cmd         string
	node        int
	sentUs      int64
	attempt     int
}

// Sim is one simulated trial.
type Sim struct {
	sc            *scenario.Scenario
	Now           int64
	queue         queue
	seq           int64
	Events        int
	controlRng    *raft.SplitMix64
	Network       *network.Network
	config        raft.Config
	members       []int
	storages      []*raft.MemoryStorage
	incarnation   []int
	timerAt       []int64
	appendClock   []recorder.AppendClock // per node, reset by each new core
	GapsUs        []int64                // heartbeat gaps (recorder.AppendClock)
	pending       []map[int]*client
	kv            []*kv.KeyValue
	Recorder      *recorder.Recorder
	invariants    *invariants.Invariants
	cores         []*raft.Raft
	clients       []*client
	payload       string
	clientsOn     bool
	Window        [2]int64
	phase         int
	FailoversDone int
	crashed       int
	crashedTerm   int
	crashUs       int64
	lastCrashed   int
	// faultsWaiting are due faults, in order, held back by the first: it
	// names the leader and there is none yet.
	faultsWaiting []int
	Error         string
	// Violation is the first broken Figure 3 property; the run stops on it.
	Violation error
}

// New builds a trial; trace may be nil, and check turns the invariants on.
func New(sc *scenario.Scenario, trace *bufio.Writer, check bool) *Sim {
	n := sc.Nodes
	seed := uint64(sc.Seed)
	s := &Sim{
		sc:         sc,
		controlRng: raft.NewSplitMix64(raft.DeriveSeed(seed, 0)),
		Network: network.New(scenario.Us(sc.Network.LatencyMs), scenario.Us(sc.Network.JitterMs),
			sc.Network.DropRate, raft.NewSplitMix64(raft.DeriveSeed(seed, 1))),
		config:      MakeConfig(sc),
		members:     make([]int, n),
		storages:    make([]*raft.MemoryStorage, n),
		incarnation: make([]int, n),
		timerAt:     make([]int64, n),
		appendClock: make([]recorder.AppendClock, n),
		pending:     make([]map[int]*client, n),
		kv:          make([]*kv.KeyValue, n),
		Recorder:    recorder.New(trace, nil),
		cores:       make([]*raft.Raft, n),
		payload:     strings.Repeat("x", sc.PayloadBytes),
		phase:       waitLeader,
		crashed:     -1,
		lastCrashed: -1,
	}
	if check {
		s.invariants = invariants.New()
	}
	for i := range n {
		s.members[i] = i
		s.storages[i] = raft.NewMemoryStorage()
		s.timerAt[i] = -1
		s.pending[i] = map[int]*client{}
		s.kv[i] = kv.New()
	}
	for i := range n {
		s.cores[i] = s.newCore(i)
	}
	for c := range sc.Clients {
		s.clients = append(s.clients, &client{id: c, leaderGuess: c % n, node: -1})
	}
	return s
}

// ---- the event loop --------------------------------------------------------

func (s *Sim) push(t int64, kind, a, b int, msg raft.Message) {
	heap.Push(&s.queue, event{t: t, seq: s.seq, kind: kind, a: a, b: b, msg: msg})
	s.seq++
}

// Run simulates until the scenario is done, the time limit or a violation.
func (s *Sim) Run() {
	for i := range s.sc.Nodes {
		s.scheduleTimer(i)
	}
	for i, f := range s.sc.Faults {
		s.push(scenario.Us(f.AtMs), kindFault, i, 0, nil)
	}
	limit := scenario.Us(s.sc.TimeoutMs)
	for len(s.queue) > 0 && s.phase != done && s.Violation == nil {
		e := heap.Pop(&s.queue).(event)
		if e.t > limit {
			s.Error = s.timeoutReason()
			break
		}
		s.Now = e.t
		s.Events++
		s.dispatch(e)
	}
	if s.clientsOn {
		s.Window[1] = s.Now
	}
}

func (s *Sim) dispatch(e event) {
	switch e.kind {
	case kindDeliver:
		if core := s.cores[e.a]; core != nil {
			if gap, ok := s.appendClock[e.a].Handle(e.msg, s.Now); ok {
				s.GapsUs = append(s.GapsUs, gap)
			}
			core.Step(e.msg, s.Now)
			s.flush(e.a)
		}
	case kindTimer:
		node, inc := e.a, e.b
		if inc == s.incarnation[node] && s.timerAt[node] == s.Now {
			s.timerAt[node] = -1
			s.cores[node].Tick(s.Now)
			s.flush(node)
		}
	case kindFault:
		s.faultsDue(e.a)
	case kindClient:
		s.clientSend(s.clients[e.a])
	case kindClientTimeout:
		s.clientTimeout(s.clients[e.a], e.b)
	default:
		s.control(e.a, e.b)
	}
}

// check records the first violation; the loop stops after this event.
func (s *Sim) check(err error) {
	if err != nil && s.Violation == nil {
		s.Violation = err
	}
}

// ---- driving one core: persist, then send, then apply ----------------------

func (s *Sim) flush(node int) {
	core := s.cores[node]
	if core.HasReady() {
		s.carryOut(node, core, core.Ready())
	}
	s.scheduleTimer(node)
}

func (s *Sim) carryOut(node int, core *raft.Raft, r raft.Ready) {
	storage := s.storages[node]
	if r.HardState != nil {
		storage.SetHardState(r.HardState.Term, r.HardState.VotedFor)
	}
	if r.LogFrom != 0 {
		storage.TruncateAndAppend(r.LogFrom, r.Entries)
		if s.invariants != nil {
			s.check(s.invariants.OnLog(node, r.LogFrom, core.Log))
		}
	}
	for _, tr := range r.Transitions {
		s.Recorder.State(s.Now, node, tr.Role, tr.Term)
		if tr.Role == raft.Leader {
			if s.invariants != nil {
				s.check(s.invariants.OnLeader(node, tr.Term, core.Log))
			}
			s.onLeader(node, tr.Term)
		}
	}
	for _, m := range r.Messages {
		s.send(node, m.To, m.Msg)
	}
	for _, a := range r.Committed {
		s.Recorder.Apply(s.Now, node, a.Index, a.Entry)
		if s.invariants != nil {
			s.check(s.invariants.OnApply(node, a.Index, a.Entry))
		}
		s.kv[node].Apply(a.Index, a.Entry)
		s.resolve(node, a.Index, a.Entry)
	}
}

func (s *Sim) send(src, dst int, msg raft.Message) {
	if delay, ok := s.Network.Delay(src, dst); ok {
		s.push(s.Now+delay, kindDeliver, dst, 0, msg)
	}
}

// scheduleTimer keeps one pending timer event per node, moved only earlier.
// A deadline that moved later is found when the old event fires and is
// re-armed then: cheaper than one queue entry per heartbeat received.
func (s *Sim) scheduleTimer(node int) {
	core := s.cores[node]
	if core == nil {
		return
	}
	deadline := core.NextDeadline()
	if s.timerAt[node] == -1 || deadline < s.timerAt[node] {
		s.timerAt[node] = deadline
		s.push(deadline, kindTimer, node, s.incarnation[node], nil)
	}
}

// ---- faults ----------------------------------------------------------------

// faultsDue applies due faults in order; index -1 only retries the waiting
// ones. A fault that names the leader while there is none waits for the next
// leader, and the faults after it wait behind it, as in the goroutine
// runtime's fault script.
func (s *Sim) faultsDue(index int) {
	if index >= 0 {
		s.faultsWaiting = append(s.faultsWaiting, index)
	}
	for len(s.faultsWaiting) > 0 {
		f := &s.sc.Faults[s.faultsWaiting[0]]
		if f.NeedsLeader() && s.Recorder.Leader == raft.None {
			return
		}
		s.faultsWaiting = s.faultsWaiting[1:]
		s.fault(f)
	}
}

func (s *Sim) fault(f *scenario.Fault) {
	switch f.Action {
	case "crash":
		node := f.Node
		if node == scenario.LeaderRef {
			node = s.Recorder.Leader
		}
		if node >= 0 && s.cores[node] != nil {
			s.crash(node)
		}
	case "restart":
		node := f.Node
		if node == scenario.LeaderRef {
			node = s.lastCrashed
		}
		if node >= 0 && s.cores[node] == nil {
			s.restart(node)
		}
	case "partition":
		groups := make([][]int, len(f.Groups))
		for i, g := range f.Groups {
			groups[i] = s.resolveGroup(g)
		}
		s.Network.Partition(groups)
		s.Recorder.Partition(s.Now, groups)
	default:
		s.Network.Heal()
		s.Recorder.Heal(s.Now)
	}
}

// resolveGroup replaces "leader" by the current leader, dropping it if none.
func (s *Sim) resolveGroup(group []int) []int {
	out := []int{}
	for _, n := range group {
		if n == scenario.LeaderRef {
			n = s.Recorder.Leader
		}
		if n >= 0 {
			out = append(out, n)
		}
	}
	return out
}

func (s *Sim) crash(node int) {
	s.cores[node] = nil
	s.incarnation[node]++
	s.timerAt[node] = -1
	s.lastCrashed = node
	s.Recorder.Crash(s.Now, node)
	pending := s.pending[node]
	s.pending[node] = map[int]*client{}
	indexes := make([]int, 0, len(pending))
	for index := range pending {
		indexes = append(indexes, index)
	}
	slices.Sort(indexes)
	for _, index := range indexes {
		s.retry(pending[index], 1, true)
	}
}

func (s *Sim) restart(node int) {
	core := s.newCore(node)
	s.cores[node] = core
	s.kv[node] = kv.New()
	if s.invariants != nil {
		s.check(s.invariants.OnRestart(node, core.Log))
	}
	s.Recorder.Restart(s.Now, node)
	s.flush(node)
}

func (s *Sim) newCore(node int) *raft.Raft {
	s.appendClock[node] = recorder.AppendClock{} // a new incarnation
	rng := raft.NewSplitMix64(NodeSeed(uint64(s.sc.Seed), node, s.incarnation[node]))
	return raft.New(node, s.members, s.storages[node], s.config, rng, s.Now)
}

// ---- clients ---------------------------------------------------------------

func (s *Sim) clientSend(c *client) {
	if !s.clientsOn {
		return
	}
	node := c.leaderGuess
	core := s.cores[node]
	c.seq++
	c.cmd = fmt.Sprintf("c%d.%d", c.id, c.seq)
	hint := raft.None
	index, err := 0, error(nil)
	if core == nil {
		err = &raft.NotLeaderError{LeaderHint: raft.None}
	} else {
		index, _, err = core.Propose(c.cmd, s.payload, s.Now)
	}
	if err != nil {
		hint = err.(*raft.NotLeaderError).LeaderHint
		if hint != raft.None {
			c.leaderGuess = hint
		} else {
			c.leaderGuess = (node + 1) % len(s.cores)
		}
		s.push(s.Now+scenario.Us(s.sc.ClientRetryMs), kindClient, c.id, 0, nil)
		return
	}
	c.node, c.sentUs = node, s.Now
	c.attempt++
	s.pending[node][index] = c
	s.push(s.Now+scenario.Us(s.sc.ClientTimeoutMs), kindClientTimeout, c.id, c.attempt, nil)
	s.flush(node)
}

func (s *Sim) resolve(node, index int, e raft.Entry) {
	c, ok := s.pending[node][index]
	if !ok {
		return
	}
	delete(s.pending[node], index)
	c.attempt++ // the timeout of this attempt is void now
	if !e.Noop && e.Cmd == c.cmd {
		s.Recorder.Ack(s.Now, c.cmd, index, s.Now-c.sentUs)
		if s.sc.Commands != 0 && s.Recorder.Acks >= s.sc.Commands {
			s.push(s.Now, kindControl, actStopClients, -1, nil)
		}
		// The ack and the next request each cross the network once.
		s.push(s.Now+2*s.Network.LatencyUs, kindClient, c.id, 0, nil)
	} else {
		s.retry(c, 0, true) // another entry took the index: a new leader overwrote ours
	}
}

func (s *Sim) clientTimeout(c *client, attempt int) {
	if attempt != c.attempt {
		return
	}
	for index, pc := range s.pending[c.node] {
		if pc == c {
			delete(s.pending[c.node], index)
		}
	}
	s.retry(c, 1, false)
}

func (s *Sim) retry(c *client, step int, pause bool) {
	c.attempt++
	c.leaderGuess = (c.node + step) % len(s.cores)
	var wait int64
	if pause {
		wait = scenario.Us(s.sc.ClientRetryMs)
	}
	s.push(s.Now+wait, kindClient, c.id, 0, nil)
}

// ---- the scenario's controller ---------------------------------------------

func (s *Sim) onLeader(node, term int) {
	if len(s.faultsWaiting) > 0 { // after this node's flush, not inside it
		s.push(s.Now, kindFault, -1, 0, nil)
	}
	if s.phase == waitLeader {
		s.phase = running
		s.start(node)
	} else if s.phase == waitNewLeader && term > s.crashedTerm {
		s.Recorder.Failover(s.Now - s.crashUs)
		s.FailoversDone++
		s.phase = running
		s.push(s.Now, kindControl, actRestart, s.crashed, nil)
	}
}

// start begins the scenario's measured part once a leader exists.
func (s *Sim) start(leader int) {
	switch s.sc.Kind {
	case "failover":
		s.push(s.Now+scenario.Us(s.sc.SettleMs), kindControl, actArm, -1, nil)
	case "election":
		s.push(s.Now+scenario.Us(s.sc.ObserveMs), kindControl, actEnd, -1, nil)
	default:
		s.clientsOn = true
		s.Window[0] = s.Now
		for _, c := range s.clients {
			c.leaderGuess = leader
			s.push(s.Now+s.Network.LatencyUs, kindClient, c.id, 0, nil)
		}
		if s.sc.Commands == 0 {
			s.push(s.Now+scenario.Us(s.sc.DurationMs), kindControl, actStopClients, -1, nil)
		}
	}
}

func (s *Sim) control(action, node int) {
	switch action {
	case actArm:
		offset := s.controlRng.UniformInt(0, scenario.Us(s.sc.HeartbeatMs)-1)
		s.push(s.Now+offset, kindControl, actCrash, -1, nil)
	case actCrash:
		leader := s.Recorder.Leader
		if leader == raft.None {
			s.phase = waitLeader // faults left no leader: crash the next one
			return
		}
		s.crashed, s.crashedTerm = leader, s.Recorder.LeaderTerm
		s.crashUs = s.Now
		s.crash(leader)
		s.phase = waitNewLeader
	case actRestart:
		if s.cores[node] == nil {
			s.restart(node)
		}
		if s.FailoversDone >= s.sc.Failovers {
			s.phase = done
		} else {
			s.push(s.Now+scenario.Us(s.sc.SettleMs), kindControl, actArm, -1, nil)
		}
	case actStopClients:
		if s.clientsOn {
			s.clientsOn = false
			s.Window[1] = s.Now
			s.push(s.Now+2*scenario.Us(s.sc.HeartbeatMs), kindControl, actEnd, -1, nil)
		}
	default:
		s.phase = done
	}
}

func (s *Sim) timeoutReason() string {
	if s.Recorder.FirstLeaderUs < 0 {
		return "timeout: no leader elected within timeout_ms"
	}
	if s.phase == waitNewLeader {
		return fmt.Sprintf("timeout: no new leader after crash %d", s.FailoversDone+1)
	}
	return "timeout: scenario did not finish within timeout_ms"
}

// Run simulates one trial and builds its result (virtual times throughout).
// A safety violation ends the run with ok false and the violation as its error.
func Run(sc *scenario.Scenario, trace *bufio.Writer, check bool) pyjson.Obj {
	s := New(sc, trace, check)
	s.Run()
	errMsg := s.Error
	if s.Violation != nil {
		errMsg = "safety violation: " + s.Violation.Error()
	}
	rt := result.ProcessUsage(pyjson.O("virtual", true, "events", s.Events))
	return result.Build(result.Trial{
		Impl: "go-sim", Scenario: sc, Recorder: s.Recorder, Error: errMsg,
		FailoversDone: s.FailoversDone, WindowUs: s.Window[1] - s.Window[0], ElapsedUs: s.Now,
		Sent: s.Network.Sent, Dropped: s.Network.Dropped, GapsUs: s.GapsUs, Runtime: rt,
	})
}
