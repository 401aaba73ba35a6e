package core_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/dnsup/dnstest"
	"wsproxy/internal/echo"
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
		status, body := httpGet(t, "http://"+addr+"/")
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
			srv, err := core.New(cfg, core.Options{Logger: testLogger(t)})
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
