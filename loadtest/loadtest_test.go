package loadtest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"wsproxy/loadtest"
)

// run runs cfg and fails the test on an error.
func run(t *testing.T, cfg loadtest.Config) *loadtest.Result {
	t.Helper()
	res, err := loadtest.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("%+v", *res)
	return res
}

// wantUp checks that all n connections came up and stayed up.
func wantUp(t *testing.T, res *loadtest.Result, n int) {
	t.Helper()
	if res.Up != n || res.Failed != 0 || res.Dropped != 0 {
		t.Fatalf("up %d, failed %d %v, dropped %d %v; want %d up",
			res.Up, res.Failed, res.FailReasons, res.Dropped, res.DropReasons, n)
	}
	if res.Handshake.Count != int64(n) {
		t.Errorf("handshake count %d; want %d", res.Handshake.Count, n)
	}
	if l := res.FirstEcho; l.Count != int64(n) || l.P50 <= 0 || l.Max < l.P99 || l.P99 < l.P50 {
		t.Errorf("first echo %+v; want %d values, ordered percentiles", l, n)
	}
	if l := res.RTT; l.Count != res.Messages || l.Count > 0 && (l.P50 <= 0 || l.Max < l.P99) {
		t.Errorf("rtt %+v; want one value per message (%d)", l, res.Messages)
	}
}

func TestHold(t *testing.T) {
	url := (&echoServer{}).start(t)
	ready := 0
	res := run(t, loadtest.Config{
		URL: url, Conns: 200, Workload: loadtest.Hold, Duration: 100 * time.Millisecond,
		OnReady: func(up int) {
			ready++
			if up != 200 {
				t.Errorf("OnReady(%d); want 200", up)
			}
		},
	})
	wantUp(t, res, 200)
	if ready != 1 {
		t.Errorf("OnReady called %d times; want 1", ready)
	}
	if res.Messages != 0 {
		t.Errorf("hold: %d messages; want 0", res.Messages)
	}
}

func TestEcho(t *testing.T) {
	srv := &echoServer{}
	url := srv.start(t)
	src := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}
	res := run(t, loadtest.Config{
		URL: url, Conns: 40, Workload: loadtest.Echo, MsgRate: 20, Size: 300,
		Duration: time.Second, Loops: 2, Sources: src,
	})
	wantUp(t, res, 40)
	// 40 connections at 20/s for 1s send about 800, but how many come back
	// in that second depends on the machine's load: the test checks that
	// echoes arrive whole, not how fast (rates are bench's business).
	if res.Messages == 0 || res.Bytes != res.Messages*300 {
		t.Errorf("messages %d, bytes %d; want some, each of 300 bytes", res.Messages, res.Bytes)
	}
	if got := srv.peerCount(); got["127.0.0.1"] != 20 || got["127.0.0.2"] != 20 {
		t.Errorf("connections by source %v; want 20 from each", got)
	}
	if res.MsgsPerSec <= 0 || res.CPU <= 0 {
		t.Errorf("msgs/s %v, cpu %v; want both > 0", res.MsgsPerSec, res.CPU)
	}
}

func TestBulk(t *testing.T) {
	url := (&echoServer{}).start(t)
	res := run(t, loadtest.Config{
		URL: url, Conns: 4, Workload: loadtest.Bulk, Duration: 500 * time.Millisecond,
	})
	wantUp(t, res, 4)
	if res.Messages == 0 || res.Bytes != res.Messages*loadtest.DefaultBulkSize || res.BytesPerSec <= 0 {
		t.Errorf("bulk: %d messages, %d bytes, %.0f B/s; want 64 KiB messages", res.Messages, res.Bytes, res.BytesPerSec)
	}
}

// TestRate checks the dial pacing and the extra handshake headers.
func TestRate(t *testing.T) {
	srv := &echoServer{}
	url := srv.start(t)
	res := run(t, loadtest.Config{
		URL: url, Conns: 20, Rate: 100,
		Header: http.Header{"Cookie": {"sid=42"}, "Sec-Websocket-Key": {"ignored"}},
	})
	wantUp(t, res, 20)
	// The 20th dial is due 190ms after the first.
	if res.Ramp < 190*time.Millisecond {
		t.Errorf("ramp %v at 100/s; want at least 190ms", res.Ramp)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.cookies["sid=42"] != 20 {
		t.Errorf("cookies seen %v; want sid=42 on all 20", srv.cookies)
	}
}

// TestFailures checks that connections that never come up are counted by
// reason. Only the silent server needs the handshake timeout to expire, so
// only its case has a short one; the others answer at once, and a long
// timeout keeps a slow answer on a loaded machine from counting as
// "timeout" instead of the reason under test.
func TestFailures(t *testing.T) {
	const answered = 10 * time.Second // the timeout when the server answers
	tests := []struct {
		name, reason string
		timeout      time.Duration
		url          func(t *testing.T) string
	}{
		{"refused", "refused", answered, refusedURL},
		{"status", "bad status 403", answered, func(t *testing.T) string {
			return rawServer(t, func(c net.Conn, _ *http.Request) {
				fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
			})
		}},
		{"accept", "bad accept", answered, func(t *testing.T) string {
			return rawServer(t, func(c net.Conn, _ *http.Request) {
				fmt.Fprint(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"+
					"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
			})
		}},
		{"silent", "timeout", 300 * time.Millisecond, func(t *testing.T) string {
			return rawServer(t, func(net.Conn, *http.Request) {})
		}},
		{"closed", "closed", answered, func(t *testing.T) string {
			return rawServer(t, func(c net.Conn, _ *http.Request) { c.Close() })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := loadtest.Run(t.Context(), loadtest.Config{
				URL: tt.url(t), Conns: 10, Timeout: tt.timeout, Duration: time.Second,
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Up != 0 || res.Failed != 10 || res.FailReasons[tt.reason] != 10 {
				t.Errorf("up %d, failed %d %v; want 10 failed as %q", res.Up, res.Failed, res.FailReasons, tt.reason)
			}
		})
	}
}

func TestBadEcho(t *testing.T) {
	url := (&echoServer{corrupt: true}).start(t)
	res, err := loadtest.Run(t.Context(), loadtest.Config{
		URL: url, Conns: 5, Workload: loadtest.Echo, MsgRate: 50, Duration: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The verifying echo is intact; the first workload echo is not.
	if res.Up != 5 || res.Dropped != 5 || res.DropReasons["bad echo"] != 5 {
		t.Errorf("up %d, dropped %d %v; want 5 dropped as bad echo", res.Up, res.Dropped, res.DropReasons)
	}
}

// TestDropped has the server close every connection once all are up.
func TestDropped(t *testing.T) {
	srv := &echoServer{drop: make(chan struct{})}
	url := srv.start(t)
	res, err := loadtest.Run(t.Context(), loadtest.Config{
		URL: url, Conns: 30, Workload: loadtest.Hold, Duration: 30 * time.Second,
		OnReady: func(int) { close(srv.drop) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Up != 30 || res.Dropped != 30 || res.DropReasons["closed"] != 30 {
		t.Errorf("up %d, dropped %d %v; want 30 dropped as closed", res.Up, res.Dropped, res.DropReasons)
	}
	// With nothing left to run, the phase ends early instead of waiting 30s.
	if res.Elapsed >= 30*time.Second {
		t.Errorf("elapsed %v; want the run to end when the last connection dropped", res.Elapsed)
	}
}

func TestCancel(t *testing.T) {
	url := (&echoServer{}).start(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Config{
		URL: url, Conns: 20, Workload: loadtest.Echo, Duration: time.Minute,
		OnReady: func(int) { cancel() },
	})
	if !errors.Is(err, context.Canceled) || res == nil || res.Up != 20 {
		t.Fatalf("Run = %+v, %v; want 20 up and context.Canceled", res, err)
	}
}

// TestChildren spreads 60 connections over 3 child processes.
func TestChildren(t *testing.T) {
	srv := &echoServer{}
	url := srv.start(t)
	ready, snaps := 0, 0
	res := run(t, loadtest.Config{
		URL: url, Conns: 60, MaxPerProcess: 20, Workload: loadtest.Echo, MsgRate: 10,
		Duration: 1500 * time.Millisecond,
		OnReady: func(up int) {
			ready++
			if up != 60 {
				t.Errorf("OnReady(%d); want 60", up)
			}
		},
		Progress: func(loadtest.Snapshot) { snaps++ },
	})
	wantUp(t, res, 60)
	if len(res.ChildCPU) != 3 {
		t.Errorf("%d child CPU times; want 3", len(res.ChildCPU))
	}
	if ready != 1 || snaps == 0 {
		t.Errorf("OnReady called %d times, Progress %d; want 1 and some", ready, snaps)
	}
	if res.Messages == 0 || res.RTT.Count != res.Messages || res.FirstEcho.Count != 60 {
		t.Errorf("messages %d, rtt count %d, first echo count %d; want merged histograms",
			res.Messages, res.RTT.Count, res.FirstEcho.Count)
	}
	if got := srv.peerCount()["127.0.0.1"]; got != 60 {
		t.Errorf("server saw %d connections; want 60", got)
	}
}

// TestOnRunEnd: OnRunEnd is called once, after OnReady and before Run
// returns, in this process and with children, and early when ctx is
// canceled during the phase; not when there is no Duration phase.
func TestOnRunEnd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		conns    int
		perProc  int
		duration time.Duration
		cancel   bool // cancel ctx once in the phase, a minute long
		want     int  // calls
	}{
		{"local", 10, 0, 300 * time.Millisecond, false, 1},
		{"children", 20, 10, 300 * time.Millisecond, false, 1},
		{"no duration", 10, 0, 0, false, 0},
		{"canceled during the phase", 10, 0, time.Minute, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := (&echoServer{}).start(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var events []string // OnReady and OnRunEnd run one after the other
			res, err := loadtest.Run(ctx, loadtest.Config{
				URL: url, Conns: tc.conns, MaxPerProcess: tc.perProc, Workload: loadtest.Echo, MsgRate: 10, Duration: tc.duration,
				OnReady:  func(int) { events = append(events, "ready") },
				OnRunEnd: func() { events = append(events, "end") },
				Progress: func(s loadtest.Snapshot) {
					if tc.cancel && s.Phase == "run" {
						cancel() // in the phase for sure: the snapshot says so
					}
				},
			})
			if tc.cancel && !errors.Is(err, context.Canceled) || !tc.cancel && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res == nil || res.Up != tc.conns {
				t.Fatalf("Run = %+v; want %d up", res, tc.conns)
			}
			want := []string{"ready"}
			for range tc.want {
				want = append(want, "end")
			}
			if fmt.Sprint(events) != fmt.Sprint(want) {
				t.Errorf("got calls %v; want %v", events, want)
			}
		})
	}
}
