package core

import (
	"github.com/valyala/bytebufferpool"

	"wsproxy/internal/answer"
	"wsproxy/internal/tlsloop"
)

// TLS toward upstream servers with tls: true: the client configuration
// of each, and what the client side of a tlsloop.Conn does differently.
// The request written before the handshake ends waits in its plaintext.

// dialTLS makes up, just dialled to srv, a TLS client endpoint if srv has
// tls: true. The handshake starts once the connect completes
// (tlsloop.Conn.Interest); what is written before it ends waits in plain.
func (ts *tlsState) dialTLS(up *endpoint) {
	if tc := up.srv.tls.Load(); tc != nil {
		up.tls = tlsloop.Client(up, &up.Socket, &up.l.tls, tc)
	}
}

// takeUnsent takes the request bytes an upstream endpoint has not sent,
// for another server to get them: its output buffer, or for TLS the
// plaintext held during the handshake. It returns nil and leaves e alone
// when there are none, or when TLS has encrypted some already.
func (e *endpoint) takeUnsent() (b *bytebufferpool.ByteBuffer, off int) {
	if t := e.tls; t != nil {
		return t.TakePlain(), 0
	}
	return e.Take()
}

// queueUnsent gives a newly dialled upstream endpoint b[off:], taken from
// another with takeUnsent, and takes b.
func (e *endpoint) queueUnsent(b *bytebufferpool.ByteBuffer, off int) {
	if e.tls != nil {
		_ = e.tls.Send(b.B[off:]) // before the handshake: kept in plain
		bytebufferpool.Put(b)
		return
	}
	e.Restore(b, off)
}

// sendPlain encrypts what was written to an upstream during its handshake
// and lets the client side continue if that was holding it back. It
// reports false when the connection failed.
func (e *endpoint) sendPlain() bool {
	c := e.c
	b := e.tls.TakePlain()
	err := e.tls.Send(b.B)
	bytebufferpool.Put(b)
	if err != nil {
		c.upstreamFailed(&answer.UpstreamError{Err: err})
		return false
	}
	c.processBuffered() // request body held back while the head waited
	return c.st != stClosed && c.up == e
}

// tlsUpstreamFailed treats a failed handshake with an upstream like a
// failed connect: passive health hears of it, and another server may be
// tried.
func (e *endpoint) tlsUpstreamFailed(err error) {
	if srv := e.l.srv; srv != nil {
		srv.logf("upstream %s: TLS handshake: %v", e.srv.name, err)
	}
	e.flags |= epConnecting
	e.c.upstreamFailed(&answer.UpstreamError{Err: err})
}
