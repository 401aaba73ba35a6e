package core

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"wsproxy/core/metrics"
)

// Metrics returns a snapshot of the counters. It may be called from any
// goroutine, at any time after New; it takes no lock a loop takes.
func (s *Server) Metrics() metrics.Snapshot {
	m := &s.obs
	m.mu.Lock()
	loops := m.loops
	m.mu.Unlock()

	snap := metrics.Snapshot{
		Processes:           1,
		ConnectionsAccepted: s.stats.accepted.Load(),
		ConnectionsOpen:     s.stats.open.Load(),
		TLSHandshakeErrors:  s.tls.handshakeErrors.Load(),
	}
	routes, servers := s.listedObs()
	for _, o := range routes {
		rm := metrics.RouteMetrics{Route: o.route, Upstream: o.upstream}
		for i := range o.loops {
			rc := &o.loops[i]
			for c := range rc.requests {
				rm.Requests[c] += rc.requests[c].Load()
			}
			rm.Handshakes.Upgraded += rc.handshakes[hsUpgraded].Load()
			rm.Handshakes.Rejected += rc.handshakes[hsRejected].Load()
			rm.Handshakes.Failed += rc.handshakes[hsFailed].Load()
			rm.TunnelsOpen += rc.tunnels.Load()
		}
		snap.Routes = append(snap.Routes, rm)
	}
	now := time.Now()
	for _, srv := range servers {
		o := srv.obs
		sm := metrics.ServerMetrics{Upstream: o.upstream, Server: o.server, Processes: 1, ConnectErrors: o.connectErrors.Load()}
		if srv.b.Healthy(now) {
			sm.Up = 1
		}
		sm.Connect = metrics.Histogram{Bounds: connectBounds(), Counts: make([]uint64, len(connectBuckets)+1)}
		for i := range o.loops {
			sc := &o.loops[i]
			for b := range sc.connect {
				sm.Connect.Counts[b] += sc.connect[b].Load()
			}
			sm.Connect.Sum += time.Duration(sc.connectSum.Load()).Seconds()
		}
		snap.Servers = append(snap.Servers, sm)
	}
	codes := make(map[[2]int]uint64)
	ws := &snap.WebSocket
	for _, lm := range loops {
		for d := range 2 {
			ws.Bytes[d] += lm.bytes[d].Load()
			ws.Messages[d] += lm.messages[d].Load()
			t := &lm.codes[d]
			for i := range t.slots {
				if code := t.slots[i].code.Load(); code != 0 {
					codes[[2]int{d, int(code)}] += t.slots[i].n.Load()
				}
			}
			if n := t.other.Load(); n > 0 {
				codes[[2]int{d, -1}] += n
			}
		}
		ws.ClosedBy.Client += lm.closedBy[closerClient].Load()
		ws.ClosedBy.Upstream += lm.closedBy[closerUpstream].Load()
		ws.ClosedBy.Proxy += lm.closedBy[closerProxy].Load() + lm.closedBy[closerUnknown].Load()
		for r := ruleNone + 1; r < numCloseRules; r++ {
			if n := lm.proxyCloses[r].Load(); n > 0 {
				if ws.ProxyCloses == nil {
					ws.ProxyCloses = make(map[string]uint64)
				}
				ws.ProxyCloses[closeRules[r].label] += n
			}
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(codes), compareCodeKeys) {
		ws.CloseCodes = append(ws.CloseCodes, metrics.CloseCodeCount{Direction: k[0], Code: k[1], Count: codes[k]})
	}
	s.dnsMetrics(&snap)
	return snap
}

func compareCodeKeys(a, b [2]int) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}

func connectBounds() []float64 {
	b := make([]float64, len(connectBuckets))
	for i, d := range connectBuckets {
		b[i] = d.Seconds()
	}
	return b
}

// listedObs returns the counters a snapshot lists: the routes of the
// current configuration, in order, then routes of earlier ones with
// tunnels still open, then requests no route took; and the servers of
// the current upstreams, by upstream name and in configuration order.
func (s *Server) listedObs() ([]*routeObs, []*server) {
	st := s.cur.Load()
	var routes []*routeObs
	seen := make(map[*routeObs]bool)
	for _, rt := range st.router.Values() {
		if !seen[rt.obs] {
			seen[rt.obs] = true
			routes = append(routes, rt.obs)
		}
	}
	m := &s.obs
	m.mu.Lock()
	var gone []*routeObs
	for _, o := range m.routes {
		if seen[o] {
			continue
		}
		var open int64
		for i := range o.loops {
			open += o.loops[i].tunnels.Load()
		}
		if open > 0 {
			gone = append(gone, o)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(gone, func(a, b *routeObs) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.upstream, b.upstream))
	})
	routes = append(append(routes, gone...), m.unrouted)
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
