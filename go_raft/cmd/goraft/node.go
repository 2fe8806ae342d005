package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"raftbench/go_raft/scenario"
	"raftbench/go_raft/tcpnode"
)

// node is `goraft node` (docs/deploy.md, "The node process"): it serves until
// SIGTERM or SIGINT. Its errors are bad input.
func node(args []string) error {
	fs := flag.NewFlagSet("goraft node", flag.ContinueOnError)
	id := fs.Int("id", -1, "this node's id, an index into --peers (required)")
	peers := fs.String("peers", "", "every node's HOST:PORT, comma-separated, index = node id (required)")
	clientPort := fs.Int("client-port", -1, "the port clients connect to; 0: none (required)")
	adminPort := fs.Int("admin-port", 0, "the launcher's JSON-lines control port; 0: none")
	bind := fs.String("bind", "127.0.0.1", "the address the three listeners bind to")
	scenarioPath := fs.String("scenario", "", "a scenario JSON file: the core's settings and network.drop_rate")
	storage := fs.String("storage", "memory", "memory or file")
	storageDir := fs.String("storage-dir", "", "with --storage file: this node's directory")
	trace := fs.String("trace", "", "append this node's trace events here (JSON lines)")
	t0 := fs.Int64("t0-unix-us", 0, "the common epoch in unix microseconds (0: the process's start)")
	incarnation := fs.Int("incarnation", 0, "how many times this node has been started before")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *peers == "" {
		return errors.New("--peers: required")
	}
	cfg := tcpnode.Config{ID: *id, Peers: strings.Split(*peers, ","), ClientPort: *clientPort, AdminPort: *adminPort,
		Bind: *bind, StorageDir: *storageDir, Trace: *trace, T0UnixUs: *t0, Incarnation: *incarnation}
	for i, p := range cfg.Peers {
		host, port, err := net.SplitHostPort(p)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n >= 65536 {
			return fmt.Errorf("--peers: entry %d %q is not HOST:PORT", i, p)
		}
	}
	switch n := len(cfg.Peers); {
	case *id < 0 || *id >= n:
		return fmt.Errorf("--id: required, an index into --peers (0..%d), got %d", n-1, *id)
	case *clientPort < 0 || *clientPort >= 65536:
		return errors.New("--client-port: required, a port (0: none)")
	case *adminPort < 0 || *adminPort >= 65536:
		return errors.New("--admin-port: not a port")
	case *incarnation < 0:
		return errors.New("--incarnation: must be >= 0")
	case *storage != "memory" && *storage != "file":
		return fmt.Errorf("--storage: must be memory or file, got %q", *storage)
	case (*storage == "file") != (*storageDir != ""):
		return errors.New("--storage-dir: required with --storage file, and only with it")
	}
	if cfg.T0UnixUs == 0 {
		cfg.T0UnixUs = time.Now().UnixMicro()
	}
	var err error
	if cfg.Scenario, err = nodeScenario(*scenarioPath, len(cfg.Peers)); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return tcpnode.Run(ctx, cfg, os.Stderr)
}

// nodeScenario reads the scenario a node takes its core's settings from:
// nodes, if given, must be the peer list's length; storage is the flags'.
func nodeScenario(path string, nodes int) (*scenario.Scenario, error) {
	raw := map[string]json.RawMessage{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--scenario: %w", err)
		}
		if json.Unmarshal(data, &raw) != nil || raw == nil {
			_, err := scenario.Parse(data) // says why: not JSON, or not an object
			return nil, err
		}
		if v, ok := raw["nodes"]; ok && string(v) != strconv.Itoa(nodes) {
			return nil, fmt.Errorf("nodes: the scenario has %s, --peers has %d", v, nodes)
		}
	}
	delete(raw, "storage")
	delete(raw, "storage_dir")
	raw["nodes"] = json.RawMessage(strconv.Itoa(nodes))
	data, _ := json.Marshal(raw)
	return scenario.Parse(data)
}
