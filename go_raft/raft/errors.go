package raft

import (
	"errors"
	"fmt"
)

// ErrNotLeader matches every *NotLeaderError with errors.Is.
var ErrNotLeader = errors.New("not the leader")

// NotLeaderError is returned by Propose on a node that is not the leader.
// LeaderHint is the leader this node last heard from in its current term,
// or None (-1) when it knows of none; a client retries there.
type NotLeaderError struct {
	LeaderHint int
}

func (e *NotLeaderError) Error() string {
	if e.LeaderHint == None {
		return "not the leader (hint: None)"
	}
	return fmt.Sprintf("not the leader (hint: %d)", e.LeaderHint)
}

// Is makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// ErrSnapshotAhead is returned by Snapshot for an index above LastApplied:
// the host can only have an image of entries it has applied.
var ErrSnapshotAhead = errors.New("snapshot index above last applied")
