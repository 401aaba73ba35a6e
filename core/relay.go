package core

import (
	"errors"

	"github.com/gobwas/ws"

	"wsproxy/codec"
	"wsproxy/internal/closerule"
	"wsproxy/internal/sock"
)

// dirState is what the relay remembers about one direction of a tunnel
// between reads (0: client → upstream, 1: upstream → client): 16 bytes.
type dirState struct {
	flags  dirFlags
	code   uint8              // Close code the proxy will send this way, minus 1000 (with dsClosePending)
	close  codec.CloseChecker // reads the payload of a Close frame passing (dsCloseIn)
	msgLen int64              // bytes of the current message so far (for max_message)
}

type dirFlags uint8

const (
	dsSkip         dirFlags = 1 << iota // the current frame's payload is swallowed (a Pong to our Ping)
	dsFragmented                        // inside a fragmented data message
	dsClosePending                      // a Close from the proxy waits for a frame boundary
	dsCloseSent                         // the proxy sent its Close this way; nothing more is forwarded
	dsBulk                              // the last data frame was long enough to splice (splice.go)
	dsControl                           // the frame passing is a control frame
	dsCloseIn                           // the payload of a Close frame is passing: close reads it (protocol.go)
	dsCloseHeld                         // ... and is held back with its header until it is whole and checked (closehold.go)
)

// pendingCode is the Close code the proxy sends once the direction reaches
// a frame boundary.
func (ds *dirState) pendingCode() ws.StatusCode { return 1000 + ws.StatusCode(ds.code) }

// frameAction is what the relay does with a frame whose header it just read.
type frameAction uint8

const (
	frameForward frameAction = iota
	frameSwallow             // drop header and payload (our own Pong coming back)
	frameReject              // the tunnel is being closed; drop this and what follows
)

// relay forwards tunnel bytes travelling in direction d to dst. A scanner
// per direction follows frame boundaries; payload bytes are not copied
// unless dst cannot take them at once. Frames the proxy swallows or
// rejects are cut out; after the proxy closed a direction nothing more is
// forwarded.
//
// A frame header split across reads is not forwarded piecemeal: the
// scanner holds its first bytes, and once it is whole (and checked) it is
// written in one piece. Under check_frames a Close frame is not forwarded
// before its payload is whole and checked either: one split across reads
// is held (closehold.go). So the receiver's stream always stands at a
// frame boundary when no payload is passing (Remaining() == 0) or a Close
// is held, which is where the proxy may put a frame of its own (a Ping, a
// Close).
func (c *conn) relay(dst *endpoint, data []byte, d direction) error {
	ds := &c.dir[d]
	if ds.flags&(dsClosePending|dsCloseSent) != 0 {
		return c.relayClosing(dst, data, d)
	}
	sc := &c.scan[d]
	now := c.cl.l.Now.UnixNano()
	w, off := 0, 0 // data[w:off] waits to be written
	hdr := -1      // where the header of the frame passing starts in data; -1: it is forwarded or held already
	active := false
	frames := 0
	defer c.countFrames(d, &frames)
	for off < len(data) {
		if rem := sc.Remaining(); rem > 0 {
			n := int(min(int64(len(data)-off), rem))
			sc.Scan(data[off : off+n])
			if ds.flags&dsCloseIn != 0 {
				held := ds.flags&dsCloseHeld != 0
				if err := c.passClose(dst, data, w, hdr, off, n, d); err != nil {
					return err
				}
				if c.st != stTunnel || ds.flags&dsCloseSent != 0 {
					return nil // rejected: nothing more this way
				}
				off += n
				if held {
					w = off // taken into the hold, or written from it
				}
				continue
			}
			switch {
			case ds.flags&dsSkip != 0:
				if err := c.flushRange(dst, data, w, off); err != nil {
					return err
				}
				w = off + n
				if sc.Remaining() == 0 {
					ds.flags &^= dsSkip
				}
			case ds.flags&dsControl == 0:
				active = true
			}
			off += n
			continue
		}
		hstart := off
		n, h, ok, err := sc.Scan(data[off:])
		off += n
		if err != nil {
			ferr := c.flushRange(dst, data, w, hstart)
			c.rejectFrame(d, ws.StatusProtocolError, closerule.For(err))
			return ferr
		}
		if !ok {
			// A partial header: the scanner keeps its bytes until it is
			// whole; nothing of it goes out before.
			if err := c.flushRange(dst, data, w, hstart); err != nil {
				return err
			}
			w = off
			continue
		}
		c.noteFrame(d, h)
		frames++
		action, code, rule := c.onFrame(d, h, data[off:], now)
		switch action {
		case frameSwallow:
			if err := c.flushRange(dst, data, w, hstart); err != nil {
				return err
			}
			w = off
			if h.Length > 0 {
				ds.flags |= dsSkip
			}
		case frameReject:
			err := c.flushRange(dst, data, w, hstart)
			c.rejectFrame(d, code, rule)
			return err
		default:
			hdr = hstart
			whole := n == ws.HeaderSize(h)
			if ds.flags&dsCloseIn != 0 && c.rt.ws.Check && (!whole || h.Length > int64(len(data)-off)) {
				// A Close to check that this read does not carry whole:
				// held until it is (closehold.go).
				if err := c.flushRange(dst, data, w, hstart); err != nil {
					return err
				}
				c.holdClose(d, h)
				w, hdr = off, -1
			} else if !whole {
				// The header began in an earlier read and was held:
				// write it whole, then what follows.
				if err := c.flushRange(dst, data, w, hstart); err != nil {
					return err
				}
				if err := c.writeHeader(dst, h, d); err != nil {
					return err
				}
				w, hdr = off, -1
			}
			if ds.flags&dsControl == 0 {
				active = true
				ds.noteFrameLength(h.Length)
			}
		}
	}
	if active {
		c.active = now
	}
	if sock.SpliceSupported && w < len(data) && c.spliceFollows(d) {
		return c.flushBeforeSplice(dst, data[w:], d)
	}
	return c.flushRange(dst, data, w, len(data))
}

// closeErrorCode is the code the sender of a rejected Close frame gets:
// 1007 for a reason that is not UTF-8 (RFC 6455, 8.1: a byte stream to be
// read as UTF-8 that is not; Autobahn's case 7.5.1 accepts it and 1002),
// 1002 for any other error (a bad code, a one-byte payload).
func closeErrorCode(err error) ws.StatusCode {
	if errors.Is(err, codec.ErrCloseReason) {
		return ws.StatusInvalidFramePayloadData
	}
	return ws.StatusProtocolError
}

// passClose takes data[off:off+n], the next payload bytes of the Close
// frame passing in direction d, whose header starts at data[hdr] (hdr < 0:
// it came in an earlier read and is held, or check_frames is off and it
// was forwarded). A Close that breaks a rule is rejected (rejectFrame)
// with nothing of it forwarded: data[w:] before its header goes out
// first. A held one takes the bytes into its slot and is written once
// whole. Otherwise the bytes stay in data, forwarded with what follows.
func (c *conn) passClose(dst *endpoint, data []byte, w, hdr, off, n int, d direction) error {
	end := c.scan[d].Remaining() == 0
	if err := c.readClose(d, data[off:off+n], end); err != nil {
		start := off // a held Close: nothing of it is in data[w:off]
		if hdr >= w {
			start = hdr
		}
		ferr := c.flushRange(dst, data, w, start)
		c.dropHold(d)
		c.rejectFrame(d, closeErrorCode(err), closerule.For(err))
		return ferr
	}
	if c.dir[d].flags&dsCloseHeld == 0 {
		return nil
	}
	c.holdMore(d, data[off:off+n])
	if !end {
		return nil
	}
	return c.releaseHeld(dst, d)
}

func (c *conn) flushRange(dst *endpoint, data []byte, from, to int) error {
	if to <= from {
		return nil
	}
	if dst == &c.cl {
		c.noteBytes(toClient, to-from)
	} else {
		c.noteBytes(toUpstream, to-from)
	}
	return dst.write(data[from:to])
}

// writeHeader writes h, a header the scanner reassembled from several
// reads, to dst. It is encoded in the loop's scratch buffer: an array on
// the stack would escape through dst.write, one allocation per split
// header.
func (c *conn) writeHeader(dst *endpoint, h ws.Header, d direction) error {
	p := codec.AppendFrameHeader(c.cl.l.hbuf[:0], h)
	c.cl.l.hbuf = p[:0]
	c.noteBytes(d, len(p))
	return dst.write(p)
}

// relayClosing relays while the proxy closes direction d: bytes up to the
// next frame boundary pass, then the proxy's Close, then nothing.
func (c *conn) relayClosing(dst *endpoint, data []byte, d direction) error {
	if c.dir[d].flags&dsClosePending != 0 {
		c.sendPendingClose(d, data)
	}
	c.maybeFinishClosing()
	return nil
}

func (c *conn) countFrames(d direction, n *int) {
	if *n == 0 || c.cl.l.srv == nil {
		return
	}
	if d == toUpstream {
		c.cl.l.srv.stats.framesUp.Add(uint64(*n))
	} else {
		c.cl.l.srv.stats.framesDown.Add(uint64(*n))
	}
}
