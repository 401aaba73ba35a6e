package codec

import "encoding/base64"

// ValidateRequest checks what a proxy needs of a parsed request before it
// forwards it, mostly to keep client, proxy and backend agreeing on where
// the body ends (request smuggling, RFC 9112 §6.1 and §6.3):
//
//   - HTTP/1.x only (ErrUnsupportedVersion, 505); a minor version above 1
//     is taken as 1.1 (RFC 9110 §6.2);
//   - exactly one Host from 1.1 on, and a plausible value; the authority
//     of an absolute-form target must be host [ ":" port ] with a host
//     (RFC 9112 §3.2.2: it replaces Host);
//   - Content-Length values all valid and equal;
//   - not both Content-Length and Transfer-Encoding;
//   - Transfer-Encoding only from 1.1 on, and naming chunked alone, once:
//     any other coding is ErrUnknownTransferCoding (501), as nginx
//     answers, since the proxy writes the framing header itself and would
//     otherwise drop the coding.
//
// It walks r.Headers itself rather than trusting the derived fields, so it
// holds for a Request built by hand too. The errors wrap ErrInvalid.
func ValidateRequest(r *Request) error {
	if r.Major != 1 {
		return ErrUnsupportedVersion
	}
	hosts := 0
	for _, h := range r.Headers {
		if len(h.Name) == 4 && EqualFold(h.Name, "host") {
			if !validHost(h.Value) {
				return ErrBadHost
			}
			hosts++
		}
	}
	switch {
	case hosts > 1:
		return ErrDuplicateHost
	case hosts == 0 && r.Minor >= 1:
		return ErrMissingHost
	case r.AbsoluteForm() && !validAuthority(r.Host):
		return ErrBadHost
	}
	return checkFraming(r.Headers, r.Minor == 0)
}

// ValidateResponse checks a parsed response from a backend the same way:
// HTTP/1.x, status 100-599, and unambiguous framing that a proxy can
// write again from its own parse: one Content-Length value, or
// Transfer-Encoding naming chunked alone. A coding other than chunked is
// ErrUnknownTransferCoding even though RFC 9112 §6.3 lets such a body run
// until close: the proxy could not forward it without the coding, and
// nginx (1.23 on) refuses it too.
func ValidateResponse(r *Response) error {
	if r.Major != 1 {
		return ErrUnsupportedVersion
	}
	if r.Status < 100 || r.Status > 599 {
		return ErrBadStatus
	}
	return checkFraming(r.Headers, r.Minor == 0)
}

// checkFraming applies the Content-Length and Transfer-Encoding rules.
func checkFraming(hs []Header, http10 bool) error {
	cl := int64(-1)
	te, chunked, other := false, 0, false
	for _, h := range hs {
		switch {
		case len(h.Name) == 14 && EqualFold(h.Name, "content-length"):
			n := parseLength(h.Value)
			if n < 0 {
				return ErrBadContentLength
			}
			if cl >= 0 && n != cl {
				return ErrConflictingLength
			}
			cl = n
		case len(h.Name) == 17 && EqualFold(h.Name, "transfer-encoding"):
			te = true
			for e, rest := nextElem(h.Value); e != nil; e, rest = nextElem(rest) {
				if EqualFold(e, "chunked") {
					chunked++
				} else {
					other = true
				}
			}
		}
	}
	switch {
	case !te:
		return nil
	case cl >= 0:
		return ErrLengthAndChunked
	case http10:
		return ErrTransferEncoding10
	case other:
		return ErrUnknownTransferCoding
	case chunked != 1: // RFC 9112 §7: chunked is applied once
		return ErrBadTransferEncoding
	}
	return nil
}

// validHost reports whether v can be a Host value: uri-host [ ":" port ]
// (RFC 9110 §7.2), checked by character only. Routing keys on this value, so
// what reaches the balancer must not carry paths, userinfo or spaces.
func validHost(v []byte) bool {
	for _, c := range v {
		if !hostChar[c] {
			return false
		}
	}
	return true
}

// hostChar holds unreserved, sub-delims, pct-encoded's '%', and ':' '[' ']'
// for ports and IP literals (RFC 3986 §3.2.2).
var hostChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~%!$&'()*+,;=:[]" {
		t[c] = true
	}
	return t
}()

// validAuthority reports whether v is host [ ":" port ] with a non-empty
// host: an IP literal in brackets or a reg-name (RFC 3986 §3.2), and a
// port of digits. Userinfo is refused (RFC 9110 §4.2.4).
func validAuthority(v []byte) bool {
	host, port := v, []byte(nil)
	if len(v) > 0 && v[0] == '[' {
		j := 1
		for j < len(v) && v[j] != ']' {
			if c := v[j]; unhex(c) < 0 && c != ':' && c != '.' {
				return false
			}
			j++
		}
		if j == len(v) || j == 1 {
			return false
		}
		if rest := v[j+1:]; len(rest) > 0 {
			if rest[0] != ':' {
				return false
			}
			port = rest[1:]
		}
	} else {
		for j := len(v) - 1; j >= 0; j-- {
			if v[j] == ':' {
				host, port = v[:j], v[j+1:]
				break
			}
		}
		if len(host) == 0 {
			return false
		}
		for _, c := range host {
			if !hostChar[c] || c == ':' || c == '[' || c == ']' {
				return false
			}
		}
	}
	if len(port) > 5 {
		return false
	}
	for _, c := range port {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// ValidateUpgrade checks a WebSocket opening handshake (RFC 6455 §4.2.1):
// GET, HTTP/1.1 or later, Connection: upgrade with Upgrade: websocket, one
// Sec-WebSocket-Key that is base64 of 16 bytes, and Sec-WebSocket-Version
// 13. Call it after ValidateRequest. The errors wrap ErrBadHandshake;
// ErrUnsupportedWSVersion maps to 426.
func ValidateUpgrade(r *Request) error {
	switch {
	case string(r.Method) != "GET":
		return ErrHandshakeMethod
	case !atLeast11(r.Major, r.Minor):
		return ErrHandshakeVersion
	case !r.Upgrade:
		return ErrHandshakeUpgrade
	case r.WSKey == nil:
		return ErrMissingWSKey
	case !validKey(r.WSKey):
		return ErrBadWSKey
	case string(r.WSVersion) != "13":
		return ErrUnsupportedWSVersion
	}
	keys := 0
	for _, h := range r.Headers {
		if len(h.Name) == 17 && EqualFold(h.Name, "sec-websocket-key") {
			keys++
		}
	}
	if keys > 1 { // RFC 6455 §11.3.1: MUST NOT appear more than once
		return ErrBadWSKey
	}
	return nil
}

// validKey reports whether k is the base64 of 16 bytes (24 characters).
func validKey(k []byte) bool {
	var raw [18]byte
	if len(k) != 24 {
		return false
	}
	n, err := base64.StdEncoding.Decode(raw[:], k)
	return err == nil && n == 16
}
