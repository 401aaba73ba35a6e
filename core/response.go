package core

import (
	"fmt"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/answer"
	"wsproxy/internal/forward"
	"wsproxy/internal/sock"
	"wsproxy/poller"
)

// onUpstream handles events of the upstream endpoint.
func (c *conn) onUpstream(up *endpoint, ev poller.Event) {
	if up.flags&epConnecting != 0 {
		if ev&(poller.Writable|poller.Error|poller.Hangup) == 0 {
			return
		}
		// Writable alone is a connect that succeeded: a failed one
		// (refused, unreachable, timed out) has its socket error set,
		// which epoll reports as Error whatever the interest. Only then
		// is the error worth a getsockopt: one system call per handshake
		// fewer (BENCHMARKS.md, "The floor"). Without an error pending the
		// socket goes on as connected, and its reads and writes say the rest.
		if ev&(poller.Error|poller.Hangup) != 0 {
			if err := sock.ConnectError(up.FD()); err != nil {
				c.upstreamFailed(err)
				return
			}
		}
		up.flags &^= epConnecting
		c.noteConnected(up)
		c.cl.l.srv.connected(up.srv, true)
		c.scheduleRead()
	}
	if ev&(poller.Writable|poller.Error) != 0 && up.pending() > 0 {
		done, err := up.flush()
		if err != nil {
			c.upstreamFailed(err)
			return
		}
		if done {
			if up.flags&epShutWrite != 0 && up.flags&epWriteShut == 0 {
				up.flags |= epWriteShut
				_ = sock.ShutdownWrite(up.FD())
			}
			// Bytes held back while the upstream was slow can go now.
			c.processBuffered()
			if c.st == stClosed || c.up != up {
				return
			}
		}
	}
	if ev&(poller.Readable|poller.Hangup|poller.Error) != 0 && c.upstreamReadable() {
		c.drained(ev, c.readUpstream(up))
	}
}

// readUpstream reads once from the upstream and processes what it got. It
// reports whether the read emptied the socket (endpoint.emptied) and
// splice did not read on.
func (c *conn) readUpstream(up *endpoint) bool {
	l := c.cl.l
	n, err := up.read(l, 0)
	emptied := up.emptied(l, n, 0, err)
	switch {
	case err == unix.EAGAIN:
		return emptied
	case err != nil:
		c.upstreamFailed(err)
		return false
	case n == 0:
		c.upstreamEOF()
		return false
	}
	c.active = l.Now.UnixNano()
	data := l.Buf[:n]
	x := c.x // nil in a tunnel
	if x != nil && x.uin != nil {
		x.uin.B = append(x.uin.B, data...)
		data = x.uin.B
	}
	used := c.processUpstream(data)
	if c.st == stClosed {
		return emptied
	}
	// finishResponse may have ended the exchange; then nothing is left over.
	if rest := data[used:]; c.x != nil {
		switch {
		case len(rest) == 0:
			if x.uin != nil {
				bytebufferpool.Put(x.uin)
				x.uin = nil
			}
		case x.uin == nil:
			x.uin = bytebufferpool.Get()
			x.uin.B = append(x.uin.B, rest...)
		default:
			x.uin.B = x.uin.B[:copy(x.uin.B, rest)]
		}
	}
	if c.st == stTunnel {
		c.endExchange() // the 101 is through: a tunnel keeps no HTTP state
	}
	if c.st == stHead {
		c.processBuffered() // a pipelined request waited for this response
	}
	if c.st == stTunnel && c.spliceTunnel(toClient) { // the payload behind a header this read ended with
		return false
	}
	return emptied
}

// processUpstream consumes upstream bytes as the state allows.
func (c *conn) processUpstream(data []byte) int {
	off := 0
	for off < len(data) {
		switch c.st {
		case stSend, stWait:
			n, ok := c.onResponseHead(data[off:])
			if !ok {
				if c.st == stClosed || c.st == stClosing {
					return len(data)
				}
				return off
			}
			off += n
		case stResp:
			if c.flags&cfLearnSid != 0 {
				c.learnSid(data[off:])
			}
			n, done, err := c.x.resp.Scan(data[off:])
			if err != nil {
				c.close()
				return len(data)
			}
			if c.cl.write(data[off:off+n]) != nil {
				c.close()
				return len(data)
			}
			off += n
			if done {
				c.finishResponse(off < len(data))
				return len(data)
			}
		case stTunnel:
			if c.relay(&c.cl, data[off:], toClient) != nil {
				c.close()
			}
			return len(data)
		default:
			return len(data)
		}
		if c.st == stClosed {
			return len(data)
		}
	}
	return off
}

// onResponseHead parses the upstream's response head and forwards it.
func (c *conn) onResponseHead(data []byte) (int, bool) {
	l := c.cl.l
	resp := &l.resp
	n, err := codec.ParseResponse(data, resp)
	if err == codec.ErrShort {
		if len(data) > l.set.limits.MaxHeaderBytes {
			c.fail(answer.ErrUpstreamHeadTooLarge)
		}
		return 0, false
	}
	if err == nil {
		err = codec.ValidateResponse(resp)
	}
	if err != nil {
		c.badResponse(err)
		return 0, false
	}
	c.releaseRetry()
	if resp.Status == 101 && (c.flags&cfUpgrade == 0 || !c.acceptUpgrade(resp)) {
		if c.flags&cfUpgrade == 0 {
			c.fail(answer.ErrBadUpstreamResponse)
		}
		return 0, false
	}
	c.noteResponse(resp.Status)
	switch {
	case resp.Status == 101:
		// The 101 goes back unchanged; what follows it is WebSocket.
		c.flags |= cfRespStarted
		if c.cl.write(data[:n]) != nil {
			c.close()
			return 0, false
		}
		c.st = stTunnel
		c.cl.l.srv.stats.tunnels.Add(1)
		c.startTunnel()
		c.relayEarly() // client frames that waited for the 101
		return n, true
	case resp.Status < 200:
		c.flags |= cfRespStarted
		if c.cl.write(data[:n]) != nil {
			c.close()
			return 0, false
		}
		return n, true
	}
	if resp.Close {
		c.flags |= cfUpstreamClose // kept: l.resp is reused before the body ends
	}
	kind, size := resp.Body(methodFor(c.flags))
	if kind == codec.BodyUntilClose || resp.Close || c.flags&cfReqDone == 0 {
		// The upstream cannot be reused; if the body ends with the
		// connection the client must be told the same way.
		if kind == codec.BodyUntilClose || c.flags&cfReqDone == 0 {
			c.flags |= cfClientClose
		}
	}
	if kind == codec.BodyChunked && c.flags&cfHTTP10 != 0 {
		c.flags |= cfClientClose // passed through; HTTP/1.0 clients are rare
	}
	head := c.appendResponseHead(l.hbuf[:0], resp)
	l.hbuf = head[:0]
	c.flags |= cfRespStarted
	if c.cl.write(head) != nil {
		c.close()
		return 0, false
	}
	c.x.resp.Reset(kind, size)
	if kind == codec.BodyNone {
		c.finishResponse(n < len(data))
		return len(data), true
	}
	c.st = stResp
	return n, true
}

var methodHEAD, methodGET = []byte("HEAD"), []byte("GET")

func methodFor(f connFlags) []byte {
	if f&cfHeadMethod != 0 {
		return methodHEAD
	}
	return methodGET
}

// appendResponseHead writes the response head for the client
// (forward.AppendResponse), with Connection: close when the client will
// be closed and the balancer's cookie when it sets one.
func (c *conn) appendResponseHead(dst []byte, resp *codec.Response) []byte {
	r := forward.Response{Close: c.flags&cfClientClose != 0, SetCookie: c.flags&cfSetCookie != 0}
	if r.SetCookie {
		srv := c.up.srv
		r.Cookie = srv.up.members().pool.SetCookie(srv.b)
	}
	return forward.AppendResponse(dst, resp, &r)
}

// badResponse answers 502 for a response head the proxy cannot forward
// safely (malformed, or framed ambiguously: RFC 9112 §6.3) and closes the
// upstream connection; the "request failed" line logs the reason.
func (c *conn) badResponse(err error) {
	c.fail(fmt.Errorf("%w: %w", answer.ErrBadUpstreamResponse, err))
}

// finishResponse ends one request/response exchange: the upstream goes back
// to the idle pool when it can be reused, and the client either waits for
// its next request or is closed once the output is written.
func (c *conn) finishResponse(extra bool) {
	l := c.cl.l
	up := c.up
	reusable := !extra && c.flags&(cfReqDone|cfUpstreamClose) == cfReqDone &&
		c.x.resp.Kind() != codec.BodyUntilClose
	c.up = nil
	l.srv.release(up.srv)
	if c.flags&cfLearnSid != 0 {
		c.flags &^= cfLearnSid
		c.releaseRetry()
	}
	if reusable {
		l.idle.park(l, up)
	} else {
		up.closeFD(l)
	}
	c.endExchange()
	if c.flags&cfClientClose != 0 {
		c.closeAfterAnswer()
		return
	}
	c.st = stHead
	c.flags &^= cfRespStarted // a bad next request still gets its 400
	c.flags |= cfKeepAliveWait
	c.schedule(l.set.timeouts.KeepAlive)
}

// upstreamEOF handles the upstream's end of stream.
func (c *conn) upstreamEOF() {
	up := c.up
	up.flags |= epEOF
	switch c.st {
	case stResp:
		if c.x.resp.Kind() == codec.BodyUntilClose {
			c.finishResponse(false)
			return
		}
		c.close() // the body was cut short; the client must see that
	default:
		c.upstreamFailed(answer.ErrUpstreamClosed)
	}
}
