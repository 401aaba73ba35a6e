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
		Routes:              make([]metrics.RouteMetrics, len(m.routes)+1),
		Servers:             make([]metrics.ServerMetrics, len(m.servers)),
	}
	for i, rt := range m.routes {
		snap.Routes[i].Route = rt.name
		if rt.up != nil {
			snap.Routes[i].Upstream = rt.up.name
		}
	}
	snap.Routes[len(m.routes)] = metrics.RouteMetrics{Route: metrics.UnroutedName, Upstream: metrics.UnroutedName}
	now := time.Now()
	for i, srv := range m.servers {
		sm := &snap.Servers[i]
		sm.Upstream, sm.Server, sm.Processes = srv.up.name, srv.name, 1
		if srv.b.Healthy(now) {
			sm.Up = 1
		}
		sm.ConnectErrors = m.connectErrors[i].Load()
		sm.Connect = metrics.Histogram{Bounds: connectBounds(), Counts: make([]uint64, len(connectBuckets)+1)}
	}
	codes := make(map[[2]int]uint64)
	ws := &snap.WebSocket
	for _, lm := range loops {
		for i := range lm.routes {
			rc, rm := &lm.routes[i], &snap.Routes[i]
			for c := range rc.requests {
				rm.Requests[c] += rc.requests[c].Load()
			}
			rm.Handshakes.Upgraded += rc.handshakes[hsUpgraded].Load()
			rm.Handshakes.Rejected += rc.handshakes[hsRejected].Load()
			rm.Handshakes.Failed += rc.handshakes[hsFailed].Load()
			rm.TunnelsOpen += rc.tunnels.Load()
		}
		for i := range lm.servers {
			sc, h := &lm.servers[i], &snap.Servers[i].Connect
			for b := range sc.connect {
				h.Counts[b] += sc.connect[b].Load()
			}
			h.Sum += time.Duration(sc.connectSum.Load()).Seconds()
		}
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

// sortedUpstreams lists ups by name.
func sortedUpstreams(ups map[string]*upstream) []*upstream {
	var out []*upstream
	for _, name := range slices.Sorted(maps.Keys(ups)) {
		out = append(out, ups[name])
	}
	return out
}
