package realip

import (
	"net/netip"
	"testing"

	"wsproxy/codec"
)

func TestClient(t *testing.T) {
	trusted := Proxies{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	xff := func(vs ...string) []codec.Header {
		hs := []codec.Header{{Name: []byte("Host"), Value: []byte("h")}}
		for _, v := range vs {
			hs = append(hs, codec.Header{Name: []byte("x-forwarded-for"), Value: []byte(v)})
		}
		return hs
	}
	tests := []struct {
		name    string
		proxies Proxies
		peer    string
		headers []codec.Header
		want    string
	}{
		{"no trusted proxies: the peer", nil, "192.0.2.9", xff("1.1.1.1"), "192.0.2.9"},
		{"untrusted peer: XFF ignored", trusted, "203.0.113.7", xff("1.1.1.1"), "203.0.113.7"},
		{"trusted peer without XFF: the peer", trusted, "192.0.2.9", xff(), "192.0.2.9"},
		{"rightmost untrusted entry", trusted, "192.0.2.9", xff("1.1.1.1, 198.51.100.4, 192.0.2.3"), "198.51.100.4"},
		{"entries without spaces", trusted, "192.0.2.9", xff("1.1.1.1,198.51.100.4,192.0.2.3"), "198.51.100.4"},
		{"later field first", trusted, "192.0.2.9", xff("1.1.1.1", "192.0.2.3, 198.51.100.4"), "198.51.100.4"},
		{"walks into the earlier field", trusted, "192.0.2.9", xff("198.51.100.4", "192.0.2.3"), "198.51.100.4"},
		{"all trusted: the leftmost", trusted, "192.0.2.9", xff("192.0.2.1, 192.0.2.3"), "192.0.2.1"},
		{"garbage ends the walk", trusted, "192.0.2.9", xff("1.1.1.1, unknown, 192.0.2.3"), "192.0.2.3"},
		{"empty entry ends the walk", trusted, "192.0.2.9", xff("1.1.1.1, , 192.0.2.3"), "192.0.2.3"},
		{"port is not an address", trusted, "192.0.2.9", xff("1.1.1.1:80"), "192.0.2.9"},
		{"IPv6 entry", trusted, "2001:db8::1", xff("2001:db8::2, 2a00:1450::5"), "2a00:1450::5"},
		{"IPv4-mapped entry unmapped", trusted, "192.0.2.9", xff("::ffff:198.51.100.4"), "198.51.100.4"},
		{"IPv4-mapped trusted entry", trusted, "192.0.2.9", xff("1.1.1.1, ::ffff:192.0.2.3"), "1.1.1.1"},
		{"leading zero refused", trusted, "192.0.2.9", xff("1.1.1.01"), "192.0.2.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.proxies.Client(netip.MustParseAddr(tt.peer), tt.headers)
			if want := netip.MustParseAddr(tt.want); got != want {
				t.Errorf("Client(%s) = %s; want %s", tt.peer, got, want)
			}
		})
	}
}

// TestClientAllocs: finding the client behind a trusted proxy allocates
// nothing; it runs on every request from one.
func TestClientAllocs(t *testing.T) {
	trusted := Proxies{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct{ name, peer, xff string }{
		{"IPv4", "192.0.2.9", "1.1.1.1, 198.51.100.4, 192.0.2.3"},
		{"IPv6", "2001:db8::1", "2a00:1450:4001:80b::200e, 2001:db8::2"},
		{"IPv4-mapped", "192.0.2.9", "::ffff:198.51.100.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer := netip.MustParseAddr(tt.peer)
			hs := []codec.Header{{Name: []byte("X-Forwarded-For"), Value: []byte(tt.xff)}}
			if a := testing.AllocsPerRun(100, func() { trusted.Client(peer, hs) }); a != 0 {
				t.Errorf("allocs per Client = %v; want 0", a)
			}
		})
	}
}

func BenchmarkClient(b *testing.B) {
	trusted := Proxies{netip.MustParsePrefix("192.0.2.0/24")}
	peer := netip.MustParseAddr("192.0.2.9")
	hs := []codec.Header{{Name: []byte("X-Forwarded-For"), Value: []byte("1.1.1.1, 198.51.100.4, 192.0.2.3")}}
	b.ReportAllocs()
	for b.Loop() {
		trusted.Client(peer, hs)
	}
}
