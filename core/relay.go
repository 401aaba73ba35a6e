package core

import (
	"github.com/gobwas/ws"
)

// dirState is what the relay remembers about one direction of a tunnel
// between reads (0: client → upstream, 1: upstream → client).
type dirState struct {
	op     ws.OpCode     // opcode of the frame whose payload is passing
	flags  dirFlags      //
	code   ws.StatusCode // Close code the proxy will send this way (with dsClosePending)
	cc     [3]byte       // a Close code arriving in later reads: mask bytes 0 and 1, first byte (dsCode0, dsCode1)
	msgLen int64         // bytes of the current message so far (for max_message)
}

type dirFlags uint8

const (
	dsSkip         dirFlags = 1 << iota // the current frame's payload is swallowed (a Pong to our Ping)
	dsFragmented                        // inside a fragmented data message
	dsClosePending                      // a Close from the proxy waits for a frame boundary
	dsCloseSent                         // the proxy sent its Close this way; nothing more is forwarded
	dsBulk                              // the last data frame was long enough to splice (splice.go)
	dsCode0                             // a Close code's first byte is still to come (protocol.go)
	dsCode1                             // its second byte is still to come
)

// frameAction is what the relay does with a frame whose header it just read.
type frameAction uint8

const (
	frameForward frameAction = iota
	frameSwallow             // drop header and payload (our own Pong coming back)
	frameReject              // the tunnel is being closed; drop this and what follows
)

// relay forwards tunnel bytes travelling in direction d to dst. A scanner
// per direction follows frame boundaries; payload bytes are not copied
// unless dst cannot take them at once. Frames the proxy swallows are cut
// out; after the proxy closed a direction nothing more is forwarded.
func (c *conn) relay(dst *endpoint, data []byte, d int) error {
	ds := &c.dir[d]
	if ds.flags&(dsClosePending|dsCloseSent) != 0 {
		return c.relayClosing(dst, data, d)
	}
	sc := &c.scan[d]
	now := c.l.now.UnixNano()
	w, off := 0, 0 // data[w:off] waits to be written
	active := false
	frames := 0
	defer c.countFrames(d, &frames)
	for off < len(data) {
		if rem := sc.Remaining(); rem > 0 {
			n := len(data) - off
			if int64(n) > rem {
				n = int(rem)
			}
			sc.Scan(data[off : off+n])
			if ds.flags&(dsCode0|dsCode1) != 0 {
				if code, ok := ds.moreCloseCode(data[off : off+n]); ok {
					c.noteClose(d, code)
				}
			}
			if ds.flags&dsSkip != 0 {
				if err := c.flushRange(dst, data, w, off); err != nil {
					return err
				}
				w = off + n
				if sc.Remaining() == 0 {
					ds.flags &^= dsSkip
				}
			} else if !ds.op.IsControl() {
				active = true
			}
			off += n
			continue
		}
		hstart := off
		n, h, ok, err := sc.Scan(data[off:])
		off += n
		if err != nil {
			_ = c.flushRange(dst, data, w, hstart)
			c.rejectFrame(d, ws.StatusProtocolError)
			return nil
		}
		if !ok {
			continue // a partial header: its bytes pass on as they come
		}
		c.noteFrame(d, h)
		frames++
		whole := n == headerLen(h) // the header did not start in an earlier read
		switch c.onFrame(d, h, data[off:], now, whole) {
		case frameSwallow:
			if err := c.flushRange(dst, data, w, hstart); err != nil {
				return err
			}
			w = off
			if h.Length > 0 {
				ds.flags |= dsSkip
			}
		case frameReject:
			_ = c.flushRange(dst, data, w, hstart)
			return nil
		default:
			if !h.OpCode.IsControl() {
				active = true
				ds.noteFrameLength(h.Length)
			}
		}
	}
	if active {
		c.active = now
	}
	if spliceSupported && w < len(data) && c.spliceFollows(d) {
		return c.flushBeforeSplice(dst, data[w:], d)
	}
	return c.flushRange(dst, data, w, len(data))
}

func (c *conn) flushRange(dst *endpoint, data []byte, from, to int) error {
	if to <= from {
		return nil
	}
	if dst == &c.cl {
		c.noteBytes(1, to-from)
	} else {
		c.noteBytes(0, to-from)
	}
	return dst.write(data[from:to])
}

// headerLen is the encoded size of h.
func headerLen(h ws.Header) int {
	n := 2
	switch {
	case h.Length > 0xffff:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// relayClosing relays while the proxy closes direction d: bytes up to the
// next frame boundary pass, then the proxy's Close, then nothing.
func (c *conn) relayClosing(dst *endpoint, data []byte, d int) error {
	if c.dir[d].flags&dsClosePending != 0 {
		c.sendPendingClose(d, data)
	}
	c.maybeFinishClosing()
	return nil
}

func (c *conn) countFrames(d int, n *int) {
	if *n == 0 || c.l.srv == nil {
		return
	}
	if d == 0 {
		c.l.srv.stats.framesUp.Add(uint64(*n))
	} else {
		c.l.srv.stats.framesDown.Add(uint64(*n))
	}
}
