package core

import (
	"wsproxy/codec"
)

// relay forwards tunnel bytes to dst while sc follows the frame boundaries.
// Payload bytes are not copied unless dst cannot take them at once.
func (c *conn) relay(dst *endpoint, data []byte, sc *codec.FrameScanner) error {
	if c.flags&(cfCloseUp|cfCloseDown) != 0 || c.flags&cfGoingAway != 0 {
		return c.relayGoingAway(dst, data)
	}
	frames := 0
	for b := data; len(b) > 0; {
		n, _, ok, err := sc.Scan(b)
		if err != nil {
			return err
		}
		if ok {
			frames++
		}
		b = b[n:]
	}
	if st := c.l.srv; st != nil && frames > 0 {
		if dst == &c.cl {
			st.stats.framesDown.Add(uint64(frames))
		} else {
			st.stats.framesUp.Add(uint64(frames))
		}
	}
	return dst.write(data)
}

// relayGoingAway relays while a proxy-initiated Close is pending or sent:
// bytes up to the next frame boundary pass, the Close follows, and the
// peer's later frames (its Close reply) are not forwarded.
func (c *conn) relayGoingAway(dst *endpoint, data []byte) error {
	d, flag := 0, cfCloseUp
	if dst == &c.cl {
		d, flag = 1, cfCloseDown
	}
	if c.flags&flag != 0 {
		c.sendGoAway(d, data)
	}
	if c.flags&(cfCloseUp|cfCloseDown) == 0 && c.cl.pending() == 0 && (c.up == nil || c.up.pending() == 0) {
		c.close()
	}
	return nil
}
