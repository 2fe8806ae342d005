// Package client is the closed-loop client of docs/protocol.md ("Clients"),
// written once: the goroutine runtime blocks on each step it decides, and the
// simulator turns each into an event.
package client

import (
	"errors"
	"strconv"

	"raftbench/go_raft/raft"
)

// Outcome is what became of one request.
type Outcome int

const (
	OK       Outcome = iota // the command committed
	Lost                    // the node crashed, or a new leader overwrote the entry
	Redirect                // the node does not lead; a node that is down answers so too
	Timeout                 // no answer within client_timeout_ms
)

// Client has one command in flight at a time. It sits one network hop from
// every node: its first request arrives a hop after the clients start, its
// next one two hops after an ack (the ack back, the request out).
type Client struct {
	ID     int
	Target int   // the node its next request goes to: its guess of the leader
	HopUs  int64 // the pause before the first request
	nodes  int
	seq    int
	// retryUs is the pause after a failed request, except a timeout, after
	// which it tries the next node at once.
	retryUs int64
}

// New is client id of a cluster of nodes; its first request goes to leader.
func New(id, leader, nodes int, hopUs, retryUs int64) *Client {
	return &Client{ID: id, Target: leader, HopUs: hopUs, nodes: nodes, retryUs: retryUs}
}

// Next is the command of the next request: "c<id>.<seq>".
func (c *Client) Next() string {
	c.seq++
	return "c" + strconv.Itoa(c.ID) + "." + strconv.Itoa(c.seq)
}

// Outcome takes what became of the request to Target, and a Redirect's
// leader hint (raft.None: none), and returns the pause before the next
// request. A command lost at a node that is up was overwritten: it is
// retried there; one lost to a crash, at the next node.
func (c *Client) Outcome(o Outcome, hint int, up func(node int) bool) (pauseUs int64) {
	switch {
	case o == OK:
		return 2 * c.HopUs
	case o == Timeout:
		c.Target = (c.Target + 1) % c.nodes
		return 0
	case o == Redirect && hint >= 0:
		c.Target = hint
	case o == Redirect || !up(c.Target):
		c.Target = (c.Target + 1) % c.nodes
	}
	return c.retryUs
}

// Hint is the leader hint of a refused proposal (raft.None: none).
func Hint(err error) int {
	if notLeader := (*raft.NotLeaderError)(nil); errors.As(err, &notLeader) {
		return notLeader.LeaderHint
	}
	return raft.None
}
