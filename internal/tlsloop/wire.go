package tlsloop

import (
	"io"
	"net"
	"time"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// wire is the net.Conn tls.Conn runs over: a Conn seen from crypto/tls.
// The loop owns the socket; tls.Conn.Close is never called.
type wire Conn

// errWouldBlock is what wire.Read returns after the handshake when it has
// no byte to give; tls.Conn.Read passes it on unwrapped.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tlsloop: no ciphertext buffered (would block)" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// errClosed ends a handshake whose connection the loop closed.
var errClosed = net.ErrClosed

// Read implements net.Conn for tls.Conn.
func (w *wire) Read(p []byte) (int, error) {
	c := (*Conn)(w)
	if hs := c.hs; hs != nil {
		return hs.read(c, p)
	}
	if c.in != nil {
		n := copy(p, c.in.B[c.off:])
		if c.off += n; c.off == len(c.in.B) {
			bytebufferpool.Put(c.in)
			c.in, c.off = nil, 0
		}
		return n, nil
	}
	if c.drained {
		return 0, errWouldBlock
	}
	n, err := sock.RecvRetry(c.sock.FD(), p)
	switch {
	case err == unix.EAGAIN:
		c.drained = true
		return 0, errWouldBlock
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	c.drained = n < len(p) // a short read emptied the socket; the poller reports more
	return n, nil
}

// Write implements net.Conn for tls.Conn.
func (w *wire) Write(p []byte) (int, error) {
	c := (*Conn)(w)
	if hs := c.hs; hs != nil {
		return hs.write(c, p)
	}
	c.sock.Queue(p)
	if !c.collect {
		if _, err := c.sock.Flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (w *wire) Close() error                     { return nil }
func (w *wire) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (w *wire) RemoteAddr() net.Addr             { return w.host.RemoteAddr() }
func (w *wire) SetDeadline(time.Time) error      { return nil }
func (w *wire) SetReadDeadline(time.Time) error  { return nil }
func (w *wire) SetWriteDeadline(time.Time) error { return nil }
