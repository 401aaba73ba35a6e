package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsproxy/loadtest"
)

func sampleReport() *Report {
	ms := time.Millisecond
	return &Report{
		Machine: Machine{CPUs: 2, MemTotal: 24 << 30, Kernel: "6.1.0", GoVersion: "go1.26.8", FileLimit: 20000,
			Date: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), Versions: map[string]string{Nginx: "nginx version: nginx/1.22.1"}},
		Trials: []Trial{
			{Scenario: Idle, Proxy: Wsproxy, Round: 1, Conns: 5000, Up: 5000,
				Before: Usage{RSS: 10 << 20}, Loaded: Usage{RSS: 14 << 20}, BytesPerConn: 838.9, PSSPerConn: 801,
				ProxyCPU: 250 * ms, CPUPerConn: 50 * time.Microsecond, LoadCPU: 900 * ms, Handshake: loadtest.Latency{P50: 420 * time.Microsecond, P99: 3 * ms},
				Curve: []Point{{0, 10 << 20}, {2500, 12 << 20}, {5000, 14 << 20}}},
			{Scenario: Idle, Proxy: Nginx, Round: 1, Conns: 5000, Up: 4990, Failed: 10,
				Before: Usage{RSS: 20 << 20}, Loaded: Usage{RSS: 105 << 20}, BytesPerConn: 17860,
				Curve: []Point{{0, 20 << 20}, {4990, 105 << 20}}, Err: "10 connections failed"},
			{Scenario: Flood, Proxy: Wsproxy, Round: 1, Flood: &FloodResult{Pushed: 6 << 20, First: 9 << 20, Min: 9 << 20,
				Max: 9<<20 + 1<<19, Last: 9<<20 + 1<<19, Interval: 500 * time.Millisecond,
				Samples: []int64{9 << 20, 9<<20 + 1<<19, 9<<20 + 1<<19, 9<<20 + 1<<19}}},
			{Scenario: Ramp, Proxy: Wsproxy, Round: 1, Conns: 5000, Up: 5000, HandshakesPerSec: 12345.6, ProxyCPU: 600 * ms, CPUPerHandshake: 120 * time.Microsecond},
			{Scenario: Echo, Proxy: Wsproxy, Round: 1, Up: 1000, MsgsPerSec: 9998, RTT: loadtest.Latency{P50: 80 * time.Microsecond, P99: 1500 * time.Microsecond, P999: 12 * ms, Max: 1500 * ms}, CPUPerMsg: 4200 * time.Nanosecond},
			{Scenario: Bulk, Proxy: Direct, Round: 1, Up: 4, MBPerSec: 2000},
			{Scenario: Bulk, Proxy: Wsproxy, Round: 1, Up: 4, MBPerSec: 1500, ProxyCPU: 23 * time.Second, CPUPerMB: 1530 * time.Microsecond},
		},
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	sampleReport().Markdown(&b)
	out := b.String()
	for _, want := range []string{
		"2 CPUs, 24 GiB RAM, Linux 6.1.0, go1.26.8, open files 20000, 2026-11-25T18:00:00Z",
		"nginx: nginx version: nginx/1.22.1",
		"### " + titles[Idle],
		"| wsproxy | 5000/5000 |   10.0 MiB |   14.0 MiB |      839 B |",
		"| nginx   | 4990/5000 |",
		"- **FAILED** nginx: 10 connections failed",
		"420 µs / 3.00 ms",
		"| wsproxy | 6.0 MiB |",           // flood pushed
		"|     0.5 MiB |       0.0 MiB |", // flood: max - first, last - at 1 s
		"12346",                           // handshakes/s
		"80.0 µs", "1.50 ms", "12.0 ms", "1.50 s", "4.20 µs",
		"| direct  |     4 | 2000.0 |         — |         0 |       — |            — |",
		"| wsproxy |     4 | 1500.0 |       75% |    23.0 s | 1.53 ms |            — |",
		"|    250 ms |  50.0 µs |            — |      900 ms |", // idle: proxy CPU, per connection, vs wsproxy, loadgen
		"|    600 ms |        120 µs |            — |",          // ramp: proxy CPU, per handshake, vs wsproxy
		"| idle     | idle connection brought up | 1     | 50.0 µs |",
		"| ramp     | WebSocket handshake        | 1     |  120 µs |",
		"| echo     | relayed message            | 1     | 4.20 µs |",
		"| bulk     | MB echoed                  | 1     | 1.53 ms |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown output lacks %q; got\n%s", want, out)
		}
	}
	if strings.Contains(out, "#1") {
		t.Errorf("single-round report numbers its rounds:\n%s", out)
	}
	// Every line of a table is as wide as its header.
	for _, block := range strings.Split(out, "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if !strings.HasPrefix(lines[0], "|") {
			continue
		}
		for _, l := range lines[1:] {
			if got, want := len([]rune(l)), len([]rune(lines[0])); got != want {
				t.Errorf("table line %q is %d wide; header is %d", l, got, want)
			}
		}
	}
}

func TestMarkdownRounds(t *testing.T) {
	r := sampleReport()
	r.Trials = append(r.Trials, Trial{Scenario: Idle, Proxy: Wsproxy, Round: 2, Conns: 5000, Up: 5000})
	var b bytes.Buffer
	r.Markdown(&b)
	if !strings.Contains(b.String(), "| wsproxy #2 |") {
		t.Errorf("second round not labelled:\n%s", b.String())
	}
}

func TestDur(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0"}, {999, "1.00 µs"},
		{1500 * time.Nanosecond, "1.50 µs"}, {999 * time.Microsecond, "999 µs"},
		{1234 * time.Microsecond, "1.23 ms"}, {65 * time.Millisecond, "65.0 ms"}, {90 * time.Second, "90.0 s"},
	}
	for _, tt := range tests {
		if got := dur(tt.d); got != tt.want {
			t.Errorf("dur(%d) = %q; want %q", tt.d, got, tt.want)
		}
	}
}

// polylines checks that svg is well-formed XML and returns the points
// attribute of each of its polylines.
func polylines(t *testing.T, svg []byte) []string {
	t.Helper()
	var lines []string
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return lines
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			points := ""
			for _, a := range se.Attr {
				if a.Name.Local == "points" {
					points = a.Value
				}
			}
			lines = append(lines, points)
		}
	}
}

func TestSVG(t *testing.T) {
	r := sampleReport()
	r.Trials = append(r.Trials, Trial{Scenario: Idle, Proxy: Wsproxy, Round: 2, Curve: []Point{{0, 10 << 20}, {5000, 15 << 20}}})
	svg := r.SVG()
	if lines := len(polylines(t, svg)); lines != 3 {
		t.Errorf("SVG has %d polylines; want 3 (one per idle trial)", lines)
	}
	if n := bytes.Count(svg, []byte(">wsproxy</text>")); n != 1 {
		t.Errorf("legend names wsproxy %d times; want once for both rounds", n)
	}
	for _, want := range []string{">wsproxy</text>", ">nginx</text>", ">connections up</text>", colors[Nginx]} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if err := sampleReport().WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Trials) != 7 || back.Trials[0].BytesPerConn != 838.9 || back.Trials[2].Flood.Pushed != 6<<20 {
		t.Errorf("results.json does not round-trip: %+v", back.Trials)
	}
	if _, err := os.Stat(filepath.Join(dir, "rss.svg")); err != nil {
		t.Error(err)
	}
	// sampleReport's echo trial has no distribution: no latency plot.
	if _, err := os.Stat(filepath.Join(dir, "latency.svg")); !os.IsNotExist(err) {
		t.Errorf("latency.svg without a distribution: %v", err)
	}
}

// TestLatencySVG: one polyline per echo trial with a distribution, points
// up to 99.99 % only, a legend entry per proxy, well-formed XML.
func TestLatencySVG(t *testing.T) {
	cdf := func(scale time.Duration) []time.Duration {
		d := make([]time.Duration, len(loadtest.CDFPercentiles))
		for i := range d {
			d[i] = time.Duration(i+1) * scale
		}
		return d
	}
	r := &Report{Trials: []Trial{
		{Scenario: Echo, Proxy: Wsproxy, Round: 1, RTT: loadtest.Latency{CDF: cdf(100 * time.Microsecond)}},
		{Scenario: Echo, Proxy: Nginx, Round: 1, RTT: loadtest.Latency{CDF: cdf(120 * time.Microsecond)}},
		{Scenario: Echo, Proxy: Wsproxy, Round: 2, RTT: loadtest.Latency{CDF: cdf(90 * time.Microsecond)}},
		{Scenario: Idle, Proxy: Wsproxy, Round: 1, Curve: []Point{{0, 1}}},
		{Scenario: Echo, Proxy: HAProxy, Round: 1}, // failed: no distribution
	}}
	svg := r.LatencySVG()
	lines, points := polylines(t, svg), 0
	if len(lines) > 0 {
		points = len(strings.Fields(lines[len(lines)-1]))
	}
	if len(lines) != 3 {
		t.Errorf("%d polylines; want 3 (one per echo trial with a distribution)", len(lines))
	}
	if want := len(loadtest.CDFPercentiles) - 1; points != want {
		t.Errorf("%d points per line; want %d (all percentiles but 100)", points, want)
	}
	for _, want := range []string{">wsproxy</text>", ">nginx</text>", ">99.99%</text>", ">round trip (ms)</text>"} {
		if n := bytes.Count(svg, []byte(want)); n != 1 {
			t.Errorf("SVG has %q %d times; want once", want, n)
		}
	}
	if (&Report{}).LatencySVG() != nil {
		t.Error("LatencySVG of a report without echo trials is not nil")
	}
}

func TestFloodAt(t *testing.T) {
	f := &FloodResult{Interval: 500 * time.Millisecond, Samples: []int64{1, 2, 3, 4}}
	for d, want := range map[time.Duration]int64{0: 1, 499 * time.Millisecond: 1, time.Second: 3, time.Hour: 4} {
		if got := f.At(d); got != want {
			t.Errorf("At(%v) = %d; want %d", d, got, want)
		}
	}
	if got := (&FloodResult{}).At(time.Second); got != 0 {
		t.Errorf("At without samples = %d; want 0", got)
	}
}

func TestNiceCeil(t *testing.T) {
	for v, want := range map[float64]float64{1: 1, 1.1: 2, 3: 5, 7: 10, 5000: 5000, 5001: 10000, 0.3: 0.5} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v; want %v", v, got, want)
		}
	}
}
