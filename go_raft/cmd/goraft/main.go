// Command goraft is the Go driver of raftbench: one scenario in, one result
// out (docs/protocol.md).
//
//	goraft --runtime goroutines|sim --scenario FILE|- [--trace FILE]
//	goraft fuzz [--seeds N] [--first S] [--jobs J] [--snapshots]
//	goraft node --id I --peers HOST:PORT,... --client-port P [...]   (docs/deploy.md)
//
// Bad input is one line on standard error, "error: FIELD: what is wrong",
// exit status 2, with nothing on standard output and no trace file.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"raftbench/go_raft/result"
	"raftbench/go_raft/runtime"
	"raftbench/go_raft/scenario"
	"raftbench/go_raft/sim"
)

// writableDir tells whether path is a directory this process can write in.
func writableDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir() && syscall.Access(path, 2 /* W_OK */) == nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the command; every error it meets is bad input.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	code, err := 0, error(nil)
	switch {
	case len(args) > 0 && args[0] == "fuzz":
		code, err = fuzz(args[1:], stdout)
	case len(args) > 0 && args[0] == "node":
		err = node(args[1:])
	default:
		err = trial(args, stdin, stdout, stderr)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	return code
}

// parse parses args into fs; its errors begin with the flag's name.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stderr)
		fs.PrintDefaults()
		return err
	case err != nil:
		// A flag error names the flag as its first word with a dash: "flag
		// provided but not defined: -x", `invalid value "y" for flag -n: ...`.
		for _, word := range strings.Fields(err.Error()) {
			if strings.HasPrefix(word, "-") {
				return fmt.Errorf("%s: %w", strings.TrimSuffix(word, ":"), err)
			}
		}
		return err
	case fs.NArg() > 0:
		return fmt.Errorf("%s: unexpected argument", fs.Arg(0))
	}
	return nil
}

func trial(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("goraft", flag.ContinueOnError)
	rt := fs.String("runtime", "", "goroutines or sim")
	path := fs.String("scenario", "", "the scenario's JSON file, or - for standard input")
	tracePath := fs.String("trace", "", "write the JSON-lines trace here")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rt != "goroutines" && *rt != "sim" {
		return fmt.Errorf("--runtime: must be goroutines or sim, got %q", *rt)
	}
	if *path == "" {
		return errors.New("--scenario: required")
	}
	sc, err := readScenario(*path, stdin)
	if err != nil {
		return err
	}
	if sc.Transport != "inproc" {
		return errors.New(`transport: "tcp" runs only under raftbench cluster (docs/deploy.md)`)
	}
	// Before the trace file is opened, as in Python (docs/protocol.md), so
	// that bad input leaves an earlier trace at that path as it was.
	if dir := sc.StorageDir; dir != "" && !writableDir(dir) {
		return fmt.Errorf("storage_dir: %s is not a directory this driver can write in", dir)
	}
	var trace *bufio.Writer
	if *tracePath != "" {
		f, err := os.Create(*tracePath)
		if err != nil {
			return fmt.Errorf("--trace: %w", err)
		}
		defer f.Close()
		trace = bufio.NewWriterSize(f, 1<<16)
	}
	var res result.Result
	if *rt == "sim" {
		res, err = sim.Run(sc, trace, true)
	} else {
		res, err = runtime.Run(sc, trace, func(res result.Result, cleanup func()) {
			// The watchdog's hard stop: the trial would not end. It flushed
			// the trace; print the result as it stands, clean up and leave.
			printResult(stdout, res)
			cleanup()
			os.Exit(0)
		})
	}
	if err != nil { // the trial's directory: nothing ran
		if *tracePath != "" {
			os.Remove(*tracePath)
		}
		return err
	}
	if trace != nil {
		if err := trace.Flush(); err != nil {
			fmt.Fprintf(stderr, "goraft: writing the trace: %v\n", err)
		}
	}
	printResult(stdout, res)
	return nil
}

func printResult(w io.Writer, res result.Result) {
	text, err := json.Marshal(res)
	if err != nil {
		panic(err) // every figure is a finite number
	}
	fmt.Fprintf(w, "%s\n", text)
}

func readScenario(path string, stdin io.Reader) (*scenario.Scenario, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--scenario: %w", err)
	}
	return scenario.Parse(data)
}

func fuzz(args []string, stdout io.Writer) (int, error) {
	fs := flag.NewFlagSet("goraft fuzz", flag.ContinueOnError)
	seeds := fs.Int64("seeds", 500, "how many seeds")
	first := fs.Int64("first", 1, "the first seed")
	jobs := fs.Int("jobs", 1, "goroutines (0: GOMAXPROCS)")
	snapshots := fs.Bool("snapshots", false, "compact every 10 to 50 entries (a draw after the others)")
	if err := parse(fs, args); err != nil {
		return 0, err
	}
	return sim.FuzzMain(stdout, *first, *seeds, *jobs, *snapshots), nil
}
