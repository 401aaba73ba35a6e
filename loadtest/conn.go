package loadtest

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/sock"
	"wsproxy/internal/timer"
	"wsproxy/poller"
)

// state is where a connection is in its lifecycle (table in doc.go).
type state uint8

const (
	stDialing state = iota
	stHandshake
	stVerify
	stUp
	stClosing
	stClosed
)

// conn is one client connection, owned by its loop. It holds no buffer
// while idle: what it writes is described by out and regenerated, what it
// reads is checked in the loop's read buffer; only a 101 response split
// over several reads is kept (resp) until it is complete.
type conn struct {
	l       *loop
	tr      transport
	fd      int // -1 once closed
	state   state
	ev      poller.Event // interest registered with the poller
	running bool         // the workload has started on this connection
	due     bool         // an echo send is due but waits for the reply in flight
	frag    bool         // a fragmented message is open (codec.CheckContinuation)
	pongDue bool
	pongLen uint8

	key    [24]byte // Sec-WebSocket-Key, base64 of 16 random bytes
	resp   []byte   // a partial response head; nil when not needed
	dialAt int64    // loop clock, ns
	seed   uint64   // message seeds derive from it (msgSeed)

	out              outFrame
	sendSeq, recvSeq uint32 // messages sent, messages echoed in full
	sentAt           [bulkWindow]int64
	nextTick         int64
	deadline, tick   timer.Entry // handshake or reply timeout; echo sends

	sc     codec.FrameScanner
	cur    ws.Header // the frame being received
	pos    int64     // its payload bytes seen
	msgPos int64     // payload bytes of the current message verified
	ctl    [ws.MaxControlFramePayloadSize]byte
	pong   [ws.MaxControlFramePayloadSize]byte
}

var crlf2 = []byte("\r\n\r\n")

// connected handles the end of a non-blocking connect: check SO_ERROR,
// then send the handshake request with a fresh random key.
func (c *conn) connected(ev poller.Event) {
	if err := sock.ConnectError(c.fd); err != nil {
		c.fail(reason(err))
		return
	}
	if ev&poller.Writable == 0 {
		return
	}
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], c.l.rng.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], c.l.rng.Uint64())
	base64.StdEncoding.Encode(c.key[:], raw[:])
	c.state = stHandshake
	c.out = outFrame{kind: outRequest, total: int64(len(c.l.pl.request) + len(c.key) + len(crlf2))}
	c.flush()
}

// flush writes the current unit and whatever next gives after it, until
// the socket is full (then it waits for Writable) or nothing is left.
func (c *conn) flush() {
	for c.fd >= 0 {
		if c.out.kind == outNone {
			if c.next(); c.out.kind == outNone {
				c.interest(poller.Readable)
				return
			}
		}
		var n int
		if c.out.kind == outRequest {
			n = fillParts(c.l.wbuf, c.out.sent, c.l.pl.request, c.key[:], crlf2)
		} else {
			n = c.out.fillFrame(c.l.wbuf, c.control())
		}
		w, err := c.tr.write(c.fd, c.l.wbuf[:n])
		c.out.sent += int64(w)
		switch {
		case err == unix.EAGAIN || err == nil && w < n:
			c.interest(poller.Readable | poller.Writable)
			return
		case err != nil:
			c.fail(reason(err))
			return
		case c.out.sent == c.out.total:
			c.out.kind = outNone
		}
	}
}

// control returns the payload source of a control frame being written.
func (c *conn) control() []byte {
	if c.out.kind == outPong {
		return c.pong[:]
	}
	return closeNormal[:]
}

// next picks the unit to write after the current one: a pending pong
// first, then a message if the workload wants one now.
func (c *conn) next() {
	switch {
	case c.pongDue && c.state <= stUp:
		c.pongDue = false
		c.out.frame(outPong, ws.OpPong, c.seed+uint64(c.recvSeq), int64(c.pongLen))
	case c.state != stUp || !c.running:
	case c.l.pl.work == workBulk && c.sendSeq-c.recvSeq < c.l.pl.window:
		c.send()
	case c.l.pl.work == workEcho && c.due && c.sendSeq == c.recvSeq:
		c.due = false
		c.send()
	}
}

// send starts the next message and, if it is the only one in flight,
// its reply timeout (the handshake timeout covers the first message).
func (c *conn) send() {
	seq := c.sendSeq
	c.sendSeq++
	c.sentAt[seq%bulkWindow] = c.l.mono
	if seq == c.recvSeq && c.state == stUp {
		c.l.at(&c.deadline, c.l.mono+c.l.pl.timeout)
	}
	c.out.frame(outData, ws.OpBinary, msgSeed(c.seed, seq), c.l.pl.size)
}

func (c *conn) interest(ev poller.Event) {
	if ev != c.ev && c.fd >= 0 {
		c.ev = ev
		c.l.p.Modify(c.fd, ev)
	}
}

// readable reads once (level-triggered: more comes on the next report)
// and hands the bytes to the handshake or the frame parser.
func (c *conn) readable() {
	n, err := c.tr.read(c.fd, c.l.rbuf)
	switch {
	case err == unix.EAGAIN:
		return
	case err != nil:
		c.fail(reason(err))
		return
	case n == 0:
		c.fail(reasonClosed)
		return
	}
	if c.state == stHandshake {
		c.handshake(c.l.rbuf[:n])
	} else {
		c.frames(c.l.rbuf[:n])
	}
}

// handshake parses the response head; on a valid 101 it records the
// handshake latency and sends the verifying echo. Bytes after the head are
// frames already.
func (c *conn) handshake(b []byte) {
	if c.resp != nil {
		c.resp = append(c.resp, b...)
		b = c.resp
	}
	l := c.l
	n, err := codec.ParseResponse(b, &l.resp)
	switch {
	case errors.Is(err, codec.ErrShort) && len(b) <= maxRespHead:
		if c.resp == nil {
			c.resp = append(make([]byte, 0, 2*len(b)), b...)
		}
		return
	case err != nil:
		c.fail(reasonBadReply)
		return
	case l.resp.Status != 101:
		c.fail(statusReason(l.resp.Status))
		return
	case !l.resp.Upgrade:
		c.fail(reasonNoUpgrade)
		return
	case string(l.resp.WSAccept) != string(codec.AppendAcceptKey(l.accept[:0], c.key[:])):
		c.fail(reasonBadAccept)
		return
	}
	record(l.hs, l.mono-c.dialAt)
	c.resp = nil
	c.state = stVerify
	c.send()
	if c.flush(); c.fd >= 0 && n < len(b) {
		c.frames(b[n:])
	}
}

// statusReason names a non-101 answer; the common ones are preformatted.
func statusReason(status int) string {
	switch status {
	case 200:
		return "bad status 200"
	case 400:
		return "bad status 400"
	case 403:
		return "bad status 403"
	case 404:
		return "bad status 404"
	case 502:
		return "bad status 502"
	case 503:
		return "bad status 503"
	}
	return "bad status " + strconv.Itoa(status)
}

// timer handles a fired entry: an echo send coming due, or a timeout.
func (c *conn) timer(e *timer.Entry) {
	if e == &c.tick {
		iv := c.l.pl.interval
		if c.nextTick += iv; c.nextTick <= c.l.mono {
			c.nextTick = c.l.mono + iv // late: skip, do not bunch up
		}
		c.l.at(&c.tick, c.nextTick)
		c.due = true
		c.flush()
		return
	}
	if c.state == stClosing {
		c.close()
		return
	}
	c.fail(reasonTimeout)
}

// begin starts the workload on an up connection. Echo sends start at a
// random point of the first interval so that they do not come in waves.
func (c *conn) begin() {
	c.running = true
	switch c.l.pl.work {
	case workEcho:
		c.nextTick = c.l.mono + c.l.rng.Int64N(c.l.pl.interval)
		c.l.at(&c.tick, c.nextTick)
	case workBulk:
		c.flush()
	}
}

// shutdown starts the close phase for c: a close frame if it is up and
// between frames (else a plain close), a "canceled" failure if not yet up.
func (c *conn) shutdown() {
	if c.state != stUp {
		c.fail(reasonCanceled)
		return
	}
	c.running = false
	c.l.wheel.Cancel(&c.tick)
	c.l.wheel.Cancel(&c.deadline)
	if c.out.kind != outNone {
		c.close()
		return
	}
	c.out.frame(outClose, ws.OpClose, c.seed-1, int64(len(closeNormal)))
	n := c.out.fillFrame(c.l.wbuf, closeNormal[:])
	if w, err := c.tr.write(c.fd, c.l.wbuf[:n]); err != nil || w < n {
		c.close()
		return
	}
	c.out.kind = outNone
	c.state = stClosing
	c.interest(poller.Readable)
}

// fail ends c for the given reason: a failure if it was not up yet, a
// drop if it was, nothing more if it was closing anyway.
func (c *conn) fail(why string) {
	switch c.state {
	case stClosing, stClosed:
	case stUp:
		c.l.drop(why)
	default:
		c.l.fail(why)
		c.l.pending--
	}
	c.close()
}

// close releases the descriptor and the timers.
func (c *conn) close() {
	if c.fd < 0 {
		return
	}
	l := c.l
	l.p.Delete(c.fd)
	unix.Close(c.fd)
	l.conns[c.fd] = nil
	l.wheel.Cancel(&c.deadline)
	l.wheel.Cancel(&c.tick)
	l.live--
	c.fd, c.state, c.resp = -1, stClosed, nil
}
