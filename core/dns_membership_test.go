package core_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/miekg/dns"

	"wsproxy/internal/dnsup/dnstest"
	"wsproxy/internal/echo"
	"wsproxy/internal/testutil"
)

// dnsHang bounds the waits of the servers_from tests; reaching it is a
// failure.
const dnsHang = 20 * time.Second

// dnsCase is a way of naming two echo backends, a and b, in DNS: the
// records with and without b, and the servers_from that reads them.
type dnsCase struct {
	name    string
	start   func(t *testing.T) (a, b *echo.Server)
	records func(d *dnstest.Server, a, b *echo.Server, withB bool)
	from    func(a *echo.Server) string // the servers_from fields, but resolver
}

var dnsCases = []dnsCase{
	{
		// A Consul service: SRV records carry each backend's port.
		name:  "SRV",
		start: func(t *testing.T) (a, b *echo.Server) { return startEcho(t, "a"), startEcho(t, "b") },
		records: func(d *dnstest.Server, a, b *echo.Server, withB bool) {
			const name = "_ws._tcp.chat.service.consul."
			rrs := []string{srvRecord(name, a, 1)}
			extra := []string{aRecord(a)}
			if withB {
				rrs, extra = append(rrs, srvRecord(name, b, 1)), append(extra, aRecord(b))
			}
			d.Set(name, dns.TypeSRV, append(append(rrs, "--"), extra...)...)
		},
		from: func(*echo.Server) string { return `dns: "_ws._tcp.chat.service.consul", type: SRV, interval: 1s` },
	},
	{
		// A Kubernetes headless service: A records, one port for all.
		name:  "A",
		start: twoLoopbackEchoes,
		records: func(d *dnstest.Server, a, b *echo.Server, withB bool) {
			rrs := []string{"chat.default.svc.cluster.local. 1 A " + a.Addr().Addr().String()}
			if withB {
				rrs = append(rrs, "chat.default.svc.cluster.local. 1 A "+b.Addr().Addr().String())
			}
			d.Set("chat.default.svc.cluster.local.", dns.TypeA, rrs...)
		},
		from: func(a *echo.Server) string {
			return fmt.Sprintf(`dns: "chat.default.svc.cluster.local:%d", interval: 1s`, a.Addr().Port())
		},
	},
}

// twoLoopbackEchoes starts echo backends a on 127.0.0.2 and b on
// 127.0.0.3, on the same port, as two pods of one service. The port is
// a's, chosen by the kernel; should 127.0.0.3 have it taken, both start
// again (a keeps its port meanwhile, so none is reused after release).
func twoLoopbackEchoes(t *testing.T) (a, b *echo.Server) {
	for attempt := 0; ; attempt++ {
		var err error
		a, err = echo.New("127.0.0.2:0", "a", 1, testutil.Logger(t))
		if err != nil {
			t.Fatalf("echo a: %v", err)
		}
		if b, err = echo.New(fmt.Sprintf("127.0.0.3:%d", a.Addr().Port()), "b", 1, testutil.Logger(t)); err == nil {
			t.Cleanup(a.Close)
			t.Cleanup(b.Close)
			return a, b
		}
		a.Close()
		if attempt == 100 {
			t.Fatalf("echo b: %v", err)
		}
	}
}

// dialDNSEcho opens a WebSocket through the proxy and returns it with the id
// of the echo backend that accepted it.
func dialDNSEcho(t *testing.T, url string) (*gorilla.Conn, string) {
	t.Helper()
	d := &gorilla.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	return c, resp.Header.Get("X-Echo-Id")
}

// roundTrip sends msg on c and checks that it comes back.
func roundTrip(t *testing.T, c *gorilla.Conn, msg string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(dnsHang))
	c.SetWriteDeadline(time.Now().Add(dnsHang))
	if err := c.WriteMessage(gorilla.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	_, got, err := c.ReadMessage()
	if err != nil || string(got) != msg {
		t.Fatalf("echo of %q: got %q, %v", msg, got, err)
	}
}

// poll calls cond until it holds; after dnsHang it fails the test.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(dnsHang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, dnsHang)
		}
		time.Sleep(20 * time.Millisecond) // polling, not synchronisation: cond decides
	}
}

// TestDNSMembership: an upstream's DNS records go from backend a to a and
// b, and back to a. New connections reach b once the records name it; when
// they no longer do, new connections go to a only while the tunnel open to
// b goes on (on_remove: keep, the default).
func TestDNSMembership(t *testing.T) {
	for _, tc := range dnsCases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.start(t)
			d := dnstest.Start(t, false)
			tc.records(d, a, b, false)
			srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
upstreams:
  chat:
    servers_from: {%s, resolver: %q}
routes:
  - {path: /, upstream: chat}
`, tc.from(a), d.Addr()))
			url := "ws://" + addr + "/"

			ta, id := dialDNSEcho(t, url)
			if id != "a" {
				t.Fatalf("first tunnel reached %q; want a, the only server", id)
			}

			tc.records(d, a, b, true)
			changed := time.Now()
			var tb *gorilla.Conn
			poll(t, "a new tunnel reaches b", func() bool {
				c, id := dialDNSEcho(t, url)
				if id == "b" {
					tb = c
					return true
				}
				c.Close()
				return false
			})
			t.Logf("a new tunnel reached b %s after the records named it (interval 1s)", time.Since(changed).Round(time.Millisecond))
			roundTrip(t, tb, "to b")

			tc.records(d, a, b, false)
			// b is out once four new requests in a row go to a: with b in,
			// round robin alternates.
			inARow := 0
			poll(t, "new requests avoid b", func() bool {
				if httpEchoID(t, "http://"+addr+"/") == "a" {
					inARow++
				} else {
					inARow = 0
				}
				return inARow == 4
			})
			roundTrip(t, tb, "b's tunnel outlives b's removal")
			roundTrip(t, ta, "a's tunnel too")
			m := srv.Metrics()
			if len(m.DNS) != 1 || m.DNS[0].Servers != 1 || m.DNS[0].Resolutions["ok"] < 3 {
				t.Errorf("Metrics().DNS = %+v; want 1 server and at least 3 ok resolutions", m.DNS)
			}
		})
	}
}

// httpEchoID sends one request on a connection of its own and returns the
// id of the echo backend that answered.
func httpEchoID(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: dnsHang, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Echo-Id")
}
