// Package forward writes the heads the proxy passes on: a client's
// request head as sent to the upstream (AppendRequest), and an upstream's
// response head as sent to the client (AppendResponse). Both drop the
// hop-by-hop fields, and write the body framing from the proxy's own
// parse rather than copy it, so that no Connection token can remove it
// and the receiver frames the body as the proxy did; the request gets
// the forwarding fields (X-Real-IP, X-Forwarded-For, X-Forwarded-Proto,
// Forwarded).
//
// It works on parsed heads and bytes, no connection: core says what it
// knows of the connection (Request, Response) and keeps a Scratch per
// loop. It must not import core, the event loop (poller,
// internal/reactor, internal/sock), balance or config.
package forward

import (
	"bytes"
	"net/netip"
	"strconv"

	"wsproxy/codec"
)

// Request is what the proxy knows of a request beyond its head.
type Request struct {
	Target      []byte     // the path and query as routed and rewritten
	HTTP10      bool       // the client spoke HTTP/1.0: so is the request line
	Upgrade     bool       // a WebSocket upgrade: Upgrade passes, Connection: Upgrade is written
	Client      netip.Addr // the client, for X-Real-IP (behind trusted proxies, the one they name)
	Peer        netip.Addr // the immediate peer, appended to X-Forwarded-For and Forwarded
	Trusted     bool       // the peer is a trusted proxy: its Forwarded is kept and appended to
	Underscores bool       // fields with "_" in their names pass (nginx's underscores_in_headers)
	Proto       string     // "http" or "https", for X-Forwarded-Proto and Forwarded
}

// Scratch is the space AppendRequest builds the forwarding fields in, kept
// from one request to the next so that it allocates nothing once grown.
// A loop keeps one.
type Scratch struct {
	ip  []byte // client address text
	xff []byte // X-Forwarded-For so far
	fwd []byte // Forwarded so far (from a trusted peer)
}

// NewScratch returns a Scratch grown for the usual request already.
func NewScratch() Scratch {
	return Scratch{ip: make([]byte, 0, 64), xff: make([]byte, 0, 256)}
}

// AppendRequest appends to dst the request head sent upstream: the
// request line with r.Target, Host and the body framing written from the
// parse, hop-by-hop fields and those the client's Connection names
// dropped, forwarding fields set.
func AppendRequest(dst []byte, req *codec.Request, r *Request, sc *Scratch) []byte {
	minor := 1
	if r.HTTP10 {
		minor = 0
	}
	dst = codec.AppendRequestLine(dst, req.Method, r.Target, 1, minor)
	if req.Host != nil { // the authority of an absolute-form target wins (RFC 9112 §3.2.2)
		dst = append(append(append(dst, "Host: "...), req.Host...), "\r\n"...)
	}
	conn := connection(req.Headers)    // the client's Connection header names more hop-by-hop headers
	ip := r.Client.AppendTo(sc.ip[:0]) // X-Real-IP: the client
	peer := ip                         // appended to X-Forwarded-For: the immediate peer
	if r.Peer != r.Client {
		peer = r.Peer.AppendTo(ip[len(ip):])
	}
	sc.ip = ip[:0]
	var xff, fwd []byte
	for _, h := range req.Headers {
		switch {
		case isFraming(h.Name):
			continue // written below, from the parse
		case codec.EqualFold(h.Name, "Upgrade") && r.Upgrade:
		case codec.IsHopByHop(h.Name):
			continue
		case codec.EqualFold(h.Name, "X-Forwarded-For"):
			xff = append(append(sc.xff[:0], xff...), h.Value...)
			xff = append(xff, ", "...)
			sc.xff = xff[:0]
			continue
		case codec.EqualFold(h.Name, "Forwarded"):
			if r.Trusted { // kept and appended to, as X-Forwarded-For; else replaced
				fwd = append(append(sc.fwd[:0], fwd...), h.Value...)
				fwd = append(fwd, ", "...)
				sc.fwd = fwd[:0]
			}
			continue
		case codec.EqualFold(h.Name, "X-Real-IP"), codec.EqualFold(h.Name, "X-Forwarded-Proto"):
			continue
		case !r.Underscores && bytes.IndexByte(h.Name, '_') >= 0:
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
	if r.Upgrade {
		dst = append(dst, "Connection: Upgrade\r\n"...)
	}
	dst = append(dst, "X-Real-IP: "...)
	dst = append(append(dst, ip...), "\r\nX-Forwarded-For: "...)
	dst = append(append(append(dst, xff...), peer...), "\r\nX-Forwarded-Proto: "...)
	dst = append(append(dst, r.Proto...), "\r\nForwarded: "...)
	dst = codec.AppendForwarded(append(dst, fwd...), r.Peer, r.Proto)
	return append(dst, "\r\n\r\n"...)
}

// Response is what the proxy adds to a response head.
type Response struct {
	Close     bool   // the client will be closed: Connection: close
	SetCookie bool   // the balancer's sticky cookie is set: Set-Cookie: Cookie
	Cookie    string // the Set-Cookie value (balance.Pool.SetCookie)
}

// AppendResponse appends to dst the response head for the client:
// hop-by-hop fields and those the upstream's Connection names dropped,
// the body framing written from the parse, r's fields added.
func AppendResponse(dst []byte, resp *codec.Response, r *Response) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(resp.Status), 10)
	dst = append(dst, ' ')
	dst = append(append(dst, resp.Reason...), "\r\n"...)
	conn := connection(resp.Headers)
	for _, h := range resp.Headers {
		switch {
		case isFraming(h.Name), codec.IsHopByHop(h.Name):
			continue
		case conn != nil && codec.ConnectionHas(conn, string(h.Name)):
			continue
		}
		dst = codec.AppendHeader(dst, h.Name, h.Value)
	}
	// ValidateResponse left one length or chunked alone. A HEAD or 304
	// answer keeps the length it states for the body it does not carry.
	switch {
	case resp.Chunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case resp.ContentLength >= 0:
		dst = append(dst, "Content-Length: "...)
		dst = append(strconv.AppendInt(dst, resp.ContentLength, 10), "\r\n"...)
	}
	if r.Close {
		dst = append(dst, "Connection: close\r\n"...)
	}
	if r.SetCookie {
		dst = append(dst, "Set-Cookie: "...)
		dst = append(append(dst, r.Cookie...), "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// connection returns the value of the last Connection field of hs, or nil.
func connection(hs []codec.Header) []byte {
	var conn []byte
	for _, h := range hs {
		if codec.EqualFold(h.Name, "Connection") {
			conn = h.Value
		}
	}
	return conn
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
