// Package raft is the Raft core: a pure state machine, as in Figure 2 of the
// Raft paper. It is a one-to-one port of py_raft/core.
//
// # Theory of operation
//
// A Raft value is one server. It never reads a clock, sleeps, starts a
// goroutine or touches a socket. A runtime drives it with four inputs, each
// stamped with the runtime's notion of "now" in integer microseconds:
//
//   - Step(msg, now): a message from a peer arrived;
//   - Tick(now): the deadline from NextDeadline has passed;
//   - Propose(cmd, payload, now): a client asks the leader to replicate a command;
//   - Snapshot(index, data): the host hands over its state machine's image, when
//     a Ready asked for one (SnapshotDue), and the log up to index is compacted;
//   - New over a Storage: a (re)start from whatever was persisted.
//
// After any input the runtime calls Ready and carries out the returned Ready
// in the order its fields are documented: persist, then send, then apply.
// Randomness (the election timeout) comes only from the injected SplitMix64,
// so a run replays exactly from its seed.
package raft
