package admin

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"wsproxy/config"
	"wsproxy/core/metrics"
	"wsproxy/internal/testutil"
)

// sample is a snapshot with one of everything.
var sample = metrics.Snapshot{
	Processes: 2, ConnectionsAccepted: 17, ConnectionsOpen: 4,
	Routes: []metrics.RouteMetrics{
		{Route: "ws.example.com/chat", Upstream: "chat", Requests: metrics.StatusClasses{2: 5, 5: 1},
			Handshakes: metrics.Handshakes{Upgraded: 4, Rejected: 2, Failed: 1}, TunnelsOpen: 3},
		{Route: metrics.UnroutedName, Upstream: metrics.UnroutedName, Requests: metrics.StatusClasses{4: 2}},
	},
	Servers: []metrics.ServerMetrics{
		{Upstream: "chat", Server: "10.0.0.1:80", Up: 2, Processes: 2,
			Connect: metrics.Histogram{Bounds: []float64{0.001, 0.01}, Counts: []uint64{1, 2, 3}, Sum: 0.5}},
		{Upstream: "chat", Server: "10.0.0.2:80", Up: 1, Processes: 2, ConnectErrors: 3,
			Connect: metrics.Histogram{Bounds: []float64{0.001, 0.01}, Counts: []uint64{0, 0, 0}}},
		{Upstream: "old", Server: "10.0.0.3:80", Connect: metrics.Histogram{Bounds: []float64{0.001, 0.01}, Counts: []uint64{0, 1, 0}, Sum: 0.002}},
	},
	WebSocket: metrics.WebSocketMetrics{
		Bytes: [2]uint64{101, 202}, Messages: [2]uint64{4, 6},
		ClosedBy:   metrics.ClosedBy{Client: 1, Upstream: 2, Proxy: 3},
		CloseCodes: []metrics.CloseCodeCount{{Direction: 0, Code: 1000, Count: 2}, {Direction: 0, Code: 4001, Count: 2}, {Direction: 1, Code: -1, Count: 5}},
	},
	Handover: metrics.Handover{Sent: 40, Kept: 2, Received: 39, Refused: 1},
	DNS: []metrics.DNSMetrics{
		{Upstream: "pods", Resolutions: map[string]uint64{"ok": 40, "servfail": 2}, Servers: 5, Processes: 2},
		{Upstream: "gone", Resolutions: map[string]uint64{"ok": 1}}, // known only to exited workers
	},
}

func startAdmin(t *testing.T, pprof bool, metrics func() metrics.Snapshot) string {
	t.Helper()
	s, err := Start(Config{Admin: config.Admin{Addr: "127.0.0.1:0", Pprof: pprof}, Metrics: metrics, Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return testutil.Get(t, &http.Client{Timeout: 10 * time.Second}, url)
}

func TestEndpoints(t *testing.T) {
	base := startAdmin(t, false, func() metrics.Snapshot { return sample })
	tests := []struct {
		name   string
		path   string
		status int
		want   []string // lines the body must have
		absent []string // substrings it must not have
	}{
		{"healthz", "/healthz", 200, []string{"ok"}, nil},
		{"pprof off", "/debug/pprof/", 404, nil, nil},
		{"pprof profile off", "/debug/pprof/profile?seconds=1", 404, nil, nil},
		{"metrics", "/metrics", 200, []string{
			`wsproxy_processes 2`,
			`wsproxy_connections_accepted_total 17`,
			`wsproxy_connections_open 4`,
			`wsproxy_http_requests_total{code="2xx",route="ws.example.com/chat",upstream="chat"} 5`,
			`wsproxy_http_requests_total{code="5xx",route="ws.example.com/chat",upstream="chat"} 1`,
			`wsproxy_http_requests_total{code="4xx",route="(none)",upstream="(none)"} 2`,
			`wsproxy_websocket_handshakes_total{result="upgraded",route="ws.example.com/chat",upstream="chat"} 4`,
			`wsproxy_websocket_handshakes_total{result="rejected",route="ws.example.com/chat",upstream="chat"} 2`,
			`wsproxy_websocket_handshakes_total{result="failed",route="ws.example.com/chat",upstream="chat"} 1`,
			`wsproxy_websocket_tunnels_open{route="ws.example.com/chat",upstream="chat"} 3`,
			`wsproxy_websocket_bytes_total{direction="to_upstream"} 101`,
			`wsproxy_websocket_bytes_total{direction="to_client"} 202`,
			`wsproxy_websocket_messages_total{direction="to_client"} 6`,
			`wsproxy_websocket_close_codes_total{code="4001",direction="to_upstream"} 2`,
			`wsproxy_websocket_close_codes_total{code="other",direction="to_client"} 5`,
			`wsproxy_websocket_tunnels_closed_total{closed_by="proxy"} 3`,
			`wsproxy_tunnels_handed_over_total 40`,
			`wsproxy_tunnels_handover_kept_total 2`,
			`wsproxy_tunnels_received_total 39`,
			`wsproxy_tunnels_handover_refused_total 1`,
			`wsproxy_upstream_server_up{server="10.0.0.1:80",upstream="chat"} 1`,
			`wsproxy_upstream_server_up{server="10.0.0.2:80",upstream="chat"} 0`,
			`wsproxy_upstream_connect_errors_total{server="10.0.0.2:80",upstream="chat"} 3`,
			`wsproxy_upstream_connect_duration_seconds_bucket{server="10.0.0.1:80",upstream="chat",le="0.001"} 1`,
			`wsproxy_upstream_connect_duration_seconds_bucket{server="10.0.0.1:80",upstream="chat",le="0.01"} 3`,
			`wsproxy_upstream_connect_duration_seconds_bucket{server="10.0.0.1:80",upstream="chat",le="+Inf"} 6`,
			`wsproxy_upstream_connect_duration_seconds_sum{server="10.0.0.1:80",upstream="chat"} 0.5`,
			`wsproxy_upstream_connect_duration_seconds_count{server="10.0.0.1:80",upstream="chat"} 6`,
			`wsproxy_upstream_connect_duration_seconds_count{server="10.0.0.3:80",upstream="old"} 1`,
			`wsproxy_dns_resolutions_total{result="ok",upstream="pods"} 40`,
			`wsproxy_dns_resolutions_total{result="servfail",upstream="pods"} 2`,
			`wsproxy_dns_resolutions_total{result="nxdomain",upstream="pods"} 0`,
			`wsproxy_dns_resolutions_total{result="ok",upstream="gone"} 1`,
			`wsproxy_dns_servers{upstream="pods"} 2.5`,
		}, []string{
			`wsproxy_dns_servers{upstream="gone"}`,
			`tunnels_open{route="(none)"`,                 // none open: only tunnels a new generation has no route for are
			`wsproxy_upstream_server_up{server="10.0.0.3`, // known only to exited workers
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, base+tc.path)
			if status != tc.status {
				t.Fatalf("status %d; want %d\n%s", status, tc.status, body)
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(body, "\n") {
				lines[l] = true
			}
			for _, w := range tc.want {
				if !lines[w] {
					t.Errorf("no line %q in:\n%s", w, body)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(body, a) {
					t.Errorf("found %q", a)
				}
			}
		})
	}
	// The process and Go collectors are there too.
	_, body := get(t, base+"/metrics")
	for _, name := range []string{"process_cpu_seconds_total", "process_open_fds", "go_goroutines", "go_memstats_alloc_bytes"} {
		if !strings.Contains(body, "\n"+name+" ") {
			t.Errorf("no %s series", name)
		}
	}
}

func TestPprofOn(t *testing.T) {
	base := startAdmin(t, true, func() metrics.Snapshot { return metrics.Snapshot{} })
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		if status, body := get(t, base+path); status != 200 {
			t.Errorf("GET %s: status %d; want 200\n%s", path, status, body)
		}
	}
}

// TestStartWarnsOffLoopback: an address other than loopback is served
// with a warning.
func TestStartWarnsOffLoopback(t *testing.T) {
	var logs bytes.Buffer
	s, err := Start(Config{Admin: config.Admin{Addr: ":0"}, Metrics: func() metrics.Snapshot { return sample },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	if !strings.Contains(logs.String(), "level=WARN msg=\"admin listener is reachable from the network") {
		t.Errorf("no warning in %q", logs.String())
	}
	port := s.Addr().(*net.TCPAddr).Port
	if status, _ := get(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", port)); status != 200 {
		t.Errorf("healthz: status %d; want 200", status)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(Config{Admin: config.Admin{Addr: "127.0.0.1:0"}}); err == nil {
		t.Errorf("Start without Metrics: nil error")
	}
	s := startAdmin(t, false, func() metrics.Snapshot { return sample })
	taken := strings.TrimPrefix(s, "http://")
	if _, err := Start(Config{Admin: config.Admin{Addr: taken}, Metrics: func() metrics.Snapshot { return sample }}); err == nil {
		t.Errorf("Start on %s, taken: nil error", taken)
	}
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name     string
		log      config.Log
		flag     string
		wantLine string // after logging Debug "d" and Info "i"; "" no line
		wantErr  bool
	}{
		{"text info", config.Log{Format: "text", Level: "info"}, "", `level=INFO msg=i`, false},
		{"json debug", config.Log{Format: "json", Level: "debug"}, "", `{"level":"DEBUG","msg":"d"}`, false},
		{"flag wins", config.Log{Format: "text", Level: "error"}, "debug", `level=DEBUG msg=d`, false},
		{"zero", config.Log{}, "", `level=INFO msg=i`, false},
		{"bad format", config.Log{Format: "xml"}, "", "", true},
		{"bad level", config.Log{Level: "loud"}, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			log, err := NewLogger(&b, tc.log, tc.flag)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v; want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			log = slog.New(stripTime{log.Handler()})
			log.Debug("d")
			log.Info("i")
			first, _, _ := strings.Cut(b.String(), "\n")
			if first != tc.wantLine {
				t.Errorf("first line %q; want %q", first, tc.wantLine)
			}
		})
	}
}

// stripTime drops the time of each record, for comparable lines.
type stripTime struct{ slog.Handler }

func (h stripTime) Handle(ctx context.Context, r slog.Record) error {
	r.Time = time.Time{}
	return h.Handler.Handle(ctx, r)
}
