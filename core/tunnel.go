package core

import (
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/sock"
	"wsproxy/poller"
)

// tunnel is what a connection keeps once its upstream answered 101: per
// direction a frame scanner and what the relay remembers (dirState), and
// the ping state of a route that pings. It is embedded in conn; the HTTP
// state (exchange) is gone by then.
//
// Each readiness event of a tunnel's endpoint goes to onTunnel, not to the
// HTTP state machine: the endpoint's queued output is flushed (it is the
// destination of one direction), then its input is pumped (it is the
// source of the other). One pump moves one read's worth:
//
//	splice (splice.go)   payload of a large frame, socket → pipe → socket
//	or read → relay      frame scanner, frame policy (protocol.go), write
//	                     to the other endpoint, queueing what it refuses
//
// and whether splicing applies is decided once, before the read.
type tunnel struct {
	scan [2]codec.FrameScanner // by direction
	dir  [2]dirState
	ping *pingState // nil unless the route pings
}

// src and dst are the endpoints a direction reads from and writes to.
func (c *conn) src(d direction) *endpoint {
	if d == toClient {
		return c.up
	}
	return &c.cl
}

func (c *conn) dst(d direction) *endpoint {
	if d == toClient {
		return &c.cl
	}
	return c.up
}

// onTunnel handles a readiness event of e, an endpoint of a tunnel.
func (c *conn) onTunnel(e *endpoint, ev poller.Event) {
	in := toUpstream // the direction e's input travels
	if e != &c.cl {
		in = toClient
	}
	if ev&(poller.Writable|poller.Error) != 0 && e.pending() > 0 && !c.flushTunnel(e) {
		return
	}
	if ev&(poller.Readable|poller.Hangup|poller.Error) != 0 && c.canPump(in) {
		c.drained(ev, c.pump(in))
	}
}

// canPump reports whether direction d may read: its source has not ended,
// and its destination has no output waiting (back-pressure).
func (c *conn) canPump(d direction) bool {
	dst := c.dst(d)
	return c.src(d).flags&epEOF == 0 && dst.pipe == nil && dst.pending() < c.cl.l.set.limits.MaxPendingBytes
}

// pump moves one read's worth of direction d.
//
// It reports whether the read left the source with nothing the kernel
// would report again unasked (endpoint.emptied). A spliced source reads
// on, and an end of stream is left to be seen again: those report false.
func (c *conn) pump(d direction) bool {
	splice := c.spliceReady(d)
	if splice && c.spliceTunnel(d) {
		return false
	}
	l := c.cl.l
	max := 0
	if splice {
		max = c.tunnelReadMax(d)
	}
	src := c.src(d)
	buf, n, err := l.Buf, 0, error(nil)
	if i := l.prefetched(src); i >= 0 {
		buf, n, err = l.ahead.read(i) // read ahead (prefetch.go)
		max = prefetchSlot
	} else {
		n, err = src.read(l, max)
	}
	emptied := src.emptied(l, n, max, err)
	if !c.relayRead(d, buf, n, err) {
		return err == unix.EAGAIN && emptied
	}
	if c.st == stTunnel && c.spliceFollows(d) {
		c.spliceTunnel(d) // the payload behind a header this read ended with
		return false
	}
	return emptied
}

// relayRead handles a read of direction d's source that gave n bytes of
// p, or err: the bytes are relayed, an end of stream or an error ends
// what it ends. It reports whether bytes were relayed and the tunnel is
// still open.
func (c *conn) relayRead(d direction, p []byte, n int, err error) bool {
	switch {
	case err == unix.EAGAIN:
		return false
	case err != nil:
		c.close()
		return false
	case n == 0:
		c.tunnelEOF(d)
		return false
	}
	c.active = c.cl.l.Now.UnixNano()
	if c.relay(c.dst(d), p[:n], d) != nil {
		c.close()
		return false
	}
	return true
}

// flushTunnel writes e's queued output; once it is all out, a pending
// half-close is done, and a tunnel whose both sides have ended closes. It
// reports false when the connection was closed.
func (c *conn) flushTunnel(e *endpoint) bool {
	done, err := e.flush()
	if err != nil {
		c.close()
		return false
	}
	if done && e.flags&(epShutWrite|epWriteShut) == epShutWrite {
		if !c.settle() {
			return false
		}
		e.flags |= epWriteShut
		_ = sock.ShutdownWrite(e.FD()) // fails only on a socket the peer reset: its next event ends it
		if c.cl.flags&c.up.flags&epEOF != 0 && c.cl.pending() == 0 && c.up.pending() == 0 {
			c.close()
			return false
		}
	}
	c.maybeFinishClosing()
	return c.st != stClosed
}

// tunnelEOF handles the end of direction d's source: its destination is
// half-closed once its output is written, and the tunnel closes when both
// sides have ended.
func (c *conn) tunnelEOF(d direction) {
	c.src(d).flags |= epEOF
	c.dropHold(d) // a Close cut short by the end of its stream never goes out
	if !c.settle() {
		return
	}
	if c.src(d.opposite()).flags&epEOF != 0 && c.cl.pending() == 0 && c.up.pending() == 0 {
		c.close()
		return
	}
	c.shutWrite(c.dst(d))
	c.halfClosed()
}

// tunnelInterest sets both endpoints' poller interest: read a direction's
// source while it may pump, write whatever is queued.
func (c *conn) tunnelInterest() {
	for d := toUpstream; d <= toClient; d++ {
		e := c.src(d)
		var ev poller.Event
		if c.canPump(d) {
			ev |= poller.Readable
		}
		if e.pending() > 0 {
			ev |= poller.Writable
		}
		e.setInterest(c.cl.l, ev)
		if c.st == stClosed {
			return
		}
	}
}
