package host

import (
	"fmt"

	"raftbench/go_raft/raft"
	"raftbench/go_raft/scenario"
)

// WaitKind is what a Script waits for.
type WaitKind int

const (
	Sleep  WaitKind = iota // until Wait.Until
	Leader                 // a leader of a term above Wait.AfterTerm
	Acks                   // the scenario's commands acknowledged
	Done                   // nothing more: the trial is over
)

// Wait is what a Script waits for before its next step.
type Wait struct {
	Kind      WaitKind
	Until     int64
	AfterTerm int
}

// Runner is what a runtime does at a Script's word.
type Runner interface {
	Faults
	StartClients(leader int)
	StopClients()
}

// Script is the scenario's controller, written once: a chain of steps, each
// ending in what it waits for next. The simulator resumes it from events, the
// goroutine runtime after blocking on each Wait, so both measure alike.
type Script struct {
	c       *Cluster
	rt      Runner
	next    func(now int64, leader int) Wait
	timeout string // why the trial fails if the current wait outlasts it
	crashed int    // the failover under way: the crashed leader, when
	crashUs int64
}

// NewScript is c's script, carried out by rt.
func NewScript(c *Cluster, rt Runner) *Script { return &Script{c: c, rt: rt} }

// Start is the first wait: for a leader.
func (s *Script) Start() Wait {
	s.next, s.timeout = s.begin, "timeout: no leader elected within timeout_ms"
	return Wait{Kind: Leader}
}

// Resume takes the next step at now, once the last wait is over; leader is
// the one a Leader wait found.
func (s *Script) Resume(now int64, leader int) Wait {
	s.timeout = "timeout: scenario did not finish within timeout_ms"
	return s.next(now, leader)
}

// TimeoutReason is the trial's error when the current wait outlasts timeout_ms.
func (s *Script) TimeoutReason() string { return s.timeout }

func (s *Script) sleep(until int64, next func(now int64, leader int) Wait) Wait {
	s.next = next
	return Wait{Kind: Sleep, Until: until}
}

func (s *Script) done(int64, int) Wait { return Wait{Kind: Done} }

// begin starts what the scenario's kind measures, once a leader exists.
func (s *Script) begin(now int64, leader int) Wait {
	sc := s.c.Scenario
	switch sc.Kind {
	case "election":
		return s.sleep(now+scenario.Us(sc.ObserveMs), s.done)
	case "replication":
		s.c.setWindow(0, now)
		s.rt.StartClients(leader)
		if sc.Commands != nil {
			s.next = s.stopClients
			return Wait{Kind: Acks}
		}
		return s.sleep(now+scenario.Us(sc.DurationMs), s.stopClients)
	}
	return s.settle(now, leader)
}

// stopClients ends the clients' window: at the last ack when the commands
// end it, else now. The followers then have two heartbeats to catch up.
func (s *Script) stopClients(now int64, _ int) Wait {
	s.rt.StopClients()
	end := now
	if s.c.Scenario.Commands != nil {
		_, end = s.c.Recorder.AckCount()
	}
	s.c.setWindow(1, end)
	return s.sleep(now+2*scenario.Us(s.c.Scenario.HeartbeatMs), s.done)
}

// settle, arm, crash, failedOver and restart are section 9.3's method: let
// the leader settle, crash it at a random point of a heartbeat interval, and
// time how long until a leader of a higher term exists.
func (s *Script) settle(now int64, _ int) Wait {
	return s.sleep(now+scenario.Us(s.c.Scenario.SettleMs), s.arm)
}

func (s *Script) arm(now int64, _ int) Wait {
	return s.sleep(now+s.c.ControlRng.UniformInt(0, scenario.Us(s.c.Scenario.HeartbeatMs)-1), s.crash)
}

func (s *Script) crash(now int64, _ int) Wait {
	leader, term, _ := s.c.Recorder.KnownLeader()
	if leader == raft.None { // faults left no leader: crash the next one
		s.next = s.settle
		return Wait{Kind: Leader, AfterTerm: -1}
	}
	s.crashed, s.crashUs = leader, now
	s.rt.Crash(leader)
	s.next = s.failedOver
	s.timeout = fmt.Sprintf("timeout: no new leader after crash %d", s.c.FailoversDone()+1)
	return Wait{Kind: Leader, AfterTerm: term}
}

func (s *Script) failedOver(now int64, _ int) Wait {
	_, _, leaderUs := s.c.Recorder.KnownLeader()
	s.c.Recorder.Failover(leaderUs - s.crashUs)
	s.c.mu.Lock()
	s.c.failoversDone++
	s.c.mu.Unlock()
	return s.sleep(now, s.restart) // a step of its own, not inside the new leader's Ready
}

func (s *Script) restart(now int64, leader int) Wait {
	if !s.rt.Up(s.crashed) {
		s.rt.Restart(s.crashed)
	}
	if s.c.FailoversDone() >= s.c.Scenario.Failovers {
		return Wait{Kind: Done}
	}
	return s.settle(now, leader)
}
