package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"raftbench/go_raft/raft"
)

// KeyValue is the replicated state machine, as py_raft/kv.py: command
// "c<client>.<seq>" sets key "c<client>". Each key keeps its value and the
// command that wrote it last, so that the image tells two histories apart
// even though every driver writes the same payload.
//
// The image, the bytes a snapshot carries, is the same in every language,
// byte for byte (docs/protocol.md, "Snapshots and storage"): the last applied
// index in decimal and a newline, then one line "cmd TAB payload" per key,
// the lines sorted by byte order.
type KeyValue struct {
	Data      map[string]Value // by key
	LastIndex int
}

// Value is a key's payload and the command that wrote it.
type Value struct{ Cmd, Payload string }

// Apply applies e, the entry at index.
func (kv *KeyValue) Apply(index int, e raft.Entry) {
	if index != kv.LastIndex+1 {
		panic(fmt.Sprintf("host: applied %d after %d", index, kv.LastIndex))
	}
	kv.LastIndex = index
	if !e.Noop {
		key, _, _ := strings.Cut(e.Cmd, ".")
		kv.Data[key] = Value{e.Cmd, e.Payload}
	}
}

// Image serializes the state machine at LastIndex.
func (kv *KeyValue) Image() []byte {
	lines := make([]string, 0, len(kv.Data))
	size := 21
	for _, v := range kv.Data {
		lines = append(lines, v.Cmd+"\t"+v.Payload+"\n")
		size += len(lines[len(lines)-1])
	}
	slices.Sort(lines)
	out := strconv.AppendInt(make([]byte, 0, size), int64(kv.LastIndex), 10)
	out = append(out, '\n')
	for _, line := range lines {
		out = append(out, line...)
	}
	return out
}

// Restore replaces the state with an image taken at index.
func (kv *KeyValue) Restore(data []byte, index int) {
	head, body, _ := strings.Cut(string(data), "\n")
	if head != strconv.Itoa(index) {
		panic(fmt.Sprintf("host: an image of index %s restored as %d", head, index))
	}
	kv.Data, kv.LastIndex = map[string]Value{}, index
	for line := range strings.Lines(body) {
		cmd, payload, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		key, _, _ := strings.Cut(cmd, ".")
		kv.Data[key] = Value{cmd, payload}
	}
}

// Digest names an image in a trace: the first 16 hex digits of its SHA-256.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
