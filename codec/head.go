package codec

import (
	"bytes"
	"encoding/binary"

	"github.com/gobwas/httphead"
)

// MaxHeaders is the most field lines ParseRequest and ParseResponse accept
// unless Request.MaxHeaders or Response.MaxHeaders says otherwise; one more
// is ErrTooManyHeaders.
const MaxHeaders = 100

// Header is one field line. Name and Value alias the parsed buffer (see
// ParseRequest for how long they stay valid); Value is trimmed of OWS.
type Header struct{ Name, Value []byte }

// hopByHop lists the fields a proxy does not forward. RFC 9110 §7.6.1
// ("Connection") names Connection, Proxy-Connection, Keep-Alive, TE,
// Transfer-Encoding and Upgrade; Proxy-Authenticate, Proxy-Authorization and
// Trailer are hop-by-hop in RFC 2616 §13.5.1 and kept, as
// net/http/httputil.ReverseProxy keeps them. Fields named by Connection are
// hop-by-hop too: the caller checks those with ConnectionHas.
var hopByHop = [...]string{
	"Connection",
	"Keep-Alive",
	"Proxy-Connection",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"TE",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// IsHopByHop reports whether name is in the RFC 9110 §7.6.1 hop-by-hop list
// (see hopByHop), case-insensitively. Fields named by Connection are
// hop-by-hop too; check them with ConnectionHas.
func IsHopByHop(name []byte) bool {
	for _, h := range hopByHop {
		if EqualFold(name, h) {
			return true
		}
	}
	return false
}

// EqualFold reports whether b and s are equal under ASCII case folding.
// Field names and tokens are ASCII, so Unicode folding would be wrong here:
// it would match "K" (Kelvin sign) with "k".
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ConnectionHas reports whether the Connection field value lists token,
// case-insensitively. Tokens after a syntax error in the list are not seen
// (httphead.ScanTokens stops there).
func ConnectionHas(value []byte, token string) bool {
	found := false
	httphead.ScanTokens(value, func(t []byte) bool {
		found = EqualFold(t, token)
		return !found
	})
	return found
}

// fields is what the head parsers derive from the field lines while they
// parse them, so that no caller walks the headers again for these.
type fields struct {
	host, wsKey, wsVersion, wsAccept []byte

	contentLength int64 // first Content-Length; -1 if absent or not a number
	clSeen        bool
	te, chunked   bool // chunked: the last coding of the last Transfer-Encoding

	connClose, connKeepAlive, connUpgrade bool
	upgradeWS                             bool
}

// parseFields parses field lines from buf[i:] through the empty line that
// ends the head, appending them to hs, and returns hs and the offset after
// the head. More than max lines (MaxHeaders if max <= 0) is
// ErrTooManyHeaders.
func parseFields(buf []byte, i int, hs []Header, max int, f *fields) ([]Header, int, error) {
	if max <= 0 {
		max = MaxHeaders
	}
	for {
		if i >= len(buf) {
			return hs, 0, ErrShort
		}
		switch buf[i] {
		case '\n':
			return hs, i + 1, nil
		case '\r':
			if i+1 == len(buf) {
				return hs, 0, ErrShort
			}
			if buf[i+1] != '\n' {
				return hs, 0, ErrBadLineEnd
			}
			return hs, i + 2, nil
		case ' ', '\t':
			return hs, 0, ErrObsFold
		}
		nl := bytes.IndexByte(buf[i:], '\n')
		if nl < 0 {
			return hs, 0, ErrShort
		}
		end, next := i+nl, i+nl+1
		if buf[end-1] == '\r' {
			end--
		}
		name, value, err := splitField(buf[i:end])
		if err != nil {
			return hs, 0, err
		}
		if len(hs) == max {
			return hs, 0, ErrTooManyHeaders
		}
		hs = append(hs, Header{Name: name, Value: value})
		f.note(name, value)
		i = next
	}
}

// splitField splits a field line (without its line end) into name and value.
// RFC 9112 §5.1: no whitespace between name and colon; RFC 9110 §5.5: a
// value holds no CTL but HTAB. Nginx only rejects NUL, CR and LF; we follow
// the grammar, as net/http does, since the proxy forwards these bytes.
func splitField(line []byte) (name, value []byte, err error) {
	i := tokenLen(line)
	if i == 0 || i == len(line) || line[i] != ':' {
		return nil, nil, ErrBadHeaderName
	}
	v := trimOWS(line[i+1:])
	if !validValue(v) {
		return nil, nil, ErrBadHeaderValue
	}
	return line[:i:i], v, nil
}

// validValue reports whether v holds no CTL but HTAB. It tests eight bytes
// at a time for any byte below 0x20 or equal to 0x7f (the SWAR tests from
// "Bit Twiddling Hacks": exact for "any byte"), and looks at single bytes
// only where one of those turns up, which in practice is a HTAB. This
// loop was a quarter of ParseRequest's time when done bytewise.
func validValue(v []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(v) >= 8 {
		x := binary.LittleEndian.Uint64(v)
		y := x ^ ones*0x7f
		if ((x-ones*0x20)&^x|(y-ones)&^y)&highs != 0 && !validValueBytes(v[:8]) {
			return false
		}
		v = v[8:]
	}
	return validValueBytes(v)
}

func validValueBytes(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// note derives what the parsers report from one field. Switching on the
// length first keeps the common case (an uninteresting field) to one compare.
func (f *fields) note(name, value []byte) {
	switch len(name) {
	case 4:
		if f.host == nil && EqualFold(name, "host") {
			f.host = value
		}
	case 7:
		if EqualFold(name, "upgrade") {
			f.upgradeWS = f.upgradeWS || listHasProtocol(value, "websocket")
		}
	case 10:
		if EqualFold(name, "connection") {
			f.noteConnection(value)
		}
	case 14:
		if !f.clSeen && EqualFold(name, "content-length") {
			f.clSeen = true
			f.contentLength = parseLength(value)
		}
	case 17:
		switch {
		case EqualFold(name, "transfer-encoding"):
			f.te = true
			f.chunked = EqualFold(lastElem(value), "chunked")
		case f.wsKey == nil && EqualFold(name, "sec-websocket-key"):
			f.wsKey = value
		}
	case 20:
		if f.wsAccept == nil && EqualFold(name, "sec-websocket-accept") {
			f.wsAccept = value
		}
	case 21:
		if f.wsVersion == nil && EqualFold(name, "sec-websocket-version") {
			f.wsVersion = value
		}
	}
}

func (f *fields) noteConnection(value []byte) {
	httphead.ScanTokens(value, func(t []byte) bool {
		switch {
		case EqualFold(t, "close"):
			f.connClose = true
		case EqualFold(t, "keep-alive"):
			f.connKeepAlive = true
		case EqualFold(t, "upgrade"):
			f.connUpgrade = true
		}
		return true
	})
}

// nextElem returns the first non-empty element of a comma-separated list,
// trimmed of OWS, and the rest of the list. RFC 9110 §5.6.1 has recipients
// skip empty elements.
func nextElem(list []byte) (elem, rest []byte) {
	for len(list) > 0 {
		if i := bytes.IndexByte(list, ','); i >= 0 {
			elem, list = list[:i], list[i+1:]
		} else {
			elem, list = list, nil
		}
		if elem = trimOWS(elem); len(elem) > 0 {
			return elem, list
		}
	}
	return nil, nil
}

func lastElem(list []byte) (last []byte) {
	for e, rest := nextElem(list); e != nil; e, rest = nextElem(rest) {
		last = e
	}
	return last
}

// listHasProtocol reports whether an Upgrade list names protocol, with or
// without a "/version" suffix (RFC 9110 §7.8).
func listHasProtocol(list []byte, protocol string) bool {
	for e, rest := nextElem(list); e != nil; e, rest = nextElem(rest) {
		if i := bytes.IndexByte(e, '/'); i >= 0 {
			e = e[:i]
		}
		if EqualFold(e, protocol) {
			return true
		}
	}
	return false
}

// parseLength parses a Content-Length value: 1*DIGIT that fits in int64.
// It returns -1 otherwise; the list form "5, 5" is refused, as net/http does.
func parseLength(v []byte) int64 {
	if len(v) == 0 {
		return -1
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' || n > (1<<63-1-int64(c-'0'))/10 {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func trimOWS(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t') {
		j--
	}
	return b[i:j:j]
}

// parseVersion parses HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
func parseVersion(p []byte) (major, minor int, ok bool) {
	if len(p) != 8 || string(p[:5]) != "HTTP/" || p[6] != '.' ||
		!isDigit(p[5]) || !isDigit(p[7]) {
		return 0, 0, false
	}
	return int(p[5] - '0'), int(p[7] - '0'), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether c is a tchar (RFC 9110 §5.6.2), using httphead's
// RFC 2616 octet table: the two define the same set.
func isToken(c byte) bool { return httphead.OctetTypes[c].IsToken() }
