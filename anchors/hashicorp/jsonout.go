package main

// The result is printed with encoding/json. go_raft's recorder and scenario
// build their objects as ordered key-value lists (its internal pyjson.Obj, a
// slice of struct{Key string; Value any}); ordered turns any such list into
// JSON with its keys in order, so the anchor needs no copy of that code.

import (
	"bytes"
	"encoding/json"
	"reflect"
	"syscall"
)

// obj is an ordered object: key, value, key, value, ...
func obj(kv ...any) ordered {
	out := make(ordered, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, member{kv[i].(string), kv[i+1]})
	}
	return out
}

type member struct {
	key   string
	value any
}

type ordered []member

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(plain(m.value))
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// plain converts a slice of {Key string; Value any} structs into ordered.
func plain(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() != reflect.Struct {
		return v
	}
	et := rv.Type().Elem()
	kf, okK := et.FieldByName("Key")
	vf, okV := et.FieldByName("Value")
	if !okK || !okV || kf.Type.Kind() != reflect.String {
		return v
	}
	out := make(ordered, rv.Len())
	for i := range rv.Len() {
		e := rv.Index(i)
		out[i] = member{e.FieldByIndex(kf.Index).String(), e.FieldByIndex(vf.Index).Interface()}
	}
	return out
}

func dumps(v any) string {
	b, err := json.Marshal(plain(v))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// processCPU is this process's user and system CPU seconds so far.
func processCPU() (user, sys float64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime), tv(ru.Stime)
}
