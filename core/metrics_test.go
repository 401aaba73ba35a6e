package core_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/core/metrics"
	"wsproxy/internal/testutil"
)

// Sizes of the scripted session of TestMetricsSession.
const (
	msHTTP     = 5   // plain HTTP requests on one keep-alive connection
	msTunnels  = 4   // WebSocket connections
	msMessages = 3   // messages each tunnel sends (and gets back)
	msSize     = 100 // payload bytes of each message: a 2-byte length, so a 6-byte masked header
	msCode     = 4001
)

// metricsProxy starts a proxy with three routes: "/" to an echo backend,
// "/reject" to a backend that answers handshakes 403, and "/down" to an
// address nothing listens on. Its log lines go, as JSON, to logs.
func metricsProxy(t *testing.T, sample string, logs *testutil.Buffer) (*core.Server, string) {
	t.Helper()
	echo := startEcho(t, "e1")
	reject := rawBackend(t, func(c net.Conn) {
		if _, err := readHeadErr(bufio.NewReader(c)); err == nil {
			fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}
	})
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
log: {sample: %s}
routes:
  - {path: /, upstream: %q}
  - {path: /reject, upstream: %q}
  - {path: /down, upstream: %q}
`, sample, echo.Addr(), reject, testutil.RefusedAddr(t))))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	srv, err := core.New(cfg, core.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv, srv.Addrs()[0].String()
}

// runSession plays the scripted session against addr.
func runSession(t *testing.T, addr string) {
	// Plain HTTP on one keep-alive connection.
	c := dialRaw(t, addr)
	br := bufio.NewReader(c)
	for i := range msHTTP {
		writeAll(t, c, fmt.Sprintf("GET /hello/%d HTTP/1.1\r\nHost: example.com\r\n\r\n", i))
		if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 200 {
			t.Fatalf("GET %d: status %d; want 200", i, resp.StatusCode)
		}
	}
	c.Close()

	// Tunnels: K messages each way, then a Close 4001 from the client,
	// which the echo backend returns.
	msg := string(payload(msSize, false, 7))
	for i := range msTunnels {
		c, br := rawWebSocket(t, addr, fmt.Sprintf("/ws/%d", i))
		for range msMessages {
			writeAll(t, c, string(clientFrame(ws.OpBinary, msg)))
			f, err := ws.ReadFrame(br)
			if err != nil || f.Header.OpCode != ws.OpBinary || string(f.Payload) != msg {
				t.Fatalf("tunnel %d: echo: got %v %d bytes, %v; want the binary message back", i, f.Header.OpCode, len(f.Payload), err)
			}
		}
		writeAll(t, c, string(clientFrame(ws.OpClose, string(ws.NewCloseFrameBody(msCode, "")))))
		f, err := ws.ReadFrame(br)
		if err != nil || f.Header.OpCode != ws.OpClose {
			t.Fatalf("tunnel %d: got %v, %v; want the Close back", i, f.Header.OpCode, err)
		}
		if code, _ := ws.ParseCloseFrameData(f.Payload); code != msCode {
			t.Fatalf("tunnel %d: Close code %d; want %d", i, code, msCode)
		}
		c.Close()
	}

	// One handshake rejected by the upstream, one failed at the proxy, a
	// plain request failed at the proxy, and a request no route takes.
	for _, x := range []struct{ req, status string }{
		{upgradeRequest("/reject", "example.com"), "403"},
		{upgradeRequest("/down", "example.com"), "50"},
		{"GET /down HTTP/1.1\r\nHost: example.com\r\n\r\n", "50"},
		{"BLAH\r\n\r\n", "400"},
	} {
		c := dialRaw(t, addr)
		writeAll(t, c, x.req)
		head := readHead(t, bufio.NewReader(c))
		if !strings.HasPrefix(head, "HTTP/1.1 "+x.status) {
			t.Fatalf("%q: got %q; want status %s…", x.req, head, x.status)
		}
		c.Close()
	}
}

// settled waits until no connection is open and every tunnel's close was
// counted, and returns the snapshot.
func settled(t *testing.T, srv *core.Server) metrics.Snapshot {
	t.Helper()
	var m metrics.Snapshot
	testutil.Eventually(t, "the counters settled", func() error {
		m = srv.Metrics()
		if cb := m.WebSocket.ClosedBy; m.ConnectionsOpen != 0 || cb.Client+cb.Upstream+cb.Proxy != msTunnels {
			return fmt.Errorf("%d open, %d tunnels closed; want 0 and %d", m.ConnectionsOpen, cb.Client+cb.Upstream+cb.Proxy, msTunnels)
		}
		return nil
	})
	return m
}

// TestMetricsSession checks that the counters equal what a scripted session
// sent, exactly.
func TestMetricsSession(t *testing.T) {
	var logs testutil.Buffer
	srv, addr := metricsProxy(t, "1", &logs)
	// Scrapes while the loops count (for the race detector).
	done, scraped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(scraped)
		for {
			select {
			case <-done:
				return
			default:
				srv.Metrics()
			}
		}
	}()
	runSession(t, addr)
	close(done)
	<-scraped
	m := settled(t, srv)

	const (
		up   = msTunnels * (msMessages*(6+msSize) + 8) // masked: 2+4 header; Close: 2+4+2
		down = msTunnels * (msMessages*(2+msSize) + 4) // unmasked: 2 header; Close: 2+2
	)
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v; want %+v", what, got, want)
		}
	}
	eq("Processes", m.Processes, 1)
	eq("ConnectionsAccepted", m.ConnectionsAccepted, uint64(1+msTunnels+4))
	eq("ConnectionsOpen", m.ConnectionsOpen, int64(0))
	routes := map[string]metrics.RouteMetrics{}
	for _, r := range m.Routes {
		routes[r.Route] = r
	}
	eq("routes", len(routes), 4)
	eq("route /", routes["/"], metrics.RouteMetrics{Route: "/", Upstream: routes["/"].Upstream,
		Requests: metrics.StatusClasses{2: msHTTP}, Handshakes: metrics.Handshakes{Upgraded: msTunnels}})
	eq("route /reject handshakes", routes["/reject"].Handshakes, metrics.Handshakes{Rejected: 1})
	eq("route /down", [2]any{routes["/down"].Requests, routes["/down"].Handshakes},
		[2]any{metrics.StatusClasses{5: 1}, metrics.Handshakes{Failed: 1}})
	eq("unrouted", routes[metrics.UnroutedName].Requests, metrics.StatusClasses{4: 1})
	w := m.WebSocket
	eq("Bytes", w.Bytes, [2]uint64{up, down})
	eq("Messages", w.Messages, [2]uint64{msTunnels * msMessages, msTunnels * msMessages})
	eq("ClosedBy", w.ClosedBy, metrics.ClosedBy{Client: msTunnels})
	eq("CloseCodes", w.CloseCodes, []metrics.CloseCodeCount{{Direction: 0, Code: msCode, Count: msTunnels}, {Direction: 1, Code: msCode, Count: msTunnels}})

	for _, s := range m.Servers {
		switch s.Upstream {
		case routes["/"].Upstream:
			// Tunnels dial; plain requests may reuse a parked connection.
			if n := s.Connect.Count(); n < msTunnels || n > msTunnels+msHTTP {
				t.Errorf("echo server: %d connects; want %d to %d", n, msTunnels, msTunnels+msHTTP)
			}
			eq("echo server Up, ConnectErrors", [2]any{s.Up, s.ConnectErrors}, [2]any{1, uint64(0)})
		case routes["/down"].Upstream:
			if s.ConnectErrors == 0 || s.Up != 0 || s.Connect.Count() != 0 {
				t.Errorf("down server: %+v; want connect errors, no connect, and not up", s)
			}
		}
	}

	// The log: a line per tunnel opened and closed, and the two 5xx.
	lines := logs.JSONLines(t)
	var opened, closed, failed int
	for _, l := range lines {
		switch l["msg"] {
		case "websocket upgraded":
			opened++
			if l["route"] != "/" || l["server"] == nil || l["handshake"] == nil || l["client"] == nil {
				t.Errorf("upgraded line %v: want client, route, server and handshake", l)
			}
		case "websocket closed":
			closed++
			want := map[string]any{"bytes": float64(up / msTunnels), "messages": float64(msMessages), "close": float64(msCode)}
			eq("closed line to_upstream", l["to_upstream"], want)
			eq("closed line closed_by", l["closed_by"], "client")
			if l["duration"] == nil {
				t.Errorf("closed line %v: no duration", l)
			}
		case "request failed":
			failed++
		}
	}
	eq("log lines (upgraded, closed, failed)", [3]int{opened, closed, failed}, [3]int{msTunnels, msTunnels, 2})
}

// TestMetricsLogSample: with log.sample 0 no per-connection line is
// written, but errors still are; the counters do not depend on it.
func TestMetricsLogSample(t *testing.T) {
	var logs testutil.Buffer
	srv, addr := metricsProxy(t, "0", &logs)
	runSession(t, addr)
	m := settled(t, srv)
	if got := m.WebSocket.Messages; got != [2]uint64{msTunnels * msMessages, msTunnels * msMessages} {
		t.Errorf("Messages = %v; want %d each way", got, msTunnels*msMessages)
	}
	var failed int
	for _, l := range logs.JSONLines(t) {
		switch l["msg"] {
		case "websocket upgraded", "websocket closed":
			t.Errorf("sample 0 wrote %v", l)
		case "request failed":
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("%d request failed lines; want 2", failed)
	}
}

// TestMetricsClosedBy: who ended a tunnel, as counted and logged, for each
// way a tunnel ends.
func TestMetricsClosedBy(t *testing.T) {
	backend := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		head, err := acceptWebSocket(c, br, "")
		if err != nil {
			return
		}
		switch {
		case strings.HasPrefix(head, "GET /upclose "):
			c.Write(serverFrame(ws.OpClose, string(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
		case strings.HasPrefix(head, "GET /upeof "):
			return
		}
		io.Copy(io.Discard, br) // until the proxy closes
	})
	var logs testutil.Buffer
	srv, addr := startProxyOpts(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 1
routes:
  - {path: /, upstream: %[1]q}
  - {path: /idle, upstream: %[1]q, websocket: {idle: 200ms}}
`, backend), core.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	tests := []struct {
		path   string
		client func(c net.Conn, br *bufio.Reader) // what the client does
		want   metrics.ClosedBy
		codes  string // "to_upstream/to_client" close codes in the closed line
	}{
		{"/clclose", func(c net.Conn, br *bufio.Reader) {
			c.Write(clientFrame(ws.OpClose, string(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
		}, metrics.ClosedBy{Client: 1}, "1000/"},
		{"/cleof", func(c net.Conn, br *bufio.Reader) {}, metrics.ClosedBy{Client: 1}, "/"},
		{"/upclose", func(c net.Conn, br *bufio.Reader) {
			if f, err := ws.ReadFrame(br); err == nil && f.Header.OpCode == ws.OpClose {
				c.Write(clientFrame(ws.OpClose, string(f.Payload))) // the reply
			}
		}, metrics.ClosedBy{Upstream: 1}, "1000/1000"},
		{"/upeof", func(c net.Conn, br *bufio.Reader) { io.Copy(io.Discard, br) }, metrics.ClosedBy{Upstream: 1}, "/"},
		{"/idle", func(c net.Conn, br *bufio.Reader) { io.Copy(io.Discard, br) }, metrics.ClosedBy{Proxy: 1}, "1001/1001"},
	}
	var before metrics.ClosedBy
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			c, br := rawWebSocket(t, addr, tc.path)
			tc.client(c, br)
			c.Close()
			var got metrics.ClosedBy
			testutil.WaitFor(t, "the tunnel counted as closed", func() bool {
				cb := srv.Metrics().WebSocket.ClosedBy
				got = metrics.ClosedBy{Client: cb.Client - before.Client, Upstream: cb.Upstream - before.Upstream, Proxy: cb.Proxy - before.Proxy}
				if got == (metrics.ClosedBy{}) {
					return false
				}
				before = cb
				return true
			})
			if got != tc.want {
				t.Errorf("closed by %+v; want %+v", got, tc.want)
			}
			var last map[string]any // this tunnel's closed line, written just after the count
			testutil.WaitFor(t, "the tunnel's closed line", func() bool {
				for _, l := range logs.JSONLines(t) {
					if l["msg"] == "websocket closed" && l["client"] == c.LocalAddr().String() {
						last = l
					}
				}
				return last != nil
			})
			code := func(dir string) string {
				if g, ok := last[dir].(map[string]any); ok && g["close"] != nil {
					return fmt.Sprint(g["close"])
				}
				return ""
			}
			if last["msg"] != "websocket closed" || code("to_upstream")+"/"+code("to_client") != tc.codes {
				t.Errorf("last line %v; want websocket closed with codes %s", last, tc.codes)
			}
		})
	}
}
