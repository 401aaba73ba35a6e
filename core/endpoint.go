package core

import (
	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
	"wsproxy/poller"
)

// endpoint is one socket of a proxied connection: the client side or the
// upstream side. Its output buffer is taken from the pool only while bytes
// wait for the socket and given back as soon as they are written.
//
// Buffer states:
//
//	out == nil            nothing waits; writes go straight to the socket
//	out != nil            out.B[off:] waits for Writable; the peer side is paused
//	pipe != nil           spliced payload waits for Writable ahead of out
//	                      (splice.go); the peer side is paused
type endpoint struct {
	fd     int
	events poller.Event // current interest
	flags  epFlags
	off    int                        // written prefix of out.B
	out    *bytebufferpool.ByteBuffer // pending output, nil when none
	c      *conn                      // owning connection; nil while parked idle
	l      *Loop
	srv    *server  // upstream endpoints: the server they are connected to
	parked int64    // unix nanos when parked in the idle pool
	tls    *tlsConn // non-nil for a TLS endpoint: bytes pass through crypto/tls (tls_conn.go)
	pipe   *pipe    // spliced bytes for this socket (splice.go); nil when none wait
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
)

// pending reports how many bytes wait to be written.
func (e *endpoint) pending() int {
	if e.tls != nil && e.tls.plain != nil {
		return e.tlsPending()
	}
	n := 0
	if e.pipe != nil {
		n = e.pipe.n
	}
	if e.out == nil {
		return n
	}
	return n + len(e.out.B) - e.off
}

// write sends p, or queues what the socket does not take. It never blocks.
// The caller must not reuse p's bytes if it has queued them: they are copied.
func (e *endpoint) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if e.tls != nil {
		return e.tlsWrite(p)
	}
	if e.out == nil && e.pipe == nil && e.flags&epConnecting == 0 {
		for len(p) > 0 {
			n, err := sock.Write(e.fd, p)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				return err
			}
			p = p[n:]
		}
		if len(p) == 0 {
			return nil
		}
	}
	if e.out == nil {
		e.out = bytebufferpool.Get()
		e.off = 0
	}
	e.out.B = append(e.out.B, p...)
	return nil
}

// flush writes queued bytes. It reports whether everything went out.
func (e *endpoint) flush() (bool, error) {
	if e.pipe != nil {
		if done, err := e.flushPipe(); !done {
			return false, err
		}
	}
	if e.out == nil {
		return true, nil
	}
	for e.off < len(e.out.B) {
		n, err := sock.Write(e.fd, e.out.B[e.off:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		e.off += n
	}
	e.releaseOut()
	return true, nil
}

func (e *endpoint) releaseOut() {
	if e.out != nil {
		bytebufferpool.Put(e.out)
		e.out = nil
		e.off = 0
	}
}

// setInterest updates the poller interest if it changed. Descriptors that are
// not registered (being closed) are left alone.
func (e *endpoint) setInterest(l *Loop, ev poller.Event) {
	if e.tls != nil {
		ev = e.tlsInterest(l, ev)
	}
	if e.flags&epRegistered == 0 || e.events == ev {
		return
	}
	e.events = ev
	_ = l.p.Modify(e.fd, ev)
}

// read reads into the loop's shared buffer. n == 0 with a nil error is EOF;
// EAGAIN returns (0, unix.EAGAIN).
func (e *endpoint) read(l *Loop, max int) (int, error) {
	if e.tls != nil {
		return e.tlsRead(l, max)
	}
	b := l.buf
	if max > 0 && max < len(b) {
		b = b[:max]
	}
	for {
		n, err := sock.Read(e.fd, b)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func (e *endpoint) closeFD(l *Loop) {
	if e.fd < 0 {
		return
	}
	if e.tls != nil {
		e.tlsClose()
	}
	if e.flags&epRegistered != 0 {
		l.unregister(e.fd)
		e.flags &^= epRegistered
	}
	closeFD(e.fd)
	e.fd = -1
	e.releaseOut()
	e.dropPipe(l)
}

func closeFD(fd int) {
	if fd >= 0 {
		_ = unix.Close(fd)
	}
}

// setInterestForce sets the interest even if it seems unchanged.
func (e *endpoint) setInterestForce(l *Loop, ev poller.Event) {
	e.events = ev
	_ = l.p.Modify(e.fd, ev)
}
