package host

import (
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"

	"raftbench/go_raft/filestore"
	"raftbench/go_raft/network"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/result"
	"raftbench/go_raft/scenario"
)

// Cluster is what a trial keeps beyond any one incarnation of its nodes:
// their storage, which survives a crash (with storage "memory" one
// raft.MemoryStorage per node; with "file" each (re)start opens the node's
// files afresh, so that a restarted node reads back what reached the disk,
// and nothing else), and incarnation numbers, which seed each restarted core
// afresh; the recorder, the network model, the random streams and the
// verdict so far. A real-time runtime guards the Incarnations
// (runtime.Trial says how); the Cluster guards the Network itself.
type Cluster struct {
	Scenario     *scenario.Scenario
	Recorder     *recorder.Recorder
	Network      *network.Network // under netMu once the trial runs
	ControlRng   *raft.SplitMix64
	Payload      string // every client command's payload
	Incarnations []int  // each node's crashes so far
	config       raft.Config
	members      []int                 // every node's id: one slice shared by every core
	storages     []*raft.MemoryStorage // storage "memory"
	files        *filestore.Stores     // storage "file"
	netMu        sync.Mutex            // a real-time trial's senders, faults and result share the Network
	// mu guards the verdict, which a real-time trial's hard stop reads
	// while the scripts run, and lastCrashed, which its two scripts share.
	mu            sync.Mutex
	lastCrashed   int // what "leader" names in a restart fault; -1: none
	failure       string
	window        [2]int64 // the clients' start and stop
	failoversDone atomic.Int64
}

// NewCluster prepares the cluster of sc, its nodes not started yet. With
// file storage it makes the trial's directory, which Close removes; a
// directory it cannot make is a *scenario.Error naming storage_dir.
func NewCluster(sc *scenario.Scenario, rec *recorder.Recorder) (*Cluster, error) {
	c := &Cluster{
		Scenario: sc, Recorder: rec, Network: sc.NetworkModel(), ControlRng: sc.ControlRng(),
		Payload: strings.Repeat("x", sc.PayloadBytes), Incarnations: make([]int, sc.Nodes),
		lastCrashed: -1, config: sc.Config(), members: make([]int, sc.Nodes),
	}
	for i := range sc.Nodes {
		c.members[i] = i
	}
	if sc.Storage == "file" {
		var err error
		if c.files, err = filestore.NewStores(sc.StorageDir); err != nil {
			return nil, &scenario.Error{Field: "storage_dir", Problem: fmt.Sprintf("cannot make the trial's directory: %v", err)}
		}
	} else {
		c.storages = make([]*raft.MemoryStorage, sc.Nodes)
		for i := range c.storages {
			c.storages[i] = raft.NewMemoryStorage()
		}
	}
	return c, nil
}

// NewHost makes node id's current incarnation at trial time now.
func (c *Cluster) NewHost(id int, now int64, hooks Hooks) *Host {
	var storage raft.SnapshotStorage
	if c.files == nil {
		storage = c.storages[id]
	} else {
		s, err := c.files.Open(id)
		if err != nil {
			panic(err) // no crash leaves such files
		}
		storage = s
	}
	rng := c.Scenario.NodeRng(id, c.Incarnations[id])
	return New(raft.New(id, c.members, storage, c.config, rng, now), storage, c.Recorder, hooks, now)
}

// FsyncUs is the result's runtime.fsync_us: nil without file storage.
func (c *Cluster) FsyncUs() *filestore.Summary {
	if c.files == nil {
		return nil
	}
	return c.files.Summary()
}

// Close removes the trial's storage directory, if it has one, once no node runs.
func (c *Cluster) Close() {
	if c.files != nil {
		c.files.Remove()
	}
}

// Crashed ends h's incarnation at now, once the runtime has stopped it.
func (c *Cluster) Crashed(h *Host, now int64) {
	c.Incarnations[h.ID]++
	c.mu.Lock()
	c.lastCrashed = h.ID
	c.mu.Unlock()
	c.Recorder.Crash(now, h.ID)
	h.Retire()
}

// Route decides, as the network model says, the fate of src's messages sent
// at now: it yields the due time of each one that arrives, in order.
func (c *Cluster) Route(src int, msgs []raft.Envelope, now int64) iter.Seq2[int64, raft.Envelope] {
	return func(yield func(int64, raft.Envelope) bool) {
		c.netMu.Lock()
		defer c.netMu.Unlock()
		for _, e := range msgs {
			if delay, ok := c.Network.Delay(src, e.To); ok && !yield(now+delay, e) {
				return
			}
		}
	}
}

// Faults is how a runtime carries out what a fault does to its nodes; the
// cluster partitions and heals the network itself.
type Faults interface {
	Up(node int) bool
	Crash(node int)
	Restart(node int)
}

// ApplyFault carries out the fault f, due now, in rt, as Fault.Resolve says.
// It returns false when f must wait for the next leader; the runtime then
// holds back the faults after it too.
func (c *Cluster) ApplyFault(f *scenario.Fault, rt Faults, now int64) bool {
	leader, _, _ := c.Recorder.KnownLeader()
	c.mu.Lock()
	lastCrashed := c.lastCrashed
	c.mu.Unlock()
	e := f.Resolve(leader, lastCrashed, rt.Up)
	switch e.Op {
	case scenario.Wait:
		return false
	case scenario.Crash:
		rt.Crash(e.Node)
	case scenario.Restart:
		rt.Restart(e.Node)
	case scenario.Partition:
		c.netMu.Lock()
		c.Network.Partition(e.Groups)
		c.netMu.Unlock()
		c.Recorder.Partition(now, e.Groups)
	case scenario.Heal:
		c.netMu.Lock()
		c.Network.Heal()
		c.netMu.Unlock()
		c.Recorder.Heal(now)
	}
	return true
}

// Fail fails the trial with reason; the first reason given stands.
func (c *Cluster) Fail(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failure == "" {
		c.failure = reason
	}
}

func (c *Cluster) setWindow(end int, tUs int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.window[end] = tUs
}

// Result decides ok, the scenario finished and no safety rule broke, and
// builds the result at trial time elapsedUs. inboxDropped is the peer
// messages dropped at full inboxes, rt the runtime's own figures.
func (c *Cluster) Result(impl string, elapsedUs int64, inboxDropped int, rt any) result.Result {
	c.netMu.Lock()
	sent, dropped := c.Network.Sent, c.Network.Dropped
	c.netMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	sc, rec, why := c.Scenario, c.Recorder, c.failure
	window := c.window
	if window[1] < window[0] { // the clients outlived the trial's limit
		window[1] = elapsedUs
	}
	m := rec.Metrics(elapsedUs, window[1]-window[0], sent, dropped, inboxDropped)
	switch {
	case rec.Violated() != "":
		why = rec.Violated()
	case why != "": // the runtime's reason stands
	case m.FirstLeaderMs == nil:
		why = "no leader elected"
	case sc.Kind == "failover" && int(c.failoversDone.Load()) < sc.Failovers:
		why = fmt.Sprintf("only %d of %d failovers completed", c.failoversDone.Load(), sc.Failovers)
	}
	res := result.New(impl, sc, m, rt)
	if why != "" {
		res.OK, res.Error = false, &why
	}
	return res
}
