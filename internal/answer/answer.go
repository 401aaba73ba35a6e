// Package answer decides what the proxy answers a client whose request
// it cannot serve: the errors that name why (a request the proxy
// refuses, an upstream that fails), and Status, the one place that maps
// an error to the HTTP status and the short plain-text reason the client
// is sent. The errors' texts are those core's log lines have always
// shown, "core: " prefix included.
//
// It holds errors and their mapping, no connection: core fails a
// connection with one of them and writes the answer. It must not import
// core, the event loop (poller, internal/reactor, internal/sock),
// balance or config.
package answer

import (
	"errors"
	"net/http"
	"strings"

	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/limit"
)

// Errors that decide what the client is told.
var (
	ErrNoRoute              = errors.New("core: no route")
	ErrHeadTooLarge         = errors.New("core: request head too large")
	ErrHeaderTimeout        = errors.New("core: request head timed out")
	ErrBadRequest           = errors.New("core: incomplete request")
	ErrBadChunked           = errors.New("core: malformed chunked request body")
	ErrNoUpstream           = errors.New("core: no upstream server available")
	ErrUpstreamClosed       = errors.New("core: upstream closed the connection before responding")
	ErrUpstreamTimeout      = errors.New("core: upstream timed out")
	ErrUpstreamHeadTooLarge = errors.New("core: upstream response head too large")
	ErrBadUpstreamResponse  = errors.New("core: malformed upstream response")
	ErrOriginForbidden      = errors.New("core: origin not allowed")
)

// UpstreamError wraps a socket error on the upstream side.
type UpstreamError struct{ Err error }

func (e *UpstreamError) Error() string { return "core: upstream: " + e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// HandshakeError is an upstream's 101 that does not accept the client's
// handshake: a 502, since the backend is at fault.
type HandshakeError struct{ Err error }

func (e *HandshakeError) Error() string {
	return "core: upstream's 101: " + strings.TrimPrefix(reasonOf(e.Err), "bad websocket handshake: ")
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// Status maps an error to the HTTP status and the short plain-text reason
// sent to the client.
func Status(err error) (int, string) {
	var ue *UpstreamError
	var he *HandshakeError
	switch {
	case errors.As(err, &he):
		return http.StatusBadGateway, "upstream answered the WebSocket handshake wrongly: " + strings.TrimPrefix(reasonOf(he.Err), "bad websocket handshake: ")
	case errors.Is(err, ErrHeadTooLarge), errors.Is(err, codec.ErrTooManyHeaders):
		return http.StatusRequestHeaderFieldsTooLarge, "request header fields too large"
	case errors.Is(err, limit.ErrOverloaded):
		return http.StatusServiceUnavailable, "server at connection limit"
	case errors.Is(err, limit.ErrTooManyConns):
		return http.StatusTooManyRequests, "too many connections from your address"
	case errors.Is(err, limit.ErrHandshakeRate):
		return http.StatusTooManyRequests, "too many WebSocket handshakes from your address"
	case errors.Is(err, ErrOriginForbidden):
		return http.StatusForbidden, "origin not allowed"
	case errors.Is(err, ErrNoRoute):
		return http.StatusNotFound, "no route for this host and path"
	case errors.Is(err, ErrHeaderTimeout):
		return http.StatusRequestTimeout, "request head not received in time"
	case errors.Is(err, ErrNoUpstream):
		return http.StatusServiceUnavailable, "no upstream server available"
	case errors.Is(err, ErrUpstreamTimeout):
		return http.StatusGatewayTimeout, "upstream timed out"
	case errors.Is(err, ErrUpstreamClosed):
		return http.StatusBadGateway, "upstream closed the connection"
	case errors.Is(err, ErrUpstreamHeadTooLarge):
		return http.StatusBadGateway, "upstream response head too large"
	case errors.Is(err, ErrBadUpstreamResponse):
		return http.StatusBadGateway, "malformed upstream response"
	case errors.Is(err, unix.ECONNREFUSED):
		return http.StatusBadGateway, "upstream refused the connection"
	case errors.Is(err, unix.ETIMEDOUT):
		return http.StatusGatewayTimeout, "upstream connect timed out"
	case errors.As(err, &ue):
		return http.StatusBadGateway, "upstream connection failed"
	case errors.Is(err, codec.ErrUnsupportedWSVersion):
		return http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version; this server speaks 13"
	case errors.Is(err, codec.ErrUnknownTransferCoding):
		return http.StatusNotImplemented, "transfer coding not implemented; send chunked or Content-Length"
	case errors.Is(err, codec.ErrUnsupportedVersion):
		return http.StatusHTTPVersionNotSupported, "HTTP version not supported"
	case errors.Is(err, codec.ErrBadHandshake):
		return http.StatusBadRequest, "bad WebSocket handshake: " + reasonOf(err)
	}
	return http.StatusBadRequest, "bad request: " + reasonOf(err)
}

// reasonOf strips package prefixes from an error for the client.
func reasonOf(err error) string {
	s := err.Error()
	for {
		t := strings.TrimPrefix(strings.TrimPrefix(s, "codec: "), "core: ")
		if t == s {
			return s
		}
		s = t
	}
}
