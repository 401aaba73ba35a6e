package balance_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"wsproxy/balance"
)

func TestIPHash(t *testing.T) {
	tests := []struct {
		name     string
		prefix24 bool
		a, b     string
		wantSame bool // whether a and b must share a server (false: checked over many pairs)
	}{
		{name: "same IPv4", a: "198.51.100.7", b: "198.51.100.7", wantSame: true},
		{name: "same IPv6", a: "2001:db8::1", b: "2001:db8::1", wantSame: true},
		{name: "IPv4-mapped IPv6 is its IPv4", a: "::ffff:198.51.100.7", b: "198.51.100.7", wantSame: true},
		{name: "zone ignored", a: "fe80::1%eth0", b: "fe80::1", wantSame: true},
		{name: "prefix24 joins a /24", prefix24: true, a: "198.51.100.7", b: "198.51.100.250", wantSame: true},
		{name: "prefix24 leaves IPv6 whole", prefix24: true, a: "2001:db8::1", b: "2001:db8::2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyIPHash, IPv4Prefix24: tt.prefix24})
			ga, gb := pickAt(t, p, fromAddr(tt.a), t0), pickAt(t, p, fromAddr(tt.b), t0)
			if tt.wantSame && ga != gb {
				t.Errorf("%s -> %s, %s -> %s; want the same server", tt.a, ga, tt.b, gb)
			}
			for range 10 {
				if g := pickAt(t, p, fromAddr(tt.a), t0); g != ga {
					t.Fatalf("%s moved from %s to %s", tt.a, ga, g)
				}
			}
		})
	}
}

// TestIPHashSpread checks how whole addresses and /24 prefixes spread.
func TestIPHashSpread(t *testing.T) {
	v4 := func(n int) []*fakeReq { // n addresses in 10.0.0.0/8, 256 per /24
		reqs := make([]*fakeReq, n)
		for i := range reqs {
			reqs[i] = &fakeReq{addr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
		}
		return reqs
	}
	v6 := func(n int) []*fakeReq {
		reqs := make([]*fakeReq, n)
		for i := range reqs {
			var b [16]byte
			binary.BigEndian.PutUint16(b[:], 0x2001)
			binary.BigEndian.PutUint64(b[8:], uint64(i))
			reqs[i] = &fakeReq{addr: netip.AddrFrom16(b)}
		}
		return reqs
	}
	third := map[string]float64{"a": 1. / 3, "b": 1. / 3, "c": 1. / 3}
	tests := []struct {
		name     string
		prefix24 bool
		reqs     []*fakeReq
		want     map[string]float64
		margin   float64
	}{
		{name: "IPv4 whole", reqs: v4(30000), want: third, margin: 0.01},
		{name: "IPv4 one /24 whole", reqs: v4(256), want: third, margin: 0.1},
		{name: "IPv4 one /24 prefix24", prefix24: true, reqs: v4(256), want: nil},
		{name: "IPv4 many /24 prefix24", prefix24: true, reqs: v4(256 * 3000), want: third, margin: 0.02},
		{name: "IPv6", reqs: v6(30000), want: third, margin: 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyIPHash, IPv4Prefix24: tt.prefix24})
			got := shares(t, p, tt.reqs)
			if tt.want == nil {
				if len(got) != 1 {
					t.Errorf("one /24 spread over %v; want one server", got)
				}
				return
			}
			assertShares(t, got, tt.want, tt.margin)
		})
	}
}

func TestIPHashNoAddressFallsBackToRoundRobin(t *testing.T) {
	p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyIPHash})
	if got, want := sequence(t, p, &fakeReq{}, 6), "abcabc"; got != want {
		t.Errorf("sequence = %q; want %q", got, want)
	}
}

// TestIPHashOrderIndependent checks that a server's keys follow its Addr,
// not its place in the list, and are equal across pools (workers, instances).
func TestIPHashOrderIndependent(t *testing.T) {
	fwd := mustPool(t, letters(1, 2, 1), balance.Config{Policy: balance.PolicyIPHash})
	rev := mustPool(t, []balance.ServerConfig{{Addr: "c:80"}, {Addr: "b:80", Weight: 2}, {Addr: "a:80"}}, balance.Config{Policy: balance.PolicyIPHash})
	for i := range 2000 {
		r := fromAddr(fmt.Sprintf("203.0.%d.%d", i/256, i%256))
		if a, b := pickAt(t, fwd, r, t0), pickAt(t, rev, r, t0); a != b {
			t.Fatalf("%v: %s in one order, %s in the other", r.addr, a, b)
		}
	}
}
