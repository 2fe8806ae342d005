package runtime

// The scenario's script, ported from py_raft/trial.py. The main goroutine
// runs script and one more goroutine faultScript; each blocks on what it
// waits for, as the Python threads runtime does. A sleep that would pass the
// trial's limit (or the trial's end, for the fault script) aborts the script.

import (
	"fmt"
	"time"

	"raftbench/go_raft/raft"
	"raftbench/go_raft/scenario"
)

// abort unwinds a script whose time is up.
type abort struct{}

// drive runs a script; main scripts report running out of time as the error.
func (c *Cluster) drive(script func(), main bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(abort); !ok {
				panic(r)
			}
			if main {
				c.fail("timeout: scenario did not finish within timeout_ms")
			}
		}
	}()
	script()
}

// sleepUntil sleeps to trial time tUs; past the trial's limit, or once the
// trial is stopping or the watchdog ended it (endTrial), it aborts the script.
func (c *Cluster) sleepUntil(tUs int64) {
	limit := scenario.Us(c.sc.TimeoutMs)
	t := time.NewTimer(time.Duration(max(0, min(tUs, limit)-c.now())) * time.Microsecond)
	defer t.Stop()
	select {
	case <-c.stopping:
		panic(abort{})
	case <-c.ended:
		panic(abort{})
	case <-t.C:
	}
	if tUs > limit {
		panic(abort{})
	}
}

// waitLeader blocks until a leader of a term above afterTerm is known;
// false when the trial's limit, its end or the watchdog's (endTrial) came first.
func (c *Cluster) waitLeader(afterTerm int) (int, bool) {
	limit := scenario.Us(c.sc.TimeoutMs)
	for {
		changed := c.leaderChange() // before the snapshot, so no change slips between
		leader, term, _ := c.rec.Snapshot()
		if leader != raft.None && term > afterTerm {
			return leader, true
		}
		left := limit - c.now()
		if left <= 0 {
			return raft.None, false
		}
		t := time.NewTimer(time.Duration(left) * time.Microsecond)
		select {
		case <-changed:
		case <-t.C:
		case <-c.stopping:
			t.Stop()
			return raft.None, false
		case <-c.ended:
			t.Stop()
			return raft.None, false
		}
		t.Stop()
	}
}

func (c *Cluster) script() {
	leader, ok := c.waitLeader(0)
	if !ok {
		c.fail("timeout: no leader elected within timeout_ms")
		return
	}
	c.sample()
	switch c.sc.Kind {
	case "election":
		c.sleepUntil(c.now() + scenario.Us(c.sc.ObserveMs))
	case "replication":
		c.replicate(leader)
	default:
		if !c.failovers() {
			return
		}
	}
	c.sample()
}

func (c *Cluster) replicate(leader int) {
	sc := c.sc
	c.setWindow(0, c.now())
	c.startClients(leader)
	c.sample()
	end := c.window[0] + scenario.Us(sc.DurationMs)
	if sc.Commands == 0 {
		c.sleepUntil(end)
		c.setWindow(1, c.now())
	} else {
		step := max(scenario.Us(sc.HeartbeatMs)/10, 1)
		for {
			acks, _ := c.rec.AckCount()
			if acks >= sc.Commands || c.now() >= scenario.Us(sc.TimeoutMs) {
				break
			}
			c.sleepUntil(c.now() + step)
		}
		_, lastAck := c.rec.AckCount()
		c.setWindow(1, lastAck)
	}
	c.stopClients()
	c.sleepUntil(c.now() + 2*scenario.Us(sc.HeartbeatMs)) // followers catch up
}

// failovers is section 9.3's method; false when it set an error.
func (c *Cluster) failovers() bool {
	sc := c.sc
	heartbeat := scenario.Us(sc.HeartbeatMs)
	for c.failoversDone < sc.Failovers {
		c.sleepUntil(c.now() + scenario.Us(sc.SettleMs))
		c.sleepUntil(c.now() + c.controlRng.UniformInt(0, heartbeat-1))
		leader, term, _ := c.rec.Snapshot()
		if leader == raft.None {
			if _, ok := c.waitLeader(term - 1); !ok {
				c.fail("timeout: no leader to crash")
				return false
			}
			continue
		}
		crashUs := c.now()
		c.crash(leader)
		if _, ok := c.waitLeader(term); !ok {
			c.fail(fmt.Sprintf("timeout: no new leader after crash %d", c.failoversDone+1))
			return false
		}
		_, _, leaderUs := c.rec.Snapshot()
		c.rec.Failover(leaderUs - crashUs)
		c.failoverDone()
		c.restart(leader)
	}
	return true
}

// faultScript applies the fault schedule at its times.
func (c *Cluster) faultScript() {
	lastCrashed := -1
	for i := range c.sc.Faults {
		f := &c.sc.Faults[i]
		c.sleepUntil(scenario.Us(f.AtMs))
		leader, _, _ := c.rec.Snapshot()
		if f.NeedsLeader() && leader == raft.None {
			// An election is under way: the fault waits for its leader, and
			// the faults after it wait behind it, so a schedule runs whole.
			var ok bool
			if leader, ok = c.waitLeader(0); !ok {
				return
			}
		}
		switch f.Action {
		case "crash":
			node := f.Node
			if node == scenario.LeaderRef {
				node = leader
			}
			if node >= 0 && c.alive(node) {
				lastCrashed = node
				c.crash(node)
			}
		case "restart":
			node := f.Node
			if node == scenario.LeaderRef {
				node = lastCrashed
			}
			if node >= 0 {
				c.restart(node)
			}
		case "partition":
			groups := make([][]int, len(f.Groups))
			for g, members := range f.Groups {
				groups[g] = []int{}
				for _, n := range members {
					if n == scenario.LeaderRef {
						n = leader
					}
					if n >= 0 {
						groups[g] = append(groups[g], n)
					}
				}
			}
			c.partition(groups)
		default:
			c.heal()
		}
	}
}
