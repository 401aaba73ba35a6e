package core

import (
	"net/http"

	"github.com/valyala/bytebufferpool"

	"wsproxy/codec"
	"wsproxy/internal/answer"
	"wsproxy/internal/forward"
	"wsproxy/internal/limit"
	"wsproxy/internal/routing"
)

// onHead parses a request head at the start of data, routes it and starts the
// upstream exchange. ok is false when more bytes are needed or the
// connection failed.
func (c *conn) onHead(data []byte) (n int, ok bool) {
	l := c.cl.l
	lim := l.set.limits.MaxHeaderBytes
	req := &l.req
	n, err := codec.ParseRequest(data, req)
	if err == codec.ErrShort {
		if len(data) > lim {
			c.fail(answer.ErrHeadTooLarge)
		} else if c.flags&cfKeepAliveWait != 0 {
			c.flags &^= cfKeepAliveWait
			c.schedule(l.set.timeouts.HeaderRead)
		}
		return 0, false
	}
	if err == nil && codec.IsH2Preface(req) {
		c.refuseHTTP2()
		return 0, false
	}
	c.noteHead(err == nil && req.Upgrade)
	if err == nil && n > lim {
		err = answer.ErrHeadTooLarge
	}
	if err == nil {
		err = codec.ValidateRequest(req)
	}
	if err == nil && req.Upgrade {
		err = codec.ValidateUpgrade(req)
	}
	if err == nil {
		err = c.normalizePath(req)
	}
	if err != nil {
		c.fail(err)
		return 0, false
	}
	l.client = l.set.trusted.Client(c.peerAddr, req.Headers)
	if err := c.admit(req); err != nil {
		c.fail(err)
		return 0, false
	}
	rt := l.set.router.Match(req.Host, req.Path)
	if rt == nil {
		c.fail(answer.ErrNoRoute)
		return 0, false
	}
	if req.Upgrade && !routing.OriginAllowed(rt.ws.Origins, headerValue(req.Headers, "Origin")) {
		c.fail(answer.ErrOriginForbidden)
		return 0, false
	}
	c.rt = rt
	c.noteRequest()
	c.flags &^= cfHeadMethod | cfUpgrade | cfRespStarted | cfReqDone | cfKeepAliveWait | cfRetried | cfUpstreamClose | cfSetCookie | cfLearnSid | cfExtDeflate | cfExtUnknown
	c.beginExchange()
	if req.Close || req.Major == 1 && req.Minor == 0 {
		c.flags |= cfClientClose
	}
	if req.Major == 1 && req.Minor == 0 {
		c.flags |= cfHTTP10
	}
	if string(req.Method) == "HEAD" {
		c.flags |= cfHeadMethod
	}
	if req.Upgrade {
		c.flags |= cfUpgrade
		x := c.x
		x.wsOffer = bytebufferpool.Get()
		x.wsOffer.B, x.offer = codec.AppendOffer(x.wsOffer.B[:0], req)
	}
	kind, size := req.Body()
	c.x.req.Reset(kind, size)
	head := c.appendUpstreamHead(l.hbuf[:0], req)
	l.hbuf = head[:0]
	// Only a request that may be sent twice is kept for a second try
	// (RFC 9110 §9.2.2): a POST that reached a backend that then closed
	// may have been carried out.
	if err := c.startUpstream(head, kind == codec.BodyNone && req.Idempotent()); err != nil {
		c.fail(err)
		return 0, false
	}
	if kind == codec.BodyNone {
		c.flags |= cfReqDone
		c.st = stWait
	} else {
		c.st = stSend
	}
	return n, true
}

// forwardRequestBody passes request body bytes upstream.
func (c *conn) forwardRequestBody(data []byte) (int, error) {
	n, done, err := c.x.req.Scan(data)
	if err != nil {
		return 0, err
	}
	if werr := c.up.write(data[:n]); werr != nil {
		c.upstreamFailed(werr)
		return len(data), nil
	}
	if done {
		c.flags |= cfReqDone
		if c.st == stSend {
			c.st = stWait
		}
	}
	return n, nil
}

// appendUpstreamHead writes the request head sent upstream
// (forward.AppendRequest): the path as routed and rewritten, forwarding
// headers set from what the loop knows of the client.
func (c *conn) appendUpstreamHead(dst []byte, req *codec.Request) []byte {
	l := c.cl.l
	target := c.rt.Rewrite(l.pbuf[:0], req.Path, req.Query)
	l.pbuf = target[:0]
	peer := c.peerAddr
	return forward.AppendRequest(dst, req, &forward.Request{
		Target:      target,
		HTTP10:      c.flags&cfHTTP10 != 0,
		Upgrade:     c.flags&cfUpgrade != 0,
		Client:      l.client,
		Peer:        peer,
		Trusted:     l.set.trusted.Contains(peer),
		Underscores: l.set.underscores,
		Proto:       l.srv.proto(c),
	}, &l.fwd)
}

// normalizePath puts the request path in normal form (codec.NormalizePath)
// before it is routed and forwarded, so that the route it matches is the
// resource any backend resolves it to. The result lives in the loop's
// scratch space, as req does.
func (c *conn) normalizePath(req *codec.Request) error {
	p := req.Path
	if p == nil || len(p) == 1 && p[0] == '*' { // authority-form, asterisk-form
		return nil
	}
	l := c.cl.l
	np, err := codec.NormalizePath(l.npath, p)
	if err != nil {
		return err
	}
	if len(p) == 0 || &np[0] != &p[0] {
		l.npath = np[:0]
	}
	req.Path = np
	return nil
}

// fail answers the client with the status err maps to and closes the
// connection once the answer is written and the client's input drained
// (linger.go). If response bytes already reached the client it just
// closes.
func (c *conn) fail(err error) {
	if c.st == stClosed {
		return
	}
	status, reason := answer.Status(err)
	c.noteFail(status, err)
	if c.cl.l.srv != nil {
		c.cl.l.srv.logf("client %s: %d %s: %v", c.peer(), status, reason, err)
	}
	if c.up != nil {
		c.dropUpstream()
	}
	if c.flags&cfRespStarted != 0 {
		c.close()
		return
	}
	extra := ""
	if status == http.StatusUpgradeRequired {
		extra = "Sec-WebSocket-Version: 13\r\n" // RFC 6455 §4.4
	}
	out := codec.AppendStatusResponseHeader(c.cl.l.hbuf[:0], status, reason, extra)
	c.cl.l.hbuf = out[:0]
	c.finalAnswer(out)
}

// finalAnswer writes out, the proxy's own last answer to the client, and
// closes the connection once it is written.
func (c *conn) finalAnswer(out []byte) {
	c.flags |= cfRespStarted
	c.st = stClosing
	if c.cl.write(out) != nil {
		c.close()
		return
	}
	c.closeAfterAnswer()
}

// admit applies the connection limits to a request: connections accepted
// past a limit are answered when their first request arrives, so that the
// client reads a status and a reason rather than a reset.
func (c *conn) admit(req *codec.Request) error {
	switch {
	case c.flags&cfOverloaded != 0:
		return limit.ErrOverloaded
	case c.flags&cfTooManyConns != 0:
		return limit.ErrTooManyConns
	case req.Upgrade:
		return c.cl.l.srv.limit.Handshake(c.peerAddr, c.cl.l.Now)
	}
	return nil
}

// headerValue returns the first value of the header name in hs, or nil.
func headerValue(hs []codec.Header, name string) []byte {
	for _, h := range hs {
		if codec.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return nil
}

// refuseHTTP2 answers a client that opened with the HTTP/2 preface (prior
// knowledge, as curl --http2-prior-knowledge does) in HTTP/2: a GOAWAY with
// HTTP_1_1_REQUIRED, which such a client reports as the reason, where an
// HTTP/1.1 answer would read to it as an empty reply. Then the connection
// closes like any other final answer.
func (c *conn) refuseHTTP2() {
	c.cl.l.srv.log.Info("HTTP/2 client refused with GOAWAY HTTP_1_1_REQUIRED: wsproxy speaks HTTP/1.1", "client", c.peer().String())
	out := codec.AppendH2GoAway(c.cl.l.hbuf[:0], codec.H2HTTP11Required, "wsproxy speaks HTTP/1.1 (with WebSocket upgrades) only")
	c.cl.l.hbuf = out[:0]
	c.finalAnswer(out)
}
