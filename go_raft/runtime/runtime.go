// Package runtime is the goroutine runtime: a real-time trial on package
// node. What a node does with an input, what a fault means and what a client
// decides are the simulator's too (packages host, scenario and client); this
// package adds how goroutines wait and deliver: a goroutine per node (package
// node), per client, for the network (courier.go), for the fault schedule
// and for the watchdog (watchdog.go), while the calling goroutine runs the
// scenario's script (script.go).
//
// Every wait and every node ends when the trial's context is cancelled
// (freeze; a stopped node drops what it is sent and never blocks a sender).
// Shutdown freezes the cluster, waits for the network, fault and client
// goroutines, then for the nodes, then for the watchdog, which watches the
// shutdown too.
package runtime

import (
	"bufio"
	"context"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"raftbench/go_raft/client"
	"raftbench/go_raft/filestore"
	"raftbench/go_raft/host"
	"raftbench/go_raft/node"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
)

// Trial is one real-time trial.
type Trial struct {
	*host.Cluster
	start time.Time
	// ctx is cancelled when the cluster freezes, at the end of the trial or
	// when the watchdog ends it; limit too, and at timeout_ms.
	ctx, limit context.Context
	cancel     context.CancelFunc
	courier    *courier
	workers    sync.WaitGroup // the network, the fault schedule and the clients
	// mu guards leaderChanged and the peaks.
	mu sync.Mutex
	// leaderChanged is closed and replaced whenever the known leader
	// changes: a broadcast, since both scripts may wait for a leader.
	leaderChanged  chan struct{}
	threadsPeak    int
	goroutinesPeak int
	membership     sync.Mutex                  // the Incarnations: crashes and restarts come from two goroutines
	nodes          []atomic.Pointer[node.Node] // nil: crashed
	clientsOn      atomic.Bool
	endedAt        atomic.Int64                            // trial time of endTrial; 0: not ended
	hardStop       func(res result.Result, cleanup func()) // see Run; nil: none
	hardStopped    atomic.Bool                             // set by the one goroutine that makes the hard stop
	lastLook       atomic.Int64                            // trial time of the last look at the resident set
	inboxDropped   atomic.Int64                            // by the nodes stopped so far
	cpuStart       float64
}

// New prepares a trial; trace may be nil.
func New(sc *scenario.Scenario, trace *bufio.Writer) (*Trial, error) {
	c := &Trial{start: time.Now(), nodes: make([]atomic.Pointer[node.Node], sc.Nodes), leaderChanged: make(chan struct{})}
	var err error
	if c.Cluster, err = host.NewCluster(sc, recorder.New(trace, c.notify, sc.Nodes)); err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.courier = newCourier(c.ctx, c.now, c.deliver)
	return c, nil
}

func (c *Trial) now() int64 { return time.Since(c.start).Microseconds() }

func (c *Trial) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.leaderChanged)
	c.leaderChanged = make(chan struct{})
}

// leaderChange returns a channel closed at the next change of the known leader.
func (c *Trial) leaderChange() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaderChanged
}

// SendAll is the nodes' Send hook: the network model decides each message's
// fate as it is sent, and the network goroutine delivers it when it is due.
// One Ready's messages, a broadcast to thousands of peers in a large
// cluster, take each lock once.
func (c *Trial) SendAll(src int, msgs []raft.Envelope) {
	if c.ctx.Err() != nil {
		c.hardStopIfDue(c.now())
		return
	}
	now := c.now()
	c.lookIfOverdue(now)
	c.courier.postAll(c.Route(src, msgs, now))
}

// deliver runs on the network goroutine with a batch of due messages.
func (c *Trial) deliver(batch []inflight) {
	if c.ctx.Err() != nil {
		return
	}
	for _, m := range batch {
		if n := c.nodes[m.dst].Load(); n != nil {
			n.Step(m.msg) // a stopped node drops it, a full inbox too
		}
	}
}

// startNode starts node id's current incarnation; the caller publishes it.
func (c *Trial) startNode(id int) *node.Node {
	h := c.NewHost(id, c.now(), host.Hooks{Send: c.SendAll})
	return node.Start(h, node.Config{Now: c.now, InboxCapacity: c.Scenario.InboxLimit(), Context: c.ctx})
}

// ---- faults (host.Faults) ----------------------------------------------------
//
// The script and the fault schedule may both crash or restart a node: each
// takes membership and does nothing if the other did it first. The fault
// schedule holds it from resolving a fault to carrying it out (applyFault),
// so that the leader a "crash leader" fault names is the node it crashes.

// Up tells whether node id runs.
func (c *Trial) Up(id int) bool { return c.nodes[id].Load() != nil }

// Crash stops node id and ends its incarnation.
func (c *Trial) Crash(id int) {
	c.membership.Lock()
	defer c.membership.Unlock()
	c.crash(id)
}

// Restart starts node id's next incarnation.
func (c *Trial) Restart(id int) {
	c.membership.Lock()
	defer c.membership.Unlock()
	c.restart(id)
}

// crash and restart are Crash and Restart for a caller that holds membership.
func (c *Trial) crash(id int) {
	n := c.nodes[id].Swap(nil)
	if n == nil {
		return
	}
	n.Stop()
	c.inboxDropped.Add(n.Dropped())
	c.Crashed(n.Host(), c.now())
}

func (c *Trial) restart(id int) {
	if c.Up(id) {
		return
	}
	c.Recorder.Restart(c.now(), id)
	c.nodes[id].Store(c.startNode(id))
}

// held is the trial as a fault sees it while applyFault holds membership.
type held struct{ *Trial }

func (h held) Crash(id int)   { h.crash(id) }
func (h held) Restart(id int) { h.restart(id) }

// applyFault resolves and carries out the due fault f as one step.
func (c *Trial) applyFault(f *scenario.Fault) bool {
	c.membership.Lock()
	defer c.membership.Unlock()
	return c.ApplyFault(f, held{c}, c.now())
}

// ---- clients: the shared client, on a goroutine each ------------------------

// StartClients starts the clients, their first request to leader (host.Runner).
func (c *Trial) StartClients(leader int) {
	sc := c.Scenario
	c.clientsOn.Store(true)
	for id := range sc.Clients {
		cl := client.New(id, leader, sc.Nodes, c.Network.LatencyUs, scenario.Us(sc.ClientRetryMs))
		c.workers.Go(func() {
			for pause := cl.HopUs; c.sleepUntil(c.ctx, c.now()+pause) && c.clientsOn.Load(); {
				o, hint := c.request(cl.Target, cl.Next())
				pause = cl.Outcome(o, hint, c.Up)
			}
		})
	}
}

// StopClients stops them at their next request (host.Runner).
func (c *Trial) StopClients() { c.clientsOn.Store(false) }

// request proposes cmd at node id and waits for the outcome, until
// client_timeout_ms or the end of the trial.
func (c *Trial) request(id int, cmd string) (client.Outcome, int) {
	n := c.nodes[id].Load()
	if n == nil {
		return client.Redirect, raft.None
	}
	type answer struct {
		o    client.Outcome
		hint int
	}
	ch := make(chan answer, 1) // answered once (host.Request): the send never blocks
	n.Propose(&host.Request{Cmd: cmd, Answer: func(o client.Outcome, hint int) { ch <- answer{o, hint} }},
		c.Payload)
	t := time.NewTimer(usDuration(scenario.Us(c.Scenario.ClientTimeoutMs)))
	defer t.Stop()
	select {
	case a := <-ch:
		return a.o, a.hint
	case <-t.C:
	case <-c.ctx.Done():
	}
	return client.Timeout, raft.None
}

// sleepUntil waits until trial time tUs; false if ctx ends first.
func (c *Trial) sleepUntil(ctx context.Context, tUs int64) bool {
	t := time.NewTimer(usDuration(tUs - c.now()))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func usDuration(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// ---- the trial -------------------------------------------------------------

func (c *Trial) sample() {
	threads, goroutines := result.OSThreads(), goruntime.NumGoroutine()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.threadsPeak = max(c.threadsPeak, threads)
	c.goroutinesPeak = max(c.goroutinesPeak, goroutines)
}

func (c *Trial) execute() {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // freeze changes it
	var cancelLimit context.CancelFunc
	c.limit, cancelLimit = context.WithDeadline(c.ctx, c.start.Add(usDuration(scenario.Us(c.Scenario.TimeoutMs))))
	defer cancelLimit()
	var watchdog sync.WaitGroup
	quitWatchdog := make(chan struct{})
	watchdog.Go(func() { c.watchdog(quitWatchdog) })
	for id := range c.nodes {
		c.nodes[id].Store(c.startNode(id))
	}
	c.workers.Go(c.courier.run) // once all run: deliveries would wake thousands of goroutines in between
	c.workers.Go(c.faultScript)
	c.sample()
	c.Script(c)
	c.freeze()
	c.workers.Wait()         // no crash or restart races with what follows
	for i := range c.nodes { // freeze stopped them all at once (node.Config.Context)
		if n := c.nodes[i].Swap(nil); n != nil {
			n.Stop()
			c.inboxDropped.Add(n.Dropped())
			n.Host().Retire()
		}
	}
	close(quitWatchdog) // it watched the shutdown too
	watchdog.Wait()
}

// Runtime is the goroutine runtime's own figures in a result.
type Runtime struct {
	WallMs         float64 `json:"wall_ms"`
	ThreadsPeak    int     `json:"threads_peak"`
	GoroutinesPeak int     `json:"goroutines_peak"`
	result.Usage
	CPUTrialS float64            `json:"cpu_trial_s"`        // the trial's alone, without the start-up
	FsyncUs   *filestore.Summary `json:"fsync_us,omitempty"` // file storage only
}

// Run runs one trial in real time and builds its result. hardStop, if not
// nil, is the watchdog's last resort (watchdog.go): when the trial does not
// stop within a grace period of being asked to, hardStop gets the result as
// it stands, with the trace flushed, and should print it, call cleanup (it
// removes the trial's files, which nodes that still run may be writing) and
// end the process.
func Run(sc *scenario.Scenario, trace *bufio.Writer, hardStop func(res result.Result, cleanup func())) (result.Result, error) {
	c, err := New(sc, trace)
	if err != nil {
		return result.Result{}, err
	}
	c.hardStop = hardStop
	c.cpuStart = result.CPUSeconds()
	c.execute()
	defer c.Close() // every node has stopped and closed its files
	return c.result(), nil
}

// result builds the trial's result from what it holds now: at the end, or
// from the watchdog's hard stop while goroutines still run, when it counts
// the heartbeat gaps of stopped incarnations only.
func (c *Trial) result() result.Result {
	elapsed := c.now()
	cpuTrial := recorder.RoundTo(result.CPUSeconds()-c.cpuStart, 6)
	inboxDropped := c.inboxDropped.Load()
	for i := range c.nodes { // none at the end: shutdown retires them all
		if n := c.nodes[i].Load(); n != nil {
			inboxDropped += n.Dropped()
		}
	}
	c.mu.Lock()
	rt := Runtime{float64(elapsed) / 1000, c.threadsPeak, c.goroutinesPeak, result.ProcessUsage(), cpuTrial, c.FsyncUs()}
	c.mu.Unlock()
	return c.Result("go", elapsed, int(inboxDropped), rt)
}
