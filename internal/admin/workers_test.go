package admin

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"wsproxy/core/metrics"
	"wsproxy/internal/testutil"
)

// fakeWorker serves snapshots of a counter the test moves.
type fakeWorker struct {
	accepted atomic.Uint64
	open     atomic.Int64
}

func (f *fakeWorker) snapshot() metrics.Snapshot {
	return metrics.Snapshot{
		Processes:           1,
		ConnectionsAccepted: f.accepted.Load(),
		ConnectionsOpen:     f.open.Load(),
		Routes:              []metrics.RouteMetrics{{Route: "/", Upstream: "u", Handshakes: metrics.Handshakes{Upgraded: f.accepted.Load()}, TunnelsOpen: f.open.Load()}},
	}
}

func serveFake(t *testing.T, dir, name string, accepted uint64, open int64) (*fakeWorker, *SnapshotServer) {
	t.Helper()
	f := &fakeWorker{}
	f.accepted.Store(accepted)
	f.open.Store(open)
	s, err := serveSnapshot(filepath.Join(dir, name), f.snapshot, nil)
	if err != nil {
		t.Fatalf("serve %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return f, s
}

type sums struct {
	Processes         int
	Accepted, Upgrade uint64
	Open, Tunnels     int64
}

func sumsOf(m metrics.Snapshot) sums {
	s := sums{Processes: m.Processes, Accepted: m.ConnectionsAccepted, Open: m.ConnectionsOpen}
	for _, r := range m.Routes {
		s.Upgrade += r.Handshakes.Upgraded
		s.Tunnels += r.TunnelsOpen
	}
	return s
}

// TestWorkers follows a master's view while workers come and go: totals
// keep the counters of workers that exited, gauges only live workers'.
func TestWorkers(t *testing.T) {
	dir := t.TempDir()
	w := &Workers{Dir: dir, Logger: testutil.Logger(t)}
	check := func(step string, want sums) {
		t.Helper()
		if got := sumsOf(w.Snapshot()); got != want {
			t.Errorf("%s: got %+v; want %+v", step, got, want)
		}
	}
	check("no workers", sums{})

	a, aSrv := serveFake(t, dir, "1.sock", 10, 2)
	b, _ := serveFake(t, dir, "2.sock", 5, 1)
	check("two workers", sums{Processes: 2, Accepted: 15, Upgrade: 15, Open: 3, Tunnels: 3})

	a.accepted.Store(12)
	b.accepted.Store(6)
	check("counters grow", sums{Processes: 2, Accepted: 18, Upgrade: 18, Open: 3, Tunnels: 3})

	// a exits cleanly: its socket goes; its counters stay.
	aSrv.Close()
	check("a exited", sums{Processes: 1, Accepted: 18, Upgrade: 18, Open: 1, Tunnels: 1})

	// c dies without removing its socket: nothing listens there.
	ln, err := net.Listen("unix", filepath.Join(dir, "3.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	check("dead socket", sums{Processes: 1, Accepted: 18, Upgrade: 18, Open: 1, Tunnels: 1})
	if _, err := os.Stat(filepath.Join(dir, "3.sock")); !os.IsNotExist(err) {
		t.Errorf("dead socket not removed: %v", err)
	}

	// A new worker starts from zero; the sum goes on from where it was.
	serveFake(t, dir, "4.sock", 1, 1)
	check("replacement", sums{Processes: 2, Accepted: 19, Upgrade: 19, Open: 2, Tunnels: 2})
}

// TestServeSnapshotJSON: what a worker serves is its snapshot, whole.
func TestServeSnapshotJSON(t *testing.T) {
	dir := t.TempDir()
	want := metrics.Snapshot{
		Processes: 1,
		Servers: []metrics.ServerMetrics{{Upstream: "u", Server: "h:1", Up: 1, Processes: 1, ConnectErrors: 2,
			Connect: metrics.Histogram{Bounds: []float64{0.1}, Counts: []uint64{3, 4}, Sum: 1.5}}},
		WebSocket: metrics.WebSocketMetrics{Bytes: [2]uint64{1, 2}, CloseCodes: []metrics.CloseCodeCount{{Direction: 1, Code: 4001, Count: 3}}},
	}
	s, err := ServeSnapshot(dir, func() metrics.Snapshot { return want })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := &Workers{Dir: dir}
	r := w.fetch(s.path)
	if r.err != nil || !reflect.DeepEqual(r.snap, want) {
		t.Errorf("fetch: got %+v, %v; want %+v", r.snap, r.err, want)
	}
}
