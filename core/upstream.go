package core

import (
	"errors"
	"net/netip"
	"time"

	"github.com/valyala/bytebufferpool"

	"wsproxy/internal/answer"
	"wsproxy/internal/reactor"
	"wsproxy/internal/sock"
	"wsproxy/poller"
)

// startUpstream picks a server for the routed request, takes a parked
// connection to it or dials a new one, and queues head for it.
func (c *conn) startUpstream(head []byte, bodiless bool) error {
	l := c.cl.l
	c.x.client = l.client
	srv, err := l.srv.pick(c)
	if err != nil {
		return err
	}
	c.noteSticky(srv)
	up := l.idle.take(srv)
	if up != nil {
		up.c = c
		up.flags |= epReused
		if bodiless {
			// A parked connection may have been closed by the server an
			// instant ago; keep the head to try once more on a new one.
			c.x.retry = bytebufferpool.Get()
			c.x.retry.B = append(c.x.retry.B, head...)
		}
		c.up = up
		c.scheduleRead()
	} else if up, err = c.dialAny(srv); err != nil {
		return err
	}
	c.up = up
	if err := up.write(head); err != nil {
		c.dropUpstream()
		return &answer.UpstreamError{Err: err}
	}
	return nil
}

// dial starts a non-blocking connect to srv.
func (c *conn) dial(srv *server) (*endpoint, error) {
	l := c.cl.l
	fd, err := sock.ConnectWith(srv.addr, netip.AddrPort{}, srv.buffers())
	if err != nil {
		l.srv.connected(srv, false)
		return nil, &answer.UpstreamError{Err: err}
	}
	up := &endpoint{c: c, l: l, srv: srv, flags: epConnecting | epIsUpstream, events: interestOf(poller.Writable)}
	up.SetFD(fd)
	c.noteDial(up)
	l.srv.tls.dialTLS(up)
	// A connect to a loopback address (a backend on the same host) is
	// established by the time connect(2) returns: the request can go out
	// now rather than after a writable event and an interest change.
	early := up.tls == nil && sock.Established(fd)
	if early {
		up.flags &^= epConnecting
		up.events = interestOf(poller.Readable)
	}
	if err := l.Register(fd, up, up.events.event()); err != nil {
		reactor.CloseFD(fd)
		return nil, &answer.UpstreamError{Err: err}
	}
	up.flags |= epRegistered
	if early {
		c.noteConnected(up)
		l.srv.connected(srv, true)
		c.scheduleRead()
	} else {
		c.schedule(c.settings().timeouts.Connect)
	}
	return up, nil
}

// dialAny dials srv and, when that connect fails at once (out of
// descriptors or ports, an address the kernel refuses outright; a refused
// connect arrives later, as an event, and goes to redial), the other
// servers of the
// upstream in the order redial would use, each request trying at most as
// many servers as the upstream has. srv has been acquired by pick; on
// error every server acquired here has been released.
func (c *conn) dialAny(srv *server) (*endpoint, error) {
	l := c.cl.l
	for {
		up, err := c.dial(srv)
		if err == nil {
			return up, nil
		}
		l.srv.release(srv)
		if c.x == nil || int(c.x.tries)+1 >= len(c.rt.up.members().list) {
			return nil, err
		}
		c.x.tries++
		next, perr := c.repick(srv)
		if perr != nil {
			return nil, err
		}
		c.noteSticky(next)
		srv = next
	}
}

// upstreamFailed handles an upstream socket error, end of stream before a
// response, or connect failure.
func (c *conn) upstreamFailed(err error) {
	if c.st == stClosed {
		return
	}
	up := c.up
	if up != nil && up.flags&epConnecting != 0 {
		c.cl.l.srv.connected(up.srv, false)
		if c.redial() {
			return
		}
	}
	if up != nil && up.flags&epReused != 0 && c.x != nil && c.x.retry != nil &&
		c.flags&(cfRespStarted|cfRetried) == 0 {
		c.flags |= cfRetried
		srv := up.srv
		c.dropUpstream()
		if !srv.b.Acquire() {
			c.fail(answer.ErrNoUpstream) // filled to max_conns meanwhile
			return
		}
		nu, derr := c.dial(srv)
		if derr != nil {
			c.cl.l.srv.release(srv)
			c.fail(derr)
			return
		}
		c.up = nu
		if err := nu.write(c.x.retry.B); err != nil {
			c.fail(&answer.UpstreamError{Err: err})
			return
		}
		c.releaseRetry()
		return
	}
	if c.st == stTunnel || c.flags&cfRespStarted != 0 {
		c.close()
		return
	}
	var ue *answer.UpstreamError
	if !errors.As(err, &ue) && err != answer.ErrUpstreamClosed && err != answer.ErrUpstreamTimeout {
		err = &answer.UpstreamError{Err: err}
	}
	c.fail(err)
}

// dropUpstream closes the upstream socket and forgets it.
func (c *conn) dropUpstream() {
	up := c.up
	c.up = nil
	up.closeFD(c.cl.l)
	if c.cl.l.srv != nil {
		c.cl.l.srv.release(up.srv)
	}
}

func (c *conn) releaseRetry() {
	if c.x != nil && c.x.retry != nil {
		bytebufferpool.Put(c.x.retry)
		c.x.retry = nil
	}
}

func (c *conn) scheduleRead() {
	c.active = c.cl.l.Now.UnixNano()
	d := c.settings().timeouts.Read
	if c.flags&cfUpgrade != 0 {
		d = min(d, c.settings().timeouts.Handshake)
	}
	c.schedule(d)
}

// onTimer fires the connection's single timer; what it means depends on the
// state.
func (c *conn) OnTimer() {
	l := c.cl.l
	now := l.Now.UnixNano()
	switch {
	case c.st == stClosed:
	case c.up != nil && c.up.flags&epConnecting != 0:
		c.upstreamFailed(answer.ErrUpstreamTimeout)
	case c.st == stHead:
		if c.flags&cfKeepAliveWait != 0 && (c.in == nil || len(c.in.B) == 0) {
			c.close()
			return
		}
		c.fail(answer.ErrHeaderTimeout)
	case c.st == stSend || c.st == stWait || c.st == stResp:
		limit := c.settings().timeouts.Read
		if c.st == stWait && c.flags&cfUpgrade != 0 {
			limit = c.settings().timeouts.Handshake
		}
		if d := time.Duration(now - c.active); d < limit {
			c.schedule(limit - d)
			return
		}
		c.upstreamFailed(answer.ErrUpstreamTimeout)
	case c.st == stTunnel:
		c.onTunnelTimer()
	default:
		c.close()
	}
	if c.st != stClosed {
		c.updateInterest()
	}
}

// idlePool keeps upstream connections whose last response ended cleanly,
// per server, most recently used last. Parked connections are polled for
// Readable so a server closing one is noticed at once.
type idlePool struct {
	m map[*server][]*endpoint
}

const (
	idlePerServer = 64               // parked connections per server and loop
	idleMaxAge    = 30 * time.Second // a parked connection older than this is closed
)

func (p *idlePool) init() { p.m = make(map[*server][]*endpoint) }

func (p *idlePool) park(l *Loop, up *endpoint) {
	list := p.m[up.srv]
	if len(list) >= idlePerServer || up.pending() > 0 {
		up.closeFD(l)
		return
	}
	up.c = nil
	up.flags &^= epReused
	up.parked = microsAt(l.Now.UnixNano())
	up.setInterest(l, poller.Readable)
	p.m[up.srv] = append(list, up)
}

func (p *idlePool) take(srv *server) *endpoint {
	list := p.m[srv]
	if len(list) == 0 {
		return nil
	}
	up := list[len(list)-1]
	list[len(list)-1] = nil
	p.m[srv] = list[:len(list)-1]
	return up
}

func (p *idlePool) remove(up *endpoint) {
	list := p.m[up.srv]
	for i, e := range list {
		if e == up {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			p.m[up.srv] = list[:len(list)-1]
			return
		}
	}
}

func (p *idlePool) evict(l *Loop, now time.Time) {
	at := microsAt(now.UnixNano())
	for srv, list := range p.m {
		keep := list[:0]
		for _, up := range list {
			if up.parked.since(at) > idleMaxAge {
				up.closeFD(l)
				continue
			}
			keep = append(keep, up)
		}
		for i := len(keep); i < len(list); i++ {
			list[i] = nil
		}
		p.m[srv] = keep
	}
}

// closeAll closes every parked connection (loop shutdown).
func (p *idlePool) closeAll(l *Loop) {
	for srv, list := range p.m {
		for _, up := range list {
			up.closeFD(l)
		}
		delete(p.m, srv)
	}
}
