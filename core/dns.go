package core

import (
	"wsproxy/config"
	"wsproxy/core/metrics"
	"wsproxy/internal/dnsup"
)

// Upstreams from DNS (servers_from). New and Apply resolve each name once
// (dnsup.Set.Plan) and build the upstream from that first answer; from
// Start to Close a dnsup.Watcher per name goes on resolving, and each new
// set it finds goes to setServers, the in-place membership change
// (apply.go). The Set keeps a Watcher across an Apply that keeps its
// upstream's servers_from as it was. Plan, Commit and Start run with
// applyMu held (or from New). Each worker process does all this on its
// own, as nginx's workers resolve on their own.

// newDNS returns the Server's dnsup.Set. Called from New.
func (s *Server) newDNS() *dnsup.Set {
	return dnsup.NewSet(dnsup.SetOptions{OnChange: s.dnsChanged, Logger: s.log})
}

// startDNS starts the Watchers. Called from Start.
func (s *Server) startDNS() {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.dns.Start()
}

// dnsChanged applies a new answer of w to the upstream's membership,
// unless an Apply has replaced or dropped w meanwhile.
func (s *Server) dnsChanged(w *dnsup.Watcher, upstream string, servers []config.Server) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if !s.dns.Current(w, upstream) {
		return
	}
	if err := s.setServers(upstream, servers); err != nil {
		s.log.Error("servers_from: servers not applied", "upstream", upstream, "err", err)
	}
}

// dnsMetrics adds the Watchers' counters to snap, by upstream name.
func (s *Server) dnsMetrics(snap *metrics.Snapshot) {
	for _, st := range s.dns.Stats() {
		d := metrics.DNSMetrics{Upstream: st.Upstream, Servers: st.Servers, Processes: 1, Resolutions: make(map[string]uint64, len(st.Results))}
		for r, n := range st.Results {
			d.Resolutions[dnsup.Result(r).String()] = n
		}
		snap.DNS = append(snap.DNS, d)
	}
}
