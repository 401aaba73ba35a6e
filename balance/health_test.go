package balance_test

import (
	"slices"
	"testing"
	"time"

	"wsproxy/balance"
)

func TestPassiveHealth(t *testing.T) {
	type report struct {
		at time.Duration
		ok bool
	}
	type check struct {
		at   time.Duration
		want bool // Available
	}
	s := time.Second
	tests := []struct {
		name     string
		maxFails int
		timeout  time.Duration
		reports  []report
		checks   []check
	}{
		{name: "below max_fails", maxFails: 2, reports: []report{{0, false}}, checks: []check{{s, true}}},
		{name: "max_fails within fail_timeout: down for fail_timeout", maxFails: 2,
			reports: []report{{0, false}, {5 * s, false}},
			checks:  []check{{5 * s, false}, {15*s - 1, false}, {15 * s, true}}},
		{name: "failures in different windows", maxFails: 2,
			reports: []report{{0, false}, {10 * s, false}},
			checks:  []check{{10 * s, true}}},
		{name: "a success does not reset the window", maxFails: 2,
			reports: []report{{0, false}, {s, true}, {2 * s, false}},
			checks:  []check{{2 * s, false}}},
		{name: "probation: a failure after recovery downs at once", maxFails: 2,
			reports: []report{{0, false}, {s, false}, {11 * s, false}},
			checks:  []check{{11 * s, false}, {21*s - 1, false}, {21 * s, true}}},
		{name: "probation: a success ends it", maxFails: 2,
			reports: []report{{0, false}, {s, false}, {11 * s, true}, {12 * s, false}},
			checks:  []check{{12 * s, true}}},
		{name: "reports while down are ignored", maxFails: 2,
			reports: []report{{0, false}, {s, false}, {5 * s, false}, {6 * s, false}, {7 * s, true}},
			checks:  []check{{11*s - 1, false}, {11 * s, true}}},
		{name: "default max_fails 1, fail_timeout 10s", maxFails: 0,
			reports: []report{{0, false}},
			checks:  []check{{0, false}, {10 * s, true}}},
		{name: "custom fail_timeout", maxFails: 2, timeout: 3 * s,
			reports: []report{{0, false}, {s, false}},
			checks:  []check{{3 * s, false}, {4 * s, true}}},
		{name: "negative max_fails disables", maxFails: -1,
			reports: []report{{0, false}, {0, false}, {0, false}},
			checks:  []check{{0, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, letters(1, 1), balance.Config{MaxFails: tt.maxFails, FailTimeout: tt.timeout})
			a := server(t, p, "a:80")
			for _, r := range tt.reports {
				p.Report(a, r.ok, t0.Add(r.at))
			}
			for _, c := range tt.checks {
				if got := a.Available(t0.Add(c.at)); got != c.want {
					t.Errorf("Available at +%v = %v; want %v", c.at, got, c.want)
				}
			}
		})
	}
}

func TestActiveHealth(t *testing.T) {
	p := mustPool(t, letters(1, 1), balance.Config{})
	a := server(t, p, "a:80")
	a.MarkDown()
	if a.Available(t0) {
		t.Fatal("available after MarkDown")
	}
	p.Report(a, true, t0) // passive success does not override an active verdict
	if a.Available(t0.Add(time.Hour)) {
		t.Fatal("available after MarkDown and a success")
	}
	a.MarkUp()
	if !a.Available(t0) {
		t.Fatal("not available after MarkUp")
	}
	p.Report(a, false, t0) // passively down; an active check clears it
	if a.Available(t0) {
		t.Fatal("available after a failure")
	}
	a.MarkUp()
	if !a.Available(t0) {
		t.Fatal("MarkUp did not clear the passive verdict")
	}
}

// TestHealthKeysComeBack takes a server down by failed connects: its keys
// move, everyone else's stay, and all come back once it recovers.
func TestHealthKeysComeBack(t *testing.T) {
	p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyHash, HashKey: "header:X-Key", MaxFails: 3})
	reqs := headerKeys(20000)
	at := func(now time.Time) []string {
		got := make([]string, len(reqs))
		for i, r := range reqs {
			got[i] = pickAt(t, p, r, now)
		}
		return got
	}
	before := at(t0)
	b := server(t, p, "b:80")
	for i := range 3 {
		p.Report(b, false, t0.Add(time.Duration(i)*time.Second))
	}
	during := at(t0.Add(5 * time.Second))
	moved := 0
	for i := range reqs {
		switch {
		case before[i] == "b" && during[i] == "b":
			t.Fatalf("key %d still on b while it is down", i)
		case before[i] == "b":
			moved++
		case during[i] != before[i]:
			t.Fatalf("key %d moved %s -> %s though %s stayed up", i, before[i], during[i], before[i])
		}
	}
	if moved == 0 {
		t.Fatal("b had no keys")
	}
	if after := at(t0.Add(2*time.Second + 10*time.Second)); !slices.Equal(after, before) {
		t.Error("keys did not come back after b recovered")
	}
}
