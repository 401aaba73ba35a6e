package codec

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gobwas/ws"
)

// TestZeroAllocs proves the steady state allocates nothing: every parser,
// scanner, validator and writer on a warm Request and a dst with room.
func TestZeroAllocs(t *testing.T) {
	reqBuf := []byte(upgradeRequest)
	respBuf := []byte(upgradeResponse)
	badBuf := []byte("GET / HTTP/1.1\r\nX: a\x00\r\n\r\n")
	chunked := []byte("5;ext=1\r\nhello\r\n0\r\nX: y\r\n\r\n")
	frames := smallFrames(4096, 16)
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	conn, name := []byte("keep-alive, Upgrade"), []byte("Sec-WebSocket-Key")
	dst := make([]byte, 0, 512)
	path, cleanPath := []byte("/a/%2e%2e/b//c%c3%a9"), []byte("/chat/room-1")
	cookie, query := []byte("lang=en; sticky=s1; theme=dark"), []byte("EIO=4&transport=websocket&sid=abc")
	var req Request
	var resp Response
	ParseRequest(reqBuf, &req)    // sizes req.Headers
	ParseResponse(respBuf, &resp) // sizes resp.Headers

	tests := []struct {
		name string
		fn   func()
	}{
		{name: "ParseRequest", fn: func() { ParseRequest(reqBuf, &req) }},
		{name: "ParseRequest short", fn: func() { ParseRequest(reqBuf[:300], &req) }},
		{name: "ParseRequest error", fn: func() { ParseRequest(badBuf, &req) }},
		{name: "ParseResponse", fn: func() { ParseResponse(respBuf, &resp) }},
		{name: "ValidateRequest", fn: func() { ParseRequest(reqBuf, &req); ValidateRequest(&req) }},
		{name: "ValidateUpgrade", fn: func() { ParseRequest(reqBuf, &req); ValidateUpgrade(&req) }},
		{name: "ValidateUpgradeResponse", fn: func() { o := Offer{Key: key}; ValidateUpgradeResponse(&resp, &o) }},
		{name: "ChunkedScanner", fn: func() { var s ChunkedScanner; s.Scan(chunked) }},
		{name: "FrameScanner", fn: func() {
			var s FrameScanner
			for b := frames; len(b) > 0; {
				n, _, _, _ := s.Scan(b)
				b = b[n:]
			}
		}},
		{name: "CheckFrame", fn: func() { CheckFrame(ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true}, true) }},
		{name: "NormalizePath", fn: func() { NormalizePath(dst[:0], path) }},
		{name: "NormalizePath normal", fn: func() { NormalizePath(dst[:0], cleanPath) }},
		{name: "ConnectionHas", fn: func() { ConnectionHas(conn, "upgrade") }},
		{name: "IsHopByHop", fn: func() { IsHopByHop(name) }},
		{name: "CookieValue", fn: func() { CookieValue(cookie, "sticky") }},
		{name: "QueryValue", fn: func() { QueryValue(query, "sid") }},
		{name: "AppendAcceptKey", fn: func() { AppendAcceptKey(dst[:0], key) }},
		{name: "AppendStatusResponse", fn: func() { AppendStatusResponse(dst[:0], 400, "bad request line") }},
		{name: "AppendForwarded", fn: func() { AppendForwarded(dst[:0], netip.AddrFrom4([4]byte{192, 0, 2, 1}), "https") }},
		{name: "AppendRequestLine", fn: func() { AppendRequestLine(dst[:0], req.Method, req.URI, 1, 1) }},
		{name: "AppendFrame", fn: func() {
			AppendFrame(dst[:0], ws.Header{Fin: true, OpCode: ws.OpClose, Masked: true, Mask: mask},
				AppendClosePayload(dst[200:200], ws.StatusGoingAway, "bye"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tt.fn); got != 0 {
				t.Errorf("got %v allocs per run; want 0", got)
			}
		})
	}
}

// smallFrames returns about size bytes of masked binary frames with
// payloads of n bytes, as a client relays them.
func smallFrames(size, n int) []byte {
	payload := bytes.Repeat([]byte{'x'}, n)
	h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask}
	var b []byte
	for len(b) < size {
		b = AppendFrame(b, h, payload)
	}
	return b
}
