package core

import (
	"fmt"
	"sync/atomic"
	"time"

	"wsproxy/internal/closerule"
)

// Closing many WebSockets at the same instant makes their clients reconnect
// in one storm. So the proxy's own closes are spread: each tunnel gets a
// fixed pseudo-random place in the window (jitter), and at time t of the
// window the tunnels whose place is before t are sent Close 1001.

// drainSpread is the window a drain of the given timeout uses to close the
// tunnels still open at its end: the last quarter, at most 10 s.
func drainSpread(timeout time.Duration) time.Duration {
	return min(timeout/4, 10*time.Second)
}

// jitter places c in [0, 1) of a closing window, from its descriptor and
// client port: fixed for the connection, spread across connections.
func (c *conn) jitter() float64 {
	h := (uint64(c.cl.FD())<<16 | uint64(c.peerPort)) * 0x9E3779B97F4A7C15
	h ^= h >> 29
	return float64(h>>11) / (1 << 53)
}

// spreadGoingAway sends goingAway to the connections match selects, spread
// over window, and returns when the window is over or as soon as none of
// them is left open: a stopping process exits once its last tunnel is gone
// instead of waiting out the window. It runs on the caller's goroutine and
// reaches the loops through Submit.
//
// The window is a bound, not a schedule: n connections are spread over at
// most n polls (n × drainPoll), so a handful are told at once. A reconnect
// storm needs many clients; a few closing in the same poll are none, and
// spreading them over seconds only keeps a Ctrl-C waiting.
func (s *Server) spreadGoingAway(window time.Duration, match func(*conn) bool, rule closerule.Rule) {
	defer s.holdMoves()() // every pass finds every tunnel: none is between two loops
	start := time.Now()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	n := s.countConns(match)
	if n == 0 {
		return
	}
	window = min(window, time.Duration(n)*drainPoll)
	for {
		frac := 1.0
		if window > 0 {
			frac = min(float64(time.Since(start))/float64(window), 1)
		}
		var left atomic.Int64 // the loops count at the same time
		s.each(func(l *Loop) {
			l.eachConn(func(c *conn) {
				if match != nil && !match(c) {
					return
				}
				if c.jitter() <= frac {
					c.goingAway(rule)
				}
				if c.st != stClosed {
					left.Add(1)
				}
			})
		})
		if frac >= 1 || left.Load() == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-s.done:
			return
		}
	}
}

// countConns counts the open client connections match selects (nil: all).
// Safe from any goroutine but the loops'.
func (s *Server) countConns(match func(*conn) bool) int {
	defer s.holdMoves()()  // none between two loops, uncounted
	var count atomic.Int64 // the loops count at the same time
	s.each(func(l *Loop) {
		l.eachConn(func(c *conn) {
			if match == nil || match(c) {
				count.Add(1)
			}
		})
	})
	return int(count.Load())
}

// DrainServer takes one backend out of service without a reconnect storm:
// it gets no new requests or tunnels, and its open tunnels are sent Close
// 1001 both ways, spread over window. It returns how many tunnels were open
// to it. The server stays out until UndrainServer, whatever health checks
// say. Safe from any goroutine; it returns once the window has begun, the
// closes go on in the background.
func (s *Server) DrainServer(upstream, server string, window time.Duration) (int, error) {
	srv, err := s.findServer(upstream, server)
	if err != nil {
		return 0, err
	}
	srv.drained.Store(true)
	srv.b.MarkDown()
	match := func(c *conn) bool { return c.st == stTunnel && c.up != nil && c.up.srv == srv }
	n := s.countConns(match)
	s.log.Info("draining server", "upstream", upstream, "server", server, "tunnels", n, "window", window)
	go s.spreadGoingAway(window, match, closerule.ServerDrained)
	return n, nil
}

// UndrainServer puts a server drained by DrainServer back in service.
func (s *Server) UndrainServer(upstream, server string) error {
	srv, err := s.findServer(upstream, server)
	if err != nil {
		return err
	}
	srv.drained.Store(false)
	srv.b.MarkUp()
	s.log.Info("server back in service", "upstream", upstream, "server", server)
	return nil
}

func (s *Server) findServer(upstream, server string) (*server, error) {
	u := s.cur.Load().ups[upstream]
	if u == nil {
		return nil, fmt.Errorf("no upstream %q", upstream)
	}
	for _, srv := range u.members().list {
		if srv.name == server || srv.addr.String() == server {
			return srv, nil
		}
	}
	return nil, fmt.Errorf("upstream %q has no server %q", upstream, server)
}
