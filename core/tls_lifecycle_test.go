package core_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
)

// TestTLSReload swaps the certificate files and reloads them while a wss
// connection stays open: new handshakes get the new certificate, the open
// connection keeps echoing, and a broken file keeps the last good one.
func TestTLSReload(t *testing.T) {
	ts := startTLSProxy(t, nil)
	url := "wss://" + ts.tlsAddr + "/ws"
	g := dialGorilla(t, url, &gorilla.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: clientTLS("ws.example.com")})
	echo := func(msg string) {
		t.Helper()
		g.NetConn().SetDeadline(time.Now().Add(testDeadline))
		if err := g.WriteMessage(gorilla.TextMessage, []byte(msg)); err != nil {
			t.Fatalf("write on the open connection: %v", err)
		}
		if _, got, err := g.ReadMessage(); err != nil || string(got) != msg {
			t.Fatalf("echo on the open connection: %q, %v; want %q", got, err, msg)
		}
	}
	served := func() *x509.Certificate {
		t.Helper()
		c, err := dialTLS(t, ts.tlsAddr, clientTLS("ws.example.com"))
		if err != nil {
			t.Fatalf("new handshake: %v", err)
		}
		return c.ConnectionState().PeerCertificates[0]
	}
	echo("before")
	old := served()

	testcert.Write(t, ts.dir, "ws", testcert.Spec{Names: []string{"ws.example.com", "new.example.com"}})
	if err := ts.srv.ReloadCertificates(); err != nil {
		t.Fatalf("ReloadCertificates: %v", err)
	}
	renewed := served()
	if renewed.Equal(old) || len(renewed.DNSNames) != 2 {
		t.Fatalf("after reload the old certificate is served (%v)", renewed.DNSNames)
	}
	echo("after reload")

	keyFile := ts.dir + "/ws.key"
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := ts.srv.ReloadCertificates()
	if err == nil || !strings.Contains(err.Error(), keyFile) || !strings.Contains(err.Error(), "PEM") {
		t.Fatalf("reload with a broken key: %v; want an error naming %s and the problem", err, keyFile)
	}
	if got := served(); !got.Equal(renewed) {
		t.Fatalf("after a failed reload the certificate changed")
	}
	echo("after failed reload")
}

// TestTLSPlainHTTPToTLSPort sends plain HTTP and garbage to the TLS port:
// each is answered or closed on its own, counted, and an open wss
// connection does not notice.
func TestTLSPlainHTTPToTLSPort(t *testing.T) {
	ts := startTLSProxy(t, nil)
	g := dialGorilla(t, "wss://"+ts.tlsAddr+"/ws", &gorilla.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: clientTLS("ws.example.com")})

	c := dialRaw(t, ts.tlsAddr)
	writeAll(t, c, "GET / HTTP/1.1\r\nHost: ws.example.com\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := readResp(t, br, "GET")
	if resp.StatusCode != 400 || !strings.Contains(string(body), "TLS port") {
		t.Errorf("plain HTTP to the TLS port: %d %q; want 400 naming the TLS port", resp.StatusCode, body)
	}
	expectEOF(t, br, c)
	if n := ts.srv.Stats().TLSHandshakeErrors; n != 1 {
		t.Errorf("TLSHandshakeErrors after plain HTTP = %d; want 1", n)
	}

	c = dialRaw(t, ts.tlsAddr)
	writeAll(t, c, "\x16\x03\x01\x00\x08garbage!")
	if b, err := io.ReadAll(c); err != nil && !isReset(err) {
		t.Errorf("garbage handshake: read %q, %v; want the connection closed", b, err)
	}
	testutil.WaitFor(t, "second handshake error counted", func() bool { return ts.srv.Stats().TLSHandshakeErrors == 2 })

	// A client that connects and leaves without a byte is not a failure.
	c = dialRaw(t, ts.tlsAddr)
	c.Close()

	g.NetConn().SetDeadline(time.Now().Add(testDeadline))
	if err := g.WriteMessage(gorilla.TextMessage, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := g.ReadMessage(); err != nil || string(got) != "still here" {
		t.Fatalf("echo on the other connection: %q, %v", got, err)
	}
	testutil.WaitFor(t, "the silent client closed", func() bool { return ts.srv.Stats().Open == 1 })
	if n := ts.srv.Stats().TLSHandshakeErrors; n != 2 {
		t.Errorf("TLSHandshakeErrors = %d; want 2", n)
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// TestTLSManyHandshakes starts more handshakes at once than the loops run
// goroutines for, so that some wait for a slot; all must complete.
func TestTLSManyHandshakes(t *testing.T) {
	ts := startTLSProxy(t, nil)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			cfg := clientTLS("ws.example.com")
			cfg.ClientSessionCache = nil
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: testDeadline}, "tcp", ts.tlsAddr, cfg)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testDeadline))
			// The request goes out right behind the client's Finished and
			// may reach the proxy before its handshake goroutine is done.
			fmt.Fprintf(c, "GET /c%d HTTP/1.1\r\nHost: ws.example.com\r\nConnection: close\r\n\r\n", i)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", i, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("client %d: status %d", i, resp.StatusCode)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ts.srv.Stats().TLSHandshakeErrors; n != 0 {
		t.Errorf("TLSHandshakeErrors = %d; want 0", n)
	}
}

// TestTLSHandshakeTimeout: a client that stops halfway through its
// ClientHello is closed when header_read expires, and counted.
func TestTLSHandshakeTimeout(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0", tls: {cert: %q, key: %q}}]
timeouts: {header_read: 300ms}
routes: [{path: /, upstream: %q}]
`, cert, key, testutil.RefusedAddr(t)))
	c := dialRaw(t, addr)
	writeAll(t, c, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") // the start of a ClientHello
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(c); len(b) != 0 || (err != nil && !isReset(err)) {
		t.Fatalf("stalled handshake: read %q, %v; want the connection closed", b, err)
	}
	testutil.WaitFor(t, "stalled handshake counted", func() bool { return srv.Stats().TLSHandshakeErrors == 1 })
}

// TestTLSCertificateErrors checks that core.New refuses unusable
// certificate files, naming the file and the problem.
func TestTLSCertificateErrors(t *testing.T) {
	dir := t.TempDir()
	good, goodKey := testcert.Write(t, dir, "good", testcert.Spec{Names: []string{"ws.example.com"}})
	_, otherKey := testcert.Write(t, dir, "other", testcert.Spec{Names: []string{"ws.example.com"}})
	expired, expiredKey := testcert.Write(t, dir, "expired", testcert.Spec{Names: []string{"old.example.com"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	future, futureKey := testcert.Write(t, dir, "future", testcert.Spec{Names: []string{"new.example.com"},
		NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(48 * time.Hour)})
	garbage := dir + "/garbage.pem"
	os.WriteFile(garbage, []byte("hello\n"), 0o600)
	missing := dir + "/missing.crt"
	// Where the error points: the line and field of the file at fault.
	const cert, key = "test.yaml:4: listen[0].tls.cert: ", "test.yaml:5: listen[0].tls.key: "
	tests := []struct {
		name      string
		cert, key string
		at        string
		want      []string
	}{
		{"missing cert", missing, goodKey, cert, []string{"certificate " + missing, "no such file"}},
		{"missing key", good, missing, key, []string{"key " + missing, "no such file"}},
		{"cert not PEM", garbage, goodKey, cert, []string{"certificate " + garbage, "no PEM CERTIFICATE block"}},
		{"key not PEM", good, garbage, key, []string{"key " + garbage, "PEM"}},
		{"swapped", goodKey, good, cert, []string{"certificate " + goodKey, "private key, not a certificate"}},
		{"mismatch", good, otherKey, key, []string{"key " + otherKey + " does not match certificate " + good}},
		{"expired", expired, expiredKey, cert, []string{"certificate " + expired, "old.example.com", "expired at"}},
		{"not yet valid", future, futureKey, cert, []string{"certificate " + future, "not valid before"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`listen:
  - addr: "127.0.0.1:0"
    tls:
      cert: %q
      key: %q
routes: [{path: /, upstream: "127.0.0.1:1"}]
`, tc.cert, tc.key)))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := core.New(cfg, core.Options{Logger: testutil.Logger(t)})
			if err == nil {
				srv.Close()
				t.Fatalf("core.New succeeded; want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), tc.at) {
				t.Errorf("got %q; want it to start with %q", err, tc.at)
			}
		})
	}
}

// prefixConn sends prefix in the same write as the first bytes written.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Write(p []byte) (int, error) {
	if c.prefix != nil {
		b := append(c.prefix, p...)
		c.prefix = nil
		if _, err := c.Conn.Write(b); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// TestTLSProxyProtocol: on a listener with both proxy_protocol and tls, the
// PROXY header comes first in plain text, then the handshake.
func TestTLSProxyProtocol(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	e := startEcho(t, "e1")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0", proxy_protocol: true, tls: {cert: %q, key: %q}}]
routes: [{path: /, upstream: %q}]
`, cert, key, e.Addr().String()))
	const header = "PROXY TCP4 203.0.113.7 10.0.0.1 5555 443\r\n"
	for _, tc := range []struct {
		name string
		dial func(c net.Conn) net.Conn
	}{
		{"header alone", func(c net.Conn) net.Conn { writeAll(t, c, header); return c }},
		{"header with ClientHello", func(c net.Conn) net.Conn { return &prefixConn{c, []byte(header)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tls.Client(tc.dial(dialRaw(t, addr)), clientTLS("ws.example.com"))
			writeAll(t, c, "GET /p HTTP/1.1\r\nHost: ws.example.com\r\n\r\n")
			resp, body := readResp(t, bufio.NewReader(c), "GET")
			r := decodeReport(t, body)
			if resp.StatusCode != 200 || r.XRealIP != "203.0.113.7" || r.XForwardedProto != "https" {
				t.Fatalf("got %d, X-Real-IP %q, X-Forwarded-Proto %q; want 200, 203.0.113.7, https",
					resp.StatusCode, r.XRealIP, r.XForwardedProto)
			}
		})
	}
}
