package core_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/dnsup/dnstest"
	"wsproxy/internal/echo"
	"wsproxy/internal/testutil"
)

// srvRecord is an SRV record of name for an echo backend, with target
// "ID.node." and the backend's port; aRecord is the target's address.
func srvRecord(name string, e *echo.Server, weight int) string {
	return fmt.Sprintf("%s 1 SRV 1 %d %d %s.node.", name, weight, e.Addr().Port(), e.ID)
}

func aRecord(e *echo.Server) string {
	return fmt.Sprintf("%s.node. 1 A %s", e.ID, e.Addr().Addr())
}

// dnsProxyConfig is a proxy with route "/" to an upstream whose servers
// are the SRV records of name at resolver, resolved every second.
func dnsProxyConfig(resolver, name string) string {
	return fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
upstreams:
  chat:
    servers_from: {dns: %q, type: SRV, resolver: %q, interval: 1s}
routes:
  - {path: /, upstream: chat}
`, name, resolver)
}

// TestDNSStart: the first answer is the upstream's servers, both serve,
// and the resolutions show in the metrics.
func TestDNSStart(t *testing.T) {
	const name = "_ws._tcp.chat.service.consul."
	a, b := startEcho(t, "a"), startEcho(t, "b")
	d := dnstest.Start(t, false)
	d.Set(name, dns.TypeSRV, srvRecord(name, a, 1), srvRecord(name, b, 1), "--", aRecord(a), aRecord(b))
	srv, addr := startProxy(t, dnsProxyConfig(d.Addr(), name))

	seen := map[string]int{}
	for range 4 {
		status, body := testutil.Get(t, nil, "http://"+addr+"/")
		if status != 200 {
			t.Fatalf("GET: status %d; want 200", status)
		}
		seen[decodeReport(t, []byte(body)).ID]++
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Errorf("requests by backend %v; want 2 each (round robin over both SRV targets)", seen)
	}
	m := srv.Metrics()
	if len(m.DNS) != 1 || m.DNS[0].Upstream != "chat" || m.DNS[0].Servers != 2 || m.DNS[0].Resolutions["ok"] < 1 {
		t.Errorf("Metrics().DNS = %+v; want chat with 2 servers and at least one ok", m.DNS)
	}
	if len(m.Servers) != 2 {
		t.Errorf("Metrics().Servers = %+v; want the two servers", m.Servers)
	}
}

// TestDNSStartFails: a name that gives no server at start is an error of
// New naming the upstream, and leaves nothing running.
func TestDNSStartFails(t *testing.T) {
	d := dnstest.Start(t, false)
	d.Set("empty.", dns.TypeSRV)
	tests := []struct {
		name, dns, want string
	}{
		{"nxdomain", "missing.", "upstream chat: servers_from: missing. gave no server to start with"},
		{"empty", "empty.", "upstream chat: servers_from: empty. gave no server to start with"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("test.yaml", []byte(dnsProxyConfig(d.Addr(), tc.dns)))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := core.New(cfg, core.Options{Logger: testutil.Logger(t)})
			if err == nil {
				srv.Close()
				t.Fatalf("New succeeded; want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v; want %q", err, tc.want)
			}
		})
	}
}

// serverAddrs lists the addresses of upstream's servers, sorted.
func serverAddrs(t *testing.T, srv *core.Server, upstream string) []string {
	t.Helper()
	list, err := srv.Servers(upstream)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list {
		out = append(out, s.Addr)
	}
	slices.Sort(out)
	return out
}

// TestDNSApply: a reload (Apply) that keeps an upstream's servers_from
// keeps its Watcher and the set it found, without asking DNS again; one
// that changes it resolves the new name and stops the old Watcher; one
// that drops it for a list stops it too; one whose name gives no server
// is refused and changes nothing.
func TestDNSApply(t *testing.T) {
	const one, two = "_ws._tcp.one.", "_ws._tcp.two."
	a, b, c := startEcho(t, "a"), startEcho(t, "b"), startEcho(t, "c")
	d := dnstest.Start(t, false)
	d.Set(one, dns.TypeSRV, srvRecord(one, a, 1), srvRecord(one, c, 1), "--", aRecord(a), aRecord(c))
	d.Set(two, dns.TypeSRV, srvRecord(two, b, 1), "--", aRecord(b))
	yamlOne, yamlTwo := dnsProxyConfig(d.Addr(), one), dnsProxyConfig(d.Addr(), two)
	srv, _ := startProxy(t, yamlOne)
	ac, b1 := []string{a.Addr().String(), c.Addr().String()}, []string{b.Addr().String()}
	slices.Sort(ac)
	if got := serverAddrs(t, srv, "chat"); !slices.Equal(got, ac) {
		t.Fatalf("servers %v; want %v", got, ac)
	}

	// Same servers_from while its name fails: the Watcher's set stays.
	d.Rcode(one, dns.RcodeServerFailure)
	if _, err := srv.Apply(applyYAML(t, yamlOne)); err != nil {
		t.Fatalf("Apply with the same servers_from: %v", err)
	}
	if got := serverAddrs(t, srv, "chat"); !slices.Equal(got, ac) {
		t.Errorf("after Apply of the same file: servers %v; want %v", got, ac)
	}

	// Another name: resolved at once; the old Watcher asks no more.
	if _, err := srv.Apply(applyYAML(t, yamlTwo)); err != nil {
		t.Fatalf("Apply with another name: %v", err)
	}
	if got := serverAddrs(t, srv, "chat"); !slices.Equal(got, b1) {
		t.Errorf("after Apply of another name: servers %v; want %v", got, b1)
	}
	asked := d.Received(one, dns.TypeSRV)
	d.WaitReceived(t, two, dns.TypeSRV, d.Received(two, dns.TypeSRV)+2, dnsHang) // two intervals of the new Watcher
	if n := d.Received(one, dns.TypeSRV); n != asked {
		t.Errorf("the replaced Watcher asked %d more queries; want none", n-asked)
	}

	// A name that does not resolve: refused, nothing changes.
	_, err := srv.Apply(applyYAML(t, dnsProxyConfig(d.Addr(), "missing.")))
	if err == nil || !strings.Contains(err.Error(), "upstream chat: servers_from: missing. gave no server to start with") {
		t.Errorf("Apply with a missing name: %v; want an error naming the upstream", err)
	}
	if got := serverAddrs(t, srv, "chat"); !slices.Equal(got, b1) {
		t.Errorf("after a refused Apply: servers %v; want %v", got, b1)
	}

	// A list instead: the Watcher stops, the list stays.
	static := fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
upstreams: {chat: {servers: [{addr: %q}]}}
routes: [{path: /, upstream: chat}]
`, c.Addr())
	if _, err := srv.Apply(applyYAML(t, static)); err != nil {
		t.Fatalf("Apply with a list: %v", err)
	}
	if got, want := serverAddrs(t, srv, "chat"), []string{c.Addr().String()}; !slices.Equal(got, want) {
		t.Errorf("after Apply of a list: servers %v; want %v", got, want)
	}
	if m := srv.Metrics(); len(m.DNS) != 0 {
		t.Errorf("Metrics().DNS = %+v after servers_from was dropped; want none", m.DNS)
	}
}
