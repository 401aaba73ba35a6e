package balance_test

import (
	"strings"
	"testing"

	"wsproxy/balance"
)

func TestLeastConn(t *testing.T) {
	tests := []struct {
		name    string
		servers []balance.ServerConfig
		active  []int  // held by Acquire before the pick
		down    string // marked down, if not ""
		want    string // one of these letters
	}{
		{name: "fewest active", servers: letters(1, 1, 1), active: []int{2, 0, 1}, want: "b"},
		{name: "per unit of weight", servers: letters(3, 1), active: []int{2, 1}, want: "a"},
		{name: "weight does not hide load", servers: letters(2, 1), active: []int{4, 1}, want: "b"},
		{name: "tie is either", servers: letters(2, 1), active: []int{2, 1}, want: "ab"},
		{name: "down is skipped", servers: letters(1, 1, 1), active: []int{3, 0, 1}, down: "b:80", want: "c"},
		{
			name:    "full is skipped",
			servers: []balance.ServerConfig{{Addr: "a:80", MaxConns: 1}, {Addr: "b:80"}},
			active:  []int{1, 5}, want: "b",
		},
		{
			name:    "backup only when primaries are full",
			servers: []balance.ServerConfig{{Addr: "a:80", MaxConns: 2}, {Addr: "b:80", Backup: true}},
			active:  []int{2, 9}, want: "b",
		},
		{
			name:    "primary before idle backup",
			servers: []balance.ServerConfig{{Addr: "a:80"}, {Addr: "b:80", Backup: true}},
			active:  []int{9, 0}, want: "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, tt.servers, balance.Config{Policy: balance.PolicyLeastConn})
			for i, s := range p.Servers() {
				for range tt.active[i] {
					s.Acquire()
				}
			}
			if tt.down != "" {
				server(t, p, tt.down).MarkDown()
			}
			for range 5 { // ties rotate: repeat to see every candidate
				if got := pickAt(t, p, fromAddr("192.0.2.1"), t0); !strings.Contains(tt.want, got) {
					t.Fatalf("picked %s; want one of %q", got, tt.want)
				}
			}
		})
	}
}

func TestLeastConnSpreadsHeldPicks(t *testing.T) {
	p := mustPool(t, letters(2, 1, 1), balance.Config{Policy: balance.PolicyLeastConn})
	r := fromAddr("192.0.2.1")
	for range 400 { // held, as live tunnels
		if _, err := p.Pick(r, t0); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"a:80": 200, "b:80": 100, "c:80": 100}
	for _, s := range p.Servers() {
		if got := s.Active(); got < want[s.Addr]-1 || got > want[s.Addr]+1 {
			t.Errorf("%s active = %d; want %d ± 1", s.Addr, got, want[s.Addr])
		}
	}
}

func TestLeastConnIdleRotates(t *testing.T) {
	p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyLeastConn})
	got := shares(t, p, headerKeys(300))
	assertShares(t, got, map[string]float64{"a": 1. / 3, "b": 1. / 3, "c": 1. / 3}, 0.01)
}
