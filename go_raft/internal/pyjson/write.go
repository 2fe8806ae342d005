package pyjson

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// KV is one member of an ordered object to write.
type KV struct {
	Key   string
	Value any
}

// Obj is an object to write, its members in order.
type Obj []KV

// Dumps writes v as Python's json.dumps does: ensure_ascii, floats as repr,
// and either the default separators (", ", ": ") or the compact ones.
// It accepts nil, bool, int, int64, Int, float64, string, []any, []int,
// [][]int, Obj and *Object.
func Dumps(v any, compact bool) string {
	var b strings.Builder
	w := writer{&b, ", ", ": "}
	if compact {
		w.item, w.key = ",", ":"
	}
	w.value(v)
	return b.String()
}

type writer struct {
	b         *strings.Builder
	item, key string
}

func (w writer) value(v any) {
	b := w.b
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case Int:
		b.WriteString(Repr(x))
	case float64:
		w.float(x)
	case string:
		WriteString(b, x)
	case []any:
		w.list(len(x), func(i int) { w.value(x[i]) })
	case []int:
		w.list(len(x), func(i int) { w.value(x[i]) })
	case []float64:
		w.list(len(x), func(i int) { w.value(x[i]) })
	case [][]int:
		w.list(len(x), func(i int) { w.value(x[i]) })
	case Obj:
		w.object(len(x), func(i int) (string, any) { return x[i].Key, x[i].Value })
	case *Object:
		w.object(len(x.Keys), func(i int) (string, any) { return x.Keys[i], x.Values[x.Keys[i]] })
	default:
		panic(fmt.Sprintf("pyjson: cannot write %T", v))
	}
}

func (w writer) float(f float64) {
	switch {
	case math.IsNaN(f):
		w.b.WriteString("NaN")
	case math.IsInf(f, 1):
		w.b.WriteString("Infinity")
	case math.IsInf(f, -1):
		w.b.WriteString("-Infinity")
	default:
		w.b.WriteString(FloatRepr(f))
	}
}

func (w writer) list(n int, each func(int)) {
	w.b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			w.b.WriteString(w.item)
		}
		each(i)
	}
	w.b.WriteByte(']')
}

func (w writer) object(n int, each func(int) (string, any)) {
	w.b.WriteByte('{')
	for i := 0; i < n; i++ {
		if i > 0 {
			w.b.WriteString(w.item)
		}
		k, v := each(i)
		WriteString(w.b, k)
		w.b.WriteString(w.key)
		w.value(v)
	}
	w.b.WriteByte('}')
}

// WriteString writes s as a JSON string with Python's ensure_ascii escaping.
func WriteString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r <= 0xffff):
			fmt.Fprintf(b, `\u%04x`, r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// O builds an Obj from alternating keys and values.
func O(kv ...any) Obj {
	out := make(Obj, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, KV{Key: kv[i].(string), Value: kv[i+1]})
	}
	return out
}
