package core

import (
	"sync/atomic"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"wsproxy/internal/reactor"
	"wsproxy/internal/sock"
)

// Zero-copy relay of large WebSocket payloads (splice_linux.go; a no-op
// elsewhere). Read and write copy every relayed byte twice, into the
// loop's buffer and out of it; splice(2) moves payload from one socket to
// the other through a kernel pipe instead, as HAProxy's option splice-auto
// does. Only payload is spliced and only up to the end of its frame: every
// header is read and checked as before, so frame checks, size limits,
// counters, pings and Close frames at boundaries work unchanged.
//
// A direction of a tunnel splices when both sockets are plain TCP, the
// route allows it (websocket.splice), the last data frame header this way
// announced at least spliceMin bytes and at least spliceTail of it is left,
// nothing waits for the destination, and the proxy is not closing that
// direction. The payload is never looked at on the way (the proxy does not
// unmask or validate data frames), so nothing is lost by not reading it.
// While a direction's frames are large, its reads stop just past the next
// header (tunnelReadMax) so that the payload behind it is left for splice.
//
// Pipe states (per endpoint, for the bytes travelling toward it):
//
//	pipe == nil        nothing spliced waits; the loop's pool has the pipe
//	pipe.N > 0         bytes in the pipe wait for Writable, ahead of out;
//	                   the other side is not read (back-pressure)
//
// A pipe is held only while it holds bytes, so an idle tunnel holds none.
// Each loop makes at most pipesPerLoop pipes (two descriptors each) and
// falls back to read and write when all are held. A pipe that still holds
// bytes when its connection closes is closed, never pooled.
const (
	spliceMin    = 64 << 10 // data frames at least this long are spliced (16 KiB measured worse)
	spliceTail   = 4 << 10  // splice while at least this much payload is left
	spliceRounds = 4        // pipe loads per readiness event, for fairness
	pipesPerLoop = 32       // pipes a loop may have open
)

// splicePipes is a loop's pipes and its count of spliced bytes.
type splicePipes struct {
	reactor.Pipes
	bytes [2]atomic.Uint64 // payload bytes spliced, per direction
}

// noteFrameLength records whether the data frames travelling in this
// direction are large enough to splice.
func (ds *dirState) noteFrameLength(n int64) {
	if n >= spliceMin {
		ds.flags |= dsBulk
	} else {
		ds.flags &^= dsBulk
	}
}

// spliceReady reports whether direction d of a tunnel may splice now,
// payload length aside.
func (c *conn) spliceReady(d direction) bool {
	if !sock.SpliceSupported || c.st != stTunnel || !c.rt.ws.Splice {
		return false
	}
	if c.dir[d].flags&(dsBulk|dsSkip|dsClosePending|dsCloseSent) != dsBulk {
		return false
	}
	src, dst := c.src(d), c.dst(d)
	if src == nil || dst == nil || src.tls != nil || dst.tls != nil || dst.pending() > 0 {
		return false
	}
	if d == toUpstream && c.in != nil && len(c.in.B) > 0 {
		return false // client bytes read earlier go first
	}
	return c.l.pipes.Available()
}

// tunnelReadMax caps a read in direction d just past the next frame
// header while that direction's frames are spliced, so that the header is
// read and checked as usual and the payload behind it stays in the socket
// for spliceTunnel. 0: no cap.
func (c *conn) tunnelReadMax(d direction) int {
	if !sock.SpliceSupported || !c.spliceReady(d) {
		return 0
	}
	return int(c.scan[d].Remaining()) + ws.MaxHeaderSize
}

// spliceFollows reports whether the payload left of the frame passing in
// direction d will be spliced.
func (c *conn) spliceFollows(d direction) bool {
	return c.scan[d].Remaining() >= spliceTail && c.dir[d].flags&dsControl == 0 && c.spliceReady(d)
}

// flushBeforeSplice writes p, the header and first payload bytes of a
// frame whose rest splice will send, with MSG_MORE: they leave with that
// payload instead of in a small segment of their own. dst stays corked
// until the payload follows (spliceTunnel uncorks it if none does).
func (c *conn) flushBeforeSplice(dst *endpoint, p []byte, d direction) error {
	c.noteBytes(d, len(p))
	for len(p) > 0 {
		n, err := sock.SendMore(dst.FD, p)
		switch err {
		case nil:
			p = p[n:]
		case unix.EINTR:
		case unix.EAGAIN:
			return dst.write(p) // queued: nothing will be spliced before it drains
		default:
			return err
		}
	}
	dst.flags |= epCorked
	return nil
}

// spliceRun is one readiness event's splicing in one direction: the pipe
// it holds and how it ended.
type spliceRun struct {
	p      *reactor.Pipe // nil once handed to the destination or given back
	moved  int64         // payload bytes spliced in and not yet counted
	inErr  error         // from the source; EAGAIN: it is empty for now
	outErr error         // from the destination
	eof    bool          // the source ended
}

// load is what spliceLoad leaves the run to do next.
type load uint8

const (
	loadStop     load = iota // the run is over
	loadMore                 // the frame goes on and the pipe is empty: splice again
	loadFrameEnd             // the frame ended; its last bytes wait in the pipe (spliceNext)
)

// spliceTunnel moves payload of the frame passing in direction d from its
// source socket to its destination through a pipe, and, while its rounds
// last, of the frames behind it, reading each one's header in between
// (spliceNext). It reports false, having done nothing, when the direction
// is to be read the ordinary way; true when it handled the readiness event
// (the connection may have been closed). Nothing stays corked (MSG_MORE)
// in the destination's socket once it returns.
func (c *conn) spliceTunnel(d direction) bool {
	ok := c.spliceFrames(d)
	if c.st == stTunnel {
		c.uncork(c.dst(d))
	}
	return ok
}

func (c *conn) spliceFrames(d direction) bool {
	if c.scan[d].Remaining() < spliceTail || c.dir[d].flags&dsControl != 0 || !c.spliceReady(d) {
		return false
	}
	s := spliceRun{p: c.l.pipes.Get()}
	if s.p == nil {
		return false
	}
	for i := 0; i < spliceRounds; i++ {
		next := c.spliceLoad(d, &s, i+1 < spliceRounds)
		if next == loadStop || next == loadFrameEnd && !c.spliceNext(d, &s) {
			break
		}
	}
	if c.st == stClosed {
		return true // relay closed it; the pipe went with it
	}
	c.spliceCount(d, &s)
	if s.p != nil {
		if s.p.N > 0 && s.outErr == nil {
			c.dst(d).pipe = s.p // the rest goes out on Writable (endpoint.flush)
		} else {
			c.l.pipes.Put(s.p)
		}
	}
	switch {
	case s.outErr != nil || s.inErr != nil && s.inErr != unix.EAGAIN:
		c.close()
	case s.eof:
		c.tunnelEOF(d)
	}
	return true
}

// spliceLoad splices one pipe load of the current frame's payload in from
// direction d's source and out to its destination. With hold, a load that
// ends the frame stays in the pipe (loadFrameEnd) for spliceNext.
func (c *conn) spliceLoad(d direction, s *spliceRun, hold bool) load {
	sc := &c.scan[d]
	n, err := sock.Splice(c.src(d).FD, s.p.W, int(min(sc.Remaining(), 1<<30)), false)
	if err != nil || n == 0 {
		s.inErr, s.eof = err, err == nil
		return loadStop
	}
	sc.Skip(int64(n))
	s.moved += int64(n)
	s.p.N = n
	if sc.Remaining() == 0 && hold {
		return loadFrameEnd
	}
	if s.outErr = c.dst(d).drainPipe(s.p, false); s.outErr != nil || s.p.N > 0 || sc.Remaining() == 0 {
		return loadStop
	}
	return loadMore
}

// spliceNext reads the header behind a frame whose last bytes wait in s.p,
// sends those bytes, and relays the header. When a whole header came the
// bytes go with MSG_MORE: the header and the payload spliced after it
// follow at once, and the kernel puts them into the same segments instead
// of ending every frame with a small one. It reports whether the next
// frame's payload is to be spliced in this run (s.p is then a pipe again).
func (c *conn) spliceNext(d direction, s *spliceRun) bool {
	l, dst := c.l, c.dst(d)
	n, err := c.src(d).read(l, ws.MaxHeaderSize)
	var data []byte
	switch {
	case err == unix.EAGAIN:
	case err != nil:
		s.inErr = err
	case n == 0:
		s.eof = true
	default:
		data = l.Buf[:n]
	}
	more := false
	if data != nil {
		t := c.scan[d] // a copy: does data hold a whole header?
		_, _, more, _ = t.Scan(data)
	}
	if s.outErr = dst.drainPipe(s.p, more); s.outErr != nil || data == nil {
		return false
	}
	if s.p.N > 0 {
		dst.pipe = s.p // relay queues behind it
	} else {
		l.pipes.Put(s.p) // relay sees the pool as it is
	}
	s.p = nil
	c.spliceCount(d, s)
	c.active = l.Now.UnixNano()
	if c.relay(dst, data, d) != nil {
		c.close()
		return false
	}
	if c.st != stTunnel || !c.spliceFollows(d) {
		return false
	}
	s.p = l.pipes.Get()
	return s.p != nil
}

// spliceCount adds the run's spliced bytes to the counters.
func (c *conn) spliceCount(d direction, s *spliceRun) {
	if s.moved > 0 {
		c.active = c.l.Now.UnixNano()
		c.noteBytes(d, int(s.moved))
		c.l.pipes.bytes[d].Add(uint64(s.moved))
		s.moved = 0
	}
}

// drainPipe splices p's bytes out to e until p is empty or e's socket is
// full; only errors other than a full socket are returned. With more, the
// socket holds back a last partial segment for what the caller sends next
// (e is corked until then: uncork).
func (e *endpoint) drainPipe(p *reactor.Pipe, more bool) error {
	sent := false
	for p.N > 0 {
		n, err := sock.Splice(p.R, e.FD, p.N, more)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			return err
		}
		p.N -= n
		sent = true
	}
	if sent {
		e.flags &^= epCorked
		if more && p.N == 0 {
			e.flags |= epCorked
		}
	}
	return nil
}

// uncork pushes what MSG_MORE held back in e's socket when nothing
// followed it: bytes never wait there past a readiness event.
func (c *conn) uncork(e *endpoint) {
	if e == nil || e.flags&epCorked == 0 {
		return
	}
	e.flags &^= epCorked
	_ = sock.Push(e.FD) // fails only on a socket the peer reset: its next event ends it
}

// flushPipe writes the spliced bytes waiting for e; it reports whether
// none is left, and then gives the pipe back to the loop.
func (e *endpoint) flushPipe() (bool, error) {
	if err := e.drainPipe(e.pipe, false); err != nil {
		return false, err
	}
	if e.pipe.N > 0 {
		return false, nil
	}
	e.l.pipes.Put(e.pipe)
	e.pipe = nil
	return true, nil
}

// dropPipe gives e's pipe, bytes and all, back when e is closed.
func (e *endpoint) dropPipe(l *Loop) {
	if e.pipe != nil {
		l.pipes.Put(e.pipe)
		e.pipe = nil
	}
}
