package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Record types accepted in ServersFrom.Type.
const (
	RecordA    = "A"    // IPv4 addresses; the port comes from DNS (NAME:PORT)
	RecordAAAA = "AAAA" // IPv6 addresses; the port comes from DNS (NAME:PORT)
	RecordSRV  = "SRV"  // targets, ports and weights of the lowest priority
)

// MinDNSInterval is the shortest ServersFrom.Interval accepted, and the
// shortest a record's TTL is taken to be: a TTL of 0 (Consul's default)
// would otherwise mean a query after every answer.
const MinDNSInterval = time.Second

// ServersFrom takes an upstream's servers from DNS rather than from a fixed
// list: a Kubernetes headless service (A records, one per ready pod) or a
// Consul service (SRV records). Every worker process resolves the name on
// its own, as nginx's workers do, and applies membership changes in place:
// new servers get new connections, removed ones keep their open tunnels.
//
// A failed query (timeout, SERVFAIL, NXDOMAIN, refused) and an answer with
// no records both keep the last good set, with a warning, until a query
// answers with at least one server: a proxy that refused every new
// connection because of one bad answer would turn a DNS hiccup into an
// outage, while a stale address costs one refused connect, which the
// passive health check marks down and the connect retry moves past.
// nginx empties the upstream on NXDOMAIN and on an empty answer instead.
type ServersFrom struct {
	// DNS is the name to resolve: "NAME:PORT" for A and AAAA records
	// ("web.default.svc.cluster.local:8080"), the name alone for SRV
	// records, which carry the port ("_ws._tcp.chat.service.consul" or
	// "chat.service.consul"). The name is taken as absolute: no search
	// domains are tried (as nginx's resolver), so write it in full.
	// Required.
	DNS string `yaml:"dns"`

	// Type is the record type: A (default), AAAA or SRV. With SRV only the
	// targets of the lowest priority value serve; each target's addresses
	// (its A records, or AAAA when it has none) become servers with the
	// target's SRV weight (0 counts as 1).
	Type string `yaml:"type"`

	// Interval, when set, is how often the name is resolved again,
	// whatever the records' TTL says (as nginx's resolver valid=).
	// Default (0): when the answer's smallest TTL expires, but at least
	// MinDNSInterval apart; a failed query is then retried after
	// DefaultDNSRetry. At least 1s.
	Interval Duration `yaml:"interval"`

	// Resolver is the DNS server asked, "IP" or "IP:PORT" (port 53 by
	// default; normalize adds it). Default (""): the first nameserver of
	// /etc/resolv.conf, read when the proxy starts.
	Resolver string `yaml:"resolver"`

	// Name and Port are DNS split by Validate: the name as written, the
	// port 0 for SRV.
	Name string `yaml:"-"`
	Port int    `yaml:"-"`
}

// DefaultDNSRetry is how soon a failed query is retried when
// ServersFrom.Interval is not set.
const DefaultDNSRetry = 5 * time.Second

// normalize fills in the defaults of f.
func (f *ServersFrom) normalize() {
	f.Type = strings.ToUpper(f.Type)
	if f.Type == "" {
		f.Type = RecordA
	}
	if _, err := netip.ParseAddr(f.Resolver); err == nil {
		f.Resolver = net.JoinHostPort(f.Resolver, "53")
	}
}

// serversFrom checks u.ServersFrom, at field f of an upstream.
func (v *validator) serversFrom(f string, u *Upstream) {
	sf := u.ServersFrom
	f += ".servers_from"
	if len(u.Servers) > 0 {
		v.p.addf(f, "cannot be combined with servers (%s): the DNS answer is the whole list", v.first(strings.TrimSuffix(f, ".servers_from")+".servers"))
	}
	switch sf.Type {
	case RecordA, RecordAAAA, RecordSRV:
	default:
		v.p.addf(f+".type", "unknown record type %q (want A, AAAA or SRV)", sf.Type)
	}
	name, port, err := splitDNS(sf.DNS, sf.Type)
	if err != nil {
		v.p.addf(f+".dns", "%v", err)
	}
	sf.Name, sf.Port = name, port
	if sf.Interval != 0 && sf.Interval < Duration(MinDNSInterval) {
		v.p.addf(f+".interval", "must be at least %s (leave it out to follow the records' TTL), got %s", MinDNSInterval, sf.Interval)
	}
	if sf.Resolver != "" {
		if err := checkResolver(sf.Resolver); err != nil {
			v.p.addf(f+".resolver", "%v", err)
		}
	}
}

// splitDNS checks and splits ServersFrom.DNS: "NAME:PORT" for A and AAAA,
// "NAME" for SRV.
func splitDNS(s, typ string) (string, int, error) {
	if s == "" {
		if typ == RecordSRV {
			return "", 0, fmt.Errorf("missing (want a name such as _ws._tcp.chat.service.consul)")
		}
		return "", 0, fmt.Errorf("missing (want NAME:PORT, e.g. chat.default.svc.cluster.local:8080)")
	}
	name, portText, err := net.SplitHostPort(s)
	hasPort := err == nil
	if !hasPort {
		name = s
	}
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return "", 0, fmt.Errorf("%q is an IP address, not a name to resolve (list it under servers)", name)
	}
	if !validHostname(name) {
		return "", 0, fmt.Errorf("invalid name %q", name)
	}
	if typ == RecordSRV {
		if hasPort {
			return "", 0, fmt.Errorf("SRV records carry the port: write the name alone (%q)", name)
		}
		return name, 0, nil
	}
	if !hasPort {
		return "", 0, fmt.Errorf("want NAME:PORT for %s records, got %q (only SRV records carry a port)", typ, s)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return "", 0, fmt.Errorf("port %q in %q is not a number from 1 to 65535", portText, s)
	}
	return name, int(port), nil
}

// checkResolver checks a DNS server's address: an IP literal and a port,
// since a name would itself need a resolver.
func checkResolver(s string) error {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return fmt.Errorf("want IP or IP:PORT, got %q (a resolver cannot be a name)", s)
	}
	if ap.Port() == 0 {
		return fmt.Errorf("port 0 in %q cannot be queried", s)
	}
	return nil
}
