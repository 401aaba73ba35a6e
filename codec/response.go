package codec

import "bytes"

// BodyKind says how a message body is delimited (RFC 9112 §6.3).
type BodyKind int

// Body kinds, as returned by (*Request).Body and (*Response).Body.
const (
	// BodyNone: no body bytes follow the head.
	BodyNone BodyKind = iota
	// BodyLength: exactly the returned number of bytes follow.
	BodyLength
	// BodyChunked: a chunked body follows; ChunkedScanner finds its end.
	BodyChunked
	// BodyUntilClose: the body runs until the sender closes the connection.
	BodyUntilClose
)

var bodyKindNames = [...]string{"none", "length", "chunked", "until-close"}

// String returns a lower-case name for logs.
func (k BodyKind) String() string {
	if k < 0 || int(k) >= len(bodyKindNames) {
		return "BodyKind(?)"
	}
	return bodyKindNames[k]
}

// Response is a parsed response head. Its slices alias the buffer given to
// ParseResponse, with the same lifetime and reuse rules as Request.
type Response struct {
	Proto        []byte // "HTTP/1.1" as sent
	Major, Minor int
	Status       int    // three digits; ValidateResponse wants 100-599
	Reason       []byte // may be empty
	Headers      []Header

	// MaxHeaders is the most field lines ParseResponse accepts; zero means
	// the package's MaxHeaders. It survives ParseResponse, as Headers does.
	MaxHeaders int

	// ContentLength is the first Content-Length; -1 if absent, not a
	// number, or overridden by Transfer-Encoding (RFC 9112 §6.3 rule 3).
	ContentLength int64
	// Chunked is set if the last Transfer-Encoding ends in "chunked".
	Chunked bool
	// Close and Upgrade are derived as for Request.
	Close, Upgrade bool
	// WSAccept is Sec-WebSocket-Accept, checked by ValidateUpgradeResponse.
	WSAccept []byte
}

// ParseResponse parses the response head at the start of buf into r, with
// the same contract as ParseRequest: n through the empty line, ErrShort if
// incomplete, ErrMalformed or ErrTooManyHeaders for garbage. Empty lines
// before the status line are not skipped. Call ValidateResponse for framing.
func ParseResponse(buf []byte, r *Response) (n int, err error) {
	hs := r.Headers[:0]
	if hs == nil {
		hs = make([]Header, 0, 16)
	}
	*r = Response{Headers: hs, MaxHeaders: r.MaxHeaders, ContentLength: -1}

	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 {
		if !statusPrefixOK(buf) {
			return 0, ErrBadStatusLine
		}
		return 0, ErrShort
	}
	end := nl
	if end > 0 && buf[end-1] == '\r' {
		end--
	}
	if err := r.parseLine(buf[:end]); err != nil {
		return 0, err
	}

	var f fields
	f.contentLength = -1
	r.Headers, n, err = parseFields(buf, nl+1, r.Headers, r.MaxHeaders, &f)
	if err != nil {
		return 0, err
	}
	if !f.te {
		r.ContentLength = f.contentLength
	}
	r.Chunked = f.chunked
	r.Close = f.connClose || !atLeast11(r.Major, r.Minor) && !f.connKeepAlive
	r.Upgrade = f.connUpgrade && f.upgradeWS
	r.WSAccept = f.wsAccept
	return n, nil
}

// statusPrefixOK reports whether p, the start of an incomplete status line,
// can still begin with "HTTP/".
func statusPrefixOK(p []byte) bool {
	const proto = "HTTP/"
	if len(p) > len(proto) {
		p = p[:len(proto)]
	}
	return string(p) == proto[:len(p)]
}

// parseLine parses status-line = HTTP-version SP status-code SP
// [reason-phrase]; like most parsers it also takes a missing second SP.
func (r *Response) parseLine(line []byte) error {
	if len(line) < 5 || string(line[:5]) != "HTTP/" {
		return ErrBadStatusLine
	}
	if len(line) < 8 {
		return ErrBadVersion
	}
	major, minor, ok := parseVersion(line[:8])
	if !ok {
		return ErrBadVersion
	}
	if len(line) < 12 || line[8] != ' ' ||
		!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) ||
		len(line) > 12 && line[12] != ' ' {
		return ErrBadStatusLine
	}
	var reason []byte
	if len(line) > 12 {
		reason = line[13:]
	}
	for _, c := range reason {
		if c < ' ' && c != '\t' || c == 0x7f {
			return ErrBadStatusLine
		}
	}
	r.Proto, r.Major, r.Minor = line[:8:8], major, minor
	r.Status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	r.Reason = reason
	return nil
}

// Body reports how the response body is delimited (RFC 9112 §6.3), given
// the method of the request it answers: nothing after HEAD, 1xx (101
// included: the connection switches protocols), 204, 304 or a 2xx to
// CONNECT; then chunked; then Content-Length; else until close. Call it
// after ValidateResponse, which refuses Content-Length with
// Transfer-Encoding.
func (r *Response) Body(reqMethod []byte) (BodyKind, int64) {
	switch {
	case string(reqMethod) == "HEAD", r.Status < 200, r.Status == 204, r.Status == 304:
		return BodyNone, 0
	case string(reqMethod) == "CONNECT" && r.Status < 300:
		return BodyNone, 0
	case r.Chunked:
		return BodyChunked, -1
	case r.ContentLength == 0:
		return BodyNone, 0
	case r.ContentLength > 0:
		return BodyLength, r.ContentLength
	default:
		return BodyUntilClose, -1
	}
}
