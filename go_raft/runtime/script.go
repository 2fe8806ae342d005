package runtime

// The scripts: the shared one (host.Cluster.Script) on the calling
// goroutine, and the fault schedule on one more; each blocks on what it
// waits for.

import (
	"raftbench/go_raft/host"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/scenario"
)

// Wait blocks until w is over (host.Runner); a wait that outlasts the
// trial fails it.
func (c *Trial) Wait(w host.Wait) (now int64, leader int, ok bool) {
	leader, ok = raft.None, true
	switch w.Kind {
	case host.Sleep:
		ok = c.sleepUntil(c.limit, w.Until)
	case host.Leader:
		leader, ok = c.waitLeader(w.AfterTerm)
	case host.Acks:
		for acks, _ := c.Recorder.AckCount(); ok && acks < *c.Scenario.Commands; acks, _ = c.Recorder.AckCount() {
			ok = c.sleepUntil(c.limit, c.now()+max(scenario.Us(c.Scenario.HeartbeatMs)/10, 1))
		}
	}
	if !ok {
		c.Fail(w.Timeout)
		return c.now(), raft.None, false
	}
	c.sample()
	return c.now(), leader, true
}

// faultScript applies the fault schedule at its times. A fault that waits
// for a leader holds back the ones after it, so a schedule runs whole.
func (c *Trial) faultScript() {
	for i := range c.Scenario.Faults {
		if !c.sleepUntil(c.limit, scenario.Us(c.Scenario.Faults[i].AtMs)) {
			return
		}
		for !c.applyFault(&c.Scenario.Faults[i]) {
			if _, ok := c.waitLeader(0); !ok {
				return
			}
		}
	}
}

// waitLeader blocks until a leader of a term above afterTerm is known;
// false past the trial's limit, or at its end.
func (c *Trial) waitLeader(afterTerm int) (int, bool) {
	for {
		changed := c.leaderChange() // before the snapshot, so no change slips between
		if leader, term, _ := c.Recorder.KnownLeader(); leader != raft.None && term > afterTerm {
			return leader, true
		}
		select {
		case <-changed:
		case <-c.limit.Done():
			return raft.None, false
		}
	}
}
