// Package result builds the result object every driver prints
// (docs/protocol.md, "Result").
package result

import (
	"fmt"
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

// rusage is this process's user and system CPU seconds and its ru_maxrss.
func rusage() (user, sys float64, maxRSSKb int) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	seconds := func(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
	return seconds(ru.Utime), seconds(ru.Stime), int(ru.Maxrss)
}

// ProcessUsage is Usage now. The peak resident set is VmHWM; ru_maxrss is
// only the fallback: Linux carries it across exec, so a driver spawned by a
// large harness would report the harness's peak.
func ProcessUsage() Usage {
	user, sys, maxRSSKb := rusage()
	if hwm, ok := procStatus("VmHWM"); ok {
		maxRSSKb = hwm
	}
	return Usage{recorder.RoundTo(user, 6), recorder.RoundTo(sys, 6), maxRSSKb}
}

// CPUSeconds is the CPU time, user and system, this process has used so far.
func CPUSeconds() float64 {
	user, sys, _ := rusage()
	return user + sys
}

// procStatus reads the number in one "Key: number ..." line of /proc/self/status.
func procStatus(key string) (int, bool) {
	text, _ := os.ReadFile("/proc/self/status") // unreadable: key is not found
	_, rest, found := strings.Cut(string(text), "\n"+key+":")
	var v int
	_, err := fmt.Sscan(rest, &v)
	return v, found && err == nil
}

// RSSKb is this process's resident set now (VmRSS); ok is false when
// /proc/self/status cannot tell.
func RSSKb() (kb int, ok bool) { return procStatus("VmRSS") }

// OSThreads is the number of OS threads of this process now (0 if unknown).
func OSThreads() int {
	v, _ := procStatus("Threads")
	return v
}
