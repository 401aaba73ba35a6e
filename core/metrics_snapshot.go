package core

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// MetricsSnapshot is a Server's counters at one moment, summed over its
// loops. It is plain data: safe to keep, compare, encode as JSON and Merge
// with the snapshots of other processes (the workers of a master).
//
// Counters only grow while a process lives; gauges (ConnectionsOpen,
// RouteMetrics.TunnelsOpen, ServerMetrics.Up) say how things are now.
type MetricsSnapshot struct {
	// Processes is the number of processes summed: 1 from Server.Metrics.
	Processes int `json:"processes"`

	// ConnectionsAccepted counts client connections accepted;
	// ConnectionsOpen those open now.
	ConnectionsAccepted uint64 `json:"connections_accepted"`
	ConnectionsOpen     int64  `json:"connections_open"`

	// TLSHandshakeErrors counts TLS clients closed before their handshake
	// completed (plain HTTP on a TLS port, failed or stalled handshakes).
	TLSHandshakeErrors uint64 `json:"tls_handshake_errors"`

	// Routes are in the router's order (most specific first), then the
	// entry named UnroutedName for requests no route took.
	Routes []RouteMetrics `json:"routes"`

	// Servers are the upstream servers, by upstream name, then in config
	// order.
	Servers []ServerMetrics `json:"servers"`

	// WebSocket counts what passed through tunnels.
	WebSocket WebSocketMetrics `json:"websocket"`
}

// UnroutedName is the RouteMetrics.Route (and Upstream) of requests that
// were answered before a route took them: malformed, too large, timed out,
// over a limit, or matching no route.
const UnroutedName = "(none)"

// RouteMetrics counts the requests of one route.
type RouteMetrics struct {
	// Route is the route's host and path prefix as configured
	// ("ws.example.com/chat", "/"); Upstream is the upstream it sends to.
	Route    string `json:"route"`
	Upstream string `json:"upstream"`

	// Requests counts plain HTTP requests (not WebSocket handshakes) by
	// the status class of their answer, whether it came from the upstream
	// or from the proxy (502, 504, …).
	Requests StatusClasses `json:"requests"`

	// Handshakes counts WebSocket handshakes by result.
	Handshakes Handshakes `json:"handshakes"`

	// TunnelsOpen is the number of WebSocket tunnels open now.
	TunnelsOpen int64 `json:"tunnels_open"`
}

// StatusClasses counts answers by HTTP status class: [2] counts 2xx, [5]
// 5xx; [0] counts statuses outside 100..599.
type StatusClasses [6]uint64

// Handshakes counts WebSocket opening handshakes by result.
type Handshakes struct {
	Upgraded uint64 `json:"upgraded"` // the upstream answered 101: a tunnel opened
	Rejected uint64 `json:"rejected"` // the upstream answered with another status
	Failed   uint64 `json:"failed"`   // the proxy answered 4xx/5xx itself
}

// ServerMetrics describes one upstream server.
type ServerMetrics struct {
	Upstream string `json:"upstream"`
	Server   string `json:"server"` // its address as configured

	// Up is the number of processes that consider the server healthy
	// (active and passive health checks; at max_conns or not), out of
	// Processes reporting it.
	Up        int `json:"up"`
	Processes int `json:"processes"`

	// ConnectErrors counts connects that failed or timed out.
	ConnectErrors uint64 `json:"connect_errors"`

	// Connect is the latency of successful connects.
	Connect Histogram `json:"connect"`
}

// Histogram counts observations in buckets.
type Histogram struct {
	Bounds []float64 `json:"bounds"` // upper bounds in seconds, ascending
	Counts []uint64  `json:"counts"` // per bucket, not cumulative; len(Bounds)+1, the last one unbounded
	Sum    float64   `json:"sum"`    // of all observations, in seconds
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// WebSocketMetrics counts tunnel traffic. Arrays by direction: [0] client
// to upstream, [1] upstream to client (see DirectionNames).
type WebSocketMetrics struct {
	Bytes      [2]uint64        `json:"bytes"`    // bytes relayed, frame headers included
	Messages   [2]uint64        `json:"messages"` // data messages (a fragmented one counts once)
	ClosedBy   ClosedBy         `json:"closed_by"`
	CloseCodes []CloseCodeCount `json:"close_codes"` // by direction, then code

	// ProxyCloses counts the tunnels the proxy closed on its own, by the
	// rule that fired (CloseReasons lists the keys): a frame that broke
	// the route's policy, the idle timeout, a dead peer, a drain.
	ProxyCloses map[string]uint64 `json:"proxy_closes,omitempty"`
}

// DirectionNames name the directions of WebSocketMetrics, as in metric
// labels and log lines.
var DirectionNames = directionNames

// ClosedBy counts closed tunnels by the side that ended them: the sender
// of the first Close frame or, without one, the first end of stream; the
// proxy for idle timeouts, draining, protocol violations and socket errors.
type ClosedBy struct {
	Client   uint64 `json:"client"`
	Upstream uint64 `json:"upstream"`
	Proxy    uint64 `json:"proxy"`
}

// CloseCodeCount counts the Close frames of one code in one direction,
// the proxy's own included. Code 1005 is a Close without a code; Code -1
// counts codes beyond the distinct ones a process keeps apart (32 per
// direction and loop).
type CloseCodeCount struct {
	Direction int    `json:"direction"`
	Code      int    `json:"code"`
	Count     uint64 `json:"count"`
}

// Metrics returns a snapshot of the counters. It may be called from any
// goroutine, at any time after New; it takes no lock a loop takes.
func (s *Server) Metrics() MetricsSnapshot {
	m := &s.obs
	m.mu.Lock()
	loops := m.loops
	m.mu.Unlock()

	snap := MetricsSnapshot{
		Processes:           1,
		ConnectionsAccepted: s.stats.accepted.Load(),
		ConnectionsOpen:     s.stats.open.Load(),
		TLSHandshakeErrors:  s.tls.handshakeErrors.Load(),
		Routes:              make([]RouteMetrics, len(m.routes)+1),
		Servers:             make([]ServerMetrics, len(m.servers)),
	}
	for i, rt := range m.routes {
		snap.Routes[i].Route = rt.name
		if rt.up != nil {
			snap.Routes[i].Upstream = rt.up.name
		}
	}
	snap.Routes[len(m.routes)] = RouteMetrics{Route: UnroutedName, Upstream: UnroutedName}
	now := time.Now()
	for i, srv := range m.servers {
		sm := &snap.Servers[i]
		sm.Upstream, sm.Server, sm.Processes = srv.up.name, srv.name, 1
		if srv.b.Healthy(now) {
			sm.Up = 1
		}
		sm.ConnectErrors = m.connectErrors[i].Load()
		sm.Connect = Histogram{Bounds: connectBounds(), Counts: make([]uint64, len(connectBuckets)+1)}
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
		ws.CloseCodes = append(ws.CloseCodes, CloseCodeCount{Direction: k[0], Code: k[1], Count: codes[k]})
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
