// Package filestore is a node's persistent state in files, durable once Sync
// returns: the Go twin of py_raft/filestore.py, in the same format
// (docs/protocol.md, "Snapshots and storage"), so that either language can
// reopen the other's files.
//
// # Theory of operation
//
// The host persists a Ready (snapshot, hard state, log change), calls Sync,
// and only then sends; so one fsync per Ready, at the end of the persist
// step, is what makes every vote and acknowledgement safe to give.
//
//   - log is an append-only file of records, each framed as
//     length u32 | crc32 u32 (IEEE, over the body) | body, little-endian.
//     A body's first byte is its kind: 1, hard state (current_term u64 |
//     voted_for i64, -1: none), the last one wins; 2, append (first_index u64
//     | count u32 | count entries, each term u64 | cmd length i32 (-1: null)
//     | cmd | payload length u32 | payload), which is TruncateAndAppend
//     itself, so a truncation is a record too, and a record, written whole or
//     not at all, is one atomic change.
//   - snapshot holds one record, last_included_index u64 | last_included_term
//     u64 | data. It is replaced atomically: written to snapshot.tmp,
//     fsynced, renamed over, and the directory fsynced.
//   - Compaction rewrites the log the same way (log.tmp: the hard state and
//     the entries after the snapshot), after the snapshot's rename is durable,
//     so the files never grow without bound. A crash between the two renames
//     leaves the new snapshot and the old log, whose entries at or below the
//     snapshot's index are dropped on open.
//   - On open, records are read until the first that is cut short, fails its
//     checksum or does not decode (a torn write, or corruption): the file is
//     truncated there and nothing after it is ever read. A record that checks
//     out but cannot be (an append that leaves a gap), or a damaged snapshot,
//     whose log prefix may be gone already, is ErrCorrupt instead.
//
// What was read is kept in a raft.MemoryStorage mirror, which answers every read.
package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"raftbench/go_raft/raft"
)

// ErrCorrupt: the files hold a state no crash can leave; they are not read.
var ErrCorrupt = errors.New("filestore: corrupt storage")

const (
	kindHardState = 1
	kindAppend    = 2
	headerSize    = 8  // body length, crc32 of the body
	hardStateSize = 17 // kind, current_term, voted_for
	appendSize    = 13 // kind, first_index, count
	snapshotSize  = 16 // last_included_index, last_included_term
	logName       = "log"
	snapshotName  = "snapshot"
)

var le = binary.LittleEndian

// Store implements raft.SnapshotStorage over the files of one node's
// directory. One Store per (re)start: a restarted node opens a new one over
// the same directory, so that what it reads back is what reached the disk.
type Store struct {
	*raft.MemoryStorage // the mirror: every read, and every write until Sync
	dir                 string
	log                 *os.File // opened for appending
	pending             []byte   // records written since the last Sync
	snapshotDue         bool     // a new snapshot (and a log rewrite) awaits Sync
	fsync               func(time.Duration)
	// CutBytes is the torn or corrupt tail cut off the log at open.
	CutBytes int
}

// Open reads the node's directory dir, made if missing, and keeps it open
// for writing. fsync, if not nil, hears how long each fsync took.
func Open(dir string, fsync func(time.Duration)) (*Store, error) {
	s := &Store{MemoryStorage: raft.NewMemoryStorage(), dir: dir, fsync: fsync}
	if err := s.open(); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return s, nil
}

func (s *Store) open() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	tmps, _ := filepath.Glob(filepath.Join(s.dir, "*.tmp"))
	for _, tmp := range tmps { // an atomic replace that a crash interrupted
		if err := os.Remove(tmp); err != nil {
			return err
		}
	}
	base := 0
	if data, err := os.ReadFile(s.path(snapshotName)); err == nil {
		bodies, end := readRecords(data)
		if len(bodies) != 1 || end != len(data) || len(bodies[0]) < snapshotSize {
			return fmt.Errorf("%w: the snapshot is damaged", ErrCorrupt)
		}
		b := bodies[0]
		base = int(le.Uint64(b))
		s.MemoryStorage.SaveSnapshot(raft.Snapshot{LastIncludedIndex: base, LastIncludedTerm: int(le.Uint64(b[8:])),
			Data: b[snapshotSize:]})
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	r, err := s.replay()
	if err != nil {
		return err
	}
	if s.log, err = os.OpenFile(s.path(logName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		return err
	}
	if s.CutBytes > 0 {
		slog.Warn("filestore: cut a torn or corrupt tail", "log", s.path(logName), "bytes", s.CutBytes, "offset", r.end)
		if err := s.log.Truncate(int64(r.end)); err != nil {
			return err
		}
		if err := s.timed(s.log.Sync); err != nil {
			return err
		}
	}
	s.MemoryStorage.SetHardState(r.term, r.vote)
	if len(r.entries) > 0 && r.start > base+1 {
		return fmt.Errorf("%w: the log starts at %d, after the snapshot at %d", ErrCorrupt, r.start, base)
	}
	s.MemoryStorage.TruncateAndAppend(base+1, r.entries[min(max(base+1-r.start, 0), len(r.entries)):])
	switch {
	case r.missing:
		return s.syncDir()
	case r.start != 0 && r.start != base+1:
		// A crash came between a compaction's two renames: the old log
		// still starts below the snapshot. Rewritten now, so that the
		// appends to come follow on from the snapshot in the file too.
		return s.rewriteLog()
	}
	return nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// ---- writes: the mirror now, the files at Sync --------------------------------

func (s *Store) SetHardState(term, votedFor int) {
	s.MemoryStorage.SetHardState(term, votedFor)
	s.pending = appendHardState(s.pending, term, votedFor)
}

func (s *Store) TruncateAndAppend(firstIndex int, entries []raft.Entry) {
	s.MemoryStorage.TruncateAndAppend(firstIndex, entries)
	s.pending = appendEntries(s.pending, firstIndex, entries)
}

func (s *Store) SaveSnapshot(snap raft.Snapshot) {
	s.MemoryStorage.SaveSnapshot(snap)
	s.snapshotDue = true
}

// Sync makes every write so far durable: the host calls it before it sends.
// A failure panics: a node cannot go on once its promises may be lost.
func (s *Store) Sync() {
	var err error
	switch {
	case s.snapshotDue:
		err = s.compact()
	case len(s.pending) > 0:
		if _, err = s.log.Write(s.pending); err == nil {
			err = s.timed(func() error { return syscall.Fdatasync(int(s.log.Fd())) })
		}
	}
	if err != nil {
		panic(fmt.Sprintf("filestore: %s: %v", s.dir, err))
	}
	s.pending = s.pending[:0]
}

// Close lets go of the files; writes not synced are lost, as in a crash.
func (s *Store) Close() error {
	if s.log == nil {
		return nil
	}
	err := s.log.Close()
	s.log = nil
	return err
}

// ---- the files ---------------------------------------------------------------

// replayed is the hard state and the log rebuilt from the log file.
type replayed struct {
	term, vote int
	start      int // the index of entries[0]; 0 until an append says
	entries    []raft.Entry
	end        int  // where the last good record ends: the file is cut there
	missing    bool // there was no log file
}

// replay reads the log file; the bytes past r.end are s.CutBytes.
func (s *Store) replay() (*replayed, error) {
	r := &replayed{vote: raft.None}
	data, err := os.ReadFile(s.path(logName))
	if errors.Is(err, os.ErrNotExist) {
		r.missing = true
		return r, nil
	} else if err != nil {
		return nil, err
	}
	bodies, _ := readRecords(data)
	for _, body := range bodies {
		if ok, err := r.record(body); err != nil {
			return nil, err
		} else if !ok {
			break
		}
		r.end += headerSize + len(body)
	}
	s.CutBytes = len(data) - r.end
	return r, nil
}

// record applies one record; false if it does not decode (the log ends there).
func (r *replayed) record(body []byte) (bool, error) {
	switch {
	case len(body) == 0:
		return false, nil
	case body[0] == kindHardState && len(body) == hardStateSize:
		r.term, r.vote = int(le.Uint64(body[1:])), int(int64(le.Uint64(body[9:])))
		if r.vote < 0 {
			r.vote = raft.None
		}
		return true, nil
	case body[0] == kindAppend:
		first, entries, ok := decodeAppend(body)
		if !ok {
			return false, nil
		}
		if len(r.entries) == 0 {
			r.start = first // an empty log starts where its next append does
		} else if first < r.start || first > r.start+len(r.entries) {
			return false, fmt.Errorf("%w: an append at %d leaves a gap after %d", ErrCorrupt, first, r.start+len(r.entries)-1)
		}
		r.entries = append(r.entries[:first-r.start], entries...)
		return true, nil
	}
	return false, nil
}

func decodeAppend(body []byte) (first int, entries []raft.Entry, ok bool) {
	if len(body) < appendSize {
		return 0, nil, false
	}
	first, count, rest := int(le.Uint64(body[1:])), int(le.Uint32(body[9:])), body[appendSize:]
	payload := "" // the last payload decoded: drivers repeat one
	for range count {
		if len(rest) < 12 {
			return 0, nil, false
		}
		e := raft.Entry{Term: int(le.Uint64(rest))}
		n := int(int32(le.Uint32(rest[8:]))) // -1: a no-op
		e.Noop, n, rest = n < 0, max(n, 0), rest[12:]
		if len(rest) < n+4 {
			return 0, nil, false
		}
		e.Cmd, rest = string(rest[:n]), rest[n:]
		n, rest = int(le.Uint32(rest)), rest[4:]
		if len(rest) < n {
			return 0, nil, false
		}
		if string(rest[:n]) != payload {
			payload = string(rest[:n])
		}
		e.Payload, rest = payload, rest[n:]
		entries = append(entries, e)
	}
	return first, entries, len(rest) == 0
}

// compact writes the new snapshot, then the log that follows it, each atomically.
func (s *Store) compact() error {
	snap := s.Snapshot()
	body := le.AppendUint64(le.AppendUint64(nil, uint64(snap.LastIncludedIndex)), uint64(snap.LastIncludedTerm))
	if err := s.replace(snapshotName, frame(nil, append(body, snap.Data...))); err != nil {
		return err
	}
	s.snapshotDue = false
	return s.rewriteLog()
}

// rewriteLog replaces the log file: the hard state, the entries after the snapshot.
func (s *Store) rewriteLog() error {
	base := 0
	if snap := s.Snapshot(); snap != nil {
		base = snap.LastIncludedIndex
	}
	term, vote := s.HardState()
	data := appendHardState(nil, term, vote)
	if entries := s.Entries(); len(entries) > 0 {
		data = appendEntries(data, base+1, entries)
	}
	s.log.Close()
	err := s.replace(logName, data)
	if err == nil {
		s.log, err = os.OpenFile(s.path(logName), os.O_WRONLY|os.O_APPEND, 0)
	}
	return err
}

func (s *Store) replace(name string, data []byte) error {
	tmp := s.path(name + ".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = s.timed(f.Sync)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(name))
	}
	if err == nil {
		err = s.syncDir() // the rename is durable before anything that relies on it
	}
	return err
}

func (s *Store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return s.timed(d.Sync)
}

// timed runs one fsync and reports how long it took.
func (s *Store) timed(fsync func() error) error {
	start := time.Now()
	err := fsync()
	if s.fsync != nil {
		s.fsync(time.Since(start))
	}
	return err
}

// ---- records -----------------------------------------------------------------

// frame appends body to out as one record.
func frame(out, body []byte) []byte {
	out = le.AppendUint32(le.AppendUint32(out, uint32(len(body))), crc32.ChecksumIEEE(body))
	return append(out, body...)
}

func appendHardState(out []byte, term, votedFor int) []byte {
	body := le.AppendUint64(le.AppendUint64([]byte{kindHardState}, uint64(term)), uint64(int64(votedFor)))
	return frame(out, body)
}

func appendEntries(out []byte, firstIndex int, entries []raft.Entry) []byte {
	body := le.AppendUint32(le.AppendUint64([]byte{kindAppend}, uint64(firstIndex)), uint32(len(entries)))
	for _, e := range entries {
		body = le.AppendUint64(body, uint64(e.Term))
		if e.Noop {
			body = le.AppendUint32(body, 0xFFFF_FFFF) // -1: null
		} else {
			body = append(le.AppendUint32(body, uint32(len(e.Cmd))), e.Cmd...)
		}
		body = append(le.AppendUint32(body, uint32(len(e.Payload))), e.Payload...)
	}
	return frame(out, body)
}

// readRecords splits data into record bodies, up to the first that is cut
// short or fails its checksum; it also returns where the good ones end.
func readRecords(data []byte) (bodies [][]byte, end int) {
	for end+headerSize <= len(data) {
		n, crc := int(le.Uint32(data[end:])), le.Uint32(data[end+4:])
		start := end + headerSize
		if n > len(data)-start || crc32.ChecksumIEEE(data[start:start+n]) != crc {
			break
		}
		bodies = append(bodies, data[start:start+n])
		end = start + n
	}
	return bodies, end
}
