package balance

import (
	"math"
	"net/netip"
)

// Weighted rendezvous hashing, shared by ip_hash, hash and the fallbacks of
// cookie and sid. The package doc says why rendezvous.

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// hashBytes hashes b deterministically: the same on every process and
// instance, unlike hash/maphash.
func hashBytes(b []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return mix64(h)
}

// hashString is hashBytes for a string.
func hashString(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return mix64(h)
}

// mix64 is splitmix64's finaliser: it spreads every input bit over the
// output, which FNV alone does poorly for short keys.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// addrKey is the hash key of a client address. An IPv4-mapped IPv6 address
// hashes as the IPv4 address it carries, and the zone is ignored.
func addrKey(a netip.Addr, prefix24 bool) uint64 {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		if prefix24 {
			return hashBytes(b[:3])
		}
		return hashBytes(b[:])
	}
	b := a.As16()
	return hashBytes(b[:])
}

// tier is one rank of servers: the primaries, or the backups.
type tier struct {
	servers []*Server
	// uniform is set when all weights are equal: scores then compare as raw
	// hashes, which ranks exactly as the weighted formula but needs no log.
	uniform bool
}

// rendezvous returns the available server with the best score for key in
// the first tier that has one, or nil. A server that is down or full is
// skipped, so its keys go to their next-ranked server and come back when it
// is available again, while every other key stays where it was.
//
// A server's score is Weight / -ln(u), u uniform in (0,1) from the hash of
// key and server: the highest wins, and does so with probability Weight /
// sum of Weights (weighted HRW). Since -ln(u) > 1-u, Weight/(1-u) bounds
// the score from above; a server whose bound does not beat the best so far
// cannot win and is skipped without its logarithm, which leaves about
// ln(servers) logarithms per pick instead of one per server. The result is
// the same as computing every score.
func (p *Pool) rendezvous(key uint64, ns int64) *Server {
	for i := range p.tiers {
		t := &p.tiers[i]
		var best *Server
		var bestScore float64
		for _, s := range t.servers {
			if !s.availableAt(ns) {
				continue
			}
			h := mix64(key ^ s.id)
			var sc float64
			if t.uniform {
				sc = float64(h >> 11)
			} else {
				u := (float64(h>>11) + 0.5) * (1.0 / (1 << 53))
				w := float64(s.weight.Load())
				if best != nil && w <= bestScore*(1-u) {
					continue
				}
				sc = w / -math.Log(u)
			}
			if best == nil || sc > bestScore {
				best, bestScore = s, sc
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}
