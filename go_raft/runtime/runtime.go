// Package runtime is the goroutine runtime: a real-time trial on package
// node. What a node does with an input, what a fault means and what a client
// decides are the simulator's too (packages host, scenario and client); this
// package adds how goroutines wait and deliver: a goroutine per node (package
// node), per client, for the network (courier.go), for the fault schedule
// and for the watchdog (watchdog.go), while the calling goroutine runs the
// scenario's script (script.go).
//
// Shutdown freezes the cluster (watchdog.go), waits for the fault goroutine,
// stops the network, halts every node (a stopped node drops what it is sent
// and never blocks a sender) and waits for them together, then for the
// clients, then for the watchdog, which watches the shutdown too.
package runtime

import (
	"bufio"
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

// Trial is one real-time trial. Of its host.Cluster, netMu guards the
// Network, membership the Incarnations and LastCrashed.
type Trial struct {
	*host.Cluster
	start      time.Time
	netMu      sync.Mutex
	courier    *courier
	membership sync.Mutex   // crashes and restarts come from two goroutines
	nodesMu    sync.RWMutex // guards nodes, read by every delivery
	nodes      []*node.Node // nil: crashed
	clientsOn  atomic.Bool
	clients    sync.WaitGroup
	// leaderChanged is closed and replaced whenever the known leader
	// changes: a broadcast, since both scripts may wait for a leader.
	leaderMu      sync.Mutex
	leaderChanged chan struct{}
	// quit is closed when the cluster freezes (freeze), at the end of the
	// trial or when the watchdog ends it: every wait ends.
	quit       chan struct{}
	frozen     atomic.Bool
	freezeOnce sync.Once
	endOnce    sync.Once
	endedAt    atomic.Int64                            // trial time of endTrial; 0: not ended
	hardStop   func(res result.Result, cleanup func()) // see Run; nil: none
	// hardStopped is set by the one goroutine that makes the hard stop.
	hardStopped  atomic.Bool
	lastLook     atomic.Int64 // trial time of the last look at the resident set
	inboxDropped atomic.Int64 // by the nodes stopped so far

	peakMu         sync.Mutex // the hard stop reads the peaks while the script runs
	threadsPeak    int
	goroutinesPeak int
	cpuStart       float64
}

// New prepares a trial; trace may be nil.
func New(sc *scenario.Scenario, trace *bufio.Writer) (*Trial, error) {
	c := &Trial{start: time.Now(), nodes: make([]*node.Node, sc.Nodes),
		leaderChanged: make(chan struct{}), quit: make(chan struct{})}
	var err error
	if c.Cluster, err = host.NewCluster(sc, recorder.New(trace, c.notify, sc.Nodes)); err != nil {
		return nil, err
	}
	c.courier = newCourier(c.now, c.deliver)
	return c, nil
}

func (c *Trial) now() int64 { return time.Since(c.start).Microseconds() }

func (c *Trial) notify() {
	c.leaderMu.Lock()
	defer c.leaderMu.Unlock()
	close(c.leaderChanged)
	c.leaderChanged = make(chan struct{})
}

// leaderChange returns a channel closed at the next change of the known leader.
func (c *Trial) leaderChange() <-chan struct{} {
	c.leaderMu.Lock()
	defer c.leaderMu.Unlock()
	return c.leaderChanged
}

// SendAll is the nodes' Send hook: the network model decides each message's
// fate as it is sent, and the network goroutine delivers it when it is due.
// One Ready's messages, a broadcast to thousands of peers in a large
// cluster, take each lock once.
func (c *Trial) SendAll(src int, msgs []raft.Envelope) {
	if c.frozen.Load() {
		c.hardStopIfDue(c.now())
		return
	}
	now := c.now()
	c.lookIfOverdue(now)
	c.netMu.Lock()
	defer c.netMu.Unlock()
	c.courier.postAll(func(yield func(int64, raft.Envelope) bool) {
		for _, e := range msgs {
			if delay, ok := c.Network.Delay(src, e.To); ok && !yield(now+delay, e) {
				return
			}
		}
	})
}

// deliver runs on the network goroutine with a batch of due messages.
func (c *Trial) deliver(batch []inflight) {
	if c.frozen.Load() {
		return
	}
	c.nodesMu.RLock()
	defer c.nodesMu.RUnlock()
	for _, m := range batch {
		if n := c.nodes[m.dst]; n != nil {
			n.Step(m.msg) // a stopped node drops it, a full inbox too
		}
	}
}

func (c *Trial) node(id int) *node.Node {
	c.nodesMu.RLock()
	defer c.nodesMu.RUnlock()
	return c.nodes[id]
}

// startNode starts node id's current incarnation; the caller publishes it.
func (c *Trial) startNode(id int) *node.Node {
	h := c.NewHost(id, c.now(), host.Hooks{Send: c.SendAll})
	return node.Start(h, node.Config{Now: c.now, InboxCapacity: c.Scenario.InboxLimit(), Quit: c.quit})
}

// ---- faults (host.Faults; the caller holds membership) -----------------------

// Up tells whether node id runs.
func (c *Trial) Up(id int) bool { return c.node(id) != nil }

// Crash stops node id and ends its incarnation.
func (c *Trial) Crash(id int) {
	c.nodesMu.Lock()
	n := c.nodes[id]
	c.nodes[id] = nil
	c.nodesMu.Unlock()
	n.Stop()
	c.inboxDropped.Add(n.Dropped())
	c.Crashed(n.Host(), c.now())
}

// Restart starts node id's next incarnation.
func (c *Trial) Restart(id int) {
	c.Recorder.Restart(c.now(), id)
	n := c.startNode(id)
	c.nodesMu.Lock()
	defer c.nodesMu.Unlock()
	c.nodes[id] = n
}

// Partition splits the network.
func (c *Trial) Partition(groups [][]int) {
	c.netMu.Lock()
	c.Network.Partition(groups)
	c.netMu.Unlock()
	c.Recorder.Partition(c.now(), groups)
}

// Heal ends the partition.
func (c *Trial) Heal() {
	c.netMu.Lock()
	c.Network.Heal()
	c.netMu.Unlock()
	c.Recorder.Heal(c.now())
}

// ---- clients: the shared client, on a goroutine each ------------------------

// StartClients starts the clients, their first request to leader (host.Runner).
func (c *Trial) StartClients(leader int) {
	sc := c.Scenario
	c.clientsOn.Store(true)
	for id := range sc.Clients {
		cl := client.New(id, leader, sc.Nodes, c.Network.LatencyUs, scenario.Us(sc.ClientRetryMs))
		c.clients.Add(1)
		go func() {
			defer c.clients.Done()
			for c.sleep(cl.HopUs); c.clientsOn.Load(); {
				o, hint := c.request(cl.Target, cl.Next())
				c.sleep(cl.Outcome(o, hint, c.Up))
			}
		}()
	}
}

// StopClients stops them at their next request (host.Runner).
func (c *Trial) StopClients() { c.clientsOn.Store(false) }

// request proposes cmd at node id and waits for the outcome, until
// client_timeout_ms or the end of the trial.
func (c *Trial) request(id int, cmd string) (client.Outcome, int) {
	n := c.node(id)
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
	case <-c.quit:
	}
	return client.Timeout, raft.None
}

// sleep waits us microseconds, or less if the trial ends.
func (c *Trial) sleep(us int64) {
	t := time.NewTimer(usDuration(us))
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.quit:
	}
}

func usDuration(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// ---- the trial -------------------------------------------------------------

func (c *Trial) sample() {
	threads, goroutines := result.OSThreads(), goruntime.NumGoroutine()
	c.peakMu.Lock()
	defer c.peakMu.Unlock()
	c.threadsPeak = max(c.threadsPeak, threads)
	c.goroutinesPeak = max(c.goroutinesPeak, goroutines)
}

func (c *Trial) execute() {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // freeze changes it
	var watchdog, faults sync.WaitGroup
	quitWatchdog := make(chan struct{})
	watchdog.Add(1)
	go func() {
		defer watchdog.Done()
		c.watchdog(quitWatchdog)
	}()
	c.courier.start()
	c.nodesMu.Lock() // one lock for all: deliveries would wake thousands of goroutines in between
	for id := range c.nodes {
		c.nodes[id] = c.startNode(id)
	}
	c.nodesMu.Unlock()
	faults.Add(1)
	go func() {
		defer faults.Done()
		c.faultScript()
	}()
	c.sample()
	c.script()
	c.freeze()
	c.clientsOn.Store(false)
	faults.Wait() // no crash or restart races with what follows
	c.courier.halt()
	c.nodesMu.Lock()
	nodes := c.nodes
	c.nodes = make([]*node.Node, len(nodes))
	c.nodesMu.Unlock()
	for _, n := range nodes {
		if n != nil {
			n.Halt()
		}
	}
	for _, n := range nodes {
		if n != nil {
			<-n.Done()
			c.inboxDropped.Add(n.Dropped())
			n.Host().Retire()
		}
	}
	c.clients.Wait()
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
	c.netMu.Lock()
	sent, dropped := c.Network.Sent, c.Network.Dropped
	c.netMu.Unlock()
	inboxDropped := c.inboxDropped.Load()
	c.nodesMu.RLock()
	for _, n := range c.nodes { // none at the end: shutdown retires them all
		if n != nil {
			inboxDropped += n.Dropped()
		}
	}
	c.nodesMu.RUnlock()
	c.peakMu.Lock()
	defer c.peakMu.Unlock()
	return c.Result("go", elapsed, sent, dropped, int(inboxDropped),
		Runtime{float64(elapsed) / 1000, c.threadsPeak, c.goroutinesPeak, result.ProcessUsage(), cpuTrial, c.FsyncUs()})
}
