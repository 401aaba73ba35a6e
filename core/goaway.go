package core

import (
	"crypto/rand"
	"time"

	"github.com/gobwas/ws"

	"wsproxy/codec"
	"wsproxy/internal/closerule"
)

// goAwayGrace is how long a tunnel closed by the proxy waits for the peers'
// Close replies before its sockets are closed.
const goAwayGrace = time.Second

// goingAway ends c on the proxy's initiative (rule says why) without
// cutting a WebSocket message in half: each direction of a tunnel gets a
// Close 1001 "going away" at its next frame boundary (to the client
// unmasked, to the upstream masked, as RFC 6455 wants of a server and a
// client), then the tunnel closes once both are written, or after
// goAwayGrace. An HTTP exchange in flight is marked to close after its
// response; an idle keep-alive client is closed.
func (c *conn) goingAway(rule closerule.Rule) {
	switch c.st {
	case stTunnel:
		c.noteRule(rule, 0)
		c.startClosing(toUpstream, ws.StatusGoingAway)
		c.startClosing(toClient, ws.StatusGoingAway)
	case stHead:
		if c.in == nil || len(c.in.B) == 0 {
			c.close()
		}
	case stClosing, stClosed:
	default:
		c.flags |= cfClientClose
	}
}

// startClosing makes the proxy close direction d with code: now if the
// direction stands at a frame boundary, else at the next one.
func (c *conn) startClosing(d direction, code ws.StatusCode) {
	if c.st != stTunnel {
		return
	}
	ds := &c.dir[d]
	if ds.flags&(dsClosePending|dsCloseSent) == 0 {
		ds.flags |= dsClosePending
		ds.code = uint8(code - 1000)
		c.sendPendingClose(d, nil)
	}
	if c.flags&cfGoingAway == 0 {
		c.flags |= cfGoingAway
		c.schedule(goAwayGrace)
	}
	c.maybeFinishClosing()
	if c.st != stClosed {
		c.updateInterest()
	}
}

// sendPendingClose writes the pending Close of direction d once the bytes
// in data bring that direction to a frame boundary (data up to it pass
// first; a payload the proxy swallows does not). A header the scanner
// holds, or a Close frame held whole (closehold.go), was never forwarded:
// the receiver stands at a boundary then, and the held bytes are dropped
// with everything after the Close.
func (c *conn) sendPendingClose(d direction, data []byte) {
	ds, sc := &c.dir[d], &c.scan[d]
	if ds.flags&dsCloseHeld != 0 {
		c.dropHold(d)
		ds.flags &^= dsCloseIn
	} else {
		n := len(data)
		if rem := sc.Remaining(); rem <= int64(n) {
			n = int(rem)
		}
		if n > 0 {
			sc.Scan(data[:n])
			if ds.flags&dsSkip == 0 {
				c.writeOwn(c.dst(d), data[:n])
			}
		}
		if sc.Remaining() > 0 {
			return // still inside a frame
		}
	}
	ds.flags = ds.flags&^(dsClosePending|dsSkip) | dsCloseSent
	c.writeClose(d, ds.pendingCode())
}

// writeClose writes a Close frame with code in direction d and half-closes
// that side once it is written. Its reason is the rule that made the proxy
// close (internal/closerule) toward the peer that broke it, "going away"
// to the other.
func (c *conn) writeClose(d direction, code ws.StatusCode) {
	var frame [16 + ws.MaxControlFramePayloadSize]byte
	reason := "going away"
	if code != ws.StatusGoingAway && c.obs.rule != closerule.None {
		reason = c.obs.rule.Text()
	}
	body := codec.AppendClosePayload(frame[16:16], code, reason)
	h := ws.Header{Fin: true, OpCode: ws.OpClose, Length: int64(len(body))}
	if d == toUpstream {
		h.Masked = true
		_, _ = rand.Read(h.Mask[:])
		ws.Cipher(body, h.Mask, 0)
	}
	out := codec.AppendFrameHeader(c.cl.l.hbuf[:0], h)
	out = append(out, body...)
	c.cl.l.hbuf = out[:0]
	dst := c.dst(d)
	c.writeOwn(dst, out)
	c.noteClose(d, code)
	c.shutWrite(dst)
}

// maybeFinishClosing closes the tunnel once the proxy's Close frames went
// out both ways.
func (c *conn) maybeFinishClosing() {
	if c.st != stTunnel || c.flags&cfGoingAway == 0 {
		return
	}
	if c.dir[0].flags&dsCloseSent == 0 || c.dir[1].flags&dsCloseSent == 0 {
		return
	}
	c.settle()
	if c.st == stTunnel && c.cl.pending() == 0 && (c.up == nil || c.up.pending() == 0) {
		c.close()
	}
}

// writeOwn writes bytes the proxy sends on its own (its Close, what passes
// before it) where the caller cannot stop to handle an error: the failure
// is counted, and the socket's error ends the connection at its next event.
func (c *conn) writeOwn(dst *endpoint, p []byte) {
	if err := dst.write(p); err != nil {
		c.cl.l.obs.AddWriteError()
	}
}
