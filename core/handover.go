package core

import (
	"sync"
	"time"

	"wsproxy/internal/handover"
	"wsproxy/poller"
)

// Tunnels handed over to another process (internal/handover does the rest:
// the state's encoding, the transport, the exchange). A tunnel leaves its
// loop only at a frame boundary in both directions with no output queued:
// then its state is a few flags, lengths and times, and every byte the
// peers sent since waits in the sockets for the new owner. Its sockets
// are unregistered, not closed, and the connection is forgotten as close
// forgets it, except that it counts as handed over rather than closed.
// The receiving process registers the sockets in one of its loops with
// the state restored; its route, upstream and server are found again by
// name (handoverTargets).
//
//	leaves now   a plain-TCP tunnel at a boundary both ways, nothing queued
//	leaves later inside a frame, output queued, or a WebSocket handshake
//	             in flight (it becomes a tunnel soon): Send tries again
//	stays        TLS on either side (crypto/tls's state cannot be moved),
//	             a Close seen or sent, a side ended; HTTP connections

// handoverCheck is whether a connection may leave the process.
type handoverCheck uint8

const (
	hoStays handoverCheck = iota
	hoLater
	hoNow
)

// handoverCheck says whether c may be exported now.
func (c *conn) handoverCheck() handoverCheck { return c.tunnelCheck(false) }

// tunnelCheck says whether c may leave its loop now: for another process,
// or, with tlsMoves, for another loop of this one, which a TLS tunnel may
// join once crypto/tls holds nothing of it unread or unsent
// (tlsloop.Conn.Movable).
func (c *conn) tunnelCheck(tlsMoves bool) handoverCheck {
	switch {
	case (c.st == stSend || c.st == stWait) && c.flags&cfUpgrade != 0:
		return hoLater
	case c.st != stTunnel || c.up == nil:
		return hoStays
	case c.cl.tls != nil || c.up.tls != nil:
		if !tlsMoves {
			return hoStays
		}
		if c.cl.tls != nil && !c.cl.tls.Movable() || c.up.tls != nil && !c.up.tls.Movable() {
			return hoLater
		}
	}
	if c.flags&cfGoingAway != 0 || c.obs.code != [2]uint16{} || (c.cl.flags|c.up.flags)&(epEOF|epShutWrite) != 0 {
		return hoStays // closing: it ends soon where it is
	}
	for d := range c.dir {
		if c.dir[d].flags&(dsClosePending|dsCloseSent) != 0 {
			return hoStays
		}
		if !c.scan[d].AtBoundary() || c.dir[d].flags&(dsSkip|dsCloseIn|dsCloseHeld) != 0 {
			return hoLater
		}
	}
	if c.cl.pending() > 0 || c.up.pending() > 0 || c.in != nil && len(c.in.B) > 0 {
		return hoLater
	}
	return hoNow
}

// ExportTunnels takes up to max tunnels that may leave now out of the
// loops (see above) and returns them; the caller owns their descriptors.
// waiting counts those that may leave later, and the ones max left out.
// It implements handover.Source; safe from any goroutine.
func (s *Server) ExportTunnels(max int) (ts []handover.Tunnel, waiting int) {
	s.freezeMoves() // none in flight between loops while every loop is visited
	var mu sync.Mutex
	s.each(func(l *Loop) {
		l.Sends.Flush() // a tunnel leaves with nothing of it unsent in the loop
		l.eachConn(func(c *conn) {
			switch c.handoverCheck() {
			case hoNow:
				mu.Lock()
				defer mu.Unlock()
				if len(ts) < max {
					ts = append(ts, c.export())
					return
				}
				waiting++
			case hoLater:
				mu.Lock()
				waiting++
				mu.Unlock()
			}
		})
	})
	return ts, waiting
}

// export detaches c from its loop and returns it as a handover.Tunnel.
func (c *conn) export() handover.Tunnel {
	l := c.cl.l
	now := l.Now.UnixNano()
	t := handover.Tunnel{ClientFD: c.cl.FD(), UpstreamFD: c.up.FD()}
	st := &t.State
	st.Peer = c.peer()
	st.Route, st.Upstream, st.Server = c.rt.name, c.up.srv.up.name, c.up.srv.name
	st.Deflate, st.UnknownExt = c.flags&cfExtDeflate != 0, c.flags&cfExtUnknown != 0
	st.Logged = c.obs.bits&obsLog != 0
	for d := range c.dir {
		ds := &c.dir[d]
		st.Dir[d] = handover.Dir{Fragmented: ds.flags&dsFragmented != 0, Bulk: ds.flags&dsBulk != 0, MessageLen: ds.msgLen}
	}
	st.Idle, st.Age = time.Duration(max(now-c.active, 0)), time.Duration(max(now-c.obs.start, 0))
	if p := c.ping; p != nil {
		st.Ping.On = true
		for i := range 2 {
			st.Ping.Heard[i] = time.Duration(max(now-p.lastHeard[i], 0))
			if p.sent[i] != 0 {
				st.Ping.Waiting[i], st.Ping.Sent[i] = true, time.Duration(max(now-p.sent[i], 0))
			}
		}
	}
	st.Bytes, st.Messages = c.obs.bytes, c.obs.msgs
	st.Policy = c.rt.ws.Handover()
	c.detach()
	return t
}

// detach forgets c as close does, but leaves its sockets open and counts
// it handed over rather than closed.
func (c *conn) detach() {
	l := c.cl.l
	c.leave() // off the poller, the wheel and the loop's count (gather.go)
	c.cl.SetFD(-1)
	c.up.SetFD(-1)
	l.srv.release(c.up.srv)
	c.up = nil
	c.st = stClosed
	c.obs.bits &^= obsTunnel
	c.rt.obs.Loops[l.ID].Tunnels.Add(-1)
	l.srv.stats.open.Add(-1)
	if c.flags&cfAdmitted != 0 {
		l.srv.limit.release(c.peerAddr, l.Now)
	}
}

// ImportTunnels takes tunnels exported by a Server (of this process or
// another) into the loops, spread over them in turn, and returns how many
// it registered; one it cannot register is closed and logged. It
// implements handover.Sink; safe from any goroutine.
func (s *Server) ImportTunnels(ts []handover.Tunnel) int {
	if len(ts) == 0 {
		return 0
	}
	targets := s.handoverTargets(ts)
	n := len(s.loops)
	s.importMu.Lock()
	first := s.importNext
	s.importNext = (first + len(ts)) % max(n, 1)
	s.importMu.Unlock()
	done := make([]bool, len(ts))
	var mu sync.Mutex
	imported := 0
	s.each(func(l *Loop) {
		k := 0
		for i := (l.ID - first + n) % n; i < len(ts); i += n {
			ok := l.importTunnel(&ts[i], targets[i].rt, targets[i].srv)
			done[i] = true
			if ok {
				k++
			}
		}
		mu.Lock()
		imported += k
		mu.Unlock()
	})
	for i := range ts {
		if !done[i] { // the loop has stopped
			ts[i].Close()
		}
	}
	if imported < len(ts) {
		s.log.Warn("handover: tunnels closed on import", "tunnels", len(ts)-imported)
	}
	return imported
}

// importTunnel registers t's sockets on l as a tunnel of rt to srv and
// restores its state. It reports false, having closed them, when they
// cannot be registered.
func (l *Loop) importTunnel(t *handover.Tunnel, rt *route, srv *server) bool {
	st := &t.State
	c := &conn{st: stTunnel, rt: rt}
	c.setPeer(st.Peer)
	c.tm.Owner = c
	c.cl = endpoint{c: c, l: l, events: interestOf(poller.Readable)}
	c.cl.SetFD(t.ClientFD)
	up := &endpoint{c: c, l: l, srv: srv, flags: epIsUpstream, events: interestOf(poller.Readable)}
	up.SetFD(t.UpstreamFD)
	if err := l.Register(c.cl.FD(), &c.cl, poller.Readable); err != nil {
		t.Close()
		l.Log.Error("handover: cannot register an imported tunnel", "err", err)
		return false
	}
	if err := l.Register(up.FD(), up, poller.Readable); err != nil {
		l.Unregister(c.cl.FD())
		t.Close()
		l.Log.Error("handover: cannot register an imported tunnel", "err", err)
		return false
	}
	c.cl.flags |= epRegistered
	up.flags |= epRegistered
	c.up = up
	srv.b.Adopt()
	l.conns++
	l.srv.stats.open.Add(1)
	c.admitConn()
	c.restore(st)
	rt.obs.Loops[l.ID].Tunnels.Add(1)
	c.onTunnelTimer()
	return true
}

// restore sets c's tunnel state from st, its times counted back from now.
func (c *conn) restore(st *handover.State) {
	now := c.cl.l.Now.UnixNano()
	if st.Deflate {
		c.flags |= cfExtDeflate
	}
	if st.UnknownExt {
		c.flags |= cfExtUnknown
	}
	for d := range c.dir {
		ds := &c.dir[d]
		ds.msgLen = st.Dir[d].MessageLen
		if st.Dir[d].Fragmented {
			ds.flags |= dsFragmented
		}
		if st.Dir[d].Bulk {
			ds.flags |= dsBulk
		}
	}
	c.active = now - int64(st.Idle)
	c.obs.start = now - int64(st.Age)
	c.obs.bytes, c.obs.msgs = st.Bytes, st.Messages
	c.obs.bits |= obsTunnel
	if st.Logged {
		c.obs.bits |= obsLog
	}
	if c.rt.ws.Ping == nil {
		return
	}
	p := &pingState{lastHeard: [2]int64{now, now}} // a route that did not ping before: from now
	if st.Ping.On {
		for i := range 2 {
			p.lastHeard[i] = now - int64(st.Ping.Heard[i])
			if st.Ping.Waiting[i] {
				p.sent[i] = max(now-int64(st.Ping.Sent[i]), 1) // 0 means none
			}
		}
	}
	c.ping = p
}
