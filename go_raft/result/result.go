// Package result builds the result object every driver prints
// (docs/protocol.md, "Result"), ported from py_raft/result.py.
package result

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"raftbench/go_raft/internal/pyjson"
	"raftbench/go_raft/recorder"
	"raftbench/go_raft/scenario"
)

// Version is the go_raft package version.
const Version = "0.1.0"

// procStatus reads one "Key: value ..." field of /proc/self/status.
func procStatus(key string) (int, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), key+":"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				v, err := strconv.Atoi(fields[0])
				return v, err == nil
			}
		}
	}
	return 0, false
}

// RSSKb is this process's resident set now (VmRSS); ok is false when
// /proc/self/status cannot tell.
func RSSKb() (kb int, ok bool) {
	return procStatus("VmRSS")
}

// PeakRSSKb is this process's peak resident set (VmHWM). ru_maxrss is only
// the fallback: Linux carries it across exec, so a driver spawned by a large
// harness would report the harness's peak.
func PeakRSSKb() int {
	if v, ok := procStatus("VmHWM"); ok {
		return v
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return int(ru.Maxrss)
}

// OSThreads is the number of OS threads of this process now (0 if unknown).
func OSThreads() int {
	v, _ := procStatus("Threads")
	return v
}

// ProcessUsage is this process's CPU time and peak RSS so far, appended to obj.
func ProcessUsage(obj pyjson.Obj) pyjson.Obj {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	secs := func(tv syscall.Timeval) float64 {
		return recorder.RoundTo(float64(tv.Sec)+float64(tv.Usec)/1e6, 6)
	}
	return append(obj, pyjson.O("cpu_user_s", secs(ru.Utime), "cpu_sys_s", secs(ru.Stime),
		"max_rss_kb", PeakRSSKb())...)
}

// CPUSeconds is the CPU time, user and system, this process has used so far.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// Versions is the result's versions object.
func Versions() pyjson.Obj {
	return pyjson.O("go", runtime.Version(), "go_raft", Version,
		"gomaxprocs", strconv.Itoa(runtime.GOMAXPROCS(0)))
}

// Verdict decides ok: the scenario finished and no safety rule broke.
func Verdict(sc *scenario.Scenario, rec *recorder.Recorder, errMsg string, failoversDone int) (bool, string) {
	switch {
	case rec.Violation != "":
		return false, rec.Violation
	case errMsg != "":
		return false, errMsg
	case rec.FirstLeaderUs < 0:
		return false, "no leader elected"
	case sc.Kind == "failover" && failoversDone < sc.Failovers:
		return false, fmt.Sprintf("only %d of %d failovers completed", failoversDone, sc.Failovers)
	}
	return true, ""
}

// Trial is what a runtime hands over to build a result.
type Trial struct {
	Impl          string
	Scenario      *scenario.Scenario
	Recorder      *recorder.Recorder
	Error         string
	FailoversDone int
	WindowUs      int64
	ElapsedUs     int64
	Sent          int
	Dropped       int
	// GapsUs are the heartbeat gaps (recorder.AppendClock) of every incarnation.
	GapsUs []int64
	// InboxDropped counts peer messages dropped at full inboxes.
	InboxDropped int
	Runtime      pyjson.Obj
}

// Build returns the result object, ready for pyjson.Dumps.
func Build(t Trial) pyjson.Obj {
	ok, err := Verdict(t.Scenario, t.Recorder, t.Error, t.FailoversDone)
	var errV any
	if !ok {
		errV = err
	}
	return pyjson.O(
		"impl", t.Impl,
		"ok", ok,
		"error", errV,
		"scenario", t.Scenario.ToJSON(),
		"metrics", t.Recorder.Metrics(t.ElapsedUs, t.WindowUs, t.Sent, t.Dropped, t.GapsUs, t.InboxDropped),
		"runtime", t.Runtime,
		"versions", Versions(),
	)
}
