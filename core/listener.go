package core

import (
	"net/netip"

	"wsproxy/internal/reactor"
	"wsproxy/internal/sock"
	"wsproxy/internal/tlsconf"
	"wsproxy/poller"
)

// listener accepts clients for one loop: a reactor.Listener and what the
// listen entry says of its clients.
type listener struct {
	*reactor.Listener
	l     *Loop
	tls   *tlsconf.Listener // non-nil: clients speak TLS (tls.go)
	proxy bool              // a PROXY protocol header precedes each connection
}

// listen binds addr on l, or, with inherited ≥ 0, listens on that socket,
// already bound and listening (Options.Listeners), and applies bufs to it
// (sock.SetBuffers), whence the sockets it accepts take them; a socket shared
// with other processes gets them for all, which apply the same configuration.
func listen(l *Loop, addr string, inherited int, bufs sock.Buffers) (*listener, error) {
	ln := &listener{l: l}
	var rl *reactor.Listener
	var err error
	if inherited >= 0 {
		rl, err = reactor.ListenFD(&l.Loop, inherited, ln.serve)
	} else {
		rl, err = reactor.Listen(&l.Loop, addr, ln.serve)
	}
	if err != nil {
		return nil, err
	}
	if err := sock.SetBuffers(rl.FD, bufs); err != nil {
		rl.StopAccepting(0)
		return nil, err
	}
	ln.Listener = rl
	return ln, nil
}

// serve starts a proxied connection on an accepted descriptor.
func (ln *listener) serve(fd int, peer netip.AddrPort) {
	l := ln.l
	c := &conn{st: stHead}
	c.setPeer(peer)
	c.cl = endpoint{c: c, l: l, events: interestOf(poller.Readable)}
	c.cl.SetFD(fd)
	if ln.tls != nil {
		c.attachTLS(ln.tls, ln.proxy)
	}
	c.tm.Owner = c
	if err := l.Register(fd, &c.cl, poller.Readable); err != nil {
		reactor.CloseFD(fd)
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
	c.schedule(l.set.timeouts.HeaderRead)
	if ln.Deferred {
		// The client's first bytes are most likely here already: read
		// them now rather than after another wait for the loop.
		c.cl.OnEvent(poller.Readable)
	}
}
