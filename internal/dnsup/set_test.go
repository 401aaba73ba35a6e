package dnsup

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"wsproxy/config"
	"wsproxy/internal/dnsup/dnstest"
	"wsproxy/internal/testutil"
)

// TestSet follows a Set through configurations: the servers a Plan fills
// in, a Watcher kept when its servers_from stays, replaced (and stale)
// when it changes, a plan refused when a name gives no server.
func TestSet(t *testing.T) {
	d := dnstest.Start(t, false)
	d.Set("chat.", dns.TypeA, "chat. 30 A 10.0.0.1", "chat. 30 A 10.0.0.2")
	conf := func(port int) *config.Config {
		return &config.Config{Upstreams: map[string]*config.Upstream{
			"static": {Name: "static", Servers: []config.Server{{Addr: "10.1.1.1:80"}}},
			"chat": {Name: "chat", ServersFrom: &config.ServersFrom{DNS: "chat.", Type: config.RecordA,
				Interval: config.Duration(time.Hour), Resolver: d.Addr(), Name: "chat.", Port: port}},
		}}
	}
	s := NewSet(SetOptions{OnChange: func(*Watcher, string, []config.Server) {}, Logger: testutil.Logger(t)})
	t.Cleanup(s.Stop)

	in := conf(8080)
	out, p, err := s.Plan(in)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if in.Upstreams["chat"].Servers != nil {
		t.Errorf("Plan changed its argument's upstream: servers %v", in.Upstreams["chat"].Servers)
	}
	got := out.Upstreams["chat"].Servers
	if len(got) != 2 || got[0].Addr != "10.0.0.1:8080" || got[1].Addr != "10.0.0.2:8080" {
		t.Errorf("servers of chat = %v; want 10.0.0.1:8080 and 10.0.0.2:8080", got)
	}
	if out.Upstreams["static"] != in.Upstreams["static"] {
		t.Errorf("Plan copied an upstream without servers_from")
	}
	if stale := s.Commit(p); len(stale) != 0 {
		t.Errorf("first Commit: %d stale Watchers; want 0", len(stale))
	}
	first := p.byName["chat"]
	if !s.Current(first, "chat") {
		t.Fatalf("Current(first) = false after Commit; want true")
	}

	served := d.Served("chat.", dns.TypeA)
	_, p, err = s.Plan(conf(8080))
	if err != nil {
		t.Fatalf("Plan, same servers_from: %v", err)
	}
	if n := d.Served("chat.", dns.TypeA); n != served || p.byName["chat"] != first {
		t.Errorf("Plan, same servers_from: %d new queries, same Watcher %v; want 0, true", n-served, p.byName["chat"] == first)
	}
	if stale := s.Commit(p); len(stale) != 0 {
		t.Errorf("Commit, same servers_from: %d stale Watchers; want 0", len(stale))
	}

	_, p, err = s.Plan(conf(9090))
	if err != nil {
		t.Fatalf("Plan, another port: %v", err)
	}
	stale := s.Commit(p)
	if len(stale) != 1 || stale[0] != first {
		t.Errorf("Commit, another port: stale %v; want the first Watcher", stale)
	}
	for _, w := range stale {
		w.Stop()
	}
	if s.Current(first, "chat") || !s.Current(p.byName["chat"], "chat") {
		t.Errorf("after the replacement: Current(old), Current(new) = %v, %v; want false, true",
			s.Current(first, "chat"), s.Current(p.byName["chat"], "chat"))
	}
	if st := s.Stats(); len(st) != 1 || st[0].Upstream != "chat" || st[0].Servers != 2 {
		t.Errorf("Stats = %+v; want chat with 2 servers", st)
	}

	d.Set("empty.", dns.TypeA)
	bad := conf(8080)
	bad.Upstreams["chat"].ServersFrom.DNS, bad.Upstreams["chat"].ServersFrom.Name = "empty.", "empty."
	if _, _, err := s.Plan(bad); err == nil || !strings.Contains(err.Error(), "gave no server") {
		t.Errorf("Plan, no server: err %v; want one saying it gave no server", err)
	}

	s.Stop()
	if s.Current(p.byName["chat"], "chat") {
		t.Errorf("Current = true after Stop; want false")
	}
}
