package pyjson

import "testing"

// The expected strings are Python's repr() of the same floats.
func TestFloatRepr(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", 150: "150.0", 175.205: "175.205", 0.001: "0.001", 1e-05: "1e-05",
		1.5e-7: "1.5e-07", 1e16: "1e+16", 1e15: "1000000000000000.0", 123456.789: "123456.789",
		-2.5: "-2.5", 0.30000000000000004: "0.30000000000000004",
	} {
		if got := FloatRepr(f); got != want {
			t.Errorf("FloatRepr(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestParseKeepsIntsAndOrder(t *testing.T) {
	v, err := Parse(`{"b": 1, "a": 1.0, "b": [true, null, "x"]}`)
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*Object)
	if len(o.Keys) != 2 || o.Keys[0] != "b" || Repr(o.Values["a"]) != "1.0" || Repr(o.Values["b"]) != "[True, None, 'x']" {
		t.Fatalf("%s", Repr(v))
	}
	if got := Dumps(v, false); got != `{"b": [true, null, "x"], "a": 1.0}` {
		t.Fatal(got)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":             "Expecting value at line 1",
		"{":            "Expecting property name enclosed in double quotes at line 1",
		"{\"a\" 1}":    "Expecting ':' delimiter at line 1",
		"\n{\"a\":1 2": "Expecting ',' delimiter at line 2",
		"{} x":         "Extra data at line 1",
		"\"ab":         "Unterminated string starting at at line 1", // sic: Python's msg ends in "at"
		"[1,]":         "Expecting value at line 1",
	} {
		if _, err := Parse(text); err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", text, err, want)
		}
	}
}
