package core_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/reload"
	"wsproxy/internal/testutil"
)

// applyYAML parses a configuration for Apply.
func applyYAML(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// wsDial opens a tunnel to url and returns it with the backend's id.
func wsDial(t *testing.T, url string) (*websocket.Conn, string) {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c, resp.Header.Get("X-Echo-Id")
}

// echoOnce sends msg on c and checks that it comes back.
func echoOnce(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	_, p, err := c.ReadMessage()
	if err != nil || string(p) != msg {
		t.Fatalf("echo of %q: got %q, %v", msg, p, err)
	}
}

// serverState returns the state of addr in upstream.
func serverState(t *testing.T, srv *core.Server, upstream, addr string) core.ServerState {
	t.Helper()
	list, err := srv.Servers(upstream)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Addr == addr {
			return s
		}
	}
	t.Fatalf("upstream %s has no server %s: %+v", upstream, addr, list)
	return core.ServerState{}
}

// TestApplyKeepsTunnels applies a configuration that adds a route and an
// upstream, removes a server, raises a server's max_conns and changes a
// timeout, with tunnels open: they go on echoing, the counts of the
// server that stays carry over (least_conn, max_conns), and new requests
// follow the new configuration.
func TestApplyKeepsTunnels(t *testing.T) {
	a, b, c := startEcho(t, "a"), startEcho(t, "b"), startEcho(t, "c")
	v1 := fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
upstreams:
  u:
    balance: least_conn
    servers: [{addr: %q, max_conns: 2}, {addr: %q}]
routes: [{path: /, upstream: u}]
`, a.Addr(), b.Addr())
	srv, addr := startProxy(t, v1)
	var open []*websocket.Conn
	on := map[string]int{}
	for range 4 {
		conn, id := wsDial(t, "ws://"+addr+"/")
		open = append(open, conn)
		on[id]++
	}
	if on["a"] != 2 || on["b"] != 2 {
		t.Fatalf("tunnels by server %v; want 2 on a and 2 on b (least_conn)", on)
	}
	v2 := fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
timeouts: {idle: 10m}
upstreams:
  u:
    balance: least_conn
    servers: [{addr: %q, max_conns: 3}]
  v:
    servers: [{addr: %q}]
routes:
  - {path: /, upstream: u}
  - {path: /new, upstream: v}
`, a.Addr(), c.Addr())
	d, err := srv.Apply(applyYAML(t, v2))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	t.Logf("changes: %v", d.Attrs())
	checks := []struct {
		name      string
		got, want any
	}{
		{"routes added", fmt.Sprint(d.RoutesAdded), "[/new -> v]"},
		{"servers removed", fmt.Sprint(d.ServersRemoved), fmt.Sprintf("[u %s]", b.Addr())},
		{"changed", fmt.Sprint(d.Changed), fmt.Sprintf("[timeouts.idle upstreams.u.servers[%s].max_conns]", a.Addr())},
		{"a's count carried over", serverState(t, srv, "u", a.Addr().String()).Active, 2},
		{"a's tunnels", serverState(t, srv, "u", a.Addr().String()).Tunnels, 2},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s: got %v; want %v", tc.name, tc.got, tc.want)
		}
	}
	for i, conn := range open {
		echoOnce(t, conn, fmt.Sprintf("after apply %d", i))
	}
	if code, body := testutil.Get(t, nil, "http://"+addr+"/new/x"); code != http.StatusOK || decodeReport(t, []byte(body)).ID != "c" {
		t.Errorf("GET /new/x: %d %s; want 200 from c", code, body)
	}
	// a has 2 of its new max_conns 3: one more tunnel fits, the next does not.
	if _, id := wsDial(t, "ws://"+addr+"/"); id != "a" {
		t.Errorf("new tunnel went to %q; want a", id)
	}
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Errorf("tunnel past a's max_conns: status %d, %v; want 503 (its count carried over)", status, err)
	}
	// Closing a tunnel to the removed server b releases its old count and
	// touches nobody else's.
	for _, conn := range open {
		conn.Close()
	}
	for i := range 2 {
		echoOnce(t, mustLast(t, srv, addr), fmt.Sprintf("after close %d", i))
	}
}

// mustLast opens a tunnel once a's count allows it: closed tunnels are
// released by the proxy when it sees them end, which the test cannot
// wait on directly, so it polls the count (no sleep).
func mustLast(t *testing.T, srv *core.Server, addr string) *websocket.Conn {
	t.Helper()
	for range 100000 {
		list, err := srv.Servers("u")
		if err != nil {
			t.Fatal(err)
		}
		if list[0].Active < 3 {
			conn, _ := wsDial(t, "ws://"+addr+"/")
			return conn
		}
	}
	t.Fatal("a's count never dropped below max_conns after closing its tunnels")
	return nil
}

// TestApplyOnRemove: tunnels of a removed server stay with on_remove:
// keep and get Close 1001 with close; the others are not touched.
func TestApplyOnRemove(t *testing.T) {
	for _, mode := range []string{"keep", "close"} {
		t.Run(mode, func(t *testing.T) {
			a, b := startEcho(t, "a"), startEcho(t, "b")
			conf := func(servers string) string {
				return fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  u:
    on_remove: %s
    remove_window: 100ms
    servers: [%s]
routes: [{path: /, upstream: u}]
`, mode, servers)
			}
			srv, addr := startProxy(t, conf(fmt.Sprintf("{addr: %q}, {addr: %q}", a.Addr(), b.Addr())))
			byID := map[string][]*websocket.Conn{}
			for len(byID["a"]) < 2 || len(byID["b"]) < 2 {
				conn, id := wsDial(t, "ws://"+addr+"/")
				byID[id] = append(byID[id], conn)
			}
			if _, err := srv.Apply(applyYAML(t, conf(fmt.Sprintf("{addr: %q}", a.Addr())))); err != nil {
				t.Fatal(err)
			}
			for _, conn := range byID["b"] {
				if mode == "keep" {
					echoOnce(t, conn, "still here")
					continue
				}
				if _, err := awaitGoingAway(t, conn); err != nil {
					t.Errorf("tunnel to the removed server: %v; want Close 1001", err)
				}
			}
			for _, conn := range byID["a"] {
				echoOnce(t, conn, "untouched")
			}
		})
	}
}

// TestApplyRefused: a configuration that needs a new generation, or that
// fails to load, changes nothing.
func TestApplyRefused(t *testing.T) {
	a := startEcho(t, "a")
	base := `
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes: [{path: /, upstream: %q}]
`
	srv, addr := startProxy(t, fmt.Sprintf(base, a.Addr()))
	tests := []struct {
		name    string
		yaml    string
		wantGen bool
	}{
		{"listener added", fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}, {addr: \"127.0.0.1:0\"}]\nloops: 2\nroutes: [{path: /x, upstream: %q}]\n", a.Addr()), true},
		{"loops", fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}]\nloops: 3\nroutes: [{path: /x, upstream: %q}]\n", a.Addr()), true},
		{"workers", fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}]\nloops: 2\nworkers: 2\nroutes: [{path: /x, upstream: %q}]\n", a.Addr()), true},
		{"unresolvable server", "listen: [{addr: \"127.0.0.1:0\"}]\nloops: 2\nroutes: [{path: /x, upstream: \"no-such-host.invalid:80\"}]\n", false},
		{"missing CA file", fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}]\nloops: 2\nupstreams: {t: {servers: [{addr: %q, tls: true, ca_file: /nonexistent.pem}]}}\nroutes: [{path: /x, upstream: t}]\n", a.Addr()), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := srv.Apply(applyYAML(t, tc.yaml))
			var ge *reload.GenerationError
			if err == nil || errors.As(err, &ge) != tc.wantGen {
				t.Fatalf("got %v; want an error (generation %v)", err, tc.wantGen)
			}
			if code, _ := testutil.Get(t, nil, "http://"+addr+"/x"); code != http.StatusOK {
				t.Errorf("GET /x: %d; want 200 from the old route /", code)
			}
		})
	}
}

// TestSetServers changes an upstream's servers in place: a new server
// takes new requests, a removed one none, and the next Apply brings the
// configuration's list back.
func TestSetServers(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	yaml := fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams: {u: {servers: [{addr: %q}]}}
routes: [{path: /, upstream: u}]
`, a.Addr())
	srv, addr := startProxy(t, yaml)
	kept, _ := wsDial(t, "ws://"+addr+"/")
	ids := func() map[string]int {
		m := map[string]int{}
		for range 6 {
			_, body := testutil.Get(t, nil, "http://"+addr+"/")
			m[decodeReport(t, []byte(body)).ID]++
		}
		return m
	}
	steps := []struct {
		name    string
		servers []config.Server
		apply   bool
		want    map[string]int
	}{
		{"add b", []config.Server{{Addr: a.Addr().String()}, {Addr: b.Addr().String()}}, false, map[string]int{"a": 3, "b": 3}},
		{"remove a", []config.Server{{Addr: b.Addr().String()}}, false, map[string]int{"b": 6}},
		{"reload brings a back", nil, true, map[string]int{"a": 6}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var err error
			if st.apply {
				_, err = srv.Apply(applyYAML(t, yaml))
			} else {
				err = srv.SetServers("u", st.servers)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(); fmt.Sprint(got) != fmt.Sprint(st.want) {
				t.Errorf("requests by server %v; want %v", got, st.want)
			}
			echoOnce(t, kept, st.name)
		})
	}
	if err := srv.SetServers("nope", nil); err == nil {
		t.Error("SetServers of an unknown upstream: nil error")
	}
	if err := srv.SetServers("u", nil); err == nil {
		t.Error("SetServers with no servers: nil error")
	}
}
