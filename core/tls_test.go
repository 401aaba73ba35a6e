package core_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
)

// tlsSetup is a proxy with a TLS listener (Addrs()[0]) and a plain one
// (Addrs()[1]) in front of one echo backend.
type tlsSetup struct {
	srv       *core.Server
	tlsAddr   string
	plainAddr string
	dir       string // certificate files
}

// startTLSProxy writes a certificate for ws.example.com into a new
// directory and starts the proxy; extra, if not nil, may write more files
// there and returns more lines for the listener's tls section.
func startTLSProxy(t testing.TB, extra func(dir string) string) *tlsSetup {
	t.Helper()
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	more := ""
	if extra != nil {
		more = extra(dir)
	}
	e := startEcho(t, "e1")
	srv, _ := startProxy(t, fmt.Sprintf(`
listen:
  - addr: "127.0.0.1:0"
    tls:
      cert: %q
      key: %q
%s
  - addr: "127.0.0.1:0"
loops: 2
routes:
  - path: /
    upstream: %q
`, cert, key, more, e.Addr().String()))
	return &tlsSetup{srv: srv, tlsAddr: srv.Addrs()[0].String(), plainAddr: srv.Addrs()[1].String(), dir: dir}
}

// clientTLS trusts the test CA and asks for serverName.
func clientTLS(serverName string) *tls.Config {
	return &tls.Config{RootCAs: testcert.Roots(), ServerName: serverName}
}

func httpsClient(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: testDeadline}
}

// dialTLS opens a TLS connection to addr with cfg and completes the
// handshake.
func dialTLS(t testing.TB, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: testDeadline}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(testDeadline))
	}
	return c, err
}

func TestTLSHTTPSAndForwardedProto(t *testing.T) {
	ts := startTLSProxy(t, nil)
	hc := httpsClient(clientTLS("ws.example.com"))
	for i := range 3 { // the second and third reuse the connection
		resp, err := hc.Get("https://" + ts.tlsAddr + fmt.Sprintf("/hello?i=%d", i))
		if err != nil {
			t.Fatalf("GET %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := decodeReport(t, body)
		if resp.StatusCode != 200 || r.XForwardedProto != "https" || r.Path != "/hello" {
			t.Fatalf("GET %d over TLS: status %d, X-Forwarded-Proto %q, path %q; want 200, https, /hello",
				i, resp.StatusCode, r.XForwardedProto, r.Path)
		}
	}
	// ALPN: a client offering h2 and http/1.1 gets http/1.1.
	cfg := clientTLS("ws.example.com")
	cfg.NextProtos = []string{"h2", "http/1.1"}
	c, err := dialTLS(t, ts.tlsAddr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN: got %q; want http/1.1", p)
	}
	// A POST body crosses the TLS side too.
	body := strings.Repeat("p", 300<<10)
	resp, err := hc.Post("https://"+ts.tlsAddr+"/post", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if r := decodeReport(t, b); r.BodyBytes != int64(len(body)) {
		t.Errorf("POST over TLS: upstream saw %d body bytes; want %d", r.BodyBytes, len(body))
	}
	// The plain listener of the same proxy still says http.
	code, text := testutil.Get(t, nil, "http://"+ts.plainAddr+"/")
	if r := decodeReport(t, []byte(text)); code != 200 || r.XForwardedProto != "http" {
		t.Errorf("plain GET: %d, X-Forwarded-Proto %q; want 200, http", code, r.XForwardedProto)
	}
}

// TestTLSWebSocketEcho echoes messages of every size, 16 MiB included,
// over wss:// with both client libraries: records of up to 16 KiB carry
// frames that cross their boundaries in both directions.
func TestTLSWebSocketEcho(t *testing.T) {
	ts := startTLSProxy(t, nil)
	url := "wss://" + ts.tlsAddr + "/ws"
	g := dialGorilla(t, url, &gorilla.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: clientTLS("ws.example.com")})
	cd := dialCoderTLS(t, url, clientTLS("ws.example.com"))
	for _, n := range echoSizes {
		p := payload(n, false, 7)
		t.Run(fmt.Sprintf("gorilla/%d", n), func(t *testing.T) {
			g.NetConn().SetDeadline(time.Now().Add(testDeadline))
			werr := make(chan error, 1)
			go func() { werr <- g.WriteMessage(gorilla.BinaryMessage, p) }()
			_, got, err := g.ReadMessage()
			if err != nil || <-werr != nil {
				t.Fatalf("echo of %d bytes: %v", n, err)
			}
			if !bytes.Equal(got, p) {
				t.Fatalf("echo of %d bytes: got %d bytes (equal prefix %d)", n, len(got), commonPrefix(got, p))
			}
		})
		t.Run(fmt.Sprintf("coder/%d", n), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
			defer cancel()
			werr := make(chan error, 1)
			go func() { werr <- cd.Write(ctx, websocket.MessageBinary, p) }()
			_, got, err := cd.Read(ctx)
			if err != nil || <-werr != nil {
				t.Fatalf("echo of %d bytes: %v", n, err)
			}
			if !bytes.Equal(got, p) {
				t.Fatalf("echo of %d bytes: got %d bytes (equal prefix %d)", n, len(got), commonPrefix(got, p))
			}
		})
	}
	if st := ts.srv.Stats(); st.Tunnels != 2 || st.TLSHandshakeErrors != 0 {
		t.Errorf("Stats: %d tunnels, %d handshake errors; want 2, 0", st.Tunnels, st.TLSHandshakeErrors)
	}
}

func dialCoderTLS(t testing.TB, url string, cfg *tls.Config) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: httpsClient(cfg)})
	if err != nil {
		t.Fatalf("coder dial %s: %v", url, err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	c.SetReadLimit(32 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func TestTLSVersions(t *testing.T) {
	ts := startTLSProxy(t, nil)
	ts13 := startTLSProxy(t, func(string) string { return `      min_version: "1.3"` })
	tests := []struct {
		name    string
		addr    string
		version uint16
		ok      bool
	}{
		{"1.3", ts.tlsAddr, tls.VersionTLS13, true},
		{"1.2", ts.tlsAddr, tls.VersionTLS12, true},
		{"1.1 refused", ts.tlsAddr, tls.VersionTLS11, false},
		{"1.0 refused", ts.tlsAddr, tls.VersionTLS10, false},
		{"min 1.3: 1.3", ts13.tlsAddr, tls.VersionTLS13, true},
		{"min 1.3: 1.2 refused", ts13.tlsAddr, tls.VersionTLS12, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientTLS("ws.example.com")
			cfg.MinVersion, cfg.MaxVersion = tc.version, tc.version
			c, err := dialTLS(t, tc.addr, cfg)
			if !tc.ok {
				if err == nil {
					t.Fatalf("handshake with %s succeeded (%s); want it refused", tls.VersionName(tc.version), tls.VersionName(c.ConnectionState().Version))
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake with %s: %v", tls.VersionName(tc.version), err)
			}
			if v := c.ConnectionState().Version; v != tc.version {
				t.Fatalf("negotiated %s; want %s", tls.VersionName(v), tls.VersionName(tc.version))
			}
			writeAll(t, c, "GET /v HTTP/1.1\r\nHost: ws.example.com\r\n\r\n")
			if resp, body := readResp(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || decodeReport(t, body).XForwardedProto != "https" {
				t.Fatalf("GET: %d %s", resp.StatusCode, body)
			}
		})
	}
	// Refused handshakes are counted once each.
	testutil.WaitFor(t, "handshake errors counted", func() bool {
		return ts.srv.Stats().TLSHandshakeErrors == 2 && ts13.srv.Stats().TLSHandshakeErrors == 1
	})
	if got := ts.srv.Metrics().TLSHandshakeErrors; got != 2 {
		t.Errorf("Metrics().TLSHandshakeErrors = %d; want 2 (exported as wsproxy_tls_handshake_errors_total)", got)
	}
}

func TestTLSSNI(t *testing.T) {
	ts := startTLSProxy(t, func(dir string) string {
		wc, wk := testcert.Write(t, dir, "wild", testcert.Spec{Names: []string{"*.example.com"}})
		ac, ak := testcert.Write(t, dir, "api", testcert.Spec{Names: []string{"api.example.com", "api.example.org"}})
		return fmt.Sprintf("      certificates: [{cert: %q, key: %q}, {cert: %q, key: %q}]", wc, wk, ac, ak)
	})
	tests := []struct {
		sni  string // "" sends no SNI
		want string // first DNS name of the certificate served
	}{
		{"ws.example.com", "ws.example.com"},
		{"api.example.com", "api.example.com"},
		{"api.example.org", "api.example.com"},
		{"chat.example.com", "*.example.com"},
		{"CHAT.Example.com", "*.example.com"},
		{"deep.chat.example.com", "ws.example.com"}, // a wildcard covers one label: default
		{"unknown.org", "ws.example.com"},
		{"", "ws.example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.sni, func(t *testing.T) {
			cfg := &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true}
			if tc.sni == "" {
				cfg.ServerName = "127.0.0.1" // an IP address is never sent as SNI
			}
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				leaf := cs.PeerCertificates[0]
				if got := leaf.DNSNames[0]; got != tc.want {
					return fmt.Errorf("served certificate for %s; want %s", got, tc.want)
				}
				// The chain verifies for the names it covers.
				if tc.want == "ws.example.com" && tc.sni != "ws.example.com" {
					return nil
				}
				_, err := leaf.Verify(x509.VerifyOptions{Roots: testcert.Roots(), DNSName: tc.sni})
				return err
			}
			if _, err := dialTLS(t, ts.tlsAddr, cfg); err != nil {
				t.Fatalf("handshake: %v", err)
			}
		})
	}
}

// TestTLSCiphersAndRelativePaths loads a config file whose certificate
// paths are relative to it, and restricts TLS 1.2 to one cipher suite.
func TestTLSCiphersAndRelativePaths(t *testing.T) {
	dir := t.TempDir()
	testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	e := startEcho(t, "e1")
	file := dir + "/wsproxy.yaml"
	os.WriteFile(file, []byte(fmt.Sprintf(`
listen:
  - addr: "127.0.0.1:0"
    tls:
      cert: ws.crt
      key: ws.key
      ciphers: [TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]
routes: [{path: /, upstream: %q}]
`, e.Addr().String())), 0o600)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := core.New(cfg, core.Options{Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatalf("core.New with paths relative to %s: %v", file, err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	addr := srv.Addrs()[0].String()
	for _, tc := range []struct {
		suite uint16
		ok    bool
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, false},
	} {
		c := clientTLS("ws.example.com")
		c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tc.suite}
		conn, err := dialTLS(t, addr, c)
		if tc.ok && (err != nil || conn.ConnectionState().CipherSuite != tc.suite) {
			t.Errorf("TLS 1.2 with %s: %v; want it negotiated", tls.CipherSuiteName(tc.suite), err)
		}
		if !tc.ok && err == nil {
			t.Errorf("TLS 1.2 with %s succeeded; want it refused", tls.CipherSuiteName(tc.suite))
		}
	}
	// TLS 1.3 suites are not restricted.
	if _, err := dialTLS(t, addr, clientTLS("ws.example.com")); err != nil {
		t.Errorf("TLS 1.3: %v", err)
	}
}

// TestTLSCurves: the listener's curves decide the key exchange, whatever
// the client prefers; by default a Go client and server agree on the
// hybrid post-quantum X25519MLKEM768.
func TestTLSCurves(t *testing.T) {
	dir := t.TempDir()
	testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	e := startEcho(t, "e1")
	for _, tc := range []struct {
		curves string
		client []tls.CurveID // nil: Go's defaults
		want   tls.CurveID   // 0: the handshake fails
	}{
		{"", nil, tls.X25519MLKEM768},
		{"curves: [X25519, P256]", nil, tls.X25519},
		{"curves: [prime256v1]", nil, tls.CurveP256},
		{"curves: [X25519]", []tls.CurveID{tls.CurveP384}, 0},
	} {
		t.Run(tc.curves, func(t *testing.T) {
			_, addr := startProxy(t, fmt.Sprintf(`
listen:
  - addr: "127.0.0.1:0"
    tls: {cert: %q, key: %q, %s}
routes: [{path: /, upstream: %q}]
`, dir+"/ws.crt", dir+"/ws.key", tc.curves, e.Addr().String()))
			c := clientTLS("ws.example.com")
			c.CurvePreferences = tc.client
			conn, err := tls.Dial("tcp", addr, c)
			if tc.want == 0 {
				if err == nil {
					conn.Close()
					t.Fatalf("handshake with a client offering %v succeeded; want it refused", tc.client)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			if got := conn.ConnectionState().CurveID; got != tc.want {
				t.Fatalf("key exchange = %v; want %v", got, tc.want)
			}
		})
	}
}
