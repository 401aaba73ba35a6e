package codec

import "errors"

// Error categories. Every error this package returns is one of these or wraps
// exactly one of them, so callers map errors.Is(err, ErrX) to a response; the
// package doc has the suggested mapping.
var (
	// ErrShort means the buffer ends before the head does: read more bytes
	// and parse again. The caller enforces its own head size limit (431).
	ErrShort = errors.New("codec: incomplete head")

	// ErrMalformed means the head is not HTTP/1.x syntax.
	ErrMalformed = errors.New("codec: malformed head")

	// ErrTooManyHeaders means the head has more than MaxHeaders field lines.
	ErrTooManyHeaders = errors.New("codec: too many header fields")

	// ErrInvalid means the head parsed but its framing or version cannot be
	// proxied safely (ValidateRequest, ValidateResponse).
	ErrInvalid = errors.New("codec: invalid message")

	// ErrBadHandshake means a request or response is not an acceptable
	// WebSocket opening handshake (ValidateUpgrade, ValidateUpgradeResponse).
	ErrBadHandshake = errors.New("codec: bad websocket handshake")

	// ErrMalformedChunk means a chunked body does not follow RFC 9112 §7.1.
	ErrMalformedChunk = errors.New("codec: malformed chunked body")

	// ErrProtocol means a WebSocket frame breaks RFC 6455; the connection is
	// failed with close code 1002 (ws.StatusProtocolError).
	ErrProtocol = errors.New("codec: websocket protocol error")
)

// Reasons for ErrMalformed.
var (
	ErrBadMethod      = reason(ErrMalformed, "method is not a token")
	ErrBadTarget      = reason(ErrMalformed, "bad request-target")
	ErrBadRequestLine = reason(ErrMalformed, "bad request line")
	ErrBadStatusLine  = reason(ErrMalformed, "bad status line")
	ErrBadVersion     = reason(ErrMalformed, "bad HTTP version")
	ErrBadHeaderName  = reason(ErrMalformed, "bad header name")
	ErrBadHeaderValue = reason(ErrMalformed, "control character in header value")
	ErrObsFold        = reason(ErrMalformed, "obsolete line folding")
	ErrBadLineEnd     = reason(ErrMalformed, "CR not followed by LF")
	ErrBadEscape      = reason(ErrMalformed, "bad percent-encoding in path")
	ErrPathAboveRoot  = reason(ErrMalformed, "path goes above the root")
)

// Reasons for ErrInvalid. ErrUnsupportedVersion maps to 505 and
// ErrUnknownTransferCoding to 501 (RFC 9112 §6.1).
var (
	ErrUnsupportedVersion  = reason(ErrInvalid, "unsupported HTTP version")
	ErrMissingHost         = reason(ErrInvalid, "missing Host")
	ErrDuplicateHost       = reason(ErrInvalid, "more than one Host")
	ErrBadHost             = reason(ErrInvalid, "bad Host")
	ErrBadStatus           = reason(ErrInvalid, "status code out of range")
	ErrLengthAndChunked    = reason(ErrInvalid, "both Content-Length and Transfer-Encoding")
	ErrConflictingLength   = reason(ErrInvalid, "conflicting Content-Length")
	ErrBadContentLength    = reason(ErrInvalid, "bad Content-Length")
	ErrBadTransferEncoding = reason(ErrInvalid, "Transfer-Encoding names chunked more than once or nothing")
	ErrTransferEncoding10  = reason(ErrInvalid, "Transfer-Encoding in HTTP/1.0")
	// ErrUnknownTransferCoding: a coding other than chunked, which the
	// proxy does not forward (it writes the framing header itself).
	ErrUnknownTransferCoding = reason(ErrInvalid, "transfer coding other than chunked")
)

// Reasons for ErrBadHandshake. ErrUnsupportedWSVersion maps to 426 with
// "Sec-WebSocket-Version: 13" (RFC 6455 §4.4).
var (
	ErrHandshakeMethod      = reason(ErrBadHandshake, "method is not GET")
	ErrHandshakeVersion     = reason(ErrBadHandshake, "HTTP/1.1 required")
	ErrHandshakeUpgrade     = reason(ErrBadHandshake, "missing Connection: upgrade or Upgrade: websocket")
	ErrMissingWSKey         = reason(ErrBadHandshake, "missing Sec-WebSocket-Key")
	ErrBadWSKey             = reason(ErrBadHandshake, "bad Sec-WebSocket-Key")
	ErrUnsupportedWSVersion = reason(ErrBadHandshake, "unsupported Sec-WebSocket-Version")
	ErrHandshakeStatus      = reason(ErrBadHandshake, "status is not 101")
	ErrBadWSAccept          = reason(ErrBadHandshake, "bad Sec-WebSocket-Accept")
	ErrManyProtocols        = reason(ErrBadHandshake, "more than one subprotocol selected")
	ErrUnofferedProtocol    = reason(ErrBadHandshake, "subprotocol the client did not offer")
	ErrBadExtensions        = reason(ErrBadHandshake, "malformed Sec-WebSocket-Extensions")
	ErrUnofferedExtension   = reason(ErrBadHandshake, "extension the client did not offer")
)

// Reasons for ErrMalformedChunk.
var (
	ErrChunkSize         = reason(ErrMalformedChunk, "bad chunk size")
	ErrChunkSizeOverflow = reason(ErrMalformedChunk, "chunk size overflows int64")
	ErrChunkExtension    = reason(ErrMalformedChunk, "bad chunk extension")
	ErrChunkLineTooLong  = reason(ErrMalformedChunk, "chunk line too long")
	ErrChunkCRLF         = reason(ErrMalformedChunk, "missing CRLF")
	ErrChunkTrailer      = reason(ErrMalformedChunk, "bad trailer field")
)

// Reasons for ErrProtocol.
var (
	ErrMaskRequired           = reason(ErrProtocol, "client frame not masked")
	ErrMaskUnexpected         = reason(ErrProtocol, "server frame masked")
	ErrControlTooLong         = reason(ErrProtocol, "control frame payload over 125 bytes")
	ErrControlFragmented      = reason(ErrProtocol, "control frame not final")
	ErrCloseLength            = reason(ErrProtocol, "close frame payload of 1 byte")
	ErrReservedOpCode         = reason(ErrProtocol, "reserved opcode")
	ErrReservedBits           = reason(ErrProtocol, "RSV bits set without a negotiated extension")
	ErrRsvPlacement           = reason(ErrProtocol, "RSV1 on a continuation or control frame")
	ErrFrameLength            = reason(ErrProtocol, "64-bit payload length with most significant bit set")
	ErrContinuationExpected   = reason(ErrProtocol, "data frame inside fragmented message")
	ErrContinuationUnexpected = reason(ErrProtocol, "continuation frame outside fragmented message")
	ErrCloseCode              = reason(ErrProtocol, "close code not allowed on the wire")
	ErrCloseReason            = reason(ErrProtocol, "close reason not UTF-8")
)

// reasonError is a category sentinel with a reason. The values are built
// once at init, so returning one allocates nothing on the hot path.
type reasonError struct {
	msg string
	err error
}

func reason(category error, why string) error {
	return &reasonError{msg: category.Error() + ": " + why, err: category}
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.err }
