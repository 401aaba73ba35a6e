package core

import (
	"time"

	"wsproxy/internal/health"
)

// Health checks: one internal/health checker per upstream that has a
// health_check, in the Server's health.Group; a result marks the server up
// or down unless an operator drained it. Apply and SetServers replace the
// checker of an upstream whose servers may have changed; Close stops them.

// checkAll (re)starts the checkers of st's upstreams and stops those of
// upstreams st no longer has.
func (s *Server) checkAll(st *settings) {
	for _, name := range s.health.Names() {
		if st.ups[name] == nil {
			s.health.Set(name, nil, health.Check{})
		}
	}
	for _, u := range st.ups {
		s.check1(u)
	}
}

// check1 (re)starts the checker of u, for its current servers.
func (s *Server) check1(u *upstream) {
	m := u.members()
	hc := m.cfg.HealthCheck
	if hc == nil {
		s.health.Set(u.name, nil, health.Check{})
		return
	}
	var targets []health.Target
	for _, srv := range m.list {
		targets = append(targets, health.Target{
			Name: srv.name, Addr: srv.addr.String(), TLS: srv.tls.Load(),
			Report: func(ok bool) { s.healthResult(u, srv, ok) },
		})
	}
	s.health.Set(u.name, targets, health.Check{Path: hc.Path, Interval: time.Duration(hc.Interval), Timeout: time.Duration(hc.Timeout)})
}

// healthResult applies one probe's result to srv.
func (s *Server) healthResult(u *upstream, srv *server, ok bool) {
	if srv.drained.Load() {
		return // out of service by an operator's drain
	}
	was := srv.b.Healthy(time.Now())
	if ok {
		srv.b.MarkUp()
	} else {
		srv.b.MarkDown()
	}
	if ok != was {
		s.log.Info("health check", "upstream", u.name, "server", srv.name, "up", ok)
	}
}
