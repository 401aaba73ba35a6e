package tlsloop

import (
	"crypto/tls"
	"errors"
	"io"
	"sync"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/sock"
)

// The handshake of one connection: the client's first flight kept on the
// loop until it is complete, then a goroutine of its own that holds one of
// its loop's slots (slots.go) only while it has input to work on.

// handshake is what the loop and a handshake goroutine share.
type handshake struct {
	l    *Loop
	mu   sync.Mutex
	cond sync.Cond
	in   *bytebufferpool.ByteBuffer // ciphertext for the goroutine, guarded by mu
	off  int
	err  error // why Read fails once in is empty: the loop saw EOF or closed (errClosed: at once)
	run  bool  // guarded by mu: the goroutine holds a slot and may work on in

	// Owned by the loop.
	slot   bool // counted in Loop.running
	queued bool // in Loop.wait for a slot to go on with
}

// earlyMax bounds the ciphertext held for a handshake in progress: the
// largest ClientHello crypto/tls accepts (64 KiB) in records, plus a little.
const earlyMax = 64<<10 + 5*(5+256)

// errHelloIncomplete is why a client closed before its ClientHello was
// complete is counted as a failed handshake.
var errHelloIncomplete = errors.New("closed before its ClientHello was complete")

func newHandshake(l *Loop) *handshake {
	hs := &handshake{l: l}
	hs.cond.L = &hs.mu
	return hs
}

// read blocks the handshake goroutine until the loop has read ciphertext
// for it and it holds a slot. With nothing to read it gives its slot back
// before it waits (parked, on the loop): a peer that stops in
// mid-handshake holds a goroutine, never a slot. When the loop closes the
// connection it returns at once, slot or not.
func (hs *handshake) read(c *Conn, p []byte) (int, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for {
		switch {
		case hs.err != nil && (hs.in == nil || hs.err == errClosed):
			return 0, hs.err
		case hs.in != nil && hs.run:
			n := copy(p, hs.in.B[hs.off:])
			if hs.off += n; hs.off == len(hs.in.B) {
				bytebufferpool.Put(hs.in)
				hs.in, hs.off = nil, 0
			}
			return n, nil
		case hs.in == nil && hs.run:
			hs.run = false
			// If the loop has stopped, it closes the connection too:
			// errClosed wakes this goroutine.
			hs.l.R.Submit(func() { c.parked(hs) })
		}
		hs.cond.Wait()
	}
}

// write hands handshake records to the loop, in order.
func (hs *handshake) write(c *Conn, p []byte) (int, error) {
	hs.mu.Lock()
	err := hs.err
	hs.mu.Unlock()
	if err != nil {
		return 0, err
	}
	b := bytebufferpool.Get()
	b.B = append(b.B, p...)
	if !hs.l.R.Submit(func() { c.sendHandshake(b) }) {
		bytebufferpool.Put(b)
		return 0, errClosed
	}
	return len(p), nil
}

// feed gives the goroutine ciphertext, or the end of it (err). It reports
// whether ciphertext waits for the goroutine.
func (hs *handshake) feed(p []byte, err error) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(p) > 0 {
		if hs.in == nil {
			hs.in = bytebufferpool.Get()
		}
		hs.in.B = append(hs.in.B, p...)
	}
	if err != nil && hs.err == nil {
		hs.err = err
	}
	if hs.run || hs.err != nil {
		// A goroutine without a slot waits for grant, not for bytes:
		// waking it now would only put it back to sleep.
		hs.cond.Signal()
	}
	return hs.in != nil
}

func (hs *handshake) buffered() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.in == nil {
		return 0
	}
	return len(hs.in.B) - hs.off
}

// buffered is the ciphertext held for c's handshake, which is bounded by
// earlyMax: the first flight on the loop, then what the goroutine has not
// taken.
func (c *Conn) buffered() int {
	switch {
	case c.hs != nil:
		return c.hs.buffered()
	case c.in != nil && c.phase == Idle:
		return len(c.in.B) - c.off
	}
	return 0
}

// readHandshake moves ciphertext from the socket to the handshake: the
// first flight into c.in, then to the goroutine. The Host sees no byte
// yet.
func (c *Conn) readHandshake() (int, error) {
	var n int
	var err error
	if room := earlyMax - c.buffered(); c.phase == Waiting || room <= 0 {
		// Not reading now, so the poller reported a hang-up or an error:
		// look without taking anything.
		if n, err = sock.Peek(c.sock.FD()); n > 0 {
			err = unix.EAGAIN
		}
	} else {
		buf := c.loop.R.Buf
		n, err = sock.RecvRetry(c.sock.FD(), buf[:min(room, len(buf))])
	}
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return 0, unix.EAGAIN
	case err != nil || n == 0:
		if c.phase != Handshaking {
			return 0, err // the connection closes; Close counts a handshake that had begun
		}
		// Let the goroutine finish with what it has, so that the error it
		// reports is the real one (an alert the client sent, say).
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		c.hs.feed(nil, err)
		return 0, ErrEOFInHandshake
	}
	if c.phase == Idle {
		c.early(c.loop.R.Buf[:n])
	} else if c.hs.feed(c.loop.R.Buf[:n], nil) && !c.hs.slot && !c.hs.queued {
		c.loop.resume(c)
	}
	return 0, unix.EAGAIN
}

// early keeps a client's first bytes on the loop until they hold its whole
// ClientHello (behind the PROXY header, if the listener expects one), or
// bytes crypto/tls refuses, and only then starts the handshake: a client
// that stops sooner costs its connection and the bytes it sent, no
// goroutine and no slot, until the Host's timeout closes it.
func (c *Conn) early(p []byte) {
	if c.in == nil {
		c.in, c.off = bytebufferpool.Get(), 0
	}
	c.in.B = append(c.in.B, p...)
	if c.proxy {
		n, ok := c.host.ProxyHeader(c.in.B[c.off:])
		if !ok {
			return // incomplete, or the connection was closed (and c.in freed)
		}
		c.proxy = false
		c.off += n
	}
	_, err := codec.ScanTLSHello(c.in.B[c.off:])
	if err == codec.ErrShort && len(c.in.B)-c.off < earlyMax && !c.upstream {
		if c.off == len(c.in.B) { // only a PROXY header so far
			bytebufferpool.Put(c.in)
			c.in, c.off = nil, 0
		}
		return
	}
	hs := newHandshake(c.loop)
	hs.in, hs.off = c.in, c.off
	c.in, c.off = nil, 0
	c.hs = hs
	c.loop.enter(c)
}

// sendHandshake queues handshake records the goroutine wrote.
func (c *Conn) sendHandshake(b *bytebufferpool.ByteBuffer) {
	if c.phase != Handshaking {
		bytebufferpool.Put(b)
		return
	}
	c.sock.QueueBuffer(b)
	_, err := c.sock.Flush()
	c.host.Flushed(err)
}

// start runs the handshake in a goroutine of its own, which holds the
// slot its loop has counted for it.
func (c *Conn) start() {
	c.phase = Handshaking
	if c.upstream {
		c.conn = tls.Client((*wire)(c), c.cfg)
	} else {
		c.conn = tls.Server((*wire)(c), c.cfg)
	}
	hs, l := c.hs, c.loop
	hs.slot, hs.run = true, true
	l.goroutines.Add(1)
	go func() {
		defer l.goroutines.Add(-1)
		err := c.conn.Handshake()
		l.R.Submit(func() { c.handshakeDone(err) })
	}()
}

// handshakeDone takes the goroutine's result on the loop.
func (c *Conn) handshakeDone(err error) {
	hs := c.hs
	c.loop.release(hs)
	c.hs = nil
	closed := c.phase == Closed
	if err != nil || closed {
		if hs.in != nil {
			bytebufferpool.Put(hs.in)
		}
		if err != nil && !c.upstream {
			c.host.HandshakeError(err)
		}
		if !closed {
			c.phase = Closed // plain stays for a redial; Close frees it
			c.host.Handshaked(err)
		}
		return
	}
	c.phase = Ready
	c.in, c.off = hs.in, hs.off
	c.loop.trim(c.conn) // the handshake's buffers, once empty
	c.host.Handshaked(nil)
}

// PlainHTTP reports whether a handshake failed because the client spoke
// plain HTTP to a TLS port (it is then told so in plain HTTP, as nginx and
// net/http do).
func PlainHTTP(err error) bool {
	var rhe tls.RecordHeaderError
	if !errors.As(err, &rhe) || rhe.Conn == nil {
		return false
	}
	switch string(rhe.RecordHeader[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}
