package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestMeasureReload measures issue 12's claim for BENCHMARKS.md: tunnels
// sending a numbered message every second through reloads that add and
// remove routes and servers and change timeouts and limits, with
// drain_timeout: 3s. It runs only when WSPROXY_MEASURE_RELOAD=1:
//
//	WSPROXY_MEASURE_RELOAD=1 go test -run TestMeasureReload -v -timeout 10m ./cmd/wsproxy/
//
// Knobs: WSPROXY_MEASURE_CONNS (tunnels, default 3000),
// WSPROXY_MEASURE_RELOADS (default 10). A master with two workers in front
// of two echo backends in the test process; each tunnel sends "N" and must
// read "N" back before sending N+1 a second later: a message lost shows as
// a read timeout, duplicated or reordered as another number.
func TestMeasureReload(t *testing.T) {
	if os.Getenv("WSPROXY_MEASURE_RELOAD") != "1" {
		t.Skip("set WSPROXY_MEASURE_RELOAD=1 to measure tunnels through reloads")
	}
	conns, reloads := envInt("WSPROXY_MEASURE_CONNS", 3000), envInt("WSPROXY_MEASURE_RELOADS", 10)
	a, b := startEchoID(t, "a"), startEchoID(t, "b")
	path := filepath.Join(t.TempDir(), "wsproxy.yaml")
	write := func(i int) {
		servers := fmt.Sprintf("{addr: %q}, {addr: %q}", a, b)
		if i%2 == 1 {
			servers = fmt.Sprintf("{addr: %q}", a) // b removed, back at the next reload
		}
		extra := ""
		if i%3 == 1 {
			extra = fmt.Sprintf("  - {path: /extra%d, upstream: %q}\n", i, b)
		}
		text := fmt.Sprintf(`listen: [{addr: "127.0.0.1:0"}]
workers: 2
loops: 1
drain_timeout: 3s
timeouts: {idle: %dm, read: %ds}
limits: {max_conns_per_ip: %d}
upstreams:
  u: {servers: [%s]}
routes:
  - {path: /, upstream: u}
%s`, 60+i, 60+i, 100000+i, servers, extra)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	p := startProc(t, "run", "-config", path)
	addr := p.WaitLog(t, `msg="generation serving" generation=1 workers=2 addrs=(\S+)`)[1]

	var closed, mismatched, sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	for i := range conns {
		c, _, err := d.Dial("ws://"+addr+"/", nil)
		if err != nil {
			t.Fatalf("tunnel %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		wg.Go(func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for n := 0; ; n++ {
				msg := strconv.Itoa(n)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				err := c.WriteMessage(websocket.TextMessage, []byte(msg))
				var got []byte
				if err == nil {
					_, got, err = c.ReadMessage()
				}
				if err != nil {
					closed.Add(1)
					return
				}
				sent.Add(1)
				if string(got) != msg {
					mismatched.Add(1)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})
	}
	t.Logf("%d tunnels open", conns)
	start := time.Now()
	for i := 1; i <= reloads; i++ {
		time.Sleep(2 * time.Second) // the tunnels send meanwhile: this is the measurement's pace, not a synchronisation
		write(i)
		p.Signal(t, syscall.SIGHUP)
		p.WaitLog(t, fmt.Sprintf(`version=%d `, i+1))
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d reloads in %s: %d tunnels closed, %d replies out of order or duplicated, %d messages echoed; workers now %v",
		reloads, time.Since(start).Round(time.Millisecond), closed.Load(), mismatched.Load(), sent.Load(), p.workers(t))
	if closed.Load() != 0 || mismatched.Load() != 0 {
		t.Errorf("want 0 tunnels closed and 0 mismatched replies")
	}
}
