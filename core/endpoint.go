package core

import (
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/internal/reactor"
	"wsproxy/internal/tlsloop"
	"wsproxy/poller"
)

// endpoint is one socket of a proxied connection: the client side or the
// upstream side. Its output buffer (reactor.Socket) is taken from the pool
// only while bytes wait for the socket and given back as soon as they are
// written.
//
// Buffer states:
//
//	Socket empty          nothing waits; writes go straight to the socket
//	Socket pending        bytes wait for Writable; the peer side is paused
//	pipe != nil           spliced payload waits for Writable ahead of the
//	                      Socket's (splice.go); the peer side is paused
//
// An endpoint is 64 bytes (TestPerConnectionSizes): the upstream's is
// allocated alone, in Go's 64-byte size class, and the client's is part of
// the conn. The small fields share one word.
type endpoint struct {
	reactor.Socket
	events interest // current interest
	flags  epFlags
	kib    uint16 // the client endpoint of a lingering conn: KiB of input discarded (linger.go)
	parked micros // when parked in the idle pool; while connecting, when the connect started
	c      *conn  // owning connection; nil while parked idle
	l      *Loop
	srv    *server       // upstream endpoints: the server they are connected to
	tls    *tlsloop.Conn // non-nil for a TLS endpoint: bytes pass through crypto/tls (tls_conn.go)
	pipe   *reactor.Pipe // spliced bytes for this socket (splice.go); nil when none wait
}

// interest is an endpoint's interest set, a poller.Event of Readable and
// Writable kept in a byte.
type interest uint8

func interestOf(ev poller.Event) interest { return interest(ev) }

func (i interest) event() poller.Event { return poller.Event(i) }

// micros is a clock in microseconds that wraps every 71 minutes, so that an
// endpoint keeps a time in 32 bits: every use of it is the age of a parked
// connection (at most idleMaxAge) or how long a connect took (at most
// timeouts.connect, which config bounds to 1h). 0 means not set.
type micros uint32

// microsAt returns the micros of unix nanos ns, never 0.
func microsAt(ns int64) micros {
	if m := micros(ns / 1e3); m != 0 {
		return m
	}
	return 1
}

// since returns how long ago m was at now (by modular difference).
func (m micros) since(now micros) time.Duration {
	return time.Duration(now-m) * time.Microsecond
}

type epFlags uint8

const (
	epConnecting epFlags = 1 << iota // non-blocking connect in progress
	epEOF                            // read side saw EOF
	epShutWrite                      // SHUT_WR requested (done once out drains)
	epWriteShut                      // SHUT_WR done
	epRegistered                     // known to the poller
	epReused                         // taken from the idle pool for this request
	epIsUpstream
	epBatched // bytes for it wait in the loop's send batch (reactor.Sends)
)

// pending reports how many bytes wait to be written.
func (e *endpoint) pending() int {
	n := e.Pending()
	if e.pipe != nil {
		n += e.pipe.N
	}
	if e.tls != nil {
		n += e.tls.Plain() // an upstream's plaintext waiting for its handshake: back-pressure holds
	}
	return n
}

// write sends p, or queues what the socket does not take. It never blocks.
// The caller must not reuse p's bytes if it has queued them: they are copied.
func (e *endpoint) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if e.tls != nil {
		return e.tls.Send(p)
	}
	if e.batch(p) {
		return nil
	}
	if e.pipe != nil || e.flags&epConnecting != 0 {
		e.Queue(p) // behind spliced bytes, or before the connect completes
		return nil
	}
	return e.Write(p)
}

// batch gives p to the loop's send batch (reactor.Sends), which sends it
// with the other small writes of this cycle in one system call; it
// reports false when p is to be written now. Only a tunnel's plain
// sockets batch: their owner settles the batch (unbatch, settle) before
// any decision that needs to know what is still unsent.
func (e *endpoint) batch(p []byte) bool {
	s := &e.l.Sends
	if !s.Batching() {
		return false
	}
	if e.flags&epBatched != 0 && s.Last() != &e.Socket {
		s.Flush() // its entry is not the last: what follows must not overtake it
	}
	if e.pipe == nil && e.flags&epConnecting == 0 && e.c != nil && e.c.st == stTunnel && s.Add(&e.Socket, p, e) {
		e.flags |= epBatched
		return true
	}
	e.unbatch() // declined: it is written directly, behind what was batched
	return false
}

// Sent is how the loop's send batch tells an endpoint its entry went:
// rest is what the socket did not take (valid during the call only),
// err a failed send.
func (e *endpoint) Sent(_ *reactor.Socket, rest []byte, err error) {
	e.flags &^= epBatched
	c := e.c
	if e.FD() < 0 || c == nil || c.st == stClosed {
		return // closed while the batch was sent
	}
	switch {
	case err != nil:
		e.l.obs.AddWriteError()
		c.close()
	case len(rest) > 0:
		e.Queue(rest)
		c.updateInterest()
	}
}

// unbatch sends the loop's batch if bytes for e wait in it, so that e's
// socket may be written, spliced into, shut or closed directly, and its
// pending() is the whole of its unsent bytes.
func (e *endpoint) unbatch() {
	if e.flags&epBatched != 0 {
		e.l.Sends.Flush()
	}
}

// settle is unbatch for both of c's endpoints, before a decision taken on
// their pending(). It reports false when a failed send closed c.
func (c *conn) settle() bool {
	if (c.cl.flags|c.upFlags())&epBatched != 0 {
		c.cl.l.Sends.Flush()
	}
	return c.st != stClosed
}

func (c *conn) upFlags() epFlags {
	if c.up == nil {
		return 0
	}
	return c.up.flags
}

// flush writes queued bytes. It reports whether everything went out.
func (e *endpoint) flush() (bool, error) {
	e.unbatch()
	if e.pipe != nil {
		if done, err := e.flushPipe(); !done {
			return false, err
		}
	}
	return e.Flush()
}

// setInterest updates the poller interest if it changed. Descriptors that are
// not registered (being closed) are left alone.
func (e *endpoint) setInterest(l *Loop, ev poller.Event) {
	if e.tls != nil {
		ev = e.tls.Interest(ev, e.flags&epConnecting != 0)
	}
	if e.flags&epRegistered == 0 || e.events.event() == ev {
		return
	}
	e.setInterestForce(l, ev)
}

// setInterestForce sets the interest even if it seems unchanged. An
// epoll_ctl that fails on a registered descriptor means the loop lost
// track of it: the connection is closed rather than left deaf.
func (e *endpoint) setInterestForce(l *Loop, ev poller.Event) {
	e.events = interestOf(ev)
	if err := l.Modify(e.FD(), ev); err != nil {
		l.Log.Error("epoll_ctl failed; closing the connection", "fd", e.FD(), "err", err)
		l.obs.AddPollError()
		if e.c != nil {
			e.c.close()
		} else {
			e.closeFD(l)
		}
	}
}

// read reads into the loop's shared buffer. n == 0 with a nil error is EOF;
// EAGAIN returns (0, unix.EAGAIN).
func (e *endpoint) read(l *Loop, max int) (int, error) {
	if e.tls != nil {
		n, err := e.tls.Recv(max)
		if err == tlsloop.ErrEOFInHandshake {
			e.flags |= epEOF
			return 0, unix.EAGAIN
		}
		return n, err
	}
	b := l.Buf
	if max > 0 && max < len(b) {
		b = b[:max]
	}
	return e.Read(b)
}

// emptied reports whether a read of up to max bytes (0 or less: the
// loop's whole buffer) that returned n, err left e's socket with nothing
// the kernel would report again unasked (reactor.Loop.Drained): EAGAIN, or
// a read short of what it asked, which a TCP read is only when the receive
// queue is empty; for TLS, Recv read the socket dry and tls.Conn kept no
// plaintext (tlsloop.Conn.Empty). An end of stream or an error is not.
func (e *endpoint) emptied(l *Loop, n, max int, err error) bool {
	if err != nil && err != unix.EAGAIN || err == nil && n == 0 {
		return false
	}
	if e.tls != nil {
		return e.tls.Empty()
	}
	if max <= 0 || max > len(l.Buf) {
		max = len(l.Buf)
	}
	return err == unix.EAGAIN || n < max
}

// drained tells the loop that the event ev left its socket with nothing
// ready when the read it made emptied the socket (emptied), so that the
// loop may wait again without a look (reactor.Loop.Drained). Not after a
// Hangup or an Error: a short read may stop at a FIN or an error the
// kernel reported with this event and will not report as a new edge.
func (c *conn) drained(ev poller.Event, emptied bool) {
	if emptied && ev&(poller.Hangup|poller.Error) == 0 {
		c.cl.l.Drained()
	}
}

func (e *endpoint) closeFD(l *Loop) {
	if e.FD() < 0 {
		return
	}
	e.unbatch()
	if e.tls != nil {
		e.tls.Close(e.flags&epWriteShut == 0)
	}
	if e.flags&epRegistered != 0 {
		l.Unregister(e.FD())
		e.flags &^= epRegistered
	}
	reactor.CloseFD(e.FD())
	e.SetFD(-1)
	e.Release()
	e.dropPipe(l)
}
