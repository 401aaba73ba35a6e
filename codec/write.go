package codec

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
	"strconv"
)

// The writers append to dst and return the extended slice, like
// strconv.Append*: with enough capacity in dst they allocate nothing. They
// do not check their arguments; values that came from ParseRequest or
// ParseResponse are already free of CR, LF and NUL.

// AppendRequestLine appends "method SP target SP HTTP/major.minor CRLF".
func AppendRequestLine(dst, method, target []byte, major, minor int) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	dst = append(dst, " HTTP/"...)
	dst = strconv.AppendInt(dst, int64(major), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(minor), 10)
	return append(dst, "\r\n"...)
}

// AppendHeader appends "name: value CRLF".
func AppendHeader(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendStatusLine appends "HTTP/1.1 status StatusText(status) CRLF".
func AppendStatusLine(dst []byte, status int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(status)...)
	return append(dst, "\r\n"...)
}

// AppendStatusResponse appends a complete plain-text response that the proxy
// sends on its own account, then closes the connection:
//
//	HTTP/1.1 400 Bad Request
//	Content-Type: text/plain; charset=utf-8
//	Content-Length: N
//	Connection: close
//
//	<reason>
//
// An empty reason is replaced by StatusText(status).
func AppendStatusResponse(dst []byte, status int, reason string) []byte {
	return AppendStatusResponseHeader(dst, status, reason, "")
}

// AppendStatusResponseHeader is AppendStatusResponse with extra header
// lines, each ending in CRLF (e.g. "Sec-WebSocket-Version: 13\r\n" with a
// 426), before the others.
func AppendStatusResponseHeader(dst []byte, status int, reason, extra string) []byte {
	if reason == "" {
		reason = StatusText(status)
	}
	dst = AppendStatusLine(dst, status)
	dst = append(dst, extra...)
	dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(reason)+1), 10)
	dst = append(dst, "\r\nConnection: close\r\n\r\n"...)
	dst = append(dst, reason...)
	return append(dst, '\n')
}

// AppendUpgradeResponse appends the 101 response accepting a WebSocket
// handshake whose Sec-WebSocket-Key is key, with no subprotocol or
// extension, as the echo backend sends it.
func AppendUpgradeResponse(dst, key []byte) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = AppendAcceptKey(dst, key)
	return append(dst, "\r\n\r\n"...)
}

// wsGUID is the fixed suffix of the accept key hash (RFC 6455 §1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKeyLen is the length of base64(sha1(...)).
const acceptKeyLen = 28

// AppendAcceptKey appends base64(SHA-1(key + GUID)), the
// Sec-WebSocket-Accept value for key (RFC 6455 §4.2.2). Keys up to 64 bytes
// (a valid one has 24) are hashed without allocating.
func AppendAcceptKey(dst, key []byte) []byte {
	var sum [sha1.Size]byte
	if len(key) <= 64 {
		var b [64 + len(wsGUID)]byte
		n := copy(b[:], key)
		n += copy(b[n:], wsGUID)
		sum = sha1.Sum(b[:n])
	} else {
		h := sha1.New()
		h.Write(key)
		h.Write([]byte(wsGUID))
		h.Sum(sum[:0])
	}
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// StatusText returns the reason phrase for code from RFC 9110 §15 (and
// RFC 6585 for 428, 429, 431), or "" for a code not registered there.
func StatusText(code int) string { return statusText[code] }

var statusText = map[int]string{
	100: "Continue",
	101: "Switching Protocols",
	200: "OK",
	201: "Created",
	202: "Accepted",
	203: "Non-Authoritative Information",
	204: "No Content",
	205: "Reset Content",
	206: "Partial Content",
	300: "Multiple Choices",
	301: "Moved Permanently",
	302: "Found",
	303: "See Other",
	304: "Not Modified",
	305: "Use Proxy",
	307: "Temporary Redirect",
	308: "Permanent Redirect",
	400: "Bad Request",
	401: "Unauthorized",
	402: "Payment Required",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	406: "Not Acceptable",
	407: "Proxy Authentication Required",
	408: "Request Timeout",
	409: "Conflict",
	410: "Gone",
	411: "Length Required",
	412: "Precondition Failed",
	413: "Content Too Large",
	414: "URI Too Long",
	415: "Unsupported Media Type",
	416: "Range Not Satisfiable",
	417: "Expectation Failed",
	421: "Misdirected Request",
	422: "Unprocessable Content",
	426: "Upgrade Required",
	428: "Precondition Required",
	429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	500: "Internal Server Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Gateway Timeout",
	505: "HTTP Version Not Supported",
}

// AppendForwarded appends a Forwarded element (RFC 7239) naming the peer a
// request came from and its protocol, "for=192.0.2.1;proto=https", an IPv6
// address quoted in brackets (§6): "for=\"[2001:db8::1]\";proto=http".
func AppendForwarded(dst []byte, peer netip.Addr, proto string) []byte {
	dst = append(dst, "for="...)
	if peer.Is6() {
		dst = append(peer.AppendTo(append(dst, `"[`...)), `]"`...)
	} else {
		dst = peer.AppendTo(dst)
	}
	return append(append(dst, ";proto="...), proto...)
}
