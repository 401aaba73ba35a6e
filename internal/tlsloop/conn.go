// Package tlsloop runs crypto/tls on a connection of an event loop
// (internal/reactor) without a goroutine per connection: a client's on a
// TLS listener, or one to an upstream server with tls: true.
//
// crypto/tls does all of TLS; a tls.Conn runs over a wire, a net.Conn whose
// Read and Write are fed and drained by the loop:
//
//	phase        who drives tls.Conn         wire.Read                   wire.Write
//	Idle         nobody: a client's first    -                           -
//	             flight gathers in c.in
//	Waiting      nobody (no free slot)       -                           -
//	Handshaking  a goroutine: Handshake()    bytes the loop read for it  copies, Submits to the
//	                                         (hs.in) while it holds a    loop, which queues them
//	                                         slot; with none, it gives
//	                                         the slot back and parks
//	Ready        the loop: Recv, Send        buffered bytes, then the    appends to the
//	                                         socket; errWouldBlock       socket's output
//	Closed       nobody (closed, or failed)  -                           -
//
// Handshakes run in goroutines because they are CPU-bound and crypto/tls
// has no resumable handshake. What is limited is the work, not the wait:
// a client's handshake starts only once its whole ClientHello is in
// (codec.ScanTLSHello), and a goroutine holds one of its loop's slots
// (slots.go) only while it has bytes to work on. Connections waiting for a
// slot to start read nothing more; a goroutine waiting for the peer's next
// flight is parked and holds no slot. So a peer that stops anywhere in its
// handshake costs its connection (and its bytes, or a parked goroutine)
// until the owner's timeout closes it; it never delays another's
// handshake. The goroutine Submits the result and exits (handshake.go).
//
// errWouldBlock is a net.Error whose Timeout and Temporary are true:
// tls.Conn passes such errors on without failing the connection, and keeps
// a partial record for the next Read (TestConnSurvivesWouldBlock).
//
// tls.Conn decrypts a record at a time and may have read more ciphertext
// than it returned; plaintext it holds is invisible to the poller. Recv
// therefore reads until tls.Conn reports errWouldBlock or the loop's buffer
// is full; in the latter case c.more is set and, whenever the connection
// may read again (Interest), a task asks the Host to read again. Empty
// input buffers are dropped after a read (internal/tlstrim), or for a busy
// connection by Sweep, so an idle connection holds none.
//
// The package knows sockets and TLS, not HTTP or WebSocket: what a
// handshake's end means for the connection is the Host's business.
package tlsloop

import (
	"crypto/tls"
	"errors"
	"io"
	"net"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/internal/reactor"
	"wsproxy/poller"
)

// Host is the connection a Conn belongs to. Its methods run on the loop.
type Host interface {
	// RemoteAddr is the peer's address, for crypto/tls.
	RemoteAddr() net.Addr
	// ProxyHeader takes a PROXY protocol header from the front of b, for
	// a client on a listener that expects one: n bytes taken; ok false
	// while it is incomplete, or when the Host closed the connection.
	ProxyHeader(b []byte) (n int, ok bool)
	// Handshaked tells the end of the handshake: err nil, the Conn is
	// Ready and plaintext the peer sent behind its Finished may wait
	// (read it now, the poller will not tell); else it failed and the
	// Conn is Closed.
	Handshaked(err error)
	// Flushed follows handshake records written to the socket; err
	// non-nil means the socket failed.
	Flushed(err error)
	// Resumed tells a connection that waited for a slot that it has one:
	// it may read again.
	Resumed()
	// Reread asks for a read as if the poller had reported one: tls.Conn
	// may hold plaintext.
	Reread()
	// HandshakeError counts and logs a client's handshake that failed.
	HandshakeError(err error)
}

// Phase is where a Conn is in its life.
type Phase uint8

// The phases, in order.
const (
	Idle Phase = iota
	Waiting
	Handshaking
	Ready
	Closed
)

// Conn is the TLS side of one socket of a loop.
type Conn struct {
	host  Host
	sock  *reactor.Socket
	loop  *Loop
	cfg   *tls.Config
	conn  *tls.Conn // nil until the handshake starts
	phase Phase

	upstream bool  // the client side of a connection to an upstream server
	proxy    bool  // a PROXY header is expected before the ClientHello
	more     bool  // tls.Conn may hold input the poller will not report
	rerun    bool  // a task to read again is queued
	drained  bool  // the socket had no more bytes during this read
	collect  bool  // inside Send: ciphertext waits in the socket's output until it ends
	reads    uint8 // reads that trimmed their input since the last Sweep

	// Ciphertext read during the handshake that tls.Conn has not taken
	// yet; returned to the pool once empty.
	in  *bytebufferpool.ByteBuffer
	off int

	hs *handshake // shared with the handshake goroutine; nil outside Waiting/Handshaking

	// Upstream side only: plaintext sent before the handshake ended (the
	// request head, maybe some body), encrypted once it has.
	plain *bytebufferpool.ByteBuffer
}

// Server makes the TLS side of a client's socket s on loop l. proxyHeader
// says a PROXY header comes first.
func Server(h Host, s *reactor.Socket, l *Loop, cfg *tls.Config, proxyHeader bool) *Conn {
	return &Conn{host: h, sock: s, loop: l, cfg: cfg, proxy: proxyHeader}
}

// Client makes the TLS side of socket s, being connected to an upstream
// server; the handshake starts once Interest is told the connect is done.
func Client(h Host, s *reactor.Socket, l *Loop, cfg *tls.Config) *Conn {
	return &Conn{host: h, sock: s, loop: l, cfg: cfg, upstream: true}
}

// ErrNotReady refuses plaintext sent to a client before its handshake
// finished (an error reply to a client that never completed it).
var ErrNotReady = errors.New("tls: handshake not complete")

// ErrEOFInHandshake is what Recv returns when the peer ended its input
// during the handshake: the goroutine finishes with what it has, so that
// the error it reports is the real one; the Host notes the EOF and waits.
var ErrEOFInHandshake = errors.New("tls: end of input during the handshake")

// Phase reports where c is.
func (c *Conn) Phase() Phase { return c.phase }

// State is the connection's crypto/tls state once Ready.
func (c *Conn) State() tls.ConnectionState { return c.conn.ConnectionState() }

// TLS is crypto/tls's connection, nil before the handshake starts.
func (c *Conn) TLS() *tls.Conn { return c.conn }

// Early is the size of a client's partial first flight, held on the loop
// until its ClientHello is complete.
func (c *Conn) Early() int {
	if c.phase != Idle || c.in == nil {
		return 0
	}
	return len(c.in.B) - c.off
}

// Recv reads plaintext into the loop's buffer, at most max bytes if max > 0.
// During the handshake it moves ciphertext to it and returns unix.EAGAIN.
// (0, nil) is the end of input.
func (c *Conn) Recv(max int) (int, error) {
	if c.phase != Ready {
		return c.readHandshake()
	}
	b := c.loop.R.Buf
	if max > 0 && max < len(b) {
		b = b[:max]
	}
	c.drained = false
	n := 0
	var err error
	for n < len(b) && err == nil {
		var m int
		m, err = c.conn.Read(b[n:])
		n += m
	}
	c.more = err == nil // the buffer is full; tls.Conn may hold more
	switch {
	case err == nil:
	case err == errWouldBlock:
		// All input taken: a connection that reads rarely drops its empty
		// buffers now; a busy one, past TrimReads reads between two
		// sweeps, waits for Sweep.
		if c.reads < TrimReads {
			c.reads++
			c.loop.trim(c.conn)
		}
		if n == 0 {
			return 0, unix.EAGAIN
		}
	case n > 0:
		c.more = true // return the bytes now, the error (sticky in tls.Conn) next time
	case err == io.EOF:
		return 0, nil
	default:
		return 0, err
	}
	return n, nil
}

// Send encrypts p into the socket's output, which is then written as far
// as the socket takes it. An upstream still in its handshake keeps p in
// plain until it ends.
func (c *Conn) Send(p []byte) error {
	if c.phase != Ready {
		if !c.upstream || c.phase == Closed {
			return ErrNotReady
		}
		if c.plain == nil {
			c.plain = bytebufferpool.Get()
		}
		c.plain.B = append(c.plain.B, p...)
		return nil
	}
	queued := c.sock.Queued()
	c.collect = true
	_, err := c.conn.Write(p)
	c.collect = false
	if err != nil || queued {
		return err
	}
	_, err = c.sock.Flush()
	return err
}

// Plain is the plaintext an upstream holds for its handshake's end.
func (c *Conn) Plain() int {
	if c.plain == nil {
		return 0
	}
	return len(c.plain.B)
}

// TakePlain takes that plaintext (nil if none), for another server to get
// it or for the Host to Send it once Ready.
func (c *Conn) TakePlain() *bytebufferpool.ByteBuffer {
	b := c.plain
	c.plain = nil
	return b
}

// Interest adjusts the poller interest ev: no reading while waiting for a
// handshake slot or with a full handshake buffer, and a re-run of the read
// when tls.Conn may hold input and reading is allowed. connecting says an
// upstream's connect is still in progress; once it is done, the
// handshake starts (the client speaks first).
func (c *Conn) Interest(ev poller.Event, connecting bool) poller.Event {
	if !connecting {
		if !c.sock.Queued() {
			ev &^= poller.Writable // plaintext waiting for the handshake is not writable yet
		}
		if c.phase == Idle && c.upstream {
			c.hs = newHandshake(c.loop)
			c.loop.enter(c)
		}
	}
	switch c.phase {
	case Waiting:
		ev &^= poller.Readable
	case Handshaking:
		if c.hs.buffered() >= earlyMax {
			ev &^= poller.Readable
		}
	case Ready:
		if c.more && !c.rerun && ev&poller.Readable != 0 {
			c.rerun = true
			c.loop.R.Later(c.reread)
		}
	}
	return ev
}

func (c *Conn) reread() {
	c.rerun = false
	if c.phase == Ready && c.more {
		c.host.Reread()
	}
}

// Empty reports whether the last Recv left nothing behind: it read the
// socket until it had no more bytes, and tls.Conn holds no plaintext. The
// poller then reports the next input as a new edge (reactor.Loop.Drained).
func (c *Conn) Empty() bool { return c.phase == Ready && !c.more }

// Movable reports whether c may move to another loop (MoveTo): its
// handshake is over, and nothing of it waits in c or in the loop (input
// tls.Conn may hold, a read again queued, ciphertext collected,
// plaintext waiting for the handshake).
func (c *Conn) Movable() bool {
	return c.phase == Ready && !c.more && !c.rerun && !c.collect && c.hs == nil && c.in == nil &&
		(c.plain == nil || len(c.plain.B) == 0)
}

// MoveTo makes c a connection of l, which reads into its own buffer from
// now on; c must be Movable, and MoveTo called on l's goroutine.
func (c *Conn) MoveTo(l *Loop) { c.loop = l }

// Quiet forgets plaintext tls.Conn may hold: the Host will not read it.
func (c *Conn) Quiet() { c.more = false }

// CloseNotify queues the close_notify alert (once; later calls queue
// nothing). The Host flushes it.
func (c *Conn) CloseNotify() {
	c.collect = true
	_ = c.conn.CloseWrite()
	c.collect = false
}

// Sweep drops an established connection's empty input buffers and starts
// its count of reads that do so again. The Host's loop calls it for every
// TLS connection once a second.
func (c *Conn) Sweep() {
	if c.phase == Ready && c.conn != nil {
		c.reads = 0
		c.loop.trim(c.conn)
	}
}

// TrimReads is how many reads of a connection trim its buffers between two
// sweeps; later ones leave them for the sweep.
const TrimReads = 4

// Close runs just before the socket is closed: a close_notify if the
// connection is established, idle and notify is true (its write side is
// open), and the end of any handshake in progress.
func (c *Conn) Close(notify bool) {
	switch c.phase {
	case Idle:
		// A ClientHello had begun (not only a PROXY header) and never ended.
		if c.in != nil && !c.upstream && !c.proxy {
			c.host.HandshakeError(errHelloIncomplete)
		}
	case Ready:
		if notify && !c.sock.Queued() {
			c.CloseNotify()
			_, _ = c.sock.Flush()
		}
	case Waiting:
		// Never got a goroutine: this is where the failure is counted.
		if !c.upstream {
			c.host.HandshakeError(errors.New("closed while waiting for a handshake slot"))
		}
		if c.hs.in != nil {
			bytebufferpool.Put(c.hs.in)
		}
		c.hs = nil
	case Handshaking:
		// The goroutine reports and counts the failure once it ends.
		c.hs.feed(nil, errClosed)
	}
	if c.in != nil {
		bytebufferpool.Put(c.in)
		c.in, c.off = nil, 0
	}
	if c.plain != nil {
		bytebufferpool.Put(c.plain)
		c.plain = nil
	}
	c.phase = Closed
}
