package bench

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"strings"
	"testing"
	"time"
)

const us = time.Microsecond

// TestUnitCostsOfTrial: each scenario divides the proxy's CPU by its own
// unit; ramp's unit says TLS when the clients used it.
func TestUnitCostsOfTrial(t *testing.T) {
	held := []HoldSample{{At: 0}, {At: 20 * time.Second}}
	for _, tc := range []struct {
		name string
		t    Trial
		tls  bool
		want []unitCost
	}{
		{"idle, short hold", Trial{Scenario: Idle, CPUPerConn: 90 * us, Hold: []HoldSample{{At: time.Second}}},
			false, []unitCost{{"idle connection brought up", 90 * us}}},
		{"idle, 20 s hold", Trial{Scenario: Idle, Up: 1000, CPUPerConn: 90 * us, Hold: held,
			Loaded: Usage{CPU: time.Second}, HoldEnd: Usage{CPU: time.Second + 100*time.Millisecond}},
			// 100 ms over 1,000 connections and 20 s: 300 µs per connection-minute.
			false, []unitCost{{"idle connection brought up", 90 * us}, {"idle connection held a minute", 300 * us}}},
		{"ramp", Trial{Scenario: Ramp, CPUPerHandshake: 120 * us}, false, []unitCost{{"WebSocket handshake", 120 * us}}},
		{"ramp with TLS", Trial{Scenario: Ramp, CPUPerHandshake: 420 * us}, true, []unitCost{{"TLS + WebSocket handshake", 420 * us}}},
		{"echo", Trial{Scenario: Echo, CPUPerMsg: 31 * us}, false, []unitCost{{"relayed message", 31 * us}}},
		{"bulk", Trial{Scenario: Bulk, CPUPerMB: 1540 * us}, false, []unitCost{{"MB echoed", 1540 * us}}},
		{"resume", Trial{Scenario: Resume, Resume: &ResumeResult{CPUPerFull: 400 * us, CPUPerReconnect: 150 * us}}, true,
			[]unitCost{{"full TLS connection", 400 * us}, {"reconnection (resuming)", 150 * us}}},
		{"resume without a result", Trial{Scenario: Resume}, true, nil},
		{"flood", Trial{Scenario: Flood}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := unitCosts(tc.t, tc.tls)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v; want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("unit %d: got %v; want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// unitsReport is two rounds of echo through three proxies (nginx failed
// in round 2) and one round of ramp through wsproxy and HAProxy.
func unitsReport() *Report {
	echo := func(p string, round int, cpu time.Duration) Trial {
		return Trial{Scenario: Echo, Proxy: p, Round: round, Up: 1000, MsgsPerSec: 5000, CPUPerMsg: cpu}
	}
	return &Report{Trials: []Trial{
		echo(Wsproxy, 1, 30*us), echo(Nginx, 1, 24*us), echo(HAProxy, 1, 32*us),
		echo(Wsproxy, 2, 20*us), {Scenario: Echo, Proxy: Nginx, Round: 2, CPUPerMsg: 10 * us, Err: "DROPPED"}, echo(HAProxy, 2, 40*us),
		{Scenario: Ramp, Proxy: Wsproxy, Round: 1, Up: 5000, CPUPerHandshake: 100 * us},
		{Scenario: Ramp, Proxy: HAProxy, Round: 1, Up: 5000, CPUPerHandshake: 200 * us},
		{Scenario: Bulk, Proxy: Direct, Round: 1, Up: 4, MBPerSec: 600},
		{Scenario: Ramp, Proxy: Nginx, Round: 1, Skipped: "too many"},
	}}
}

// TestUnitCosts: a row per scenario, unit and round in scenario order,
// ratios for every pair that ran in the round, a median row over rounds
// (of the values and of the ratios); failed, skipped and direct trials
// are left out.
func TestUnitCosts(t *testing.T) {
	got := unitsReport().UnitCosts()
	want := []UnitCost{
		{Scenario: Ramp, Unit: "WebSocket handshake", Round: 1, CPU: map[string]time.Duration{Wsproxy: 100 * us, HAProxy: 200 * us},
			Ratios: map[string]float64{"wsproxy/haproxy": 0.5}},
		{Scenario: Echo, Unit: "relayed message", Round: 1, CPU: map[string]time.Duration{Wsproxy: 30 * us, Nginx: 24 * us, HAProxy: 32 * us},
			Ratios: map[string]float64{"wsproxy/nginx": 1.25, "wsproxy/haproxy": 0.9375, "nginx/haproxy": 0.75}},
		{Scenario: Echo, Unit: "relayed message", Round: 2, CPU: map[string]time.Duration{Wsproxy: 20 * us, HAProxy: 40 * us},
			Ratios: map[string]float64{"wsproxy/haproxy": 0.5}},
		// Medians: wsproxy (30+20)/2, nginx its one round, HAProxy (32+40)/2;
		// ratios are the medians of the rounds' ratios: (0.9375+0.5)/2.
		{Scenario: Echo, Unit: "relayed message", Round: 0, CPU: map[string]time.Duration{Wsproxy: 25 * us, Nginx: 24 * us, HAProxy: 36 * us},
			Ratios: map[string]float64{"wsproxy/nginx": 1.25, "wsproxy/haproxy": 0.71875, "nginx/haproxy": 0.75}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows %+v; want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Scenario != w.Scenario || g.Unit != w.Unit || g.Round != w.Round || !maps.Equal(g.CPU, w.CPU) {
			t.Errorf("row %d: got %s/%s round %d %v; want %s/%s round %d %v", i, g.Scenario, g.Unit, g.Round, g.CPU, w.Scenario, w.Unit, w.Round, w.CPU)
		}
		if !maps.EqualFunc(g.Ratios, w.Ratios, func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }) {
			t.Errorf("row %d ratios: got %v; want %v", i, g.Ratios, w.Ratios)
		}
	}
}

func TestMedianOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"two: the mean", []float64{4, 2}, 3},
		{"three, unsorted", []float64{9, 1, 5}, 5},
		{"four", []float64{1, 10, 2, 3}, 2.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := medianOf(tc.v); got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

// TestUnitsMarkdown: the units table has a column per proxy that ran and
// one per pair, "—" where a proxy has no value, a median row, and the
// report's JSON carries the same rows.
func TestUnitsMarkdown(t *testing.T) {
	r := unitsReport()
	var b bytes.Buffer
	r.Markdown(&b)
	out := b.String()
	for _, want := range []string{
		"| scenario | per                 | round  | wsproxy | nginx   | haproxy | wsproxy ÷ nginx | wsproxy ÷ haproxy | nginx ÷ haproxy |",
		"| ramp     | WebSocket handshake | 1      |  100 µs |       — |  200 µs |               — |              0.50 |               — |",
		"| echo     | relayed message     | 1      | 30.0 µs | 24.0 µs | 32.0 µs |            1.25 |              0.94 |            0.75 |",
		"| echo     | relayed message     | median | 25.0 µs | 24.0 µs | 36.0 µs |            1.25 |              0.72 |            0.75 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks\n%s\ngot\n%s", want, out)
		}
	}
	r.Units = r.UnitCosts()
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Units) != 4 || back.Units[3].Round != 0 || back.Units[3].Ratios["wsproxy/nginx"] != 1.25 {
		t.Errorf("JSON units %+v; want the 4 rows, the last the median", back.Units)
	}
	if !strings.Contains(string(js), `"ratios":{"nginx/haproxy":0.75,"wsproxy/haproxy":0.9375,"wsproxy/nginx":1.25}`) {
		t.Errorf("JSON lacks the first echo round's ratios:\n%s", js)
	}
}

// TestVsWsproxy: the column beside each table's CPU per unit is
// wsproxy's cost over the row's, same scenario and round, one ratio per
// unit of the table (resume: full / reconnection), "—" where there is
// nothing to compare.
func TestVsWsproxy(t *testing.T) {
	r := unitsReport()
	resume := func(p string, full, again time.Duration) Trial {
		return Trial{Scenario: Resume, Proxy: p, Round: 1, Up: 10, Resume: &ResumeResult{CPUPerFull: full, CPUPerReconnect: again}}
	}
	r.Trials = append(r.Trials,
		resume(Wsproxy, 400*us, 150*us), resume(HAProxy, 500*us, 100*us), resume(Nginx, 800*us, 0),
		Trial{Scenario: Idle, Proxy: Wsproxy, Round: 1, CPUPerConn: 60 * us, Hold: []HoldSample{{At: 0}, {At: time.Minute}},
			Up: 10, Loaded: Usage{CPU: time.Second}, HoldEnd: Usage{CPU: 2 * time.Second}},
		Trial{Scenario: Idle, Proxy: Nginx, Round: 1, CPUPerConn: 120 * us, Hold: []HoldSample{{At: 0}, {At: time.Minute}},
			Up: 10, Loaded: Usage{CPU: time.Second}, HoldEnd: Usage{CPU: 3 * time.Second}},
		Trial{Scenario: Bulk, Proxy: Wsproxy, Round: 2, CPUPerMB: time.Millisecond, Err: "DROPPED"},
		Trial{Scenario: Bulk, Proxy: HAProxy, Round: 2, CPUPerMB: 2 * time.Millisecond},
	)
	for _, tc := range []struct {
		name  string
		sc    string
		proxy string
		round int
		want  string
	}{
		{"echo: wsproxy spent more", Echo, Nginx, 1, "1.25"},
		{"echo: wsproxy spent less", Echo, HAProxy, 1, "0.94"},
		{"echo: other round", Echo, HAProxy, 2, "0.50"},
		{"echo: the peer failed", Echo, Nginx, 2, "—"},
		{"echo: wsproxy itself", Echo, Wsproxy, 1, "—"},
		{"ramp", Ramp, HAProxy, 1, "0.50"},
		{"ramp: skipped", Ramp, Nginx, 1, "—"},
		{"bulk: direct", Bulk, Direct, 1, "—"},
		{"bulk: wsproxy failed", Bulk, HAProxy, 2, "—"},
		{"resume: full / reconnection", Resume, HAProxy, 1, "0.80 / 1.50"},
		{"resume: no reconnection cost", Resume, Nginx, 1, "0.50 / —"},
		{"idle: connections brought up only", Idle, Nginx, 1, "0.50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := r.find(tc.sc, tc.proxy, tc.round)
			if tr == nil {
				t.Fatalf("no %s trial of %s in round %d", tc.sc, tc.proxy, tc.round)
			}
			if got := r.vsWsproxy(*tr); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
	var b bytes.Buffer
	r.Markdown(&b)
	for _, want := range []string{
		"| nginx #1   |  1000 |          5000 |       0 |   0 |     0 |   0 |       24.0 µs |         1.25 |",
		"|   500 µs |        100 µs |                   0.80 / 1.50 |             0.20 |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Markdown lacks\n%s\ngot\n%s", want, b.String())
		}
	}
}
