package balance

import "time"

// ipHash pins a client address to a server by weighted rendezvous hashing
// (see the package doc). The whole address is hashed, IPv4 or IPv6; an
// IPv4-mapped IPv6 address counts as its IPv4 address. With prefix24 only
// the first three octets of an IPv4 address are hashed, as nginx's ip_hash
// does, so that clients of one /24 share a server.
//
// A request without a valid client address (a unix socket listener) has
// nothing to hash and is served by fallback, round robin.
type ipHash struct {
	prefix24 bool
	fallback Selector
}

// Select implements Selector.
func (h *ipHash) Select(p *Pool, r Request, now time.Time) *Server {
	a := r.ClientAddr()
	if !a.IsValid() {
		return h.fallback.Select(p, r, now)
	}
	return p.rendezvous(addrKey(a, h.prefix24), now.UnixNano())
}
