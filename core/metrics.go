package core

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"wsproxy/core/metrics"
)

// Metrics.
//
// Every Loop owns one loopMetrics and is the only writer of it; the counters
// are atomics so that Server.Metrics can read them from another goroutine
// and sum them over the loops. Each route and upstream server points to its
// counters (routeObs, serverObs), one set per loop, so a hook costs a slice
// index and an atomic add: no map lookup, no lock, no allocation. Counters
// belong to a name, not to a configuration: the route or server of the
// same name after a reload (Apply) counts on.
//
// A connection keeps what its own log lines need in conn.obs (connObs).

// Handshake results, the index of routeCounters.handshakes.
const (
	hsUpgraded = iota // the upstream answered 101
	hsRejected        // the upstream answered something else
	hsFailed          // the proxy answered 4xx/5xx itself
	numHandshakeResults
)

// Who closed a tunnel first, in connObs.first and loopMetrics.closedBy.
const (
	closerUnknown uint8 = iota
	closerClient
	closerUpstream
	closerProxy
	numClosers
)

// connectBuckets are the upper bounds of the upstream connect latency
// histogram; a last bucket takes what is slower.
var connectBuckets = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second,
}

// closeCodeSlots is how many distinct Close codes each loop counts per
// direction; further codes are counted together as "other".
const closeCodeSlots = 32

// connObs is what a connection remembers for its metrics and log lines:
// 40 bytes.
type connObs struct {
	start   int64     // unix nanos: request head read; from the 101 on, start of the tunnel
	bytes   [2]uint64 // tunnel bytes relayed, by direction (0 client → upstream)
	msgs    [2]uint32 // tunnel messages relayed, by direction; wraps after 2^32
	code    [2]uint16 // first Close code seen by direction; 0 none, 1005 a Close without code
	bits    obsBits
	first   uint8     // closer*: who closed the tunnel first, when a Close frame says so
	rule    closeRule // why the proxy closed the tunnel on its own (closerule.go)
	ruleDir uint8     // the direction of the frame that broke rule
}

type obsBits uint8

const (
	obsPending obsBits = 1 << iota // a request head awaits its answer (not counted yet)
	obsRouted                      // ... and it was routed: c.rt is its route
	obsUpgrade                     // ... and it asks for a WebSocket upgrade
	obsTunnel                      // counted in routeCounters.tunnels
	obsLog                         // sampled in: write this tunnel's log lines
)

// loopMetrics are the counters of one Loop (see above).
type loopMetrics struct {
	bytes    [2]atomic.Uint64 // tunnel bytes by direction
	messages [2]atomic.Uint64 // tunnel messages by direction
	closedBy [numClosers]atomic.Uint64
	// pollErrors counts epoll_ctl failures on a registered descriptor
	// (the connection is closed); writeErrors writes of the proxy's own
	// frames that failed (the connection is closing anyway).
	pollErrors, writeErrors atomic.Uint64
	// proxyCloses counts the tunnels the proxy closed on its own, by rule.
	proxyCloses [numCloseRules]atomic.Uint64
	codes       [2]closeCodes
	sampled     float64 // log sampling credit; loop-owned, not a counter
}

// routeCounters are one loop's counters of a route, padded to two cache
// lines so that loops do not share one.
type routeCounters struct {
	requests   [6]atomic.Uint64 // plain HTTP requests by status/100; [0] a status outside 100..599
	handshakes [numHandshakeResults]atomic.Uint64
	tunnels    atomic.Int64 // open now
	_          [48]byte
}

// serverCounters are one loop's counters of a server, padded to three
// cache lines.
type serverCounters struct {
	connect    [len(connectBuckets) + 1]atomic.Uint64 // connect latencies by bucket
	connectSum atomic.Int64                           // nanoseconds
	_          [56]byte
}

// routeObs are the counters of a route name and upstream, by Loop.ID.
type routeObs struct {
	route, upstream string
	loops           []routeCounters
}

// serverObs are the counters of an upstream's server, by Loop.ID, and its
// failed connects (any loop writes them, rarely).
type serverObs struct {
	upstream, server string
	loops            []serverCounters
	connectErrors    atomic.Uint64
}

// closeCodes counts Close frames by code. Codes take the first free slot
// when first seen; the owning loop is the only writer, so no CAS is needed.
type closeCodes struct {
	slots [closeCodeSlots]struct {
		code atomic.Uint32 // 0: free
		n    atomic.Uint64
	}
	other atomic.Uint64
}

func (t *closeCodes) add(code uint16) {
	for i := range t.slots {
		s := &t.slots[i]
		switch s.code.Load() {
		case uint32(code):
		case 0:
			s.code.Store(uint32(code))
		default:
			continue
		}
		s.n.Add(1)
		return
	}
	t.other.Add(1)
}

// metricsState is the Server's side of the metrics: the counters of every
// route and server name seen, and every loop's counters.
type metricsState struct {
	nloops   int       // the number of loops, for the per-loop counters
	unrouted *routeObs // requests no route took
	mu       sync.Mutex
	routes   map[[2]string]*routeObs  // by route name and upstream; guarded by mu
	servers  map[[2]string]*serverObs // by upstream and server name; guarded by mu
	loops    []*loopMetrics           // guarded by mu
}

// initMetrics prepares the counters. Called from New.
func (s *Server) initMetrics() {
	m := &s.obs
	m.nloops = max(s.cfg.Loops, 1)
	m.routes = make(map[[2]string]*routeObs)
	m.servers = make(map[[2]string]*serverObs)
	m.unrouted = &routeObs{route: metrics.UnroutedName, upstream: metrics.UnroutedName, loops: make([]routeCounters, m.nloops)}
}

// routeObs returns the counters of route name to upstream, made on first use.
func (m *metricsState) routeObs(name, upstream string) *routeObs {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{name, upstream}
	o := m.routes[k]
	if o == nil {
		o = &routeObs{route: name, upstream: upstream, loops: make([]routeCounters, m.nloops)}
		m.routes[k] = o
	}
	return o
}

// serverObs returns the counters of server name of upstream, made on
// first use.
func (m *metricsState) serverObs(upstream, name string) *serverObs {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{upstream, name}
	o := m.servers[k]
	if o == nil {
		o = &serverObs{upstream: upstream, server: name, loops: make([]serverCounters, m.nloops)}
		m.servers[k] = o
	}
	return o
}

// attachMetrics gives l its counters. Called from Start before l runs.
func (s *Server) attachMetrics(l *Loop) {
	m := &s.obs
	lm := &loopMetrics{}
	m.mu.Lock()
	m.loops = append(m.loops, lm)
	m.mu.Unlock()
	l.obs = lm
}

// noteHead is called when a request head has been read and parsed; upgrade
// says whether it asks for a WebSocket upgrade.
func (c *conn) noteHead(upgrade bool) {
	c.obs.start = c.l.Now.UnixNano()
	c.obs.bits = c.obs.bits&^(obsRouted|obsUpgrade) | obsPending
	if upgrade {
		c.obs.bits |= obsUpgrade
	}
}

// noteRequest is called once the request has a route (c.rt).
func (c *conn) noteRequest() { c.obs.bits |= obsRouted }

// noteResponse is called with the status of each response head from the
// upstream, before it is forwarded.
func (c *conn) noteResponse(status int) {
	lm := c.l.obs
	if lm == nil || c.obs.bits&(obsPending|obsRouted) != obsPending|obsRouted {
		return
	}
	upgrade := c.obs.bits&obsUpgrade != 0
	switch {
	case status == 101 && !upgrade:
		return // not forwarded: fail answers 502 and counts that
	case status < 200 && status != 101:
		return // interim; the final status follows
	}
	c.obs.bits &^= obsPending
	rc := &c.rt.obs.loops[c.l.ID]
	switch {
	case !upgrade:
		rc.requests[statusClass(status)].Add(1)
	case status != 101:
		rc.handshakes[hsRejected].Add(1)
	default:
		rc.handshakes[hsUpgraded].Add(1)
		rc.tunnels.Add(1)
		c.obs.bits |= obsTunnel
		now := c.l.Now.UnixNano()
		latency := time.Duration(now - c.obs.start)
		c.obs.start = now
		if c.l.srv.sampleTunnel(lm, c.l.set.sample) {
			c.obs.bits |= obsLog
			c.logUpgraded(latency)
		}
	}
}

// noteFail is called when the proxy answers the request itself with status
// (fail); err is why.
func (c *conn) noteFail(status int, err error) {
	lm := c.l.obs
	if lm == nil || c.flags&cfRespStarted != 0 {
		return // nothing is sent: the answer already began
	}
	bits := c.obs.bits
	if bits&obsPending == 0 && c.st != stHead {
		return
	}
	c.obs.bits &^= obsPending
	o := c.l.srv.obs.unrouted
	routed := bits&(obsPending|obsRouted) == obsPending|obsRouted
	if routed {
		o = c.rt.obs
	}
	rc := &o.loops[c.l.ID]
	upgrade := bits&(obsPending|obsUpgrade) == obsPending|obsUpgrade
	if upgrade {
		rc.handshakes[hsFailed].Add(1)
	} else {
		rc.requests[statusClass(status)].Add(1)
	}
	if status >= 500 {
		c.logFailed(status, err, routed, upgrade)
	}
}

func statusClass(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100
}

// noteClosing is called by close before anything is torn down.
func (c *conn) noteClosing() {
	if c.obs.bits&obsTunnel == 0 {
		return
	}
	c.obs.bits &^= obsTunnel
	lm := c.l.obs
	c.rt.obs.loops[c.l.ID].tunnels.Add(-1)
	who := c.closer()
	lm.closedBy[who].Add(1)
	if c.obs.bits&obsLog != 0 {
		c.logClosed(who)
	}
}

// closer says who ended the tunnel: the side whose Close frame came first;
// without one, the side whose end of stream came first; else the proxy
// (idle timeout, drain, a protocol violation, a socket error).
func (c *conn) closer() uint8 {
	if c.obs.first != closerUnknown {
		return c.obs.first
	}
	clEOF := c.cl.flags&epEOF != 0
	upEOF := c.up != nil && c.up.flags&epEOF != 0
	switch {
	case clEOF && !upEOF:
		return closerClient
	case upEOF && !clEOF:
		return closerUpstream
	case clEOF:
		// Both ended: the first end of stream half-closed the other
		// side, and the second usually closed at once.
		if c.cl.flags&epShutWrite != 0 && c.up.flags&epShutWrite == 0 {
			return closerUpstream
		}
		return closerClient
	}
	return closerProxy
}

// noteDial is called when a connect to an upstream server starts. The
// endpoint's parked field is unused until it is parked, so it holds the
// start time meanwhile.
func (c *conn) noteDial(up *endpoint) { up.parked = time.Now().UnixNano() }

// noteConnected is called when a connect started by dial succeeds.
func (c *conn) noteConnected(up *endpoint) {
	lm := c.l.obs
	if lm == nil || up.parked == 0 {
		return
	}
	d := time.Duration(time.Now().UnixNano() - up.parked)
	up.parked = 0
	sc := &up.srv.obs.loops[c.l.ID]
	i := 0
	for i < len(connectBuckets) && d > connectBuckets[i] {
		i++
	}
	sc.connect[i].Add(1)
	sc.connectSum.Add(int64(d))
}

// noteConnectError counts a failed connect to srv. It may run on any loop.
func (s *Server) noteConnectError(srv *server) { srv.obs.connectErrors.Add(1) }

// Hooks called by the relay for observability. Directions: 0 client →
// upstream, 1 upstream → client. They run on the loop's goroutine, on the
// hot path: a few loop-owned or atomic increments.

// noteFrame is called for every frame header that passes through a tunnel.
// A message is counted at its final data frame.
func (c *conn) noteFrame(d direction, h ws.Header) {
	if !h.Fin || h.OpCode.IsControl() {
		return
	}
	c.obs.msgs[d]++
	if lm := c.l.obs; lm != nil {
		lm.messages[d].Add(1)
	}
}

// noteBytes is called with the number of tunnel bytes relayed in direction d.
func (c *conn) noteBytes(d direction, n int) {
	c.obs.bytes[d] += uint64(n)
	if lm := c.l.obs; lm != nil {
		lm.bytes[d].Add(uint64(n))
	}
}

// noteClose is called when a Close frame's status code is seen in direction
// d (0 when the Close carried no code); by the proxy's own Close frames too,
// which are written after c.dir[d] is marked dsCloseSent.
func (c *conn) noteClose(d direction, code ws.StatusCode) {
	if code == 0 {
		code = ws.StatusNoStatusRcvd // RFC 6455 §7.1.5
	}
	if c.obs.code[d] == 0 {
		c.obs.code[d] = uint16(code)
	}
	if c.obs.first == closerUnknown {
		switch {
		case c.dir[d].flags&dsCloseSent != 0:
			c.obs.first = closerProxy
		case d == toUpstream:
			c.obs.first = closerClient
		default:
			c.obs.first = closerUpstream
		}
	}
	if lm := c.l.obs; lm != nil {
		lm.codes[d].add(uint16(code))
	}
}

// addPollErr counts an epoll_ctl that failed (endpoint.setInterestForce).
func (lm *loopMetrics) addPollErr() {
	if lm != nil {
		lm.pollErrors.Add(1)
	}
}

// addWriteErr counts a write of the proxy's own bytes that failed; the
// connection is closed by whoever next touches it.
func (lm *loopMetrics) addWriteErr() {
	if lm != nil {
		lm.writeErrors.Add(1)
	}
}
