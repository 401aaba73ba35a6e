package dnsup

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"wsproxy/config"
	"wsproxy/internal/dnsup/dnstest"
	"wsproxy/internal/testutil"
)

// hang bounds every wait of these tests; reaching it is a failure, never
// the expected path.
const hang = 20 * time.Second

// change is one OnChange call, with how many queries for the watched name
// the DNS server had answered when it was made.
type change struct {
	servers []config.Server
	served  int
}

// harness runs a Watcher against a dnstest.Server and records what it
// reports.
type harness struct {
	t       *testing.T
	dns     *dnstest.Server
	spec    Spec
	changes chan change
	results chan Result
	log     *testutil.Buffer
	w       *Watcher
}

func newHarness(t *testing.T, tcp bool, spec Spec) *harness {
	h := &harness{t: t, dns: dnstest.Start(t, tcp), spec: spec,
		changes: make(chan change, 100), results: make(chan Result, 1000), log: &testutil.Buffer{}}
	h.spec.Resolver = h.dns.Addr()
	if h.spec.Upstream == "" {
		h.spec.Upstream = "chat"
	}
	return h
}

// start makes and starts the Watcher; its first resolution is done when
// it returns.
func (h *harness) start(timeout time.Duration) {
	h.t.Helper()
	w, err := New(h.spec, Options{
		OnChange: func(upstream string, servers []config.Server) {
			if upstream != h.spec.Upstream {
				h.t.Errorf("OnChange for upstream %q; want %q", upstream, h.spec.Upstream)
			}
			h.changes <- change{servers, h.dns.Served(h.spec.Name, h.spec.Type)}
		},
		Logger:   slog.New(slog.NewTextHandler(h.log, nil)),
		Timeout:  timeout,
		resolved: func(r Result) { h.results <- r },
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.w = w
	w.Start()
	h.t.Cleanup(w.Stop)
}

// change waits for the next OnChange call.
func (h *harness) change() change {
	h.t.Helper()
	select {
	case c := <-h.changes:
		return c
	case <-time.After(hang):
		h.t.Fatalf("no OnChange within %s; log:\n%s", hang, h.log)
	}
	return change{}
}

// result waits for the next resolution and returns its result.
func (h *harness) result() Result {
	h.t.Helper()
	select {
	case r := <-h.results:
		return r
	case <-time.After(hang):
		h.t.Fatalf("no resolution within %s; log:\n%s", hang, h.log)
	}
	return 0
}

// noChange checks that no OnChange call is pending.
func (h *harness) noChange() {
	h.t.Helper()
	select {
	case c := <-h.changes:
		h.t.Errorf("unexpected OnChange with %v", c.servers)
	default:
	}
}

func srv(addr string, weight int) config.Server { return config.Server{Addr: addr, Weight: weight} }

func eqServers(t *testing.T, what string, got, want []config.Server) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v; want %v", what, got, want)
	}
}

// TestMembershipChange: records go from A to A+B and back to B; each change
// is reported by the first resolution after it, so within the interval
// plus one query.
func TestMembershipChange(t *testing.T) {
	h := newHarness(t, false, Spec{Name: "chat.default.svc.cluster.local", Port: 8080, Type: dns.TypeA, Interval: 50 * time.Millisecond})
	h.dns.Set(h.spec.Name, dns.TypeA, "chat.default.svc.cluster.local. 30 A 10.0.0.1")
	h.start(0)
	c := h.change()
	eqServers(t, "first set", c.servers, []config.Server{srv("10.0.0.1:8080", 1)})
	eqServers(t, "Servers()", h.w.Servers(), c.servers)

	for _, step := range []struct {
		records []string
		want    []config.Server
	}{
		{[]string{"chat.default.svc.cluster.local. 30 A 10.0.0.1", "chat.default.svc.cluster.local. 30 A 10.0.0.2"},
			[]config.Server{srv("10.0.0.1:8080", 1), srv("10.0.0.2:8080", 1)}},
		{[]string{"chat.default.svc.cluster.local. 30 A 10.0.0.2"}, []config.Server{srv("10.0.0.2:8080", 1)}},
	} {
		before := h.dns.Served(h.spec.Name, dns.TypeA)
		h.dns.Set(h.spec.Name, dns.TypeA, step.records...)
		c := h.change()
		eqServers(t, "new set", c.servers, step.want)
		// The watcher asks one query at a time: the change came from the
		// first or (if one was in flight while the records changed) the
		// second query after the change.
		if c.served > before+2 {
			t.Errorf("change reported after %d queries; want at most 2", c.served-before)
		}
	}
	if st := h.w.Stats(); st.Servers != 1 || st.Results[ResultOK] < 3 || st.Upstream != "chat" {
		t.Errorf("Stats = %+v; want 1 server, at least 3 ok, upstream chat", st)
	}
	if n := strings.Count(h.log.String(), "servers_from: servers changed"); n != 3 {
		t.Errorf("%d change lines logged; want 3:\n%s", n, h.log)
	}
}

// TestTTL: without an interval, the answer's TTL says when to ask again.
func TestTTL(t *testing.T) {
	h := newHarness(t, false, Spec{Name: "chat.", Port: 80, Type: dns.TypeAAAA})
	h.dns.Set("chat.", dns.TypeAAAA, "chat. 1 AAAA fd00::1")
	h.start(0)
	eqServers(t, "first set", h.change().servers, []config.Server{srv("[fd00::1]:80", 1)})
	h.dns.Set("chat.", dns.TypeAAAA, "chat. 1 AAAA fd00::1", "chat. 1 AAAA fd00::2")
	eqServers(t, "after the TTL", h.change().servers, []config.Server{srv("[fd00::1]:80", 1), srv("[fd00::2]:80", 1)})
}
