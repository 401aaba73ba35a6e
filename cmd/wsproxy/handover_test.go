package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
	"wsproxy/internal/wsseq"
)

// buildVersion builds the wsproxy command with main.version set to v.
func buildVersion(t *testing.T, dir, v string) string {
	t.Helper()
	out := filepath.Join(dir, "wsproxy-"+v)
	if b, err := exec.Command("go", "build", "-ldflags", "-X main.version="+v, "-o", out, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// TestUpgradeHandsTunnelsOver is issue 12's proof, at test size: tunnels
// sending numbered messages through a master with two workers, a binary
// upgrade (another build at the master's path, then SIGHUP), with
// drain_timeout: 3s. Every tunnel moves to the new generation: none is
// closed, no message is lost, repeated or reordered, messages left open
// across the upgrade (one frame before, the rest after) complete, and the
// new workers' Pings reach every client. The master's metrics count them.
func TestUpgradeHandsTunnelsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command twice and runs a thousand tunnels")
	}
	const n = 1000
	dir := t.TempDir()
	v1, v2 := buildVersion(t, dir, "v1"), buildVersion(t, dir, "v2")
	path := filepath.Join(dir, "wsproxy")
	if err := os.Link(v1, path); err != nil {
		t.Fatal(err)
	}
	backend := startEcho(t)
	cfg := filepath.Join(dir, "wsproxy.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: [{addr: "127.0.0.1:0"}]
workers: 2
loops: 1
drain_timeout: 3s
admin: {addr: "127.0.0.1:0"}
routes:
  - path: /
    upstream: %q
    websocket: {ping: {interval: 1s, timeout: 10s, peers: client}}
`, backend)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProcAt(t, path, "run", "-config", cfg)
	addr := p.WaitLog(t, `msg="generation serving" generation=1 workers=2 addrs=(\S+)`)[1]
	adminAddr := p.WaitLog(t, `msg="admin listening" addr=(\S+)`)[1]
	p.WaitLog(t, `msg=listening .*version=v1`)

	end := time.Now().Add(2 * time.Minute) // hang guard for every connection
	clients := make([]*wsseq.Client, n)
	for i := range clients {
		cl, err := wsseq.Dial(addr, "/", i, end)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		clients[i] = cl
		switch {
		case i%100 == 0: // a few send 128 KiB messages too
		case i%10 == 5: // these leave a message open across the upgrade
			cl.SetLarge(0, 0)
			if err := cl.OpenFragment(testutil.Deadline); err != nil {
				t.Fatal(err)
			}
			continue
		default:
			cl.SetLarge(0, 0)
		}
		cl.Pump(1, 200*time.Millisecond)
	}
	for _, cl := range clients {
		if err := cl.Wait(min(cl.Sent(), 1), testutil.Deadline); err != nil {
			t.Fatal(err)
		}
	}

	// The upgrade: another build at the master's path, then SIGHUP.
	if err := os.Rename(v2, path); err != nil {
		t.Fatal(err)
	}
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="generation serving" generation=2`)
	p.WaitLog(t, `msg="generation finished" generation=1`)
	handed, kept := handedOver(p.Out.String())
	if handed != n || kept != 0 {
		t.Errorf("master's log: %d tunnels handed over, %d kept; want %d, 0", handed, kept, n)
	}
	if out := p.Out.String(); !regexp.MustCompile(`msg=listening worker=2\.\d .*version=v2`).MatchString(out) {
		t.Errorf("the new generation does not run the new build (version=v2)")
	}

	// Every tunnel goes on in the new generation.
	pings := make([]uint64, n)
	echoes := make([]uint64, n)
	for i, cl := range clients {
		pings[i], echoes[i] = cl.Pings(), cl.Echoed()+3
	}
	for i, cl := range clients {
		if i%10 == 5 {
			if err := cl.CloseFragment(testutil.Deadline); err != nil {
				t.Fatal(err)
			}
			cl.Pump(1, 200*time.Millisecond)
		}
	}
	for i, cl := range clients {
		if err := cl.Wait(echoes[i], testutil.Deadline); err != nil {
			t.Fatal(err)
		}
	}
	for _, cl := range clients {
		if err := cl.Stop(testutil.Deadline); err != nil {
			t.Fatal(err)
		}
	}
	for i, cl := range clients {
		if err := cl.WaitPings(pings[i]+1, testutil.Deadline); err != nil {
			t.Fatal(err)
		}
	}

	for _, series := range []struct {
		name string
		want int
	}{
		{"wsproxy_tunnels_handed_over_total", n},
		{"wsproxy_tunnels_received_total", n},
		{"wsproxy_tunnels_handover_kept_total", 0},
		{"wsproxy_tunnels_handover_refused_total", 0},
		{fmt.Sprintf(`wsproxy_websocket_tunnels_open{route="/",upstream=%q}`, backend), n},
		{`wsproxy_websocket_tunnels_closed_total{closed_by="client"}`, 0},
		{`wsproxy_websocket_tunnels_closed_total{closed_by="upstream"}`, 0},
		{`wsproxy_websocket_tunnels_closed_total{closed_by="proxy"}`, 0},
	} {
		wantSeries(t, adminAddr, regexp.QuoteMeta(series.name), float64(series.want))
	}
}

// startProcAt is startProc for the binary at path.
func startProcAt(t *testing.T, path string, args ...string) *proc {
	t.Helper()
	saved := binary
	binary = path
	defer func() { binary = saved }()
	return startProc(t, args...)
}

// TestUpgradeKeepsTLSTunnels: a wss tunnel cannot move (crypto/tls's state
// cannot be exported), so it stays in the old worker, which keeps relaying
// it until drain_timeout and then closes it with Close 1001; the plain
// tunnels beside it move. The time from SIGHUP to the Close is logged.
func TestUpgradeKeepsTLSTunnels(t *testing.T) {
	const n = 20
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	backend := startEcho(t)
	cfg := filepath.Join(dir, "wsproxy.yaml")
	write := func(loops int) {
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: [{addr: "127.0.0.1:0"}, {addr: "127.0.0.1:0", tls: {cert: %q, key: %q}}]
workers: 2
loops: %d
drain_timeout: 3s
routes: [{path: /, upstream: %q}]
`, cert, key, loops, backend)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(1)
	p := startProc(t, "run", "-config", cfg)
	m := p.WaitLog(t, `msg="generation serving" generation=1 workers=2 addrs=(\S+),(\S+)`)
	end := time.Now().Add(time.Minute)
	var plain, secure []*wsseq.Client
	for i := range n {
		cl, err := wsseq.Dial(m[1], "/", i, end)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		plain = append(plain, cl)
		c, err := tls.Dial("tcp", m[2], &tls.Config{RootCAs: testcert.Roots(), ServerName: "ws.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if cl, err = wsseq.Open(c, "/", n+i, end); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		secure = append(secure, cl)
	}
	for _, cl := range append(append([]*wsseq.Client(nil), plain...), secure...) {
		cl.SetLarge(0, 0)
		if err := cl.Send(1); err != nil {
			t.Fatal(err)
		}
		if err := cl.Wait(1, testutil.Deadline); err != nil {
			t.Fatal(err)
		}
	}

	write(2) // another number of loops: a new generation
	start := time.Now()
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="previous generation draining" generation=1`)
	handed, kept := handedOver(p.Out.String())
	if handed != n || kept != n {
		t.Errorf("master's log: %d tunnels handed over, %d kept; want %d, %d (the wss ones)", handed, kept, n, n)
	}
	for _, cl := range append(append([]*wsseq.Client(nil), plain...), secure...) {
		if err := cl.Send(1); err != nil { // the wss ones through the old worker
			t.Fatal(err)
		}
		if err := cl.Wait(2, testutil.Deadline); err != nil {
			t.Fatal(err)
		}
	}
	var last time.Duration
	for _, cl := range secure {
		err := cl.Wait(3, testutil.Deadline) // nothing more comes: the Close does
		if !errors.Is(err, wsseq.ErrClosed) || !strings.Contains(err.Error(), ": 03e9") {
			t.Fatalf("wss tunnel: got %v; want a Close 1001 at the end of the drain", err)
		}
		last = max(last, time.Since(start))
	}
	t.Logf("the %d wss tunnels were closed (1001) within %s of SIGHUP, with drain_timeout 3s", n, last.Round(100*time.Millisecond))
	for _, cl := range plain {
		if err := cl.Send(1); err != nil {
			t.Fatal(err)
		}
		if err := cl.Wait(3, testutil.Deadline); err != nil {
			t.Fatalf("plain tunnel after the drain: %v", err)
		}
	}
}

// handedOver sums the master's "tunnels handed over" lines for the first
// generation's workers: tunnels handed over and tunnels kept.
func handedOver(log string) (handed, kept int) {
	for _, m := range regexp.MustCompile(`msg="tunnels handed over" worker=1\.\d to=\S+ handed_over=(\d+) kept=(\d+)`).
		FindAllStringSubmatch(log, -1) {
		h, _ := strconv.Atoi(m[1])
		k, _ := strconv.Atoi(m[2])
		handed, kept = handed+h, kept+k
	}
	return handed, kept
}
