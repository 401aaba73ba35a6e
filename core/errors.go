package core

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/limit"
)

// Errors that decide what the client is told. statusFor maps them.
var (
	errNoRoute              = errors.New("core: no route")
	errHeadTooLarge         = errors.New("core: request head too large")
	errHeaderTimeout        = errors.New("core: request head timed out")
	errBadRequest           = errors.New("core: incomplete request")
	errNoUpstream           = errors.New("core: no upstream server available")
	errUpstreamClosed       = errors.New("core: upstream closed the connection before responding")
	errUpstreamTimeout      = errors.New("core: upstream timed out")
	errUpstreamHeadTooLarge = errors.New("core: upstream response head too large")
	errBadUpstreamResponse  = errors.New("core: malformed upstream response")
	errOriginForbidden      = errors.New("core: origin not allowed")
)

// lingerTimeout bounds how long a final answer may take to reach a client.
const lingerTimeout = 5 * time.Second

// upstreamError wraps a socket error on the upstream side.
type upstreamError struct{ err error }

func (e *upstreamError) Error() string { return "core: upstream: " + e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// statusFor maps an error to the HTTP status and the short plain-text reason
// sent to the client. It is the one place that decides this.
func statusFor(err error) (int, string) {
	var ue *upstreamError
	var he *upstreamHandshakeError
	switch {
	case errors.As(err, &he):
		return http.StatusBadGateway, "upstream answered the WebSocket handshake wrongly: " + strings.TrimPrefix(reasonOf(he.err), "bad websocket handshake: ")
	case errors.Is(err, errHeadTooLarge), errors.Is(err, codec.ErrTooManyHeaders):
		return http.StatusRequestHeaderFieldsTooLarge, "request header fields too large"
	case errors.Is(err, limit.ErrOverloaded):
		return http.StatusServiceUnavailable, "server at connection limit"
	case errors.Is(err, limit.ErrTooManyConns):
		return http.StatusTooManyRequests, "too many connections from your address"
	case errors.Is(err, limit.ErrHandshakeRate):
		return http.StatusTooManyRequests, "too many WebSocket handshakes from your address"
	case errors.Is(err, errOriginForbidden):
		return http.StatusForbidden, "origin not allowed"
	case errors.Is(err, errNoRoute):
		return http.StatusNotFound, "no route for this host and path"
	case errors.Is(err, errHeaderTimeout):
		return http.StatusRequestTimeout, "request head not received in time"
	case errors.Is(err, errNoUpstream):
		return http.StatusServiceUnavailable, "no upstream server available"
	case errors.Is(err, errUpstreamTimeout):
		return http.StatusGatewayTimeout, "upstream timed out"
	case errors.Is(err, errUpstreamClosed):
		return http.StatusBadGateway, "upstream closed the connection"
	case errors.Is(err, errUpstreamHeadTooLarge):
		return http.StatusBadGateway, "upstream response head too large"
	case errors.Is(err, errBadUpstreamResponse):
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
