//go:build linux

package e2e_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// failoverClients is how many clients the failover tests hold open. The
// tests need every server to get some under ip_hash, whose mapping of
// addresses depends on the servers' random ports: with 40 clients that
// fails with probability 3·(2/3)^40 ≈ 3e-7.
const failoverClients = 40

// failTimeout is the upstream's fail_timeout in the passive failover test.
const failTimeout = 2 * time.Second

// failoverBound is how long after the kill every client of the killed
// server must have reconnected elsewhere, upgraded and echoed. It takes
// about 0.3 s: the clients retry after 100 to 500 ms (clients.js).
const failoverBound = 10 * time.Second

// TestFailoverPassive kills one of three Socket.IO servers under clients
// pinned by ip_hash. The proxy closes the tunnels of the dead server's
// clients; Socket.IO reconnects them and the proxy, seeing the refused
// connect (max_fails 1), sends them to the other servers within a bounded
// time, while no client of a surviving server notices anything. Once
// fail_timeout has passed, the dead server is tried again, refuses again,
// and new clients from the same addresses still land where the reconnected
// ones did.
func TestFailoverPassive(t *testing.T) {
	requireNode(t)
	servers := startServers(t, 3)
	url := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
upstreams:
  sio:
    balance: ip_hash
    max_fails: 1
    fail_timeout: %v
    servers:
%sroutes: [{path: /socket.io/, upstream: sio}]
`, failTimeout, serverLines(servers)))

	p, results := startClients(t, clientOpts{url: url, clients: failoverClients, hold: true, reconnect: true})
	_, perServer := tally(results)
	checkSticky(t, results, perServer, len(servers))
	if t.Failed() {
		t.FailNow()
	}
	first := make([]string, failoverClients) // each client's server before the kill
	for _, r := range results {
		first[r.Client] = r.Server
	}
	victim := servers[0]
	for _, s := range servers {
		if perServer[s.id] > perServer[victim.id] {
			victim = s
		}
	}
	t.Logf("before the kill: per server %v; killing %s", perServer, victim.id)

	killedAt := time.Now()
	victim.Kill()
	moved := waitReconnected(t, p, first, victim.id, killedAt.Add(failoverBound))
	took := time.Since(killedAt)
	slowest := 0
	for _, ev := range moved {
		slowest = max(slowest, ev.Ms)
	}
	_, after := tally(slices.Collect(maps.Values(moved)))
	t.Logf("%d clients of %s reconnected, upgraded and echoed on %v within %v of the kill (slowest %d ms after its disconnect)",
		len(moved), victim.id, after, took.Round(time.Millisecond), slowest)

	// Every client echoes once more: the moved ones on their new server,
	// the others on their first.
	want := slices.Clone(first)
	for c, ev := range moved {
		want[c] = ev.Server
	}
	p.send(t, "echo")
	checkEchoes(t, p, want, time.Now().Add(15*time.Second))

	p.stdin.Close()
	final := readUntil(t, p, "final", time.Now().Add(15*time.Second), first, victim.id)
	for _, c := range final.Clients {
		_, wasMoved := moved[c.Client]
		switch {
		case !wasMoved && (len(c.Disconnects) > 0 || c.Connects != 1):
			t.Errorf("client %d of surviving %s: %d connects, disconnects %q; want 1 and none", c.Client, first[c.Client], c.Connects, c.Disconnects)
		case wasMoved && (len(c.Disconnects) != 1 || c.Connects != 2):
			t.Errorf("client %d of %s: %d connects, disconnects %q; want 2 and one", c.Client, victim.id, c.Connects, c.Disconnects)
		}
	}

	// The dead server is candidate again once fail_timeout has passed
	// since the failure that marked it down: waiting for that is waiting
	// for the proxy's clock, not for an event to synchronise with.
	time.Sleep(time.Until(killedAt.Add(failTimeout + 200*time.Millisecond)))
	late := runClients(t, clientOpts{url: url, clients: failoverClients})
	for _, r := range late {
		if !r.OK || r.Server != want[r.Client] || len(r.Errors) > 0 {
			t.Errorf("after fail_timeout, client %d (%s): ok=%v on %q, errors %q; want ok on %s",
				r.Client, r.Src, r.OK, r.Server, r.Errors, want[r.Client])
		}
	}
}

// waitReconnected reads the driver's events until every client whose
// server was victim has reconnected elsewhere and echoed, failing the test
// if any other client disconnects meanwhile. It returns the reconnect
// events by client.
func waitReconnected(t *testing.T, p *proc, first []string, victim string, deadline time.Time) map[int]event {
	t.Helper()
	pending := 0
	for _, s := range first {
		if s == victim {
			pending++
		}
	}
	moved := map[int]event{}
	for len(moved) < pending {
		ev := readEvent(t, p, deadline)
		onVictim := first[ev.Client] == victim
		switch ev.Event {
		case "disconnect":
			if !onVictim {
				t.Errorf("client %d of surviving %s disconnected: %s", ev.Client, first[ev.Client], ev.Reason)
			} else if ev.Reason != "transport close" {
				// "ping timeout" would mean the proxy kept the client's
				// tunnel open after its server died.
				t.Errorf("client %d of %s disconnected with %q; want \"transport close\"", ev.Client, victim, ev.Reason)
			}
		case "connect_error":
			t.Logf("client %d: connect_error while reconnecting: %s", ev.Client, ev.Message)
		case "reconnect":
			switch {
			case !onVictim:
				t.Errorf("client %d of surviving %s reconnected", ev.Client, first[ev.Client])
			case ev.Error != "" || ev.Server == "" || ev.Server == victim:
				t.Fatalf("client %d reconnected to %q, error %q; want a surviving server", ev.Client, ev.Server, ev.Error)
			}
			ev.OK = true
			moved[ev.Client] = ev
		}
	}
	return moved
}

// checkEchoes reads the answers to an "echo" command: every client must
// answer from want[client].
func checkEchoes(t *testing.T, p *proc, want []string, deadline time.Time) {
	t.Helper()
	seen := 0
	for {
		ev := readEvent(t, p, deadline)
		switch ev.Event {
		case "echoed":
			seen++
			if ev.Error != "" || ev.Server != want[ev.Client] {
				t.Errorf("echo of client %d: from %q, error %q; want from %s", ev.Client, ev.Server, ev.Error, want[ev.Client])
			}
		case "echo_done":
			if seen != len(want) {
				t.Errorf("%d clients echoed; want all %d", seen, len(want))
			}
			return
		case "disconnect", "connect_error", "reconnect":
			t.Errorf("client %d on %s: unexpected %s %s%s", ev.Client, want[ev.Client], ev.Event, ev.Reason, ev.Message)
		}
	}
}

// readUntil reads events up to the first one named name, failing the test
// on any disconnect, connect_error or reconnect on the way.
func readUntil(t *testing.T, p *proc, name string, deadline time.Time, first []string, victim string) event {
	t.Helper()
	for {
		ev := readEvent(t, p, deadline)
		switch ev.Event {
		case name:
			return ev
		case "disconnect", "connect_error", "reconnect":
			t.Errorf("client %d (first on %s, killed %s): unexpected %s %s%s", ev.Client, first[ev.Client], victim, ev.Event, ev.Reason, ev.Message)
		}
	}
}
