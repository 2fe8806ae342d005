// Package pyjson reads and writes JSON the way Python's json module does, so
// that the Go driver gives the same values, the same one-line error messages
// and the same bytes as the Python driver.
//
// Values decode to: nil, bool, Int, float64, string, []any and *Object.
// Python tells 1 from 1.0 and keeps an object's key order; so does this.
package pyjson

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Int is a JSON integer. Big holds its digits when it does not fit an int64.
type Int struct {
	V   int64
	Big string
}

// Float is the value as a float64, as Python's float(v) gives it.
func (i Int) Float() float64 {
	if i.Big != "" {
		f, _ := strconv.ParseFloat(i.Big, 64)
		return f
	}
	return float64(i.V)
}

// Object is a JSON object with its keys in first-seen order; a repeated key
// keeps its first place and its last value, as a Python dict does.
type Object struct {
	Keys   []string
	Values map[string]any
}

// Get returns the value of key and whether it is present.
func (o *Object) Get(key string) (any, bool) {
	v, ok := o.Values[key]
	return v, ok
}

// SyntaxError is Python's json.JSONDecodeError: its message and line.
type SyntaxError struct {
	Msg  string
	Line int
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at line %d", e.Msg, e.Line) }

type parser struct {
	s   string
	pos int
}

// Parse decodes text as Python's json.loads does.
func Parse(text string) (v any, err error) {
	p := &parser{s: text}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			v, err = nil, se
		}
	}()
	p.ws()
	v = p.value()
	p.ws()
	if p.pos != len(p.s) {
		p.fail("Extra data", p.pos)
	}
	return v, nil
}

func (p *parser) fail(msg string, pos int) {
	panic(&SyntaxError{Msg: msg, Line: strings.Count(p.s[:pos], "\n") + 1})
}

func (p *parser) ws() {
	for p.pos < len(p.s) && strings.IndexByte(" \t\n\r", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) value() any {
	rest := p.s[p.pos:]
	switch c := p.peek(); {
	case c == '"':
		p.pos++
		return p.str()
	case c == '{':
		p.pos++
		return p.object()
	case c == '[':
		p.pos++
		return p.array()
	case c == '-' || (c >= '0' && c <= '9'):
		if strings.HasPrefix(rest, "-Infinity") {
			p.pos += 9
			return math.Inf(-1)
		}
		return p.number()
	}
	for lit, v := range map[string]any{"null": nil, "true": true, "false": false, "NaN": math.NaN(), "Infinity": math.Inf(1)} {
		if strings.HasPrefix(rest, lit) {
			p.pos += len(lit)
			return v
		}
	}
	p.fail("Expecting value", p.pos)
	return nil
}

func (p *parser) digits() {
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
}

// number follows Python's NUMBER_RE: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?
func (p *parser) number() any {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	switch c := p.peek(); {
	case c == '0':
		p.pos++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		p.fail("Expecting value", start)
	}
	isFloat := false
	if p.peek() == '.' && p.pos+1 < len(p.s) && isDigit(p.s[p.pos+1]) {
		p.pos++
		p.digits()
		isFloat = true
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		q := p.pos + 1
		if q < len(p.s) && (p.s[q] == '+' || p.s[q] == '-') {
			q++
		}
		if q < len(p.s) && isDigit(p.s[q]) {
			p.pos = q
			p.digits()
			isFloat = true
		}
	}
	lit := p.s[start:p.pos]
	if isFloat {
		f, _ := strconv.ParseFloat(lit, 64) // out of range gives ±Inf, as Python
		return f
	}
	if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return Int{V: v}
	}
	return Int{Big: lit}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) object() any {
	obj := &Object{Values: map[string]any{}}
	p.ws()
	if p.peek() == '}' {
		p.pos++
		return obj
	}
	for {
		if p.peek() != '"' {
			p.fail("Expecting property name enclosed in double quotes", p.pos)
		}
		p.pos++
		key := p.str()
		p.ws()
		if p.peek() != ':' {
			p.fail("Expecting ':' delimiter", p.pos)
		}
		p.pos++
		p.ws()
		v := p.value()
		if _, seen := obj.Values[key]; !seen {
			obj.Keys = append(obj.Keys, key)
		}
		obj.Values[key] = v
		p.ws()
		switch p.peek() {
		case '}':
			p.pos++
			return obj
		case ',':
			p.pos++
			p.ws()
		default:
			p.fail("Expecting ',' delimiter", p.pos)
		}
	}
}

func (p *parser) array() any {
	out := []any{}
	p.ws()
	if p.peek() == ']' {
		p.pos++
		return out
	}
	for {
		out = append(out, p.value())
		p.ws()
		switch p.peek() {
		case ']':
			p.pos++
			return out
		case ',':
			p.pos++
			p.ws()
		default:
			p.fail("Expecting ',' delimiter", p.pos)
		}
	}
}

// str reads a string whose opening quote is just behind pos.
func (p *parser) str() string {
	begin := p.pos - 1
	var b strings.Builder
	for {
		if p.pos >= len(p.s) {
			p.fail("Unterminated string starting at", begin)
		}
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String()
		case c < 0x20:
			p.fail("Invalid control character at", p.pos)
		case c == '\\':
			p.escape(&b)
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.pos:])
			b.WriteRune(r)
			p.pos += size
		}
	}
}

func (p *parser) escape(b *strings.Builder) {
	if p.pos+1 >= len(p.s) {
		p.fail("Unterminated string starting at", p.pos)
	}
	c := p.s[p.pos+1]
	simple := map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
	if out, ok := simple[c]; ok {
		b.WriteByte(out)
		p.pos += 2
		return
	}
	if c != 'u' {
		p.fail("Invalid \\escape", p.pos)
	}
	r := p.hex4(p.pos + 2)
	p.pos += 6
	if utf16.IsSurrogate(r) && r < 0xDC00 && strings.HasPrefix(p.s[p.pos:], "\\u") {
		if r2 := p.hex4(p.pos + 2); r2 >= 0xDC00 && r2 <= 0xDFFF {
			r = utf16.DecodeRune(r, r2)
			p.pos += 6
		}
	}
	b.WriteRune(r)
}

func (p *parser) hex4(at int) rune {
	if at+4 > len(p.s) {
		p.fail("Invalid \\uXXXX escape", at-1)
	}
	v, err := strconv.ParseUint(p.s[at:at+4], 16, 32)
	if err != nil || strings.ContainsAny(p.s[at:at+4], "+-xX_") {
		p.fail("Invalid \\uXXXX escape", at-1)
	}
	return rune(v)
}
