package core

import (
	"crypto/rand"
	"time"

	"github.com/gobwas/ws"

	"wsproxy/codec"
)

// goAwayGrace is how long a tunnel closed by the proxy waits for the peers'
// Close replies before its sockets are closed.
const goAwayGrace = time.Second

// goingAway ends c on the proxy's initiative without cutting a WebSocket
// message in half: each direction of a tunnel gets a Close 1001 "going
// away" at its next frame boundary (to the client unmasked, to the upstream
// masked, as RFC 6455 wants of a server and a client), then the tunnel closes
// once both are written, or after goAwayGrace. An HTTP exchange in flight is
// marked to close after its response; an idle keep-alive client is closed.
func (c *conn) goingAway() {
	switch c.st {
	case stTunnel:
		if c.flags&cfGoingAway != 0 {
			return
		}
		c.flags |= cfGoingAway | cfCloseUp | cfCloseDown
		c.sendGoAway(1, nil)
		c.sendGoAway(0, nil)
		if c.st != stClosed {
			c.schedule(goAwayGrace)
			c.updateInterest()
		}
	case stHead:
		if c.in == nil || len(c.in.B) == 0 {
			c.close()
		}
	case stClosing, stClosed:
	default:
		c.flags |= cfClientClose
	}
}

// sendGoAway writes the pending Close of direction d (0: toward the
// upstream, 1: toward the client) if that direction is at a frame boundary,
// after the first len(prefix) bytes of tunnel data are passed. It reports
// how many bytes of data were passed through (all of data when no Close is
// pending).
func (c *conn) sendGoAway(d int, data []byte) int {
	flag, dst := cfCloseUp, c.up
	if d == 1 {
		flag, dst = cfCloseDown, &c.cl
	}
	if c.flags&flag == 0 {
		return len(data)
	}
	n := c.scan[d].Boundary(data)
	if n < 0 {
		return len(data) // still inside a frame: pass it all on
	}
	if n > 0 {
		c.scan[d].Scan(data[:n])
		_ = dst.write(data[:n])
	}
	c.flags &^= flag
	var frame [2 + 4 + 2 + 16]byte
	body := codec.AppendClosePayload(frame[8:8], ws.StatusGoingAway, "going away")
	h := ws.Header{Fin: true, OpCode: ws.OpClose, Length: int64(len(body))}
	if d == 0 {
		h.Masked = true
		_, _ = rand.Read(h.Mask[:])
		ws.Cipher(body, h.Mask, 0)
	}
	out := codec.AppendFrameHeader(c.l.hbuf[:0], h)
	out = append(out, body...)
	c.l.hbuf = out[:0]
	_ = dst.write(out)
	c.shutWrite(dst)
	return len(data) // bytes behind our Close are dropped
}
