package core_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"wsproxy/core"
	"wsproxy/core/metrics"
	"wsproxy/internal/testcert"
	"wsproxy/internal/wsseq"
)

// waitLoops polls s's loops until ok accepts how many tunnels of route
// "/" each holds, and fails the test at testDeadline.
func waitLoops(t *testing.T, s *core.Server, what string, ok func(per []int) bool) []int {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for {
		per := core.TunnelsPerLoop(s, "/")
		if ok(per) {
			return per
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: tunnels per loop %v", what, per)
		}
		time.Sleep(5 * time.Millisecond) // a poll of the loops' state, not a timing assumption
	}
}

// The routes of TestTunnelsGatherAndSpread: "/" pings its clients, and
// /quiet carries tunnels that never relay a byte.
const gatherRoutes = `
routes:
  - path: /quiet
    upstream: %[1]q
  - path: /
    upstream: %[1]q
    websocket:
      ping: {interval: 100ms, timeout: 10s, peers: client}
`

// TestTunnelsGatherAndSpread moves live tunnels between a Server's loops
// as the procs governor would (SetProcs): on one P the second loop hands
// every busy tunnel to the first, at its next frame boundary; with the Ps
// back the first hands half of them back. Clients keep sending numbered
// messages through the echo backend throughout, every sixteenth of them
// 128 KiB, a quarter of the clients with a fragmented message left open
// across both moves, and the proxy pings the idle ones. None sees a
// Close, a message lost, repeated or reordered (wsseq checks), the
// fragmented messages complete, the Pings keep coming (the timers
// moved), and the metrics count every tunnel once. Tunnels that never
// carried a byte stay where they are, and none moves while moves are
// held. A sweep hands over five at a time, so it goes on over several loop cycles. The same over TLS:
// crypto/tls's state moves with the tunnel.
func TestTunnelsGatherAndSpread(t *testing.T) {
	t.Cleanup(core.SetMoveChunk(5))
	t.Run("plain", func(t *testing.T) {
		e := startEcho(t, "e1")
		srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2`+gatherRoutes, e.Addr().String()))
		gatherAndSpread(t, srv, func(path string, i int, deadline time.Time) (*wsseq.Client, error) {
			return wsseq.Dial(addr, path, i, deadline)
		})
	})
	t.Run("tls", func(t *testing.T) {
		dir := t.TempDir()
		cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
		e := startEcho(t, "e1")
		srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0", tls: {cert: %q, key: %q}}]
loops: 2`, cert, key)+fmt.Sprintf(gatherRoutes, e.Addr().String()))
		gatherAndSpread(t, srv, func(path string, i int, deadline time.Time) (*wsseq.Client, error) {
			c, err := tls.DialWithDialer(&net.Dialer{Deadline: deadline}, "tcp", addr, clientTLS("ws.example.com"))
			if err != nil {
				return nil, err
			}
			return wsseq.Open(c, path, i, deadline)
		})
	})
}

func gatherAndSpread(t *testing.T, srv *core.Server, dial func(path string, i int, deadline time.Time) (*wsseq.Client, error)) {
	const n, silent = 48, 8
	deadline := time.Now().Add(3 * testDeadline) // a hang guard: the waits below have their own
	var pumping, fragmented []*wsseq.Client
	for i := range n + silent {
		path := "/"
		if i >= n {
			path = "/quiet"
		}
		cl, err := dial(path, i, deadline)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		switch {
		case i >= n: // silent
		case i%4 == 0: // busy enough to move first (core's moveMessages), then idle
			if err := cl.Send(8); err != nil {
				t.Fatal(err)
			}
			if err := cl.Wait(8, testDeadline); err != nil {
				t.Fatal(err)
			}
			if err := cl.OpenFragment(testDeadline); err != nil {
				t.Fatal(err)
			}
			fragmented = append(fragmented, cl)
		default:
			cl.Pump(2, 10*time.Millisecond)
			pumping = append(pumping, cl)
		}
	}
	flowing := func(what string) { // every client, counted from now
		t.Helper()
		echoes, pings := make([]uint64, len(pumping)), make([]uint64, len(fragmented))
		for i, cl := range pumping {
			echoes[i] = cl.Echoed() + 5
		}
		for i, cl := range fragmented { // the proxy pings a peer it has not heard from
			pings[i] = cl.Pings() + 1
		}
		for i, cl := range pumping {
			if err := cl.Wait(echoes[i], testDeadline); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		for i, cl := range fragmented {
			if err := cl.WaitPings(pings[i], testDeadline); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
	}
	flowing("before")
	before := waitLoops(t, srv, "all up", func(per []int) bool { return per[0]+per[1] == n })
	quiet := core.TunnelsPerLoop(srv, "/quiet")
	t.Logf("tunnels per loop at the start: %v, and %v silent", before, quiet)
	if quiet[0]+quiet[1] != silent {
		t.Fatalf("silent tunnels per loop: %v; want %d in all", quiet, silent)
	}

	// Held (a drained server's closes hold them: spreadGoingAway), none
	// moves; once released, the second loop's housekeeper starts the
	// gather within a second.
	release := core.HoldMoves(srv)
	srv.SetProcs(1)
	if got := core.TunnelsPerLoop(srv, "/"); !slices.Equal(got, before) || srv.Stats().Moved != 0 {
		t.Errorf("held: tunnels per loop %v, %d moved; want them where they were, %v", got, srv.Stats().Moved, before)
	}
	release()
	waitLoops(t, srv, "gathered", func(per []int) bool { return per[0] == n })
	if got := srv.Stats().Moved; got < uint64(before[1]) {
		t.Errorf("moved %d tunnels; want at least the %d of the second loop", got, before[1])
	}
	flowing("gathered")

	moved := srv.Stats().Moved
	srv.SetProcs(3)
	for deadline := time.Now().Add(testDeadline); core.Spreading(srv); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the spread did not end")
		}
	}
	per := core.TunnelsPerLoop(srv, "/") // after every hand-over has arrived: it queues behind them
	if per[0]+per[1] != n || per[1] == 0 {
		t.Errorf("tunnels per loop after the spread: %v; want %d in all, some on the second loop", per, n)
	}
	if got := srv.Stats().Moved; got <= moved {
		t.Errorf("moved %d tunnels before the spread and %d after; want more", moved, got)
	}
	t.Logf("tunnels per loop after the spread: %v", per)
	if got := core.TunnelsPerLoop(srv, "/quiet"); !slices.Equal(got, quiet) {
		t.Errorf("silent tunnels per loop: %v after both moves; want them where they were, %v", got, quiet)
	}
	flowing("spread")

	finishClients(t, pumping, fragmented)
	m := srv.Metrics()
	if got, want := m.TunnelsMoved, srv.Stats().Moved; got != want || got == 0 {
		t.Errorf("metrics: %d tunnels moved; want %d (Stats), not 0", got, want)
	}
	if m.WebSocket.ClosedBy != (metrics.ClosedBy{}) {
		t.Errorf("tunnels closed: %+v; want none", m.WebSocket.ClosedBy)
	}
	if got := tunnelsOpen(m); got != n+silent {
		t.Errorf("%d tunnels open in the metrics; want %d", got, n+silent)
	}
	if got := srv.Open(); got != n+silent {
		t.Errorf("%d connections open; want %d", got, n+silent)
	}
}
