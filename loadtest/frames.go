package loadtest

import (
	"encoding/binary"
	"strconv"

	"github.com/gobwas/ws"

	"wsproxy/codec"
)

// frames parses server frames in b, which may end anywhere, checking data
// payloads against what was sent as they arrive. While closing, data is
// skipped and only the server's close frame matters.
func (c *conn) frames(b []byte) {
	for len(b) > 0 && c.fd >= 0 {
		if rem := c.sc.Remaining(); rem > 0 {
			p := b[:min(int64(len(b)), rem)]
			c.sc.Scan(p)
			b = b[len(p):]
			if c.payload(p); c.fd >= 0 && c.sc.Remaining() == 0 {
				c.frameEnd()
			}
			continue
		}
		n, h, ok, err := c.sc.Scan(b)
		b = b[n:]
		switch {
		case err != nil:
			c.fail(reasonProtocol)
		case ok:
			if c.frameStart(h); c.fd >= 0 && h.Length == 0 {
				c.frameEnd()
			}
		}
	}
}

// frameStart checks a frame header: a valid server frame (unmasked), in
// fragment order, and for data, part of a message we are waiting for and
// no longer than it.
func (c *conn) frameStart(h ws.Header) {
	if codec.CheckFrame(h, false) != nil {
		c.fail(reasonProtocol)
		return
	}
	frag, err := codec.CheckContinuation(h, c.frag)
	if err != nil {
		c.fail(reasonProtocol)
		return
	}
	c.frag, c.cur, c.pos = frag, h, 0
	switch {
	case h.OpCode.IsControl() || c.state == stClosing:
	case c.sendSeq == c.recvSeq:
		c.fail(reasonUnexpected)
	case h.OpCode == ws.OpText || c.msgPos+h.Length > c.l.pl.size:
		c.fail(reasonBadEcho)
	}
}

// payload takes the next bytes of the current frame's payload.
func (c *conn) payload(p []byte) {
	if c.cur.OpCode.IsControl() {
		copy(c.ctl[c.pos:], p) // CheckFrame bounds the length by len(c.ctl)
		c.pos += int64(len(p))
		return
	}
	c.pos += int64(len(p))
	if c.state == stClosing {
		return
	}
	if !verifyPayload(p, msgSeed(c.seed, c.recvSeq), c.msgPos) {
		c.fail(reasonBadEcho)
		return
	}
	c.msgPos += int64(len(p))
}

// frameEnd acts on a complete frame: a close ends the connection, a ping
// is answered, the last frame of a message completes a round trip.
func (c *conn) frameEnd() {
	h := c.cur
	switch h.OpCode {
	case ws.OpClose:
		if c.state == stClosing {
			c.close()
			return
		}
		c.fail(closeReason(c.ctl[:c.pos]))
	case ws.OpPing:
		c.pongLen = uint8(copy(c.pong[:], c.ctl[:c.pos]))
		c.pongDue = true
		if c.out.kind == outNone {
			c.flush()
		}
	case ws.OpPong:
	default:
		if !h.Fin || c.state == stClosing {
			return
		}
		if c.msgPos != c.l.pl.size {
			c.fail(reasonBadEcho)
			return
		}
		c.msgPos = 0
		c.received()
	}
}

// closeReason names a close frame received from the server.
func closeReason(p []byte) string {
	if len(p) < 2 {
		return "close"
	}
	switch code := ws.StatusCode(binary.BigEndian.Uint16(p)); code {
	case ws.StatusNormalClosure:
		return "close 1000"
	case ws.StatusGoingAway:
		return "close 1001"
	default:
		return "close " + strconv.Itoa(int(code))
	}
}

// received completes a verified round trip: the first one brings the
// connection up; later ones count as workload round trips while the run
// phase lasts. Then the next send, if one is due.
func (c *conn) received() {
	l := c.l
	seq := c.recvSeq
	c.recvSeq++
	rtt := l.mono - c.sentAt[seq%bulkWindow]
	if c.state == stVerify {
		record(l.first, rtt)
		c.state = stUp
		l.pending--
		l.cnt.up.Add(1)
		l.wheel.Cancel(&c.deadline)
		if l.phase == phaseRun {
			c.begin()
		}
		return
	}
	if l.phase == phaseRun {
		record(l.rtt, rtt)
		l.cnt.msgs.Add(1)
		l.cnt.bytes.Add(l.pl.size)
	}
	if c.sendSeq != c.recvSeq {
		l.at(&c.deadline, c.sentAt[c.recvSeq%bulkWindow]+l.pl.timeout)
	} else {
		l.wheel.Cancel(&c.deadline)
	}
	if c.out.kind == outNone {
		c.flush()
	}
}
