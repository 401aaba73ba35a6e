package core_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"wsproxy/internal/echo"
)

// twoBackends starts echo backends "one" and "two" behind a proxy that
// routes /one and /two to them, and / to "one".
func twoBackends(t testing.TB) (addr string, one, two *echo.Server) {
	t.Helper()
	one, two = startEcho(t, "one"), startEcho(t, "two")
	_, addr = startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - {path: /one, upstream: %[1]q}
  - {path: /two, upstream: %[2]q}
  - {path: /, upstream: %[1]q}
`, one.Addr(), two.Addr()))
	return addr, one, two
}

// exchange is one request on a keep-alive connection and what must come back.
type exchange struct {
	req        string // request line and fields after Host, without the blank line
	method     string
	wantStatus int
	wantID     string // "" when the answer is not an echo report
	wantBody   string // checked when wantID is ""
	wantClose  bool   // the response says Connection: close
}

func (e exchange) raw() string {
	line, rest, _ := strings.Cut(e.req, "\r\n")
	if rest != "" {
		rest += "\r\n"
	}
	return line + "\r\nHost: ka.test\r\n" + rest + "\r\n"
}

func (e exchange) check(t *testing.T, br *bufio.Reader) {
	t.Helper()
	resp, body := readResp(t, br, e.method)
	if resp.StatusCode != e.wantStatus {
		t.Fatalf("%s: status: got %d; want %d", e.req, resp.StatusCode, e.wantStatus)
	}
	if e.wantID != "" {
		if r := decodeReport(t, body); r.ID != e.wantID {
			t.Errorf("%s: backend: got %s; want %s", e.req, r.ID, e.wantID)
		}
	} else if string(body) != e.wantBody {
		t.Errorf("%s: body: got %q; want %q", e.req, body, e.wantBody)
	}
	if resp.Close != e.wantClose {
		t.Errorf("%s: Connection: close: got %v; want %v", e.req, resp.Close, e.wantClose)
	}
}

func TestKeepAlive(t *testing.T) {
	addr, _, _ := twoBackends(t)
	get := func(target, id string) exchange {
		return exchange{req: "GET " + target + " HTTP/1.1", method: "GET", wantStatus: 200, wantID: id}
	}
	tests := []struct {
		name      string
		exchanges []exchange
		pipeline  bool // send every request in one write before reading
		wantEOF   bool // the proxy closes after the last response
	}{
		{name: "different upstreams", exchanges: []exchange{
			get("/one/a", "one"), get("/two/b", "two"), get("/one/c", "one"), get("/two/d", "two"),
		}},
		{name: "pipelined", pipeline: true, exchanges: []exchange{
			get("/one/1", "one"), get("/two/2", "two"),
			{req: "HEAD /two/3 HTTP/1.1", method: "HEAD", wantStatus: 200},
			{req: "GET /one/4?size=70000 HTTP/1.1", method: "GET", wantStatus: 200, wantBody: letters(70000)},
			get("/two/5", "two"),
		}},
		{name: "HEAD has no body", exchanges: []exchange{
			{req: "HEAD /one HTTP/1.1", method: "HEAD", wantStatus: 200},
			{req: "HEAD /two?size=5000 HTTP/1.1", method: "HEAD", wantStatus: 200},
			get("/one", "one"),
		}},
		{name: "204 and 304", exchanges: []exchange{
			{req: "GET /status/204 HTTP/1.1", method: "GET", wantStatus: 204},
			{req: "GET /status/304 HTTP/1.1", method: "GET", wantStatus: 304},
			get("/two", "two"),
		}},
		{name: "client Connection: close", wantEOF: true, exchanges: []exchange{
			get("/one", "one"),
			{req: "GET /two HTTP/1.1\r\nConnection: close", method: "GET", wantStatus: 200, wantID: "two", wantClose: true},
		}},
		{name: "HTTP/1.0", wantEOF: true, exchanges: []exchange{
			{req: "GET /two HTTP/1.0", method: "GET", wantStatus: 200, wantID: "two", wantClose: true},
		}},
		{name: "HTTP/1.0 keep-alive asked", wantEOF: true, exchanges: []exchange{
			{req: "GET /one HTTP/1.0\r\nConnection: keep-alive", method: "GET", wantStatus: 200, wantID: "one", wantClose: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			br := bufio.NewReader(c)
			if tt.pipeline {
				var all strings.Builder
				for _, e := range tt.exchanges {
					all.WriteString(e.raw())
				}
				writeAll(t, c, all.String())
			}
			for _, e := range tt.exchanges {
				if !tt.pipeline {
					writeAll(t, c, e.raw())
				}
				e.check(t, br)
			}
			if tt.wantEOF {
				expectEOF(t, br, c)
			}
		})
	}
}

// letters is the body the echo backend sends for ?size=n.
func letters(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return string(b)
}

func TestUpstreamReuse(t *testing.T) {
	addr, one, _ := twoBackends(t)
	c := dialRaw(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 5; i++ {
		writeAll(t, c, fmt.Sprintf("GET /one/%d HTTP/1.1\r\nHost: ka.test\r\n\r\n", i))
		if resp, body := readResp(t, br, "GET"); resp.StatusCode != 200 {
			t.Fatalf("request %d: got %d %q; want 200", i, resp.StatusCode, body)
		}
		if got := one.Stats().Conns; got != 1 {
			t.Fatalf("after request %d: upstream connections: got %d; want 1", i, got)
		}
	}
}

// TestUpstreamCloseHonoured: an upstream that answered "Connection: close"
// must not be reused, even when its body ends after another connection on
// the same loop has parsed a response of its own.
func TestUpstreamCloseHonoured(t *testing.T) {
	release := make(chan struct{})
	var conns, reused atomic.Int32
	backend := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		first := conns.Add(1) == 1
		for n := 0; ; n++ {
			if _, err := readHeadErr(br); err != nil {
				return
			}
			switch {
			case n > 0:
				reused.Add(1)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nreused")
			case first:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello")
				<-release
				io.WriteString(c, "world") // and keep the connection open
			default:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")
			}
		}
	})
	echo := startEcho(t, "e")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 1
routes:
  - {path: /slow, upstream: %q}
  - {path: /, upstream: %q}
`, backend, echo.Addr()))

	c1 := dialRaw(t, addr)
	br1 := bufio.NewReader(c1)
	writeAll(t, c1, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br1, nil)
	if err != nil {
		t.Fatalf("first response: %v", err)
	}
	part := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, part); err != nil {
		t.Fatalf("first half of the body: %v", err)
	}
	// Another client's response is parsed on the same loop meanwhile.
	c2 := dialRaw(t, addr)
	writeAll(t, c2, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readResp(t, bufio.NewReader(c2), "GET"); resp.StatusCode != 200 {
		t.Fatalf("other client: got %d %q; want 200", resp.StatusCode, body)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if got := string(part) + string(rest); err != nil || got != "helloworld" {
		t.Fatalf("first body: got %q, %v; want \"helloworld\"", got, err)
	}
	writeAll(t, c1, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readResp(t, br1, "GET"); string(body) != "fresh" {
		t.Errorf("second request: got %d %q; want a new upstream connection (\"fresh\")", resp.StatusCode, body)
	}
	if n := reused.Load(); n != 0 {
		t.Errorf("requests on the connection the upstream asked to close: got %d; want 0", n)
	}
}
