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
// While a direction's frames are large, its reads stop spliceLead bytes
// past the next header (tunnelReadMax) so that the payload behind it is
// left for splice.
//
// How the kernel cuts what is sent into segments matters more than the
// system calls. A send that fills a whole segment (on loopback up to
// 65,483 bytes; a GSO packet elsewhere) and spills over ends with a small
// last one, and a socket that paces (BBR) holds that one back until a
// timer fires: an hrtimer armed and fired per frame, in the proxy's
// context. So when the rest of a frame fits one segment, the header and
// the lead are written on their own (one small segment that goes at once)
// and the spliced rest leaves whole; when it does not, they go with
// MSG_MORE, to leave with the payload (flushBeforeSplice). Measured:
// BENCHMARKS.md, "Bulk: the pacing timer behind every spliced frame".
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
	spliceLead   = 2 << 10  // payload bytes read with a frame's header, sent before the spliced rest
	spliceWhole  = 63 << 10 // a spliced rest up to this long leaves in one segment (see above)
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
	if src == nil || dst == nil || src.tls != nil || dst.tls != nil {
		return false
	}
	if dst.unbatch(); dst.pending() > 0 || c.st != stTunnel {
		return false
	}
	return c.cl.l.pipes.Available()
}

// tunnelReadMax caps a read in direction d spliceLead bytes past the next
// frame header while that direction's frames are spliced, so that the
// header is read and checked as usual and the payload behind it stays in
// the socket for spliceTunnel. 0: no cap.
func (c *conn) tunnelReadMax(d direction) int {
	if !sock.SpliceSupported || !c.spliceReady(d) {
		return 0
	}
	return int(c.scan[d].Remaining()) + ws.MaxHeaderSize + spliceLead
}

// spliceFollows reports whether the payload left of the frame passing in
// direction d will be spliced.
func (c *conn) spliceFollows(d direction) bool {
	return c.scan[d].Remaining() >= spliceTail && c.dir[d].flags&dsControl == 0 && c.spliceReady(d)
}

// flushBeforeSplice writes p, the header and first payload bytes of a
// frame whose rest splice will send. When that rest fits one segment, p
// goes on its own and the rest follows whole; else with MSG_MORE: p
// leaves with the payload instead of in a small segment of its own.
func (c *conn) flushBeforeSplice(dst *endpoint, p []byte, d direction) error {
	if c.scan[d].Remaining() <= spliceWhole {
		return c.flushRange(dst, p, 0, len(p))
	}
	if dst.unbatch(); dst.pending() > 0 {
		return c.flushRange(dst, p, 0, len(p))
	}
	c.noteBytes(d, len(p))
	for len(p) > 0 {
		n, err := sock.SendMore(dst.FD(), p)
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
	return nil
}

// spliceTunnel moves payload of the frame passing in direction d from its
// source socket to its destination through a pipe, at most up to the end
// of that frame. It reports false, having done nothing, when the direction
// is to be read the ordinary way; true when it handled the readiness event
// (the connection may have been closed).
func (c *conn) spliceTunnel(d direction) bool {
	sc := &c.scan[d]
	rem := sc.Remaining()
	if rem < spliceTail || c.dir[d].flags&dsControl != 0 || !c.spliceReady(d) {
		return false
	}
	pp := &c.cl.l.pipes
	p := pp.Get()
	if p == nil {
		return false
	}
	src, dst := c.src(d), c.dst(d)
	var moved int64
	var inErr, outErr error
	eof := false
	for i := 0; i < spliceRounds && rem > 0 && p.N == 0; i++ {
		n, err := sock.Splice(src.FD(), p.W, int(min(rem, 1<<30)))
		if err != nil || n == 0 {
			inErr, eof = err, err == nil
			break
		}
		sc.Skip(int64(n))
		rem -= int64(n)
		moved += int64(n)
		p.N = n
		if outErr = spliceDrain(p, dst.FD()); outErr != nil {
			break
		}
	}
	if moved > 0 {
		c.active = c.cl.l.Now.UnixNano()
		c.noteBytes(d, int(moved))
		pp.bytes[d].Add(uint64(moved))
	}
	if p.N > 0 && outErr == nil {
		dst.pipe = p // the rest goes out on Writable (endpoint.flush)
	} else {
		pp.Put(p)
	}
	switch {
	case outErr != nil || inErr != nil && inErr != unix.EAGAIN:
		c.close()
	case eof:
		c.tunnelEOF(d)
	}
	return true
}

// spliceDrain splices p's bytes out to fd until p is empty or fd's socket
// is full; only errors other than a full socket are returned.
func spliceDrain(p *reactor.Pipe, fd int) error {
	for p.N > 0 {
		n, err := sock.Splice(p.R, fd, p.N)
		if err == unix.EAGAIN {
			return nil
		}
		if err != nil {
			return err
		}
		p.N -= n
	}
	return nil
}

// flushPipe writes the spliced bytes waiting for e; it reports whether
// none is left, and then gives the pipe back to the loop.
func (e *endpoint) flushPipe() (bool, error) {
	if err := spliceDrain(e.pipe, e.FD()); err != nil {
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
