package core

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"wsproxy/config"
	"wsproxy/core/metrics"
	"wsproxy/internal/dnsup"
)

// Upstreams from DNS (servers_from). New and Apply resolve each name once
// (dnsup.New) and build the upstream from that first answer; from Start to
// Close a dnsup.Watcher per name goes on resolving, and each new set it
// finds goes to setServers, the in-place membership change (apply.go). An
// Apply that keeps an upstream's servers_from as it was keeps its Watcher
// and the set it last found; one that changes or drops it replaces or
// stops the Watcher. Each worker process does all this on its own, as
// nginx's workers resolve on their own.

// dnsState holds the Watchers, by upstream name.
type dnsState struct {
	mu      sync.Mutex                // guards byName for Metrics; changes also hold Server.applyMu
	byName  map[string]*dnsup.Watcher // the current Watchers
	running bool                      // Start has run: Watchers made later start at once
	closed  bool                      // Close has run: Watchers made later stop at once
}

// dnsPlan is what resolveDNS prepared for a configuration: the Watcher of
// each servers_from upstream, some of them new and not started.
type dnsPlan struct {
	byName map[string]*dnsup.Watcher
	made   []*dnsup.Watcher // new: started by commitDNS, stopped by discard
}

// discard stops the Watchers the plan made, when its configuration is not
// applied after all.
func (p *dnsPlan) discard() {
	for _, w := range p.made {
		w.Stop()
	}
}

// resolveDNS returns cfg with the servers of its servers_from upstreams
// filled in (a copy: the caller's Config is not changed), and the plan of
// Watchers behind them. An upstream whose servers_from is the same as its
// current Watcher's takes that Watcher's last set; any other is resolved
// now, and must give at least one server: a pool cannot start empty.
// Called with applyMu held, or from New.
func (s *Server) resolveDNS(cfg *config.Config) (*config.Config, *dnsPlan, error) {
	p := &dnsPlan{byName: make(map[string]*dnsup.Watcher)}
	out := cfg
	for _, name := range slices.Sorted(maps.Keys(cfg.Upstreams)) {
		cu := cfg.Upstreams[name]
		if cu == nil || cu.ServersFrom == nil {
			continue
		}
		spec := dnsup.SpecOf(cu)
		var servers []config.Server
		if w := s.dns.byName[name]; w != nil && w.Spec() == spec {
			p.byName[name], servers = w, w.Servers()
		} else {
			w, first, err := s.newWatcher(spec)
			if err != nil {
				p.discard()
				return nil, nil, err
			}
			p.byName[name], servers = w, first
			p.made = append(p.made, w)
		}
		if len(servers) == 0 {
			p.discard()
			return nil, nil, fmt.Errorf("upstream %s: servers_from: %s gave no server to start with (see the log)", name, cu.ServersFrom.DNS)
		}
		if out == cfg {
			c := *cfg
			c.Upstreams = maps.Clone(cfg.Upstreams)
			out = &c
		}
		u := *cu
		u.Servers = servers
		out.Upstreams[name] = &u
	}
	return out, p, nil
}

// newWatcher resolves spec once and returns its Watcher, not started, with
// the servers found. Its later answers go to dnsChanged.
func (s *Server) newWatcher(spec dnsup.Spec) (*dnsup.Watcher, []config.Server, error) {
	var w *dnsup.Watcher
	var first []config.Server
	made := false
	w, err := dnsup.New(spec, dnsup.Options{
		OnChange: func(upstream string, servers []config.Server) {
			if !made {
				first = servers // from dnsup.New, before the upstream exists
				return
			}
			s.dnsChanged(w, upstream, servers)
		},
		Logger: s.log,
	})
	made = true // before any Start: the Watcher's goroutine sees it
	return w, first, err
}

// commitDNS makes p's Watchers current, starting the new ones once the
// Server runs, and returns the Watchers it replaced. Those must be stopped
// once applyMu is released: one may be waiting for it in dnsChanged.
// Called with applyMu held, or from New.
func (s *Server) commitDNS(p *dnsPlan) (stale []*dnsup.Watcher) {
	s.dns.mu.Lock()
	old := s.dns.byName
	s.dns.byName = p.byName
	running, closed := s.dns.running, s.dns.closed
	s.dns.mu.Unlock()
	for name, w := range old {
		if p.byName[name] != w {
			stale = append(stale, w)
		}
	}
	switch {
	case closed:
		stale = append(stale, p.made...)
	case running:
		for _, w := range p.made {
			w.Start()
		}
	}
	return stale
}

// startDNS starts the Watchers. Called from Start.
func (s *Server) startDNS() {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.dns.mu.Lock()
	defer s.dns.mu.Unlock()
	if s.dns.running || s.dns.closed {
		return
	}
	s.dns.running = true
	for _, w := range s.dns.byName {
		w.Start()
	}
}

// stopDNS stops the Watchers: no membership change follows. Called from
// Close, and from New when it fails.
func (s *Server) stopDNS() {
	s.dns.mu.Lock()
	s.dns.closed = true
	ws := slices.Collect(maps.Values(s.dns.byName))
	s.dns.mu.Unlock()
	for _, w := range ws {
		w.Stop()
	}
}

// dnsChanged applies a new answer of w to the upstream's membership,
// unless an Apply has replaced or dropped w meanwhile.
func (s *Server) dnsChanged(w *dnsup.Watcher, upstream string, servers []config.Server) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.dns.mu.Lock()
	current := s.dns.byName[upstream] == w && !s.dns.closed
	s.dns.mu.Unlock()
	if !current {
		return
	}
	if err := s.setServers(upstream, servers); err != nil {
		s.log.Error("servers_from: servers not applied", "upstream", upstream, "err", err)
	}
}

// dnsMetrics adds the Watchers' counters to snap, by upstream name.
func (s *Server) dnsMetrics(snap *metrics.Snapshot) {
	s.dns.mu.Lock()
	ws := make([]*dnsup.Watcher, 0, len(s.dns.byName))
	for _, name := range slices.Sorted(maps.Keys(s.dns.byName)) {
		ws = append(ws, s.dns.byName[name])
	}
	s.dns.mu.Unlock()
	for _, w := range ws {
		st := w.Stats()
		d := metrics.DNSMetrics{Upstream: st.Upstream, Servers: st.Servers, Processes: 1, Resolutions: make(map[string]uint64, len(st.Results))}
		for r, n := range st.Results {
			d.Resolutions[dnsup.Result(r).String()] = n
		}
		snap.DNS = append(snap.DNS, d)
	}
}
