package health

import "sync"

// Group runs the checks of several named sets of targets (one per
// upstream) and replaces one set, when its upstream changes, without
// touching the others. The zero value is ready; its methods are safe for
// concurrent use.
type Group struct {
	mu   sync.Mutex
	stop map[string]chan struct{}
	wg   sync.WaitGroup
}

// Set starts checking targets under name with c, after stopping what was
// checked under that name. No targets: only stop.
func (g *Group) Set(name string, targets []Target, c Check) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if stop := g.stop[name]; stop != nil {
		close(stop)
		delete(g.stop, name)
	}
	if len(targets) == 0 {
		return
	}
	if g.stop == nil {
		g.stop = make(map[string]chan struct{})
	}
	stop := make(chan struct{})
	g.stop[name] = stop
	g.wg.Go(func() { Run(targets, c, stop) })
}

// Names lists the names checked now.
func (g *Group) Names() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for name := range g.stop {
		out = append(out, name)
	}
	return out
}

// Close stops every check and waits for them to end.
func (g *Group) Close() {
	g.mu.Lock()
	for name, stop := range g.stop {
		close(stop)
		delete(g.stop, name)
	}
	g.mu.Unlock()
	g.wg.Wait()
}
