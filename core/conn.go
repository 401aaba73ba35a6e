package core

import (
	"net/netip"
	"time"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/answer"
	"wsproxy/internal/sock"
	"wsproxy/internal/timer"
	"wsproxy/poller"
)

// state is where a proxied connection is in its lifecycle (see the package doc).
type state uint8

const (
	stHead    state = iota // reading a request head from the client
	stSend                 // forwarding the request body upstream
	stWait                 // request sent; waiting for the response head
	stResp                 // forwarding the response body to the client
	stTunnel               // after 101: bytes flow both ways
	stClosing              // flushing a final answer, then lingering (linger.go), then closed
	stClosed
)

var stateNames = [...]string{"head", "send", "wait", "resp", "tunnel", "closing", "closed"}

func (s state) String() string { return stateNames[s] }

type connFlags uint32

const (
	cfClientClose   connFlags = 1 << iota // close the client after this response
	cfHeadMethod                          // the request is HEAD: the response has no body
	cfUpgrade                             // the request asks for a WebSocket upgrade
	cfRespStarted                         // response bytes reached the client
	cfReqDone                             // the request body was forwarded completely
	cfHTTP10                              // the client speaks HTTP/1.0
	cfKeepAliveWait                       // stHead with no byte of the next request yet
	cfRetried                             // the request was already retried once
	cfSetCookie                           // insert the balance cookie into the response
	cfLearnSid                            // learn an Engine.IO sid from the response body
	cfGoingAway                           // the proxy is closing this tunnel (drain)
	cfUpstreamClose                       // the response said Connection: close: do not reuse the upstream
	cfOverloaded                          // accepted past limits.max_conns: answer 503
	cfTooManyConns                        // accepted past limits.max_conns_per_ip: answer 429
	cfProxyHeader                         // a PROXY protocol header is expected first
	cfAdmitted                            // counted by the limiter (release on close)
	cfExtDeflate                          // the 101 negotiated permessage-deflate: RSV1 on a message's first frame
	cfExtUnknown                          // the 101 negotiated an extension the proxy does not know: RSV bits unchecked
	cfLingering                           // stClosing: answer written, write side shut, input discarded (linger.go)
)

// extensions returns what the tunnel's handshake negotiated, for the frame
// checks.
func (f connFlags) extensions() codec.Extensions {
	var e codec.Extensions
	if f&cfExtDeflate != 0 {
		e |= codec.ExtDeflate
	}
	if f&cfExtUnknown != 0 {
		e |= codec.ExtUnknown
	}
	return e
}

// conn is one client connection and, while a request or tunnel is active, the
// upstream connection serving it. It is owned by one Loop.
//
// A conn is 320 bytes, a size class of Go's allocator, exactly
// (TestPerConnectionSizes): its loop is the client endpoint's (cl.l), and
// the client's address is kept as an Addr and a port so that the port
// shares a word with st and flags.
type conn struct {
	cl       endpoint
	up       *endpoint
	st       state
	peerPort uint16
	flags    connFlags
	peerAddr netip.Addr
	rt       *route

	in *bytebufferpool.ByteBuffer // client bytes not processed yet (partial head, pipelined request); in a tunnel, held Close frames (closehold.go)
	x  *exchange                  // the HTTP request/response in progress; nil between requests and in a tunnel

	tm     timer.Entry
	active int64 // unix nanos of the last byte moved; refreshes read and idle timers; while lingering, the deadline

	tunnel         // after the 101 (tunnel.go)
	obs    connObs // metrics and log lines (metrics.go)
}

// peer is the client's address: the socket's peer, or what a PROXY
// protocol header named.
func (c *conn) peer() netip.AddrPort { return netip.AddrPortFrom(c.peerAddr, c.peerPort) }

func (c *conn) setPeer(p netip.AddrPort) { c.peerAddr, c.peerPort = p.Addr(), p.Port() }

// onEvent is the client endpoint's event handler.
func (e *endpoint) OnEvent(ev poller.Event) {
	c := e.c
	if c == nil { // a parked upstream connection: any event means it is no longer usable
		e.l.idle.remove(e)
		e.closeFD(e.l)
		return
	}
	if e.tls != nil && e.l.Sends.Pending() {
		// Crypto work comes next: the plain sends batched so far go out
		// first rather than wait for it (an upstream's message behind a
		// client's TLS record).
		e.l.Sends.Flush()
	}
	switch {
	case c.st == stTunnel:
		c.onTunnel(e, ev)
	case e.flags&epIsUpstream != 0:
		c.onUpstream(e, ev)
	default:
		c.onClient(ev)
	}
	if c.st != stClosed {
		c.updateInterest()
	}
}

func (c *conn) onClient(ev poller.Event) {
	if ev&poller.Writable != 0 || (ev&poller.Error != 0 && c.cl.pending() > 0) {
		if !c.flushClient() {
			return
		}
	}
	if ev&(poller.Readable|poller.Hangup|poller.Error) != 0 && c.clientReadable() {
		c.drained(ev, c.readClient())
	}
}

// flushClient writes queued output to the client and reacts to it draining.
// It reports false when the connection was closed.
func (c *conn) flushClient() bool {
	done, err := c.cl.flush()
	if err != nil {
		c.close()
		return false
	}
	if !done {
		return true
	}
	switch {
	case c.st == stClosing:
		c.linger()
		return c.st != stClosed
	case c.cl.flags&epShutWrite != 0 && c.cl.flags&epWriteShut == 0:
		c.cl.flags |= epWriteShut
		_ = sock.ShutdownWrite(c.cl.FD())
		if c.cl.flags&epEOF != 0 {
			c.close()
			return false
		}
	}
	// The upstream was paused while the client could not keep up.
	return true
}

// clientReadable reports whether reading the client now is allowed.
func (c *conn) clientReadable() bool {
	if c.cl.flags&epEOF != 0 {
		return false
	}
	max := c.cl.l.set.limits.MaxPendingBytes
	switch c.st {
	case stHead:
		return true
	case stSend:
		return c.up == nil || c.up.pending() < max && c.up.pipe == nil
	case stWait, stResp:
		// Read ahead (a pipelined request, or EOF of an aborting client)
		// but only up to the pending limit.
		return c.in == nil || len(c.in.B) < max
	case stClosing:
		return c.flags&cfLingering != 0
	}
	return false
}

// upstreamReadable reports whether reading the upstream now is allowed.
func (c *conn) upstreamReadable() bool {
	if c.up == nil || c.up.flags&(epEOF|epConnecting) != 0 {
		return false
	}
	switch c.st {
	case stSend, stWait, stResp:
		return c.cl.pending() < c.cl.l.set.limits.MaxPendingBytes && c.cl.pipe == nil
	}
	return false
}

// updateInterest recomputes both endpoints' poller interest from the state.
func (c *conn) updateInterest() {
	if c.st == stTunnel {
		c.tunnelInterest()
		return
	}
	var ev poller.Event
	if c.clientReadable() {
		ev |= poller.Readable
	}
	if c.cl.pending() > 0 {
		ev |= poller.Writable
	}
	c.cl.setInterest(c.cl.l, ev)
	if up := c.up; up != nil {
		ev = 0
		if c.upstreamReadable() {
			ev |= poller.Readable
		}
		if up.pending() > 0 || up.flags&epConnecting != 0 {
			ev |= poller.Writable
		}
		up.setInterest(c.cl.l, ev)
	}
}

// readClient reads once from the client and processes what it got. It
// reports whether the read emptied the socket (endpoint.emptied).
func (c *conn) readClient() bool {
	if c.st == stClosing {
		c.lingerRead()
		return false
	}
	l := c.cl.l
	max := len(l.Buf)
	switch c.st {
	case stWait, stResp:
		max = l.set.limits.MaxPendingBytes
		if c.in != nil {
			max -= len(c.in.B)
		}
	}
	n, err := c.cl.read(l, max)
	emptied := c.cl.emptied(l, n, max, err)
	switch {
	case err == unix.EAGAIN:
		return emptied
	case err != nil:
		c.close()
		return false
	case n == 0:
		c.clientEOF()
		return false
	}
	c.active = l.Now.UnixNano()
	if c.st == stWait || c.st == stResp {
		c.keepClient(l.Buf[:n], true)
		return emptied
	}
	data := l.Buf[:n]
	if c.in != nil && len(c.in.B) > 0 {
		c.in.B = append(c.in.B, data...)
		data = c.in.B
	}
	used := c.processClient(data)
	if c.st == stClosed || c.flags&cfLingering != 0 {
		return emptied // data may be a buffer given back already
	}
	c.keepClient(data[used:], false)
	return emptied
}

// keepClient stores unprocessed client bytes in c.in. When appendOnly is
// false, rest is a suffix of either l.Buf or c.in.B.
func (c *conn) keepClient(rest []byte, appendOnly bool) {
	if appendOnly {
		if c.in == nil {
			c.in = bytebufferpool.Get()
		}
		c.in.B = append(c.in.B, rest...)
		return
	}
	if len(rest) == 0 {
		if c.in != nil {
			bytebufferpool.Put(c.in)
			c.in = nil
		}
		return
	}
	if c.in == nil {
		c.in = bytebufferpool.Get()
		c.in.B = append(c.in.B[:0], rest...)
		return
	}
	c.in.B = c.in.B[:copy(c.in.B, rest)]
}

// processBuffered continues with client bytes held in c.in, after a pause.
func (c *conn) processBuffered() {
	if c.in == nil || len(c.in.B) == 0 || c.st == stClosed {
		return
	}
	if c.st == stTunnel {
		return // c.in holds Close frames there (closehold.go); relayEarly relayed the client's bytes
	}
	data := c.in.B
	used := c.processClient(data)
	if c.st == stClosed || c.flags&cfLingering != 0 {
		return
	}
	c.keepClient(data[used:], false)
}

// processClient consumes client bytes as far as the state allows and returns
// how many it used; the rest waits in c.in.
func (c *conn) processClient(data []byte) int {
	off := 0
	for off < len(data) {
		switch c.st {
		case stHead:
			if c.flags&cfProxyHeader != 0 {
				n, ok := c.onProxyHeader(data[off:])
				if !ok {
					if c.st == stClosed {
						return len(data)
					}
					return off
				}
				off += n
				continue
			}
			n, ok := c.onHead(data[off:])
			if !ok {
				if c.st == stClosed || c.st == stClosing {
					return len(data)
				}
				return off
			}
			off += n
		case stSend:
			if c.up.pending() >= c.cl.l.set.limits.MaxPendingBytes {
				return off
			}
			n, err := c.forwardRequestBody(data[off:])
			if err != nil {
				c.fail(answer.ErrBadChunked)
				return len(data)
			}
			off += n
		case stTunnel:
			if c.relay(c.up, data[off:], toUpstream) != nil {
				c.close()
				return len(data)
			}
			return len(data)
		default:
			return off
		}
		if c.st == stClosed {
			return len(data)
		}
	}
	return off
}

// clientEOF handles the client's end of stream.
func (c *conn) clientEOF() {
	c.cl.flags |= epEOF
	switch c.st {
	case stHead:
		if c.in == nil || len(c.in.B) == 0 {
			c.close() // a keep-alive client went away between requests
			return
		}
		c.fail(answer.ErrBadRequest) // the head was cut short
	default:
		c.close() // the client aborted a request in flight
	}
}

// shutWrite half-closes e once its queued output is written.
func (c *conn) shutWrite(e *endpoint) {
	e.flags |= epShutWrite
	if e.unbatch(); c.st == stClosed {
		return
	}
	if e.pending() == 0 && e.flags&epWriteShut == 0 {
		e.flags |= epWriteShut
		_ = sock.ShutdownWrite(e.FD())
	}
}

// close tears the connection down: both sockets, buffers, timer.
func (c *conn) close() {
	if c.st == stClosed {
		return
	}
	c.noteClosing()
	c.st = stClosed
	l := c.cl.l
	l.Wheel.Cancel(&c.tm)
	if c.up != nil {
		c.dropUpstream()
	}
	c.cl.closeFD(l)
	if c.in != nil {
		bytebufferpool.Put(c.in)
		c.in = nil
	}
	c.endExchange()
	l.conns--
	if l.srv != nil {
		l.srv.stats.open.Add(-1)
		if c.flags&cfAdmitted != 0 {
			l.srv.limit.release(c.peerAddr, l.Now)
		}
	}
}

// shutdown is called when the loop stops.
func (e *endpoint) Shutdown() {
	if e.c != nil {
		e.c.close()
	}
}

// schedule arms the connection's timer.
func (c *conn) schedule(d time.Duration) {
	c.cl.l.Wheel.Schedule(&c.tm, c.cl.l.Now.Add(d))
}
