package main

import (
	"fmt"

	"raftbench/go_raft/scenario"
)

// refusal names the first scenario field, set away from its default, that
// hashicorp/raft cannot honour; "" when it can run the scenario as written.
// A refused field is never silently ignored (docs/anchors.md).
func refusal(sc *scenario.Scenario) string {
	d := scenario.Default()
	lo, hi := sc.ElectionTimeoutMs[0], sc.ElectionTimeoutMs[1]
	switch {
	case hi != 2*lo:
		return fmt.Sprintf("election_timeout_ms: hashicorp/raft draws every timeout from [T, 2T), "+
			"so max must be twice min, got [%g, %g]", lo, hi)
	case lo < 5:
		return fmt.Sprintf("election_timeout_ms: hashicorp/raft needs at least 5 ms, got %g", lo)
	case sc.HeartbeatMs != d.HeartbeatMs:
		return "heartbeat_ms: hashicorp/raft's leader heartbeats every HeartbeatTimeout/10 to /5; " +
			"only the default 50 is accepted"
	case len(sc.Faults) > 0:
		return "faults: not supported by anchor-hashicorp (failover crashes the leader itself)"
	case sc.FirstElectionTimeoutMs != nil:
		return "first_election_timeout_ms: hashicorp/raft draws its first timeout like every other; must be null"
	case sc.InboxCapacity != d.InboxCapacity:
		return "inbox_capacity: hashicorp/raft's transport has no bounded inbox; must be 0"
	case sc.MaxBatchEntries > 1024:
		return fmt.Sprintf("max_batch_entries: hashicorp/raft allows at most 1024, got %d", sc.MaxBatchEntries)
	case sc.SnapshotEntries != d.SnapshotEntries:
		return "snapshot_entries: hashicorp/raft compacts by its own SnapshotThreshold; only the default is accepted"
	case sc.Storage != d.Storage:
		return `storage: anchor-hashicorp keeps hashicorp's InmemStore; must be "memory"`
	case sc.Transport != d.Transport:
		return `transport: "tcp" runs only under raftbench cluster (docs/deploy.md)`
	}
	return ""
}
