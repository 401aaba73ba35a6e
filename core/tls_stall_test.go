package core_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"wsproxy/core"
	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
)

// Issue 10, item 4: TLS peers that stall in their handshake must cost
// their connections, never the handshake slots that everyone else needs.

// stallHello is the first flight of a crypto/tls client, its ClientHello:
// stalled clients send all of it or its first 10 bytes.
func stallHello(t testing.TB) []byte {
	t.Helper()
	var c helloCapture
	_ = tls.Client(&c, clientTLS("ws.example.com")).Handshake()
	if c.out.Len() < 100 {
		t.Fatalf("captured a ClientHello of %d bytes", c.out.Len())
	}
	return c.out.Bytes()
}

// helloCapture keeps what is written to it and has nothing to read.
type helloCapture struct {
	out bytes.Buffer
	net.Conn
}

func (c *helloCapture) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *helloCapture) Read([]byte) (int, error)         { return 0, errors.New("test: nothing to read") }
func (c *helloCapture) Close() error                     { return nil }
func (c *helloCapture) SetDeadline(time.Time) error      { return nil }
func (c *helloCapture) SetReadDeadline(time.Time) error  { return nil }
func (c *helloCapture) SetWriteDeadline(time.Time) error { return nil }
func (c *helloCapture) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *helloCapture) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// silentServer accepts TCP connections and never answers: an upstream
// server with tls: true that stalls its side of the handshake.
type silentServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	hello chan struct{} // one per connection whose first bytes arrived
}

func startSilentServer(t testing.TB) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{ln: ln, hello: make(chan struct{}, 10000)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go func() {
				if _, err := c.Read(make([]byte, 1)); err == nil {
					s.hello <- struct{}{}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

// stallSetup is a proxy with a TLS listener, a plain one, a route /stall
// to a silent TLS upstream and everything else to an echo backend.
type stallSetup struct {
	srv                *core.Server
	tlsAddr, plainAddr string
	header             string // the PROXY header clients send first, if any
	silent             *silentServer
}

func startStallProxy(t testing.TB, timeout string, proxyProtocol bool) *stallSetup {
	t.Helper()
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	e := startEcho(t, "e1")
	silent := startSilentServer(t)
	srv, _ := startProxy(t, fmt.Sprintf(`
listen:
  - {addr: "127.0.0.1:0", proxy_protocol: %v, tls: {cert: %q, key: %q}}
  - addr: "127.0.0.1:0"
loops: 2
timeouts: {header_read: %[4]s, connect: %[4]s, read: %[4]s, handshake: %[4]s}
upstreams:
  stall: {servers: [{addr: %q, tls: true, insecure_skip_verify: true}]}
routes:
  - {path: /stall, upstream: stall}
  - {path: /, upstream: %q}
`, proxyProtocol, cert, key, timeout, silent.ln.Addr().String(), e.Addr().String()))
	s := &stallSetup{srv: srv, tlsAddr: srv.Addrs()[0].String(), plainAddr: srv.Addrs()[1].String(), silent: silent}
	if proxyProtocol {
		s.header = "PROXY TCP4 203.0.113.7 10.0.0.1 5555 443\r\n"
	}
	return s
}

// stallers are the stalled peers of every kind, n of each: clients that
// sent 10 bytes of their ClientHello, clients that sent all of it (their
// handshake goroutines wait for a Finished that never comes), and requests
// to /stall whose upstream handshakes wait for a server that never
// answers.
type stallers struct {
	partial, hello, upstream []net.Conn
}

// openStalled opens n stalled peers of each kind and returns once the
// silent upstream has every ClientHello.
func (s *stallSetup) openStalled(t *testing.T, n int) stallers {
	t.Helper()
	hello := stallHello(t)
	var st stallers
	for range n {
		c := dialRaw(t, s.tlsAddr)
		writeAll(t, c, s.header+string(hello[:10]))
		st.partial = append(st.partial, c)
	}
	for range n {
		c := dialRaw(t, s.tlsAddr)
		writeAll(t, c, s.header+string(hello))
		st.hello = append(st.hello, c)
	}
	for range n {
		c := dialRaw(t, s.plainAddr)
		writeAll(t, c, "GET /stall HTTP/1.1\r\nHost: ws.example.com\r\n\r\n")
		st.upstream = append(st.upstream, c)
	}
	guard := time.After(testDeadline)
	for i := range n {
		select {
		case <-s.silent.hello:
		case <-guard:
			t.Fatalf("the silent upstream got %d ClientHellos of %d", i, n)
		}
	}
	return st
}

// goodRequest makes a full TLS handshake through s's TLS listener and a
// proxied GET, and fails the test if either does not succeed within the
// connection's deadline.
func (s *stallSetup) goodRequest(t *testing.T) {
	t.Helper()
	raw := dialRaw(t, s.tlsAddr)
	var conn net.Conn = raw
	if s.header != "" {
		conn = &prefixConn{raw, []byte(s.header)}
	}
	c := tls.Client(conn, clientTLS("ws.example.com"))
	if err := c.Handshake(); err != nil {
		t.Fatalf("the good client's handshake: %v (blocked behind the stalled ones?)", err)
	}
	writeAll(t, c, "GET /good HTTP/1.1\r\nHost: ws.example.com\r\n\r\n")
	resp, body := readResp(t, bufio.NewReader(c), "GET")
	if r := decodeReport(t, body); resp.StatusCode != 200 || r.Path != "/good" {
		t.Fatalf("the good client's request: %d, path %q; want 200, /good", resp.StatusCode, r.Path)
	}
}

// TestTLSStalledHandshakesBlockNobody: twice as many stalled peers of each
// kind as there are handshake slots, all still open, and a new client's
// handshake and request go through. header_read is a minute; the
// connections' deadlines (20 s) are the hang guard. Before the fix the
// first stalled clients took every slot and the rest, the good client
// included, waited until header_read closed them.
func TestTLSStalledHandshakesBlockNobody(t *testing.T) {
	for _, tc := range []struct {
		name          string
		proxyProtocol bool
	}{
		{"tls", false},
		{"proxy_protocol and tls", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStallProxy(t, "60s", tc.proxyProtocol)
			n := 2 * core.TLSHandshakes(s.srv).Limit
			st := s.openStalled(t, n)
			// The proxy has read every partial ClientHello, keeps each on
			// its loop (10 bytes, no goroutine) ...
			testutil.WaitFor(t, "partial ClientHellos held", func() bool {
				return core.TLSHandshakes(s.srv).EarlyConns == n
			})
			// ... has answered every whole one ...
			for i, c := range st.hello {
				if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
					t.Fatalf("stalled client %d of %d sent its whole ClientHello and got no answer: %v", i, n, err)
				}
			}
			// ... and has sent every upstream its ClientHello (openStalled).
			s.goodRequest(t)

			if open := s.srv.Stats().Open; open != int64(3*n+1) {
				t.Errorf("open connections after the good request: %d; want %d (every stalled one and the good one)", open, 3*n+1)
			}
			if st := core.TLSHandshakes(s.srv); st.EarlyConns != n || st.EarlyBytes != 10*n {
				t.Errorf("partial ClientHellos held: %d connections, %d bytes; want %d, %d", st.EarlyConns, st.EarlyBytes, n, 10*n)
			}
			// A stalled handshake holds a parked goroutine and no slot.
			testutil.WaitFor(t, "stalled handshakes parked", func() bool {
				st := core.TLSHandshakes(s.srv)
				return st.Goroutines == 2*n && st.Running == 0 && st.Waiting == 0
			})
		})
	}
}

// TestTLSStalledHandshakesReaped: header_read closes stalled clients,
// wherever they stopped, and the read timeout fails stalled upstream
// handshakes with a 504; afterwards no goroutine, slot or buffered
// ciphertext is left, and each stalled client counts as a failed
// handshake.
func TestTLSStalledHandshakesReaped(t *testing.T) {
	s := startStallProxy(t, "2s", false)
	n := 2 * core.TLSHandshakes(s.srv).Limit
	st := s.openStalled(t, n)
	for i, c := range append(st.partial, st.hello...) {
		// What the proxy sent (its first flight, to the second kind), then
		// the end: a FIN, or a reset when it closed with bytes unread.
		if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
			t.Fatalf("stalled client %d: %v; want the connection closed", i, err)
		}
	}
	for i, c := range st.upstream {
		if resp, _ := readResp(t, bufio.NewReader(c), "GET"); resp.StatusCode != 504 {
			t.Errorf("request %d to a stalled upstream: status %d; want 504", i, resp.StatusCode)
		}
		c.Close()
	}
	testutil.WaitFor(t, "every connection closed and every handshake gone", func() bool {
		return s.srv.Stats().Open == 0 && core.TLSHandshakes(s.srv) == core.TLSHandshakeState{Limit: n / 2}
	})
	if got := s.srv.Stats().TLSHandshakeErrors; got != uint64(2*n) {
		t.Errorf("TLSHandshakeErrors = %d; want %d (every stalled client)", got, 2*n)
	}
}

// BenchmarkTLSHandshake: one full handshake (no resumption) at a time with
// the proxy's TLS listener, then a proxied GET on the connection. It shows
// what handing the slot back while waiting for the client's Finished costs
// a handshake that never stalls.
func BenchmarkTLSHandshake(b *testing.B) {
	ts := startTLSProxy(b, nil)
	cfg := clientTLS("ws.example.com")
	b.ReportAllocs()
	for b.Loop() {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: testDeadline}, "tcp", ts.tlsAddr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(testDeadline))
		writeAll(b, c, "GET /b HTTP/1.1\r\nHost: ws.example.com\r\n\r\n")
		if resp, _ := readResp(b, bufio.NewReader(c), "GET"); resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		c.Close()
	}
}
