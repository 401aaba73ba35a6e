package core

import (
	"wsproxy/codec"
)

// relay forwards tunnel bytes to dst while sc follows the frame boundaries.
// Payload bytes are not copied unless dst cannot take them at once.
func (c *conn) relay(dst *endpoint, data []byte, sc *codec.FrameScanner) error {
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
