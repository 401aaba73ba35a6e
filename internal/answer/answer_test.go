package answer_test

import (
	"fmt"
	"net/http"
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/answer"
	"wsproxy/internal/limit"
)

// TestStatus: the status and reason each error is answered with, wrapped
// or not, and the package prefixes the reason drops.
func TestStatus(t *testing.T) {
	tests := []struct {
		err    error
		status int
		reason string
	}{
		{answer.ErrNoRoute, http.StatusNotFound, "no route for this host and path"},
		{answer.ErrHeadTooLarge, http.StatusRequestHeaderFieldsTooLarge, "request header fields too large"},
		{codec.ErrTooManyHeaders, http.StatusRequestHeaderFieldsTooLarge, "request header fields too large"},
		{answer.ErrHeaderTimeout, http.StatusRequestTimeout, "request head not received in time"},
		{answer.ErrBadRequest, http.StatusBadRequest, "bad request: incomplete request"},
		{answer.ErrBadChunked, http.StatusBadRequest, "bad request: malformed chunked request body"},
		{answer.ErrOriginForbidden, http.StatusForbidden, "origin not allowed"},
		{limit.ErrOverloaded, http.StatusServiceUnavailable, "server at connection limit"},
		{limit.ErrTooManyConns, http.StatusTooManyRequests, "too many connections from your address"},
		{limit.ErrHandshakeRate, http.StatusTooManyRequests, "too many WebSocket handshakes from your address"},
		{answer.ErrNoUpstream, http.StatusServiceUnavailable, "no upstream server available"},
		{answer.ErrUpstreamTimeout, http.StatusGatewayTimeout, "upstream timed out"},
		{answer.ErrUpstreamClosed, http.StatusBadGateway, "upstream closed the connection"},
		{answer.ErrUpstreamHeadTooLarge, http.StatusBadGateway, "upstream response head too large"},
		{fmt.Errorf("%w: %w", answer.ErrBadUpstreamResponse, codec.ErrBadStatusLine), http.StatusBadGateway, "malformed upstream response"},
		{&answer.UpstreamError{Err: unix.ECONNREFUSED}, http.StatusBadGateway, "upstream refused the connection"},
		{&answer.UpstreamError{Err: unix.ETIMEDOUT}, http.StatusGatewayTimeout, "upstream connect timed out"},
		{&answer.UpstreamError{Err: unix.ECONNRESET}, http.StatusBadGateway, "upstream connection failed"},
		{&answer.HandshakeError{Err: codec.ErrBadWSAccept}, http.StatusBadGateway, "upstream answered the WebSocket handshake wrongly: bad Sec-WebSocket-Accept"},
		{codec.ErrUnsupportedWSVersion, http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version; this server speaks 13"},
		{codec.ErrUnknownTransferCoding, http.StatusNotImplemented, "transfer coding not implemented; send chunked or Content-Length"},
		{codec.ErrUnsupportedVersion, http.StatusHTTPVersionNotSupported, "HTTP version not supported"},
		{codec.ErrMissingWSKey, http.StatusBadRequest, "bad WebSocket handshake: bad websocket handshake: missing Sec-WebSocket-Key"},
		{codec.ErrBadHeaderName, http.StatusBadRequest, "bad request: malformed head: bad header name"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			status, reason := answer.Status(tt.err)
			if status != tt.status || reason != tt.reason {
				t.Errorf("Status: %d %q; want %d %q", status, reason, tt.status, tt.reason)
			}
		})
	}
}

// TestErrorTexts: the wrapping errors' texts, as log lines show them.
func TestErrorTexts(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&answer.UpstreamError{Err: unix.ECONNRESET}, "core: upstream: " + unix.ECONNRESET.Error()},
		{&answer.HandshakeError{Err: codec.ErrBadWSAccept}, "core: upstream's 101: bad Sec-WebSocket-Accept"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
}
