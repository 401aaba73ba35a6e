package dnsup

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"wsproxy/config"
)

// A Set holds the Watchers of a configuration's servers_from upstreams, by
// upstream name, across configurations: Plan resolves the names of a new
// configuration once and builds its upstreams from these first answers;
// Commit makes the plan current. A configuration that keeps an upstream's
// servers_from as it was keeps its Watcher and the set it last found; one
// that changes or drops it replaces or stops the Watcher. From Start to
// Stop each Watcher goes on resolving and its new sets go to the Set's
// callback. The caller serialises Plan, Commit and Start (core holds its
// apply lock); Current, Stop and Stats may be called from any goroutine.
type Set struct {
	opts    SetOptions
	mu      sync.Mutex          // guards byName, running and closed; changes also hold the caller's lock
	byName  map[string]*Watcher // the current Watchers
	running bool                // Start has run: Watchers made later start at once
	closed  bool                // Stop has run: Watchers made later stop at once
}

// SetOptions are the hooks of a Set.
type SetOptions struct {
	// OnChange receives each new server set a Watcher w found for
	// upstream, on the Watcher's goroutine. The Watcher may have been
	// replaced meanwhile: Current says whether it still counts.
	OnChange func(w *Watcher, upstream string, servers []config.Server)
	// Logger takes the Watchers' lines; nil is slog.Default.
	Logger *slog.Logger
}

// NewSet returns an empty Set.
func NewSet(opts SetOptions) *Set {
	return &Set{opts: opts, byName: make(map[string]*Watcher)}
}

// A Plan is what Plan prepared for a configuration: the Watcher of each
// servers_from upstream, some of them new and not started.
type Plan struct {
	byName map[string]*Watcher
	made   []*Watcher // new: started by Commit, stopped by Discard
}

// Discard stops the Watchers the plan made, when its configuration is not
// applied after all.
func (p *Plan) Discard() {
	for _, w := range p.made {
		w.Stop()
	}
}

// Plan returns cfg with the servers of its servers_from upstreams filled
// in (a copy: the caller's Config is not changed), and the plan of
// Watchers behind them. An upstream whose servers_from is the same as its
// current Watcher's takes that Watcher's last set; any other is resolved
// now, and must give at least one server: a pool cannot start empty.
func (s *Set) Plan(cfg *config.Config) (*config.Config, *Plan, error) {
	p := &Plan{byName: make(map[string]*Watcher)}
	out := cfg
	for _, name := range slices.Sorted(maps.Keys(cfg.Upstreams)) {
		cu := cfg.Upstreams[name]
		if cu == nil || cu.ServersFrom == nil {
			continue
		}
		spec := SpecOf(cu)
		var servers []config.Server
		if w := s.byName[name]; w != nil && w.Spec() == spec {
			p.byName[name], servers = w, w.Servers()
		} else {
			w, first, err := s.newWatcher(spec)
			if err != nil {
				p.Discard()
				return nil, nil, err
			}
			p.byName[name], servers = w, first
			p.made = append(p.made, w)
		}
		if len(servers) == 0 {
			p.Discard()
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
// the servers found. Its later answers go to OnChange.
func (s *Set) newWatcher(spec Spec) (*Watcher, []config.Server, error) {
	var w *Watcher
	var first []config.Server
	made := false
	w, err := New(spec, Options{
		OnChange: func(upstream string, servers []config.Server) {
			if !made {
				first = servers // from New, before the upstream exists
				return
			}
			s.opts.OnChange(w, upstream, servers)
		},
		Logger: s.opts.Logger,
	})
	made = true // before any Start: the Watcher's goroutine sees it
	return w, first, err
}

// Commit makes p's Watchers current, starting the new ones once the Set
// runs, and returns the Watchers it replaced. The caller stops those once
// it released the lock it holds around Commit: one may be waiting for it
// in OnChange.
func (s *Set) Commit(p *Plan) (stale []*Watcher) {
	s.mu.Lock()
	old := s.byName
	s.byName = p.byName
	running, closed := s.running, s.closed
	s.mu.Unlock()
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

// Start starts the Watchers, and those Commit makes current later.
func (s *Set) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running || s.closed {
		return
	}
	s.running = true
	for _, w := range s.byName {
		w.Start()
	}
}

// Stop stops the Watchers, and those Commit makes current later: no
// OnChange follows but from a Watcher already calling it.
func (s *Set) Stop() {
	s.mu.Lock()
	s.closed = true
	ws := slices.Collect(maps.Values(s.byName))
	s.mu.Unlock()
	for _, w := range ws {
		w.Stop()
	}
}

// Current reports whether w is the current Watcher of upstream and the
// Set has not stopped.
func (s *Set) Current(w *Watcher, upstream string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[upstream] == w && !s.closed
}

// Stats returns the current Watchers' counters, by upstream name.
func (s *Set) Stats() []Stats {
	s.mu.Lock()
	ws := make([]*Watcher, 0, len(s.byName))
	for _, name := range slices.Sorted(maps.Keys(s.byName)) {
		ws = append(ws, s.byName[name])
	}
	s.mu.Unlock()
	st := make([]Stats, len(ws))
	for i, w := range ws {
		st[i] = w.Stats()
	}
	return st
}
