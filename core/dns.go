package core

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"wsproxy/config"
	"wsproxy/core/metrics"
	"wsproxy/internal/dnsup"
)

// Upstreams from DNS (servers_from): New resolves each such name once
// (dnsup.New) and builds the upstream's pool from that first answer;
// Start starts the Watchers, whose later answers change the upstream's
// membership in place (setServers); Close stops them. Each worker
// process does this on its own, as nginx's workers resolve on their own.

// newDNS resolves the servers_from of cfg's upstreams once and returns
// cfg with their servers filled in from the answers: a copy, so that the
// caller's Config is not changed. An upstream whose name gives no server
// at start is an error: its pool would be empty.
func (s *Server) newDNS(cfg *config.Config) (*config.Config, error) {
	var out *config.Config
	for _, name := range slices.Sorted(maps.Keys(cfg.Upstreams)) {
		cu := cfg.Upstreams[name]
		if cu == nil || cu.ServersFrom == nil {
			continue
		}
		if out == nil {
			c := *cfg
			c.Upstreams = maps.Clone(cfg.Upstreams)
			out = &c
		}
		var first []config.Server
		w, err := dnsup.New(dnsup.SpecOf(cu), dnsup.Options{
			OnChange: func(upstream string, servers []config.Server) {
				if first == nil {
					first = servers // from dnsup.New, before the pools exist
					return
				}
				s.dnsChanged(upstream, servers)
			},
			Logger: s.log,
		})
		if err != nil {
			s.stopDNS()
			return nil, err
		}
		s.dns = append(s.dns, w)
		if len(first) == 0 {
			s.stopDNS()
			return nil, fmt.Errorf("upstream %s: servers_from: %s gave no server to start with (see the log)", name, cu.ServersFrom.DNS)
		}
		u := *cu
		u.Servers = first
		out.Upstreams[name] = &u
	}
	if out == nil {
		return cfg, nil
	}
	return out, nil
}

// startDNS starts resolving in the background.
func (s *Server) startDNS() {
	for _, w := range s.dns {
		w.Start()
	}
}

// stopDNS stops the Watchers; no membership change follows.
func (s *Server) stopDNS() {
	for _, w := range s.dns {
		w.Stop()
	}
}

// dnsChanged applies a new answer to the upstream's membership.
func (s *Server) dnsChanged(upstream string, servers []config.Server) {
	if err := s.setServers(upstream, servers); err != nil {
		s.log.Error("servers_from: servers not applied", "upstream", upstream, "err", err)
	}
}

// dnsMetrics adds the Watchers' counters to snap.
func (s *Server) dnsMetrics(snap *metrics.Snapshot) {
	for _, w := range s.dns {
		st := w.Stats()
		d := metrics.DNSMetrics{Upstream: st.Upstream, Servers: st.Servers, Processes: 1, Resolutions: make(map[string]uint64, len(st.Results))}
		for r, n := range st.Results {
			d.Resolutions[dnsup.Result(r).String()] = n
		}
		snap.DNS = append(snap.DNS, d)
	}
}

// errNoInPlace: see setServers.
var errNoInPlace = errors.New("core: no in-place membership change yet (issue 12, branch apply); restart or reload to apply")

// setServers changes upstream's membership in place. It stands for the
// primitive of issue 12's "config applied in place", which branch apply
// builds; until it is merged a new answer is logged, not applied.
func (s *Server) setServers(upstream string, servers []config.Server) error {
	return errNoInPlace
}
