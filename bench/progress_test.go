package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"wsproxy/loadtest"
)

// TestSizingLine: the progress output's sizing line names only the peers
// that are part of the run.
func TestSizingLine(t *testing.T) {
	z := Sizing{Conns: 2000, Workers: 1, HAProxyMax: 9900, Backends: 3, Sources: 4, LoadProcs: 1}
	for _, tc := range []struct {
		name      string
		peers     []string
		want, not []string
	}{
		{"wsproxy alone", nil, []string{"sizing: 2000 connections; wsproxy 1 worker(s); 3 echo backends"}, []string{"nginx", "HAProxy"}},
		{"with nginx", []string{Nginx}, []string{"; nginx worker_processes 0 (0: auto); 3 echo"}, []string{"HAProxy"}},
		{"with HAProxy", []string{HAProxy}, []string{"; HAProxy ≤ 9900; 3 echo"}, []string{"nginx"}},
		{"with both", []string{Nginx, HAProxy}, []string{"nginx worker_processes 0 (0: auto); HAProxy ≤ 9900"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sizingLine(Config{Peers: tc.peers, Sources: DefaultSources(), size: z})
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("got %q; want it to contain %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("got %q; want no %q", got, n)
				}
			}
		})
	}
}

// TestMarkdownSizing: the report's sizing line names the peers that have
// trials in it, and no other.
func TestMarkdownSizing(t *testing.T) {
	z := Sizing{Conns: 5000, Workers: 1, HAProxyMax: 9900, Backends: 3, Sources: 4, LoadProcs: 1}
	for _, tc := range []struct {
		name      string
		proxies   []string
		want, not []string
	}{
		{"wsproxy alone", []string{Wsproxy}, []string{"sizing: 5000 connections; wsproxy 1 worker(s); 3 echo backends"}, []string{"nginx", "HAProxy"}},
		{"with nginx", []string{Wsproxy, Nginx}, []string{"wsproxy 1 worker(s), nginx worker_processes auto; 3 echo"}, []string{"HAProxy"}},
		{"with both", []string{Wsproxy, Nginx, HAProxy}, []string{"nginx worker_processes auto, HAProxy ≤ 9900 (one process); 3 echo"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Size: z}
			for _, p := range tc.proxies {
				r.Trials = append(r.Trials, Trial{Scenario: Idle, Proxy: p, Round: 1, Conns: 5000, Up: 5000})
			}
			var b bytes.Buffer
			r.Markdown(&b)
			line := ""
			for l := range strings.Lines(b.String()) {
				if strings.HasPrefix(l, "sizing:") {
					line = l
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("got %q; want it to contain %q", line, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(line, n) {
					t.Errorf("got %q; want no %q", line, n)
				}
			}
		})
	}
}

// TestProgressNothingDialled: no status line is shown for a snapshot from
// before the first dial; "starting" says that the trial began.
func TestProgressNothingDialled(t *testing.T) {
	for _, tc := range []struct {
		name string
		snap loadtest.Snapshot
		want string // the output after "starting"; "" for none
	}{
		{"nothing dialled", loadtest.Snapshot{Phase: "ramp", Elapsed: time.Second}, ""},
		{"dialled, none up yet", loadtest.Snapshot{Phase: "ramp", Elapsed: time.Second, Dialed: 40},
			"[idle wsproxy #1] ramp 1s: dialled 40, up 0, failed 0, dropped 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := newProgress(&b)
			p.begin("idle wsproxy #1")
			p.last = time.Time{} // not throttled by the "starting" line
			p.status("%s", snapshotLine(tc.snap))
			got, ok := strings.CutPrefix(b.String(), "[idle wsproxy #1] starting\n")
			if !ok || got != tc.want {
				t.Errorf("got %q; want \"[idle wsproxy #1] starting\\n\" then %q", b.String(), tc.want)
			}
		})
	}
}
