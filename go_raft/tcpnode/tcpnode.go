// Package tcpnode is `goraft node`: one Raft node as an OS process of its
// own, speaking docs/wire.md over TCP to its peers and clients, with the
// launcher's admin port (docs/deploy.md, "The node process"; py_raft/node is
// the reference).
//
// A node.Node runs the host on its goroutine; everything here only moves
// frames: a goroutine per accepted connection reads and hands over what it
// reads, and a goroutine per peer holds the one outgoing connection and
// drains that peer's bounded queue.
package tcpnode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"raftbench/go_raft/client"
	"raftbench/go_raft/filestore"
	"raftbench/go_raft/host"
	"raftbench/go_raft/node"
	"raftbench/go_raft/raft"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/scenario"
	"raftbench/go_raft/wire"
)

// Config is the node's command line, checked.
type Config struct {
	ID          int
	Peers       []string // HOST:PORT of every node, index = node id
	ClientPort  int      // 0: none
	AdminPort   int      // 0: none
	Bind        string
	Scenario    *scenario.Scenario // the core's settings and network.drop_rate
	StorageDir  string             // "": memory storage
	Trace       string             // "": none
	T0UnixUs    int64              // the trace's and the core's epoch
	Incarnation int
}

// The waits between connection attempts to a peer: doubling, capped.
const (
	firstBackoff = 20 * time.Millisecond
	maxBackoff   = time.Second
)

// Server is one running node.
type Server struct {
	cfg   Config
	log   *log.Logger
	now   func() int64 // microseconds since cfg.T0UnixUs, never going back
	node  *node.Node
	rec   *recorder.Recorder
	stats stats
	// blocked is the partition the launcher set: peers whose messages are
	// dropped both ways. Replaced whole, never changed in place.
	blocked atomic.Pointer[map[int]bool]
	queues  []chan raft.Message // per peer; nil for this node
	drop    *rand.Rand          // network.drop_rate's draws, on the node's goroutine only
	// hangup ends once waiting clients have heard Lost: every connection
	// closes then.
	hangup context.Context

	mu       sync.Mutex // role, term, watchers
	role     raft.Role
	term     int
	watchers map[chan string]bool
}

// Run serves until ctx ends, then stops cleanly and logs the counters as
// its last line. Its errors are bad input (a port it cannot bind, storage it
// cannot open), each naming the flag.
func Run(ctx context.Context, cfg Config, logTo *os.File) error {
	s := &Server{cfg: cfg, log: log.New(logTo, fmt.Sprintf("node %d: ", cfg.ID), 0),
		watchers: map[chan string]bool{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	listeners, err := s.listen(ctx)
	if err != nil {
		return err
	}
	h, closeTrace, err := s.start()
	if err != nil {
		for _, l := range listeners { // now: ctx's AfterFunc may run after Run returns
			l.Close()
		}
		return err
	}
	hangup, closeConns := context.WithCancel(context.Background())
	s.hangup = hangup
	var wg sync.WaitGroup
	for kind, l := range listeners {
		wg.Go(func() { s.accept(ctx, l, kind) })
	}
	for peer, q := range s.queues {
		if q != nil {
			wg.Go(func() { s.link(ctx, peer, q) })
		}
	}
	s.log.Printf("serving as node %d of %d (go)", cfg.ID, len(cfg.Peers))
	<-ctx.Done()
	s.node.Stop()
	h.Retire() // waiting clients hear Lost; the storage closes
	closeConns()
	wg.Wait()
	closeTrace()
	s.stats[inboxDropped].Store(s.node.Dropped())
	s.log.Printf("stats %s", &s.stats)
	return nil
}

// connKind is what a listener's connections are, and indexes portFlags.
type connKind int

const (
	peerConn connKind = iota
	clientConn
	adminConn
)

var portFlags = [...]string{"--peers", "--client-port", "--admin-port"}

// listen opens the node's ports, each closed when ctx ends; a client or
// admin port of 0 is not opened.
func (s *Server) listen(ctx context.Context) (map[connKind]net.Listener, error) {
	_, peerPort, _ := net.SplitHostPort(s.cfg.Peers[s.cfg.ID])
	ports := [...]string{peerPort, strconv.Itoa(s.cfg.ClientPort), strconv.Itoa(s.cfg.AdminPort)}
	listeners := map[connKind]net.Listener{}
	for kind, port := range ports {
		if connKind(kind) != peerConn && port == "0" {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(s.cfg.Bind, port))
		if err != nil {
			for _, open := range listeners {
				open.Close()
			}
			return nil, fmt.Errorf("%s: cannot listen on %s:%s: %w", portFlags[kind], s.cfg.Bind, port, err)
		}
		context.AfterFunc(ctx, func() { l.Close() })
		listeners[connKind(kind)] = l
	}
	return listeners, nil
}

// start opens the storage and the trace and starts the node; closeTrace
// flushes and closes the trace once the node has stopped.
func (s *Server) start() (*host.Host, func(), error) {
	cfg, sc := s.cfg, s.cfg.Scenario
	start := time.Now()
	offset := start.UnixMicro() - cfg.T0UnixUs
	s.now = func() int64 { return offset + time.Since(start).Microseconds() }
	var storage raft.SnapshotStorage = raft.NewMemoryStorage()
	if cfg.StorageDir != "" {
		fs, err := filestore.Open(cfg.StorageDir, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("--storage-dir: %w", err)
		}
		storage = fs
	}
	var trace *bufio.Writer
	closeTrace := func() {}
	if cfg.Trace != "" {
		f, err := os.OpenFile(cfg.Trace, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			if fs, ok := storage.(*filestore.Store); ok {
				fs.Close() // opened above: a failed start leaks no file
			}
			return nil, nil, fmt.Errorf("--trace: cannot write %s: %w", cfg.Trace, err)
		}
		trace = bufio.NewWriter(f) // a SIGKILL loses the unflushed tail, as in Python
		closeTrace = func() {
			if err := errors.Join(trace.Flush(), f.Close()); err != nil {
				s.log.Printf("writing the trace: %v", err)
			}
		}
	}
	s.blocked.Store(&map[int]bool{})
	s.queues = make([]chan raft.Message, len(cfg.Peers))
	for p := range s.queues {
		if p != cfg.ID {
			s.queues[p] = make(chan raft.Message, sc.InboxLimit())
		}
	}
	s.drop = rand.New(rand.NewPCG(uint64(sc.Seed), uint64(cfg.ID)<<32|uint64(cfg.Incarnation)))
	members := make([]int, len(cfg.Peers))
	for i := range members {
		members[i] = i
	}
	now := s.now()
	core := raft.New(cfg.ID, members, storage, sc.Config(), sc.NodeRng(cfg.ID, cfg.Incarnation), now)
	s.rec = recorder.NewTrace(trace, s.onState)
	h := host.New(core, storage, s.rec, host.Hooks{Send: s.send}, now)
	s.node = node.Start(h, node.Config{Now: s.now, InboxCapacity: sc.InboxLimit()})
	return h, closeTrace, nil
}

// send is the host's Send hook, on the node's goroutine: each message is
// dropped by the partition or drop_rate, or queued for its peer's link.
func (s *Server) send(_ int, msgs []raft.Envelope) {
	blocked, rate := *s.blocked.Load(), s.cfg.Scenario.Network.DropRate
	for _, e := range msgs {
		s.stats[messagesSent].Add(1)
		if blocked[e.To] || (rate > 0 && s.drop.Float64() < rate) {
			s.stats[messagesDropped].Add(1)
			continue
		}
		select {
		case s.queues[e.To] <- e.Msg:
		default:
			s.stats[queueDropped].Add(1)
		}
	}
}

// onState is the recorder's: the role goes to the admin port's watchers,
// and the trace reaches its file, so that a SIGKILL, which loses the
// trace's unflushed tail, never takes a leader's election from the checker.
func (s *Server) onState(t int64, role raft.Role, term int) {
	if err := s.rec.Flush(); err != nil {
		s.log.Printf("writing the trace: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.role, s.term = role, term
	line := stateLine(t, role, term)
	for w := range s.watchers {
		select {
		case w <- line:
		default: // a watcher that does not read loses lines rather than stall the node
		}
	}
}

func stateLine(t int64, role raft.Role, term int) string {
	return fmt.Sprintf(`{"t_ms":%s,"state":"%s","term":%d}`,
		strconv.FormatFloat(float64(t)/1000, 'f', -1, 64), role, term)
}

// ---- connections -----------------------------------------------------------

// hold closes c when the node hangs up or when the returned func is called,
// whichever comes first: defer s.hold(c)().
func (s *Server) hold(c net.Conn) (done func()) {
	stop := context.AfterFunc(s.hangup, func() { c.Close() })
	return func() {
		stop()
		c.Close()
	}
}

func (s *Server) accept(ctx context.Context, l net.Listener, kind connKind) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			return // closed: the node is stopping
		}
		wg.Go(func() {
			defer s.hold(c)()
			switch kind {
			case adminConn:
				s.serveAdmin(ctx, c)
			case peerConn:
				s.refuse(s.servePeer(c), "a peer connection")
			case clientConn:
				s.refuse(s.serveClient(c), "a client connection")
			}
		})
	}
}

// hello checks a connection's first frame; it returns the peer's id
// (raft.None: a client).
func (s *Server) hello(r *bufio.Reader, peer bool) (int, error) {
	f, err := wire.Read(r)
	if err != nil {
		return 0, err
	}
	h, ok := f.(*wire.Hello)
	if !ok || h.Version != wire.Version {
		return 0, fmt.Errorf("%w: first frame %T", errBadHello, f)
	}
	id, n := h.NodeID, len(s.cfg.Peers)
	if peer && (id < 0 || id >= n || id == s.cfg.ID) {
		return 0, fmt.Errorf("%w: %d on the peer port", errUnknownID, id)
	}
	if !peer && id != raft.None {
		return 0, fmt.Errorf("%w: %d on the client port", errUnknownID, id)
	}
	s.stats[connections].Add(1)
	return id, nil
}

func (s *Server) servePeer(c net.Conn) error {
	r := bufio.NewReader(c)
	src, err := s.hello(r, true)
	if err != nil {
		return err
	}
	return s.readPeer(src, r)
}

// readPeer hands the node every Raft message from src until the stream ends.
func (s *Server) readPeer(src int, r *bufio.Reader) error {
	for {
		f, err := wire.Read(r)
		if err != nil {
			return err
		}
		m, ok := f.(raft.Message)
		if !ok {
			return fmt.Errorf("%w: a %T from a peer", errUnexpected, f)
		}
		if (*s.blocked.Load())[src] {
			s.stats[messagesDropped].Add(1)
			continue
		}
		s.node.Step(m)
	}
}

// serveClient answers each Propose once, on a writer goroutine of its own,
// so that a slow client never stalls the node; one that falls a whole inbox
// of answers behind forfeits them.
func (s *Server) serveClient(c net.Conn) error {
	r := bufio.NewReader(c)
	if _, err := s.hello(r, false); err != nil {
		return err
	}
	answers, done := make(chan any, s.cfg.Scenario.InboxLimit()), make(chan struct{})
	defer close(done)
	go writeFrames(c, answers, done)
	for {
		f, err := wire.Read(r)
		if err != nil {
			return err
		}
		p, ok := f.(*wire.Propose)
		if !ok {
			return fmt.Errorf("%w: a %T from a client", errUnexpected, f)
		}
		req := &host.Request{Cmd: p.Cmd}
		req.Answer = func(o client.Outcome, hint int) {
			select {
			case answers <- answer(o, hint, req.Index):
			default:
			}
		}
		s.node.Propose(req, p.Payload)
	}
}

func answer(o client.Outcome, hint, index int) any {
	switch o {
	case client.OK:
		return &wire.Committed{Index: index}
	case client.Lost:
		return &wire.Lost{}
	}
	return &wire.Redirect{LeaderHint: hint}
}

// writeFrames writes the frames of q to c, flushing whenever q is empty,
// until done is closed or a write fails.
func writeFrames[M any](c net.Conn, q <-chan M, done <-chan struct{}) error {
	w := bufio.NewWriter(c)
	for {
		select {
		case m := <-q:
			frame, err := wire.Encode(m)
			if err != nil {
				panic(err) // the node made m: a bug
			}
			if _, err := w.Write(frame); err != nil {
				return err
			}
			if len(q) == 0 {
				if err := w.Flush(); err != nil {
					return err
				}
			}
		case <-done:
			return nil
		}
	}
}

// link keeps the one outgoing connection to peer and sends q on it.
func (s *Server) link(ctx context.Context, peer int, q chan raft.Message) {
	dialer := net.Dialer{Timeout: time.Second}
	for wait := firstBackoff; ctx.Err() == nil; {
		c, err := dialer.DialContext(ctx, "tcp", s.cfg.Peers[peer])
		if err != nil {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			wait = min(2*wait, maxBackoff)
			continue
		}
		wait = firstBackoff
		if err := s.feed(ctx, peer, c, q); err != nil && ctx.Err() == nil {
			s.stats[reconnects].Add(1)
		}
	}
}

// feed sends a Hello, then q, on c until c breaks or ctx ends; replies that
// come back on c reach the node too.
func (s *Server) feed(ctx context.Context, peer int, c net.Conn, q chan raft.Message) error {
	defer s.hold(c)()
	go func() {
		s.refuse(s.readPeer(peer, bufio.NewReader(c)), fmt.Sprintf("the connection to peer %d", peer))
		c.Close() // the writer finds out at its next write
	}()
	hello, _ := wire.Encode(&wire.Hello{Version: wire.Version, NodeID: s.cfg.ID})
	if _, err := c.Write(hello); err != nil {
		return err
	}
	return writeFrames(c, q, ctx.Done())
}

// ---- refusals and counters ---------------------------------------------------

// The refusals of docs/deploy.md besides the wire's own errors: the error
// a connection is refused for wraps one of them.
var (
	errBadHello   = errors.New("not a Hello v1")
	errUnknownID  = errors.New("unknown node id")
	errUnexpected = errors.New("unexpected frame")
)

// refusals are the errors the refusal counters count, in counter order.
var refusals = [...]error{wire.ErrMalformed, wire.ErrOversized, wire.ErrTruncated,
	errBadHello, errUnknownID, errUnexpected}

// refuse counts and logs why a connection is being closed; a plain
// disconnect counts nothing.
func (s *Server) refuse(err error, where string) {
	for c, r := range refusals {
		if errors.Is(err, r) {
			s.stats[c].Add(1)
			s.log.Printf("closed %s: %s: %v", where, counterNames[c], err)
			return
		}
	}
}

// counter indexes stats: the refusals first, in the order of refusals.
type counter int

const (
	messagesSent = counter(len(refusals) + iota)
	messagesDropped
	queueDropped
	inboxDropped
	connections
	reconnects
)

var counterNames = [...]string{"malformed", "oversized", "truncated", "bad_hello", "unknown_id",
	"unexpected_frame", "messages_sent", "messages_dropped", "queue_dropped", "inbox_dropped",
	"connections", "reconnects"}

type stats [len(counterNames)]atomic.Int64

// String is the counters as a JSON object, in docs/deploy.md's order.
func (st *stats) String() string {
	out := []byte{'{'}
	for i, name := range counterNames {
		if i > 0 {
			out = append(out, ", "...)
		}
		out = fmt.Appendf(out, "%q: %d", name, st[i].Load())
	}
	return string(append(out, '}'))
}
