package dnsup

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"wsproxy/config"
)

// msg builds a reply whose answer and additional sections hold the records
// written in zone-file syntax; "--" separates the two sections.
func msg(t testing.TB, records ...string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	section := &m.Answer
	for _, s := range records {
		if s == "--" {
			section = &m.Extra
			continue
		}
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("record %q: %v", s, err)
		}
		*section = append(*section, rr)
	}
	return m
}

func TestAddresses(t *testing.T) {
	tests := []struct {
		name    string
		qtype   uint16
		records []string
		want    []string
		ttl     uint32
	}{
		{"none", dns.TypeA, nil, nil, noTTL},
		{"A", dns.TypeA, []string{"w. 30 A 10.0.0.2", "w. 5 A 10.0.0.1"}, []string{"10.0.0.2", "10.0.0.1"}, 5},
		{"CNAME chain counts in the TTL", dns.TypeA,
			[]string{"w. 60 CNAME pods.", "pods. 3 CNAME p.", "p. 30 A 10.0.0.1"}, []string{"10.0.0.1"}, 3},
		{"A answer ignores AAAA", dns.TypeA, []string{"w. 30 AAAA fd00::1", "w. 40 A 10.0.0.1"}, []string{"10.0.0.1"}, 40},
		{"AAAA", dns.TypeAAAA, []string{"w. 30 AAAA fd00::1", "w. 40 A 10.0.0.1"}, []string{"fd00::1"}, 30},
		{"unspecified skipped", dns.TypeA, []string{"w. 30 A 0.0.0.0", "w. 30 A 10.0.0.1"}, []string{"10.0.0.1"}, 30},
		{"TTL 0", dns.TypeA, []string{"w. 0 A 10.0.0.1"}, []string{"10.0.0.1"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ttl := addresses(msg(t, tc.records...), tc.qtype)
			var gotS []string
			for _, a := range got {
				gotS = append(gotS, a.String())
			}
			if !reflect.DeepEqual(gotS, tc.want) || ttl != tc.ttl {
				t.Errorf("got %v, TTL %d; want %v, TTL %d", gotS, ttl, tc.want, tc.ttl)
			}
		})
	}
}

func TestSRVTargets(t *testing.T) {
	tests := []struct {
		name    string
		records []string
		want    string // targets as "name:port*weight=addrs", space-separated
		ttl     uint32
	}{
		{"none", nil, "", noTTL},
		{"lowest priority only", []string{
			"_ws._tcp.chat. 30 SRV 10 5 8080 b.node.",
			"_ws._tcp.chat. 20 SRV 1 0 8081 a.node.",
			"_ws._tcp.chat. 30 SRV 1 3 8082 C.Node.",
		}, "a.node.:8081*1= c.node.:8082*3=", 20},
		{"additional section, A before AAAA", []string{
			"s. 30 SRV 0 1 80 a.",
			"s. 30 SRV 0 1 81 b.",
			"--",
			"a. 10 A 10.0.0.1", "a. 10 AAAA fd00::1", "A. 5 A 10.0.0.2",
			"b. 7 AAAA fd00::2",
			"c. 1 A 10.0.0.9", // not a target: neither used nor in the TTL
		}, "a.:80*1=10.0.0.1,10.0.0.2 b.:81*1=fd00::2", 5},
		{"no service", []string{"s. 30 SRV 0 0 0 a.", "s. 30 SRV 0 0 80 ."}, "", noTTL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			targets, ttl := srvTargets(msg(t, tc.records...))
			var parts []string
			for _, tg := range targets {
				var as []string
				for _, a := range tg.addrs {
					as = append(as, a.String())
				}
				parts = append(parts, tg.name+":"+strconv.Itoa(int(tg.port))+"*"+strconv.Itoa(tg.weight)+"="+strings.Join(as, ","))
			}
			if got := strings.Join(parts, " "); got != tc.want || ttl != tc.ttl {
				t.Errorf("got %q, TTL %d; want %q, TTL %d", got, ttl, tc.want, tc.ttl)
			}
		})
	}
}

func TestServers(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name    string
		targets []target
		want    []config.Server
	}{
		{"none", nil, nil},
		{"no addresses", []target{{name: "a.", port: 80, weight: 1}}, nil},
		{"sorted by address", []target{
			{port: 80, weight: 1, addrs: []netip.Addr{a("10.0.0.10"), a("fd00::1"), a("10.0.0.9")}},
		}, []config.Server{{Addr: "10.0.0.9:80", Weight: 1}, {Addr: "10.0.0.10:80", Weight: 1}, {Addr: "[fd00::1]:80", Weight: 1}}},
		{"same address and port adds weights", []target{
			{port: 80, weight: 2, addrs: []netip.Addr{a("10.0.0.1")}},
			{port: 80, weight: 3, addrs: []netip.Addr{a("10.0.0.1")}},
			{port: 81, weight: 1, addrs: []netip.Addr{a("10.0.0.1")}},
		}, []config.Server{{Addr: "10.0.0.1:80", Weight: 5}, {Addr: "10.0.0.1:81", Weight: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := servers(tc.targets); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		ttl      uint32
		ok       bool
		want     time.Duration
	}{
		{"interval wins over a longer TTL", 5 * time.Second, 30, true, 5 * time.Second},
		{"interval wins over a shorter TTL", 5 * time.Second, 1, true, 5 * time.Second},
		{"interval after a failure", 5 * time.Second, 0, false, 5 * time.Second},
		{"TTL", 0, 30, true, 30 * time.Second},
		{"TTL 0 is at least the minimum", 0, 0, true, config.MinDNSInterval},
		{"failure without interval", 0, 0, false, config.DefaultDNSRetry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := next(tc.interval, tc.ttl, tc.ok); got != tc.want {
				t.Errorf("next(%s, %d, %v) = %s; want %s", tc.interval, tc.ttl, tc.ok, got, tc.want)
			}
		})
	}
}

// FuzzAnswer feeds arbitrary replies to the answer readers: no panic, and
// the server list is sorted, free of duplicates, dialable and weighted.
func FuzzAnswer(f *testing.F) {
	for _, records := range [][]string{
		{"w. 30 A 10.0.0.2", "w. 5 A 10.0.0.1"},
		{"w. 60 CNAME p.", "p. 30 AAAA fd00::1"},
		{"s. 30 SRV 0 1 80 a.", "s. 30 SRV 1 1 81 b.", "--", "a. 10 A 10.0.0.1", "a. 10 A 10.0.0.1", "b. 7 AAAA fd00::2"},
	} {
		b, err := msg(f, records...).Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := new(dns.Msg)
		if m.Unpack(data) != nil {
			return
		}
		targets, _ := srvTargets(m)
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			addrs, _ := addresses(m, qtype)
			targets = append(targets, target{port: 443, weight: 1, addrs: addrs})
		}
		list := servers(targets)
		var prev netip.AddrPort
		for i, s := range list {
			ap, err := netip.ParseAddrPort(s.Addr)
			switch {
			case err != nil:
				t.Fatalf("server %q: %v", s.Addr, err)
			case ap.Port() == 0 || ap.Addr().IsUnspecified():
				t.Fatalf("server %q cannot be dialled", s.Addr)
			case s.Weight < 1:
				t.Fatalf("server %q has weight %d", s.Addr, s.Weight)
			case i > 0 && prev.Compare(ap) >= 0:
				t.Fatalf("servers not sorted and distinct: %v", list)
			}
			prev = ap
		}
	})
}
