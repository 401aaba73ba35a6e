package balance_test

import (
	"fmt"
	"net/netip"
	"testing"

	"wsproxy/balance"
)

func TestHash(t *testing.T) {
	key := func(kind, name, value string) *fakeReq {
		r := &fakeReq{addr: netip.MustParseAddr("192.0.2.1")}
		m := map[string][]byte{name: []byte(value)}
		switch kind {
		case "header":
			r.header = m
		case "cookie":
			r.cookie = m
		case "query":
			r.query = m
		}
		return r
	}
	tests := []struct {
		name    string
		hashKey string
		req     func(i int) *fakeReq // the i-th request of one key, from ever other addresses
		other   func(i int) *fakeReq // requests with the key elsewhere: must spread as i varies
	}{
		{
			name:    "header",
			hashKey: "header:X-User",
			req:     func(i int) *fakeReq { r := key("header", "X-User", "alice"); r.addr = v4(i); return r },
			other:   func(i int) *fakeReq { return key("cookie", "X-User", fmt.Sprint(i)) },
		},
		{
			name:    "cookie",
			hashKey: "cookie:io",
			req:     func(i int) *fakeReq { r := key("cookie", "io", "s3ss10n"); r.addr = v4(i); return r },
			other:   func(i int) *fakeReq { return key("query", "io", fmt.Sprint(i)) },
		},
		{
			name:    "query",
			hashKey: "query:room",
			req:     func(i int) *fakeReq { r := key("query", "room", "lobby"); r.addr = v4(i); return r },
			other:   func(i int) *fakeReq { return key("header", "room", fmt.Sprint(i)) },
		},
		{
			name:    "ip",
			hashKey: "ip",
			req:     func(i int) *fakeReq { return key("header", "X-User", fmt.Sprint(i)) },
			other:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyHash, HashKey: tt.hashKey})
			first := pickAt(t, p, tt.req(0), t0)
			for i := range 100 {
				if got := pickAt(t, p, tt.req(i), t0); got != first {
					t.Fatalf("request %d of one key went to %s; first to %s", i, got, first)
				}
			}
			if tt.other == nil {
				return
			}
			// The key elsewhere does not count: those requests hash on their
			// (equal) address and so all land on one server.
			ipServer := pickAt(t, p, fromAddr("192.0.2.1"), t0)
			for i := range 100 {
				if got := pickAt(t, p, tt.other(i), t0); got != ipServer {
					t.Fatalf("request without the key went to %s; want the address's %s", got, ipServer)
				}
			}
		})
	}
}

func v4(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }

func TestHashMissingKeyUsesAddress(t *testing.T) {
	hp := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyHash, HashKey: "cookie:io"})
	ip := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyIPHash})
	for i := range 1000 {
		r := &fakeReq{addr: v4(i)}
		if a, b := pickAt(t, hp, r, t0), pickAt(t, ip, r, t0); a != b {
			t.Fatalf("%v: hash without key %s; ip_hash %s", r.addr, a, b)
		}
	}
	if got, want := sequence(t, hp, &fakeReq{}, 3), "abc"; got != want {
		t.Errorf("no key, no address: %q; want round robin %q", got, want)
	}
}

func TestHashDistribution(t *testing.T) {
	tests := []struct {
		name    string
		servers []balance.ServerConfig
		want    map[string]float64
	}{
		{name: "equal", servers: letters(1, 1, 1), want: map[string]float64{"a": 1. / 3, "b": 1. / 3, "c": 1. / 3}},
		{name: "weighted 2 1 1", servers: letters(2, 1, 1), want: map[string]float64{"a": .5, "b": .25, "c": .25}},
		{name: "weighted 5 1", servers: letters(5, 1), want: map[string]float64{"a": 5. / 6, "b": 1. / 6}},
	}
	reqs := headerKeys(100000)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, tt.servers, balance.Config{Policy: balance.PolicyHash, HashKey: "header:X-Key"})
			got := shares(t, p, reqs)
			assertShares(t, got, tt.want, 0.01)
			t.Logf("shares %v", got)
		})
	}
}
