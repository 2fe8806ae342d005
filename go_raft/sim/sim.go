// Package sim is the deterministic simulator: a runtime that runs in virtual
// time, as py_raft/sim/sim.py.
//
// One event queue ordered by (time, sequence number) drives every node, the
// network model, the clients, the fault schedule and the scenario's
// controller. Nothing sleeps and nothing is concurrent, so a seed replays
// exactly, and the Python and Go simulators write byte-identical traces:
// every push happens in the same order as in Python, so that the sequence
// numbers, which break ties between events of equal time, agree too.
//
// Nodes, clients and faults are the shared ones (packages host, client and
// scenario); the simulator's own part is how it waits: events. After every
// event the Figure 3 properties are checked (package invariants).
package sim

import (
	"bufio"
	"iter"

	"raftbench/go_raft/client"
	"raftbench/go_raft/filestore"
	"raftbench/go_raft/host"
	"raftbench/go_raft/invariants"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
	"raftbench/go_raft/timeq"
)

// Sim is one simulated trial.
type Sim struct {
	*host.Cluster
	Now       int64
	queue     timeq.Queue[func()] // the events
	Events    int
	hosts     []*host.Host // nil: crashed
	hooks     host.Hooks
	timerAt   []int64 // each node's one timer event; -1: none
	clientsOn bool
	// The script runs as a coroutine (iter.Pull): next runs it to its next
	// wait, which Wait hands over through yield.
	next          func() (host.Wait, bool)
	stop          func()
	yield         func(host.Wait) bool
	wait          host.Wait // what the script waits for
	done          bool      // the script has returned
	leader        int       // what a Leader wait found
	wakeup        int       // the control event that ends a Sleep or Acks wait
	faultsWaiting []int     // due faults held back by the first, which waits for a leader
	Violation     error     // the first broken Figure 3 property; the run stops on it
}

// New builds a trial; trace may be nil, and check turns the invariants on.
func New(sc *scenario.Scenario, trace *bufio.Writer, check bool) (*Sim, error) {
	cluster, err := host.NewCluster(sc, recorder.New(trace, nil, sc.Nodes))
	if err != nil {
		return nil, err
	}
	s := &Sim{Cluster: cluster, hosts: make([]*host.Host, sc.Nodes), timerAt: make([]int64, sc.Nodes)}
	s.hooks = host.Hooks{Send: s.send, Leader: s.onLeader}
	if check {
		s.hooks.Check = invariants.New(sc.Nodes)
	}
	for i := range s.hosts {
		s.timerAt[i] = -1
		s.hosts[i] = s.NewHost(i, 0, s.hooks)
	}
	s.next, s.stop = iter.Pull(func(yield func(host.Wait) bool) {
		s.yield = yield
		s.Script(s)
	})
	s.wait, _ = s.next()
	return s, nil
}

// Wait hands w to the event loop and returns when an event ends it
// (host.Runner); ok is false when the run ended first.
func (s *Sim) Wait(w host.Wait) (now int64, leader int, ok bool) {
	if !s.yield(w) {
		return s.Now, raft.None, false
	}
	return s.Now, s.leader, true
}

// Run simulates until the scenario is done, the time limit or a violation.
func (s *Sim) Run() {
	defer s.stop()
	for i := range s.hosts {
		s.scheduleTimer(i)
	}
	for i, f := range s.Scenario.Faults {
		s.queue.Push(scenario.Us(f.AtMs), func() { s.faultsDue(i) })
	}
	limit := scenario.Us(s.Scenario.TimeoutMs)
	for s.queue.Len() > 0 && !s.done && s.Violation == nil {
		t, event := s.queue.Pop()
		if t > limit {
			s.Fail(s.wait.Timeout)
			break
		}
		s.Now = t
		s.Events++
		event()
		if s.hooks.Check != nil {
			s.Violation = s.hooks.Check.Violation
		}
	}
	for _, h := range s.hosts { // the end ends every incarnation
		if h != nil {
			h.Retire()
		}
	}
	s.Close()
}

func (s *Sim) send(src int, msgs []raft.Envelope) {
	for due, m := range s.Route(src, msgs, s.Now) {
		s.queue.Push(due, func() { s.deliver(m.To, m.Msg) })
	}
}

func (s *Sim) deliver(node int, msg raft.Message) {
	if h := s.hosts[node]; h != nil {
		h.Step(msg, s.Now)
		s.scheduleTimer(node)
	}
}

// scheduleTimer keeps one pending timer event per node, moved only earlier.
// A deadline that moved later is found when the old event fires and is
// re-armed then: cheaper than one queue entry per heartbeat received.
func (s *Sim) scheduleTimer(node int) {
	if h := s.hosts[node]; h != nil {
		incarnation := s.Incarnations[node]
		if deadline := h.Core.NextDeadline(); s.timerAt[node] == -1 || deadline < s.timerAt[node] {
			s.timerAt[node] = deadline
			s.queue.Push(deadline, func() { s.tick(node, incarnation) })
		}
	}
}

// tick is node's timer event, if it is still the one pending.
func (s *Sim) tick(node, incarnation int) {
	if incarnation == s.Incarnations[node] && s.timerAt[node] == s.Now {
		s.timerAt[node] = -1
		s.hosts[node].Tick(s.Now)
		s.scheduleTimer(node)
	}
}

// ---- faults (host.Faults) ----------------------------------------------------

// Up tells whether node runs.
func (s *Sim) Up(node int) bool { return s.hosts[node] != nil }

// Crash stops node and ends its incarnation.
func (s *Sim) Crash(node int) {
	h := s.hosts[node]
	s.hosts[node], s.timerAt[node] = nil, -1
	s.Crashed(h, s.Now)
}

// Restart starts node's next incarnation, which restores its snapshot, if
// it has one, at once.
func (s *Sim) Restart(node int) {
	s.Recorder.Restart(s.Now, node)
	s.hosts[node] = s.NewHost(node, s.Now, s.hooks)
	s.scheduleTimer(node)
}

// faultsDue applies due faults in order; index -1 only retries the waiting ones.
func (s *Sim) faultsDue(index int) {
	if index >= 0 {
		s.faultsWaiting = append(s.faultsWaiting, index)
	}
	for len(s.faultsWaiting) > 0 && s.ApplyFault(&s.Scenario.Faults[s.faultsWaiting[0]], s, s.Now) {
		s.faultsWaiting = s.faultsWaiting[1:]
	}
}

// ---- clients: the shared client, driven by events --------------------------

// request sends c's next command to the node it guesses leads. Its answer
// and its timeout race: whichever comes first settles it, and voids the other.
func (s *Sim) request(c *client.Client) {
	if !s.clientsOn {
		return
	}
	node, cmd := c.Target, c.Next()
	h := s.hosts[node]
	if h == nil {
		s.resume(c, client.Redirect, raft.None)
		return
	}
	settled := false
	r := &host.Request{Cmd: cmd, Answer: func(o client.Outcome, hint int) {
		if !settled {
			settled = true
			s.answer(c, o, hint)
		}
	}}
	if index, ok := h.Propose(r, s.Payload, s.Now); ok {
		s.queue.Push(s.Now+scenario.Us(s.Scenario.ClientTimeoutMs), func() {
			if settled {
				return
			}
			settled = true
			if h := s.hosts[node]; h != nil {
				h.Cancel(index, r)
			}
			s.resume(c, client.Timeout, raft.None)
		})
		h.Flush(s.Now)
		s.scheduleTimer(node)
	}
}

// resume hands c the outcome of its request and schedules its next one.
func (s *Sim) resume(c *client.Client, o client.Outcome, hint int) {
	s.queue.Push(s.Now+c.Outcome(o, hint, s.Up), func() { s.request(c) })
}

func (s *Sim) answer(c *client.Client, o client.Outcome, hint int) {
	if cmds := s.Scenario.Commands; o == client.OK && cmds != nil && s.Recorder.Acks >= *cmds {
		wakeup := -1 // the clients were stopped already
		if s.wait.Kind == host.Acks {
			wakeup = s.wakeup
		}
		s.queue.Push(s.Now, func() { s.wake(wakeup) })
	}
	s.resume(c, o, hint)
}

// ---- the scenario's controller: the shared script, driven by events ---------

// onLeader is the Leader hook: the waiting faults and the script are
// resumed here, inside the new leader's Ready.
func (s *Sim) onLeader(node, term int) {
	if len(s.faultsWaiting) > 0 { // after this node's flush, not inside it
		s.queue.Push(s.Now, func() { s.faultsDue(-1) })
	}
	if s.wait.Kind == host.Leader && term > s.wait.AfterTerm {
		s.advance(node)
	}
}

// advance runs the script's next step and arranges for the end of its wait.
func (s *Sim) advance(leader int) {
	s.leader = leader
	w, ok := s.next()
	s.wait, s.done = w, !ok
	s.wakeup++
	if wakeup := s.wakeup; !s.done && s.wait.Kind == host.Sleep {
		s.queue.Push(s.wait.Until, func() { s.wake(wakeup) })
	}
}

// wake is a control event: it ends the wait it was pushed for, if that
// wait is still on.
func (s *Sim) wake(wakeup int) {
	if wakeup == s.wakeup {
		s.advance(raft.None)
	}
}

// StartClients starts the clients, their first request to leader (host.Runner).
func (s *Sim) StartClients(leader int) {
	sc := s.Scenario
	s.clientsOn = true
	for i := range sc.Clients {
		c := client.New(i, leader, sc.Nodes, s.Network.LatencyUs, scenario.Us(sc.ClientRetryMs))
		s.queue.Push(s.Now+c.HopUs, func() { s.request(c) })
	}
}

// StopClients stops them at their next request (host.Runner).
func (s *Sim) StopClients() { s.clientsOn = false }

// Runtime is the simulator's own figures in a result.
type Runtime struct {
	Virtual bool `json:"virtual"` // the times are virtual
	Events  int  `json:"events"`
	result.Usage
	FsyncUs *filestore.Summary `json:"fsync_us,omitempty"` // file storage only
}

// Run simulates one trial and builds its result (virtual times throughout).
// A safety violation ends the run with ok false and the violation as its error.
func Run(sc *scenario.Scenario, trace *bufio.Writer, check bool) (result.Result, error) {
	s, err := New(sc, trace, check)
	if err != nil {
		return result.Result{}, err
	}
	s.Run()
	if s.Violation != nil {
		s.Fail("safety violation: " + s.Violation.Error())
	}
	return s.Result("go-sim", s.Now, 0,
		Runtime{true, s.Events, result.ProcessUsage(), s.FsyncUs()}), nil
}
