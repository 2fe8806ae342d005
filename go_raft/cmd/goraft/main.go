// Command goraft is the Go driver of raftbench: one scenario in, one result
// out (docs/protocol.md).
//
//	goraft --runtime goroutines|sim --scenario FILE|- [--trace FILE]
//	goraft fuzz [--seeds N] [--first S] [--jobs J]
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"raftbench/go_raft/internal/pyjson"
	"raftbench/go_raft/runtime"
	"raftbench/go_raft/scenario"
	"raftbench/go_raft/sim"
)

var runtimes = []string{"goroutines", "sim"}

// usageError is bad input: one line on stderr, exit status 2.
type usageError struct{ msg string }

func fail(format string, args ...any) {
	panic(usageError{fmt.Sprintf(format, args...)})
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
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
	if len(args) > 0 && args[0] == "fuzz" {
		return fuzz(args[1:], stdout)
	}
	flags := parseFlags(args, map[string]string{"--runtime": "", "--scenario": "", "--trace": ""})
	var missing []string
	for _, name := range []string{"--runtime", "--scenario"} {
		if _, ok := flags[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fail("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	rt := flags["--runtime"]
	if rt != "goroutines" && rt != "sim" {
		quoted := make([]string, len(runtimes))
		for i, r := range runtimes {
			quoted[i] = pyjson.StrRepr(r)
		}
		fail("argument --runtime: invalid choice: %s (choose from %s)", pyjson.StrRepr(rt), strings.Join(quoted, ", "))
	}
	sc := readScenario(flags["--scenario"], stdin)
	var trace *bufio.Writer
	if path, ok := flags["--trace"]; ok {
		f, err := os.Create(path)
		if err != nil {
			fail("--trace: cannot write %s: %s", path, strerror(err))
		}
		defer f.Close()
		trace = bufio.NewWriterSize(f, 1<<16)
	}
	var res pyjson.Obj
	if rt == "sim" {
		res = sim.Run(&sc, trace, true)
	} else {
		res = runtime.Run(&sc, trace, func(res pyjson.Obj) {
			// The watchdog's hard stop: the trial would not end. It flushed
			// the trace; print the result as it stands and leave.
			fmt.Fprintln(stdout, pyjson.Dumps(res, false))
			os.Exit(0)
		})
	}
	if trace != nil {
		if err := trace.Flush(); err != nil {
			fmt.Fprintf(stderr, "goraft: writing the trace: %v\n", err)
		}
	}
	fmt.Fprintln(stdout, pyjson.Dumps(res, false))
	return 0
}

// parseFlags accepts "--flag value" and "--flag=value" for the known flags.
func parseFlags(args []string, known map[string]string) map[string]string {
	out := map[string]string{}
	var unknown []string
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if _, ok := known[name]; !ok || !strings.HasPrefix(name, "--") {
			unknown = append(unknown, args[i])
			continue
		}
		if !hasValue {
			if i+1 >= len(args) || (strings.HasPrefix(args[i+1], "--") && len(args[i+1]) > 2) {
				fail("argument %s: expected one argument", name)
			}
			i++
			value = args[i]
		}
		out[name] = value
	}
	if len(unknown) > 0 {
		fail("unrecognized arguments: %s", strings.Join(unknown, " "))
	}
	return out
}

// strerror is the C library's message for err, as Python's strerror gives it.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg := errno.Error()
		return strings.ToUpper(msg[:1]) + msg[1:]
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func readScenario(path string, stdin io.Reader) scenario.Scenario {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		fail("--scenario: cannot read %s: %s", path, strerror(err))
	}
	sc, err := scenario.Parse(string(data))
	if err != nil {
		fail("%s", err.Error())
	}
	return sc
}

func fuzz(args []string, stdout io.Writer) int {
	flags := parseFlags(args, map[string]string{"--seeds": "", "--first": "", "--jobs": ""})
	num := func(name string, def int64) int64 {
		s, ok := flags[name]
		if !ok {
			return def
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fail("argument %s: invalid int value: %s", name, pyjson.StrRepr(s))
		}
		return v
	}
	seeds, first, jobs := num("--seeds", 500), num("--first", 1), num("--jobs", 1)
	return sim.FuzzMain(stdout, first, seeds, int(jobs))
}
