package core

import (
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"
	"wsproxy/internal/testutil"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/config"
	"wsproxy/core/metrics"
	"wsproxy/internal/handover"
	"wsproxy/internal/tlsloop"
	"wsproxy/internal/wspolicy"
)

func TestHandoverCheck(t *testing.T) {
	tests := []struct {
		name string
		set  func(c *conn)
		want handoverCheck
	}{
		{"plain tunnel at a boundary", func(c *conn) {}, hoNow},
		{"inside a fragmented message", func(c *conn) { c.dir[0].flags |= dsFragmented | dsBulk | dsControl }, hoNow},
		{"HTTP between requests", func(c *conn) { c.st = stHead }, hoStays},
		{"HTTP request in flight", func(c *conn) { c.st = stWait }, hoStays},
		{"handshake in flight", func(c *conn) { c.st, c.flags = stWait, cfUpgrade }, hoLater},
		{"TLS client", func(c *conn) { c.cl.tls = &tlsloop.Conn{} }, hoStays},
		{"TLS upstream", func(c *conn) { c.up.tls = &tlsloop.Conn{} }, hoStays},
		{"going away", func(c *conn) { c.flags |= cfGoingAway }, hoStays},
		{"a Close passed", func(c *conn) { c.obs.code[1] = 1000 }, hoStays},
		{"Close pending", func(c *conn) { c.dir[1].flags |= dsClosePending }, hoStays},
		{"client ended", func(c *conn) { c.cl.flags |= epEOF }, hoStays},
		{"upstream half-closed", func(c *conn) { c.up.flags |= epShutWrite }, hoStays},
		{"inside a frame", func(c *conn) {
			h := codec.AppendFrameHeader(nil, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 10})
			c.scan[1].Scan(h)
		}, hoLater},
		{"header held", func(c *conn) { c.scan[0].Scan([]byte{0x82}) }, hoLater},
		{"Pong swallowed", func(c *conn) { c.dir[0].flags |= dsSkip }, hoLater},
		{"output queued", func(c *conn) { c.cl.Queue([]byte("x")) }, hoLater},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{st: stTunnel}
			c.up = &endpoint{c: c, flags: epIsUpstream}
			c.cl.c = c
			tc.set(c)
			defer c.cl.Release()
			if got := c.handoverCheck(); got != tc.want {
				t.Fatalf("got %d; want %d", got, tc.want)
			}
		})
	}
}

// Within the process a TLS tunnel may change loops, but not before its
// handshake is over (tlsloop.Conn.Movable; TestTunnelsGatherAndSpread
// moves established ones).
func TestTunnelCheckTLSMoves(t *testing.T) {
	for _, side := range []string{"client", "upstream"} {
		c := &conn{st: stTunnel}
		c.up = &endpoint{c: c, flags: epIsUpstream}
		c.cl.c = c
		e := &c.cl
		if side == "upstream" {
			e = c.up
		}
		e.tls = &tlsloop.Conn{} // Idle: no handshake yet
		if got := c.tunnelCheck(true); got != hoLater {
			t.Errorf("%s TLS, handshake not done, between loops: got %d; want %d", side, got, hoLater)
		}
		if got := c.tunnelCheck(false); got != hoStays {
			t.Errorf("%s TLS, to another process: got %d; want %d", side, got, hoStays)
		}
	}
}

// handoverServer starts a Server for the internal tests, with route "/" to
// upstream "u" and the websocket section ws.
func handoverServer(t *testing.T, ws string) *Server {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
upstreams:
  u: {servers: [{addr: "127.0.0.1:1"}]}
routes:
  - path: /
    upstream: u
    websocket: %s
`, ws)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// socketTunnel returns a Tunnel with st whose descriptors are ends of
// socket pairs; the other ends are closed at cleanup.
func socketTunnel(t *testing.T, st handover.State) handover.Tunnel {
	t.Helper()
	tn := handover.Tunnel{State: st}
	for _, fd := range []*int{&tn.ClientFD, &tn.UpstreamFD} {
		fds, err := testutil.StreamPair(true)
		if err != nil {
			t.Fatal(err)
		}
		*fd = fds[0]
		peer := fds[1]
		t.Cleanup(func() { unix.Close(peer) })
	}
	return tn
}

// TestHandoverRestore imports a tunnel into a Server, checks the state it
// restored on the loop (idle and ping times counted back from now, the
// relay's state, the counters, the server's count) and exports it again:
// the same state comes out, its times grown by no more than the time the
// test took.
func TestHandoverRestore(t *testing.T) {
	s := handoverServer(t, "{ping: {interval: 30s, timeout: 10s, peers: both}, max_message: 1000000}")
	st := handover.State{
		Peer:  netip.MustParseAddrPort("192.0.2.1:4000"),
		Route: "/", Upstream: "u", Server: "127.0.0.1:1",
		Deflate: true, Logged: true,
		Dir:  [2]handover.Dir{{Fragmented: true, MessageLen: 5000}, {Bulk: true}},
		Idle: 3 * time.Second, Age: time.Hour,
		Ping: handover.Ping{On: true, Heard: [2]time.Duration{2 * time.Second, time.Second},
			Waiting: [2]bool{true, false}, Sent: [2]time.Duration{500 * time.Millisecond, 0}},
		Bytes: [2]uint64{100, 200}, Messages: [2]uint32{3, 4},
	}
	st.Policy = (&wspolicy.Policy{Check: true, Splice: true, MaxMessage: 1000000,
		Ping: &wspolicy.Ping{Interval: 30 * time.Second, Timeout: 10 * time.Second, Peers: [2]bool{true, true}}}).Handover()
	start := time.Now()
	if n := s.ImportTunnels([]handover.Tunnel{socketTunnel(t, st)}); n != 1 {
		t.Fatalf("ImportTunnels: got %d; want 1", n)
	}
	srv := s.cur.Load().ups["u"].members().list[0]
	if got := srv.b.Active(); got != 1 {
		t.Errorf("server's active count: got %d; want 1", got)
	}
	if got := s.Open(); got != 1 {
		t.Errorf("Open: got %d; want 1", got)
	}
	var checked bool
	s.each(func(l *Loop) {
		l.eachConn(func(c *conn) {
			checked = true
			now := l.Now.UnixNano()
			if c.st != stTunnel || c.flags&cfExtDeflate == 0 || c.rt.name != "/" || c.up.srv != srv || c.peer() != st.Peer {
				t.Errorf("conn: state %v, flags %b, route %q, server %v, peer %v", c.st, c.flags, c.rt.name, c.up.srv.name, c.peer())
			}
			if c.dir[0].msgLen != 5000 || c.dir[0].flags&dsFragmented == 0 || c.dir[1].flags&dsBulk == 0 {
				t.Errorf("dir: got %+v; want the state's", c.dir)
			}
			if idle := time.Duration(now - c.active); idle < st.Idle {
				t.Errorf("idle: got %v; want at least %v", idle, st.Idle)
			}
			if p := c.ping; p == nil || p.sent[1] != 0 || time.Duration(now-p.sent[0]) < 500*time.Millisecond ||
				time.Duration(now-p.lastHeard[0]) < 2*time.Second {
				t.Errorf("ping state: got %+v", p)
			}
		})
	})
	if !checked {
		t.Fatal("no connection on the loops after the import")
	}
	ts, waiting := s.ExportTunnels(10)
	elapsed := time.Since(start)
	if len(ts) != 1 || waiting != 0 {
		t.Fatalf("ExportTunnels: got %d tunnels, %d waiting; want 1, 0", len(ts), waiting)
	}
	defer ts[0].Close()
	got := ts[0].State
	for _, d := range []struct {
		name      string
		got, want *time.Duration
	}{
		{"Idle", &got.Idle, &st.Idle}, {"Age", &got.Age, &st.Age},
		{"Heard[0]", &got.Ping.Heard[0], &st.Ping.Heard[0]}, {"Heard[1]", &got.Ping.Heard[1], &st.Ping.Heard[1]},
		{"Sent[0]", &got.Ping.Sent[0], &st.Ping.Sent[0]},
	} {
		if *d.got < *d.want || *d.got > *d.want+elapsed {
			t.Errorf("%s: got %v; want %v to %v", d.name, *d.got, *d.want, *d.want+elapsed)
		}
		*d.got = *d.want
	}
	if !reflect.DeepEqual(got, st) {
		t.Errorf("exported again: got %+v; want %+v", got, st)
	}
	if n := srv.b.Active(); n != 0 || s.Open() != 0 {
		t.Errorf("after the export: server's count %d, open %d; want 0, 0", n, s.Open())
	}
}

// TestHandoverDetached imports a tunnel whose route, upstream and server
// the Server's configuration does not have: it runs under the policy it
// brought, counted under its old route name.
func TestHandoverDetached(t *testing.T) {
	s := handoverServer(t, "{}")
	st := handover.State{Route: "gone.example/ws", Upstream: "gone", Server: "10.9.9.9:1",
		Policy: handover.Policy{Check: true, MaxFrame: 77, PingPeers: 1, PingInterval: time.Minute, PingTimeout: time.Second}}
	var tns []handover.Tunnel
	for range 2 {
		tns = append(tns, socketTunnel(t, st))
	}
	if n := s.ImportTunnels(tns); n != 2 {
		t.Fatalf("ImportTunnels: got %d; want 2", n)
	}
	m := s.Metrics()
	if i := slices.IndexFunc(m.Routes, func(r metrics.RouteMetrics) bool { return r.Route == st.Route }); i < 0 || m.Routes[i].TunnelsOpen != 2 {
		t.Errorf("routes: got %+v; want %q with 2 tunnels open", m.Routes, st.Route)
	}
	srv := s.detached.servers[[2]string{"gone", "10.9.9.9:1"}]
	if srv == nil || srv.b.Active() != 2 {
		t.Fatalf("detached server: got %+v; want one counting 2 tunnels", srv)
	}
	if rt := s.detached.routes["gone.example/ws"]; rt == nil || rt.ws.MaxFrame != 77 || rt.ws.Ping == nil || !rt.ws.Ping.Peers[0] {
		t.Fatalf("detached route: got %+v; want the state's policy", rt)
	}
	ts, _ := s.ExportTunnels(10)
	for i := range ts {
		ts[i].Close()
		if ts[i].Route != st.Route || ts[i].Upstream != st.Upstream || ts[i].Server != st.Server {
			t.Errorf("exported again: got %q %q %q; want the names it came with", ts[i].Route, ts[i].Upstream, ts[i].Server)
		}
	}
	if len(ts) != 2 || srv.b.Active() != 0 {
		t.Errorf("exported %d tunnels, server's count %d; want 2, 0", len(ts), srv.b.Active())
	}
}
