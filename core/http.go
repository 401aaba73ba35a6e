package core

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"

	"github.com/valyala/bytebufferpool"

	"wsproxy/codec"
	"wsproxy/internal/limit"
	"wsproxy/internal/routing"
)

// onHead parses a request head at the start of data, routes it and starts the
// upstream exchange. ok is false when more bytes are needed or the
// connection failed.
func (c *conn) onHead(data []byte) (n int, ok bool) {
	l := c.l
	lim := l.set.limits.MaxHeaderBytes
	req := &l.req
	n, err := codec.ParseRequest(data, req)
	if err == codec.ErrShort {
		if len(data) > lim {
			c.fail(errHeadTooLarge)
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
		err = errHeadTooLarge
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
	l.client = l.set.trusted.Client(c.peer.Addr(), req.Headers)
	if err := c.admit(req); err != nil {
		c.fail(err)
		return 0, false
	}
	rt := l.set.router.Match(req.Host, req.Path)
	if rt == nil {
		c.fail(errNoRoute)
		return 0, false
	}
	if req.Upgrade && !routing.OriginAllowed(rt.ws.origins, headerValue(req.Headers, "Origin")) {
		c.fail(errOriginForbidden)
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

// appendUpstreamHead writes the request head sent upstream: the path as
// routed and rewritten, Host and the body framing written from the
// proxy's own parse (never copied, so that no Connection token can remove
// them and the backend frames the body as the proxy did), hop-by-hop
// headers dropped, forwarding headers set.
func (c *conn) appendUpstreamHead(dst []byte, req *codec.Request) []byte {
	l := c.l
	target := c.rt.Rewrite(l.pbuf[:0], req.Path, req.Query)
	l.pbuf = target[:0]
	minor := 1
	if c.flags&cfHTTP10 != 0 {
		minor = 0
	}
	dst = codec.AppendRequestLine(dst, req.Method, target, 1, minor)
	if req.Host != nil { // the authority of an absolute-form target wins (RFC 9112 §3.2.2)
		dst = append(append(append(dst, "Host: "...), req.Host...), "\r\n"...)
	}
	var conn []byte // the client's Connection header names more hop-by-hop headers
	for _, h := range req.Headers {
		if codec.EqualFold(h.Name, "Connection") {
			conn = h.Value
		}
	}
	ip := c.l.client.AppendTo(l.ipbuf[:0]) // X-Real-IP: the client
	peer := ip                             // appended to X-Forwarded-For: the immediate peer
	if pa := c.peer.Addr(); pa != c.l.client {
		peer = pa.AppendTo(ip[len(ip):])
	}
	l.ipbuf = ip[:0]
	st := l.set
	trusted := st.trusted.Contains(c.peer.Addr())
	var xff, fwd []byte
	for _, h := range req.Headers {
		switch {
		case isFraming(h.Name):
			continue // written below, from the parse
		case codec.EqualFold(h.Name, "Upgrade") && c.flags&cfUpgrade != 0:
		case codec.IsHopByHop(h.Name):
			continue
		case codec.EqualFold(h.Name, "X-Forwarded-For"):
			xff = append(append(l.xbuf[:0], xff...), h.Value...)
			xff = append(xff, ", "...)
			l.xbuf = xff[:0]
			continue
		case codec.EqualFold(h.Name, "Forwarded"):
			if trusted { // kept and appended to, as X-Forwarded-For; else replaced
				fwd = append(append(l.fbuf[:0], fwd...), h.Value...)
				fwd = append(fwd, ", "...)
				l.fbuf = fwd[:0]
			}
			continue
		case codec.EqualFold(h.Name, "X-Real-IP"), codec.EqualFold(h.Name, "X-Forwarded-Proto"):
			continue
		case !st.underscores && bytes.IndexByte(h.Name, '_') >= 0:
			continue // nginx's underscores_in_headers off
		case conn != nil && codec.ConnectionHas(conn, string(h.Name)):
			continue
		}
		dst = codec.AppendHeader(dst, h.Name, h.Value)
	}
	switch kind, n := req.Body(); {
	case kind == codec.BodyChunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case kind == codec.BodyLength || req.ContentLength == 0:
		dst = append(dst, "Content-Length: "...)
		dst = append(strconv.AppendInt(dst, n, 10), "\r\n"...)
	}
	if c.flags&cfUpgrade != 0 {
		dst = append(dst, "Connection: Upgrade\r\n"...)
	}
	proto := l.srv.proto(c)
	dst = append(dst, "X-Real-IP: "...)
	dst = append(append(dst, ip...), "\r\nX-Forwarded-For: "...)
	dst = append(append(append(dst, xff...), peer...), "\r\nX-Forwarded-Proto: "...)
	dst = append(append(dst, proto...), "\r\nForwarded: "...)
	dst = codec.AppendForwarded(append(dst, fwd...), c.peer.Addr(), proto)
	return append(dst, "\r\n\r\n"...)
}

// isFraming reports whether name is a field the proxy writes itself from
// its parse: Host, Content-Length, Transfer-Encoding.
func isFraming(name []byte) bool {
	switch len(name) {
	case 4:
		return codec.EqualFold(name, "Host")
	case 14:
		return codec.EqualFold(name, "Content-Length")
	case 17:
		return codec.EqualFold(name, "Transfer-Encoding")
	}
	return false
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
	l := c.l
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
	status, reason := statusFor(err)
	c.noteFail(status, err)
	if c.l.srv != nil {
		c.l.srv.logf("client %s: %d %s: %v", c.peer, status, reason, err)
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
	out := codec.AppendStatusResponseHeader(c.l.hbuf[:0], status, reason, extra)
	c.l.hbuf = out[:0]
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

var errBadChunked = errors.New("core: malformed chunked request body")

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
		return c.l.srv.limit.Handshake(c.peer.Addr(), c.l.Now)
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
	c.l.srv.log.Info("HTTP/2 client refused with GOAWAY HTTP_1_1_REQUIRED: wsproxy speaks HTTP/1.1", "client", c.peer.String())
	out := codec.AppendH2GoAway(c.l.hbuf[:0], codec.H2HTTP11Required, "wsproxy speaks HTTP/1.1 (with WebSocket upgrades) only")
	c.l.hbuf = out[:0]
	c.finalAnswer(out)
}
