package balance_test

import (
	"net/netip"
	"testing"

	"wsproxy/balance"
)

func mustUpdate(t *testing.T, p *balance.Pool, servers []balance.ServerConfig, cfg balance.Config) *balance.Pool {
	t.Helper()
	np, err := p.Update(servers, cfg)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return np
}

// TestUpdateKeepsServers checks that a server that stays keeps its
// *Server, count and health; that one removed with work keeps counting and
// is the same object if it returns; and that one removed idle is new when
// it returns.
func TestUpdateKeepsServers(t *testing.T) {
	cfg := balance.Config{Policy: balance.PolicyLeastConn}
	p := mustPool(t, letters(1, 1, 1), cfg)
	a, b, c := server(t, p, "a:80"), server(t, p, "b:80"), server(t, p, "c:80")
	for range 2 {
		if !b.Acquire() {
			t.Fatal("Acquire b")
		}
	}
	c.Acquire()
	a.MarkDown()

	// c goes (with one tunnel), d comes, b's weight and cap change.
	next := []balance.ServerConfig{{Addr: "a:80"}, {Addr: "b:80", Weight: 3, MaxConns: 3}, {Addr: "d:80"}}
	p2 := mustUpdate(t, p, next, cfg)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"a is the same Server", server(t, p2, "a:80"), a},
		{"a stays down", a.Healthy(t0), false},
		{"b is the same Server", server(t, p2, "b:80"), b},
		{"b keeps its count", b.Active(), 2},
		{"b's new weight", b.Config().Weight, 3},
		{"b's new max_conns", b.Config().MaxConns, 3},
		{"c left the pool", p2.Has(c), false},
		{"c keeps its count", c.Active(), 1},
		{"d is new", server(t, p2, "d:80").Active(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v; want %v", tt.got, tt.want)
			}
		})
	}
	t.Run("b's new cap applies", func(t *testing.T) {
		if !b.Acquire() || b.Acquire() {
			t.Errorf("Acquire past 3 of max_conns 3 succeeded, or the third failed; active %d", b.Active())
		}
		b.Release()
	})
	t.Run("c returns with its tunnel counted", func(t *testing.T) {
		p3 := mustUpdate(t, p2, letters(1, 1, 1), cfg)
		if got := server(t, p3, "c:80"); got != c || got.Active() != 1 {
			t.Errorf("got %p with %d active; want the old Server %p with 1", got, got.Active(), c)
		}
	})
	t.Run("d removed idle returns new", func(t *testing.T) {
		d := server(t, p2, "d:80")
		p3 := mustUpdate(t, p2, letters(1, 1), cfg)
		p4 := mustUpdate(t, p3, next, cfg)
		if server(t, p4, "d:80") == d {
			t.Error("got the old Server of d; want a new one (it had no work when removed)")
		}
	})
}

// TestUpdateRefused checks that an invalid update changes nothing.
func TestUpdateRefused(t *testing.T) {
	cfg := balance.Config{Policy: balance.PolicyRoundRobin}
	p := mustPool(t, letters(1, 1), cfg)
	tests := []struct {
		name    string
		servers []balance.ServerConfig
		cfg     balance.Config
	}{
		{"duplicate address", []balance.ServerConfig{{Addr: "a:80", Weight: 5}, {Addr: "a:80"}}, cfg},
		{"no servers", nil, cfg},
		{"bad policy", letters(5, 5), balance.Config{Policy: "fastest"}},
		{"negative weight", []balance.ServerConfig{{Addr: "a:80", Weight: 9}, {Addr: "b:80", Weight: -1}}, cfg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := p.Update(tt.servers, tt.cfg); err == nil {
				t.Fatal("got nil error; want one")
			}
			for _, s := range p.Servers() {
				if w := s.Config().Weight; w != 1 {
					t.Errorf("%s weight %d after a refused update; want 1", s.Addr, w)
				}
			}
		})
	}
}

// TestUpdateConsistent checks, for the hash policies, that adding or
// removing a server by Update moves no client of a server that stays: only
// the removed server's clients move, and only clients the added server now
// takes.
func TestUpdateConsistent(t *testing.T) {
	const n = 20000
	byKey := headerKeys(n)
	byAddr := make([]*fakeReq, n)
	for i := range byAddr {
		byAddr[i] = &fakeReq{addr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
	}
	policies := []struct {
		name string
		cfg  balance.Config
		reqs []*fakeReq
	}{
		{"hash header", balance.Config{Policy: balance.PolicyHash, HashKey: "header:X-Key"}, byKey},
		{"ip_hash", balance.Config{Policy: balance.PolicyIPHash}, byAddr},
		{"sid fallback ip_hash", balance.Config{Policy: balance.PolicySid}, byAddr},
	}
	changes := []struct {
		name     string
		from, to []balance.ServerConfig
	}{
		{"add d", letters(1, 1, 1), letters(1, 1, 1, 1)},
		{"remove b", letters(1, 1, 1, 1), []balance.ServerConfig{{Addr: "a:80"}, {Addr: "c:80"}, {Addr: "d:80"}}},
		{"remove c, weighted", letters(2, 1, 1), []balance.ServerConfig{{Addr: "a:80", Weight: 2}, {Addr: "b:80"}}},
	}
	for _, pol := range policies {
		for _, ch := range changes {
			t.Run(pol.name+"/"+ch.name, func(t *testing.T) {
				p := mustPool(t, ch.from, pol.cfg)
				before := assign(t, p, pol.reqs)
				after := assign(t, mustUpdate(t, p, ch.to, pol.cfg), pol.reqs)
				stays := map[string]bool{}
				for _, s := range ch.to {
					stays[s.Addr[:1]] = true
				}
				moved := 0
				for i := range pol.reqs {
					if before[i] == after[i] {
						continue
					}
					moved++
					if stays[before[i]] && stays[after[i]] && inList(ch.from, after[i]) {
						t.Fatalf("client %d moved %s -> %s, both kept", i, before[i], after[i])
					}
				}
				if moved == 0 {
					t.Errorf("no client moved; want the removed server's, or the added one's share")
				}
				t.Logf("%d of %d clients moved", moved, n)
			})
		}
	}
}

func inList(servers []balance.ServerConfig, letter string) bool {
	for _, s := range servers {
		if s.Addr[:1] == letter {
			return true
		}
	}
	return false
}

// TestUpdateKeepsSids checks that learnt sids route to the same server
// after an update that keeps it.
func TestUpdateKeepsSids(t *testing.T) {
	cfg := balance.Config{Policy: balance.PolicySid}
	p := mustPool(t, letters(1, 1, 1), cfg)
	c := server(t, p, "c:80")
	p.Learn([]byte("sid-1"), c, t0)
	p2 := mustUpdate(t, p, letters(1, 1, 1, 1), cfg)
	r := &fakeReq{query: map[string][]byte{"sid": []byte("sid-1")}}
	if got := pickAt(t, p2, r, t0); got != "c" {
		t.Errorf("got %s; want c (the sid learnt before the update)", got)
	}
}
