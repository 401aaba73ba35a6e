package balance

// Engine.IO handshake parsing for policy sid. The backend answers a new
// session's first request (GET /socket.io/?EIO=4&transport=polling, no sid)
// with an "open" packet, type '0', whose JSON names the session:
//
//	v4 (Socket.IO 3, 4):  0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,...}
//	                      more packets may follow after a \x1e separator
//	v3 (Socket.IO 2):     97:0{"sid":"lv_VI97HAXpY6yYWAAAC",...}2:40
//	                      each packet prefixed with its length and ':'
//
// The same packet is the first WebSocket message of a session opened
// directly over WebSocket. A bare JSON object {"sid":...} is accepted too,
// for handshakes relayed in a plain JSON body.

// maxSidLen bounds an accepted sid. Engine.IO's own are 20 bytes; custom
// generateId functions produce UUIDs and the like.
const maxSidLen = 128

// ParseEngineIOHandshake returns the session id of an Engine.IO open packet
// at the start of body (v4, v3 with its length prefix, or a bare JSON
// object). Only the top-level "sid" member counts, and only when it is a
// string of 1 to 128 printable ASCII bytes without escapes, the characters a
// client repeats verbatim in ?sid=. sid aliases body (with its capacity cut
// to its length) and is valid as long as body is unchanged. Parsing stops
// at the sid member, so what follows it, such as further packets, is never
// looked at. It does not allocate.
func ParseEngineIOHandshake(body []byte) (sid []byte, ok bool) {
	b := body
	if n := lengthPrefix(b); n > 0 {
		b = b[n:]
		if len(b) == 0 || b[0] != '0' {
			return nil, false // a v3 payload must open with the open packet
		}
	}
	if len(b) > 0 && b[0] == '0' {
		b = b[1:]
	}
	return jsonSid(b)
}

// lengthPrefix returns the length of a v3 "DIGITS:" prefix of b, or 0.
func lengthPrefix(b []byte) int {
	for i := 0; i < len(b) && i <= 10; i++ {
		switch c := b[i]; {
		case c == ':' && i > 0:
			return i + 1
		case c < '0' || c > '9':
			return 0
		}
	}
	return 0
}

// jsonSid scans the JSON object at the start of b (after white space) for
// a top-level "sid" string member, skipping every other member's value
// without interpreting it.
func jsonSid(b []byte) ([]byte, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return nil, false // also "}": an object without sid
		}
		ks, ke, next, plain := scanString(b, i)
		if next < 0 {
			return nil, false
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		if plain && string(b[ks:ke]) == "sid" {
			if i >= len(b) || b[i] != '"' {
				return nil, false
			}
			vs, ve, next, plain := scanString(b, i)
			if next < 0 || !plain || !validSid(b[vs:ve]) {
				return nil, false
			}
			return b[vs:ve:ve], true
		}
		if i = skipValue(b, i); i < 0 {
			return nil, false
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return nil, false // "}" or garbage: no sid
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString scans the JSON string whose opening quote is b[i]. It returns
// the bounds of its raw content, the index after the closing quote (-1 when
// unterminated or holding a control byte) and whether it had no escapes.
func scanString(b []byte, i int) (start, end, next int, plain bool) {
	plain = true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return i + 1, j, j + 1, plain
		case c == '\\':
			plain = false
			j++
		case c < 0x20:
			return 0, 0, -1, false
		}
	}
	return 0, 0, -1, false
}

// skipValue returns the index after the JSON value at b[i], or -1. Nested
// objects and arrays are matched by bracket depth (strings skipped whole)
// without a recursion or depth limit; their inner syntax is not checked,
// as it cannot change which top-level member is "sid".
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, _, next, _ := scanString(b, i)
		return next
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if _, _, i, _ = scanString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	// number, true, false, null
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' &&
		b[j] != '\t' && b[j] != '\n' && b[j] != '\r' && b[j] != '"' && b[j] != '{' && b[j] != '[' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// validSid reports whether s can be a session id: 1 to maxSidLen bytes of
// printable ASCII other than '"' and '\'.
func validSid(s []byte) bool {
	if len(s) == 0 || len(s) > maxSidLen {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
