package raft

// The shared test vectors (tests/vectors/*.json, see its README.md): scripted
// inputs to one or more cores with the exact outputs expected, generated from
// the Python core. Each is replayed here on the Go core; outputs are encoded
// into the vectors' JSON shape and compared generically.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

const vectorDir = "../../tests/vectors"

type vector struct {
	Name    string                     `json:"name"`
	Rule    string                     `json:"rule"`
	Members []int                      `json:"members"`
	Config  vectorConfig               `json:"config"`
	Seed    uint64                     `json:"seed"`
	Initial map[string]json.RawMessage `json:"initial"`
	Steps   []vectorStep               `json:"steps"`
}

type vectorConfig struct {
	Min       int64 `json:"election_timeout_min_us"`
	Max       int64 `json:"election_timeout_max_us"`
	Heartbeat int64 `json:"heartbeat_us"`
	Batch     int   `json:"max_batch_entries"`
	// The first election timeout's range; absent (0) in most vectors.
	FirstMin int64 `json:"first_election_timeout_min_us"`
	FirstMax int64 `json:"first_election_timeout_max_us"`
	// The compaction threshold; absent (0) but in the snapshot vectors.
	SnapshotEntries int `json:"snapshot_entries"`
}

type vectorStep struct {
	Node   int                        `json:"node"`
	Input  map[string]json.RawMessage `json:"input"`
	Expect map[string]any             `json:"expect"`
}

type jsonEntry struct {
	Term    int     `json:"term"`
	Cmd     *string `json:"cmd"`
	Payload string  `json:"payload"`
}

func (e jsonEntry) entry() Entry {
	if e.Cmd == nil {
		return Entry{Term: e.Term, Payload: e.Payload, Noop: true}
	}
	return Entry{Term: e.Term, Cmd: *e.Cmd, Payload: e.Payload}
}

func entryJSON(e Entry) map[string]any {
	var cmd any
	if !e.Noop {
		cmd = e.Cmd
	}
	return map[string]any{"term": e.Term, "cmd": cmd, "payload": e.Payload}
}

func entriesJSON(es []Entry) []any {
	out := []any{}
	for _, e := range es {
		out = append(out, entryJSON(e))
	}
	return out
}

// jsonSnapshot is a snapshot as the vectors write it: its data is text.
type jsonSnapshot struct {
	Index int    `json:"last_included_index"`
	Term  int    `json:"last_included_term"`
	Data  string `json:"data"`
}

func snapshotJSON(s *Snapshot) map[string]any {
	return map[string]any{"last_included_index": s.LastIncludedIndex,
		"last_included_term": s.LastIncludedTerm, "data": string(s.Data)}
}

func optID(id int) any {
	if id == None {
		return nil
	}
	return id
}

// nodeSeed is py_raft.sim.node_seed, repeated here to keep package raft free
// of the simulator.
func nodeSeed(seed uint64, node, incarnation int) uint64 {
	return DeriveSeed(DeriveSeed(seed, uint64(2+node)), uint64(incarnation))
}

func decodeMessage(raw json.RawMessage) (Message, error) {
	var head struct {
		Type         string      `json:"type"`
		Term         int         `json:"term"`
		CandidateID  int         `json:"candidate_id"`
		LastLogIndex int         `json:"last_log_index"`
		LastLogTerm  int         `json:"last_log_term"`
		VoteGranted  bool        `json:"vote_granted"`
		VoterID      int         `json:"voter_id"`
		LeaderID     int         `json:"leader_id"`
		PrevLogIndex int         `json:"prev_log_index"`
		PrevLogTerm  int         `json:"prev_log_term"`
		Entries      []jsonEntry `json:"entries"`
		LeaderCommit int         `json:"leader_commit"`
		Success      bool        `json:"success"`
		FollowerID   int         `json:"follower_id"`
		MatchIndex   int         `json:"match_index"`
		ConflictIdx  int         `json:"conflict_index"`
		ConflictTerm int         `json:"conflict_term"`
		LastIncIdx   int         `json:"last_included_index"`
		LastIncTerm  int         `json:"last_included_term"`
		Data         string      `json:"data"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, err
	}
	switch head.Type {
	case "RequestVote":
		return &RequestVote{head.Term, head.CandidateID, head.LastLogIndex, head.LastLogTerm}, nil
	case "RequestVoteReply":
		return &RequestVoteReply{head.Term, head.VoteGranted, head.VoterID}, nil
	case "AppendEntries":
		var entries []Entry
		for _, e := range head.Entries {
			entries = append(entries, e.entry())
		}
		return &AppendEntries{head.Term, head.LeaderID, head.PrevLogIndex, head.PrevLogTerm, entries, head.LeaderCommit}, nil
	case "AppendEntriesReply":
		return &AppendEntriesReply{head.Term, head.Success, head.FollowerID, head.MatchIndex, head.ConflictIdx, head.ConflictTerm}, nil
	case "InstallSnapshot":
		return &InstallSnapshot{head.Term, head.LeaderID, head.LastIncIdx, head.LastIncTerm, []byte(head.Data)}, nil
	case "InstallSnapshotReply":
		return &InstallSnapshotReply{head.Term, head.FollowerID, head.MatchIndex}, nil
	}
	return nil, fmt.Errorf("unknown message type %q", head.Type)
}

func messageJSON(m Message) map[string]any {
	switch m := m.(type) {
	case *RequestVote:
		return map[string]any{"type": "RequestVote", "term": m.Term, "candidate_id": m.CandidateID,
			"last_log_index": m.LastLogIndex, "last_log_term": m.LastLogTerm}
	case *RequestVoteReply:
		return map[string]any{"type": "RequestVoteReply", "term": m.Term, "vote_granted": m.VoteGranted,
			"voter_id": m.VoterID}
	case *AppendEntries:
		return map[string]any{"type": "AppendEntries", "term": m.Term, "leader_id": m.LeaderID,
			"prev_log_index": m.PrevLogIndex, "prev_log_term": m.PrevLogTerm,
			"entries": entriesJSON(m.Entries), "leader_commit": m.LeaderCommit}
	case *AppendEntriesReply:
		return map[string]any{"type": "AppendEntriesReply", "term": m.Term, "success": m.Success,
			"follower_id": m.FollowerID, "match_index": m.MatchIndex,
			"conflict_index": m.ConflictIndex, "conflict_term": m.ConflictTerm}
	case *InstallSnapshot:
		return map[string]any{"type": "InstallSnapshot", "term": m.Term, "leader_id": m.LeaderID,
			"last_included_index": m.LastIncludedIndex, "last_included_term": m.LastIncludedTerm,
			"data": string(m.Data)}
	case *InstallSnapshotReply:
		return map[string]any{"type": "InstallSnapshotReply", "term": m.Term,
			"follower_id": m.FollowerID, "match_index": m.MatchIndex}
	}
	panic("unknown message")
}

func readyJSON(r Ready) map[string]any {
	var hs any
	if r.HardState != nil {
		hs = []any{r.HardState.Term, optID(r.HardState.VotedFor)}
	}
	msgs, committed, transitions := []any{}, []any{}, []any{}
	for _, m := range r.Messages {
		msgs = append(msgs, []any{m.To, messageJSON(m.Msg)})
	}
	for _, a := range r.Committed {
		committed = append(committed, []any{a.Index, entryJSON(a.Entry)})
	}
	for _, t := range r.Transitions {
		transitions = append(transitions, []any{t.Role.String(), t.Term})
	}
	out := map[string]any{"hard_state": hs, "log_from": r.LogFrom, "entries": entriesJSON(r.Entries),
		"messages": msgs, "committed": committed, "transitions": transitions}
	// The snapshot fields appear only when set, as in vectorlib.py.
	if r.Snapshot != nil {
		out["snapshot"] = snapshotJSON(r.Snapshot)
	}
	if r.Restore != nil {
		out["restore"] = snapshotJSON(r.Restore)
	}
	if r.SnapshotDue != 0 {
		out["snapshot_due"] = r.SnapshotDue
	}
	return out
}

func stateJSON(r *Raft) map[string]any {
	out := map[string]any{"role": r.Role.String(), "current_term": r.CurrentTerm,
		"voted_for": optID(r.VotedFor), "commit_index": r.CommitIndex, "last_applied": r.LastApplied,
		"last_index": r.LastIndex(), "leader_id": optID(r.LeaderID), "next_deadline": r.NextDeadline()}
	if r.LastIncludedIndex != 0 {
		out["last_included_index"], out["last_included_term"] = r.LastIncludedIndex, r.LastIncludedTerm
	}
	return out
}

func storageJSON(s *MemoryStorage) map[string]any {
	term, vote := s.HardState()
	out := map[string]any{"current_term": term, "voted_for": optID(vote), "log": entriesJSON(s.Entries())}
	if snap := s.Snapshot(); snap != nil {
		out["snapshot"] = snapshotJSON(snap)
	}
	return out
}

// generic round-trips v through JSON, so that it compares with decoded JSON.
func generic(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

type replayer struct {
	t        *testing.T
	v        *vector
	storages map[int]*MemoryStorage
	cores    map[int]*Raft
	incs     map[int]int
}

func (rp *replayer) storage(node int) *MemoryStorage {
	if s, ok := rp.storages[node]; ok {
		return s
	}
	s := NewMemoryStorage()
	if raw, ok := rp.v.Initial[strconv.Itoa(node)]; ok {
		var init struct {
			Term     int           `json:"current_term"`
			Voted    *int          `json:"voted_for"`
			Log      []jsonEntry   `json:"log"`
			Snapshot *jsonSnapshot `json:"snapshot"`
		}
		if err := json.Unmarshal(raw, &init); err != nil {
			rp.t.Fatalf("%s: initial %d: %v", rp.v.Name, node, err)
		}
		vote := None
		if init.Voted != nil {
			vote = *init.Voted
		}
		s.SetHardState(init.Term, vote)
		first := 1
		if snap := init.Snapshot; snap != nil {
			s.SaveSnapshot(Snapshot{LastIncludedIndex: snap.Index, LastIncludedTerm: snap.Term, Data: []byte(snap.Data)})
			first = snap.Index + 1
		}
		var entries []Entry
		for _, e := range init.Log {
			entries = append(entries, e.entry())
		}
		s.TruncateAndAppend(first, entries)
	}
	rp.storages[node] = s
	return s
}

func (rp *replayer) field(in map[string]json.RawMessage, key string, out any) {
	if err := json.Unmarshal(in[key], out); err != nil {
		rp.t.Fatalf("%s: input field %s: %v", rp.v.Name, key, err)
	}
}

// step applies one input; it returns the propose outcome, if any.
func (rp *replayer) step(i int, st vectorStep) (propose any) {
	var kind string
	var now int64
	rp.field(st.Input, "type", &kind)
	rp.field(st.Input, "now", &now)
	cfg := Config{ElectionTimeoutMinUs: rp.v.Config.Min, ElectionTimeoutMaxUs: rp.v.Config.Max,
		HeartbeatUs: rp.v.Config.Heartbeat, MaxBatchEntries: rp.v.Config.Batch,
		FirstElectionTimeoutMinUs: rp.v.Config.FirstMin, FirstElectionTimeoutMaxUs: rp.v.Config.FirstMax,
		SnapshotEntries: rp.v.Config.SnapshotEntries}
	switch kind {
	case "start", "restart":
		if kind == "restart" {
			rp.incs[st.Node]++
		}
		rng := NewSplitMix64(nodeSeed(rp.v.Seed, st.Node, rp.incs[st.Node]))
		rp.cores[st.Node] = New(st.Node, rp.v.Members, rp.storage(st.Node), cfg, rng, now)
		return nil
	}
	core := rp.cores[st.Node]
	if core == nil {
		rp.t.Fatalf("%s step %d: node %d has no core", rp.v.Name, i, st.Node)
	}
	switch kind {
	case "tick":
		core.Tick(now)
	case "step":
		msg, err := decodeMessage(st.Input["msg"])
		if err != nil {
			rp.t.Fatalf("%s step %d: %v", rp.v.Name, i, err)
		}
		core.Step(msg, now)
	case "propose":
		var cmd, payload string
		rp.field(st.Input, "cmd", &cmd)
		rp.field(st.Input, "payload", &payload)
		index, term, err := core.Propose(cmd, payload, now)
		if err != nil {
			return map[string]any{"not_leader": optID(err.(*NotLeaderError).LeaderHint)}
		}
		return map[string]any{"index": index, "term": term}
	case "snapshot":
		var index int
		var data string
		rp.field(st.Input, "index", &index)
		rp.field(st.Input, "data", &data)
		if err := core.Snapshot(index, []byte(data)); err != nil {
			rp.t.Fatalf("%s step %d: %v", rp.v.Name, i, err)
		}
	default:
		rp.t.Fatalf("%s step %d: unknown input %q", rp.v.Name, i, kind)
	}
	return nil
}

func replay(t *testing.T, v *vector) {
	rp := &replayer{t: t, v: v, storages: map[int]*MemoryStorage{}, cores: map[int]*Raft{}, incs: map[int]int{}}
	for i, st := range v.Steps {
		propose := rp.step(i, st)
		core := rp.cores[st.Node]
		rd := core.Ready()
		s := rp.storage(st.Node)
		if rd.Snapshot != nil {
			s.SaveSnapshot(*rd.Snapshot)
		}
		if rd.HardState != nil {
			s.SetHardState(rd.HardState.Term, rd.HardState.VotedFor)
		}
		if rd.LogFrom != 0 {
			s.TruncateAndAppend(rd.LogFrom, rd.Entries)
		}
		got := map[string]any{"ready": readyJSON(rd), "state": stateJSON(core), "storage": storageJSON(s)}
		if propose != nil {
			got["propose"] = propose
		}
		for key, want := range st.Expect {
			if g := generic(t, got[key]); !reflect.DeepEqual(g, want) {
				t.Errorf("vector %s step %d (%s): %s differs\n got: %s\nwant: %s",
					v.Name, i, string(st.Input["type"]), key, mustJSON(g), mustJSON(want))
			}
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func loadVectors(t *testing.T, dir string) []*vector {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*vector
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		v := &vector{}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, v)
	}
	return out
}

func TestVectors(t *testing.T) {
	dir := vectorDir
	if d := os.Getenv("RAFT_VECTORS"); d != "" {
		dir = d // to check the replayer itself on hand-made vectors
	}
	vectors := loadVectors(t, dir)
	if len(vectors) == 0 {
		t.Skip("no vectors in " + dir)
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) { replay(t, v) })
	}
}
