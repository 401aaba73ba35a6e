package core_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// holdConn opens a raw connection from src that stays open with its first
// request begun: the request line is sent, so that the kernel hands the
// connection to the proxy (its listeners defer accept until the client's
// first bytes) and the proxy admits it in the order of the calls.
func holdConn(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprint(c, "GET / HTTP/1.1\r\n")
	return c
}

// statusOn completes the request holdConn began and returns its status.
func statusOn(t *testing.T, c net.Conn) int {
	t.Helper()
	fmt.Fprint(c, "Host: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestConnectionLimits(t *testing.T) {
	e := startEcho(t, "e1")
	route := fmt.Sprintf("routes: [{path: /, upstream: %q}]\n", e.Addr().String())
	t.Run("per ip", func(t *testing.T) {
		_, addr := startProxy(t, "listen: [{addr: \"127.0.0.1:0\"}]\nloops: 1\nlimits: {max_conns_per_ip: 2}\n"+route)
		a, b := holdConn(t, "127.0.0.2", addr), holdConn(t, "127.0.0.2", addr)
		third := holdConn(t, "127.0.0.2", addr)
		other := holdConn(t, "127.0.0.3", addr)
		if got := statusOn(t, third); got != 429 {
			t.Errorf("third connection from one address: %d; want 429", got)
		}
		for i, c := range []net.Conn{a, b, other} {
			if got := statusOn(t, c); got != 200 {
				t.Errorf("connection %d: %d; want 200", i, got)
			}
		}
	})
	t.Run("global", func(t *testing.T) {
		_, addr := startProxy(t, "listen: [{addr: \"127.0.0.1:0\"}]\nloops: 1\nlimits: {max_conns: 2}\n"+route)
		a, b := holdConn(t, "127.0.0.2", addr), holdConn(t, "127.0.0.3", addr)
		third := holdConn(t, "127.0.0.4", addr)
		if got := statusOn(t, third); got != 503 {
			t.Errorf("third connection: %d; want 503", got)
		}
		for i, c := range []net.Conn{a, b} {
			if got := statusOn(t, c); got != 200 {
				t.Errorf("connection %d: %d; want 200", i, got)
			}
		}
	})
	t.Run("handshake rate", func(t *testing.T) {
		_, addr := startProxy(t, "listen: [{addr: \"127.0.0.1:0\"}]\nloops: 1\nlimits: {handshake_rate_per_ip: 2}\n"+route)
		// A bucket of 2 tokens refilled at 2/s: the first two handshakes
		// from an address pass, the third is refused only if it comes
		// within 500ms of the first. A loaded machine may take longer for
		// the three; then the scenario is tried again from a new address
		// (a fresh bucket).
		const window = 500 * time.Millisecond
		for try := 0; ; try++ {
			src := fmt.Sprintf("127.0.0.%d", 10+try)
			d := websocket.Dialer{
				NetDial:          (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).Dial,
				HandshakeTimeout: 5 * time.Second,
			}
			var codes []int
			start := time.Now()
			for i := 0; i < 3; i++ {
				c, resp, err := d.Dial("ws://"+addr+"/", nil)
				if err == nil {
					c.Close()
					codes = append(codes, 101)
					continue
				}
				if resp == nil {
					t.Fatal(err)
				}
				codes = append(codes, resp.StatusCode)
			}
			took := time.Since(start)
			if codes[0] != 101 || codes[1] != 101 {
				t.Fatalf("three handshakes from %s: %v; want the first two to pass (burst 2)", src, codes)
			}
			if took < window {
				if codes[2] != 429 {
					t.Errorf("three handshakes from %s within %v: %v; want [101 101 429]", src, took, codes)
				}
				return
			}
			if try == 9 {
				t.Fatalf("three handshakes took %v or more in each of %d tries; want one try within %v", window, try+1, window)
			}
			t.Logf("three handshakes from %s took %v (%v), more than the %v window; trying again", src, took, codes, window)
		}
	})
}

func TestOriginAllowlist(t *testing.T) {
	e := startEcho(t, "e1")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - path: /
    upstream: %q
    websocket: {origins: ["https://app.example.com", "*.trusted.org"]}
`, e.Addr().String()))
	for _, tt := range []struct {
		origin string
		want   int
	}{
		{"https://app.example.com", 101},
		{"https://APP.example.com", 101},
		{"http://x.trusted.org:8080", 101},
		{"https://evil.example.com", 403},
		{"https://trusted.org.evil.com", 403},
		{"", 403},
	} {
		t.Run(tt.origin, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", h)
			got := 0
			if err == nil {
				c.Close()
				got = 101
			} else if resp != nil {
				got = resp.StatusCode
			}
			if got != tt.want {
				t.Errorf("Origin %q: %d (%v); want %d", tt.origin, got, err, tt.want)
			}
		})
	}
}
