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

// The TLS handshake of one connection, in a goroutine of its own, and the
// per-loop queue that bounds how many run at once.

// tlsHandshake is what the loop and a handshake goroutine share.
type tlsHandshake struct {
	l    *Loop
	mu   sync.Mutex
	cond sync.Cond
	in   *bytebufferpool.ByteBuffer // ciphertext for the goroutine, guarded by mu
	off  int
	err  error // why Read fails once in is empty: the loop saw EOF or closed
}

// tlsEarlyMax bounds the ciphertext held for a handshake in progress: the
// largest ClientHello crypto/tls accepts (64 KiB) in records, plus a little.
const tlsEarlyMax = 64<<10 + 5*(5+256)

func newHandshake(l *Loop) *tlsHandshake {
	hs := &tlsHandshake{l: l}
	hs.cond.L = &hs.mu
	return hs
}

// read blocks the handshake goroutine until the loop has read ciphertext.
func (hs *tlsHandshake) read(p []byte) (int, error) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for hs.in == nil && hs.err == nil {
		hs.cond.Wait()
	}
	if hs.in == nil {
		return 0, hs.err
	}
	n := copy(p, hs.in.B[hs.off:])
	if hs.off += n; hs.off == len(hs.in.B) {
		bytebufferpool.Put(hs.in)
		hs.in, hs.off = nil, 0
	}
	return n, nil
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

// feed gives the goroutine ciphertext, or the end of it (err).
func (hs *tlsHandshake) feed(p []byte, err error) {
	hs.mu.Lock()
	if len(p) > 0 {
		if hs.in == nil {
			hs.in = bytebufferpool.Get()
		}
		hs.in.B = append(hs.in.B, p...)
	}
	if err != nil && hs.err == nil {
		hs.err = err
	}
	hs.cond.Signal()
	hs.mu.Unlock()
}

func (hs *tlsHandshake) buffered() int {
	if hs == nil {
		return 0
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.in == nil {
		return 0
	}
	return len(hs.in.B) - hs.off
}

// readHandshake moves ciphertext from the socket to the handshake
// goroutine, starting it on the first bytes. The proxy sees no byte yet.
func (t *tlsConn) readHandshake(l *Loop) (int, error) {
	e := t.e
	var n int
	var err error
	if room := tlsEarlyMax - t.hs.buffered(); t.phase == tlsWaiting || room <= 0 {
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
			return 0, err // the connection closes; tlsClose counts a waiting handshake
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
	if t.hs == nil {
		t.hs = newHandshake(l)
	}
	t.hs.feed(l.Buf[:n], nil)
	if t.phase == tlsIdle && (e.c.flags&cfProxyHeader == 0 || t.proxyHeader()) {
		l.srv.tls.queues[l.ID].enter(t)
	}
	return 0, unix.EAGAIN
}

// proxyHeader takes the PROXY protocol header that precedes the TLS
// handshake off the bytes read so far. It reports whether the handshake
// can start: the header was complete and ciphertext follows it.
func (t *tlsConn) proxyHeader() bool {
	hs, c := t.hs, t.e.c
	n, ok := c.onProxyHeader(hs.in.B[hs.off:]) // no goroutine yet: no lock needed
	if !ok {
		return false // incomplete, or the connection was closed
	}
	if hs.off += n; hs.off == len(hs.in.B) {
		bytebufferpool.Put(hs.in)
		hs.in, hs.off = nil, 0
		return false
	}
	return true
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

// start runs the handshake in a goroutine of its own.
func (t *tlsConn) start(l *Loop) {
	t.phase = tlsHandshaking
	if t.upstream() {
		t.conn = tls.Client(t, t.cfg)
	} else {
		t.conn = tls.Server(t, t.cfg)
	}
	go func() {
		err := t.conn.Handshake()
		l.Submit(func() { t.handshakeDone(l, err) })
	}()
}

// handshakeDone takes the goroutine's result on the loop.
func (t *tlsConn) handshakeDone(l *Loop, err error) {
	l.srv.tls.queues[l.ID].leave(l)
	hs := t.hs
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

// hsQueue bounds the handshake goroutines of one loop. It is owned by the
// loop.
type hsQueue struct {
	running, limit int
	wait           []*tlsConn // FIFO; closed entries are skipped
}

// enter starts t's handshake, or queues it until a slot frees.
func (q *hsQueue) enter(t *tlsConn) {
	if q.running < q.limit {
		q.running++
		t.start(t.e.l)
		return
	}
	t.phase = tlsWaiting
	q.wait = append(q.wait, t)
}

// leave frees a slot and gives it to the first waiting connection.
func (q *hsQueue) leave(l *Loop) {
	q.running--
	for len(q.wait) > 0 && q.running < q.limit {
		t := q.wait[0]
		q.wait[0] = nil
		q.wait = q.wait[1:]
		if t.phase != tlsWaiting {
			continue
		}
		q.running++
		t.start(l)
		t.e.c.updateInterest() // it may read again
	}
	if len(q.wait) == 0 {
		q.wait = q.wait[:0:0]
	}
}
