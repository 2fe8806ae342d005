// Package runtime is the goroutine runtime: a real-time trial on package
// node, ported from py_raft/threads_rt.py, host.py and trial.py.
//
// Goroutines per trial:
//   - one per node (package node), selecting on its inbox and its time.Timer;
//     the inbox holds at most the scenario's inbox_capacity peer messages;
//   - one for the network (courier.go): the shared network model (package
//     network), guarded by a mutex, decides each message's fate when it is
//     sent, and the network goroutine delivers it when it is due;
//   - one per client, waiting on a channel per command;
//   - the main goroutine runs the scenario's script, and one more the fault
//     schedule (script.go);
//   - the watchdog (watchdog.go), which keeps memory_limit_mb and, as a
//     backstop, timeout_ms.
//
// Shutdown freezes the cluster (watchdog.go), waits for the fault goroutine,
// stops the network, halts every node (a stopped node drops what it is sent
// and never blocks a sender) and waits for them together, then for the
// clients, then for the watchdog, which watches the shutdown too.
package runtime

import (
	"bufio"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"raftbench/go_raft/internal/pyjson"
	"raftbench/go_raft/kv"
	"raftbench/go_raft/network"
	"raftbench/go_raft/node"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
	"raftbench/go_raft/sim"
)

// Outcomes a client is told: committed, lost (retry), or redirected to a hint.
const (
	outcomeOK = iota
	outcomeLost
	outcomeRedirect
)

type reply struct {
	outcome int
	value   int // the index, or the leader hint (-1: none)
}

type pending struct {
	cmd    string
	sentUs int64
	reply  func(reply)
}

// host is one incarnation of a node and what the runtime keeps beside it.
// pending, kv, clock and gapsUs belong to the node's goroutine while it runs.
type host struct {
	id      int
	node    *node.Node
	kv      *kv.KeyValue
	pending map[int]pending
	clock   recorder.AppendClock
	gapsUs  []int64 // heartbeat gaps (recorder.AppendClock)
}

// Cluster is one real-time trial.
type Cluster struct {
	sc         *scenario.Scenario
	start      time.Time
	rec        *recorder.Recorder
	controlRng *raft.SplitMix64
	config     raft.Config

	netMu   sync.Mutex
	net     *network.Network
	courier *courier

	membership   sync.Mutex // crash and restart come from two goroutines
	nodesMu      sync.RWMutex
	hosts        []*host
	incarnations []int
	storages     []*raft.MemoryStorage
	members      []int

	clientsOn atomic.Bool
	clientWG  sync.WaitGroup
	// leaderChanged is closed and replaced whenever the known leader
	// changes: a broadcast, since the script and the fault script may both
	// be waiting for a leader.
	leaderMu      sync.Mutex
	leaderChanged chan struct{}
	stopping      chan struct{} // closed at the end of the trial
	// frozen and quit (closed) say that the cluster is frozen (freeze).
	frozen     atomic.Bool
	quit       chan struct{}
	freezeOnce sync.Once
	// ended is closed when the trial is ended early (endTrial).
	ended    chan struct{}
	endOnce  sync.Once
	endedAt  atomic.Int64         // trial time of endTrial; 0: not ended
	hardStop func(res pyjson.Obj) // see Run; nil: none
	// hardStopped is set by the one goroutine that makes the hard stop.
	hardStopped atomic.Bool
	lastLook    atomic.Int64 // trial time of the last look at the resident set

	// retired holds what stopped incarnations leave for the metrics.
	retiredMu    sync.Mutex
	gapsUs       []int64
	inboxDropped int64

	// verdictMu guards what the watchdog's hard stop may read while the
	// script runs; the script's goroutine reads them without it.
	verdictMu      sync.Mutex
	errMsg         string // the first reason the trial failed (fail)
	failoversDone  int
	window         [2]int64
	threadsPeak    int
	goroutinesPeak int
	cpuStart       float64
}

// New prepares a trial; trace may be nil.
func New(sc *scenario.Scenario, trace *bufio.Writer) *Cluster {
	seed := uint64(sc.Seed)
	c := &Cluster{
		sc:         sc,
		start:      time.Now(),
		controlRng: raft.NewSplitMix64(raft.DeriveSeed(seed, 0)),
		config:     sim.MakeConfig(sc),
		net: network.New(scenario.Us(sc.Network.LatencyMs), scenario.Us(sc.Network.JitterMs),
			sc.Network.DropRate, raft.NewSplitMix64(raft.DeriveSeed(seed, 1))),
		hosts:         make([]*host, sc.Nodes),
		incarnations:  make([]int, sc.Nodes),
		storages:      make([]*raft.MemoryStorage, sc.Nodes),
		leaderChanged: make(chan struct{}),
		stopping:      make(chan struct{}),
		ended:         make(chan struct{}),
		quit:          make(chan struct{}),
	}
	c.courier = newCourier(c.now, c.deliver)
	c.rec = recorder.New(trace, c.notify)
	c.members = make([]int, sc.Nodes) // shared by every node: the core skips its own id
	for i := range c.storages {
		c.storages[i] = raft.NewMemoryStorage()
		c.members[i] = i
	}
	return c
}

func (c *Cluster) now() int64 { return time.Since(c.start).Microseconds() }

func (c *Cluster) notify() {
	c.leaderMu.Lock()
	close(c.leaderChanged)
	c.leaderChanged = make(chan struct{})
	c.leaderMu.Unlock()
}

// leaderChange returns a channel closed at the next change of the known leader.
func (c *Cluster) leaderChange() <-chan struct{} {
	c.leaderMu.Lock()
	defer c.leaderMu.Unlock()
	return c.leaderChanged
}

// ---- network ---------------------------------------------------------------

// Send is the nodes' transport for one message (SendAll does the work).
func (c *Cluster) Send(src, dst int, msg raft.Message) {
	c.SendAll(src, []raft.Envelope{{To: dst, Msg: msg}})
}

// SendAll is the nodes' transport (node.BatchTransport): the network model
// decides each message's fate as it is sent, and the network goroutine
// delivers it when it is due. One Ready's messages take each lock once.
func (c *Cluster) SendAll(src int, msgs []raft.Envelope) {
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
			if delay, ok := c.net.Delay(src, e.To); ok && !yield(now+delay, e) {
				return
			}
		}
	})
}

// deliver runs on the network goroutine with a batch of due messages.
func (c *Cluster) deliver(batch []inflight) {
	if c.frozen.Load() {
		return
	}
	c.nodesMu.RLock()
	defer c.nodesMu.RUnlock()
	for _, m := range batch {
		if h := c.hosts[m.dst]; h != nil {
			h.node.Step(m.msg) // a stopped node drops it, a full inbox too
		}
	}
}

// ---- nodes and faults ------------------------------------------------------

func (c *Cluster) host(id int) *host {
	c.nodesMu.RLock()
	defer c.nodesMu.RUnlock()
	return c.hosts[id]
}

func (c *Cluster) startNode(id int) {
	h := c.newHost(id)
	c.nodesMu.Lock()
	c.hosts[id] = h
	c.nodesMu.Unlock()
}

// startAll starts every node, publishing them all under one lock: a lock per
// node would let the network goroutine's deliveries, and with them thousands
// of woken goroutines, cut in between the starts of a large cluster.
func (c *Cluster) startAll() {
	c.nodesMu.Lock()
	defer c.nodesMu.Unlock()
	for id := range c.sc.Nodes {
		c.hosts[id] = c.newHost(id)
	}
}

// newHost starts a node's incarnation; the caller publishes it in hosts.
func (c *Cluster) newHost(id int) *host {
	h := &host{id: id, kv: kv.New(), pending: map[int]pending{}}
	h.node = node.Start(node.Config{
		ID: id, Peers: c.members, Transport: c, Storage: c.storages[id],
		Apply: func(index int, e raft.Entry) { c.apply(h, index, e) },
		Raft:  c.config, Seed: sim.NodeSeed(uint64(c.sc.Seed), id, c.incarnations[id]),
		Now:          c.now,
		OnTransition: func(role raft.Role, term int) { c.rec.State(c.now(), id, role, term) },
		Observe: func(msg raft.Message, now int64) {
			if gap, ok := h.clock.Handle(msg, now); ok {
				h.gapsUs = append(h.gapsUs, gap)
			}
		},
		InboxCapacity: c.sc.EffectiveInboxCapacity(),
		Quit:          c.quit,
	})
	return h
}

// apply runs on the node's goroutine: trace, state machine, then the client.
func (c *Cluster) apply(h *host, index int, e raft.Entry) {
	now := c.now()
	c.rec.Apply(now, h.id, index, e)
	h.kv.Apply(index, e)
	p, ok := h.pending[index]
	if !ok {
		return
	}
	delete(h.pending, index)
	if !e.Noop && e.Cmd == p.cmd {
		c.rec.Ack(now, p.cmd, index, now-p.sentUs)
		p.reply(reply{outcomeOK, index})
	} else {
		p.reply(reply{outcomeLost, index})
	}
}

func (c *Cluster) crash(id int) {
	c.membership.Lock()
	defer c.membership.Unlock()
	h := c.host(id)
	if h == nil {
		return
	}
	c.nodesMu.Lock()
	c.hosts[id] = nil
	c.nodesMu.Unlock()
	c.incarnations[id]++
	c.rec.Crash(c.now(), id)
	h.node.Stop()
	h.failPending()
	c.retire(h)
}

// retire keeps what a stopped incarnation leaves for the metrics.
func (c *Cluster) retire(h *host) {
	c.retiredMu.Lock()
	defer c.retiredMu.Unlock()
	c.gapsUs = append(c.gapsUs, h.gapsUs...)
	h.gapsUs = nil
	c.inboxDropped += h.node.Dropped()
}

// failPending tells every waiting client its command is lost (the node crashed).
func (h *host) failPending() {
	indexes := make([]int, 0, len(h.pending))
	for index := range h.pending {
		indexes = append(indexes, index)
	}
	slices.Sort(indexes)
	for _, index := range indexes {
		h.pending[index].reply(reply{outcomeLost, index})
	}
	h.pending = map[int]pending{}
}

func (c *Cluster) restart(id int) {
	c.membership.Lock()
	defer c.membership.Unlock()
	if c.host(id) == nil {
		c.rec.Restart(c.now(), id)
		c.startNode(id)
	}
}

func (c *Cluster) alive(id int) bool { return c.host(id) != nil }

func (c *Cluster) partition(groups [][]int) {
	c.netMu.Lock()
	c.net.Partition(groups)
	c.netMu.Unlock()
	c.rec.Partition(c.now(), groups)
}

func (c *Cluster) heal() {
	c.netMu.Lock()
	c.net.Heal()
	c.netMu.Unlock()
	c.rec.Heal(c.now())
}

// ---- clients ---------------------------------------------------------------

// propose sends one client command to h; answer hears the outcome once.
func (c *Cluster) propose(h *host, cmd, payload string, answer func(reply)) {
	h.node.ProposeAsync(cmd, payload, func(index, _ int, err error) {
		switch e := err.(type) {
		case nil:
			h.pending[index] = pending{cmd, c.now(), answer}
		case *raft.NotLeaderError:
			answer(reply{outcomeRedirect, e.LeaderHint})
		default:
			answer(reply{outcomeLost, -1}) // it raced with a crash
		}
	})
}

// sleep waits d, or less if the trial is stopping.
func (c *Cluster) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.stopping:
	}
}

func msDuration(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond))
}

// client is one closed-loop client, with the rules of threads_rt._client.
func (c *Cluster) client(id, guess int) {
	defer c.clientWG.Done()
	n := c.sc.Nodes
	payload := strings.Repeat("x", c.sc.PayloadBytes)
	retry, timeout := msDuration(c.sc.ClientRetryMs), msDuration(c.sc.ClientTimeoutMs)
	hop := msDuration(c.sc.Network.LatencyMs) // a client is one network hop from the nodes
	seq := 0
	c.sleep(hop)
	for c.clientsOn.Load() {
		seq++
		h := c.host(guess)
		if h == nil {
			guess = (guess + 1) % n
			c.sleep(retry)
			continue
		}
		ch := make(chan reply, 1)
		c.propose(h, fmt.Sprintf("c%d.%d", id, seq), payload, func(r reply) {
			select {
			case ch <- r:
			default:
			}
		})
		r, ok := c.await(ch, timeout)
		if !ok {
			guess = (guess + 1) % n
			continue
		}
		switch r.outcome {
		case outcomeOK:
			c.sleep(2 * hop) // the ack back, the next request out
			continue
		case outcomeLost:
			if !c.alive(guess) {
				guess = (guess + 1) % n
			}
		default:
			if r.value >= 0 {
				guess = r.value
			} else {
				guess = (guess + 1) % n
			}
		}
		c.sleep(retry)
	}
}

// await waits for a command's outcome; false: no answer in time, or the end.
func (c *Cluster) await(ch chan reply, timeout time.Duration) (reply, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, true
	case <-t.C:
	case <-c.stopping:
	}
	return reply{}, false
}

func (c *Cluster) startClients(leader int) {
	c.clientsOn.Store(true)
	for id := range c.sc.Clients {
		c.clientWG.Add(1)
		go c.client(id, leader)
	}
}

func (c *Cluster) stopClients() { c.clientsOn.Store(false) }

// ---- the trial -------------------------------------------------------------

func (c *Cluster) sample() {
	threads, goroutines := result.OSThreads(), goruntime.NumGoroutine()
	c.verdictMu.Lock()
	defer c.verdictMu.Unlock()
	c.threadsPeak = max(c.threadsPeak, threads)
	c.goroutinesPeak = max(c.goroutinesPeak, goroutines)
}

// fail fails the trial with reason; the first reason given stands.
func (c *Cluster) fail(reason string) {
	c.verdictMu.Lock()
	defer c.verdictMu.Unlock()
	if c.errMsg == "" {
		c.errMsg = reason
	}
}

// setWindow sets one end of the clients' window (the script's goroutine).
func (c *Cluster) setWindow(end int, tUs int64) {
	c.verdictMu.Lock()
	defer c.verdictMu.Unlock()
	c.window[end] = tUs
}

// failoverDone counts one finished failover (the script's goroutine).
func (c *Cluster) failoverDone() {
	c.verdictMu.Lock()
	defer c.verdictMu.Unlock()
	c.failoversDone++
}

func (c *Cluster) execute() {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // freeze changes it
	var watchdog sync.WaitGroup
	quitWatchdog := make(chan struct{})
	watchdog.Add(1)
	go func() {
		defer watchdog.Done()
		c.watchdog(quitWatchdog)
	}()
	c.courier.start()
	c.startAll()
	var faults sync.WaitGroup
	faults.Add(1)
	go func() {
		defer faults.Done()
		c.drive(c.faultScript, false)
	}()
	c.sample()
	defer func() {
		c.freeze()
		close(c.stopping)
		c.stopClients()
		faults.Wait() // no crash or restart races with what follows
		c.courier.halt()
		var hosts []*host
		c.nodesMu.Lock()
		for id, h := range c.hosts {
			if h != nil {
				h.node.Halt()
				hosts = append(hosts, h)
				c.hosts[id] = nil
			}
		}
		c.nodesMu.Unlock()
		for _, h := range hosts {
			<-h.node.Done()
			h.failPending()
			c.retire(h)
		}
		c.clientWG.Wait()
		close(quitWatchdog) // it watched the shutdown too
		watchdog.Wait()
	}()
	c.drive(c.script, true)
}

// Run runs one trial in real time and builds its result. hardStop, if not
// nil, is the watchdog's last resort (watchdog.go): when the trial does not
// stop within a grace period of being asked to, hardStop gets the result as
// it stands, with the trace flushed, and should print it and end the process.
func Run(sc *scenario.Scenario, trace *bufio.Writer, hardStop func(res pyjson.Obj)) pyjson.Obj {
	c := New(sc, trace)
	c.hardStop = hardStop
	c.cpuStart = result.CPUSeconds()
	c.execute()
	return c.result()
}

// result builds the trial's result from what it holds now: at the end, or
// from the watchdog's hard stop while goroutines still run, when it counts
// the heartbeat gaps of stopped incarnations only.
func (c *Cluster) result() pyjson.Obj {
	elapsed := c.now()
	cpuTrial := recorder.RoundTo(result.CPUSeconds()-c.cpuStart, 6)
	c.netMu.Lock()
	sent, dropped := c.net.Sent, c.net.Dropped
	c.netMu.Unlock()
	c.retiredMu.Lock()
	gaps, inboxDropped := slices.Clone(c.gapsUs), c.inboxDropped
	c.retiredMu.Unlock()
	c.nodesMu.RLock()
	for _, h := range c.hosts { // none at the end: shutdown retires them all
		if h != nil {
			inboxDropped += h.node.Dropped()
		}
	}
	c.nodesMu.RUnlock()
	c.verdictMu.Lock()
	defer c.verdictMu.Unlock()
	window := c.window
	if window[1] < window[0] { // the clients outlived the trial's limit
		window[1] = elapsed
	}
	rt := result.ProcessUsage(pyjson.O("wall_ms", float64(elapsed)/1000,
		"threads_peak", c.threadsPeak, "goroutines_peak", c.goroutinesPeak))
	rt = append(rt, pyjson.O("cpu_trial_s", cpuTrial)...)
	return result.Build(result.Trial{
		Impl: "go", Scenario: c.sc, Recorder: c.rec, Error: c.errMsg, FailoversDone: c.failoversDone,
		WindowUs: window[1] - window[0], ElapsedUs: elapsed, Sent: sent, Dropped: dropped,
		GapsUs: gaps, InboxDropped: int(inboxDropped), Runtime: rt,
	})
}
