package balance_test

import (
	"fmt"
	"net/netip"
	"testing"

	"wsproxy/balance"
)

type pickCase struct {
	name string
	pool *balance.Pool
	req  *fakeReq
}

// pickCases is one pool and request per policy and path through it, on
// three servers of weights 2, 1, 1 (weights make the hash policies take the
// logarithm path).
func pickCases(tb testing.TB) []pickCase {
	servers := letters(2, 1, 1)
	v4 := fromAddr("198.51.100.7")
	v6 := fromAddr("2001:db8::7")
	withKey := fromAddr("198.51.100.7")
	withKey.header = map[string][]byte{"X-Key": []byte("user-1234")}
	withKey.query = map[string][]byte{"room": []byte("lobby")}

	cp := mustPool(tb, servers, balance.Config{Policy: balance.PolicyCookie, CookieName: "srv", CookieSecret: secret})
	withCookie := fromAddr("198.51.100.7")
	withCookie.cookie = map[string][]byte{"srv": []byte(cp.CookieValue(cp.Servers()[1]))}

	sp := mustPool(tb, servers, balance.Config{Policy: balance.PolicySid})
	sp.Learn([]byte("lv_VI97HAXpY6yYWAAAC"), sp.Servers()[2], t0)
	withSid := fromAddr("198.51.100.7")
	withSid.query = map[string][]byte{"EIO": []byte("4"), "sid": []byte("lv_VI97HAXpY6yYWAAAC")}

	return []pickCase{
		{"round_robin", mustPool(tb, servers, balance.Config{}), v4},
		{"least_conn", mustPool(tb, servers, balance.Config{Policy: balance.PolicyLeastConn}), v4},
		{"ip_hash", mustPool(tb, servers, balance.Config{Policy: balance.PolicyIPHash}), v4},
		{"ip_hash_v6", mustPool(tb, servers, balance.Config{Policy: balance.PolicyIPHash}), v6},
		{"ip_hash_prefix24", mustPool(tb, servers, balance.Config{Policy: balance.PolicyIPHash, IPv4Prefix24: true}), v4},
		{"ip_hash_uniform", mustPool(tb, letters(1, 1, 1), balance.Config{Policy: balance.PolicyIPHash}), v4},
		{"hash_header", mustPool(tb, servers, balance.Config{Policy: balance.PolicyHash, HashKey: "header:X-Key"}), withKey},
		{"hash_query", mustPool(tb, servers, balance.Config{Policy: balance.PolicyHash, HashKey: "query:room"}), withKey},
		{"hash_missing_key", mustPool(tb, servers, balance.Config{Policy: balance.PolicyHash, HashKey: "cookie:io"}), withKey},
		{"cookie", cp, withCookie},
		{"cookie_fallback", cp, v4},
		{"sid", sp, withSid},
		{"sid_fallback", sp, v4},
	}
}

func BenchmarkPick(b *testing.B) {
	for _, c := range pickCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := c.pool.Pick(c.req, t0)
				if err != nil {
					b.Fatal(err)
				}
				s.Release()
			}
		})
	}
}

// BenchmarkPickParallel shows what sharing one pool between loops costs.
func BenchmarkPickParallel(b *testing.B) {
	for _, c := range pickCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s, err := c.pool.Pick(c.req, t0)
					if err != nil {
						b.Error(err)
						return
					}
					s.Release()
				}
			})
		})
	}
}

// BenchmarkRendezvousServers shows the O(servers) cost of the hash policies.
func BenchmarkRendezvousServers(b *testing.B) {
	for _, n := range []int{3, 16, 64} {
		weights := make([]int, n)
		for i := range weights {
			weights[i] = 1 + i%3
		}
		servers := make([]balance.ServerConfig, n)
		for i := range servers {
			servers[i] = balance.ServerConfig{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 80).String(), Weight: weights[i]}
		}
		p := mustPool(b, servers, balance.Config{Policy: balance.PolicyIPHash})
		r := fromAddr("198.51.100.7")
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, _ := p.Pick(r, t0)
				s.Release()
			}
		})
	}
}
