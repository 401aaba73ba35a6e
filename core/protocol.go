package core

import (
	"github.com/gobwas/ws"

	"wsproxy/codec"
)

// onFrame applies the route's WebSocket policy to a frame header read in
// direction d: protocol checks, size limits, pings. payload holds whatever
// of the frame's payload is in this read (possibly none).
func (c *conn) onFrame(d int, h ws.Header, payload []byte, now int64, whole bool) frameAction {
	ds := &c.dir[d]
	pol := c.rt.ws
	if pol.check {
		if err := codec.CheckFrame(h, d == 0); err != nil {
			c.rejectFrame(d, ws.StatusProtocolError)
			return frameReject
		}
		if !h.OpCode.IsControl() {
			if _, err := codec.CheckContinuation(h, ds.flags&dsFragmented != 0); err != nil {
				c.rejectFrame(d, ws.StatusProtocolError)
				return frameReject
			}
		}
	}
	if !h.OpCode.IsControl() {
		ds.op = h.OpCode
		if h.OpCode != ws.OpContinuation {
			ds.msgLen = 0
		}
		ds.msgLen += h.Length
		if h.Fin {
			ds.flags &^= dsFragmented
		} else {
			ds.flags |= dsFragmented
		}
		if pol.maxFrame > 0 && h.Length > pol.maxFrame || pol.maxMessage > 0 && ds.msgLen > pol.maxMessage {
			c.rejectFrame(d, ws.StatusMessageTooBig)
			return frameReject
		}
	} else {
		ds.op = h.OpCode
	}
	if p := c.ping; p != nil {
		p.lastHeard[d] = now
		if h.OpCode == ws.OpPong && p.sent[d] != 0 && h.Length == int64(len(pingPayload)) && whole {
			p.sent[d] = 0
			c.heardPong(p, now)
			return frameSwallow
		}
	}
	if h.OpCode == ws.OpClose {
		if h.Length >= 2 && len(payload) < 2 {
			c.dir[d].startCloseCode(h) // the relay reads it from the payload as it comes
		} else {
			c.noteClose(d, closeCode(h, payload))
		}
	}
	return frameForward
}

// startCloseCode prepares reading a Close code whose two bytes are not
// all in this read: it keeps the mask bytes that apply to them. The relay
// passes every payload byte of the frame to moreCloseCode, those of this
// read included.
func (ds *dirState) startCloseCode(h ws.Header) {
	ds.cc = [3]byte{}
	if h.Masked {
		ds.cc[0], ds.cc[1] = h.Mask[0], h.Mask[1]
	}
	ds.flags |= dsCode0
}

// moreCloseCode takes the rest of a Close code from p, the next payload
// bytes of the Close frame, and returns the code once it is whole.
func (ds *dirState) moreCloseCode(p []byte) (ws.StatusCode, bool) {
	if len(p) > 0 && ds.flags&dsCode0 != 0 {
		ds.cc[2] = p[0] ^ ds.cc[0]
		ds.flags = ds.flags&^dsCode0 | dsCode1
		p = p[1:]
	}
	if len(p) == 0 || ds.flags&dsCode1 == 0 {
		return 0, false
	}
	ds.flags &^= dsCode1
	return ws.StatusCode(uint16(ds.cc[2])<<8 | uint16(p[0]^ds.cc[1])), true
}

// closeCode reads the status code of a Close frame from the start of its
// payload, if those two bytes are at hand.
func closeCode(h ws.Header, payload []byte) ws.StatusCode {
	if h.Length < 2 || len(payload) < 2 {
		return 0
	}
	b := [2]byte{payload[0], payload[1]}
	if h.Masked {
		b[0] ^= h.Mask[0]
		b[1] ^= h.Mask[1]
	}
	return ws.StatusCode(uint16(b[0])<<8 | uint16(b[1]))
}

// rejectFrame closes the tunnel over a frame that broke the route's policy
// in direction d: the sender gets code, the receiver 1001. The offending
// frame and everything after it in that direction are dropped, so the
// receiver's stream ends on a frame boundary.
func (c *conn) rejectFrame(d int, code ws.StatusCode) {
	if c.l.srv != nil {
		c.l.srv.logf("client %s: closing tunnel: %v in direction %d", c.peer, code, d)
	}
	sender, receiver := 1-d, d // the directions toward the sender and the receiver
	c.dir[receiver].flags |= dsCloseSent
	c.dir[receiver].flags &^= dsClosePending
	c.writeClose(receiver, ws.StatusGoingAway)
	c.startClosing(sender, code)
}
