package core

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"wsproxy/config"
	"wsproxy/internal/echo"
	"wsproxy/internal/reactor"
	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
	"wsproxy/internal/tlsloop"
	"wsproxy/internal/tlstrim"
)

// startTrimProxy starts a proxy with a TLS listener for ws.example.com in
// front of an echo backend and returns it and the listener's address.
func startTrimProxy(t *testing.T) (*Server, string) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := echo.New("127.0.0.1:0", "e1", 1, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	cert, key := testcert.Write(t, t.TempDir(), "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0", tls: {cert: %q, key: %q}}]
loops: 2
routes: [{path: /, upstream: %q}]
`, cert, key, e.Addr().String())))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, srv.Addrs()[0].String()
}

// clientInputCaps finds, on its loop, the established TLS client endpoint
// whose peer is addr and describes its tls.Conn's input buffers
// (tlsInputCaps); "" if there is none.
func clientInputCaps(t *testing.T, srv *Server, addr net.Addr, sweep bool) string {
	t.Helper()
	peer := addr.(*net.TCPAddr).AddrPort()
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	for _, l := range srv.loops {
		res := make(chan string, 1)
		if !l.Submit(func() {
			if sweep {
				l.trimTLS() // what the housekeeper does once a second
			}
			found := ""
			l.Each(func(_ int, h reactor.Handler) {
				e, ok := h.(*endpoint)
				if !ok || e.tls == nil || e.tls.Phase() != tlsloop.Ready || e.flags&epIsUpstream != 0 || e.c == nil || found != "" {
					return
				}
				if p := e.c.peer(); netip.AddrPortFrom(p.Addr().Unmap(), p.Port()) == peer {
					found = tlsInputCaps(t, e.tls.TLS())
				}
			})
			res <- found
		}) {
			t.Fatal("loop stopped")
		}
		if s := <-res; s != "" {
			return s
		}
	}
	return ""
}

// expectTrimmed waits until the proxy has handled everything the client at
// addr sent (each check is a round trip through the loops) and its
// tls.Conn holds no input buffer. With sweep, each check runs the
// housekeeper's sweep first; without, the housekeeper's own (once a
// second) must do it.
func expectTrimmed(t *testing.T, srv *Server, addr net.Addr, when string, sweep bool) {
	t.Helper()
	testutil.Eventually(t, when, func() error {
		if got := clientInputCaps(t, srv, addr, sweep); got != "0 0 0" {
			return fmt.Errorf("rawInput cap, input size, hand cap = %q; want \"0 0 0\"", got)
		}
		return nil
	})
}

// TestTLSTrimProxy: a wss connection through the proxy holds no crypto/tls
// input buffer after its handshake and after every echo, large messages
// included, and keeps echoing correctly.
func TestTLSTrimProxy(t *testing.T) {
	if !(tlstrim.Err() == nil) {
		t.Skip("trimming is off")
	}
	srv, addr := startTrimProxy(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := &tls.Config{RootCAs: testcert.Roots(), ServerName: "ws.example.com", MinVersion: v, MaxVersion: v}
		t.Run(tls.VersionName(v)+"/handshake", func(t *testing.T) {
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			expectTrimmed(t, srv, c.LocalAddr(), "after the handshake", false)
		})
		t.Run(tls.VersionName(v)+"/echo", func(t *testing.T) {
			d := gorilla.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: cfg}
			c, _, err := d.Dial("wss://"+addr+"/ws", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			expectTrimmed(t, srv, c.LocalAddr(), "after the upgrade", false)
			for i, n := range []int{1 << 20, 0, 1, 125, 16 << 10, 16<<10 + 1, 70000, 16 << 20, 5} {
				p := make([]byte, n)
				for j := range p {
					p[j] = byte(i + j*7)
				}
				c.NetConn().SetDeadline(time.Now().Add(30 * time.Second))
				werr := make(chan error, 1)
				go func() { werr <- c.WriteMessage(gorilla.BinaryMessage, p) }()
				_, got, err := c.ReadMessage()
				if err != nil || <-werr != nil {
					t.Fatalf("echo of %d bytes: %v", n, err)
				}
				if !bytes.Equal(got, p) {
					t.Fatalf("echo of %d bytes: got %d different bytes", n, len(got))
				}
				expectTrimmed(t, srv, c.LocalAddr(), fmt.Sprintf("after an echo of %d bytes", n), true)
			}
			// A burst of reads: past tlsloop.TrimReads in a second, the reads leave
			// the buffers to the housekeeper's sweep, which must come.
			for i := range 3 * tlsloop.TrimReads {
				c.NetConn().SetDeadline(time.Now().Add(30 * time.Second))
				if err := c.WriteMessage(gorilla.TextMessage, []byte{'a' + byte(i)}); err != nil {
					t.Fatal(err)
				}
				if _, got, err := c.ReadMessage(); err != nil || len(got) != 1 || got[0] != 'a'+byte(i) {
					t.Fatalf("burst echo %d: %q, %v", i, got, err)
				}
			}
			expectTrimmed(t, srv, c.LocalAddr(), "after a burst of echoes, by the sweep", false)
		})
	}
}

// tlsInputCaps describes what c's input buffers hold on to; "0 0 0" when
// it holds none.
func tlsInputCaps(t testing.TB, c *tls.Conn) string {
	t.Helper()
	raw, in, hand, ok := tlstrim.Caps(c)
	if !ok {
		t.Fatalf("tls.Conn layout: %v", tlstrim.Err())
	}
	return fmt.Sprintf("%d %d %d", raw, in, hand)
}
