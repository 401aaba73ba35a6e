package core

import (
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"

	"wsproxy/codec"
)

// Close frames held back (relay.go). Under check_frames no byte of a
// Close frame with a payload is forwarded before that payload is known to
// be valid (codec.CloseChecker: the code, a UTF-8 reason, not one byte):
// a frame that broke a rule halfway would otherwise have gone out in part,
// and the receiver would get an invalid Close, or the first bytes of one,
// instead of the proxy's 1001 while the sender gets 1002; the answer must
// not depend on where the reads split the frame. A Close whose header and
// payload are in one read is checked where it lies in the loop's buffer.
// One split across reads is held: its header, re-encoded (as a split
// header is, writeHeader), and its payload bytes so far wait in the
// connection's pooled buffer until the payload is whole, then go out in
// one write, or are dropped when a byte breaks a rule.
//
// Buffer states (c.in in a tunnel; see conn.in for the HTTP states):
//
//	c.in == nil              no direction holds a Close (an idle tunnel)
//	c.in != nil              a direction with dsCloseHeld holds one in its
//	                         slot: c.in.B[d*holdSlot:][:holdSlot], its first
//	                         byte the count of frame bytes held after it
//
// A slot is 132 bytes (a control frame's payload is at most 125,
// CheckFrame refuses longer ones before any is held), so a tunnel uses 264
// bytes of the buffer, and only while a Close is cut short by its reads;
// the buffer goes back to the pool as soon as no direction holds one. The
// client frames that waited in c.in for the 101 are relayed before the
// tunnel relays anything else (relayEarly), so c.in is free for this.
const holdSlot = 1 + 2 + 4 + ws.MaxControlFramePayloadSize // count, header (as re-encoded: length ≤ 125, mask), payload

// holdClose starts holding, in direction d, the Close frame whose header h
// the scanner just read (its payload follows, in this read or later ones).
func (c *conn) holdClose(d direction, h ws.Header) {
	if c.in == nil {
		c.in = bytebufferpool.Get()
	}
	if c.dir[d.opposite()].flags&dsCloseHeld == 0 {
		b := c.in.B[:0]
		if cap(b) < 2*holdSlot {
			b = make([]byte, 0, 2*holdSlot) // only with a buffer new to the pool
		}
		c.in.B = b[:2*holdSlot]
	}
	slot := c.in.B[int(d)*holdSlot:][:holdSlot]
	slot[0] = uint8(len(codec.AppendFrameHeader(slot[1:1], h)))
	c.dir[d].flags |= dsCloseHeld
}

// holdMore adds p, the next payload bytes of the Close held in direction
// d, to its slot. The relay never passes more than the frame's payload,
// which fits (holdSlot).
func (c *conn) holdMore(d direction, p []byte) {
	slot := c.in.B[int(d)*holdSlot:][:holdSlot]
	slot[0] += uint8(copy(slot[1+int(slot[0]):], p))
}

// held returns the Close frame held in direction d, header and payload so
// far. The bytes are c's until the next holdClose or dropHold of d.
func (c *conn) held(d direction) []byte {
	slot := c.in.B[int(d)*holdSlot:][:holdSlot]
	return slot[1 : 1+int(slot[0])]
}

// dropHold ends the hold of direction d, if any; the buffer goes back to
// the pool once neither direction holds a Close.
func (c *conn) dropHold(d direction) {
	if c.dir[d].flags&dsCloseHeld == 0 {
		return
	}
	c.dir[d].flags &^= dsCloseHeld
	if c.dir[d.opposite()].flags&dsCloseHeld == 0 && c.in != nil {
		bytebufferpool.Put(c.in)
		c.in = nil
	}
}

// releaseHeld writes the Close held in direction d, now whole and checked,
// to dst in one piece and ends the hold.
func (c *conn) releaseHeld(dst *endpoint, d direction) error {
	p := c.held(d)
	c.noteBytes(d, len(p))
	err := dst.write(p) // copied if queued: the slot is free again after
	c.dropHold(d)
	return err
}

// relayEarly relays the client frames sent right behind the handshake,
// which waited in c.in for the 101, as soon as the tunnel starts: before
// any upstream byte behind the 101 is relayed, since in a tunnel c.in is
// where Close frames are held (closehold.go). The buffer is let go before
// they are relayed and given back after.
func (c *conn) relayEarly() {
	b := c.in
	if b == nil {
		return
	}
	c.in = nil
	if len(b.B) > 0 && c.relay(c.up, b.B, toUpstream) != nil {
		c.close()
	}
	bytebufferpool.Put(b)
}
