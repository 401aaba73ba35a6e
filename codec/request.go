package codec

import "bytes"

// Request is a parsed request head. Every slice aliases the buffer given to
// ParseRequest and is valid until that buffer is modified or reused; the
// slices are capped, so appending to one copies instead of overwriting the
// buffer. A Request is reused across parses: keep it (and its Headers
// array) per connection or per loop.
type Request struct {
	Method []byte // a token, case-sensitive ("GET")
	URI    []byte // the request-target as sent

	// Path and Query split URI at the first '?'; Query excludes it, and
	// both end before a '#': a fragment is never part of a request (RFC
	// 9112 §3.2) and is not forwarded. For an absolute-form target
	// ("http://h/p?q") Path is the path part ("/p", empty if there is
	// none); for authority-form ("h:443") both are nil.
	Path, Query []byte

	Major, Minor int // HTTP version; ValidateRequest accepts 1.x only

	// Headers holds the field lines in order. ParseRequest truncates it to
	// zero and appends, so its array is reused; more than MaxHeaders lines
	// is ErrTooManyHeaders.
	Headers []Header

	// MaxHeaders is the most field lines ParseRequest accepts; zero means
	// the package's MaxHeaders. Like Headers it survives ParseRequest, so
	// set it once on a Request that is reused.
	MaxHeaders int

	// Derived from Headers in the same pass, taking the first field of each
	// name unless said otherwise. ValidateRequest checks what these assume.

	// Host is the Host value, or the authority of an absolute-form target,
	// which RFC 9112 §3.2.2 says wins over Host. Nil if neither is present.
	Host []byte
	// ContentLength is the first Content-Length, -1 if absent or not a
	// decimal number.
	ContentLength int64
	// Chunked is set if the last Transfer-Encoding ends in "chunked".
	Chunked bool
	// Close is set if Connection lists "close", or the version is below 1.1
	// and Connection does not list "keep-alive".
	Close bool
	// Upgrade is set if Connection lists "upgrade" and Upgrade lists
	// "websocket", both case-insensitively.
	Upgrade bool
	// WSKey and WSVersion are Sec-WebSocket-Key and Sec-WebSocket-Version.
	WSKey, WSVersion []byte
}

// ParseRequest parses the request head at the start of buf into r and
// returns its length, through the empty line that ends it. Lines may end in
// CRLF or a bare LF; empty lines before the request line are skipped and
// counted in n (RFC 9112 §2.2).
//
// If buf holds no complete head yet, ParseRequest returns ErrShort: call it
// again on the same bytes with more appended. It starts over each time; the
// caller bounds the head size (431). It returns ErrMalformed (wrapped with a
// reason) or ErrTooManyHeaders as soon as a complete line, or the method, is
// wrong, so garbage is refused without waiting for the end of the head.
//
// On error, r holds partial results and must not be used. ParseRequest only
// checks syntax; call ValidateRequest for framing and version.
func ParseRequest(buf []byte, r *Request) (n int, err error) {
	hs := r.Headers[:0]
	if hs == nil {
		hs = make([]Header, 0, 16)
	}
	*r = Request{Headers: hs, MaxHeaders: r.MaxHeaders, ContentLength: -1}

	i := 0
	for i < len(buf) {
		if buf[i] == '\n' {
			i++
		} else if buf[i] == '\r' && i+1 < len(buf) && buf[i+1] == '\n' {
			i += 2
		} else {
			break
		}
	}
	nl := bytes.IndexByte(buf[i:], '\n')
	if nl < 0 {
		// Refuse a bad method early (a TLS ClientHello, say); the same
		// bytes give the same error once the line is complete.
		if !methodPrefixOK(buf[i:]) {
			return 0, ErrBadMethod
		}
		return 0, ErrShort
	}
	end, next := i+nl, i+nl+1
	if end > i && buf[end-1] == '\r' {
		end--
	}
	if err := r.parseLine(buf[i:end]); err != nil {
		return 0, err
	}

	var f fields
	f.contentLength = -1
	r.Headers, n, err = parseFields(buf, next, r.Headers, r.MaxHeaders, &f)
	if err != nil {
		return 0, err
	}
	if r.Host == nil {
		r.Host = f.host
	}
	r.ContentLength = f.contentLength
	r.Chunked = f.chunked
	r.Close = f.connClose || !atLeast11(r.Major, r.Minor) && !f.connKeepAlive
	r.Upgrade = f.connUpgrade && f.upgradeWS
	r.WSKey, r.WSVersion = f.wsKey, f.wsVersion
	return n, nil
}

// methodPrefixOK reports whether p, the start of an incomplete request line,
// can still begin with method SP.
func methodPrefixOK(p []byte) bool {
	m := tokenLen(p)
	if m == len(p) {
		return true
	}
	// A lone CR at the end may yet be an empty line's CRLF.
	return m > 0 && p[m] == ' ' || m == 0 && len(p) == 1 && p[0] == '\r'
}

// parseLine parses request-line = method SP request-target SP HTTP-version.
func (r *Request) parseLine(line []byte) error {
	m := tokenLen(line)
	if m == 0 || m == len(line) || line[m] != ' ' {
		return ErrBadMethod
	}
	rest := line[m+1:]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return ErrBadRequestLine
	}
	target := rest[:sp:sp]
	if len(target) == 0 {
		return ErrBadTarget
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return ErrBadTarget
		}
	}
	major, minor, ok := parseVersion(rest[sp+1:])
	if !ok {
		return ErrBadVersion
	}
	r.Method, r.URI, r.Major, r.Minor = line[:m:m], target, major, minor
	r.splitTarget(target)
	return nil
}

// splitTarget fills Path, Query and, for absolute-form, Host.
func (r *Request) splitTarget(t []byte) {
	if t[0] != '/' {
		if len(t) == 1 && t[0] == '*' {
			r.Path = t
			return
		}
		s := schemeLen(t)
		if s == 0 || len(t) < s+3 || string(t[s:s+3]) != "://" {
			return // authority-form, or a target the backend will refuse
		}
		t = t[s+3:]
		a := 0
		for a < len(t) && t[a] != '/' && t[a] != '?' {
			a++
		}
		r.Host, t = t[:a:a], t[a:]
	}
	if h := bytes.IndexByte(t, '#'); h >= 0 {
		t = t[:h:h]
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		r.Path, r.Query = t[:q:q], t[q+1:]
		return
	}
	r.Path = t
}

// AbsoluteForm reports whether the request-target is absolute-form
// ("http://h/p"): then Host is its authority, which replaces the Host
// field (RFC 9112 §3.2.2).
func (r *Request) AbsoluteForm() bool {
	return len(r.URI) > 0 && r.URI[0] != '/' && r.Path != nil && !(len(r.URI) == 1 && r.URI[0] == '*')
}

// Idempotent reports whether the method is one RFC 9110 §9.2.2 defines as
// idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), so that a proxy may
// send the request again after a connection failed before any answer.
// Other methods, including ones unknown here, are not.
func (r *Request) Idempotent() bool {
	switch string(r.Method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// schemeLen returns the length of the URI scheme at the start of t
// (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), RFC 3986 §3.1), or 0.
func schemeLen(t []byte) int {
	for i, c := range t {
		switch {
		case 'a' <= lower(c) && lower(c) <= 'z':
		case i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'):
		default:
			return i
		}
	}
	return len(t)
}

// tokenLen returns how many bytes at the start of p are token characters.
func tokenLen(p []byte) int {
	for i, c := range p {
		if !isToken(c) {
			return i
		}
	}
	return len(p)
}

func atLeast11(major, minor int) bool { return major > 1 || major == 1 && minor >= 1 }

// Body reports how the request body is framed (RFC 9112 §6.3): chunked,
// Content-Length bytes, or none. It trusts the derived fields, so call it
// after ValidateRequest, which refuses the ambiguous cases.
func (r *Request) Body() (BodyKind, int64) {
	switch {
	case r.Chunked:
		return BodyChunked, -1
	case r.ContentLength > 0:
		return BodyLength, r.ContentLength
	default:
		return BodyNone, 0
	}
}
