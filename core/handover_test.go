package core_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"wsproxy/core"
	"wsproxy/core/metrics"
	"wsproxy/internal/handover"
	"wsproxy/internal/wsseq"
)

// handoverPair returns the two ends of a hand-over connection.
func handoverPair(t *testing.T) (send, recv *handover.Conn) {
	t.Helper()
	a, b, err := handover.Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	for _, p := range []struct {
		f *os.File
		c **handover.Conn
	}{{a, &send}, {b, &recv}} {
		c, err := handover.NewConn(p.f)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(testDeadline))
		t.Cleanup(func() { c.Close() })
		*p.c = c
	}
	return send, recv
}

// handOver moves every tunnel of from to to, as an old and a new worker
// do, and returns what the sender reports.
func handOver(t *testing.T, from, to *core.Server) handover.Sent {
	t.Helper()
	cs, cr := handoverPair(t)
	type result struct {
		r   handover.Received
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := handover.Receive(cr, to, func() int { return handover.Room(256) })
		done <- result{r, err}
	}()
	sent, err := handover.Send(cs, from, testDeadline/2)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r := <-done; r.err != nil || r.r.Imported != sent.HandedOver {
		t.Fatalf("Receive: got %+v, %v; want %d imported", r.r, r.err, sent.HandedOver)
	}
	return sent
}

// finishClients stops the pumping clients (each waits for its last echo),
// completes the fragmented ones' open messages and has each of those send
// five more, and waits for their echoes.
func finishClients(t *testing.T, pumping, fragmented []*wsseq.Client) {
	t.Helper()
	for _, cl := range pumping {
		if err := cl.Stop(testDeadline); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]uint64, len(fragmented))
	for i, cl := range fragmented {
		want[i] = cl.Echoed() + 5
		if err := cl.CloseFragment(testDeadline); err != nil {
			t.Fatal(err)
		}
		if err := cl.Send(5); err != nil {
			t.Fatal(err)
		}
	}
	for i, cl := range fragmented {
		if err := cl.Wait(want[i], testDeadline); err != nil {
			t.Fatal(err)
		}
	}
}

func tunnelsOpen(m metrics.Snapshot) int64 {
	var n int64
	for _, r := range m.Routes {
		n += r.TunnelsOpen
	}
	return n
}

// TestHandoverInProcess moves live tunnels from one Server to another in
// the same process, as a worker hands them to the next generation: clients
// keep sending numbered messages through the echo backend while it
// happens, and a quarter of them leave a fragmented message open across
// it. None sees a Close or a message lost, repeated or reordered, the
// fragmented messages complete (check_frames would close a continuation
// the new Server did not expect), and the new Server's Pings reach every
// client.
func TestHandoverInProcess(t *testing.T) {
	e := startEcho(t, "e1")
	cfg := fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - path: /
    upstream: %q
    websocket:
      ping: {interval: 100ms, timeout: 10s, peers: client}
`, e.Addr().String())
	a, addr := startProxy(t, cfg)
	b, _ := startProxy(t, cfg)

	const n = 48
	deadline := time.Now().Add(3 * testDeadline) // a hang guard: the waits below have their own
	var pumping, fragmented []*wsseq.Client
	for i := range n {
		cl, err := wsseq.Dial(addr, "/", i, deadline)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		if i%4 == 0 {
			if err := cl.OpenFragment(testDeadline); err != nil {
				t.Fatal(err)
			}
			fragmented = append(fragmented, cl)
			continue
		}
		cl.Pump(2, 10*time.Millisecond)
		pumping = append(pumping, cl)
	}
	for _, cl := range pumping {
		if err := cl.Wait(10, testDeadline); err != nil { // traffic flows both ways
			t.Fatal(err)
		}
	}

	sent := handOver(t, a, b)
	if want := (handover.Sent{HandedOver: n}); sent != want {
		t.Fatalf("Send: got %+v; want %+v", sent, want)
	}
	if got := a.Open(); got != 0 {
		t.Errorf("old server: %d connections open; want 0", got)
	}
	if got := b.Open(); got != n {
		t.Errorf("new server: %d connections open; want %d", got, n)
	}

	// Every Ping from now on comes from the new server.
	all := append(append([]*wsseq.Client(nil), pumping...), fragmented...)
	pings := make([]uint64, len(all))
	for i, cl := range all {
		pings[i] = cl.Pings()
	}
	echoes := make([]uint64, len(pumping))
	for i, cl := range pumping {
		echoes[i] = cl.Echoed() + 10
	}
	for i, cl := range pumping {
		if err := cl.Wait(echoes[i], testDeadline); err != nil {
			t.Fatal(err)
		}
	}
	finishClients(t, pumping, fragmented)
	for i, cl := range all {
		if err := cl.WaitPings(pings[i]+1, testDeadline); err != nil {
			t.Fatal(err)
		}
	}

	ma, mb := a.Metrics(), b.Metrics()
	if ma.WebSocket.ClosedBy != (metrics.ClosedBy{}) {
		t.Errorf("old server closed tunnels: %+v; want none", ma.WebSocket.ClosedBy)
	}
	if got := tunnelsOpen(ma); got != 0 {
		t.Errorf("old server: %d tunnels open in the metrics; want 0", got)
	}
	if got := tunnelsOpen(mb); got != n {
		t.Errorf("new server: %d tunnels open in the metrics; want %d", got, n)
	}
}
