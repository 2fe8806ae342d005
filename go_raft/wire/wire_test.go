package wire

// The shared vectors (tests/vectors/wire/, written by its generate.py from
// py_raft/wire.py): every frame decodes to its JSON fields and re-encodes to
// the same bytes, and every bad stream is refused with the error it names.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"raftbench/go_raft/raft"
)

const vectorDir = "../../tests/vectors/wire"

type vector struct {
	Name  string         `json:"name"`
	Frame map[string]any `json:"frame"`
	Hex   string         `json:"hex"`
	Error string         `json:"error"`
	Why   string         `json:"why"`
}

func loadVectors(t testing.TB) (frames, rejects []vector) {
	paths, err := filepath.Glob(filepath.Join(vectorDir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no vectors in %s: %v", vectorDir, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var v vector
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber() // 2^63-1 survives
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if strings.HasPrefix(filepath.Base(p), "reject_") {
			rejects = append(rejects, v)
		} else {
			frames = append(frames, v)
		}
	}
	return frames, rejects
}

func (v vector) stream(t testing.TB) []byte {
	b, err := hex.DecodeString(v.Hex)
	if err != nil {
		t.Fatalf("%s: %v", v.Name, err)
	}
	return b
}

// fromJSON builds the Go frame a vector's JSON fields describe. The names are
// Python's (snake_case); encoding/json matches them to Go's once the
// underscores are gone. Go spells nil hints raft.None, no-op commands Noop.
func fromJSON(t testing.TB, fields map[string]any) any {
	m := map[string]any{}
	for k, v := range fields {
		switch k {
		case "type":
			continue
		case "node_id", "leader_hint":
			if v == nil {
				v = raft.None
			}
		case "data":
			b, err := hex.DecodeString(v.(string))
			if err != nil {
				t.Fatal(err)
			}
			v = b
		case "entries":
			for _, e := range v.([]any) {
				e := e.(map[string]any)
				e["noop"] = e["cmd"] == nil
				if e["cmd"] == nil {
					e["cmd"] = ""
				}
			}
		}
		m[strings.ReplaceAll(k, "_", "")] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	f := newByName[fields["type"].(string)]()
	if err := json.Unmarshal(b, f); err != nil {
		t.Fatal(err)
	}
	return f
}

var newByName = map[string]func() any{}

func init() {
	for _, mk := range newFrame[1:] {
		name := reflect.TypeOf(mk()).Elem().Name()
		newByName[name] = mk
	}
}

func TestVectorsCoverEveryFrameTypeAndEveryErrorKind(t *testing.T) {
	frames, rejects := loadVectors(t)
	if len(frames) < 20 {
		t.Errorf("%d frame vectors, want at least 20", len(frames))
	}
	types, kinds := map[string]bool{}, map[string]bool{}
	for _, v := range frames {
		types[v.Frame["type"].(string)] = true
	}
	for _, v := range rejects {
		kinds[v.Error] = true
	}
	if len(types) != len(newByName) || len(kinds) != len(errorKinds) {
		t.Errorf("the vectors cover types %v and errors %v", types, kinds)
	}
}

func TestVectorsDecodeAndReencodeByteForByte(t *testing.T) {
	frames, _ := loadVectors(t)
	for _, v := range frames {
		stream, want := v.stream(t), fromJSON(t, v.Frame)
		got, err := Read(bytes.NewReader(stream))
		if err != nil {
			t.Errorf("%s: %v", v.Name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %+v, want %+v", v.Name, got, want)
		}
		for _, m := range []any{got, want} {
			if b, err := Encode(m); err != nil || !bytes.Equal(b, stream) {
				t.Errorf("%s: encoded %x (%v), want %s", v.Name, b, err, v.Hex)
			}
		}
	}
}

var errorKinds = map[string]error{
	"malformed": ErrMalformed, "oversized": ErrOversized, "truncated": ErrTruncated,
}

func TestBadStreamsAreRefusedWithTheirError(t *testing.T) {
	_, rejects := loadVectors(t)
	for _, v := range rejects {
		m, err := Read(bytes.NewReader(v.stream(t)))
		if !errors.Is(err, errorKinds[v.Error]) {
			t.Errorf("%s (%s): got %+v, %v; want %s", v.Name, v.Why, m, err, v.Error)
		}
	}
}

func TestAStreamCutInsideAFrameIsTruncated(t *testing.T) {
	frames, _ := loadVectors(t)
	for _, v := range frames {
		stream := v.stream(t)
		if _, err := Read(bytes.NewReader(nil)); err != io.EOF {
			t.Fatalf("an empty stream: %v, want io.EOF", err)
		}
		for cut := 1; cut < len(stream); cut++ {
			if _, err := Read(bytes.NewReader(stream[:cut])); !errors.Is(err, ErrTruncated) {
				t.Errorf("%s cut at %d: %v", v.Name, cut, err)
			}
		}
	}
}

func TestAStreamOfFramesReadsInOrderThenEnds(t *testing.T) {
	frames, _ := loadVectors(t)
	var stream []byte
	for _, v := range frames {
		stream = append(stream, v.stream(t)...)
	}
	r := bytes.NewReader(stream)
	for _, v := range frames {
		if m, err := Read(r); err != nil || !reflect.DeepEqual(m, fromJSON(t, v.Frame)) {
			t.Fatalf("%s: %+v, %v", v.Name, m, err)
		}
	}
	if _, err := Read(r); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestEncodeRefusesABodyOverTheLimitAndATypeNotOfTheFormat(t *testing.T) {
	big := &raft.InstallSnapshot{Data: make([]byte, MaxFrame)}
	if _, err := Encode(big); !errors.Is(err, ErrOversized) {
		t.Errorf("a snapshot of MaxFrame bytes: %v", err)
	}
	for _, m := range []any{raft.RequestVote{}, &raft.Entry{}, nil} {
		if _, err := Encode(m); err == nil {
			t.Errorf("encoded a %T", m)
		}
	}
}

// readAll reads frames until the stream ends or one is refused; any error
// but a wire error, or a panic, fails.
func readAll(t *testing.T, stream []byte, context string) {
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: panic %v on %x", context, p, stream)
		}
	}()
	r := bytes.NewReader(stream)
	for {
		_, err := Read(r)
		if err == nil {
			continue
		}
		if err != io.EOF && !isWireError(err) {
			t.Fatalf("%s: %v on %x", context, err, stream)
		}
		return
	}
}

func isWireError(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrOversized) ||
		errors.Is(err, ErrTruncated)
}

func TestRandomBytesReturnNothingButAWireError(t *testing.T) {
	frames, _ := loadVectors(t)
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		for step := 0; step < 300; step++ {
			context := fmt.Sprintf("seed %d, step %d", seed, step)
			// Bytes at random, behind a header that declares their length.
			body := make([]byte, rng.IntN(64))
			for i := range body {
				body[i] = byte(rng.UintN(256))
			}
			readAll(t, append([]byte{0, 0, 0, byte(len(body))}, body...), context)
			// A vector with a few bytes changed.
			stream := frames[rng.IntN(len(frames))].stream(t)
			for k := 1 + rng.IntN(4); k > 0; k-- {
				stream[rng.IntN(len(stream))] = byte(rng.UintN(256))
			}
			readAll(t, stream, context)
		}
	}
}

// FuzzRead is the same check under `go test -fuzz=FuzzRead ./wire/`; a plain
// `go test` runs it on the vectors.
func FuzzRead(f *testing.F) {
	frames, rejects := loadVectors(f)
	for _, v := range append(frames, rejects...) {
		f.Add(v.stream(f))
	}
	f.Fuzz(func(t *testing.T, stream []byte) { readAll(t, stream, "fuzz") })
}
