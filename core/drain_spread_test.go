package core_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"wsproxy/core"
)

func dialEcho(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	_ = resp
	return c
}

// awaitGoingAway reads until the proxy's Close and returns when it came.
func awaitGoingAway(t *testing.T, c *websocket.Conn) (time.Time, error) {
	c.SetReadDeadline(time.Now().Add(testDeadline))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseGoingAway {
				return time.Now(), nil
			}
			return time.Now(), err
		}
	}
}

// TestDrainSpreadsCloses: at the end of a drain the remaining tunnels are
// not all closed at the same instant but over the spread window.
func TestDrainSpreadsCloses(t *testing.T) {
	e := startEcho(t, "e1")
	srv, addr := startProxy(t, fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: %q}]\n", e.Addr().String()))
	const n = 40
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = dialEcho(t, "ws://"+addr+"/")
	}
	var mu sync.Mutex
	var first, last time.Time
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c *websocket.Conn) {
			defer wg.Done()
			at, err := awaitGoingAway(t, c)
			if err != nil {
				t.Errorf("want Close 1001: %v", err)
				return
			}
			mu.Lock()
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
			mu.Unlock()
		}(c)
	}
	// The spread is the last quarter: 2s. The clients see the closes over
	// nearly all of it; a stall of the machine at its start may squeeze
	// that, but not down to a quarter of it. Without the spread they all
	// come within a poll or two (50ms each).
	srv.Drain(8 * time.Second)
	wg.Wait()
	if d := last.Sub(first); d < 500*time.Millisecond {
		t.Errorf("40 closes arrived within %v; want them spread over the ~2s window", d)
	}
}

// TestDrainEndsWithTheLastTunnel: a drain whose spread window is a minute
// returns once the one tunnel left has closed on its Close 1001, instead of
// waiting out the window (what kept a Ctrl-C waiting with one WebSocket
// open). The window is three times the hang guard: before the fix the
// drain returned only when it was over.
func TestDrainEndsWithTheLastTunnel(t *testing.T) {
	e := startEcho(t, "e1")
	srv, addr := startProxy(t, fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: %q}]\n", e.Addr().String()))
	c := dialEcho(t, "ws://"+addr+"/")
	const window = 3 * testDeadline
	drained := make(chan struct{})
	go func() { core.DrainSpread(srv, window, window); close(drained) }()
	// gorilla answers the Close 1001 with its own Close, which ends the
	// tunnel; the client then closes its socket.
	if _, err := awaitGoingAway(t, c); err != nil {
		t.Fatalf("got %v; want Close 1001", err)
	}
	c.Close()
	select {
	case <-drained:
	case <-time.After(testDeadline):
		t.Fatalf("Drain still running %v after the last tunnel closed; want it to return (window %v)", testDeadline, window)
	}
	if n := srv.Open(); n != 0 {
		t.Errorf("got %d connections open after Drain; want 0", n)
	}
}

// TestDrainServer: draining one backend closes its tunnels with 1001,
// leaves the other backend's tunnels alone, and sends new clients to the
// other backend until it is undrained.
func TestDrainServer(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  u:
    servers: [{addr: %q}, {addr: %q}]
routes: [{path: /, upstream: u}]
`, a.Addr().String(), b.Addr().String()))
	var onA, onB []*websocket.Conn
	for len(onA) < 3 || len(onB) < 3 {
		c, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if resp.Header.Get("X-Echo-Id") == "a" {
			onA = append(onA, c)
		} else {
			onB = append(onB, c)
		}
	}
	n, err := srv.DrainServer("u", a.Addr().String(), 100*time.Millisecond)
	if err != nil || n != len(onA) {
		t.Fatalf("DrainServer = %d, %v; want %d tunnels", n, err, len(onA))
	}
	for i, c := range onA {
		if _, err := awaitGoingAway(t, c); err != nil {
			t.Errorf("tunnel %d to the drained server: %v; want Close 1001", i, err)
		}
	}
	for i, c := range onB {
		if err := c.WriteMessage(websocket.TextMessage, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(); err != nil || string(p) != "x" {
			t.Errorf("tunnel %d to the other server: %q %v", i, p, err)
		}
	}
	for i := 0; i < 6; i++ {
		c, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if id := resp.Header.Get("X-Echo-Id"); id != "b" {
			t.Fatalf("new tunnel %d went to %s; want b while a is drained", i, id)
		}
	}
	if err := srv.UndrainServer("u", a.Addr().String()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		c, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		seen[resp.Header.Get("X-Echo-Id")] = true
	}
	if !seen["a"] {
		t.Errorf("after undrain new tunnels went to %v; want a again", seen)
	}
	if _, err := srv.DrainServer("u", "127.0.0.1:1", 0); err == nil {
		t.Error("DrainServer of an unknown server: no error")
	}
}
