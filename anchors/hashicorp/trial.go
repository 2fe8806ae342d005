package main

// One trial (docs/protocol.md, "What the scenarios do"): election, failover
// or replication, with the watchdog that keeps timeout_ms and
// memory_limit_mb, and the result built from go_raft's recorder, so that
// every metric means what it means for the project's own drivers.

import (
	"bufio"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	graft "raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
)

const watchdogPoll = 100 * time.Millisecond

type trial struct {
	*cluster
	rng      *graft.SplitMix64 // the scenario's own choices
	leaderCh chan struct{}     // a signal: the recorder's leader changed
	stopping chan struct{}     // closed when the trial must end
	stopOnce sync.Once

	mu            sync.Mutex
	errMsg        string
	failoversDone int
	window        [2]int64

	clientsOn atomic.Bool
	clientWG  sync.WaitGroup
	enough    chan struct{} // closed when `commands` acks are in

	threadsPeak, goroutinesPeak int
}

func newTrial(sc *scenario.Scenario, trace *bufio.Writer) *trial {
	t := &trial{
		rng:      sc.ControlRng(),
		leaderCh: make(chan struct{}, 1), stopping: make(chan struct{}), enough: make(chan struct{}),
	}
	t.cluster = newCluster(sc, recorder.New(trace, func() {
		select {
		case t.leaderCh <- struct{}{}:
		default:
		}
	}, sc.Nodes))
	return t
}

// stop ends the trial with err (the first error wins).
func (t *trial) stop(err string) {
	t.mu.Lock()
	if t.errMsg == "" {
		t.errMsg = err
	}
	t.mu.Unlock()
	t.stopOnce.Do(func() { close(t.stopping) })
}

func (t *trial) stopped() bool {
	select {
	case <-t.stopping:
		return true
	default:
		return false
	}
}

// sleep waits d or until the trial stops; false if it stopped.
func (t *trial) sleep(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-t.stopping:
		return false
	}
}

// waitLeader waits for a leader of a term above minTerm.
func (t *trial) waitLeader(minTerm int) (leader, term int, ok bool) {
	tick := time.NewTicker(5 * time.Millisecond) // a missed signal costs at most this
	defer tick.Stop()
	for {
		leader, term, _ := t.rec.KnownLeader()
		if leader != graft.None && term > minTerm {
			return leader, term, true
		}
		select {
		case <-t.leaderCh:
		case <-tick.C:
		case <-t.stopping:
			return 0, 0, false
		}
	}
}

func (t *trial) watchdog(quit <-chan struct{}) {
	tick := time.NewTicker(watchdogPoll)
	defer tick.Stop()
	limit := scenario.Us(t.sc.TimeoutMs)
	for {
		select {
		case <-quit:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		t.threadsPeak = max(t.threadsPeak, result.OSThreads())
		t.goroutinesPeak = max(t.goroutinesPeak, runtime.NumGoroutine())
		t.mu.Unlock()
		if kb, ok := result.RSSKb(); ok && t.sc.MemoryLimitMb > 0 && float64(kb) > t.sc.MemoryLimitMb*1024 {
			t.stop(fmt.Sprintf("memory: resident set %d MB passed memory_limit_mb %g", kb/1024, t.sc.MemoryLimitMb))
		}
		if t.now() >= limit {
			t.stop(fmt.Sprintf("timeout: the trial passed timeout_ms %g", t.sc.TimeoutMs))
		}
	}
}

// run runs the trial and returns its result.
func (t *trial) run() result.Result {
	cpuStart := result.CPUSeconds()
	quit := make(chan struct{})
	go t.watchdog(quit)
	if err := t.boot(); err != nil {
		t.stop(err.Error())
	} else if _, _, ok := t.waitLeader(0); ok {
		switch t.sc.Kind {
		case "election":
			t.sleep(msDuration(t.sc.ObserveMs))
		case "failover":
			t.failovers()
		case "replication":
			t.replicate()
		}
	}
	t.clientsOn.Store(false)
	t.clientWG.Wait()
	elapsed := t.now()
	t.shutdown()
	close(quit)
	cpuTrial := recorder.RoundTo(result.CPUSeconds()-cpuStart, 6)
	return t.result(elapsed, cpuTrial)
}

// failovers: settle, a random part of a heartbeat, crash the leader, time
// the wait for a leader of a higher term, restart the crashed server.
func (t *trial) failovers() {
	for range t.sc.Failovers {
		if _, _, ok := t.waitLeader(0); !ok || !t.sleep(msDuration(t.sc.SettleMs)) {
			return
		}
		if !t.sleep(time.Duration(t.rng.Random() * float64(msDuration(t.sc.HeartbeatMs)))) {
			return
		}
		leader, term, ok := t.waitLeader(0)
		if !ok {
			return
		}
		crashed := t.now()
		t.crash(leader)
		if _, _, ok := t.waitLeader(term); !ok {
			return
		}
		t.rec.Failover(t.now() - crashed)
		t.mu.Lock()
		t.failoversDone++
		t.mu.Unlock()
		if err := t.restart(leader); err != nil {
			t.stop(err.Error())
			return
		}
	}
}

// replicate runs the closed-loop clients for duration_ms, or until
// `commands` acks, then two heartbeats more so the followers apply all.
func (t *trial) replicate() {
	leader, _, _ := t.rec.KnownLeader()
	t.mu.Lock()
	t.window[0] = t.now()
	t.mu.Unlock()
	t.clientsOn.Store(true)
	for i := range t.sc.Clients {
		t.clientWG.Add(1)
		go t.client(i, leader)
	}
	var limit <-chan time.Time
	if t.sc.Commands == nil {
		tm := time.NewTimer(msDuration(t.sc.DurationMs))
		defer tm.Stop()
		limit = tm.C
	}
	select {
	case <-limit:
	case <-t.enough:
	case <-t.stopping:
	}
	t.clientsOn.Store(false)
	end := t.now()
	if t.sc.Commands != nil {
		_, end = t.rec.AckCount()
	}
	t.mu.Lock()
	t.window[1] = end
	t.mu.Unlock()
	t.clientWG.Wait()
	t.sleep(2 * msDuration(t.sc.HeartbeatMs))
}

// client is one closed-loop client with the protocol's rules ("Clients"),
// proposing through hashicorp's Apply on the server it believes leads.
func (t *trial) client(id, guess int) {
	defer t.clientWG.Done()
	n := t.sc.Nodes
	payload := strings.Repeat("x", t.sc.PayloadBytes)
	retry, timeout := msDuration(t.sc.ClientRetryMs), msDuration(t.sc.ClientTimeoutMs)
	hop := msDuration(t.sc.Network.LatencyMs)
	seq := 0
	t.sleep(hop)
	for t.clientsOn.Load() {
		seq++
		r := t.live(guess)
		if r == nil {
			guess = (guess + 1) % n
			t.sleep(retry)
			continue
		}
		cmd := "c" + strconv.Itoa(id) + "." + strconv.Itoa(seq)
		start := t.now()
		// Apply's timeout bounds the wait to enqueue; once enqueued, hashicorp
		// ends the future itself (commit, or lost leadership within its lease).
		f := r.Apply(encode(cmd, payload), timeout)
		err := f.Error()
		switch {
		case err == nil:
			t.ack(cmd, int(f.Index()), start)
			t.sleep(2 * hop) // the ack back, the next request out
			continue
		case errors.Is(err, raft.ErrNotLeader):
			if _, lid := r.LeaderWithID(); lid != "" {
				guess, _ = strconv.Atoi(string(lid))
			} else {
				guess = (guess + 1) % n
			}
		case errors.Is(err, raft.ErrEnqueueTimeout):
			guess = (guess + 1) % n
			continue // no answer in time: the next node at once
		default: // lost: leadership lost, or the server shut down
			if t.live(guess) == nil {
				guess = (guess + 1) % n
			}
		}
		t.sleep(retry)
	}
}

func (t *trial) ack(cmd string, index int, start int64) {
	now := t.now()
	t.rec.Ack(now, cmd, index, now-start)
	if t.sc.Commands == nil {
		return
	}
	if acks, _ := t.rec.AckCount(); acks >= *t.sc.Commands && t.clientsOn.CompareAndSwap(true, false) {
		close(t.enough)
	}
}

// figures are the anchor's runtime figures, those of the go driver and tasks_peak.
type figures struct {
	WallMs         float64 `json:"wall_ms"`
	ThreadsPeak    int     `json:"threads_peak"`
	TasksPeak      int     `json:"tasks_peak"`
	GoroutinesPeak int     `json:"goroutines_peak"`
	result.Usage
	CPUTrialS float64 `json:"cpu_trial_s"`
}

// result decides ok as the go driver does: the scenario finished and no
// safety rule broke.
func (t *trial) result(elapsed int64, cpuTrial float64) result.Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	window := t.window
	if window[1] < window[0] {
		window[1] = elapsed
	}
	sent, dropped := t.net.counts()
	m := t.rec.Metrics(elapsed, window[1]-window[0], sent, dropped, 0)
	why := t.errMsg
	switch {
	case t.rec.Violated() != "":
		why = t.rec.Violated()
	case why != "":
	case m.FirstLeaderMs == nil:
		why = "no leader elected"
	case t.sc.Kind == "failover" && t.failoversDone < t.sc.Failovers:
		why = fmt.Sprintf("only %d of %d failovers completed", t.failoversDone, t.sc.Failovers)
	}
	res := result.New("anchor-hashicorp", t.sc, m,
		figures{float64(elapsed) / 1000, t.threadsPeak, 0, t.goroutinesPeak, result.ProcessUsage(), cpuTrial})
	if why != "" {
		res.OK, res.Error = false, &why
	}
	delete(res.Versions, "go_raft")
	res.Versions["hashicorp/raft"] = libraryVersion()
	return res
}
