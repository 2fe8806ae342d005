package tcpnode

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
)

// serveAdmin answers the launcher's JSON-lines requests (docs/deploy.md,
// "The admin port") until the connection ends or turns to watching.
func (s *Server) serveAdmin(ctx context.Context, c net.Conn) {
	lines := bufio.NewScanner(c)
	for lines.Scan() {
		reply, watch := s.admin(lines.Bytes())
		if _, err := c.Write(append(reply, '\n')); err != nil || watch {
			if err == nil {
				s.watch(ctx, c)
			}
			return
		}
	}
}

// admin answers one request; true: the connection now watches role changes.
func (s *Server) admin(line []byte) (reply []byte, watch bool) {
	var req struct {
		Op    *string         `json:"op"`
		Peers json.RawMessage `json:"peers"`
	}
	err := json.Unmarshal(line, &req)
	switch {
	case err != nil:
	case req.Op == nil:
		err = errors.New("no op")
	case *req.Op == "stats":
		s.stats[inboxDropped].Store(s.node.Dropped())
		s.mu.Lock()
		role, term := s.role, s.term
		s.mu.Unlock()
		return fmt.Appendf(nil, `{"ok": true, "stats": %s, "role": "%s", "term": %d}`, &s.stats, role, term), false
	case *req.Op == "block":
		var peers []int
		if json.Unmarshal(req.Peers, &peers) != nil || peers == nil { // missing, null or not a list
			err = errors.New("peers must be a list of node ids")
			break
		}
		blocked := map[int]bool{}
		for _, p := range peers {
			blocked[p] = true
		}
		s.blocked.Store(&blocked)
		s.log.Printf("blocked %v", peers)
	case *req.Op == "watch":
		watch = true
	default:
		err = fmt.Errorf("unknown op %q", *req.Op)
	}
	if err != nil {
		text, _ := json.Marshal(err.Error())
		return fmt.Appendf(nil, `{"ok": false, "error": %s}`, text), false
	}
	return []byte(`{"ok": true}`), watch
}

// watch writes one line per role change to c, the current role first,
// until c breaks or the node stops.
func (s *Server) watch(ctx context.Context, c net.Conn) {
	lines := make(chan string, 64)
	s.mu.Lock()
	lines <- stateLine(s.now(), s.role, s.term)
	s.watchers[lines] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers, lines)
		s.mu.Unlock()
	}()
	for {
		select {
		case line := <-lines:
			if _, err := c.Write([]byte(line + "\n")); err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
