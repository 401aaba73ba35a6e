package balance_test

import (
	"testing"

	"wsproxy/balance"
)

func TestRoundRobin(t *testing.T) {
	tests := []struct {
		name    string
		servers []balance.ServerConfig
		down    []string // marked down before picking
		n       int
		want    string
	}{
		{name: "equal weights", servers: letters(1, 1, 1), n: 6, want: "abcabc"},
		{name: "zero weight means 1", servers: letters(0, 0), n: 4, want: "abab"},
		{name: "nginx smooth 5 1 1", servers: letters(5, 1, 1), n: 14, want: "aabacaaaabacaa"},
		{name: "weights 2 1", servers: letters(2, 1), n: 6, want: "abaaba"},
		{name: "down server sits out", servers: letters(1, 1, 1), down: []string{"b:80"}, n: 4, want: "acac"},
		{name: "all down", servers: letters(1, 1), down: []string{"a:80", "b:80"}, n: 2, want: "--"},
		{
			name:    "backup unused while a primary is up",
			servers: []balance.ServerConfig{{Addr: "a:80"}, {Addr: "b:80"}, {Addr: "c:80", Backup: true}},
			down:    []string{"a:80"}, n: 3, want: "bbb",
		},
		{
			name:    "backup when all primaries are down",
			servers: []balance.ServerConfig{{Addr: "a:80"}, {Addr: "b:80"}, {Addr: "c:80", Backup: true}},
			down:    []string{"a:80", "b:80"}, n: 3, want: "ccc",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, tt.servers, balance.Config{Policy: balance.PolicyRoundRobin})
			for _, a := range tt.down {
				server(t, p, a).MarkDown()
			}
			if got := sequence(t, p, fromAddr("192.0.2.1"), tt.n); got != tt.want {
				t.Errorf("sequence = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestRoundRobinRecoveryRejoins(t *testing.T) {
	p := mustPool(t, letters(1, 1, 1), balance.Config{})
	r := fromAddr("192.0.2.1")
	server(t, p, "b:80").MarkDown()
	if got, want := sequence(t, p, r, 4), "acac"; got != want {
		t.Fatalf("while b down: %q; want %q", got, want)
	}
	server(t, p, "b:80").MarkUp()
	got := sequence(t, p, r, 30)
	counts := map[rune]int{}
	for _, c := range got {
		counts[c]++
	}
	if counts['a'] != 10 || counts['b'] != 10 || counts['c'] != 10 {
		t.Errorf("after recovery %q: counts %v; want 10 each", got, counts)
	}
}
