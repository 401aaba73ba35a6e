package core_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
)

// tlsBackend is an HTTPS and WSS server of another implementation
// (net/http with gorilla/websocket) with a certificate for
// backend.example.com: "/ws" echoes messages, anything else answers with
// the request's X-Forwarded-Proto, body size and body SHA-256.
type tlsBackend struct {
	srv   *httptest.Server
	addr  string
	conns atomic.Int64 // TLS connections accepted
}

func startTLSBackend(t testing.TB) *tlsBackend {
	t.Helper()
	b := &tlsBackend{}
	up := gorilla.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				typ, msg, err := c.ReadMessage()
				if err != nil || c.WriteMessage(typ, msg) != nil {
					return
				}
			}
		}
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		fmt.Fprintf(w, "proto=%s body=%d sha=%s", r.Header.Get("X-Forwarded-Proto"), n, hex.EncodeToString(h.Sum(nil)))
	}))
	cert, err := tls.X509KeyPair(testcert.Make(t, testcert.Spec{Names: []string{"backend.example.com"}}))
	if err != nil {
		t.Fatal(err)
	}
	b.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	b.addr = strings.TrimPrefix(b.srv.URL, "https://")
	return b
}

// upstreamTLSProxy starts a plain proxy whose one upstream server is addr
// with the given TLS options (a YAML fragment inside the server's map).
func upstreamTLSProxy(t testing.TB, addr, opts string) string {
	t.Helper()
	_, paddr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  b:
    servers: [{addr: %q, tls: true, %s}]
routes: [{path: /, upstream: b}]
`, addr, opts))
	return paddr
}

func TestUpstreamTLS(t *testing.T) {
	b := startTLSBackend(t)
	ca := testcert.WriteCA(t, t.TempDir())
	addr := upstreamTLSProxy(t, b.addr, fmt.Sprintf("ca_file: %q, server_name: backend.example.com", ca))

	t.Run("requests reuse one upstream connection", func(t *testing.T) {
		before := b.conns.Load()
		for i := range 3 {
			code, body := testutil.Get(t, nil, "http://"+addr+"/x")
			if code != 200 || !strings.HasPrefix(body, "proto=http body=0") {
				t.Fatalf("GET %d: %d %q", i, code, body)
			}
		}
		if n := b.conns.Load() - before; n != 1 {
			t.Errorf("backend accepted %d TLS connections for 3 sequential requests; want 1", n)
		}
	})
	t.Run("large body written before the handshake ends", func(t *testing.T) {
		body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		sum := sha256.Sum256(body)
		// A new connection: the body flows while the upstream handshake
		// is still going on and must wait for it without being lost.
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Post("http://"+addr+"/post", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("proto=http body=%d sha=%x", len(body), sum); string(got) != want {
			t.Fatalf("POST: %d %q; want %q", resp.StatusCode, got, want)
		}
	})
	t.Run("websocket 16 MiB", func(t *testing.T) {
		g := dialGorilla(t, "ws://"+addr+"/ws", nil)
		for _, n := range []int{1, 70000, 16 << 20} {
			p := payload(n, false, 3)
			g.NetConn().SetDeadline(time.Now().Add(testDeadline))
			werr := make(chan error, 1)
			go func() { werr <- g.WriteMessage(gorilla.BinaryMessage, p) }()
			_, got, err := g.ReadMessage()
			if err != nil || <-werr != nil || !bytes.Equal(got, p) {
				t.Fatalf("echo of %d bytes over upstream TLS: %d bytes, %v", n, len(got), err)
			}
		}
	})
}

// TestUpstreamTLSVerification: the backend's certificate is verified
// unless insecure_skip_verify says otherwise; a failed handshake is a 502.
func TestUpstreamTLSVerification(t *testing.T) {
	b := startTLSBackend(t)
	ca := testcert.WriteCA(t, t.TempDir())
	tests := []struct {
		name string
		opts string
		code int
	}{
		{"trusted", fmt.Sprintf("ca_file: %q, server_name: backend.example.com", ca), 200},
		{"wrong name", fmt.Sprintf("ca_file: %q, server_name: other.example.com", ca), 502},
		{"IP address not in the certificate", fmt.Sprintf("ca_file: %q", ca), 502},
		{"system roots", "server_name: backend.example.com", 502},
		{"insecure_skip_verify", "insecure_skip_verify: true", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := upstreamTLSProxy(t, b.addr, tc.opts)
			if code, body := testutil.Get(t, nil, "http://"+addr+"/x"); code != tc.code {
				t.Fatalf("GET: %d %q; want %d", code, body, tc.code)
			}
		})
	}
}

// TestTLSBothSides chains two proxies: the first speaks TLS to the
// second's TLS listener, so that wsproxy's code is on both ends of a TLS
// connection, with a plain echo backend behind.
func TestTLSBothSides(t *testing.T) {
	ts := startTLSProxy(t, nil)
	ca := testcert.WriteCA(t, t.TempDir())
	addr := upstreamTLSProxy(t, ts.tlsAddr, fmt.Sprintf("ca_file: %q, server_name: ws.example.com", ca))
	code, body := testutil.Get(t, nil, "http://"+addr+"/x")
	if r := decodeReport(t, []byte(body)); code != 200 || r.XForwardedProto != "https" {
		t.Fatalf("GET through two proxies: %d, X-Forwarded-Proto %q; want 200, https (set by the second)", code, r.XForwardedProto)
	}
	cd := dialCoderTLS(t, "wss://"+ts.tlsAddr+"/ws", clientTLS("ws.example.com")) // a direct one alongside
	g := dialGorilla(t, "ws://"+addr+"/ws", nil)
	for _, n := range []int{0, 125, 65536, 16 << 20} {
		p := payload(n, true, 5)
		g.NetConn().SetDeadline(time.Now().Add(testDeadline))
		werr := make(chan error, 1)
		go func() { werr <- g.WriteMessage(gorilla.TextMessage, p) }()
		_, got, err := g.ReadMessage()
		if err != nil || <-werr != nil || !bytes.Equal(got, p) {
			t.Fatalf("echo of %d bytes through two TLS proxies: %d bytes, %v", n, len(got), err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	if err := cd.Write(ctx, 1, []byte("direct")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := cd.Read(ctx); err != nil || string(got) != "direct" {
		t.Fatalf("direct wss echo: %q, %v", got, err)
	}
}

// TestUpstreamTLSHealthCheck: health probes of a tls: true server use TLS.
func TestUpstreamTLSHealthCheck(t *testing.T) {
	b := startTLSBackend(t)
	ca := testcert.WriteCA(t, t.TempDir())
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  b:
    health_check: {path: /healthz, interval: 50ms, timeout: 10s}
    servers: [{addr: %q, tls: true, ca_file: %q, server_name: backend.example.com}]
routes: [{path: /, upstream: b}]
`, b.addr, ca))
	before := b.conns.Load()
	testutil.WaitFor(t, "health probes over TLS", func() bool { return b.conns.Load() >= before+2 })
	// One failed probe marks the only server down until the next one (50ms
	// later): a probe a loaded machine fails to finish must not fail the
	// test, so the GET may be tried again. Probes that do not speak TLS
	// fail every time and keep the server down throughout.
	var last string
	testutil.WaitFor(t, "GET answered 200 (the server is healthy over TLS)", func() bool {
		code, body := testutil.Get(t, nil, "http://"+addr+"/x")
		if got := fmt.Sprintf("%d %q", code, body); code != 200 && got != last {
			t.Logf("GET: %s", got)
			last = got
		}
		return code == 200
	})
}

// TestUpstreamTLSBadCAFile: an unusable ca_file stops core.New with the
// field and the file named.
func TestUpstreamTLSBadCAFile(t *testing.T) {
	dir := t.TempDir()
	garbage := dir + "/garbage.pem"
	os.WriteFile(garbage, []byte("not PEM\n"), 0o600)
	for _, tc := range []struct{ file, want string }{
		{dir + "/missing.pem", "no such file"},
		{garbage, "no PEM CERTIFICATE block"},
	} {
		cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  b:
    servers: [{addr: "127.0.0.1:1", tls: true, ca_file: %q}]
routes: [{path: /, upstream: b}]
`, tc.file)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = core.New(cfg, core.Options{Logger: testutil.Logger(t)})
		if err == nil || !strings.Contains(err.Error(), "test.yaml:5: upstreams.b.servers[0].ca_file: CA file "+tc.file) ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("core.New with ca_file %s: %v; want the field, the file and %q", tc.file, err, tc.want)
		}
	}
}

// TestUpstreamTLSRedial: a server whose connect or TLS handshake fails is
// skipped for the next one, which gets the request in the right form
// (encrypted or not).
func TestUpstreamTLSRedial(t *testing.T) {
	b, b2 := startTLSBackend(t), startTLSBackend(t)
	e := startEcho(t, "plain")
	ca := testcert.WriteCA(t, t.TempDir())
	tests := []struct {
		name    string
		servers string
		want    string
	}{
		{"refused TLS, then TLS", fmt.Sprintf(`{addr: %q, tls: true}, {addr: %q, tls: true, ca_file: %q, server_name: backend.example.com}`,
			testutil.RefusedAddr(t), b.addr, ca), "proto=http"},
		{"bad certificate, then TLS", fmt.Sprintf(`{addr: %q, tls: true, server_name: nobody.example}, {addr: %q, tls: true, ca_file: %q, server_name: backend.example.com}`,
			b2.addr, b.addr, ca), "proto=http"},
		{"bad certificate, then plain", fmt.Sprintf(`{addr: %q, tls: true, server_name: nobody.example}, {addr: %q}`,
			b.addr, e.Addr()), `"id":"plain"`},
		{"refused plain, then TLS", fmt.Sprintf(`{addr: %q}, {addr: %q, tls: true, ca_file: %q, server_name: backend.example.com}`,
			testutil.RefusedAddr(t), b.addr, ca), "proto=http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  b:
    servers: [%s]
routes: [{path: /, upstream: b}]
`, tc.servers))
			for i := range 4 {
				code, body := testutil.Get(t, nil, "http://"+addr+"/x")
				if code != 200 || !strings.Contains(body, tc.want) {
					t.Fatalf("GET %d: %d %q; want 200 from the working server", i, code, body)
				}
			}
		})
	}
}
