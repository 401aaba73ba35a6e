package bench

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildWsproxy builds cmd/wsproxy into a temporary directory.
func buildWsproxy(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build cmd/wsproxy")
	}
	bin := filepath.Join(t.TempDir(), "wsproxy")
	out, err := exec.Command(goTool, "build", "-o", bin, "wsproxy/cmd/wsproxy").CombinedOutput()
	if err != nil {
		t.Fatalf("go build wsproxy/cmd/wsproxy: %v\n%s", err, out)
	}
	return bin
}

// TestRunIdleAndFlood runs the idle scenario with 200 connections and a
// short flood end to end through wsproxy subprocesses, and through the
// peers that are installed.
func TestRunIdleAndFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses and opens hundreds of connections")
	}
	cfg := Config{
		Binary:    buildWsproxy(t),
		Scenarios: []string{Flood, Idle},
		Conns:     200,
		Backends:  2,
		Warmup:    10,
		Hold:      1200 * time.Millisecond, // samples at 0.5 s and 1 s
		Duration:  1500 * time.Millisecond,
		Timeout:   time.Minute,
	}
	for _, p := range []string{Nginx, HAProxy} {
		if _, err := exec.LookPath(p); err == nil {
			cfg.Peers = append(cfg.Peers, p)
		}
	}
	var progress bytes.Buffer
	cfg.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	if want := 2 * (1 + len(cfg.Peers)); len(rep.Trials) != want {
		t.Fatalf("%d trials; want %d", len(rep.Trials), want)
	}
	for _, tr := range rep.Trials {
		t.Run(tr.Scenario+"/"+tr.Proxy, func(t *testing.T) {
			if tr.Err != "" {
				t.Fatal(tr.Err)
			}
			if tr.Before.RSS <= 0 || tr.Loaded.RSS <= 0 || tr.Before.Procs < 1 {
				t.Errorf("proxy usage not sampled: before %+v, loaded %+v", tr.Before, tr.Loaded)
			}
			switch tr.Scenario {
			case Idle:
				if tr.Up != 200 || tr.Failed != 0 {
					t.Errorf("up %d, failed %d (%v); want 200 up", tr.Up, tr.Failed, tr.FailReasons)
				}
				if tr.BytesPerConn == 0 || len(tr.Curve) == 0 || tr.Handshake.Count == 0 {
					t.Errorf("idle measurements missing: %+v", tr)
				}
			case Flood:
				f := tr.Flood
				if f == nil || f.Pushed < floodFrameSize || len(f.Samples) < 3 {
					t.Errorf("flood result %+v; want bytes pushed and at least 3 RSS samples", f)
				}
			}
		})
	}
	// The hold's progress lines count what is up, also when the ramp was
	// over before the first progress tick (they said 0 up).
	holds := regexp.MustCompile(`\] hold [^:]+: proxy RSS [^,]+, (\d+) up,`).FindAllStringSubmatch(progress.String(), -1)
	if len(holds) == 0 {
		t.Errorf("no hold line in the progress output:\n%s", progress.String())
	}
	for _, m := range holds {
		if m[1] != "200" {
			t.Errorf("progress line %q; want 200 up", m[0])
		}
	}
	var md bytes.Buffer
	rep.Markdown(&md)
	if !regexp.MustCompile(`\| wsproxy +\| +200/200 \|`).MatchString(md.String()) {
		t.Errorf("table lacks the wsproxy idle row:\n%s", md.String())
	}
	t.Logf("\n%s", md.String())
}

// TestRunLimits checks that a run the file limit cannot carry fails at once
// with advice, instead of starting.
func TestRunLimits(t *testing.T) {
	cfg := Config{Binary: "/nonexistent", Conns: 30000, Workers: 2}
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "per worker") || !strings.Contains(err.Error(), "-workers") {
		t.Errorf("Run with 30,000 connections on 2 workers: %v; want advice on the file limit", err)
	}
	cfg = Config{Binary: "/nonexistent", Scenarios: []string{"soak"}}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Errorf("Run with scenario soak: %v; want unknown scenario", err)
	}
}
