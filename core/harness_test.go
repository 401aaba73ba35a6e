package core_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"wsproxy/codec"
	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/echo"
	"wsproxy/internal/testutil"
)

// startEcho starts an echo backend on 127.0.0.1:0.
func startEcho(t testing.TB, id string) *echo.Server {
	t.Helper()
	e, err := echo.New("127.0.0.1:0", id, 1, testutil.Logger(t))
	if err != nil {
		t.Fatalf("echo: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// startProxy parses yamlText (with %s verbs already filled in), starts a
// proxy on it and returns its address.
func startProxy(t testing.TB, yamlText string) (*core.Server, string) {
	t.Helper()
	return startProxyOpts(t, yamlText, core.Options{Logger: testutil.Logger(t)})
}

// startProxyOpts is startProxy with the Server's Options.
func startProxyOpts(t testing.TB, yamlText string, opts core.Options) (*core.Server, string) {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yamlText))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	srv, err := core.New(cfg, opts)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv, srv.Addrs()[0].String()
}

// simpleProxy is one proxy with route "/" to one echo backend.
func simpleProxy(t testing.TB) (string, *echo.Server) {
	e := startEcho(t, "e1")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - path: /
    upstream: %q
`, e.Addr().String()))
	return addr, e
}

// testDeadline bounds every raw connection of a test, so a proxy bug makes
// the test fail instead of hang.
const testDeadline = time.Minute

// dialRaw opens a plain TCP connection to addr with an overall deadline.
func dialRaw(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testDeadline))
	return c
}

// writeAll writes s to c or fails the test.
func writeAll(t testing.TB, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readResp reads one response to a request with method from br, body
// included.
func readResp(t testing.TB, br *bufio.Reader, method string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return resp, body
}

// expectEOF checks that the peer closes c cleanly (FIN, not a reset) and
// sends nothing more.
func expectEOF(t testing.TB, r io.Reader, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(r)
	if err != nil || len(b) > 0 {
		t.Fatalf("after the response: got %q, %v; want EOF", b, err)
	}
}

// report is the echo backend's JSON description of a request.
type report struct {
	ID              string   `json:"id"`
	Method          string   `json:"method"`
	Path            string   `json:"path"`
	Query           string   `json:"query"`
	Host            string   `json:"host"`
	XForwardedFor   string   `json:"x_forwarded_for"`
	XRealIP         string   `json:"x_real_ip"`
	XForwardedProto string   `json:"x_forwarded_proto"`
	Connection      string   `json:"connection"`
	Upgrade         string   `json:"upgrade"`
	BodyBytes       int64    `json:"body_bytes"`
	BodySHA256      string   `json:"body_sha256"`
	Headers         []string `json:"headers"`
}

func decodeReport(t testing.TB, body []byte) report {
	t.Helper()
	var r report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("echo report %q: %v", body, err)
	}
	return r
}

// header returns the value of the first field line named name, and whether
// there was one.
func (r report) header(name string) (string, bool) {
	for _, h := range r.Headers {
		n, v, _ := strings.Cut(h, ": ")
		if strings.EqualFold(n, name) {
			return v, true
		}
	}
	return "", false
}

// rawBackend listens on 127.0.0.1:0 and runs serve for each accepted
// connection in a goroutine of its own. Cleanup closes the listener and the
// connections and waits for the goroutines.
func rawBackend(t testing.TB, serve func(c net.Conn)) string {
	t.Helper()
	return testutil.Serve(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(testDeadline))
		serve(c)
	})
}

// wsKey is a valid Sec-WebSocket-Key (base64 of 16 bytes).
const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

// upgradeRequest is a WebSocket opening handshake for target.
func upgradeRequest(target, host string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: " + wsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// readHead reads from br up to and including the blank line ending a head.
func readHead(t testing.TB, br *bufio.Reader) string {
	t.Helper()
	head, err := readHeadErr(br)
	if err != nil {
		t.Fatalf("read head %q: %v", head, err)
	}
	return head
}

// readHeadErr is readHead for backends, which report errors instead of
// failing the test from their goroutine.
func readHeadErr(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil || line == "\r\n" {
			return b.String(), err
		}
	}
}

// acceptWebSocket is the handshake of a raw WebSocket backend: it reads the
// request head from br and answers 101 with the right Sec-WebSocket-Accept
// and the extra field lines in extra (each ending in CRLF).
func acceptWebSocket(c net.Conn, br *bufio.Reader, extra string) (head string, err error) {
	if head, err = readHeadErr(br); err != nil {
		return head, err
	}
	var key []byte
	for _, line := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Key") {
			key = []byte(strings.TrimSpace(v))
		}
	}
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	resp = codec.AppendAcceptKey(resp, key)
	_, err = io.WriteString(c, string(resp)+"\r\n"+extra+"\r\n")
	return head, err
}
