package main

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"wsproxy/config"
	"wsproxy/internal/testutil"
)

// dialWS opens n WebSocket connections through the proxy at addr; they are
// closed when the test ends.
func dialWS(t *testing.T, addr string, n int) []*websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conns := make([]*websocket.Conn, 0, n)
	for i := range n {
		c, _, err := d.Dial("ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatalf("WebSocket %d of %d: %v", i, n, err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	return conns
}

// echoAll sends a message on every connection and checks that it comes
// back.
func echoAll(t *testing.T, conns []*websocket.Conn, what string) {
	t.Helper()
	for i, c := range conns {
		msg := fmt.Sprintf("%s %d", what, i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatalf("%s: connection %d: write: %v", what, i, err)
		}
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := c.ReadMessage()
		if want := fmt.Sprintf("%s %d", what, i); err != nil || string(got) != want {
			t.Fatalf("%s: connection %d: read %q, %v; want %q", what, i, got, err, want)
		}
	}
}

// TestWorkersSharePort runs two workers on a port the master picks (the
// config says port 0, and workers: 1, which -workers overrides) and checks
// that connections land on both, and that a reload keeps the port.
func TestWorkersSharePort(t *testing.T) {
	backend := startEcho(t)
	cfg := writeConfig(t, "", "127.0.0.1:0", backend, "/v1", "30s", "workers: 1\n")
	p := startProc(t, "run", "-config", cfg, "-workers", "2")
	addr := p.WaitLog(t, servingLine)[1]
	port := netip.MustParseAddrPort(addr).Port()
	if port == 0 {
		t.Fatalf("serving on %s; want the port the master reserved", addr)
	}
	conns := dialWS(t, addr, 40)
	echoAll(t, conns, "hello")
	// No loops in the config: the two workers share the CPUs.
	listening := regexp.MustCompile(`msg=listening .*loops=(\d+)`).FindAllStringSubmatch(p.Out.String(), -1)
	if len(listening) != 2 {
		t.Errorf("%d workers logged listening; want 2:\n%s", len(listening), p.Out.String())
	}
	for _, m := range listening {
		if want := fmt.Sprint(config.AutoLoops(2)); m[1] != want {
			t.Errorf("a worker of 2 runs %s loops; want %s (%d CPUs shared): %s", m[1], want, runtime.NumCPU(), m[0])
		}
	}
	workers := p.workers(t)
	if len(workers) != 2 {
		t.Fatalf("workers = %v; want 2", workers)
	}
	for pid, name := range workers {
		if n := established(pid, port); n == 0 {
			t.Errorf("worker %s (pid %d) holds no established connection on port %d; want some of the 40", name, pid, port)
		}
	}
	writeConfig(t, cfg, "127.0.0.1:0", backend, "/v1", "30s", "workers: 1\nloops: 2\n") // loops: a new generation
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="generation serving" generation=2 workers=2 addrs=`+regexp.QuoteMeta(addr)+`\n`)
	servesPath(t, addr, "/v1/x", 5)
}

// TestKilledWorkerIsReplaced kills a worker with SIGKILL and checks that the
// master starts another in its slot and that the port keeps serving.
func TestKilledWorkerIsReplaced(t *testing.T) {
	p := startProc(t, "run", "-config", writeConfig(t, "", "127.0.0.1:0", startEcho(t), "/v1", "1s", ""), "-workers", "2")
	addr := p.WaitLog(t, servingLine)[1]
	victim := 0
	for pid, name := range p.workers(t) {
		if name == "1.0" {
			victim = pid
		}
	}
	if victim == 0 {
		t.Fatalf("no worker 1.0 among %v", p.workers(t))
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.WaitLog(t, fmt.Sprintf(`msg="worker exited; restarting" worker=1\.0 pid=%d status="signal: killed" lived=\S+ in=100ms`, victim))
	testutil.Eventually(t, "a new worker 1.0", func() error {
		w := p.workers(t)
		if _, old := w[victim]; old || len(w) != 2 {
			return fmt.Errorf("workers %v", w)
		}
		return nil
	})
	servesPath(t, addr, "/v1/x", 20)
}

// TestReloadKeepsConnections holds 2,000 WebSocket connections through a
// reload, with echoes running on them while it happens: they keep echoing
// on the old generation while new requests see the new config, and the old
// workers exit once the connections close, well before their drain timeout.
func TestReloadKeepsConnections(t *testing.T) {
	backend := startEcho(t)
	cfg := writeConfig(t, "", "127.0.0.1:0", backend, "/v1", "30s", "")
	p := startProc(t, "run", "-config", cfg, "-workers", "2")
	addr := p.WaitLog(t, servingLine)[1]
	servesPath(t, addr, "/v1/x", 5)
	conns := dialWS(t, addr, 2000)
	echoAll(t, conns, "before")

	// Echo continuously on all connections while the reload happens.
	const pumps = 8
	stop := make(chan struct{})
	errc := make(chan error, pumps)
	rounds := make([]int, pumps)
	var wg sync.WaitGroup
	for g := range pumps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := g + pumps*(i%(len(conns)/pumps))
				c, msg := conns[k], fmt.Sprintf("during %d %d", k, i)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
					errc <- fmt.Errorf("connection %d: write: %v", k, err)
					return
				}
				if _, got, err := c.ReadMessage(); err != nil || string(got) != msg {
					errc <- fmt.Errorf("connection %d: read %q, %v; want %q", k, got, err, msg)
					return
				}
				rounds[g]++
			}
		}()
	}

	writeConfig(t, cfg, "127.0.0.1:0", backend, "/v2", "30s", "loops: 2\n") // the master keeps the port it reserved; loops: a new generation
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="generation serving" generation=2 workers=2 addrs=`+regexp.QuoteMeta(addr)+`\n`)
	servesPath(t, addr, "/v2/x", 10)
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("echo during the reload: %v", err)
	}
	total := 0
	for _, n := range rounds {
		total += n
	}
	if total < pumps {
		t.Errorf("only %d echoes ran during the reload", total)
	}
	echoAll(t, conns, "after")
	echoAll(t, dialWS(t, addr, 10), "new")
	for pid, name := range p.workers(t) {
		if !strings.HasPrefix(name, "1.") && !strings.HasPrefix(name, "2.") {
			t.Errorf("unexpected worker %s (pid %d)", name, pid)
		}
	}

	start := time.Now()
	for _, c := range conns {
		c.Close()
	}
	p.WaitLog(t, `msg="generation finished" generation=1`)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("old generation took %s to finish after its connections closed", d)
	}
	out := p.Out.String()
	if strings.Contains(out, "drain: closing the remaining connections") || strings.Contains(out, "restarting") {
		t.Errorf("want no drain timeout and no restart; output:\n%s", out)
	}
	for _, slot := range []string{"0", "1"} {
		p.WaitLog(t, `msg="worker exited" worker=1\.`+slot+` pid=\d+ status="exit status 0"`)
	}
}

// TestReloadRefused checks that a reload that cannot work changes nothing:
// the same workers keep serving the old config.
func TestReloadRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite func(t *testing.T, cfg, backend string)
		log     string
	}{
		{"invalid config", func(t *testing.T, cfg, backend string) {
			writeConfig(t, cfg, "127.0.0.1:0", backend, "/v2", "30s", "bogus: 1\n")
		}, `msg="reload refused; the workers keep serving the previous configuration" err=".*wsproxy.yaml:8: bogus: unknown field`},
		{"listen address taken", func(t *testing.T, cfg, backend string) {
			ln, err := net.Listen("tcp", "127.0.0.1:0") // without SO_REUSEPORT: workers cannot join
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			writeConfig(t, cfg, ln.Addr().String(), backend, "/v2", "30s", "")
		}, `msg="reload failed; the workers keep serving the previous configuration" err="listen\[0\]: 127.0.0.1:\d+: bind: address already in use"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := startEcho(t)
			cfg := writeConfig(t, "", "127.0.0.1:0", backend, "/v1", "1s", "")
			p := startProc(t, "run", "-config", cfg, "-workers", "2")
			addr := p.WaitLog(t, servingLine)[1]
			before := fmt.Sprint(p.workers(t))
			tc.rewrite(t, cfg, backend)
			p.Signal(t, syscall.SIGHUP)
			p.WaitLog(t, tc.log)
			servesPath(t, addr, "/v1/x", 10)
			if after := fmt.Sprint(p.workers(t)); after != before {
				t.Errorf("workers %s after the refused reload; want %s", after, before)
			}
		})
	}
}

// TestStopDrains sends SIGTERM with a WebSocket connection open: the
// listeners close, the connection keeps echoing until the drain timeout
// ends it with a Close 1001, and the process exits with status 0.
//
// The drain timeout is 5 s: the proxy starts closing what is left only in
// the last part of it (the closes are spread), which leaves seconds on a
// loaded machine to see the listeners close and finish one echo before.
func TestStopDrains(t *testing.T) {
	const drainTimeout = "5s"
	for _, tc := range []struct {
		name  string
		args  []string
		ready string // the line that says the proxy serves, with its address
	}{
		{"master", []string{"-workers", "2"}, servingLine},
		{"single process", nil, listeningLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-config", writeConfig(t, "", "127.0.0.1:0", startEcho(t), "/v1", drainTimeout, "")}, tc.args...)
			p := startProc(t, args...)
			addr := p.WaitLog(t, tc.ready)[1]
			c := dialWS(t, addr, 1)
			echoAll(t, c, "before")

			p.Signal(t, syscall.SIGTERM)
			testutil.Eventually(t, "listeners closed", func() error {
				conn, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					return nil
				}
				conn.Close()
				return fmt.Errorf("dial %s still succeeds", addr)
			})
			echoAll(t, c, "draining")
			_ = c[0].SetReadDeadline(time.Now().Add(testutil.Deadline))
			if _, _, err := c[0].ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Errorf("read after the drain timeout: %v; want a Close 1001 (going away)", err)
			}
			if err := p.WaitExit(t); err != nil {
				t.Errorf("exit: %v; want status 0", err)
			}
			if out := p.Out.String(); !strings.Contains(out, `msg="drain: closing the remaining connections with Close 1001"`) {
				t.Errorf("no drain timeout logged:\n%s", out)
			}
		})
	}
}
