package core

import (
	"github.com/gobwas/ws"

	"wsproxy/codec"
	"wsproxy/internal/closerule"
)

// onFrame applies the route's WebSocket policy to a frame header read in
// direction d: protocol checks (with the RSV bits the handshake's
// extensions allow), size limits, pings, and the start of a Close frame's
// payload check. For frameReject it returns the code for the sender and
// the rule broken; the caller forwards what came before the frame, then
// calls rejectFrame. next is what follows the header in this read: the
// payload of a Pong that may answer the proxy's Ping is looked at there.
func (c *conn) onFrame(d direction, h ws.Header, next []byte, now int64) (frameAction, ws.StatusCode, closerule.Rule) {
	ds := &c.dir[d]
	pol := c.rt.ws
	if pol.Check {
		err := codec.CheckFrameWith(h, d == toUpstream, c.flags.extensions())
		if err == nil && !h.OpCode.IsControl() {
			_, err = codec.CheckContinuation(h, ds.flags&dsFragmented != 0)
		}
		if err != nil {
			return frameReject, ws.StatusProtocolError, closerule.For(err)
		}
	}
	if h.OpCode.IsControl() {
		ds.flags |= dsControl
	} else {
		ds.flags &^= dsControl
		if h.OpCode != ws.OpContinuation {
			ds.msgLen = 0
		}
		ds.msgLen += h.Length
		if h.Fin {
			ds.flags &^= dsFragmented
		} else {
			ds.flags |= dsFragmented
		}
		switch {
		case pol.MaxFrame > 0 && h.Length > pol.MaxFrame:
			return frameReject, ws.StatusMessageTooBig, closerule.MaxFrame
		case pol.MaxMessage > 0 && ds.msgLen > pol.MaxMessage:
			return frameReject, ws.StatusMessageTooBig, closerule.MaxMessage
		}
	}
	if p := c.ping; p != nil {
		p.lastHeard[d] = now
		if h.OpCode == ws.OpPong && p.sent[d] != 0 && isOurPong(h, next) {
			p.sent[d] = 0
			c.heardPong(p, now)
			return frameSwallow, 0, closerule.None
		}
	}
	if h.OpCode == ws.OpClose {
		if h.Length == 0 {
			c.noteClose(d, 0)
		} else {
			ds.close.Start(h)
			ds.flags |= dsCloseIn // the relay passes its payload to readClose
		}
	}
	return frameForward, 0, closerule.None
}

// readClose takes the next payload bytes p of the Close frame passing in
// direction d (end: they complete it): it notes the Close code once it is
// whole and, under check_frames, returns the protocol error the code or
// the reason makes (codec.CloseChecker). Under check_frames nothing of the
// frame has been forwarded yet (relay, closehold.go).
func (c *conn) readClose(d direction, p []byte, end bool) error {
	ds := &c.dir[d]
	if end {
		ds.flags &^= dsCloseIn
	}
	code, ok, err := ds.close.Feed(p)
	if ok {
		c.noteClose(d, code)
	}
	if err == nil && end {
		err = ds.close.End()
	}
	if !c.rt.ws.Check {
		return nil
	}
	if err != nil {
		ds.flags &^= dsCloseIn // the frame is rejected: no more of it is read
	}
	return err
}

// rejectFrame closes the tunnel over a frame that broke the route's policy
// in direction d (rule): the sender gets code, the receiver 1001. The
// offending frame and everything after it in that direction are dropped;
// nothing of that frame has been forwarded (relay holds split headers, and
// Close frames until they are checked), so the receiver's stream ends on a
// frame boundary.
func (c *conn) rejectFrame(d direction, code ws.StatusCode, rule closerule.Rule) {
	c.noteRule(rule, d)
	if c.cl.l.srv != nil {
		c.cl.l.srv.logf("client %s: closing tunnel: %s (from the %s)", c.peer(), rule.Text(), peerNames[d])
	}
	sender, receiver := d.opposite(), d // the directions toward the sender and the receiver
	c.dir[receiver].flags |= dsCloseSent
	c.dir[receiver].flags &^= dsClosePending
	c.writeClose(receiver, ws.StatusGoingAway)
	c.startClosing(sender, code)
}
