package core

import (
	"sync"
	"time"

	"wsproxy/internal/health"
)

// healthChecks are the running health checkers: one goroutine per
// upstream that has a health_check (internal/health probes; a result marks
// the server up or down unless an operator drained it). These goroutines
// are per upstream, not per connection, and stop when the Server closes,
// or when Apply or SetServers changes their upstream and starts new ones.
type healthChecks struct {
	mu   sync.Mutex
	stop map[string]chan struct{} // by upstream name
}

// start starts the checkers of st's upstreams, stopping the ones running.
func (h *healthChecks) start(s *Server, st *settings) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, stop := range h.stop {
		close(stop)
		delete(h.stop, name)
	}
	for _, u := range st.ups {
		h.startLocked(s, u)
	}
}

// restart replaces the checker of u, after its servers changed.
func (h *healthChecks) restart(s *Server, u *upstream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if stop := h.stop[u.name]; stop != nil {
		close(stop)
		delete(h.stop, u.name)
	}
	h.startLocked(s, u)
}

func (h *healthChecks) startLocked(s *Server, u *upstream) {
	m := u.members()
	hc := m.cfg.HealthCheck
	if hc == nil {
		return
	}
	var targets []health.Target
	for _, srv := range m.list {
		targets = append(targets, health.Target{
			Name: srv.name, Addr: srv.addr.String(), TLS: srv.tls.Load(),
			Report: func(ok bool) { s.healthResult(u, srv, ok) },
		})
	}
	check := health.Check{Path: hc.Path, Interval: time.Duration(hc.Interval), Timeout: time.Duration(hc.Timeout)}
	stop := make(chan struct{})
	if h.stop == nil {
		h.stop = make(map[string]chan struct{})
	}
	h.stop[u.name] = stop
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		health.Run(targets, check, merge(stop, s.done))
	}()
}

// merge returns a channel closed when a or b is.
func merge(a, b <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		select {
		case <-a:
		case <-b:
		}
		close(out)
	}()
	return out
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
