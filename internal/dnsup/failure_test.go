package dnsup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"wsproxy/config"
	"wsproxy/internal/dnsup/dnstest"
)

// TestFailuresKeepLastSet: every kind of failure keeps the last good set,
// is counted under its result, and is logged once per change of state.
func TestFailuresKeepLastSet(t *testing.T) {
	const name = "chat.service.consul."
	h := newHarness(t, false, Spec{Name: name, Port: 80, Type: dns.TypeA, Interval: 20 * time.Millisecond})
	h.dns.Set(name, dns.TypeA, name+" 30 A 10.0.0.1", name+" 30 A 10.0.0.2")
	h.start(200 * time.Millisecond)
	want := h.change().servers
	if len(want) != 2 {
		t.Fatalf("first set %v; want two servers", want)
	}

	steps := []struct {
		name   string
		break_ func()
		result Result
	}{
		{"servfail", func() { h.dns.Rcode(name, dns.RcodeServerFailure) }, ResultServFail},
		{"nxdomain", func() { h.dns.Rcode(name, dns.RcodeNameError) }, ResultNXDomain},
		{"refused", func() { h.dns.Rcode(name, dns.RcodeRefused) }, ResultError},
		{"empty", func() { h.dns.Set(name, dns.TypeA); h.dns.Rcode(name, dns.RcodeSuccess) }, ResultEmpty},
		{"timeout", func() { h.dns.Drop(true) }, ResultTimeout},
	}
	warns := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.break_()
			// Wait for three resolutions with the new result: one
			// warning for all of them, the set kept throughout. Results
			// of queries sent before the break are skipped.
			for seen := 0; seen < 3; {
				switch r := h.result(); {
				case r == st.result:
					seen++
				case r == ResultOK && seen > 0:
					t.Fatalf("resolution succeeded while the resolver was broken")
				}
			}
			warns++
			if n := strings.Count(h.log.String(), "level=WARN"); n != warns {
				t.Errorf("%d warnings logged; want %d:\n%s", n, warns, h.log)
			}
			if !strings.Contains(h.log.String(), "result="+st.result.String()) {
				t.Errorf("no warning names result=%s:\n%s", st.result, h.log)
			}
			eqServers(t, "Servers()", h.w.Servers(), want)
			h.noChange()
			if s := h.w.Stats(); s.Results[st.result] < 3 || s.Servers != 2 {
				t.Errorf("Stats = %+v; want at least 3 %s and 2 servers", s, st.result)
			}
		})
	}

	h.dns.Drop(false)
	h.dns.Set(name, dns.TypeA, name+" 30 A 10.0.0.3")
	eqServers(t, "after recovery", h.change().servers, []config.Server{srv("10.0.0.3:80", 1)})
	if !strings.Contains(h.log.String(), "servers_from: resolves again") {
		t.Errorf("recovery not logged:\n%s", h.log)
	}
}

// TestFirstResolutionFails: a watcher whose name does not resolve yet has
// no servers, says so once, and reports the first set that comes.
func TestFirstResolutionFails(t *testing.T) {
	h := newHarness(t, false, Spec{Name: "chat.", Port: 80, Type: dns.TypeA, Interval: 20 * time.Millisecond})
	h.start(0)
	if s := h.w.Servers(); s != nil {
		t.Errorf("Servers() = %v before any answer; want nil", s)
	}
	if got := h.result(); got != ResultNXDomain {
		t.Errorf("first result %s; want nxdomain", got)
	}
	h.dns.Set("chat.", dns.TypeA, "chat. 30 A 10.0.0.1")
	eqServers(t, "first set", h.change().servers, []config.Server{srv("10.0.0.1:80", 1)})
	log := h.log.String()
	if strings.Count(log, "level=WARN") != 1 || !strings.Contains(log, "no servers yet") {
		t.Errorf("want one warning saying there are no servers yet:\n%s", log)
	}
}

func TestSRV(t *testing.T) {
	const name = "_ws._tcp.chat.service.consul."
	h := newHarness(t, false, Spec{Name: name, Type: dns.TypeSRV, Interval: 20 * time.Millisecond})
	// a and b carry their addresses in the additional section, as Consul
	// sends them; c must be asked for; d is of a higher priority value.
	h.dns.Set(name, dns.TypeSRV,
		name+" 30 SRV 1 10 8080 a.node.dc1.consul.",
		name+" 30 SRV 1 0 8081 b.node.dc1.consul.",
		name+" 30 SRV 1 5 8082 c.node.dc1.consul.",
		name+" 30 SRV 2 50 8083 d.node.dc1.consul.",
		"--",
		"a.node.dc1.consul. 30 A 10.0.0.1",
		"b.node.dc1.consul. 30 A 10.0.0.2",
	)
	h.dns.Set("c.node.dc1.consul.", dns.TypeA, "c.node.dc1.consul. 30 A 10.0.0.3")
	h.dns.Set("d.node.dc1.consul.", dns.TypeA, "d.node.dc1.consul. 30 A 10.0.0.4")
	h.start(0)
	eqServers(t, "first set", h.change().servers, []config.Server{
		srv("10.0.0.1:8080", 10), srv("10.0.0.2:8081", 1), srv("10.0.0.3:8082", 5)})
	if n := h.dns.Served("d.node.dc1.consul.", dns.TypeA); n != 0 {
		t.Errorf("the higher priority target was resolved %d times; want never", n)
	}

	// c's node goes away (NXDOMAIN): it is left out, the rest stays.
	h.dns.Rcode("c.node.dc1.consul.", dns.RcodeNameError)
	eqServers(t, "without c", h.change().servers, []config.Server{srv("10.0.0.1:8080", 10), srv("10.0.0.2:8081", 1)})

	// Resolving a target fails: the whole resolution fails, the set stays.
	h.dns.Rcode("c.node.dc1.consul.", dns.RcodeServerFailure)
	for h.result() != ResultServFail {
	}
	eqServers(t, "while c fails", h.w.Servers(), []config.Server{srv("10.0.0.1:8080", 10), srv("10.0.0.2:8081", 1)})

	// An IPv6-only target is served on its AAAA records.
	h.dns.Rcode("c.node.dc1.consul.", dns.RcodeSuccess)
	h.dns.Set("c.node.dc1.consul.", dns.TypeA)
	h.dns.Set("c.node.dc1.consul.", dns.TypeAAAA, "c.node.dc1.consul. 30 AAAA fd00::3")
	eqServers(t, "c on IPv6", h.change().servers, []config.Server{
		srv("10.0.0.1:8080", 10), srv("10.0.0.2:8081", 1), srv("[fd00::3]:8082", 5)})
}

// TestTruncatedOverTCP: an answer too large for UDP is asked again over
// TCP.
func TestTruncatedOverTCP(t *testing.T) {
	h := newHarness(t, true, Spec{Name: "big.", Port: 80, Type: dns.TypeA, Interval: time.Hour})
	var records []string
	var want []config.Server
	for i := 1; i <= 200; i++ {
		ip := "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250+1)
		records = append(records, "big. 30 A "+ip)
		want = append(want, srv(ip+":80", 1))
	}
	h.dns.Set("big.", dns.TypeA, records...)
	h.dns.TruncateUDP(true)
	h.start(0)
	got := h.change().servers
	if len(got) != len(want) {
		t.Fatalf("got %d servers; want %d", len(got), len(want))
	}
}

// TestStopCancelsQuery: Stop returns while a query waits for an answer
// that never comes, and no OnChange follows it.
func TestStopCancelsQuery(t *testing.T) {
	h := newHarness(t, false, Spec{Name: "chat.", Port: 80, Type: dns.TypeA, Interval: time.Millisecond})
	h.dns.Set("chat.", dns.TypeA, "chat. 30 A 10.0.0.1")
	h.start(time.Hour)
	h.change()
	h.dns.Drop(true)
	// Wait until a query is dropped, so that Stop must cancel it.
	h.dns.WaitReceived(t, "chat.", dns.TypeA, h.dns.Received("chat.", dns.TypeA)+1, hang)
	stopped := make(chan struct{})
	go func() { h.w.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(hang):
		t.Fatalf("Stop did not return within %s with a query in flight", hang)
	}
	h.w.Stop() // again: a no-op
	h.noChange()
}

func TestDefaultResolver(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want, err string
	}{
		{"first nameserver", write("a.conf", "search default.svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5\n"), "10.96.0.10:53", ""},
		{"IPv6", write("b.conf", "nameserver fd00::10\n"), "[fd00::10]:53", ""},
		{"none", write("c.conf", "search x\n"), "", "lists no nameserver"},
		{"no file", filepath.Join(dir, "missing.conf"), "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := defaultResolver(tc.path)
			if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("defaultResolver = %q, %v; want %q, error containing %q", got, err, tc.want, tc.err)
			}
		})
	}
	_, err := New(Spec{Upstream: "chat", Name: "chat.", Port: 80, Type: dns.TypeA},
		Options{OnChange: func(string, []config.Server) {}, ResolvConf: filepath.Join(dir, "missing.conf")})
	if err == nil || !strings.Contains(err.Error(), "upstream chat: servers_from: no resolver given") {
		t.Errorf("New without a resolver: %v; want an error naming the upstream", err)
	}
}

// TestStopWithoutStart: a Watcher made but never started (a proxy whose
// Start failed) stops at once.
func TestStopWithoutStart(t *testing.T) {
	d := dnstest.Start(t, false)
	d.Set("chat.", dns.TypeA, "chat. 30 A 10.0.0.1")
	var got []config.Server
	w, err := New(Spec{Upstream: "chat", Name: "chat.", Port: 80, Type: dns.TypeA, Resolver: d.Addr()},
		Options{OnChange: func(_ string, s []config.Server) { got = s }})
	if err != nil {
		t.Fatal(err)
	}
	eqServers(t, "OnChange from New", got, []config.Server{srv("10.0.0.1:80", 1)})
	w.Stop()
	w.Stop()
}
