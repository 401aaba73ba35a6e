package dnsup

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"wsproxy/config"
)

// noTTL stands for "no record seen" in the TTL minimum of an answer.
const noTTL = ^uint32(0)

// addresses returns the addresses of type qtype (dns.TypeA or
// dns.TypeAAAA) in m's answer section and the smallest TTL of the records
// that led to them. Records are taken whatever their owner name, so a
// CNAME chain the resolver followed (name → alias → addresses) counts,
// and its CNAME records count in the TTL: when the alias changes, so may
// the addresses. 0.0.0.0 and :: are skipped: nothing can dial them.
func addresses(m *dns.Msg, qtype uint16) ([]netip.Addr, uint32) {
	var out []netip.Addr
	ttl := noTTL
	for _, rr := range m.Answer {
		var a netip.Addr
		switch r := rr.(type) {
		case *dns.A:
			if qtype != dns.TypeA {
				continue
			}
			a, _ = netip.AddrFromSlice(r.A.To4())
		case *dns.AAAA:
			if qtype != dns.TypeAAAA {
				continue
			}
			a, _ = netip.AddrFromSlice(r.AAAA.To16())
		case *dns.CNAME:
			ttl = min(ttl, r.Hdr.Ttl)
			continue
		default:
			continue
		}
		if !a.IsValid() || a.IsUnspecified() {
			continue
		}
		out = append(out, a)
		ttl = min(ttl, rr.Header().Ttl)
	}
	return out, ttl
}

// target is one SRV target of the lowest priority: where to connect and
// its share.
type target struct {
	name   string // canonical: lower case, absolute
	port   uint16
	weight int          // the SRV weight, 0 counted as 1
	addrs  []netip.Addr // from the additional section, if it had them
}

// srvTargets returns the targets of the lowest priority value among m's
// SRV answers, in answer order, each with the addresses the additional
// section gives for it (its A records, or its AAAA records when it has no
// A record), and the smallest TTL of the records used. Targets of higher
// priority values are left out: they are meant only for when every
// target of the lowest is unreachable, which health checks, not DNS,
// decide here. A target "." (RFC 2782: the service is not offered) and
// port 0 are skipped.
func srvTargets(m *dns.Msg) ([]target, uint32) {
	var srvs []*dns.SRV
	for _, rr := range m.Answer {
		if r, ok := rr.(*dns.SRV); ok && r.Target != "." && r.Port != 0 {
			srvs = append(srvs, r)
		}
	}
	if len(srvs) == 0 {
		return nil, noTTL
	}
	lowest := slices.MinFunc(srvs, func(a, b *dns.SRV) int { return cmp.Compare(a.Priority, b.Priority) }).Priority
	ttl := noTTL
	var out []target
	for _, r := range srvs {
		if r.Priority != lowest {
			continue
		}
		ttl = min(ttl, r.Hdr.Ttl)
		t := target{name: dns.CanonicalName(r.Target), port: r.Port, weight: max(int(r.Weight), 1)}
		var t4, t6 uint32
		t.addrs, t4 = extra(m, t.name, dns.TypeA)
		if len(t.addrs) == 0 {
			t.addrs, t6 = extra(m, t.name, dns.TypeAAAA)
			t4 = t6
		}
		if len(t.addrs) > 0 {
			ttl = min(ttl, t4)
		}
		out = append(out, t)
	}
	return out, ttl
}

// extra returns the addresses of type qtype that m's additional section
// gives for name, and their smallest TTL.
func extra(m *dns.Msg, name string, qtype uint16) ([]netip.Addr, uint32) {
	var sub dns.Msg
	for _, rr := range m.Extra {
		if rr.Header().Rrtype == qtype && strings.EqualFold(dns.CanonicalName(rr.Header().Name), name) {
			sub.Answer = append(sub.Answer, rr)
		}
	}
	return addresses(&sub, qtype)
}

// servers turns targets into the upstream's server list: one server per
// address and port, sorted by address so that equal sets compare equal.
// Two targets that land on the same address and port are one server with
// the sum of their weights.
func servers(targets []target) []config.Server {
	var out []config.Server
	index := make(map[netip.AddrPort]int)
	for _, t := range targets {
		for _, a := range t.addrs {
			ap := netip.AddrPortFrom(a, t.port)
			if i, dup := index[ap]; dup {
				out[i].Weight += t.weight
				continue
			}
			index[ap] = len(out)
			out = append(out, config.Server{Addr: ap.String(), Weight: t.weight})
		}
	}
	slices.SortFunc(out, func(a, b config.Server) int {
		return netip.MustParseAddrPort(a.Addr).Compare(netip.MustParseAddrPort(b.Addr))
	})
	return out
}

// equal reports whether two sorted server lists are the same set with the
// same weights.
func equal(a, b []config.Server) bool {
	return slices.EqualFunc(a, b, func(x, y config.Server) bool { return x.Addr == y.Addr && x.Weight == y.Weight })
}
