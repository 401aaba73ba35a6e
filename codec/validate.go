package codec

import "encoding/base64"

// ValidateRequest checks what a proxy needs of a parsed request before it
// forwards it, mostly to keep client, proxy and backend agreeing on where
// the body ends (request smuggling, RFC 9112 §6.1 and §6.3):
//
//   - HTTP/1.x only (ErrUnsupportedVersion, 505); a minor version above 1
//     is taken as 1.1 (RFC 9110 §6.2);
//   - exactly one Host from 1.1 on, and a plausible value, also for the
//     authority of an absolute-form target;
//   - Content-Length values all valid and equal;
//   - not both Content-Length and Transfer-Encoding;
//   - Transfer-Encoding only from 1.1 on, ending in chunked, chunked once.
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
	case !validHost(r.Host): // the authority of an absolute-form target
		return ErrBadHost
	}
	return checkFraming(r.Headers, r.Minor == 0, true)
}

// ValidateResponse checks a parsed response from a backend the same way:
// HTTP/1.x, status 100-599, and unambiguous framing. A Transfer-Encoding
// that does not end in chunked is allowed (the body runs until close). Nginx
// refuses Content-Length with Transfer-Encoding from upstreams too.
func ValidateResponse(r *Response) error {
	if r.Major != 1 {
		return ErrUnsupportedVersion
	}
	if r.Status < 100 || r.Status > 599 {
		return ErrBadStatus
	}
	return checkFraming(r.Headers, r.Minor == 0, false)
}

// checkFraming applies the Content-Length and Transfer-Encoding rules.
func checkFraming(hs []Header, http10, request bool) error {
	cl := int64(-1)
	te, chunkedLast := false, false
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
				if chunkedLast { // RFC 9112 §7: chunked is applied once, last
					return ErrBadTransferEncoding
				}
				chunkedLast = EqualFold(e, "chunked")
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
	case request && !chunkedLast:
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
