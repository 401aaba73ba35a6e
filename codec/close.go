package codec

import "github.com/gobwas/ws"

// CloseChecker follows the payload of one Close frame as it passes in
// pieces of any size, unmasking into its own state only: it reads the
// status code and checks it (RFC 6455 §7.4: a code an endpoint may send)
// and that the reason is UTF-8 (§5.5.1), without holding the payload back.
// It is six bytes, so a relay can keep one per direction.
type CloseChecker struct {
	mask [4]byte // the frame's mask; zero for an unmasked frame
	n    uint8   // payload bytes fed so far (a control payload is at most 125)
	s    uint8   // the code's first byte until the code is whole, then the reason's utf8State
}

// Start readies c for the payload of the Close frame whose header is h.
func (c *CloseChecker) Start(h ws.Header) {
	*c = CloseChecker{}
	if h.Masked {
		c.mask = h.Mask
	}
}

// Feed takes the next piece p of the payload as it is on the wire. When p
// completes the status code it returns it with ok set. err is ErrCloseCode
// or ErrCloseReason as soon as a byte breaks a rule; c must not be fed
// again after an error.
func (c *CloseChecker) Feed(p []byte) (code ws.StatusCode, ok bool, err error) {
	for _, b := range p {
		b ^= c.mask[c.n&3]
		c.n++
		switch c.n {
		case 1:
			c.s = b
		case 2:
			code, ok = ws.StatusCode(uint16(c.s)<<8|uint16(b)), true
			c.s = uint8(utf8Start)
			if !CloseCodeAllowed(code) {
				return code, ok, ErrCloseCode
			}
		default:
			u := utf8State(c.s).next(b)
			if c.s = uint8(u); u == utf8Bad {
				return code, ok, ErrCloseReason
			}
		}
	}
	return code, ok, nil
}

// End checks the payload once it is complete: a payload of one byte is
// ErrCloseLength (CheckFrame refuses it from the header already), a reason
// cut inside a UTF-8 sequence ErrCloseReason.
func (c *CloseChecker) End() error {
	switch {
	case c.n == 1:
		return ErrCloseLength
	case c.n > 2 && utf8State(c.s) != utf8Start:
		return ErrCloseReason
	}
	return nil
}

// CloseCodeAllowed reports whether code may appear in a Close frame on the
// wire (RFC 6455 §7.4.1, §7.4.2 and the IANA registry): 1000-1003,
// 1007-1014 and 3000-4999. 1004 is reserved; 1005, 1006 and 1015 are for
// reporting only and must never be sent; below 1000 and from 5000 up are
// not defined. Codes 1016-2999 are left to future RFCs: they are allowed,
// so a proxy does not break a peer that uses one once it is assigned.
func CloseCodeAllowed(code ws.StatusCode) bool {
	switch {
	case code < 1000 || code >= 5000:
		return false
	case code == 1004 || code == ws.StatusNoStatusRcvd || code == ws.StatusAbnormalClosure || code == ws.StatusTLSHandshake:
		return false
	}
	return true
}

// utf8State is a UTF-8 validator that takes one byte at a time (RFC 3629
// §4): how many continuation bytes are due, and the range the next one
// must fall in, which is narrower after E0, ED, F0 and F4 (no overlong
// forms, no surrogates, nothing above U+10FFFF).
type utf8State uint8

const (
	utf8Start utf8State = 0    // between characters
	utf8Bad   utf8State = 0xff // an invalid byte was seen (sticky)

	// Low two bits: continuation bytes still due. Bits 2-4: the range of
	// the next one.
	u8Any   = 0 << 2 // 80..BF
	u8A0BF  = 1 << 2 // after E0
	u8809F  = 2 << 2 // after ED
	u890BF  = 3 << 2 // after F0
	u8808F  = 4 << 2 // after F4
	u8Range = 7 << 2
)

func (s utf8State) next(b byte) utf8State {
	if s == utf8Bad {
		return utf8Bad
	}
	due := s & 3
	if due == 0 {
		switch {
		case b < 0x80:
			return utf8Start
		case b < 0xc2:
			return utf8Bad // a continuation byte, or an overlong 2-byte lead
		case b < 0xe0:
			return 1
		case b == 0xe0:
			return 2 | u8A0BF
		case b == 0xed:
			return 2 | u8809F
		case b < 0xf0:
			return 2
		case b == 0xf0:
			return 3 | u890BF
		case b < 0xf4:
			return 3
		case b == 0xf4:
			return 3 | u8808F
		}
		return utf8Bad
	}
	lo, hi := byte(0x80), byte(0xbf)
	switch s & u8Range {
	case u8A0BF:
		lo = 0xa0
	case u8809F:
		hi = 0x9f
	case u890BF:
		lo = 0x90
	case u8808F:
		hi = 0x8f
	}
	if b < lo || b > hi {
		return utf8Bad
	}
	return due - 1 // the range applies to the first continuation byte only
}
