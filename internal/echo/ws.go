package echo

import (
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"

	"wsproxy/codec"
)

// frames echoes WebSocket frames: each data frame goes back with the same
// opcode, FIN and length as it arrives, payload unmasked in place.
func (c *conn) frames(b []byte) {
	for len(b) > 0 && c.sock.FD() >= 0 && !c.closing {
		if rem := c.sc.Remaining(); rem > 0 {
			p := b
			if int64(len(p)) > rem {
				p = p[:rem]
			}
			c.payload(p)
			c.sc.Scan(p)
			b = b[len(p):]
			if c.sc.Remaining() == 0 {
				c.frameEnd()
			}
			continue
		}
		n, h, ok, err := c.sc.Scan(b)
		if err != nil {
			c.closeWith(ws.StatusProtocolError, "bad frame")
			return
		}
		b = b[n:]
		if ok {
			c.frameStart(h)
			if h.Length == 0 {
				c.frameEnd()
			}
		}
	}
}

func (c *conn) frameStart(h ws.Header) {
	c.cur, c.pos = h, 0
	if h.OpCode.IsControl() {
		if h.Length > 125 {
			c.closeWith(ws.StatusProtocolError, "control frame too long")
			return
		}
		c.ctl = bytebufferpool.Get()
		return
	}
	if h.Fin {
		// Counted before any of it goes back, so that a client that has
		// the echo sees it counted (Stats).
		c.srv.messages.Add(1)
	}
	out := ws.Header{Fin: h.Fin, Rsv: h.Rsv, OpCode: h.OpCode, Length: h.Length}
	hb := codec.AppendFrameHeader(c.l.hbuf[:0], out)
	c.l.hbuf = hb[:0]
	c.write(hb)
}

func (c *conn) payload(p []byte) {
	if c.cur.Masked {
		ws.Cipher(p, c.cur.Mask, int(c.pos))
	}
	c.pos += int64(len(p))
	if c.cur.OpCode.IsControl() {
		if c.ctl != nil {
			c.ctl.B = append(c.ctl.B, p...)
		}
		return
	}
	c.write(p)
}

func (c *conn) frameEnd() {
	h := c.cur
	if !h.OpCode.IsControl() {
		return // counted by frameStart
	}
	var p []byte
	if c.ctl != nil {
		p = c.ctl.B
	}
	switch h.OpCode {
	case ws.OpPing:
		c.control(ws.OpPong, p)
	case ws.OpClose:
		c.control(ws.OpClose, p)
		c.closing = true
	}
	if c.ctl != nil {
		bytebufferpool.Put(c.ctl)
		c.ctl = nil
	}
}

func (c *conn) control(op ws.OpCode, p []byte) {
	hb := codec.AppendFrameHeader(c.l.hbuf[:0], ws.Header{Fin: true, OpCode: op, Length: int64(len(p))})
	hb = append(hb, p...)
	c.l.hbuf = hb[:0]
	c.write(hb)
}

func (c *conn) closeWith(code ws.StatusCode, reason string) {
	c.control(ws.OpClose, ws.NewCloseFrameBody(code, reason))
	c.closing = true
}
