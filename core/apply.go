package core

import (
	"fmt"
	"time"

	"wsproxy/config"
	"wsproxy/internal/closerule"
	"wsproxy/internal/dnsup"
	"wsproxy/internal/reload"
)

// Apply makes cfg, validated, the configuration of the running Server,
// in place: no connection is closed. New requests and tunnels see the new
// routes, upstreams, balancing, health checks, timeouts, limits, WebSocket
// policies, log sampling and certificates; a request or tunnel in flight
// keeps the route, server, timeouts and policy it started with, and
// counts against its server until it ends (least_conn, max_conns). Each
// loop switches at once, between two events, and Apply returns once all
// have. It returns what changed.
//
// A server an upstream no longer has keeps its open tunnels, or with
// on_remove: close sends them Close 1001 spread over remove_window, in the
// background. Servers added by SetServers (DNS, the runtime API) are
// replaced by cfg's; an upstream with servers_from takes the set its
// Watcher last found when its servers_from is unchanged, and is resolved
// anew (it must then give a server) when it changed (dns.go).
//
// A configuration that changes listeners, workers, loops, the admin
// listener or log.format is refused with a *reload.GenerationError; one that fails to load
// (a certificate, a CA file, an upstream name that does not resolve)
// with that error. Either way nothing changes. Safe from any goroutine;
// calls are serialised with each other and with SetServers.
func (s *Server) Apply(cfg *config.Config) (reload.Diff, error) {
	var stale []*dnsup.Watcher
	defer func() { // after applyMu is released: one may wait for it
		for _, w := range stale {
			w.Stop()
		}
	}()
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	prev := s.cur.Load()
	d := reload.Compare(prev.cfg, cfg)
	if len(d.Generation) > 0 {
		return d, &reload.GenerationError{Fields: d.Generation}
	}
	cfg, dns, err := s.dns.Plan(cfg)
	if err != nil {
		return d, err
	}
	d = reload.Compare(prev.cfg, cfg) // with the servers DNS gives
	stores, err := s.tls.conf.Load(cfg)
	if err != nil {
		dns.Discard()
		return d, err
	}
	st, err := s.newSettings(cfg, prev)
	if err != nil {
		dns.Discard()
		return d, err
	}
	removed := s.removedServers(st)
	s.commit(st)
	stale = s.dns.Commit(dns)
	s.tls.conf.Adopt(stores, s.log) // key files are read again as SIGUSR2 does
	s.checkAll(st)
	s.onRemove(removed)
	return d, nil
}

// removedServers lists, by upstream, the servers that the prepared
// members of st's upstreams take out, and the upstreams st drops.
func (s *Server) removedServers(st *settings) map[*upstream][]*server {
	out := make(map[*upstream][]*server)
	for _, u := range st.ups {
		if u.next != nil && len(u.next.removed) > 0 {
			out[u] = u.next.removed
		}
	}
	for name, u := range s.cur.Load().ups {
		if st.ups[name] == nil {
			out[u] = u.members().list
		}
	}
	return out
}

// onRemove applies on_remove to servers taken out of their upstreams:
// with close, their tunnels get Close 1001 spread over remove_window (in
// the background); with keep, nothing.
func (s *Server) onRemove(removed map[*upstream][]*server) {
	for u, list := range removed {
		cu := u.members().cfg
		if cu.OnRemove != config.OnRemoveClose {
			continue
		}
		gone := make(map[*server]bool, len(list))
		for _, srv := range list {
			gone[srv] = true
		}
		match := func(c *conn) bool { return c.st == stTunnel && c.up != nil && gone[c.up.srv] }
		window := time.Duration(cu.RemoveWindow)
		s.log.Info("closing the tunnels of removed servers (on_remove: close)", "upstream", u.name,
			"servers", len(list), "tunnels", s.countConns(match), "window", window)
		go s.spreadGoingAway(window, match, closerule.ServerRemoved)
	}
}

// SetServers replaces the servers of upstream in place, as Apply does for
// a whole configuration: servers that stay keep their counts and health,
// new ones start taking requests, removed ones are handled by the
// upstream's on_remove. It is the primitive behind upstreams from DNS and
// the runtime API; the next Apply replaces the list with the
// configuration's. Safe from any goroutine.
func (s *Server) SetServers(name string, servers []config.Server) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.setServers(name, servers)
}

// setServers is SetServers with applyMu held.
func (s *Server) setServers(name string, servers []config.Server) error {
	st := s.cur.Load()
	u := st.ups[name]
	if u == nil {
		return fmt.Errorf("%w: %q", ErrUnknownUpstream, name)
	}
	cu := u.members().cfg
	p, err := s.check(name, u, st.cfg, cu, servers)
	if err != nil {
		return err
	}
	s.prepare(u, p)
	removed := map[*upstream][]*server{u: u.next.removed}
	u.commit()
	s.check1(u)
	s.onRemove(removed)
	return nil
}
