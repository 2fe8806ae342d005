package host

import (
	"cmp"
	"fmt"

	"raftbench/go_raft/raft"
	"raftbench/go_raft/scenario"
)

// WaitKind is what a script waits for.
type WaitKind int

const (
	Sleep  WaitKind = iota // until Wait.Until
	Leader                 // a leader of a term above Wait.AfterTerm
	Acks                   // the scenario's commands acknowledged
)

// Wait is what the script waits for before its next step.
type Wait struct {
	Kind      WaitKind
	Until     int64
	AfterTerm int
	Timeout   string // the trial's error if the wait outlasts timeout_ms
}

// Runner is what a runtime does at the script's word.
type Runner interface {
	Faults
	StartClients(leader int)
	StopClients()
	// Wait returns once w is over, with the time then and the leader a
	// Leader wait found; ok is false when the trial ended first.
	Wait(w Wait) (now int64, leader int, ok bool)
}

// Script is the scenario's controller, written once as straight-line code:
// the goroutine runtime blocks in each Wait, the simulator runs the script
// as a coroutine and resumes it from events, so both measure alike.
func (c *Cluster) Script(rt Runner) {
	var now int64
	var leader int
	wait := func(w Wait) (ok bool) {
		w.Timeout = cmp.Or(w.Timeout, "timeout: scenario did not finish within timeout_ms")
		now, leader, ok = rt.Wait(w)
		return ok
	}
	sleep := func(us int64) bool { return wait(Wait{Kind: Sleep, Until: now + us}) }
	if !wait(Wait{Kind: Leader, Timeout: "timeout: no leader elected within timeout_ms"}) {
		return
	}
	sc := c.Scenario
	switch sc.Kind {
	case "election":
		sleep(scenario.Us(sc.ObserveMs))
	case "replication":
		c.setWindow(0, now)
		rt.StartClients(leader)
		w := Wait{Kind: Sleep, Until: now + scenario.Us(sc.DurationMs)}
		if sc.Commands != nil {
			w = Wait{Kind: Acks}
		}
		if !wait(w) {
			return
		}
		// The clients' window ends at the last ack when the commands end
		// it, else now. The followers then have two heartbeats to catch up.
		rt.StopClients()
		end := now
		if sc.Commands != nil {
			_, end = c.Recorder.AckCount()
		}
		c.setWindow(1, end)
		sleep(2 * scenario.Us(sc.HeartbeatMs))
	default: // section 9.3's method: let the leader settle, crash it at a
		// random point of a heartbeat interval, time how long until a leader
		// of a higher term exists, restart it
		for {
			if !sleep(scenario.Us(sc.SettleMs)) || !sleep(c.ControlRng.UniformInt(0, scenario.Us(sc.HeartbeatMs)-1)) {
				return
			}
			crashed, term, _ := c.Recorder.KnownLeader()
			if crashed == raft.None { // faults left no leader: crash the next one
				if !wait(Wait{Kind: Leader, AfterTerm: -1}) {
					return
				}
				continue
			}
			crashUs := now
			rt.Crash(crashed)
			reason := fmt.Sprintf("timeout: no new leader after crash %d", c.failoversDone.Load()+1)
			if !wait(Wait{Kind: Leader, AfterTerm: term, Timeout: reason}) {
				return
			}
			_, _, leaderUs := c.Recorder.KnownLeader()
			c.Recorder.Failover(leaderUs - crashUs)
			c.failoversDone.Add(1)
			if !sleep(0) { // a step of its own, not inside the new leader's Ready
				return
			}
			if !rt.Up(crashed) {
				rt.Restart(crashed)
			}
			if int(c.failoversDone.Load()) >= sc.Failovers {
				return
			}
		}
	}
}
