package codec

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// FrameScanner follows WebSocket frames (RFC 6455 §5.2) in a relayed byte
// stream without copying or unmasking payload: it reports each frame header
// and then steps over that frame's payload by count. The zero value is
// ready, positioned at the start of a frame.
//
// Buffer states: between calls it holds either the number of payload bytes
// of the current frame not yet passed (Remaining), or up to 13 bytes of a
// header that was split across reads (in hdr); never both.
type FrameScanner struct {
	hdr       [ws.MaxHeaderSize]byte
	hn        uint8 // bytes of hdr filled
	bad       bool  // sticky: a header had a 64-bit length with the top bit set
	remaining int64 // payload bytes of the current frame not yet passed
}

// Reset readies s for a new stream.
func (s *FrameScanner) Reset() { *s = FrameScanner{} }

// Remaining returns how many payload bytes of the current frame have not
// been passed yet.
func (s *FrameScanner) Remaining() int64 { return s.remaining }

// Scan steps over the payload of the current frame, then reads the next
// frame header. It returns when a header is complete (ok, with n the bytes
// consumed through the end of that header) or when buf is exhausted (not ok,
// n == len(buf)). A header split across calls at any byte is reassembled.
// The only error is ErrFrameLength, for a 64-bit length with the top bit
// set; n then ends after that header and the error is sticky until Reset.
// Check headers with CheckFrame; Scan only parses them.
//
//	for len(b) > 0 {
//		n, h, ok, err := s.Scan(b)
//		b = b[n:]
//		...
//	}
func (s *FrameScanner) Scan(buf []byte) (n int, h ws.Header, ok bool, err error) {
	if s.bad {
		return 0, h, false, ErrFrameLength
	}
	if s.remaining >= int64(len(buf)) {
		s.remaining -= int64(len(buf))
		return len(buf), h, false, nil
	}
	n, s.remaining = int(s.remaining), 0

	// Fast path: the whole header is in buf.
	p := buf[n:]
	if s.hn == 0 && len(p) >= 2 {
		if size := frameHeaderLen(p[0], p[1]); len(p) >= size {
			err = s.start(&h, p[:size])
			return n + size, h, err == nil, err
		}
	}
	for n < len(buf) {
		need := 2
		if s.hn >= 2 {
			need = frameHeaderLen(s.hdr[0], s.hdr[1])
		}
		c := copy(s.hdr[s.hn:need], buf[n:])
		s.hn += uint8(c)
		n += c
		if s.hn >= 2 && int(s.hn) == frameHeaderLen(s.hdr[0], s.hdr[1]) {
			size := int(s.hn)
			s.hn = 0
			err = s.start(&h, s.hdr[:size])
			return n, h, err == nil, err
		}
	}
	return n, h, false, nil
}

// start decodes the complete header p into *h and starts its payload.
func (s *FrameScanner) start(h *ws.Header, p []byte) error {
	if err := decodeFrameHeader(h, p); err != nil {
		s.bad = true
		return err
	}
	s.remaining = h.Length
	return nil
}

// frameHeaderLen returns the size of the header whose first bytes are b0, b1.
func frameHeaderLen(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// decodeFrameHeader decodes a complete header p into *h, as ws.ReadHeader
// does; non-minimal length encodings are accepted, as gobwas/ws accepts them.
// It writes through a pointer because ws.Header is too big to live in
// registers: every copy of it costs a trip through memory.
func decodeFrameHeader(h *ws.Header, p []byte) error {
	h.Fin = p[0]&0x80 != 0
	h.Rsv = p[0] & 0x70 >> 4
	h.OpCode = ws.OpCode(p[0] & 0x0f)
	h.Masked = p[1]&0x80 != 0
	i := 2
	switch l := p[1] & 0x7f; l {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(p[2:]))
		i = 4
	case 127:
		u := binary.BigEndian.Uint64(p[2:])
		if u>>63 != 0 {
			return ErrFrameLength
		}
		h.Length = int64(u)
		i = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Mask[:], p[i:i+4])
	}
	return nil
}

// CheckFrame checks the RFC 6455 rules a relaying proxy can afford without
// reading payload, for a connection that negotiated no extension: see
// CheckFrameExt.
func CheckFrame(h ws.Header, fromClient bool) error {
	return CheckFrameExt(h, fromClient, 0)
}

// CheckFrameWith is CheckFrameExt for a connection that negotiated ext: an
// RSV1 that permessage-deflate would allow on a message's first frame but
// that comes on a continuation or control frame is ErrRsvPlacement.
func CheckFrameWith(h ws.Header, fromClient bool, ext Extensions) error {
	err := CheckFrameExt(h, fromClient, ext.AllowedRsv(h))
	if err == ErrReservedBits && ext&ExtDeflate != 0 && h.Rsv == rsv1 {
		return ErrRsvPlacement
	}
	return err
}

// CheckFrameExt checks h: no reserved opcode (§5.2); RSV bits only among
// allowedRsv, in ws.Header.Rsv layout (ws.Rsv(true, false, false) once
// permessage-deflate is negotiated); masked if and only if fromClient
// (§5.1); control frames final, at most 125 bytes, and a close payload not
// of 1 byte (§5.5). Each error wraps ErrProtocol: fail the connection with
// close code 1002. Fragment order is CheckContinuation's job.
func CheckFrameExt(h ws.Header, fromClient bool, allowedRsv byte) error {
	switch {
	case h.OpCode.IsReserved():
		return ErrReservedOpCode
	case h.Rsv&^allowedRsv != 0:
		return ErrReservedBits
	case fromClient && !h.Masked:
		return ErrMaskRequired
	case !fromClient && h.Masked:
		return ErrMaskUnexpected
	case !h.OpCode.IsControl():
		return nil
	case h.Length > ws.MaxControlFramePayloadSize:
		return ErrControlTooLong
	case !h.Fin:
		return ErrControlFragmented
	case h.OpCode == ws.OpClose && h.Length == 1:
		return ErrCloseLength
	}
	return nil
}

// CheckContinuation checks h against the fragmentation state of one
// direction (RFC 6455 §5.4): fragmented is whether a data message is open.
// It returns the state after h. Control frames may come between fragments.
func CheckContinuation(h ws.Header, fragmented bool) (bool, error) {
	switch {
	case h.OpCode.IsControl():
		return fragmented, nil
	case fragmented && h.OpCode != ws.OpContinuation:
		return fragmented, ErrContinuationExpected
	case !fragmented && h.OpCode == ws.OpContinuation:
		return fragmented, ErrContinuationUnexpected
	}
	return !h.Fin, nil
}

// AppendFrameHeader appends the wire form of h, with the shortest length
// encoding, as ws.WriteHeader writes it. h.Length must not be negative.
func AppendFrameHeader(dst []byte, h ws.Header) []byte {
	b0 := h.Rsv<<4 | byte(h.OpCode)
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length < 0:
		panic("codec: negative frame length")
	case h.Length <= 125:
		dst = append(dst, b0, b1|byte(h.Length))
	case h.Length <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// AppendFrame appends a whole frame: header h with Length set to
// len(payload), then payload, masked with h.Mask if h.Masked (payload itself
// is not modified).
func AppendFrame(dst []byte, h ws.Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	dst = AppendFrameHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		ws.Cipher(dst[start:], h.Mask, 0)
	}
	return dst
}

// AppendClosePayload appends a close frame body (RFC 6455 §5.5.1): code,
// big-endian, then reason cut at a UTF-8 boundary so the frame stays within
// 125 bytes. A zero code appends nothing: a close without status.
func AppendClosePayload(dst []byte, code ws.StatusCode, reason string) []byte {
	if code == 0 {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	const max = ws.MaxControlFramePayloadSize - 2
	if len(reason) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return append(dst, reason...)
}
