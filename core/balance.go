package core

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/valyala/bytebufferpool"

	"wsproxy/balance"
	"wsproxy/codec"
	"wsproxy/internal/answer"
)

// pick chooses a server of c's route and counts the request against it
// until release.
func (s *Server) pick(c *conn) (*server, error) {
	u := c.rt.up
	if u == nil {
		return nil, answer.ErrNoUpstream
	}
	m := u.members()
	r := &c.cl.l.breq
	r.req, r.peer = &c.cl.l.req, c.cl.l.client
	b, err := m.pool.Pick(r, c.cl.l.Now)
	r.req = nil
	if err != nil {
		return nil, answer.ErrNoUpstream
	}
	return m.servers[b], nil
}

func (s *Server) release(srv *server) { srv.b.Release() }

// connected reports the result of a connect to srv (passive health).
func (s *Server) connected(srv *server, ok bool) {
	srv.up.members().pool.Report(srv.b, ok, time.Now())
	if !ok {
		s.noteConnectError(srv)
	}
}

// balanceRequest shows package balance the request being routed, without
// copying it. It lives in the Loop and is valid during one pick.
type balanceRequest struct {
	req  *codec.Request
	peer netip.Addr
}

func (r *balanceRequest) ClientAddr() netip.Addr { return r.peer }

func (r *balanceRequest) Header(name string) []byte { return headerValue(r.req.Headers, name) }

// Cookie finds name in the Cookie headers ("a=1; b=2").
func (r *balanceRequest) Cookie(name string) []byte {
	for _, h := range r.req.Headers {
		if codec.EqualFold(h.Name, "Cookie") {
			if v := codec.CookieValue(h.Value, name); v != nil {
				return v
			}
		}
	}
	return nil
}

// Query finds name in the raw query string; the value is not unescaped.
func (r *balanceRequest) Query(name string) []byte { return codec.QueryValue(r.req.Query, name) }

// redial retries a request whose connect failed on another server of the
// same upstream: no byte reached a backend, so this is always safe. The
// bytes queued for the failed connection move to the new one; its head is
// parsed again so that sticky policies see the same request. It reports
// false when no retry was started.
func (c *conn) redial() bool {
	l := c.cl.l
	old := c.up
	if c.x == nil || c.flags&cfRespStarted != 0 || int(c.x.tries)+1 >= len(c.rt.up.members().list) {
		return false
	}
	out, off := old.takeUnsent()
	if out == nil {
		return false
	}
	failed := old.srv
	c.dropUpstream()
	c.x.tries++
	if _, err := codec.ParseRequest(out.B[off:], &l.req); err != nil {
		bytebufferpool.Put(out)
		return false
	}
	// The loop's client address belongs to whichever connection read last:
	// ip_hash must see this request's client again.
	l.client = c.x.client
	srv, err := c.repick(failed)
	if err != nil {
		bytebufferpool.Put(out)
		return false
	}
	c.noteSticky(srv) // a cookie naming the failed server is replaced
	up, err := c.dialAny(srv)
	if err != nil {
		bytebufferpool.Put(out)
		return false
	}
	up.queueUnsent(out, off)
	c.up = up
	c.updateInterest()
	return true
}

// repick chooses a server for the request in l.req after a connect to
// failed did not succeed: the policy's choice, or when a sticky policy (or
// passive checks turned off) chooses failed again, the others in order.
func (c *conn) repick(failed *server) (*server, error) {
	l := c.cl.l
	srv, err := l.srv.pick(c)
	if err == nil && srv == failed {
		l.srv.release(srv)
		srv, err = c.rt.up.other(failed, l.Now)
	}
	return srv, err
}

// noteSticky sets the flags that make the response carry a balance cookie
// or teach the pool an Engine.IO sid. Called right after pick, while the
// loop's balanceRequest still describes the request.
func (c *conn) noteSticky(srv *server) {
	m := srv.up.members()
	r := &c.cl.l.breq
	r.req, r.peer = &c.cl.l.req, c.cl.l.client
	switch m.policy {
	case balance.PolicyCookie:
		if m.pool.NeedsCookie(r, srv.b) {
			c.flags |= cfSetCookie
		}
	case balance.PolicySid:
		if r.Query("sid") == nil {
			c.flags |= cfLearnSid
		}
	}
	r.req = nil
}

// sidLookahead bounds how much of a response body is examined for an
// Engine.IO handshake (they are about 100 bytes).
const sidLookahead = 512

// learnSid looks for an Engine.IO handshake at the start of a response body
// passing through (chunk framing skipped) and teaches the pool its sid. A
// body split over several reads is gathered, up to sidLookahead bytes, in
// c.x.retry, which is free once the response head has arrived.
func (c *conn) learnSid(chunk []byte) {
	body := chunk
	if c.x.retry != nil {
		c.x.retry.B = append(c.x.retry.B, chunk...)
		body = c.x.retry.B
	}
	b := body
	if c.x.resp.Kind() == codec.BodyChunked {
		if i := bytes.Index(b, []byte("\r\n")); i >= 0 {
			b = b[i+2:]
		}
	}
	if sid, ok := balance.ParseEngineIOHandshake(b); ok {
		srv := c.up.srv
		srv.up.members().pool.Learn(sid, srv.b, c.cl.l.Now)
	} else if len(body) < sidLookahead {
		if c.x.retry == nil {
			c.x.retry = bytebufferpool.Get()
			c.x.retry.B = append(c.x.retry.B, chunk...)
		}
		return // wait for more of the body
	}
	c.flags &^= cfLearnSid
	c.releaseRetry()
}

// other picks, in configuration order after failed, a server that is
// available and below its max_conns, and counts the request against it.
func (u *upstream) other(failed *server, now time.Time) (*server, error) {
	list := u.members().list
	start := 0
	for i, srv := range list {
		if srv == failed {
			start = i + 1
		}
	}
	for k := range len(list) {
		srv := list[(start+k)%len(list)]
		if srv != failed && srv.b.Available(now) && srv.b.Acquire() {
			return srv, nil
		}
	}
	return nil, answer.ErrNoUpstream
}
