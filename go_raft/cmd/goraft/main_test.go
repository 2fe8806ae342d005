package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A trial directory that cannot be made is bad input: exit 2, one line
// naming storage_dir, nothing on standard output and no trace file.
func TestStorageDirThatCannotBeMadeExits2(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(dir, "missing"))
	path, trace := filepath.Join(dir, "s.json"), filepath.Join(dir, "t.jsonl")
	if err := os.WriteFile(path, []byte(`{"nodes": 3, "storage": "file"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []string{"sim", "goroutines"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"--runtime", rt, "--scenario", path, "--trace", trace}, nil, &stdout, &stderr)
		if code != 2 || stdout.Len() > 0 || !strings.HasPrefix(stderr.String(), "error: storage_dir: ") ||
			strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", rt, code, stdout.String(), stderr.String())
		}
		if _, err := os.Stat(trace); err == nil {
			t.Errorf("%s: the trace file was left", rt)
		}
	}
}

func TestDriverRefusesTransportTCP(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"--runtime", "sim", "--scenario", "-"}, strings.NewReader(`{"transport": "tcp"}`), &stdout, &stderr)
	if code != 2 || !strings.HasPrefix(stderr.String(), "error: transport: ") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
