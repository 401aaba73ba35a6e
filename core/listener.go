package core

import (
	"errors"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
	"wsproxy/internal/timer"
	"wsproxy/poller"
)

// listener accepts clients for one loop.
type listener struct {
	l      *Loop
	fd     int
	addr   netip.AddrPort
	accept func(fd int, peer netip.AddrPort) // starts a connection on an accepted descriptor
	paused timer.Entry                       // re-arms accepting after running out of descriptors
	tls    *tlsListener                      // non-nil: clients speak TLS (tls.go)
	proxy  bool                              // a PROXY protocol header precedes each connection
	// noDelay: accepted connections inherit TCP_NODELAY from the listener.
	noDelay bool
}

func listen(l *Loop, addr string, accept func(*listener, int, netip.AddrPort)) (*listener, error) {
	fd, bound, err := sock.Listen(addr, true)
	if err != nil {
		return nil, err
	}
	ln := &listener{l: l, fd: fd, addr: bound}
	// Relayed bytes go out as they arrive: with Nagle, a second small write
	// waits for the peer's delayed ACK (40ms on Linux). Set on the listener,
	// TCP_NODELAY is inherited by every accepted connection where the
	// kernel does so, and set on each one otherwise.
	ln.noDelay = sock.SetNoDelay(fd) == nil && sock.AcceptInheritsNoDelay
	ln.accept = func(fd int, peer netip.AddrPort) { accept(ln, fd, peer) }
	ln.paused.Owner = ln
	if err := l.register(fd, ln, poller.Readable); err != nil {
		closeFD(fd)
		return nil, err
	}
	return ln, nil
}

// acceptBatch bounds how many clients one readiness event accepts, so a
// flood of connects cannot starve established connections.
const acceptBatch = 64

func (ln *listener) onEvent(ev poller.Event) {
	l := ln.l
	for i := 0; i < acceptBatch; i++ {
		fd, peer, err := sock.Accept(ln.fd)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ECONNABORTED) || errors.Is(err, unix.EINTR) {
				return
			}
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				// Out of descriptors: stop accepting for a moment rather
				// than spin on a listener that stays readable.
				l.log.Warn("accept: out of file descriptors; pausing accepts for 100ms", "err", err)
				_ = l.p.Modify(ln.fd, 0)
				l.wheel.Schedule(&ln.paused, l.now.Add(100*time.Millisecond))
				return
			}
			l.log.Error("accept", "err", err)
			return
		}
		if !ln.noDelay {
			_ = sock.SetNoDelay(fd)
		}
		ln.accept(fd, peer)
	}
}

func (ln *listener) onTimer() { _ = ln.l.p.Modify(ln.fd, poller.Readable) }

// serve starts a proxied connection on an accepted descriptor.
func serveProxy(ln *listener, fd int, peer netip.AddrPort) {
	l := ln.l
	c := &conn{l: l, peer: peer, st: stHead}
	c.cl = endpoint{fd: fd, c: c, l: l, events: poller.Readable}
	if ln.tls != nil {
		ln.tls.attach(c)
	}
	c.tm.Owner = c
	if err := l.register(fd, &c.cl, poller.Readable); err != nil {
		closeFD(fd)
		return
	}
	c.cl.flags |= epRegistered
	l.conns++
	l.srv.stats.accepted.Add(1)
	l.srv.stats.open.Add(1)
	if ln.proxy {
		c.flags |= cfProxyHeader // admitted once the header names the client
	} else {
		c.admitConn()
	}
	c.schedule(l.srv.timeouts.HeaderRead)
}

func (ln *listener) shutdown() {}
