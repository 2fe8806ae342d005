// Package result builds the result object every driver prints
// (docs/protocol.md, "Result").
package result

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"raftbench/go_raft/recorder"
	"raftbench/go_raft/scenario"
)

// Version is the go_raft package version.
const Version = "0.1.0"

// Result is one trial's result, as the driver prints it.
type Result struct {
	Impl     string             `json:"impl"`
	OK       bool               `json:"ok"`
	Error    *string            `json:"error"` // nil when OK
	Scenario *scenario.Scenario `json:"scenario"`
	Metrics  recorder.Metrics   `json:"metrics"`
	Runtime  any                `json:"runtime"` // the runtime's own figures
	Versions map[string]string  `json:"versions"`
}

// New is the result of a trial that succeeded; the caller says otherwise.
func New(impl string, sc *scenario.Scenario, m recorder.Metrics, rt any) Result {
	return Result{Impl: impl, OK: true, Scenario: sc, Metrics: m, Runtime: rt,
		Versions: map[string]string{"go": runtime.Version(), "go_raft": Version,
			"gomaxprocs": strconv.Itoa(runtime.GOMAXPROCS(0))}}
}

// Usage is this process's CPU time and peak resident set, the part of each
// runtime's figures that the harness also measures from outside.
type Usage struct {
	CPUUserS float64 `json:"cpu_user_s"`
	CPUSysS  float64 `json:"cpu_sys_s"`
	MaxRSSKb int     `json:"max_rss_kb"`
}

func rusage() syscall.Rusage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru
}

func seconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// ProcessUsage is Usage now.
func ProcessUsage() Usage {
	ru := rusage()
	return Usage{recorder.RoundTo(seconds(ru.Utime), 6), recorder.RoundTo(seconds(ru.Stime), 6), PeakRSSKb()}
}

// CPUSeconds is the CPU time, user and system, this process has used so far.
func CPUSeconds() float64 {
	ru := rusage()
	return seconds(ru.Utime) + seconds(ru.Stime)
}

// procStatus reads one "Key: value ..." field of /proc/self/status.
func procStatus(key string) (int, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	for s := bufio.NewScanner(f); s.Scan(); {
		if rest, ok := strings.CutPrefix(s.Text(), key+":"); ok {
			v, err := strconv.Atoi(strings.Fields(rest + " 0")[0])
			return v, err == nil
		}
	}
	return 0, false
}

// RSSKb is this process's resident set now (VmRSS); ok is false when
// /proc/self/status cannot tell.
func RSSKb() (kb int, ok bool) { return procStatus("VmRSS") }

// PeakRSSKb is this process's peak resident set (VmHWM). ru_maxrss is only
// the fallback: Linux carries it across exec, so a driver spawned by a large
// harness would report the harness's peak.
func PeakRSSKb() int {
	if v, ok := procStatus("VmHWM"); ok {
		return v
	}
	return int(rusage().Maxrss)
}

// OSThreads is the number of OS threads of this process now (0 if unknown).
func OSThreads() int {
	v, _ := procStatus("Threads")
	return v
}
