package core

import (
	"time"

	"wsproxy/internal/closerule"
)

// Draining is how a Server stops without cutting off its clients: it stops
// accepting, lets the connections it has finish, and closes whatever is
// still open when the drain timeout ends. It is what a worker does on
// SIGTERM and what the old generation of workers does after a reload.
//
// Every step runs on the loops' goroutines through Loop.Submit; the
// goroutine calling Drain only waits and polls the open-connection counter.

// drainPoll is how often Drain checks the number of open connections and
// nudges idle keep-alive clients to close.
const drainPoll = 50 * time.Millisecond

// drainSweepMax bounds the final accept sweep of one listener, so that a
// flood of connects cannot keep a listener open for ever.
const drainSweepMax = 4096

// Open returns the number of client connections open now, as in
// Stats().Open. It is safe to call from any goroutine, for example to watch
// a drain's progress.
func (s *Server) Open() int64 { return s.stats.open.Load() }

// Drain stops accepting, waits up to timeout for the open client
// connections to close, then ends the rest, and returns. Ending means
// goingAway (a WebSocket Close 1001 both ways) and, for what is still open
// goAwayGrace later, closing the sockets; so Drain may take about a second
// longer than timeout (DrainLimit), and returns as soon as no connection is
// left open. The loops keep running: call Close afterwards. Drain may be
// called from any goroutine but not concurrently with itself; calling Close
// while Drain runs makes it return early.
//
// Stopping accepting means a last sweep of each listener's accept queue
// (so connections the kernel already completed are served, not reset) and
// then closing it. While the drain lasts, HTTP keep-alive clients waiting
// between requests are closed, and plain HTTP exchanges in flight are
// marked to close once their response is complete; WebSocket tunnels keep
// relaying until either side closes them.
func (s *Server) Drain(timeout time.Duration) { s.drain(timeout, drainSpread(timeout)) }

// DrainLimit is how long Drain(timeout) takes at most: the timeout, then
// goAwayGrace for the peers' Close replies and a poll or two.
func DrainLimit(timeout time.Duration) time.Duration { return timeout + goAwayGrace + 2*drainPoll }

// drain is Drain with the closes of what is left spread over the last
// spread of timeout.
func (s *Server) drain(timeout, spread time.Duration) {
	s.freezeMoves() // none in flight between loops while every loop is visited
	s.stopAccepting(true)
	s.log.Info("draining", "open", s.Open(), "timeout", timeout)
	s.waitOpen(time.Now().Add(timeout-spread), (*conn).drainNudge)
	if n := s.Open(); n > 0 {
		// goingAway sends WebSocket Close 1001 both ways at the next frame
		// boundaries and closes each tunnel once they are written, or
		// after goAwayGrace; what is left after that is closed outright.
		// The closes are spread over the last part of the drain so that
		// clients do not all reconnect at once.
		s.log.Warn("drain: closing the remaining connections with Close 1001", "open", n, "timeout", timeout, "spread", spread)
		s.spreadGoingAway(spread, nil, closerule.Drain)
		s.waitOpen(time.Now().Add(goAwayGrace+2*drainPoll), nil)
		s.each(func(l *Loop) { l.eachConn((*conn).close) })
	}
	s.log.Info("drained", "accepted", s.stats.accepted.Load())
}

// StopAccepting sweeps each listener's accept queue a last time and closes
// it; the connections it has go on. A worker handing its tunnels to a new
// generation calls it first, so that no new tunnel starts there
// meanwhile; there a listener on a master's socket (Options.Listeners) is
// closed without a sweep: the socket lives on in the new generation, and
// what its queue holds is for it, not for a process that is leaving. Drain
// begins with a sweep of every listener (when the master stops, or drops
// an address, this process's close may be the last). Safe from any
// goroutine; calling it again does nothing.
func (s *Server) StopAccepting() { s.stopAccepting(false) }

func (s *Server) stopAccepting(sweepShared bool) {
	s.each(func(l *Loop) {
		for _, ln := range s.lns {
			if ln.l == l {
				sweep := drainSweepMax
				if ln.Shared && !sweepShared {
					sweep = 0
				}
				ln.StopAccepting(sweep)
			}
		}
	})
}

// waitOpen polls until no client connection is open or deadline passes,
// calling nudge (when not nil) on every open connection at each poll.
func (s *Server) waitOpen(deadline time.Time, nudge func(*conn)) {
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for s.Open() > 0 && time.Now().Before(deadline) {
		if nudge != nil {
			s.each(func(l *Loop) { l.eachConn(nudge) })
			if s.Open() == 0 {
				return
			}
		}
		<-tick.C
	}
}

// each runs f on every loop's goroutine and waits until it has run. A loop
// that has stopped, or stops before running f, is skipped.
func (s *Server) each(f func(l *Loop)) {
	dones := make([]chan struct{}, len(s.loops))
	for i, l := range s.loops {
		done := make(chan struct{})
		if l.Submit(func() { f(l); close(done) }) {
			dones[i] = done
		}
	}
	for i, done := range dones {
		if done == nil {
			continue
		}
		select {
		case <-done:
		case <-s.loops[i].Done():
		}
	}
}

// drainNudge moves c towards closing without cutting anything short: a
// keep-alive client waiting between requests is closed, and a plain HTTP
// exchange in flight will close the client once its response is complete.
// Tunnels, upgrades in progress and half-received request heads are left
// alone.
func (c *conn) drainNudge() {
	switch c.st {
	case stHead:
		if c.flags&cfKeepAliveWait != 0 && (c.in == nil || len(c.in.B) == 0) {
			c.close()
		}
	case stSend, stWait, stResp:
		if c.flags&cfUpgrade == 0 {
			c.flags |= cfClientClose
		}
	}
}

// goingAway is in goaway.go: Close 1001 to both sides of a tunnel.
