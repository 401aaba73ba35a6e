package core

import (
	"time"

	"wsproxy/internal/health"
)

// startHealthChecks starts one goroutine per upstream that has a
// health_check (internal/health probes; a result marks the server up or
// down unless an operator drained it). These goroutines are per upstream,
// not per connection, and stop when the Server closes.
func (s *Server) startHealthChecks() {
	for name, cu := range s.cfg.Upstreams {
		u := s.ups[name]
		if cu.HealthCheck == nil || u == nil {
			continue
		}
		var targets []health.Target
		for _, srv := range u.servers {
			targets = append(targets, health.Target{
				Name: srv.name, Addr: srv.addr.String(), TLS: s.tls.ups[srv],
				Report: func(ok bool) { s.healthResult(u, srv, ok) },
			})
		}
		hc := cu.HealthCheck
		check := health.Check{Path: hc.Path, Interval: time.Duration(hc.Interval), Timeout: time.Duration(hc.Timeout)}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			health.Run(targets, check, s.done)
		}()
	}
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
