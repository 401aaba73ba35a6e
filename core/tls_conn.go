package core

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
	"wsproxy/poller"
)

// A TLS connection on the event loop: a client's on a TLS listener, or one
// to an upstream server with tls: true (tls_upstream.go).
//
// crypto/tls does all of TLS; a tls.Conn runs over a tlsConn, a net.Conn
// whose Read and Write are fed and drained by the loop, so no goroutine is
// kept per connection:
//
//	phase           who drives tls.Conn         tlsConn.Read                tlsConn.Write
//	tlsIdle         nobody: a client's first    -                           -
//	                flight gathers in t.in
//	tlsWaiting      nobody (no free slot)       -                           -
//	tlsHandshaking  a goroutine: Handshake()    bytes the loop read for it  copies, Submits to the
//	                                            (hs.in) while it holds a    loop, which queues them
//	                                            slot; with none, it gives
//	                                            the slot back and parks
//	tlsReady        the loop: Read, Write       buffered bytes, then the    appends to the
//	                                            socket; errWouldBlock       endpoint's output
//	tlsClosed       nobody (closed, or failed)  -                           -
//
// Handshakes run in goroutines because they are CPU-bound and crypto/tls
// has no resumable handshake. What is limited is the work, not the wait:
// a client's handshake starts only once its whole ClientHello is in
// (codec.ScanTLSHello), and a goroutine holds one of its loop's
// hsQueue.limit slots only while it has bytes to work on. Connections
// waiting for a slot to start read nothing more; a goroutine waiting for
// the peer's next flight is parked and holds no slot. So a peer that stops
// anywhere in its handshake costs its connection (and its bytes, or a
// parked goroutine) until header_read, or the read timeout upstream,
// closes it; it never delays another's handshake. The goroutine Submits
// the result and exits (tls_handshake.go).
//
// errWouldBlock is a net.Error whose Timeout and Temporary are true:
// tls.Conn passes such errors on without failing the connection, and keeps
// a partial record for the next Read (TestTLSConnSurvivesWouldBlock).
//
// tls.Conn decrypts a record at a time and may have read more ciphertext
// than it returned; plaintext it holds is invisible to the poller. The loop
// therefore reads until tls.Conn reports errWouldBlock or the loop's buffer
// is full; in the latter case tlsConn.more is set and, whenever the
// connection may read again (tlsInterest), a task re-runs the read. Its
// empty input buffers are dropped after a read, or for a busy connection by
// the loop's once-a-second sweep (tls_trim.go), so an idle connection holds
// none.
type tlsConn struct {
	e     *endpoint
	cfg   *tls.Config
	conn  *tls.Conn // nil until the handshake starts
	phase tlsPhase

	more    bool  // tls.Conn may hold input the poller will not report
	rerun   bool  // a task to read again is queued
	drained bool  // the socket had no more bytes during this read
	collect bool  // inside tlsWrite: ciphertext waits in e.out until it ends
	reads   uint8 // reads that trimmed their input since the last sweep (tls_trim.go)

	// Ciphertext read during the handshake that tls.Conn has not taken
	// yet; returned to the pool once empty.
	in  *bytebufferpool.ByteBuffer
	off int

	hs *tlsHandshake // shared with the handshake goroutine; nil outside tlsWaiting/tlsHandshaking

	// Upstream side only: plaintext written before the handshake ended
	// (the request head, maybe some body), sent once it has.
	plain *bytebufferpool.ByteBuffer
}

type tlsPhase uint8

const (
	tlsIdle tlsPhase = iota
	tlsWaiting
	tlsHandshaking
	tlsReady
	tlsClosed
)

// errWouldBlock is what tlsConn.Read returns after the handshake when it
// has no byte to give; tls.Conn.Read passes it on unwrapped.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string { return "core: tls: no ciphertext buffered (would block)" }

func (wouldBlock) Timeout() bool { return true }

func (wouldBlock) Temporary() bool { return true }

// errTLSNotReady refuses plaintext written before the handshake finished
// (an error reply to a client that never completed it).
var errTLSNotReady = errors.New("core: tls: handshake not complete")

// attach makes c's client endpoint a TLS endpoint of tl.
func (tl *tlsListener) attach(c *conn) { c.cl.tls = &tlsConn{e: &c.cl, cfg: tl.config} }

// upstream reports whether t is the client side of a TLS connection to an
// upstream server (rather than the server side of one with a client).
func (t *tlsConn) upstream() bool { return t.e.flags&epIsUpstream != 0 }

// Read implements net.Conn for tls.Conn.
func (t *tlsConn) Read(p []byte) (int, error) {
	if hs := t.hs; hs != nil {
		return hs.read(t, p)
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
	n, err := readFD(t.e.FD, p)
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
	e.Queue(p)
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
func (t *tlsConn) SetDeadline(time.Time) error      { return nil }
func (t *tlsConn) SetReadDeadline(time.Time) error  { return nil }
func (t *tlsConn) SetWriteDeadline(time.Time) error { return nil }

func (t *tlsConn) RemoteAddr() net.Addr {
	if t.upstream() {
		return net.TCPAddrFromAddrPort(t.e.srv.addr)
	}
	return net.TCPAddrFromAddrPort(t.e.c.peer)
}

// tlsRead is endpoint.read for a TLS endpoint: plaintext into l.Buf.
func (e *endpoint) tlsRead(l *Loop, max int) (int, error) {
	t := e.tls
	if t.phase != tlsReady {
		return t.readHandshake(l)
	}
	b := l.Buf
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
	switch {
	case err == nil:
	case err == errWouldBlock:
		// All input taken: a connection that reads rarely drops its empty
		// buffers now; a busy one, past trimReads reads in a second, waits
		// for the housekeeper's sweep (tls_trim.go).
		if t.reads < trimReads {
			t.reads++
			l.trimInput(t.conn)
		}
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

// tlsWrite is endpoint.write for a TLS endpoint: p is encrypted into
// e.out, which is then written as far as the socket takes it. An upstream
// still in its handshake keeps p in plain until it ends.
func (e *endpoint) tlsWrite(p []byte) error {
	t := e.tls
	if t.phase != tlsReady {
		if !t.upstream() || t.phase == tlsClosed {
			return errTLSNotReady
		}
		if t.plain == nil {
			t.plain = bytebufferpool.Get()
		}
		t.plain.B = append(t.plain.B, p...)
		return nil
	}
	queued := e.Queued()
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
	if e.flags&epConnecting == 0 {
		if !e.Queued() {
			ev &^= poller.Writable // plaintext waiting for the handshake is not writable yet
		}
		if t.phase == tlsIdle && t.upstream() {
			// Connected: the client speaks first.
			t.hs = newHandshake(l)
			l.srv.tls.queues[l.ID].enter(t)
		}
	}
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
			l.Submit(func() { t.reread(l) })
		}
	}
	return ev
}

// reread reads what tls.Conn may hold as if the poller had reported it.
func (t *tlsConn) reread(l *Loop) {
	t.rerun = false
	e := t.e
	switch {
	case t.phase != tlsReady || !t.more:
	case e.c == nil:
		// A parked upstream: whatever the server sent since makes it
		// unusable, but "more" may also mean a read that just filled the
		// buffer, so look before closing.
		if n, err := e.tlsRead(l, 0); n > 0 || err != unix.EAGAIN {
			l.idle.remove(e)
			e.closeFD(l)
		}
	default:
		e.OnEvent(poller.Readable)
	}
}

// tlsClose runs just before a TLS endpoint's socket is closed: a
// close_notify if the connection is established and idle, and the end of
// any handshake in progress.
func (e *endpoint) tlsClose() {
	t := e.tls
	switch t.phase {
	case tlsIdle:
		// A ClientHello had begun (not only a PROXY header) and never ended.
		if t.in != nil && !t.upstream() && e.c.flags&cfProxyHeader == 0 {
			t.countFailure(errHelloIncomplete)
		}
	case tlsReady:
		if !e.Queued() && e.flags&epWriteShut == 0 {
			t.collect = true
			_ = t.conn.CloseWrite()
			t.collect = false
			_, _ = e.flush()
		}
	case tlsWaiting:
		// Never got a goroutine: this is where the failure is counted.
		if !t.upstream() {
			t.countFailure(errors.New("closed while waiting for a handshake slot"))
		}
		if t.hs.in != nil {
			bytebufferpool.Put(t.hs.in)
		}
		t.hs = nil
	case tlsHandshaking:
		// The goroutine reports and counts the failure once it ends.
		t.hs.feed(nil, net.ErrClosed)
	}
	if t.in != nil {
		bytebufferpool.Put(t.in)
		t.in, t.off = nil, 0
	}
	if t.plain != nil {
		bytebufferpool.Put(t.plain)
		t.plain = nil
	}
	t.phase = tlsClosed
}

// readFD reads from fd, retrying on EINTR. n is never negative.
func readFD(fd int, p []byte) (int, error) {
	for {
		n, err := sock.Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0), err
	}
}
