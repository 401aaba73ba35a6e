package core

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/poller"
)

// A TLS client connection on the event loop.
//
// crypto/tls does all of TLS; a tls.Conn runs over a tlsConn, a net.Conn
// whose Read and Write are fed and drained by the loop, so no goroutine is
// kept per connection:
//
//	phase           who drives tls.Conn         tlsConn.Read                tlsConn.Write
//	tlsIdle         nobody (no byte yet)        -                           -
//	tlsWaiting      nobody (no free slot)       -                           -
//	tlsHandshaking  a goroutine: Handshake()    blocks on bytes the loop    copies, Submits to the
//	                                            read for it (hs.in)         loop, which queues them
//	tlsReady        the loop: Read, Write       buffered bytes, then the    appends to the
//	                                            socket; errWouldBlock       endpoint's output
//	tlsClosed       nobody (closed, or failed)  -                           -
//
// Handshakes run in goroutines because they are CPU-bound and crypto/tls
// has no resumable handshake; each loop runs at most hsQueue.limit at once
// and the rest wait in its queue, reading nothing more, until a slot frees.
// The goroutine Submits the result and exits.
//
// errWouldBlock is a net.Error whose Timeout and Temporary are true:
// tls.Conn passes such errors on without failing the connection, and keeps
// a partial record for the next Read (TestTLSConnSurvivesWouldBlock).
//
// tls.Conn decrypts a record at a time and may have read more ciphertext
// than it returned; plaintext it holds is invisible to the poller. The loop
// therefore reads until tls.Conn reports errWouldBlock or the loop's buffer
// is full; in the latter case tlsConn.more is set and, whenever the
// connection may read again (tlsInterest), a task re-runs the read.
type tlsConn struct {
	e     *endpoint
	ln    *tlsListener
	conn  *tls.Conn // nil until the handshake starts
	phase tlsPhase

	more    bool // tls.Conn may hold input the poller will not report
	rerun   bool // a task to read again is queued
	drained bool // the socket had no more bytes during this read
	collect bool // inside tlsWrite: ciphertext waits in e.out until it ends

	// Ciphertext read during the handshake that tls.Conn has not taken
	// yet; returned to the pool once empty.
	in  *bytebufferpool.ByteBuffer
	off int

	hs *tlsHandshake // shared with the handshake goroutine; nil outside tlsWaiting/tlsHandshaking
}

type tlsPhase uint8

const (
	tlsIdle tlsPhase = iota
	tlsWaiting
	tlsHandshaking
	tlsReady
	tlsClosed
)

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

// errWouldBlock is what tlsConn.Read returns after the handshake when it
// has no byte to give.
var errWouldBlock net.Error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "core: tls: no ciphertext buffered (would block)" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// errTLSNotReady refuses plaintext written before the handshake finished
// (an error reply to a client that never completed it).
var errTLSNotReady = errors.New("core: tls: handshake not complete")

// attach makes c's client endpoint a TLS endpoint of tl.
func (tl *tlsListener) attach(c *conn) { c.cl.tls = &tlsConn{e: &c.cl, ln: tl} }

// Read implements net.Conn for tls.Conn.
func (t *tlsConn) Read(p []byte) (int, error) {
	if hs := t.hs; hs != nil {
		return hs.read(p)
	}
	if t.in != nil {
		n := copy(p, t.in.B[t.off:])
		if t.off += n; t.off == len(t.in.B) {
			bytebufferpool.Put(t.in)
			t.in, t.off = nil, 0
		}
		return n, nil
	}
	if t.drained {
		return 0, errWouldBlock
	}
	n, err := readFD(t.e.fd, p)
	switch {
	case err == unix.EAGAIN:
		t.drained = true
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	t.drained = n < len(p) // a short read emptied the socket; the poller reports more
	return n, nil
}

// Write implements net.Conn for tls.Conn.
func (t *tlsConn) Write(p []byte) (int, error) {
	if hs := t.hs; hs != nil {
		return hs.write(t, p)
	}
	e := t.e
	if e.out == nil {
		e.out, e.off = bytebufferpool.Get(), 0
	}
	e.out.B = append(e.out.B, p...)
	if !t.collect {
		if _, err := e.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Close, the addresses and the deadlines complete net.Conn; the loop owns
// the socket, and tls.Conn.Close is never called.
func (t *tlsConn) Close() error                     { return nil }
func (t *tlsConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (t *tlsConn) RemoteAddr() net.Addr             { return net.TCPAddrFromAddrPort(t.e.c.peer) }
func (t *tlsConn) SetDeadline(time.Time) error      { return nil }
func (t *tlsConn) SetReadDeadline(time.Time) error  { return nil }
func (t *tlsConn) SetWriteDeadline(time.Time) error { return nil }

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

// tlsRead is endpoint.read for a TLS endpoint: plaintext into l.buf.
func (e *endpoint) tlsRead(l *Loop, max int) (int, error) {
	t := e.tls
	if t.phase != tlsReady {
		return t.readHandshake(l)
	}
	b := l.buf
	if max > 0 && max < len(b) {
		b = b[:max]
	}
	t.drained = false
	n := 0
	var err error
	for n < len(b) && err == nil {
		var m int
		m, err = t.conn.Read(b[n:])
		n += m
	}
	t.more = err == nil // the buffer is full; tls.Conn may hold more
	var ne net.Error
	switch {
	case err == nil:
	case errors.As(err, &ne) && ne.Timeout():
		if n == 0 {
			return 0, unix.EAGAIN
		}
	case n > 0:
		t.more = true // return the bytes now, the error (sticky in tls.Conn) next time
	case err == io.EOF:
		return 0, nil
	default:
		return 0, err
	}
	return n, nil
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
		var one [1]byte
		if n, _, err = unix.Recvfrom(e.fd, one[:], unix.MSG_PEEK|unix.MSG_DONTWAIT); n > 0 {
			err = unix.EAGAIN
		}
	} else {
		n, err = readFD(e.fd, l.buf[:min(room, len(l.buf))])
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
		t.hs = &tlsHandshake{l: l}
		t.hs.cond.L = &t.hs.mu
	}
	t.hs.feed(l.buf[:n], nil)
	if t.phase == tlsIdle {
		l.srv.tls.queues[l.id].enter(t)
	}
	return 0, unix.EAGAIN
}

// tlsWrite is endpoint.write for a TLS endpoint: p is encrypted into
// e.out, which is then written as far as the socket takes it.
func (e *endpoint) tlsWrite(p []byte) error {
	t := e.tls
	if t.phase != tlsReady {
		return errTLSNotReady
	}
	queued := e.out != nil
	t.collect = true
	_, err := t.conn.Write(p)
	t.collect = false
	if err != nil || queued {
		return err
	}
	_, err = e.flush()
	return err
}

// tlsInterest adjusts the poller interest ev of a TLS endpoint: no reading
// while waiting for a handshake slot or with a full handshake buffer, and a
// re-run of the read when tls.Conn may hold input and reading is allowed.
func (e *endpoint) tlsInterest(l *Loop, ev poller.Event) poller.Event {
	t := e.tls
	switch t.phase {
	case tlsWaiting:
		ev &^= poller.Readable
	case tlsHandshaking:
		if t.hs.buffered() >= tlsEarlyMax {
			ev &^= poller.Readable
		}
	case tlsReady:
		if t.more && !t.rerun && ev&poller.Readable != 0 {
			t.rerun = true
			l.Submit(func() {
				t.rerun = false
				if t.phase == tlsReady && t.more {
					e.onEvent(poller.Readable)
				}
			})
		}
	}
	return ev
}

// tlsClose runs just before a TLS endpoint's socket is closed: a
// close_notify if the connection is established and idle, and the end of
// any handshake in progress.
func (e *endpoint) tlsClose() {
	t := e.tls
	switch t.phase {
	case tlsReady:
		if e.out == nil && e.flags&epWriteShut == 0 {
			t.collect = true
			_ = t.conn.CloseWrite()
			t.collect = false
			_, _ = e.flush()
		}
		if t.in != nil {
			bytebufferpool.Put(t.in)
			t.in = nil
		}
	case tlsWaiting:
		// Never got a goroutine: this is where the failure is counted.
		t.countFailure(errors.New("closed while waiting for a handshake slot"))
		if t.hs.in != nil {
			bytebufferpool.Put(t.hs.in)
		}
		t.hs = nil
	case tlsHandshaking:
		// The goroutine reports and counts the failure once it ends.
		t.hs.feed(nil, net.ErrClosed)
	}
	t.phase = tlsClosed
}

// sendHandshake queues handshake records the goroutine wrote.
func (t *tlsConn) sendHandshake(b *bytebufferpool.ByteBuffer) {
	e := t.e
	if t.phase != tlsHandshaking {
		bytebufferpool.Put(b)
		return
	}
	if e.out == nil {
		e.out, e.off = b, 0
	} else {
		e.out.B = append(e.out.B, b.B...)
		bytebufferpool.Put(b)
	}
	if _, err := e.flush(); err != nil {
		e.c.close()
		return
	}
	e.c.updateInterest()
}

// start runs the handshake in a goroutine of its own.
func (t *tlsConn) start(l *Loop) {
	t.phase = tlsHandshaking
	t.conn = tls.Server(t, t.ln.config)
	go func() {
		err := t.conn.Handshake()
		l.Submit(func() { t.handshakeDone(l, err) })
	}()
}

// handshakeDone takes the goroutine's result on the loop.
func (t *tlsConn) handshakeDone(l *Loop, err error) {
	l.srv.tls.queues[l.id].leave(l)
	hs := t.hs
	t.hs = nil
	closed := t.phase == tlsClosed
	if err != nil || closed {
		if hs.in != nil {
			bytebufferpool.Put(hs.in)
		}
		if err != nil {
			t.countFailure(err)
		}
		if !closed {
			t.phase = tlsClosed
			t.fail(err)
		}
		return
	}
	t.phase = tlsReady
	t.in, t.off = hs.in, hs.off
	// A client may send its request and its FIN right behind its
	// Finished; the EOF is found again after the request is read.
	t.e.flags &^= epEOF
	// Bytes that came with or after the client's Finished may be in t.in
	// or inside tls.Conn already: read them now, the poller will not tell.
	t.e.onEvent(poller.Readable)
}

// countFailure counts a handshake that did not complete and logs why.
func (t *tlsConn) countFailure(err error) {
	t.ln.state.handshakeErrors.Add(1)
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
	if c.cl.out == nil {
		c.cl.out, c.cl.off = bytebufferpool.Get(), 0
	}
	c.cl.out.B = append(c.cl.out.B, out...)
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

// readFD reads from fd, retrying on EINTR. n is never negative.
func readFD(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0), err
	}
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
