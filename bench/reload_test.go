package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"wsproxy/internal/wsseq"
)

// reloadConfig is a small reload run: 20 tunnels, 2 reloads (a route and a
// timeout added, then removed) and wsproxy's binary upgrade. The pauses
// are pacing, not synchronisation: each reload is waited for until the
// proxy shows it took it, and the tunnels' every message until its echo.
func reloadConfig(t *testing.T, peers ...string) Config {
	return Config{
		Binary:         buildWsproxy(t),
		Scenarios:      []string{Reload},
		Peers:          peers,
		Conns:          20,
		Reloads:        2,
		ReloadEvery:    300 * time.Millisecond,
		ReloadInterval: 100 * time.Millisecond,
		ReloadDrain:    time.Second,
		Timeout:        2 * time.Minute, // a hang guard
	}
}

func runReload(t *testing.T, cfg Config) *Report {
	t.Helper()
	var progress bytes.Buffer
	cfg.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	var md bytes.Buffer
	rep.Markdown(&md)
	t.Logf("\n%s", md.String())
	return rep
}

// TestRunReload runs the reload scenario through wsproxy: two reloads
// applied in place and a binary upgrade (a new generation that takes the
// tunnels over) close no tunnel and lose no message.
func TestRunReload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	rep := runReload(t, reloadConfig(t))
	if len(rep.Trials) != 1 {
		t.Fatalf("%d trials; want 1", len(rep.Trials))
	}
	rr := rep.Trials[0].Reload
	if rr == nil {
		t.Fatalf("no reload result: %+v", rep.Trials[0])
	}
	if rr.Open != 20 || rr.Reloads != 2 || rr.Upgrades != 1 {
		t.Errorf("open %d, reloads %d, upgrades %d; want 20, 2, 1", rr.Open, rr.Reloads, rr.Upgrades)
	}
	if rr.Applied != 2 || rr.Generations != 1 {
		t.Errorf("%d applied in place, %d new generations; want 2 and 1 (the upgrade)", rr.Applied, rr.Generations)
	}
	if rr.Closed != 0 || rr.Unanswered != 0 || rr.Echoed != rr.Sent || rr.Sent < 20 {
		t.Errorf("closed %d (%v), sent %d, echoed %d, unanswered %d; want none closed, every message echoed",
			rr.Closed, rr.CloseReasons, rr.Sent, rr.Echoed, rr.Unanswered)
	}
}

// TestRunReloadPeers runs the reload scenario through the peers that are
// installed and checks that every reload was taken and the counts add up;
// what the peers close is their result, not a failure.
func TestRunReloadPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	var peers []string
	for _, p := range []string{Nginx, HAProxy} {
		if _, err := exec.LookPath(p); err == nil {
			peers = append(peers, p)
		}
	}
	if len(peers) == 0 {
		t.Skip("neither nginx nor haproxy on PATH (apt-get install -y nginx haproxy)")
	}
	rep := runReload(t, reloadConfig(t, peers...))
	for _, tr := range rep.Trials {
		rr := tr.Reload
		if tr.Proxy == Wsproxy || rr == nil {
			continue
		}
		t.Run(tr.Proxy, func(t *testing.T) {
			if rr.Open != 20 || rr.Reloads != 2 || rr.Upgrades != 0 || rr.Confirmed != 2 {
				t.Errorf("open %d, reloads %d, upgrades %d, confirmed %d; want 20, 2, 0, 2", rr.Open, rr.Reloads, rr.Upgrades, rr.Confirmed)
			}
			n := 0
			for _, v := range rr.CloseReasons {
				n += v
			}
			if n != rr.Closed || rr.Sent != rr.Echoed+rr.Unanswered {
				t.Errorf("closed %d, by reason %v; sent %d, echoed %d, unanswered %d: the counts do not add up",
					rr.Closed, rr.CloseReasons, rr.Sent, rr.Echoed, rr.Unanswered)
			}
		})
	}
}

func TestCloseReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"close frame", fmt.Errorf("client 3: %w: %x", wsseq.ErrClosed, []byte{0x03, 0xe9}), "close 1001"},
		{"EOF", fmt.Errorf("wsseq: client 1: read: %w", io.EOF), "EOF"},
		{"short read", fmt.Errorf("wsseq: client 1: read: %w", io.ErrUnexpectedEOF), "EOF"},
		{"reset", fmt.Errorf("wsseq: client 1: read: %w", syscall.ECONNRESET), "reset"},
		{"lost", errors.New("wsseq: client 1: got message 7 (9 bytes); want message 5 (9 bytes)"), "lost"},
		{"duplicated", errors.New("wsseq: client 1: got message 4 (9 bytes); want message 5 (9 bytes)"), "duplicated"},
		{"timeout", errors.New("wsseq: client 1: no 9 echoes after 1m0s (sent 9, echoed 8, pings 0)"), "timeout"},
		{"other", errors.New("something else"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := closeReason(tt.err); got != tt.want {
				t.Errorf("closeReason(%q) = %q; want %q", tt.err, got, tt.want)
			}
		})
	}
}
