package core

import (
	"time"

	"github.com/gobwas/ws"

	"wsproxy/core/metrics"
	"wsproxy/internal/closerule"
)

// Metrics: the hooks that count what a connection does.
//
// The counters are core/metrics's (metrics.Counters): every Loop owns one
// metrics.Loop and is the only writer of it, and each route and upstream
// server points to its counters (metrics.Route, metrics.Server), one set
// per loop, so a hook costs a slice index and an atomic add: no map
// lookup, no lock, no allocation. Counters belong to a name, not to a
// configuration: the route or server of the same name after a reload
// (Apply) counts on.
//
// A connection keeps what its own log lines need in conn.obs (connObs).

// connObs is what a connection remembers for its metrics and log lines:
// 40 bytes.
type connObs struct {
	start   int64     // unix nanos: request head read; from the 101 on, start of the tunnel
	bytes   [2]uint64 // tunnel bytes relayed, by direction (0 client → upstream)
	msgs    [2]uint32 // tunnel messages relayed, by direction; wraps after 2^32
	code    [2]uint16 // first Close code seen by direction; 0 none, 1005 a Close without code
	bits    obsBits
	first   uint8          // metrics.Closer*: who closed the tunnel first, when a Close frame says so
	rule    closerule.Rule // why the proxy closed the tunnel on its own (internal/closerule)
	ruleDir uint8          // the direction of the frame that broke rule
}

type obsBits uint8

const (
	obsPending obsBits = 1 << iota // a request head awaits its answer (not counted yet)
	obsRouted                      // ... and it was routed: c.rt is its route
	obsUpgrade                     // ... and it asks for a WebSocket upgrade
	obsTunnel                      // counted in metrics.RouteLoop.Tunnels
	obsLog                         // sampled in: write this tunnel's log lines
)

// attachMetrics gives l its counters. Called from Start before l runs.
func (s *Server) attachMetrics(l *Loop) { l.obs = s.obs.AddLoop() }

// noteHead is called when a request head has been read and parsed; upgrade
// says whether it asks for a WebSocket upgrade.
func (c *conn) noteHead(upgrade bool) {
	c.obs.start = c.cl.l.Now.UnixNano()
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
	lm := c.cl.l.obs
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
	rc := &c.rt.obs.Loops[c.cl.l.ID]
	switch {
	case !upgrade:
		rc.Requests[statusClass(status)].Add(1)
	case status != 101:
		rc.Handshakes[metrics.HandshakeRejected].Add(1)
	default:
		rc.Handshakes[metrics.HandshakeUpgraded].Add(1)
		rc.Tunnels.Add(1)
		c.obs.bits |= obsTunnel
		now := c.cl.l.Now.UnixNano()
		latency := time.Duration(now - c.obs.start)
		c.obs.start = now
		if c.cl.l.srv.sampleTunnel(c.cl.l, c.cl.l.set.sample) {
			c.obs.bits |= obsLog
			c.logUpgraded(latency)
		}
	}
}

// noteFail is called when the proxy answers the request itself with status
// (fail); err is why.
func (c *conn) noteFail(status int, err error) {
	lm := c.cl.l.obs
	if lm == nil || c.flags&cfRespStarted != 0 {
		return // nothing is sent: the answer already began
	}
	bits := c.obs.bits
	if bits&obsPending == 0 && c.st != stHead {
		return
	}
	c.obs.bits &^= obsPending
	o := c.cl.l.srv.obs.Unrouted
	routed := bits&(obsPending|obsRouted) == obsPending|obsRouted
	if routed {
		o = c.rt.obs
	}
	rc := &o.Loops[c.cl.l.ID]
	upgrade := bits&(obsPending|obsUpgrade) == obsPending|obsUpgrade
	if upgrade {
		rc.Handshakes[metrics.HandshakeFailed].Add(1)
	} else {
		rc.Requests[statusClass(status)].Add(1)
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
	lm := c.cl.l.obs
	c.rt.obs.Loops[c.cl.l.ID].Tunnels.Add(-1)
	who := c.closer()
	lm.ClosedBy[who].Add(1)
	if c.obs.bits&obsLog != 0 {
		c.logClosed(who)
	}
}

// closer says who ended the tunnel: the side whose Close frame came first;
// without one, the side whose end of stream came first; else the proxy
// (idle timeout, drain, a protocol violation, a socket error).
func (c *conn) closer() uint8 {
	if c.obs.first != metrics.CloserUnknown {
		return c.obs.first
	}
	clEOF := c.cl.flags&epEOF != 0
	upEOF := c.up != nil && c.up.flags&epEOF != 0
	switch {
	case clEOF && !upEOF:
		return metrics.CloserClient
	case upEOF && !clEOF:
		return metrics.CloserUpstream
	case clEOF:
		// Both ended: the first end of stream half-closed the other
		// side, and the second usually closed at once.
		if c.cl.flags&epShutWrite != 0 && c.up.flags&epShutWrite == 0 {
			return metrics.CloserUpstream
		}
		return metrics.CloserClient
	}
	return metrics.CloserProxy
}

// noteRule records that the proxy closes c under rule, the first time
// only; d is the direction of the frame that broke it (for violations).
// It counts the rule, and makes sure a violation's closing line is logged.
func (c *conn) noteRule(rule closerule.Rule, d direction) {
	if c.obs.rule != closerule.None {
		return
	}
	c.obs.rule, c.obs.ruleDir = rule, uint8(d)
	if rule.Violation() {
		c.obs.bits |= obsLog
	}
	if lm := c.cl.l.obs; lm != nil {
		lm.ProxyCloses[rule].Add(1)
	}
}

// noteDial is called when a connect to an upstream server starts. The
// endpoint's parked field is unused until it is parked, so it holds the
// start time meanwhile.
func (c *conn) noteDial(up *endpoint) { up.parked = microsAt(time.Now().UnixNano()) }

// noteConnected is called when a connect started by dial succeeds.
func (c *conn) noteConnected(up *endpoint) {
	lm := c.cl.l.obs
	if lm == nil || up.parked == 0 {
		return
	}
	d := up.parked.since(microsAt(time.Now().UnixNano()))
	up.parked = 0
	up.srv.obs.AddConnect(c.cl.l.ID, d)
}

// noteConnectError counts a failed connect to srv. It may run on any loop.
func (s *Server) noteConnectError(srv *server) { srv.obs.ConnectErrors.Add(1) }

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
	if lm := c.cl.l.obs; lm != nil {
		lm.Messages[d].Add(1)
	}
}

// noteBytes is called with the number of tunnel bytes relayed in direction d.
func (c *conn) noteBytes(d direction, n int) {
	c.obs.bytes[d] += uint64(n)
	if lm := c.cl.l.obs; lm != nil {
		lm.Bytes[d].Add(uint64(n))
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
	if c.obs.first == metrics.CloserUnknown {
		switch {
		case c.dir[d].flags&dsCloseSent != 0:
			c.obs.first = metrics.CloserProxy
		case d == toUpstream:
			c.obs.first = metrics.CloserClient
		default:
			c.obs.first = metrics.CloserUpstream
		}
	}
	if lm := c.cl.l.obs; lm != nil {
		lm.Codes[d].Add(uint16(code))
	}
}
