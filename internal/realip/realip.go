// Package realip finds the client of a request behind trusted proxies
// (trusted_proxies in the configuration), as nginx's realip module does
// with set_real_ip_from, real_ip_header X-Forwarded-For and
// real_ip_recursive on.
package realip

import (
	"bytes"
	"net/netip"

	"wsproxy/codec"
)

// Proxies is the set of trusted proxies. The zero value trusts nobody.
// It is read-only once built, so any number of loops may use it.
type Proxies []netip.Prefix

// Contains reports whether a is a trusted proxy.
func (ps Proxies) Contains(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client of a request from peer with headers: the
// peer, unless the peer is a trusted proxy, in which case the rightmost
// X-Forwarded-For entry that is not itself trusted (the leftmost entries
// can be forged by anyone). An entry that is not an address ends the walk
// at the last address found.
func (ps Proxies) Client(peer netip.Addr, headers []codec.Header) netip.Addr {
	if len(ps) == 0 || !ps.Contains(peer) {
		return peer
	}
	client := peer
	for i := len(headers) - 1; i >= 0; i-- {
		h := headers[i]
		if !codec.EqualFold(h.Name, "X-Forwarded-For") {
			continue
		}
		v := h.Value
		for len(v) > 0 {
			j := bytes.LastIndexByte(v, ',')
			item := bytes.TrimSpace(v[j+1:])
			v = v[:max(j, 0)]
			a, ok := parseAddr(item)
			if !ok {
				return client
			}
			client = a.Unmap()
			if !ps.Contains(client) {
				return client
			}
		}
	}
	return client
}
