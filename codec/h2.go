package codec

import "encoding/binary"

// HTTP/2 is not spoken here; these let an HTTP/1.1 server tell an HTTP/2
// client so in its own protocol instead of closing on it.

// H2Preface is the client connection preface of HTTP/2 with prior
// knowledge (RFC 9113 §3.4). Its first line parses as a request line
// "PRI * HTTP/2.0".
const H2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// IsH2Preface reports whether r, a parsed request head, is the start of the
// HTTP/2 connection preface.
func IsH2Preface(r *Request) bool {
	return r.Major == 2 && r.Minor == 0 && string(r.Method) == "PRI" && string(r.URI) == "*"
}

// H2HTTP11Required is the HTTP/2 error code HTTP_1_1_REQUIRED (RFC 9113
// §7): "use HTTP/1.1 for the request".
const H2HTTP11Required = 0xd

// AppendH2GoAway appends what a server that only speaks HTTP/1.1 sends an
// HTTP/2 client: its connection preface (an empty SETTINGS frame, RFC 9113
// §3.4) and a GOAWAY frame (§6.8) for last stream 0 with code and debug
// text, so the client reports the reason instead of an empty reply.
func AppendH2GoAway(dst []byte, code uint32, debug string) []byte {
	dst = appendH2FrameHeader(dst, 0, 0x4) // SETTINGS, no parameters
	dst = appendH2FrameHeader(dst, 8+len(debug), 0x7)
	dst = binary.BigEndian.AppendUint32(dst, 0) // last stream id
	dst = binary.BigEndian.AppendUint32(dst, code)
	return append(dst, debug...)
}

// appendH2FrameHeader appends a frame header for stream 0 with no flags.
func appendH2FrameHeader(dst []byte, length int, typ byte) []byte {
	return append(dst, byte(length>>16), byte(length>>8), byte(length), typ, 0, 0, 0, 0, 0)
}
