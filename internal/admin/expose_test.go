package admin_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wsproxy/core/metrics"
	"wsproxy/internal/admin"
)

// snapshot has one of everything, and what tests the format: label values
// to escape, values the float formatting spells out or writes in exponent
// form, a route listed twice (the client kept the first).
var snapshot = metrics.Snapshot{
	Processes: 3, ConnectionsAccepted: 1_234_567, ConnectionsOpen: 100_000, TLSHandshakeErrors: 1, TunnelsMoved: 4_321,
	Routes: []metrics.RouteMetrics{
		{Route: "ws.example.com/chat", Upstream: "chat", Requests: metrics.StatusClasses{2: 5, 5: 1},
			Handshakes: metrics.Handshakes{Upgraded: 4, Rejected: 2, Failed: 1}, TunnelsOpen: 3},
		{Route: `a "quoted" \ route` + "\n", Upstream: "b", Handshakes: metrics.Handshakes{Upgraded: 1 << 53}},
		{Route: metrics.UnroutedName, Upstream: metrics.UnroutedName, Requests: metrics.StatusClasses{4: 2}},
		{Route: "ws.example.com/chat", Upstream: "chat", TunnelsOpen: 99},
	},
	Servers: []metrics.ServerMetrics{
		{Upstream: "chat", Server: "10.0.0.2:80", Up: 1, Processes: 2, ConnectErrors: 3,
			Connect: metrics.Histogram{Bounds: []float64{0.001, 0.01}, Counts: []uint64{0, 0, 0}}},
		{Upstream: "chat", Server: "10.0.0.1:80", Up: 2, Processes: 2,
			Connect: metrics.Histogram{Bounds: []float64{0.0001, 0.00025, 0.001, 0.01, 2.5}, Counts: []uint64{1, 2, 3, 4, 5, 6}, Sum: 0.123456789}},
		{Upstream: "old", Server: "10.0.0.3:80", Connect: metrics.Histogram{Bounds: []float64{0.001, 0.01}, Counts: []uint64{0, 1, 0}, Sum: 0.002}},
		{Upstream: "bad", Server: "10.0.0.4:80", Processes: 1, Connect: metrics.Histogram{Bounds: []float64{0.001}, Counts: []uint64{1}}},
	},
	WebSocket: metrics.WebSocketMetrics{
		Bytes: [2]uint64{101, 20_000_000_000}, Messages: [2]uint64{4, 6},
		ClosedBy:   metrics.ClosedBy{Client: 1, Upstream: 2, Proxy: 3},
		CloseCodes: []metrics.CloseCodeCount{{Direction: 0, Code: 1000, Count: 2}, {Direction: 0, Code: 4001, Count: 2}, {Direction: 1, Code: -1, Count: 5}},
	},
	Handover: metrics.Handover{Sent: 40, Kept: 2, Received: 39, Refused: 1},
	DNS: []metrics.DNSMetrics{
		{Upstream: "pods", Resolutions: map[string]uint64{"ok": 40, "servfail": 2}, Servers: 5, Processes: 3},
		{Upstream: "gone", Resolutions: map[string]uint64{"ok": 1}},
	},
}

// stable are the go_* and process_* series whose values do not change
// between two scrapes of one process; the others are compared by name,
// labels, HELP and TYPE only.
var stable = map[string]bool{
	"go_info": true, "go_gc_gogc_percent": true, "go_gc_gomemlimit_bytes": true, "go_sched_gomaxprocs_threads": true,
	"process_max_fds": true, "process_virtual_memory_max_bytes": true, "process_start_time_seconds": true,
}

// TestMetricsMatchClient: /metrics answers as promhttp with the
// collectors wsproxy registered before expose.go replaced the client: the
// same Content-Type and Content-Encoding for a range of Accept and
// Accept-Encoding fields, and the same text, byte for byte for the
// proxy's counters and the stable runtime series.
func TestMetricsMatchClient(t *testing.T) {
	reloads := new(admin.Reloads)
	reloads.Note(admin.ReloadApplied, 2)
	reloads.Note(admin.ReloadApplied, 3)
	reloads.Note(admin.ReloadRefused, 3)
	reloads.Note(admin.ReloadGeneration, 4)
	ours := admin.Handler(admin.Config{Metrics: func() metrics.Snapshot { return snapshot }, Reloads: reloads})

	reg := prometheus.NewRegistry()
	reg.MustRegister(refCollector{snapshot: func() metrics.Snapshot { return snapshot }},
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector(),
		refReloads{applied: 2, generation: 1, refused: 1, version: 4})
	ref := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})

	const prom3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5," +
		"text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
	for _, tc := range []struct{ name, accept, encoding string }{
		{"no fields", "", ""},
		{"gzip", "", "gzip"},
		{"gzip refused", "", "gzip;q=0"},
		{"identity first", "", "identity, gzip"},
		{"gzip preferred", "", "gzip;q=0.8, identity;q=0.5"},
		{"identity preferred", "", "gzip;q=0.4, identity;q=0.5"},
		{"any", "", "*"},
		{"unknown", "", "br, zstd"},
		{"two fields", "", "br"},
		{"curl", "*/*", "deflate, gzip"},
		{"prometheus 3", prom3, "gzip"},
		{"prometheus 2", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "gzip"},
		{"text utf-8", "text/plain;version=0.0.4;escaping=allow-utf-8", ""},
		{"text dots", "text/plain; escaping=dots", ""},
		{"unknown escaping", "text/plain;escaping=none", ""},
		{"text 1.0.0 only", "text/plain;version=1.0.0;escaping=values", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.accept != "" {
				h.Set("Accept", tc.accept)
			}
			if tc.encoding != "" {
				h.Set("Accept-Encoding", tc.encoding)
				if tc.name == "two fields" {
					h.Add("Accept-Encoding", "gzip;q=0.9")
				}
			}
			wantType, wantEnc, want := scrape(t, ref, h)
			gotType, gotEnc, got := scrape(t, ours, h)
			if gotType != wantType {
				t.Errorf("Content-Type %q; want %q", gotType, wantType)
			}
			if gotEnc != wantEnc {
				t.Errorf("Content-Encoding %q; want %q", gotEnc, wantEnc)
			}
			g, w := comparable(got), comparable(want)
			if g != w {
				t.Errorf("text differs from the client's (volatile values as V):\n%s", diff(g, w))
			}
		})
	}
}

// scrape GETs /metrics from h and returns Content-Type, Content-Encoding
// and the text, decompressed.
func scrape(t *testing.T, h http.Handler, header http.Header) (string, string, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header = header
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	enc := rec.Header().Get("Content-Encoding")
	if enc == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gzip: %v", err)
		}
	}
	return rec.Header().Get("Content-Type"), enc, string(body)
}

// comparable replaces the values of the series that change between
// scrapes with V.
func comparable(text string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_sum"), "_count"), "_bucket")
		if !strings.HasPrefix(line, "#") && (strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_")) && !stable[family] {
			line = line[:strings.LastIndexByte(line, ' ')] + " V\n"
		}
		b.WriteString(line)
	}
	return b.String()
}

// diff lists the first lines that differ.
func diff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(g), len(w)) && n < 10; i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			b.WriteString("line " + itoa(i+1) + ":\n  got  " + gl + "\n  want " + wl + "\n")
			n++
		}
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
