// Package codec reads and writes the bytes wsproxy relays: HTTP/1.1 request
// and response heads, chunked bodies, WebSocket frame headers, and the PROXY
// header and TLS ClientHello records in front of a connection. It knows
// bytes, not sockets: every function works on a []byte the caller owns.
//
// # Parsing in place
//
// ParseRequest and ParseResponse parse a head at the start of the caller's
// read buffer without copying. The slices in Request and Response alias that
// buffer and stay valid until it is modified or reused (compacted, refilled,
// returned to a pool); copy what must outlive it. A head that has not fully
// arrived yields ErrShort; the caller reads more and parses the same bytes
// again from the start, bounding the head size itself.
//
// Parsing checks syntax only. ValidateRequest, ValidateResponse and
// ValidateUpgrade check semantics (version, Host, body framing, handshake)
// on the parsed value, so a caller can log or answer a syntactically valid
// but refused message with the right status. NormalizePath puts a request
// path in the one form a proxy routes on and forwards (dot segments, "//",
// "\", %2e, %2f resolved); it works on the complete path and does not
// resume. CookieValue and QueryValue find a name in a Cookie field or a
// raw query string (the keys of sticky balancing) and return a slice of it.
//
// # Following bodies and frames
//
// ChunkedScanner and FrameScanner are small state machines that a relay
// feeds with each read as it arrives. They never copy, unmask or decode:
// they report where a chunked body ends and where each frame header is,
// and the caller forwards the bytes untouched. Both resume at any split
// point, so the caller never has to keep bytes back for them.
//
// # Allocation
//
// Parsers, scanners and validators allocate nothing once a Request's or
// Response's Headers array has grown to fit (the first parse sizes it for
// 16 fields); the writers allocate only when dst lacks capacity. The tests
// prove this with testing.AllocsPerRun.
//
// # Errors
//
// Every error is a sentinel from errors.go, prefixed "codec: ", and wraps
// one category; the suggested mapping for the proxy's error-to-status
// function:
//
//	ErrShort                 need more bytes (431 once over the head limit)
//	ErrMalformed             400 (502 if from a backend)
//	ErrTooManyHeaders        431 (502 if from a backend)
//	ErrInvalid               400 (502 if from a backend)
//	  ErrUnsupportedVersion  505
//	  ErrUnknownTransferCoding 501 (502 if from a backend)
//	ErrBadHandshake          400
//	  ErrUnsupportedWSVersion 426 with "Sec-WebSocket-Version: 13"
//	ErrMalformedChunk        400 request body, 502 response body
//	ErrProtocol              close 1002 (ws.StatusProtocolError)
package codec
