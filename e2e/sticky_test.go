//go:build linux

package e2e_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// stickyClients is how many Socket.IO clients each case opens, each from
// its own 127.0.0.x address. Under ip_hash, which server an address maps
// to depends on the servers' random ports; with 40 clients all three
// servers get some except with probability 3·(2/3)^40 ≈ 3e-7.
const stickyClients = 40

// stickyParallel is how many cases of TestStickySessions run at once. Each
// runs three Node servers, a driver of stickyClients clients and a proxy:
// all five at once overload a 2-core machine enough for healthy clients to
// time out.
const stickyParallel = 2

// TestStickySessions runs Socket.IO clients through the proxy to three
// Socket.IO servers. Engine.IO keeps a session in the memory of the server
// that issued it, and a client long-polls (several HTTP requests, each
// routed on its own) before it upgrades to WebSocket, so every request of a
// session must reach the same server: the sticky policies must make all
// clients connect, upgrade and echo, while round robin must break most of
// them with "Session ID unknown".
func TestStickySessions(t *testing.T) {
	requireNode(t)
	tests := []struct {
		name    string
		balance string // the upstream's balancing lines, indented by 4
		cookies bool   // clients keep cookies
		sticky  bool   // want every client to succeed; else a clear majority to fail
	}{
		{name: "ip_hash", balance: "balance: ip_hash", sticky: true},
		{name: "cookie", balance: "balance: cookie\n    cookie: {secret: \"e2e-secret-0123456789\"}", cookies: true, sticky: true},
		// With fallback round_robin only the learnt sid keeps a session
		// together; the default fallback, ip_hash, would hide a sid that
		// was never learnt.
		{name: "sid", balance: "balance: sid\n    fallback: round_robin", sticky: true},
		{name: "round_robin", balance: "balance: round_robin"},
		// The cookie policy without a client that keeps cookies is round
		// robin: the cookie case passes because of the cookie.
		{name: "cookie_without_jar", balance: "balance: cookie\n    cookie: {secret: \"e2e-secret-0123456789\"}"},
	}
	slots := make(chan struct{}, stickyParallel)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each case has its own servers and proxy
			slots <- struct{}{}
			// Registered first, so run last: the slot is freed once this
			// case's processes have been killed and waited for.
			t.Cleanup(func() { <-slots })
			servers := startServers(t, 3)
			url := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
upstreams:
  sio:
    %s
    servers:
%sroutes: [{path: /socket.io/, upstream: sio}]
`, tt.balance, serverLines(servers)))
			// A failing client waits out its timeout; the sticky ones
			// finish in about a second, more on a loaded machine.
			timeout := 20 * time.Second
			if !tt.sticky {
				timeout = 4 * time.Second
			}
			results := runClients(t, clientOpts{url: url, clients: stickyClients, cookies: tt.cookies, timeout: timeout})
			ok, perServer := tally(results)
			slowest := 0
			for _, r := range results {
				slowest = max(slowest, r.Ms)
			}
			t.Logf("%s: %d of %d clients connected, upgraded and echoed (slowest client done after %d ms); per server %v",
				tt.name, ok, stickyClients, slowest, perServer)
			if tt.sticky {
				checkSticky(t, results, perServer, len(servers))
				return
			}
			if failed := stickyClients - ok; failed*3 < stickyClients*2 {
				t.Errorf("%d of %d clients failed; want at least two thirds to fail without stickiness", failed, stickyClients)
			}
			unknown := 0
			for _, s := range servers {
				unknown += strings.Count(s.Out.String(), `"Session ID unknown"`)
			}
			t.Logf("%s: the servers rejected %d requests with \"Session ID unknown\"", tt.name, unknown)
			if unknown == 0 {
				t.Errorf("no server logged \"Session ID unknown\"; the clients failed for another reason:\n%s", describe(results))
			}
		})
	}
}

// checkSticky asserts that every client succeeded without an error, from
// its own address on every request, and that all servers took some.
func checkSticky(t *testing.T, results []event, perServer map[string]int, nServers int) {
	t.Helper()
	for _, r := range results {
		switch {
		case !r.OK:
			t.Errorf("client %d (%s) failed: connected=%v upgraded=%v hello=%q server=%q errors=%q",
				r.Client, r.Src, r.Connected, r.Upgraded, r.Hello, r.Server, r.Errors)
		case len(r.Errors) > 0 || len(r.Disconnects) > 0:
			t.Errorf("client %d (%s) succeeded after errors %q, disconnects %q; want none", r.Client, r.Src, r.Errors, r.Disconnects)
		case !slices.Equal(r.Addrs, []string{r.Src}):
			// The server saw X-Real-IP of each request of the session.
			t.Errorf("client %d: server saw requests from %q; want only %s", r.Client, r.Addrs, r.Src)
		}
	}
	if len(perServer) != nServers {
		t.Errorf("clients were served by %v; want all %d servers", perServer, nServers)
	}
}
