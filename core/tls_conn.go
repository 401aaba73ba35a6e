package core

import (
	"net"

	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/tlsconf"
	"wsproxy/internal/tlsloop"
	"wsproxy/poller"
)

// A TLS connection on the event loop: a client's on a TLS listener, or one
// to an upstream server with tls: true (tls_upstream.go). internal/tlsloop
// runs crypto/tls over the endpoint's socket, with handshakes in
// goroutines bounded by the loop's slots (Loop.tls); the endpoint is its
// Host, and decides what the end of a handshake means for the proxied
// connection.

// attachTLS makes c's client endpoint a TLS endpoint of tl; proxy says a
// PROXY header comes before the ClientHello.
func (c *conn) attachTLS(tl *tlsconf.Listener, proxy bool) {
	c.cl.tls = tlsloop.Server(&c.cl, &c.cl.Socket, &c.cl.l.tls, tl.Config, proxy)
}

// RemoteAddr is the peer's address, for crypto/tls.
func (e *endpoint) RemoteAddr() net.Addr {
	if e.flags&epIsUpstream != 0 {
		return net.TCPAddrFromAddrPort(e.srv.addr)
	}
	return net.TCPAddrFromAddrPort(e.c.peer())
}

// ProxyHeader takes the PROXY header in front of a TLS client's ClientHello.
func (e *endpoint) ProxyHeader(b []byte) (int, bool) { return e.c.onProxyHeader(b) }

// Flushed follows handshake records written to the socket.
func (e *endpoint) Flushed(err error) {
	if err != nil {
		e.c.close()
		return
	}
	e.c.updateInterest()
}

// Resumed: a connection that waited for a handshake slot may read again.
func (e *endpoint) Resumed() { e.c.updateInterest() }

// Reread reads what tls.Conn may hold as if the poller had reported it.
func (e *endpoint) Reread() {
	if e.c != nil {
		e.OnEvent(poller.Readable)
		return
	}
	// A parked upstream: whatever the server sent since makes it unusable,
	// but "more" may also mean a read that just filled the buffer, so look
	// before closing.
	if n, err := e.read(e.l, 0); n > 0 || err != unix.EAGAIN {
		e.l.idle.remove(e)
		e.closeFD(e.l)
	}
}

// HandshakeError counts a client's handshake that did not complete and
// logs why.
func (e *endpoint) HandshakeError(err error) {
	srv := e.l.srv
	srv.tls.handshakeErrors.Add(1)
	tlsLog(srv.log, e.c.peer(), err)
}

// Handshaked takes the end of a handshake: a client that failed is closed
// (tlsFail), an upstream that failed is a failed connect
// (tlsUpstreamFailed); one that succeeded reads what came behind its
// Finished, after an upstream has sent the request held meanwhile.
func (e *endpoint) Handshaked(err error) {
	switch {
	case err != nil && e.flags&epIsUpstream != 0:
		e.tlsUpstreamFailed(err)
		return
	case err != nil:
		e.tlsFail(err)
		return
	}
	// A peer may send its data and its FIN right behind its Finished; the
	// EOF is found again after the data is read.
	e.flags &^= epEOF
	if e.tls.Plain() > 0 && !e.sendPlain() {
		return
	}
	e.OnEvent(poller.Readable)
}

// tlsFail closes a client whose handshake failed. One that spoke plain
// HTTP is told so in plain HTTP first, as nginx and net/http do.
func (e *endpoint) tlsFail(err error) {
	c := e.c
	if !tlsloop.PlainHTTP(err) {
		c.close()
		return
	}
	c.st = stClosing
	c.flags |= cfRespStarted
	c.cl.flags |= epEOF
	out := codec.AppendStatusResponse(c.cl.l.hbuf[:0], 400, "plain HTTP request sent to a TLS port; use https:// or wss://")
	c.cl.l.hbuf = out[:0]
	c.cl.Queue(out)
	if done, ferr := c.cl.flush(); done || ferr != nil {
		c.close()
		return
	}
	c.schedule(lingerTimeout)
	c.updateInterest()
}
