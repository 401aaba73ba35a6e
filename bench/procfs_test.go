package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const statusSample = `Name:	wsproxy
Umask:	0022
State:	S (sleeping)
Pid:	4242
VmPeak:	 1261956 kB
VmSize:	 1261956 kB
VmHWM:	    9012 kB
VmRSS:	    8328 kB
RssAnon:	    3204 kB
Threads:	7
`

const rollupSample = `55d0c5a1e000-7ffd3b9f7000 ---p 00000000 00:00 0                          [rollup]
Rss:                8328 kB
Pss:                6011 kB
Pss_Anon:           3204 kB
Anonymous:          3204 kB
`

func TestParseKB(t *testing.T) {
	tests := []struct {
		name, data, key string
		want            int64
		err             string
	}{
		{"VmRSS", statusSample, "VmRSS:", 8328 << 10, ""},
		{"VmHWM", statusSample, "VmHWM:", 9012 << 10, ""},
		{"Pss", rollupSample, "Pss:", 6011 << 10, ""},
		{"Pss is not Pss_Anon", rollupSample, "Pss_Anon:", 3204 << 10, ""},
		{"Anonymous", rollupSample, "Anonymous:", 3204 << 10, ""},
		{"missing", statusSample, "VmSwap:", 0, `no "VmSwap:" line`},
		{"no unit", "VmRSS:\t8328\n", "VmRSS:", 0, "malformed"},
		{"not a number", "VmRSS:\tlots kB\n", "VmRSS:", 0, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKB([]byte(tt.data), tt.key)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseKB error = %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseKB = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		data string
		want stat
		err  bool
	}{
		{"plain", "4242 (wsproxy) S 1 4242 4242 0 -1 4194560 1525 0 0 0 150 37 0 0 20 0 7 0 1234 1261956 2082",
			stat{state: 'S', ppid: 1, pgrp: 4242, cpu: 1870 * time.Millisecond, sys: 370 * time.Millisecond}, false},
		{"spaces and parens in the name", "77 (nginx: worker) (x)) R 76 76 76 0 -1 0 0 0 0 0 1 2 0 0",
			stat{state: 'R', ppid: 76, pgrp: 76, cpu: 30 * time.Millisecond, sys: 20 * time.Millisecond}, false},
		{"truncated", "77 (x) R 76 76 76", stat{}, true},
		{"no name", "77 x R 76 76", stat{}, true},
		{"bad number", "77 (x) R 76 76 76 0 -1 0 0 0 0 0 ab 2", stat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.data))
			if (err != nil) != tt.err {
				t.Fatalf("parseStat error = %v; want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("parseStat = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestGroupPIDs(t *testing.T) {
	root := t.TempDir()
	for pid, st := range map[string]string{"10": "S 1 10", "11": "R 10 10", "12": "S 1 12", "14": "Z 10 10", "self": "S 1 10"} {
		dir := filepath.Join(root, pid)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "stat"), []byte(pid+" (p) "+st+" 1 0 -1 0 0 0 0 0 0 0"), 0o644)
	}
	os.MkdirAll(filepath.Join(root, "13"), 0o755) // exited: no stat
	got, err := groupPIDs(root, 10)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []int{10, 11}) {
		t.Errorf("groupPIDs = %v, %v; want [10 11]", got, err)
	}
}

// TestSampleGroupExiting samples a fake /proc in which one process of the
// group exited between groupPIDs and the read of its status (a zombie's
// status has no VmRSS line) and another was reaped meanwhile (no files):
// both are skipped. A malformed VmRSS line is still an error.
func TestSampleGroupExiting(t *testing.T) {
	root := t.TempDir()
	write := func(pid, name, data string) {
		t.Helper()
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("10", "stat", "10 (wsproxy) S 1 10 10 0 -1 0 0 0 0 0 150 37 0 0")
	write("10", "status", statusSample)
	write("10", "smaps_rollup", rollupSample)
	write("11", "stat", "11 (worker) R 10 10 10 0 -1 0 0 0 0 0 5 5 0 0")
	write("11", "status", "Name:\tworker\nState:\tZ (zombie)\nPid:\t11\nPPid:\t10\nThreads:\t1\n")
	write("12", "stat", "12 (worker) S 10 10 10 0 -1 0 0 0 0 0 5 5 0 0") // reaped: no status

	got, err := sampleGroupIn(root, 10)
	want := Usage{RSS: 8328 << 10, PSS: 6011 << 10, Anon: 3204 << 10,
		CPU: 1870 * time.Millisecond, SysCPU: 370 * time.Millisecond, Procs: 1}
	if err != nil || got != want {
		t.Errorf("sampleGroupIn = %+v, %v; want %+v (process 10 only)", got, err, want)
	}

	write("11", "status", "Name:\tworker\nVmRSS:\tlots kB\n")
	if _, err := sampleGroupIn(root, 10); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("sampleGroupIn with a malformed VmRSS line: error %v; want malformed", err)
	}
}

// TestSampleGroupSelf samples the test binary's own process group.
func TestSampleGroupSelf(t *testing.T) {
	u, err := sampleGroup(syscall.Getpgrp())
	if err != nil {
		t.Fatal(err)
	}
	if u.Procs < 1 || u.RSS < 1<<20 || u.PSS <= 0 || u.Anon <= 0 {
		t.Errorf("sampleGroup(own group) = %+v; want at least one process, 1 MiB RSS, PSS and Anon", u)
	}
	if _, err := sampleGroup(1 << 30); err == nil {
		t.Error("sampleGroup of a group that does not exist: no error")
	}
}
