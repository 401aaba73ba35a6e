package core

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/sock"
	"wsproxy/poller"
)

// The TLS handshake of one connection: the client's first flight kept on
// the loop until it is complete, then a goroutine of its own that holds one
// of its loop's slots (hsQueue) only while it has input to work on.

// tlsHandshake is what the loop and a handshake goroutine share.
type tlsHandshake struct {
	l    *Loop
	mu   sync.Mutex
	cond sync.Cond
	in   *bytebufferpool.ByteBuffer // ciphertext for the goroutine, guarded by mu
	off  int
	err  error // why Read fails once in is empty: the loop saw EOF or closed (net.ErrClosed: at once)
	run  bool  // guarded by mu: the goroutine holds a slot and may work on in

	// Owned by the loop.
	slot   bool // counted in hsQueue.running
	queued bool // in hsQueue.wait for a slot to go on with
}

// tlsEarlyMax bounds the ciphertext held for a handshake in progress: the
// largest ClientHello crypto/tls accepts (64 KiB) in records, plus a little.
const tlsEarlyMax = 64<<10 + 5*(5+256)

// errHelloIncomplete is why a client closed before its ClientHello was
// complete is counted as a failed handshake.
var errHelloIncomplete = errors.New("closed before its ClientHello was complete")

func newHandshake(l *Loop) *tlsHandshake {
	hs := &tlsHandshake{l: l}
	hs.cond.L = &hs.mu
	return hs
}

// read blocks the handshake goroutine until the loop has read ciphertext
// for it and it holds a slot. With nothing to read it gives its slot back
// before it waits (parked, on the loop): a peer that stops in
// mid-handshake holds a goroutine, never a slot. When the loop closes the
// connection it returns at once, slot or not.
func (hs *tlsHandshake) read(t *tlsConn, p []byte) (int, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for {
		switch {
		case hs.err != nil && (hs.in == nil || hs.err == net.ErrClosed):
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
			// net.ErrClosed wakes this goroutine.
			hs.l.Submit(func() { t.parked(hs) })
		}
		hs.cond.Wait()
	}
}

// write hands handshake records to the loop, in order.
func (hs *tlsHandshake) write(t *tlsConn, p []byte) (int, error) {
	hs.mu.Lock()
	err := hs.err
	hs.mu.Unlock()
	if err != nil {
		return 0, err
	}
	b := bytebufferpool.Get()
	b.B = append(b.B, p...)
	if !hs.l.Submit(func() { t.sendHandshake(b) }) {
		bytebufferpool.Put(b)
		return 0, net.ErrClosed
	}
	return len(p), nil
}

// feed gives the goroutine ciphertext, or the end of it (err). It reports
// whether ciphertext waits for the goroutine.
func (hs *tlsHandshake) feed(p []byte, err error) bool {
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

func (hs *tlsHandshake) buffered() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.in == nil {
		return 0
	}
	return len(hs.in.B) - hs.off
}

// buffered is the ciphertext held for t's handshake, which is bounded by
// tlsEarlyMax: the first flight on the loop, then what the goroutine has
// not taken.
func (t *tlsConn) buffered() int {
	switch {
	case t.hs != nil:
		return t.hs.buffered()
	case t.in != nil && t.phase == tlsIdle:
		return len(t.in.B) - t.off
	}
	return 0
}

// readHandshake moves ciphertext from the socket to the handshake: the
// first flight into t.in, then to the goroutine. The proxy sees no byte
// yet.
func (t *tlsConn) readHandshake(l *Loop) (int, error) {
	e := t.e
	var n int
	var err error
	if room := tlsEarlyMax - t.buffered(); t.phase == tlsWaiting || room <= 0 {
		// Not reading now, so the poller reported a hang-up or an error:
		// look without taking anything.
		if n, err = sock.Peek(e.FD); n > 0 {
			err = unix.EAGAIN
		}
	} else {
		n, err = readFD(e.FD, l.Buf[:min(room, len(l.Buf))])
	}
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return 0, unix.EAGAIN
	case err != nil || n == 0:
		if t.phase != tlsHandshaking {
			return 0, err // the connection closes; tlsClose counts a handshake that had begun
		}
		// Let the goroutine finish with what it has, so that the error it
		// reports is the real one (an alert the client sent, say).
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		t.hs.feed(nil, err)
		e.flags |= epEOF
		return 0, unix.EAGAIN
	}
	if t.phase == tlsIdle {
		t.early(l, l.Buf[:n])
	} else if t.hs.feed(l.Buf[:n], nil) && !t.hs.slot && !t.hs.queued {
		l.srv.tls.queues[l.ID].resume(t)
	}
	return 0, unix.EAGAIN
}

// early keeps a client's first bytes on the loop until they hold its whole
// ClientHello (behind the PROXY header, if the listener expects one), or
// bytes crypto/tls refuses, and only then starts the handshake: a client
// that stops sooner costs its connection and the bytes it sent, no
// goroutine and no slot, until header_read closes it.
func (t *tlsConn) early(l *Loop, p []byte) {
	if t.in == nil {
		t.in, t.off = bytebufferpool.Get(), 0
	}
	t.in.B = append(t.in.B, p...)
	if c := t.e.c; !t.upstream() && c.flags&cfProxyHeader != 0 {
		n, ok := c.onProxyHeader(t.in.B[t.off:])
		if !ok {
			return // incomplete, or the connection was closed (and t.in freed)
		}
		t.off += n
	}
	_, err := codec.ScanTLSHello(t.in.B[t.off:])
	if err == codec.ErrShort && len(t.in.B)-t.off < tlsEarlyMax && !t.upstream() {
		if t.off == len(t.in.B) { // only a PROXY header so far
			bytebufferpool.Put(t.in)
			t.in, t.off = nil, 0
		}
		return
	}
	hs := newHandshake(l)
	hs.in, hs.off = t.in, t.off
	t.in, t.off = nil, 0
	t.hs = hs
	l.srv.tls.queues[l.ID].enter(t)
}

// sendHandshake queues handshake records the goroutine wrote.
func (t *tlsConn) sendHandshake(b *bytebufferpool.ByteBuffer) {
	e := t.e
	if t.phase != tlsHandshaking {
		bytebufferpool.Put(b)
		return
	}
	e.QueueBuffer(b)
	if _, err := e.flush(); err != nil {
		e.c.close()
		return
	}
	e.c.updateInterest()
}

// start runs the handshake in a goroutine of its own, which holds the
// slot its loop has counted for it.
func (t *tlsConn) start(l *Loop) {
	t.phase = tlsHandshaking
	if t.upstream() {
		t.conn = tls.Client(t, t.cfg)
	} else {
		t.conn = tls.Server(t, t.cfg)
	}
	hs, ts := t.hs, &l.srv.tls
	hs.slot, hs.run = true, true
	ts.goroutines.Add(1)
	go func() {
		defer ts.goroutines.Add(-1)
		err := t.conn.Handshake()
		l.Submit(func() { t.handshakeDone(l, err) })
	}()
}

// handshakeDone takes the goroutine's result on the loop.
func (t *tlsConn) handshakeDone(l *Loop, err error) {
	hs := t.hs
	l.srv.tls.queues[l.ID].release(hs)
	t.hs = nil
	closed := t.phase == tlsClosed
	if err != nil || closed {
		if hs.in != nil {
			bytebufferpool.Put(hs.in)
		}
		if err != nil && !t.upstream() {
			t.countFailure(err)
		}
		if !closed {
			t.phase = tlsClosed // plain stays for a redial; tlsClose frees it
			if t.upstream() {
				t.upstreamFailed(err)
			} else {
				t.fail(err)
			}
		}
		return
	}
	t.phase = tlsReady
	t.in, t.off = hs.in, hs.off
	l.trimInput(t.conn) // the handshake's buffers, once empty (tls_trim.go)
	e := t.e
	// A peer may send its data and its FIN right behind its Finished; the
	// EOF is found again after the data is read.
	e.flags &^= epEOF
	if t.plain != nil && !t.sendPlain() {
		return
	}
	// Bytes that came with or after the peer's Finished may be in t.in
	// or inside tls.Conn already: read them now, the poller will not tell.
	e.OnEvent(poller.Readable)
}

// countFailure counts a handshake that did not complete and logs why.
func (t *tlsConn) countFailure(err error) {
	t.e.l.srv.tls.handshakeErrors.Add(1)
	if srv := t.e.l.srv; srv != nil {
		tlsLog(srv.log, t.e.c.peer, err)
	}
}

// fail closes a client whose handshake failed. One that spoke plain HTTP
// is told so in plain HTTP first, as nginx and net/http do.
func (t *tlsConn) fail(err error) {
	c := t.e.c
	var rhe tls.RecordHeaderError
	if !errors.As(err, &rhe) || rhe.Conn == nil || !looksLikeHTTP(rhe.RecordHeader) {
		c.close()
		return
	}
	c.st = stClosing
	c.flags |= cfRespStarted
	c.cl.flags |= epEOF
	out := codec.AppendStatusResponse(c.l.hbuf[:0], 400, "plain HTTP request sent to a TLS port; use https:// or wss://")
	c.l.hbuf = out[:0]
	c.cl.Queue(out)
	if done, ferr := c.cl.flush(); done || ferr != nil {
		c.close()
		return
	}
	c.schedule(lingerTimeout)
	c.updateInterest()
}

func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}
