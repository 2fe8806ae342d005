package main

// The cluster: N hashicorp/raft servers in one process, each with its
// in-memory log, stable and snapshot stores and an InmemTransport wrapped in
// the network model. A crash shuts a server down and cuts its links; its
// stores survive (its persisted term, vote and log), and a restart builds a
// new server on them, as a process restarted on the same disk would be.

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	graft "raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/scenario"
)

type server struct {
	id    int
	addr  raft.ServerAddress
	logs  *raft.InmemStore // log and stable store: they outlive a crash
	snaps *raft.InmemSnapshotStore
	trans *transport
	raft  *raft.Raft // nil while crashed
	obs   *raft.Observer
	stop  chan struct{} // ends the observer's goroutine
}

type cluster struct {
	sc    *scenario.Scenario
	rec   *recorder.Recorder
	net   *netModel
	start time.Time
	conf  raft.Configuration

	mu      sync.RWMutex // guards servers[i].raft and .trans
	servers []*server
}

func newCluster(sc *scenario.Scenario, rec *recorder.Recorder) *cluster {
	c := &cluster{sc: sc, rec: rec, start: time.Now(), net: &netModel{model: sc.NetworkModel()}}
	for i := range sc.Nodes {
		addr := raft.ServerAddress(strconv.Itoa(i))
		c.servers = append(c.servers, &server{
			id: i, addr: addr, logs: raft.NewInmemStore(), snaps: raft.NewInmemSnapshotStore(),
		})
		c.conf.Servers = append(c.conf.Servers, raft.Server{
			Suffrage: raft.Voter, ID: raft.ServerID(addr), Address: addr,
		})
	}
	return c
}

// now is trial time in microseconds.
func (c *cluster) now() int64 { return time.Since(c.start).Microseconds() }

// config is hashicorp's Config for one server (docs/anchors.md says how the
// scenario's timing maps onto it).
func (c *cluster) config(s *server) *raft.Config {
	cfg := raft.DefaultConfig()
	cfg.LocalID = raft.ServerID(s.addr)
	timeout := msDuration(c.sc.ElectionTimeoutMs[0])
	cfg.HeartbeatTimeout = timeout
	cfg.ElectionTimeout = timeout
	cfg.LeaderLeaseTimeout = timeout
	cfg.MaxAppendEntries = c.sc.MaxBatchEntries
	// hashicorp logs every failed RPC to a crashed server; a failover trial
	// would fill the harness's stderr tail with them.
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft-" + string(s.addr), Level: hclog.Off, Output: os.Stderr})
	return cfg
}

// boot creates every server, links them all and bootstraps one configuration.
func (c *cluster) boot() error {
	for _, s := range c.servers {
		s.trans = c.newTransport(s)
	}
	c.linkAll()
	for _, s := range c.servers {
		if err := raft.BootstrapCluster(c.config(s), s.logs, s.logs, s.snaps, s.trans, c.conf); err != nil {
			return fmt.Errorf("bootstrap %d: %w", s.id, err)
		}
	}
	for _, s := range c.servers {
		if err := c.startServer(s); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) newTransport(s *server) *transport {
	// The inner timeout only bounds a delivery into a busy consumer; the
	// model's delays are added outside it.
	_, inner := raft.NewInmemTransportWithTimeout(s.addr, 5*time.Second)
	return &transport{InmemTransport: inner, net: c.net}
}

// linkAll connects every live server's transport with every other's.
func (c *cluster) linkAll() {
	for _, a := range c.servers {
		for _, b := range c.servers {
			if a != b && a.trans != nil && b.trans != nil {
				a.trans.Connect(b.addr, b.trans.InmemTransport)
			}
		}
	}
}

func (c *cluster) startServer(s *server) error {
	r, err := raft.NewRaft(c.config(s), &fsm{c: c, id: s.id}, s.logs, s.logs, s.snaps, s.trans)
	if err != nil {
		return fmt.Errorf("server %d: %w", s.id, err)
	}
	ch := make(chan raft.Observation, 64)
	s.obs = raft.NewObserver(ch, true, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.RaftState)
		return ok
	})
	s.stop = make(chan struct{})
	r.RegisterObserver(s.obs)
	go c.observe(s.id, r, ch, s.stop)
	c.mu.Lock()
	s.raft = r
	c.mu.Unlock()
	return nil
}

// observe turns a server's state observations into the recorder's state events.
func (c *cluster) observe(id int, r *raft.Raft, ch <-chan raft.Observation, stop <-chan struct{}) {
	for {
		select {
		case o := <-ch:
			role := graft.Follower
			switch o.Data.(raft.RaftState) {
			case raft.Candidate:
				role = graft.Candidate
			case raft.Leader:
				role = graft.Leader
			case raft.Shutdown:
				continue
			}
			c.rec.State(c.now(), id, role, int(r.CurrentTerm()))
		case <-stop:
			return
		}
	}
}

// crash stops server id: its links are cut first, so that nothing reaches
// or leaves it while hashicorp shuts it down.
func (c *cluster) crash(id int) {
	s := c.servers[id]
	c.mu.Lock()
	r := s.raft
	s.raft = nil
	c.mu.Unlock()
	if r == nil {
		return
	}
	for _, o := range c.servers {
		if o != s && o.trans != nil {
			o.trans.Disconnect(s.addr)
		}
	}
	s.trans.DisconnectAll()
	c.rec.Crash(c.now(), id)
	_ = r.Shutdown().Error()
	r.DeregisterObserver(s.obs)
	close(s.stop)
}

// restart builds a new server on the crashed one's stores and links it again.
func (c *cluster) restart(id int) error {
	s := c.servers[id]
	s.trans = c.newTransport(s)
	c.linkAll()
	c.rec.Restart(c.now(), id)
	return c.startServer(s)
}

// live is server id's Raft, or nil while it is down.
func (c *cluster) live(id int) *raft.Raft {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.servers[id].raft
}

// shutdown cuts every link first, so that no server waits on one already
// stopped, then stops all servers at once.
func (c *cluster) shutdown() {
	for _, s := range c.servers {
		if s.trans != nil {
			s.trans.DisconnectAll()
		}
	}
	var wg sync.WaitGroup
	for i := range c.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.crashQuietly(i)
		}()
	}
	wg.Wait()
}

// crashQuietly stops a server at the end of the trial, with no trace event.
func (c *cluster) crashQuietly(id int) {
	s := c.servers[id]
	c.mu.Lock()
	r := s.raft
	s.raft = nil
	c.mu.Unlock()
	if r == nil {
		return
	}
	_ = r.Shutdown().Error()
	close(s.stop)
}

// fsm is one server's state machine: it records each applied command, so
// the recorder checks that no index is applied as two different commands.
type fsm struct {
	c  *cluster
	id int
}

// encode is a command's log data: its id, a NUL, the payload.
func encode(cmd, payload string) []byte { return []byte(cmd + "\x00" + payload) }

func (f *fsm) Apply(l *raft.Log) any {
	cmd, _, _ := strings.Cut(string(l.Data), "\x00")
	f.c.rec.Apply(f.c.now(), f.id, int(l.Index), graft.Entry{Term: int(l.Term), Cmd: cmd})
	return nil
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return emptySnapshot{}, nil }
func (f *fsm) Restore(rc io.ReadCloser) error      { return rc.Close() }

type emptySnapshot struct{}

func (emptySnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (emptySnapshot) Release()                             {}
