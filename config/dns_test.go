package config_test

import (
	"strings"
	"testing"
	"time"

	"wsproxy/config"
)

// dnsHead starts a file whose upstream "a" begins on line 3; its fields
// follow from line 4.
func dnsHead(fields ...string) string {
	return y(append([]string{`listen: [{addr: ":80"}]`, `upstreams:`, `  a:`}, fields...)...)
}

// dnsErrorCases are upstreams with servers_from that Parse must reject
// with exactly these errors.
var dnsErrorCases = []struct {
	name string
	in   string
	want []string
}{
	{"missing name", dnsHead(`    servers_from: {type: A}`),
		[]string{`x.yaml:4: upstreams.a.servers_from.dns: missing (want NAME:PORT, e.g. chat.default.svc.cluster.local:8080)`}},
	{"missing SRV name", dnsHead(`    servers_from:`, `      type: srv`),
		[]string{`x.yaml:4: upstreams.a.servers_from.dns: missing (want a name such as _ws._tcp.chat.service.consul)`}},
	{"A without port", dnsHead(`    servers_from:`, `      dns: chat.default.svc.cluster.local`),
		[]string{`x.yaml:5: upstreams.a.servers_from.dns: want NAME:PORT for A records, got "chat.default.svc.cluster.local" (only SRV records carry a port)`}},
	{"SRV with port", dnsHead(`    servers_from:`, `      type: SRV`, `      dns: chat.service.consul:80`),
		[]string{`x.yaml:6: upstreams.a.servers_from.dns: SRV records carry the port: write the name alone ("chat.service.consul")`}},
	{"bad port", dnsHead(`    servers_from: {dns: "chat:0"}`),
		[]string{`x.yaml:4: upstreams.a.servers_from.dns: port "0" in "chat:0" is not a number from 1 to 65535`}},
	{"named port", dnsHead(`    servers_from: {dns: "chat:http"}`),
		[]string{`x.yaml:4: upstreams.a.servers_from.dns: port "http" in "chat:http" is not a number`}},
	{"IP literal", dnsHead(`    servers_from: {dns: "10.0.0.1:80"}`),
		[]string{`x.yaml:4: upstreams.a.servers_from.dns: "10.0.0.1" is an IP address, not a name to resolve (list it under servers)`}},
	{"bad name", dnsHead(`    servers_from: {dns: "chat..svc:80"}`),
		[]string{`x.yaml:4: upstreams.a.servers_from.dns: invalid name "chat..svc"`}},
	{"unknown type", dnsHead(`    servers_from:`, `      dns: chat:80`, `      type: CNAME`),
		[]string{`x.yaml:6: upstreams.a.servers_from.type: unknown record type "CNAME" (want A, AAAA or SRV)`}},
	{"short interval", dnsHead(`    servers_from: {dns: "chat:80", interval: 100ms}`),
		[]string{`x.yaml:4: upstreams.a.servers_from.interval: must be at least 1s (leave it out to follow the records' TTL), got 100ms`}},
	{"resolver name", dnsHead(`    servers_from:`, `      dns: chat:80`, `      resolver: kube-dns`),
		[]string{`x.yaml:6: upstreams.a.servers_from.resolver: want IP or IP:PORT, got "kube-dns" (a resolver cannot be a name)`}},
	{"resolver port 0", dnsHead(`    servers_from: {dns: "chat:80", resolver: "10.0.0.10:0"}`),
		[]string{`x.yaml:4: upstreams.a.servers_from.resolver: port 0 in "10.0.0.10:0" cannot be queried`}},
	{"with servers", dnsHead(`    servers: [{addr: "h:1"}]`, `    servers_from: {dns: "chat:80"}`),
		[]string{`x.yaml:5: upstreams.a.servers_from: cannot be combined with servers (line 4): the DNS answer is the whole list`}},
	{"unknown field", dnsHead(`    servers_from: {dns: "chat:80", intervall: 5s}`),
		[]string{`x.yaml:4: upstreams.a.servers_from.intervall: unknown field (did you mean interval?)`}},
	{"neither", dnsHead(`    balance: least_conn`),
		[]string{`x.yaml:3: upstreams.a.servers: no servers (list them, or take them from DNS with servers_from)`}},
}

func TestServersFromErrors(t *testing.T) {
	for _, tc := range dnsErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("x.yaml", []byte(tc.in))
			if err == nil {
				t.Fatalf("Parse = %+v, nil; want errors %q", c, tc.want)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Errorf("got %d errors; want %d:\n%s", len(got), len(tc.want), err)
			}
			for i := range min(len(got), len(tc.want)) {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("error %d:\n got  %s\n want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// dnsValueCases are upstreams with servers_from that Parse must accept.
var dnsValueCases = []struct {
	name string
	in   string
	want config.ServersFrom
}{
	{"A defaults", dnsHead(`    servers_from: {dns: "chat.default.svc.cluster.local:8080"}`),
		config.ServersFrom{DNS: "chat.default.svc.cluster.local:8080", Type: "A", Name: "chat.default.svc.cluster.local", Port: 8080}},
	{"AAAA with resolver and interval", dnsHead(`    servers_from: {dns: "chat.:8080", type: aaaa, resolver: "fd00::10", interval: 5s}`),
		config.ServersFrom{DNS: "chat.:8080", Type: "AAAA", Name: "chat.", Port: 8080, Resolver: "[fd00::10]:53", Interval: config.Duration(5 * time.Second)}},
	{"SRV", dnsHead(`    servers_from: {dns: _ws._tcp.chat.service.consul, type: SRV, resolver: "127.0.0.1:8600"}`),
		config.ServersFrom{DNS: "_ws._tcp.chat.service.consul", Type: "SRV", Name: "_ws._tcp.chat.service.consul", Resolver: "127.0.0.1:8600"}},
}

func TestServersFromValues(t *testing.T) {
	for _, tc := range dnsValueCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("x.yaml", []byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			u := c.Upstreams["a"]
			eq(t, "ServersFrom", *u.ServersFrom, tc.want)
			eq(t, "len(Servers)", len(u.Servers), 0)
			if err := c.Validate(); err != nil {
				t.Errorf("second Validate: %v", err)
			}
			eq(t, "ServersFrom after a second Validate", *u.ServersFrom, tc.want)
		})
	}
}

// FuzzServersFrom parses upstreams with servers_from: an accepted one has
// a name, a port exactly when its records do not carry one, a known type
// and a resolver with a port.
func FuzzServersFrom(f *testing.F) {
	for _, tc := range dnsErrorCases {
		f.Add(tc.in)
	}
	for _, tc := range dnsValueCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := config.Parse("f.yaml", []byte(in))
		if err != nil {
			return
		}
		for name, u := range c.Upstreams {
			sf := u.ServersFrom
			if sf == nil {
				continue
			}
			srv := sf.Type == config.RecordSRV
			switch {
			case sf.Type != config.RecordA && sf.Type != config.RecordAAAA && !srv:
				t.Fatalf("%s: type %q accepted", name, sf.Type)
			case sf.Name == "" || strings.Contains(sf.Name, ":"):
				t.Fatalf("%s: name %q from %q", name, sf.Name, sf.DNS)
			case srv != (sf.Port == 0) || sf.Port < 0 || sf.Port > 65535:
				t.Fatalf("%s: port %d for type %s", name, sf.Port, sf.Type)
			case sf.Resolver != "" && !strings.Contains(sf.Resolver, ":"):
				t.Fatalf("%s: resolver %q without a port", name, sf.Resolver)
			case len(u.Servers) > 0:
				t.Fatalf("%s: servers and servers_from accepted together", name)
			}
		}
	})
}
