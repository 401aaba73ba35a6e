package core

import (
	"maps"
	"slices"
	"time"

	"wsproxy/core/metrics"
)

// Metrics returns a snapshot of the counters. It may be called from any
// goroutine, at any time after New; it takes no lock a loop takes.
func (s *Server) Metrics() metrics.Snapshot {
	snap := metrics.Snapshot{
		Processes:           1,
		ConnectionsAccepted: s.stats.accepted.Load(),
		ConnectionsOpen:     s.stats.open.Load(),
		TLSHandshakeErrors:  s.tls.handshakeErrors.Load(),
		TunnelsMoved:        s.stats.moved.Load(),
	}
	routes, servers := s.listedObs()
	for _, o := range routes {
		snap.Routes = append(snap.Routes, o.Metrics())
	}
	now := time.Now()
	for _, srv := range servers {
		snap.Servers = append(snap.Servers, srv.obs.Metrics(srv.b.Healthy(now)))
	}
	snap.WebSocket = s.obs.WebSocket()
	s.dnsMetrics(&snap)
	return snap
}

// listedObs returns the counters a snapshot lists: the routes of the
// current configuration, in order, then routes of earlier ones with
// tunnels still open, then requests no route took; and the servers of
// the current upstreams, by upstream name and in configuration order.
func (s *Server) listedObs() ([]*metrics.Route, []*server) {
	st := s.cur.Load()
	var routes []*metrics.Route
	seen := make(map[*metrics.Route]bool)
	for _, rt := range st.router.Values() {
		if !seen[rt.obs] {
			seen[rt.obs] = true
			routes = append(routes, rt.obs)
		}
	}
	routes = append(append(routes, s.obs.Gone(seen)...), s.obs.Unrouted)
	var servers []*server
	for _, u := range sortedUpstreams(st.ups) {
		servers = append(servers, u.members().list...)
	}
	return routes, servers
}

// sortedUpstreams lists ups by name.
func sortedUpstreams(ups map[string]*upstream) []*upstream {
	var out []*upstream
	for _, name := range slices.Sorted(maps.Keys(ups)) {
		out = append(out, ups[name])
	}
	return out
}
