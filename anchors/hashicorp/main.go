// Command anchor-hashicorp runs raftbench's scenarios on hashicorp/raft, the
// Go Raft library most Go users would pick, so that the go driver can be
// measured beside it (docs/anchors.md). It speaks docs/protocol.md:
//
//	anchor-hashicorp --scenario FILE|- [--trace FILE]
//
// The scenario is parsed by go_raft's own parser, so bad input gets the
// go driver's one-line errors; fields hashicorp/raft cannot honour are
// refused (refuse.go).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"raftbench/go_raft/scenario"
)

const libraryPath = "github.com/hashicorp/raft"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type usageError struct{ msg string }

func fail(format string, args ...any) {
	panic(usageError{fmt.Sprintf(format, args...)})
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			u, ok := r.(usageError)
			if !ok {
				panic(r)
			}
			fmt.Fprintf(stderr, "error: %s\n", u.msg)
			code = 2
		}
	}()
	flags := parseFlags(args)
	path, ok := flags["--scenario"]
	if !ok {
		fail("the following arguments are required: --scenario")
	}
	sc := readScenario(path, stdin)
	if msg := refusal(sc); msg != "" {
		fail("%s", msg)
	}
	var trace *bufio.Writer
	if p, ok := flags["--trace"]; ok {
		f, err := os.Create(p)
		if err != nil {
			fail("--trace: cannot write %s: %v", p, err)
		}
		defer f.Close()
		trace = bufio.NewWriterSize(f, 1<<16)
	}
	t := newTrial(sc, trace)
	res := t.run()
	if err := t.rec.Flush(); err != nil {
		fmt.Fprintf(stderr, "anchor-hashicorp: writing the trace: %v\n", err)
	}
	text, err := json.Marshal(res)
	if err != nil {
		panic(err) // every figure is a finite number
	}
	fmt.Fprintf(stdout, "%s\n", text)
	return 0
}

// parseFlags accepts "--flag value" and "--flag=value" for --scenario and --trace.
func parseFlags(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if name != "--scenario" && name != "--trace" {
			fail("unrecognized arguments: %s", strings.Join(args[i:], " "))
		}
		if !hasValue {
			if i+1 >= len(args) {
				fail("argument %s: expected one argument", name)
			}
			i++
			value = args[i]
		}
		out[name] = value
	}
	return out
}

func readScenario(path string, stdin io.Reader) *scenario.Scenario {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		fail("--scenario: cannot read %s: %v", path, err)
	}
	sc, err := scenario.Parse(data)
	if err != nil {
		fail("%s", err.Error())
	}
	return sc
}

// libraryVersion is the hashicorp/raft version this binary was built with.
func libraryVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == libraryPath {
				return d.Version
			}
		}
	}
	return "unknown"
}
