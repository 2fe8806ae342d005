package tcpnode

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"raftbench/go_raft/raft"
	"raftbench/go_raft/scenario"
	"raftbench/go_raft/wire"
)

// patience bounds every wait in these tests. It is for liveness only: the
// machine is shared and slow at times, and nothing here asserts a duration.
const patience = 30 * time.Second

// ---- running nodes in process -------------------------------------------------

// testNode is one Run on loopback, with its log in a file of its own.
type testNode struct {
	cfg     Config
	logPath string
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
	err     error
}

// stop cancels the node's context and waits for Run to return its error.
func (n *testNode) stop(t *testing.T) error {
	t.Helper()
	n.once.Do(func() {
		n.cancel()
		select {
		case n.err = <-n.done:
		case <-time.After(patience):
			t.Fatalf("node %d: Run did not return after its context was cancelled", n.cfg.ID)
		}
	})
	return n.err
}

// ports lists the node's three ports: peer, client, admin.
func (n *testNode) ports(t *testing.T) []int {
	_, peer, err := net.SplitHostPort(n.cfg.Peers[n.cfg.ID])
	if err != nil {
		t.Fatal(err)
	}
	var p int
	fmt.Sscan(peer, &p)
	return []int{p, n.cfg.ClientPort, n.cfg.AdminPort}
}

// freePorts returns n ports the kernel just handed out, closed again: free
// unless something else takes one meanwhile, which startCluster retries.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are picked, so that they differ
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// testConfig is node id of a cluster on the given peer addresses, serving
// clients and the admin on the given ports, with default settings.
func testConfig(t *testing.T, id int, peers []string, clientPort, adminPort int) Config {
	t.Helper()
	sc, err := scenario.Parse(fmt.Appendf(nil, `{"nodes": %d}`, len(peers)))
	if err != nil {
		t.Fatal(err)
	}
	return Config{ID: id, Peers: peers, ClientPort: clientPort, AdminPort: adminPort, Bind: "127.0.0.1",
		Scenario: sc, T0UnixUs: time.Now().UnixMicro()}
}

// launch starts Run with cfg and waits until it logs that it serves, or
// returns Run's error if it fails to start. (The log, not a connection to
// the admin port, tells: on a shared machine another process may listen on
// a port picked for this node, and then Run fails to bind it.)
func launch(t *testing.T, cfg Config) (*testNode, error) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "node.log")
	logTo, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{cfg: cfg, logPath: logPath, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := Run(ctx, cfg, logTo)
		logTo.Close()
		n.done <- err
	}()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); {
		if data, _ := os.ReadFile(logPath); strings.Contains(string(data), "serving as node") {
			return n, nil
		}
		select {
		case err := <-n.done:
			cancel()
			return nil, err
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("node %d never started serving", cfg.ID)
	return nil, nil
}

// startCluster runs an n-node cluster on free loopback ports; edit, if not
// nil, adjusts each node's Config. Every node stops when the test ends.
func startCluster(t *testing.T, n int, edit func(*Config)) []*testNode {
	t.Helper()
	for attempt := 1; ; attempt++ {
		nodes, err := tryCluster(t, n, edit)
		if err == nil {
			return nodes
		}
		if attempt == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("starting a %d-node cluster: %v", n, err)
		}
	}
}

func tryCluster(t *testing.T, n int, edit func(*Config)) ([]*testNode, error) {
	t.Helper()
	ports := freePorts(t, 3*n) // peer, client and admin, node by node
	peers := make([]string, n)
	for id := range peers {
		peers[id] = fmt.Sprintf("127.0.0.1:%d", ports[3*id])
	}
	var nodes []*testNode
	for id := range n {
		cfg := testConfig(t, id, peers, ports[3*id+1], ports[3*id+2])
		if edit != nil {
			edit(&cfg)
		}
		node, err := launch(t, cfg)
		if err != nil {
			for _, started := range nodes {
				started.stop(t)
			}
			return nil, err
		}
		t.Cleanup(func() { node.stop(t) })
		nodes = append(nodes, node)
	}
	return nodes, nil
}

// ---- talking to a node ----------------------------------------------------------

// conn is a connection whose every read and write fails rather than hang
// past patience.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, port int) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), patience)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(patience))
	t.Cleanup(func() { c.Close() })
	return &conn{c, bufio.NewReader(c)}
}

func (c *conn) send(t *testing.T, frames ...any) {
	t.Helper()
	for _, f := range frames {
		b, err := wire.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
}

// dialClient connects to a node's client port and says Hello as a client.
func dialClient(t *testing.T, port int) *conn {
	t.Helper()
	c := dial(t, port)
	c.send(t, &wire.Hello{Version: wire.Version, NodeID: raft.None})
	return c
}

// propose sends one Propose and returns the node's answer.
func (c *conn) propose(t *testing.T, cmd string) any {
	t.Helper()
	c.send(t, &wire.Propose{Cmd: cmd, Payload: "payload of " + cmd})
	f, err := wire.Read(c.r)
	if err != nil {
		t.Fatalf("the answer to %s: %v", cmd, err)
	}
	return f
}

// request sends one admin request and returns the reply line.
func (c *conn) request(t *testing.T, req string) string {
	t.Helper()
	if _, err := c.Write([]byte(req + "\n")); err != nil {
		t.Fatal(err)
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("the reply to %s: %v", req, err)
	}
	return line
}

type nodeStats struct {
	OK    bool             `json:"ok"`
	Stats map[string]int64 `json:"stats"`
	Role  string           `json:"role"`
	Term  int              `json:"term"`
}

func (c *conn) stats(t *testing.T) nodeStats {
	t.Helper()
	var st nodeStats
	if line := c.request(t, `{"op": "stats"}`); json.Unmarshal([]byte(line), &st) != nil || !st.OK {
		t.Fatalf("stats: %q", line)
	}
	for _, name := range counterNames {
		if _, ok := st.Stats[name]; !ok {
			t.Fatalf("stats: no %s in %v", name, st.Stats)
		}
	}
	return st
}

// waitLeader polls the nodes' admin ports until one of them leads.
func waitLeader(t *testing.T, nodes []*testNode) int {
	t.Helper()
	admins := make([]*conn, len(nodes))
	for i, n := range nodes {
		admins[i] = dial(t, n.cfg.AdminPort)
	}
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for i, a := range admins {
			if a.stats(t).Role == "leader" {
				return i
			}
		}
	}
	t.Fatal("no node became leader")
	return raft.None
}

// commit proposes cmd until some node commits it, following Redirects and
// retrying Lost (leadership may move while the machine is slow), and
// returns the index and the connection that got Committed.
func commit(t *testing.T, nodes []*testNode, cmd string) (int, *conn) {
	t.Helper()
	for at, deadline := waitLeader(t, nodes), time.Now().Add(patience); time.Now().Before(deadline); {
		c := dialClient(t, nodes[at].cfg.ClientPort)
		switch a := c.propose(t, cmd).(type) {
		case *wire.Committed:
			return a.Index, c
		case *wire.Redirect:
			if a.LeaderHint != raft.None {
				at = a.LeaderHint
				continue
			}
		}
		c.Close()
		at = waitLeader(t, nodes)
	}
	t.Fatalf("%s never committed", cmd)
	return 0, nil
}

// finalStats reads the counters from a stopped node's log, whose last line
// they must be.
func finalStats(t *testing.T, n *testNode) map[string]int64 {
	t.Helper()
	data, err := os.ReadFile(n.logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	last := lines[len(lines)-1]
	prefix := fmt.Sprintf("node %d: stats ", n.cfg.ID)
	var st map[string]int64
	if !strings.HasPrefix(last, prefix) || json.Unmarshal([]byte(last[len(prefix):]), &st) != nil {
		t.Fatalf("the log's last line is not the counters: %q", last)
	}
	if len(st) != len(counterNames) {
		t.Fatalf("the final counters %v are not the %d of docs/deploy.md", st, len(counterNames))
	}
	return st
}

// portsFree fails the test unless every port can be listened on again at
// once, as a restarted node's would be. The machine is shared, and any
// process's outgoing connection may take a port the moment Run frees it
// (inside a cluster too: a live node redials a stopped peer from whatever
// local port the kernel picks, and TIME_WAIT then holds that port for a
// minute). So a port that cannot be listened on fails the test only if a
// socket of this process holds it, or if nothing visibly does (which is how
// a listener that Run closes a moment too late looks).
func portsFree(t *testing.T, ports ...int) {
	t.Helper()
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			continue
		}
		if ours, others := portHolders(p); ours > 0 || others == 0 {
			t.Errorf("port %d is still taken (%d sockets of this process): %v", p, ours, err)
		} else {
			t.Logf("port %d is held by %d sockets of no open file of this process: %v", p, others, err)
		}
	}
}

// portHolders counts the TCP sockets bound to port, from Linux's /proc:
// ours are open files of this process; others are the rest, such as other
// processes' sockets and connections in TIME_WAIT. Both are 0 where /proc
// cannot be read.
func portHolders(port int) (ours, others int) {
	mine := map[string]bool{}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil {
			mine[target] = true
		}
	}
	local := fmt.Sprintf(":%04X", port)
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, _ := os.ReadFile(table)
		for _, line := range strings.Split(string(data), "\n") {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || !strings.HasSuffix(f[1], local) {
				continue
			}
			if mine["socket:["+f[9]+"]"] {
				ours++
			} else {
				others++
			}
		}
	}
	return ours, others
}

// settleGoroutines waits until no more goroutines run than before did,
// and fails, listing them, if that never happens.
func settleGoroutines(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if runtime.NumGoroutine() <= before {
			return
		}
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
}

// ---- the tests ------------------------------------------------------------------

// A single node elects itself, commits its clients' Proposes, writes them
// to its trace, and keeps its log across a restart on file storage.
func TestSingleNodeCommitsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	storage, trace := filepath.Join(dir, "storage"), filepath.Join(dir, "trace.jsonl")
	onFile := func(cfg *Config) { cfg.StorageDir, cfg.Trace = storage, trace }
	node := startCluster(t, 1, onFile)[0]

	watch := dial(t, node.cfg.AdminPort)
	if reply := watch.request(t, `{"op": "watch"}`); !strings.Contains(reply, `"ok": true`) {
		t.Fatalf("watch: %q", reply)
	}
	for {
		line, err := watch.r.ReadString('\n')
		if err != nil {
			t.Fatalf("watching for the election: %v", err)
		}
		if strings.Contains(line, `"state":"leader"`) {
			break
		}
	}

	client := dialClient(t, node.cfg.ClientPort)
	first, ok := client.propose(t, "c1").(*wire.Committed)
	if !ok || first.Index < 1 {
		t.Fatal("c1: no Committed from a single node that leads")
	}
	second, ok := client.propose(t, "c2").(*wire.Committed)
	if !ok || second.Index <= first.Index {
		t.Fatalf("c2: no Committed after c1's index %d", first.Index)
	}
	if err := node.stop(t); err != nil {
		t.Fatal(err)
	}
	portsFree(t, node.ports(t)...)
	st := finalStats(t, node)
	for _, refused := range counterNames[:len(refusals)] {
		if st[refused] != 0 {
			t.Errorf("final counters %v: want no refusals", st)
		}
	}
	if st["connections"] != 1 {
		t.Errorf("final counters %v: want the one client connection", st)
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"event":"state","state":"leader"`,
		fmt.Sprintf(`"event":"ack","cmd":"c1","index":%d`, first.Index),
		fmt.Sprintf(`"event":"ack","cmd":"c2","index":%d`, second.Index)} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the trace has no %s:\n%s", want, data)
		}
	}

	restarted := startCluster(t, 1, func(cfg *Config) { onFile(cfg); cfg.Incarnation = 1 })
	if third, _ := commit(t, restarted, "c3"); third <= second.Index {
		t.Fatalf("c3 after a restart: committed at %d, not after c2's %d", third, second.Index)
	}
}

// Each refusal of docs/deploy.md closes its connection and counts once; the
// node keeps serving good clients.
func TestRefusesBadConnectionsAndKeepsServing(t *testing.T) {
	node := startCluster(t, 1, nil)[0]
	peerPort := node.ports(t)[0]
	frame := func(m any) []byte {
		b, err := wire.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	clientHello := frame(&wire.Hello{Version: wire.Version, NodeID: raft.None})
	propose := frame(&wire.Propose{Cmd: "c", Payload: "p"})
	oversized := binary.BigEndian.AppendUint32(nil, wire.MaxFrame+1)
	// connected: the Hello passed, so the connection counts before it is refused.
	cases := []struct {
		name      string
		port      int
		bytes     []byte
		counter   string
		connected bool
	}{
		{"garbage body", node.cfg.ClientPort, []byte{0, 0, 0, 1, 0xc1}, "malformed", false},
		{"text", node.cfg.ClientPort, []byte("GET / HTTP/1.1\r\n\r\n"), "oversized", false},
		{"a length past the limit", node.cfg.ClientPort, slices.Concat(clientHello, oversized), "oversized", true},
		{"a cut Propose", node.cfg.ClientPort, slices.Concat(clientHello, propose[:len(propose)-1]), "truncated", true},
		{"a Propose first", node.cfg.ClientPort, propose, "bad_hello", false},
		{"Hello version 2", node.cfg.ClientPort, frame(&wire.Hello{Version: 2, NodeID: raft.None}), "bad_hello", false},
		{"a node's Hello on the client port", node.cfg.ClientPort,
			frame(&wire.Hello{Version: wire.Version, NodeID: 0}), "unknown_id", false},
		{"a client's Hello on the peer port", peerPort, clientHello, "unknown_id", false},
		{"the node's own id on the peer port", peerPort,
			frame(&wire.Hello{Version: wire.Version, NodeID: 0}), "unknown_id", false},
		{"a Raft message from a client", node.cfg.ClientPort,
			slices.Concat(clientHello, frame(&raft.RequestVote{Term: 1, CandidateID: 0})), "unexpected_frame", true},
	}
	admin := dial(t, node.cfg.AdminPort)
	want := admin.stats(t).Stats
	for _, tc := range cases {
		c := dial(t, tc.port)
		if _, err := c.Write(tc.bytes); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c.Conn.(*net.TCPConn).CloseWrite() // the cut frame ends here
		if _, err := c.r.ReadByte(); err == nil {
			t.Fatalf("%s: the node answered instead of closing", tc.name)
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: the node never closed the connection", tc.name)
		}
		c.Close()
		want[tc.counter]++
		if tc.connected {
			want["connections"]++
		}
		got := admin.stats(t)
		for _, name := range counterNames {
			if got.Stats[name] != want[name] {
				t.Errorf("%s: %s = %d, want %d", tc.name, name, got.Stats[name], want[name])
			}
		}
		want = got.Stats
	}
	commit(t, []*testNode{node}, "good")
	if err := node.stop(t); err != nil {
		t.Fatal(err)
	}
	portsFree(t, node.ports(t)...)
	final := finalStats(t, node)
	for _, tc := range cases {
		if final[tc.counter] == 0 {
			t.Errorf("the final counters %v have no %s", final, tc.counter)
		}
	}
}

// Cancelling Run's context stops a working cluster: Run returns nil, every
// open connection closes, every port is free again and no goroutine stays.
func TestCancelClosesEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	nodes := startCluster(t, 3, nil)
	_, client := commit(t, nodes, "c1")
	watch := dial(t, nodes[0].cfg.AdminPort)
	watch.request(t, `{"op": "watch"}`)

	for _, n := range nodes {
		n.cancel() // all at once, as a launcher's SIGTERMs would
	}
	for _, n := range nodes {
		if err := n.stop(t); err != nil {
			t.Errorf("node %d: Run returned %v", n.cfg.ID, err)
		}
		finalStats(t, n)
	}
	for _, open := range []*conn{client, watch} {
		// The watch's lines, then EOF (or a reset: closed either way).
		if _, err := io.Copy(io.Discard, open.r); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("a connection did not close with Run: %v", err)
		}
		open.Close()
	}
	for _, n := range nodes {
		portsFree(t, n.ports(t)...)
	}
	settleGoroutines(t, before)
}

// A configuration Run cannot serve is an error naming its flag, and the
// ports Run opened before it failed are free again.
func TestBadConfigNamesTheFlagAndFreesPorts(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		flag string
		busy int // index into the node's ports of one to hold taken; -1: none
		edit func(*Config)
	}{
		{"--peers", 0, nil},
		{"--client-port", 1, nil},
		{"--admin-port", 2, nil},
		{"--storage-dir", -1, func(cfg *Config) { cfg.StorageDir = filepath.Join(notADir, "storage") }},
		{"--trace", -1, func(cfg *Config) { cfg.Trace = t.TempDir() }},
	}
	for _, tc := range cases {
		t.Run(tc.flag, func(t *testing.T) {
			before := runtime.NumGoroutine()
			free := freePorts(t, 3)
			cfg := testConfig(t, 0, []string{fmt.Sprintf("127.0.0.1:%d", free[0])}, free[1], free[2])
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			n := &testNode{cfg: cfg}
			ports := n.ports(t)
			if tc.busy >= 0 {
				l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[tc.busy]))
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				ports = append(ports[:tc.busy], ports[tc.busy+1:]...)
			}
			done := make(chan error, 1)
			go func() { done <- Run(context.Background(), cfg, os.Stderr) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(patience):
				t.Fatal("Run served a configuration it cannot serve")
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.flag+": ") {
				t.Fatalf("want an error naming %s, got %v", tc.flag, err)
			}
			portsFree(t, ports...)
			settleGoroutines(t, before)
		})
	}
}
