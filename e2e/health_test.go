//go:build linux

package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// healthTimeout is the active check's probe timeout. A stopped server
// fails its probe after it, so the proxy takes it out about
// healthTimeout+200ms after the stop, well within the 15 s the test waits;
// a healthy Node server slowed by a loaded machine must answer within it,
// or it too would be taken out and its clients moved.
const healthTimeout = 3 * time.Second

// TestFailoverActiveHealthCheck stops (SIGSTOP) one of three Socket.IO
// servers under ip_hash with the passive checks off. A stopped server still
// completes TCP handshakes from its listen backlog, so connecting to it
// succeeds and only the active check (GET /healthz with a timeout) can take
// it out: the proxy must stop sending its clients there, and send them back
// once it runs again (SIGCONT).
func TestFailoverActiveHealthCheck(t *testing.T) {
	requireNode(t)
	servers := startServers(t, 3)
	url := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
upstreams:
  sio:
    balance: ip_hash
    max_fails: -1
    health_check: {path: /healthz, interval: 200ms, timeout: %v}
    servers:
%sroutes: [{path: /socket.io/, upstream: sio}]
`, healthTimeout, serverLines(servers)))

	results := runClients(t, clientOpts{url: url, clients: failoverClients})
	_, perServer := tally(results)
	checkSticky(t, results, perServer, len(servers))
	if t.Failed() {
		t.FailNow()
	}
	victim := servers[0]
	for _, s := range servers {
		if perServer[s.id] > perServer[victim.id] {
			victim = s
		}
	}
	var probe event // a client of the victim, to probe from its address
	for _, r := range results {
		if r.Server == victim.id {
			probe = r
			break
		}
	}

	stoppedAt := time.Now()
	victim.SignalGroup(t, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(-victim.Pid(), syscall.SIGCONT) })
	got := waitHandshake(t, url, probe.Src, func(id string) bool { return id != "" && id != victim.id }, stoppedAt.Add(15*time.Second))
	t.Logf("stopped %s (%d clients): %s's handshakes go to %s after %v",
		victim.id, perServer[victim.id], probe.Src, got, time.Since(stoppedAt).Round(time.Millisecond))

	moved := runClients(t, clientOpts{url: url, clients: failoverClients})
	_, after := tally(moved)
	for i, r := range moved {
		switch was := results[i].Server; {
		case !r.OK || len(r.Errors) > 0:
			t.Errorf("while %s is stopped, client %d (%s) failed: server %q, errors %q", victim.id, i, r.Src, r.Server, r.Errors)
		case was == victim.id && r.Server == victim.id:
			t.Errorf("client %d (%s) still served by stopped %s", i, r.Src, victim.id)
		case was != victim.id && r.Server != was:
			t.Errorf("client %d (%s) moved from %s to %s; only %s's clients should move", i, r.Src, was, r.Server, victim.id)
		}
	}
	t.Logf("while %s is stopped: per server %v", victim.id, after)

	resumedAt := time.Now()
	victim.SignalGroup(t, syscall.SIGCONT)
	waitHandshake(t, url, probe.Src, func(id string) bool { return id == victim.id }, resumedAt.Add(15*time.Second))
	t.Logf("resumed %s: %s's handshakes are back after %v", victim.id, probe.Src, time.Since(resumedAt).Round(time.Millisecond))
}

// waitHandshake opens Engine.IO handshakes (a polling GET without sid)
// through the proxy at url from the address src until the X-Server-Id of
// the answer satisfies want, and returns it. A handshake that a stopped
// server never answers is abandoned after a short timeout.
func waitHandshake(t *testing.T, url, src string, want func(id string) bool, deadline time.Time) string {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{
		DialContext:       func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		DisableKeepAlives: true,
	}}
	var last string
	for time.Now().Before(deadline) {
		resp, err := c.Get(url + "/socket.io/?EIO=4&transport=polling")
		if err != nil {
			last = err.Error()
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("X-Server-Id")
		if resp.StatusCode == http.StatusOK && want(id) {
			return id
		}
		last = fmt.Sprintf("%s from %q", resp.Status, id)
		time.Sleep(50 * time.Millisecond) // pacing of the poll, not synchronisation
	}
	t.Fatalf("handshakes from %s: none as wanted before the deadline; last: %s", src, last)
	return ""
}
