package codec

// NormalizePath returns the normal form of the path of a request-target
// (Request.Path: no query, no fragment). A proxy routes on it and sends it
// upstream, so that no backend, whatever it decodes or resolves, can take
// a request to a resource outside the route prefix the proxy matched (and
// the checks that route applies). The rules follow nginx's
// ngx_http_parse_complex_uri where it has one, and go further where
// common backends are more lenient than nginx:
//
//   - a percent-encoded unreserved character (RFC 3986 §2.3) is decoded:
//     "%2e" is ".", "%61" is "a" (RFC 3986 §6.2.2.2);
//   - "\", "%5C" and "%2F" separate segments as "/" does, and are written
//     as "/" (nginx on Windows takes "\" so; IIS, and backends that decode
//     before they route, take all three);
//   - any other escape is kept, its hex digits upper-cased (RFC 3986
//     §6.2.2.1); a "%" not followed by two hex digits, or "%00", is
//     ErrBadEscape;
//   - empty segments are merged ("//" is "/"), as nginx's merge_slashes;
//   - "." segments are dropped and ".." drops the segment before it (RFC
//     3986 §5.2.4); a segment whose part before its first ";" is "." or
//     ".." counts as one (Tomcat and Jetty strip such path parameters
//     before they resolve); ".." above the root is ErrPathAboveRoot;
//   - an empty path is "/".
//
// A path that is already normal is returned as it is, aliasing p: nothing
// is copied. Otherwise the normal form is written into dst's array from
// index 0 (grown if too small) and returned; it is never longer than
// len(p)+1. NormalizePath works on a whole path, which a complete head
// always holds, so it does not resume; it allocates only to grow dst.
// The errors wrap ErrMalformed.
func NormalizePath(dst, p []byte) ([]byte, error) {
	if pathIsNormal(p) {
		return p, nil
	}
	out := append(dst[:0], '/')
	i := 0
	for i < len(p) {
		if n := separatorLen(p[i:]); n > 0 {
			i += n // out ends in "/": separators merge
			continue
		}
		seg := len(out)
		for i < len(p) && separatorLen(p[i:]) == 0 {
			c := p[i]
			if c != '%' {
				out = append(out, c)
				i++
				continue
			}
			if i+2 >= len(p) || unhex(p[i+1]) < 0 || unhex(p[i+2]) < 0 {
				return nil, ErrBadEscape
			}
			switch d := byte(unhex(p[i+1])<<4 | unhex(p[i+2])); {
			case d == 0:
				return nil, ErrBadEscape
			case isUnreserved(d):
				out = append(out, d)
			default:
				out = append(out, '%', upperHex(p[i+1]), upperHex(p[i+2]))
			}
			i += 3
		}
		switch dotSegment(out[seg:]) {
		case 1: // "."
			out = out[:seg]
		case 2: // "..": back to the "/" before the previous segment
			if seg == 1 {
				return nil, ErrPathAboveRoot
			}
			j := seg - 2
			for out[j] != '/' {
				j--
			}
			out = out[:j+1]
		default:
			if i < len(p) { // a separator follows
				out = append(out, '/')
			}
		}
	}
	return out, nil
}

// pathIsNormal reports whether NormalizePath would return p unchanged:
// it starts with "/" and has no escape, no "\", no empty segment and no
// dot segment. This is the path of nearly every request.
func pathIsNormal(p []byte) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	for i, c := range p {
		switch c {
		case '%', '\\':
			return false
		case '/':
			if i+1 < len(p) && (p[i+1] == '/' || p[i+1] == '.' && dotSegment(segmentAt(p[i+1:])) != 0) {
				return false
			}
		}
	}
	return true
}

// segmentAt returns the bytes of p up to its first "/".
func segmentAt(p []byte) []byte {
	for i, c := range p {
		if c == '/' {
			return p[:i]
		}
	}
	return p
}

// separatorLen returns the length of the segment separator at the start
// of p ("/", "\", "%2F", "%5C"), or 0.
func separatorLen(p []byte) int {
	switch {
	case len(p) == 0:
		return 0
	case p[0] == '/' || p[0] == '\\':
		return 1
	case p[0] == '%' && len(p) >= 3 &&
		(p[1] == '2' && (p[2] == 'f' || p[2] == 'F') || p[1] == '5' && (p[2] == 'c' || p[2] == 'C')):
		return 3
	}
	return 0
}

// dotSegment reports whether a decoded segment is "." (1) or ".." (2),
// ignoring what follows a ";" in it; 0 otherwise.
func dotSegment(seg []byte) int {
	for i, c := range seg {
		if c == ';' {
			seg = seg[:i]
			break
		}
	}
	switch string(seg) {
	case ".":
		return 1
	case "..":
		return 2
	}
	return 0
}

// isUnreserved reports whether c is ALPHA / DIGIT / "-" / "." / "_" / "~"
// (RFC 3986 §2.3).
func isUnreserved(c byte) bool {
	return 'a' <= lower(c) && lower(c) <= 'z' || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
