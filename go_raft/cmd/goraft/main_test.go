package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A trial directory that cannot be made is bad input: exit 2, one line
// naming storage_dir, nothing on standard output and no trace file. Here
// the temporary directory is missing, or storage_dir names a file.
func TestStorageDirThatCannotBeMadeExits2(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(dir, "missing"))
	path, trace := filepath.Join(dir, "s.json"), filepath.Join(dir, "t.jsonl")
	in := filepath.Join(dir, "in.json")
	scenario := fmt.Sprintf(`{"nodes": 3, "storage": "file", "storage_dir": %q}`, path)
	if os.WriteFile(path, []byte(`{"nodes": 3, "storage": "file"}`), 0o644) != nil ||
		os.WriteFile(in, []byte(scenario), 0o644) != nil {
		t.Fatal("cannot write the scenarios")
	}
	for _, c := range [][2]string{{"sim", path}, {"goroutines", path}, {"sim", in}, {"goroutines", in}} {
		rt, path := c[0], c[1]
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

// A storage_dir that is not a writable directory is refused before the
// trace file is opened: an earlier trace at that path stays as it was.
func TestBadStorageDirLeavesAnEarlierTrace(t *testing.T) {
	dir := t.TempDir()
	notDir, trace := filepath.Join(dir, "file"), filepath.Join(dir, "t.jsonl")
	if os.WriteFile(notDir, nil, 0o644) != nil || os.WriteFile(trace, []byte("earlier\n"), 0o644) != nil {
		t.Fatal("cannot write the files")
	}
	scenario := fmt.Sprintf(`{"nodes": 3, "storage": "file", "storage_dir": %q}`, notDir)
	for _, rt := range []string{"sim", "goroutines"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"--runtime", rt, "--scenario", "-", "--trace", trace}, strings.NewReader(scenario),
			&stdout, &stderr)
		kept, _ := os.ReadFile(trace)
		if code != 2 || !strings.HasPrefix(stderr.String(), "error: storage_dir: ") || string(kept) != "earlier\n" {
			t.Errorf("%s: exit %d, stderr %q, trace now %q", rt, code, stderr.String(), kept)
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
