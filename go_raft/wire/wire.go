// Package wire is the frame format that Raft nodes and their clients share
// over TCP, in Go and in Python alike (docs/wire.md).
//
// A frame is a 4-byte big-endian body length, then a msgpack body: an array
// [tag, field...] with the fields in their declared order. Go writes the very
// bytes py_raft/wire.py writes; tests/vectors/wire/ holds the proof.
//
// Decoding trusts nothing. A frame that is not well formed comes back as an
// error wrapping ErrMalformed, ErrOversized or ErrTruncated, for the caller to
// count; it never panics, and it never reads past a declared length.
package wire

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"raftbench/go_raft/raft"
)

const (
	// Version is the protocol version a Hello carries.
	Version = 1
	// MaxFrame is the largest body a frame may declare, in bytes. A snapshot
	// travels in one InstallSnapshot, so it must fit.
	MaxFrame    = 64 << 20
	headerBytes = 4
)

// The three ways a frame can be bad; every error Read and Decode return
// wraps one.
var (
	ErrMalformed = errors.New("wire: malformed frame")
	ErrOversized = errors.New("wire: frame too large")
	ErrTruncated = errors.New("wire: stream ended inside a frame")
)

// Hello is the first frame on every connection. NodeID is the sender's node
// id, or raft.None for a client; a server refuses an id it does not know.
type Hello struct {
	Version int
	NodeID  int
}

// Propose asks a node to replicate a client's command.
type Propose struct {
	Cmd     string
	Payload string
}

// Redirect answers a Propose at a node that does not lead. LeaderHint is the
// leader it knows of, or raft.None.
type Redirect struct {
	LeaderHint int
}

// Committed answers a Propose whose entry committed at Index.
type Committed struct {
	Index int
}

// Lost answers a Propose whose entry a new leader overwrote.
type Lost struct{}

// The tags are the wire's names for the frame types; they never change.
const (
	tagHello = iota + 1
	tagRequestVote
	tagRequestVoteReply
	tagAppendEntries
	tagAppendEntriesReply
	tagInstallSnapshot
	tagInstallSnapshotReply
	tagPropose
	tagRedirect
	tagCommitted
	tagLost
)

// newFrame makes an empty frame of each tag for Decode to fill.
var newFrame = [...]func() any{
	tagHello:                func() any { return new(Hello) },
	tagRequestVote:          func() any { return new(raft.RequestVote) },
	tagRequestVoteReply:     func() any { return new(raft.RequestVoteReply) },
	tagAppendEntries:        func() any { return new(raft.AppendEntries) },
	tagAppendEntriesReply:   func() any { return new(raft.AppendEntriesReply) },
	tagInstallSnapshot:      func() any { return new(raft.InstallSnapshot) },
	tagInstallSnapshotReply: func() any { return new(raft.InstallSnapshotReply) },
	tagPropose:              func() any { return new(Propose) },
	tagRedirect:             func() any { return new(Redirect) },
	tagCommitted:            func() any { return new(Committed) },
	tagLost:                 func() any { return new(Lost) },
}

// optional is an id that may be absent: raft.None travels as nil.
type optional int

// command is an entry's command, which is nil for a no-op.
type command raft.Entry

// fields is the one table of the format: m's tag and its fields in wire
// order, as pointers for the codec to read or fill. m is a pointer to a raft
// message or to one of this package's frames; the tag is 0 for anything else.
func fields(m any) (int, []any) {
	switch m := m.(type) {
	case *Hello:
		return tagHello, []any{&m.Version, (*optional)(&m.NodeID)}
	case *raft.RequestVote:
		return tagRequestVote, []any{&m.Term, &m.CandidateID, &m.LastLogIndex, &m.LastLogTerm}
	case *raft.RequestVoteReply:
		return tagRequestVoteReply, []any{&m.Term, &m.VoteGranted, &m.VoterID}
	case *raft.AppendEntries:
		return tagAppendEntries, []any{&m.Term, &m.LeaderID, &m.PrevLogIndex, &m.PrevLogTerm,
			&m.Entries, &m.LeaderCommit}
	case *raft.AppendEntriesReply:
		return tagAppendEntriesReply, []any{&m.Term, &m.Success, &m.FollowerID, &m.MatchIndex,
			&m.ConflictIndex, &m.ConflictTerm}
	case *raft.InstallSnapshot:
		return tagInstallSnapshot, []any{&m.Term, &m.LeaderID, &m.LastIncludedIndex,
			&m.LastIncludedTerm, &m.Data}
	case *raft.InstallSnapshotReply:
		return tagInstallSnapshotReply, []any{&m.Term, &m.FollowerID, &m.MatchIndex}
	case *Propose:
		return tagPropose, []any{&m.Cmd, &m.Payload}
	case *Redirect:
		return tagRedirect, []any{(*optional)(&m.LeaderHint)}
	case *Committed:
		return tagCommitted, []any{&m.Index}
	case *Lost:
		return tagLost, nil
	}
	return 0, nil
}

func entryFields(e *raft.Entry) []any { return []any{&e.Term, (*command)(e), &e.Payload} }

// Encode returns m as one frame, header included. An m that is not a frame
// type, or whose body would pass MaxFrame, is the caller's mistake.
func Encode(m any) ([]byte, error) {
	tag, fs := fields(m)
	if tag == 0 {
		return nil, fmt.Errorf("wire: cannot encode a %T", m)
	}
	buf := bytes.NewBuffer(make([]byte, headerBytes, 64))
	// The encoder's errors are its writer's, and a bytes.Buffer never fails
	// a write, so they go unchecked here and below.
	e := msgpack.NewEncoder(buf)
	e.EncodeArrayLen(1 + len(fs))
	e.EncodeInt(int64(tag))
	encodeFields(e, fs)
	frame := buf.Bytes()
	if len(frame)-headerBytes > MaxFrame {
		return nil, fmt.Errorf("%w: a %T of %d bytes", ErrOversized, m, len(frame)-headerBytes)
	}
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-headerBytes))
	return frame, nil
}

func encodeFields(e *msgpack.Encoder, fs []any) {
	for _, f := range fs {
		encodeField(e, f)
	}
}

// encodeField writes ints in their smallest form, as Python's msgpack does,
// and []byte as bin even when empty (the library writes a nil slice as nil).
func encodeField(e *msgpack.Encoder, f any) {
	switch f := f.(type) {
	case *int:
		e.EncodeInt(int64(*f))
	case *optional:
		if *f == raft.None {
			e.EncodeNil()
		} else {
			e.EncodeInt(int64(*f))
		}
	case *bool:
		e.EncodeBool(*f)
	case *string:
		e.EncodeString(*f)
	case *command:
		if f.Noop {
			e.EncodeNil()
		} else {
			e.EncodeString(f.Cmd)
		}
	case *[]byte:
		e.EncodeBytesLen(len(*f))
		e.Writer().Write(*f)
	case *[]raft.Entry:
		e.EncodeArrayLen(len(*f))
		var entry raft.Entry // one table for all the entries
		fs := entryFields(&entry)
		for _, entry = range *f {
			e.EncodeArrayLen(len(fs))
			encodeFields(e, fs)
		}
	default:
		panic(fmt.Sprintf("wire: no codec for %T", f))
	}
}

// Read reads one frame from r. It returns io.EOF when r ends between frames,
// and checks the declared length before it reads the body.
func Read(r io.Reader) (any, error) {
	var header [headerBytes]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("%w: in the header", ErrTruncated)
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(header[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: %d bytes declared, the limit is %d", ErrOversized, n, MaxFrame)
	}
	body, err := readBody(r, int(n))
	if err != nil {
		return nil, err
	}
	return Decode(body)
}

// readBody reads n bytes, growing its buffer as they arrive, so that a
// declared length alone costs at most a chunk of memory.
func readBody(r io.Reader, n int) ([]byte, error) {
	const chunk = 1 << 20
	body := make([]byte, 0, min(n, chunk))
	for len(body) < n {
		k := min(n-len(body), max(len(body), chunk))
		body = slices.Grow(body, k)
		if _, err := io.ReadFull(r, body[len(body):len(body)+k]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = fmt.Errorf("%w: in a body of %d bytes", ErrTruncated, n)
			}
			return nil, err
		}
		body = body[:len(body)+k]
	}
	return body, nil
}

// Decode decodes one frame's body, the bytes after its header.
func Decode(body []byte) (any, error) {
	r := bytes.NewReader(body)
	m, err := decoder{msgpack.NewDecoder(r), r}.decode()
	if err == nil && r.Len() > 0 {
		err = fmt.Errorf("%d bytes after the frame", r.Len())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return m, nil
}

// decoder reads one body; body tells it how many bytes are left.
type decoder struct {
	*msgpack.Decoder
	body *bytes.Reader
}

func (d decoder) decode() (any, error) {
	n, err := d.arrayLen()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("a frame is a non-empty array")
	}
	var tag int
	if err := d.field(&tag); err != nil {
		return nil, err
	}
	if tag >= len(newFrame) || newFrame[tag] == nil {
		return nil, fmt.Errorf("unknown type tag %d", tag)
	}
	m := newFrame[tag]()
	_, fs := fields(m)
	if n-1 != len(fs) {
		return nil, fmt.Errorf("a %T has %d fields, not %d", m, len(fs), n-1)
	}
	for i, f := range fs {
		if err := d.field(f); err != nil {
			return nil, fmt.Errorf("%T field %d: %w", m, i+1, err)
		}
	}
	return m, nil
}

// field fills f from the next value, which must have f's own msgpack
// type: the library's decoders alone would take nil as 0, false or "", and bin
// as a string.
func (d decoder) field(f any) error {
	c, err := d.PeekCode()
	if err != nil {
		return err
	}
	return d.value(f, c)
}

// value fills f from the next value, whose msgpack code is c.
func (d decoder) value(f any, c byte) (err error) {
	switch f := f.(type) {
	case *optional:
		if c != msgpcode.Nil {
			return d.value((*int)(f), c)
		}
		*f = raft.None
		return d.DecodeNil()
	case *command:
		if f.Noop = c == msgpcode.Nil; !f.Noop {
			return d.value(&f.Cmd, c)
		}
		return d.DecodeNil()
	case *int: // a term, an index or a node id: never negative
		if c == msgpcode.Nil {
			return errors.New("nil is not an int")
		}
		var n int64
		if n, err = d.DecodeInt64(); err == nil && n < 0 {
			err = fmt.Errorf("%d is negative", n)
		}
		*f = int(n)
	case *bool:
		if c != msgpcode.True && c != msgpcode.False {
			return fmt.Errorf("code %#x is not a bool", c)
		}
		*f, err = d.DecodeBool()
	case *string: // valid UTF-8 only, as Python's decoder takes
		if !msgpcode.IsString(c) {
			return fmt.Errorf("code %#x is not a str", c)
		}
		if *f, err = d.DecodeString(); err == nil && !utf8.ValidString(*f) {
			err = errors.New("str is not UTF-8")
		}
	case *[]byte:
		*f, err = d.bin(c)
	case *[]raft.Entry:
		*f, err = d.entries()
	}
	return err
}

// bin reads a bin value; the library would allocate the declared length
// before it finds the body too short.
func (d decoder) bin(c byte) ([]byte, error) {
	if !msgpcode.IsBin(c) {
		return nil, fmt.Errorf("code %#x is not bin", c)
	}
	n, err := d.DecodeBytesLen()
	if err == nil && n > d.body.Len() {
		err = fmt.Errorf("bin of %d bytes in %d", n, d.body.Len())
	}
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	return b, d.ReadFull(b)
}

func (d decoder) arrayLen() (int, error) {
	if c, err := d.PeekCode(); err != nil || c == msgpcode.Nil {
		return 0, cmp.Or(err, errors.New("nil is not an array"))
	}
	return d.DecodeArrayLen()
}

// entries grows the slice as entries arrive, so a count the body
// cannot hold costs no allocation.
func (d decoder) entries() ([]raft.Entry, error) {
	n, err := d.arrayLen()
	if err != nil {
		return nil, err
	}
	entries := make([]raft.Entry, 0, min(n, 64))
	var e raft.Entry // one table for all the entries
	fs := entryFields(&e)
	for i := 0; i < n; i++ {
		e = raft.Entry{}
		if k, err := d.arrayLen(); err != nil || k != len(fs) {
			return nil, cmp.Or(err, fmt.Errorf("entry %d: an entry has %d fields, not %d", i, len(fs), k))
		}
		for _, f := range fs {
			if err := d.field(f); err != nil {
				return nil, fmt.Errorf("entry %d: %w", i, err)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}
