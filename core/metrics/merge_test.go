package metrics_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"wsproxy/core/metrics"
)

func hist(sum float64, counts ...uint64) metrics.Histogram {
	return metrics.Histogram{Bounds: []float64{0.001, 0.01}, Counts: counts, Sum: sum}
}

// worker1 and worker2 are snapshots of two workers whose configurations
// differ a little, as during a reload.
var (
	worker1 = metrics.Snapshot{
		Processes: 1, ConnectionsAccepted: 10, ConnectionsOpen: 3,
		Routes: []metrics.RouteMetrics{
			{Route: "/ws", Upstream: "chat", Requests: metrics.StatusClasses{2: 5, 5: 1}, Handshakes: metrics.Handshakes{Upgraded: 4, Failed: 1}, TunnelsOpen: 2},
			{Route: metrics.UnroutedName, Upstream: metrics.UnroutedName, Requests: metrics.StatusClasses{4: 2}},
		},
		Servers: []metrics.ServerMetrics{
			{Upstream: "chat", Server: "10.0.0.1:80", Up: 1, Processes: 1, Connect: hist(0.5, 1, 2, 0)},
			{Upstream: "chat", Server: "10.0.0.2:80", Up: 0, Processes: 1, ConnectErrors: 3, Connect: hist(0, 0, 0, 0)},
		},
		WebSocket: metrics.WebSocketMetrics{
			Bytes: [2]uint64{100, 200}, Messages: [2]uint64{1, 2},
			ClosedBy:   metrics.ClosedBy{Client: 1, Proxy: 1},
			CloseCodes: []metrics.CloseCodeCount{{Direction: 0, Code: 1000, Count: 1}, {Direction: 1, Code: 1001, Count: 1}},
		},
		Handover: metrics.Handover{Received: 40, Refused: 2},
		DNS:      []metrics.DNSMetrics{{Upstream: "chat", Resolutions: map[string]uint64{"ok": 5, "timeout": 1}, Servers: 2, Processes: 1}},
	}
	worker2 = metrics.Snapshot{
		Processes: 1, ConnectionsAccepted: 7, ConnectionsOpen: 1,
		Routes: []metrics.RouteMetrics{
			{Route: "/new", Upstream: "chat", Requests: metrics.StatusClasses{3: 1}},
			{Route: "/ws", Upstream: "chat", Handshakes: metrics.Handshakes{Upgraded: 1, Rejected: 2}, TunnelsOpen: 1},
		},
		Servers: []metrics.ServerMetrics{
			{Upstream: "chat", Server: "10.0.0.1:80", Up: 1, Processes: 1, Connect: hist(0.25, 0, 1, 1)},
			{Upstream: "chat", Server: "10.0.0.2:80", Up: 1, Processes: 1, Connect: hist(0, 0, 0, 0)},
		},
		WebSocket: metrics.WebSocketMetrics{
			Bytes: [2]uint64{1, 2}, Messages: [2]uint64{3, 4},
			ClosedBy:   metrics.ClosedBy{Upstream: 2},
			CloseCodes: []metrics.CloseCodeCount{{Direction: 0, Code: 4001, Count: 2}, {Direction: 0, Code: 1000, Count: 1}, {Direction: 1, Code: -1, Count: 5}},
		},
		Handover: metrics.Handover{Sent: 42, Kept: 3, Received: 1},
		DNS: []metrics.DNSMetrics{
			{Upstream: "chat", Resolutions: map[string]uint64{"ok": 4}, Servers: 3, Processes: 1},
			{Upstream: "consul", Resolutions: map[string]uint64{"nxdomain": 2}, Processes: 1},
		},
	}
)

func TestMerge(t *testing.T) {
	want := metrics.Snapshot{
		Processes: 2, ConnectionsAccepted: 17, ConnectionsOpen: 4,
		Routes: []metrics.RouteMetrics{
			{Route: "/ws", Upstream: "chat", Requests: metrics.StatusClasses{2: 5, 5: 1}, Handshakes: metrics.Handshakes{Upgraded: 5, Rejected: 2, Failed: 1}, TunnelsOpen: 3},
			{Route: metrics.UnroutedName, Upstream: metrics.UnroutedName, Requests: metrics.StatusClasses{4: 2}},
			{Route: "/new", Upstream: "chat", Requests: metrics.StatusClasses{3: 1}},
		},
		Servers: []metrics.ServerMetrics{
			{Upstream: "chat", Server: "10.0.0.1:80", Up: 2, Processes: 2, Connect: hist(0.75, 1, 3, 1)},
			{Upstream: "chat", Server: "10.0.0.2:80", Up: 1, Processes: 2, ConnectErrors: 3, Connect: hist(0, 0, 0, 0)},
		},
		WebSocket: metrics.WebSocketMetrics{
			Bytes: [2]uint64{101, 202}, Messages: [2]uint64{4, 6},
			ClosedBy:   metrics.ClosedBy{Client: 1, Upstream: 2, Proxy: 1},
			CloseCodes: []metrics.CloseCodeCount{{Direction: 0, Code: 1000, Count: 2}, {Direction: 0, Code: 4001, Count: 2}, {Direction: 1, Code: -1, Count: 5}, {Direction: 1, Code: 1001, Count: 1}},
		},
		Handover: metrics.Handover{Sent: 42, Kept: 3, Received: 41, Refused: 2},
		DNS: []metrics.DNSMetrics{
			{Upstream: "chat", Resolutions: map[string]uint64{"ok": 9, "timeout": 1}, Servers: 5, Processes: 2},
			{Upstream: "consul", Resolutions: map[string]uint64{"nxdomain": 2}, Processes: 1},
		},
	}
	tests := []struct {
		name  string
		parts []metrics.Snapshot
		want  metrics.Snapshot
	}{
		{"none", nil, metrics.Snapshot{}},
		{"one", []metrics.Snapshot{worker1}, worker1},
		{"two", []metrics.Snapshot{worker1, worker2}, want},
		// A worker that exited contributes its counters only.
		{"retired", []metrics.Snapshot{worker1.Counters(), worker2}, func() metrics.Snapshot {
			w := want
			w.Processes, w.ConnectionsOpen = 1, 1
			w.Routes = []metrics.RouteMetrics{want.Routes[0], want.Routes[1], want.Routes[2]}
			w.Routes[0].TunnelsOpen = 1
			w.Servers = []metrics.ServerMetrics{want.Servers[0], want.Servers[1]}
			w.Servers[0].Up, w.Servers[0].Processes = 1, 1
			w.Servers[1].Up, w.Servers[1].Processes = 1, 1
			w.DNS = []metrics.DNSMetrics{
				{Upstream: "chat", Resolutions: map[string]uint64{"ok": 9, "timeout": 1}, Servers: 3, Processes: 1},
				want.DNS[1],
			}
			return w
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Through JSON, as snapshots travel from workers to the master.
			var got metrics.Snapshot
			for _, p := range tc.parts {
				b, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				var q metrics.Snapshot
				if err := json.Unmarshal(b, &q); err != nil {
					t.Fatal(err)
				}
				got.Merge(&q)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("merged:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

// TestMergeKeepsInputs: merging does not alias the slices of what
// was merged in, so a master can keep a worker's last snapshot.
func TestMergeKeepsInputs(t *testing.T) {
	in := worker1.Counters()
	var sum metrics.Snapshot
	sum.Merge(&in)
	sum.Merge(&worker2)
	if !reflect.DeepEqual(in, worker1.Counters()) {
		t.Errorf("Merge changed its argument: %+v", in)
	}
}
