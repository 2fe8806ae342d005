package result

import "testing"

// /proc/self/status answers for this process; an unknown key is not found.
func TestProcStatus(t *testing.T) {
	if kb, ok := RSSKb(); !ok || kb <= 0 {
		t.Fatalf("VmRSS %d, %v", kb, ok)
	}
	if OSThreads() < 1 {
		t.Fatalf("%d threads", OSThreads())
	}
	if u := ProcessUsage(); u.MaxRSSKb <= 0 || u.CPUUserS < 0 {
		t.Fatalf("usage %+v", u)
	}
	if v, ok := procStatus("NoSuchKey"); ok {
		t.Fatalf("NoSuchKey read as %d", v)
	}
}
