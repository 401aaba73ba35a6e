package core_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
)

// routingProxy starts five echo backends A..E and a proxy whose routes
// exercise rewriting, prefix stripping, host matching and prefix length.
func routingProxy(t testing.TB) string {
	t.Helper()
	addrs := map[string]string{}
	for _, id := range []string{"A", "B", "C", "D", "E"} {
		addrs[id] = startEcho(t, id).Addr().String()
	}
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - path: /services/myservice/
    rewrite: {regex: "^/services/myservice/(.*)", to: "/$1"}
    upstream: %[1]q
  - path: /strip
    strip_prefix: true
    upstream: %[2]q
  - path: /api
    upstream: %[1]q
  - path: /api/v2
    upstream: %[2]q
  - host: exact.example.com
    path: /
    upstream: %[3]q
  - host: "*.example.com"
    path: /
    upstream: %[4]q
  - host: "*.example.com"
    path: /api/v2/special
    upstream: %[3]q
  - path: /
    upstream: %[5]q
`, addrs["A"], addrs["B"], addrs["C"], addrs["D"], addrs["E"]))
	return addr
}

func TestRouting(t *testing.T) {
	addr := routingProxy(t)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	tests := []struct {
		name      string
		host      string // Host header; "" leaves the proxy's address
		target    string
		wantID    string
		wantPath  string
		wantQuery string
	}{
		{"regex rewrite keeps query", "", "/services/myservice/foo/bar?x=1&y=a%20b", "A", "/foo/bar", "x=1&y=a%20b"},
		{"regex rewrite to root", "", "/services/myservice/", "A", "/", ""},
		{"regex rewrite one segment", "", "/services/myservice/health", "A", "/health", ""},
		{"strip prefix", "", "/strip/x/y?q=1", "B", "/x/y", "q=1"},
		{"strip prefix exact", "", "/strip", "B", "/", ""},
		{"strip prefix trailing slash", "", "/strip/", "B", "/", ""},
		{"shorter prefix", "", "/api/v1/users", "A", "/api/v1/users", ""},
		{"longest prefix wins", "", "/api/v2/users?page=2", "B", "/api/v2/users", "page=2"},
		{"fallback", "", "/other", "E", "/other", ""},
		{"exact host", "exact.example.com", "/anything", "C", "/anything", ""},
		{"exact host with port", "exact.example.com:8080", "/p", "C", "/p", ""},
		{"exact host case-insensitive", "EXACT.Example.COM", "/p", "C", "/p", ""},
		{"wildcard host", "a.example.com", "/p", "D", "/p", ""},
		{"wildcard host deeper", "a.b.example.com:443", "/p", "D", "/p", ""},
		{"wildcard does not match apex", "example.com", "/p", "E", "/p", ""},
		{"wildcard does not match suffix", "badexample.com", "/p", "E", "/p", ""},
		{"host route beats longer hostless prefix", "exact.example.com", "/api/v2/x", "C", "/api/v2/x", ""},
		{"longest prefix among host routes", "w.example.com", "/api/v2/special/1", "C", "/api/v2/special/1", ""},
		{"other host falls back to hostless", "other.org", "/api/v2/x", "B", "/api/v2/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", "http://"+addr+tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET: got %d %q, %v; want 200", resp.StatusCode, body, err)
			}
			r := decodeReport(t, body)
			if r.ID != tt.wantID || r.Path != tt.wantPath || r.Query != tt.wantQuery {
				t.Fatalf("got backend %s path %q query %q; want %s %q %q",
					r.ID, r.Path, r.Query, tt.wantID, tt.wantPath, tt.wantQuery)
			}
			if want := req.Host; r.Host != want {
				t.Errorf("Host: got %q; want %q (as sent)", r.Host, want)
			}
		})
	}
}

func TestRoutingWebSocketHandshake(t *testing.T) {
	addr := routingProxy(t)
	tests := []struct {
		name, host, target string
		wantID, wantTarget string
	}{
		{"regex rewrite", "", "/services/myservice/socket?token=abc", "A", "/socket?token=abc"},
		{"strip prefix", "", "/strip/ws", "B", "/ws"},
		{"wildcard host", "chat.example.com", "/ws", "D", "/ws"},
		{"fallback", "", "/ws", "E", "/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.host != "" {
				h.Set("Host", tt.host)
			}
			d := gorilla.Dialer{HandshakeTimeout: 5 * time.Second}
			c, resp, err := d.Dial("ws://"+addr+tt.target, h)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			resp.Body.Close()
			gotID, gotTarget := resp.Header.Get("X-Echo-Id"), resp.Header.Get("X-Echo-Path")
			if gotID != tt.wantID || gotTarget != tt.wantTarget {
				t.Fatalf("handshake reached %s with %q; want %s with %q", gotID, gotTarget, tt.wantID, tt.wantTarget)
			}
			c.NetConn().SetDeadline(time.Now().Add(5 * time.Second))
			if err := c.WriteMessage(gorilla.TextMessage, []byte("hi")); err != nil {
				t.Fatalf("write: %v", err)
			}
			if _, got, err := c.ReadMessage(); err != nil || string(got) != "hi" {
				t.Fatalf("echo: got %q, %v; want \"hi\"", got, err)
			}
		})
	}
}
