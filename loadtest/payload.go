package loadtest

import (
	"encoding/binary"

	"github.com/gobwas/ws"

	"wsproxy/codec"
)

// Payloads come from a counter-based generator: the 8-byte word i of the
// stream with seed s is mix64(s + (i+1)*golden), the output function of
// SplitMix64. Any offset can be generated or checked without the bytes
// before it, which is what lets a connection keep no copy of a message.

const golden = 0x9e3779b97f4a7c15

// mix64 is SplitMix64's finaliser: a bijection with good avalanche.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func word(seed uint64, i int64) uint64 { return mix64(seed + uint64(i+1)*golden) }

// msgSeed returns the payload seed of message seq of a connection whose
// own seed is conn; the sender and the checker derive it alike.
func msgSeed(conn uint64, seq uint32) uint64 { return mix64(conn ^ uint64(seq)*golden) }

// fillPayload writes the bytes [off, off+len(dst)) of stream seed to dst.
func fillPayload(dst []byte, seed uint64, off int64) {
	w := off >> 3
	if skip := int(off & 7); skip != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], word(seed, w))
		dst = dst[copy(dst, b[skip:]):]
		w++
	}
	for len(dst) >= 8 {
		binary.LittleEndian.PutUint64(dst, word(seed, w))
		dst = dst[8:]
		w++
	}
	if len(dst) > 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], word(seed, w))
		copy(dst, b[:])
	}
}

// verifyPayload reports whether p equals bytes [off, off+len(p)) of stream
// seed. Whole words are compared as words; it allocates nothing.
func verifyPayload(p []byte, seed uint64, off int64) bool {
	w := off >> 3
	if skip := int(off & 7); skip != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], word(seed, w))
		n := min(len(p), 8-skip)
		if string(p[:n]) != string(b[skip:skip+n]) {
			return false
		}
		p = p[n:]
		w++
	}
	for len(p) >= 8 {
		if binary.LittleEndian.Uint64(p) != word(seed, w) {
			return false
		}
		p = p[8:]
		w++
	}
	if len(p) > 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], word(seed, w))
		return string(p) == string(b[:len(p)])
	}
	return true
}

// outKind says what a connection is writing.
type outKind uint8

const (
	outNone    outKind = iota
	outRequest         // the handshake request
	outData            // a binary message with a generated payload
	outPong            // a pong echoing conn.pong
	outClose           // a close frame with status 1000
)

// closeNormal is the payload of the close frame sent at the end of a run.
var closeNormal = [2]byte{byte(ws.StatusNormalClosure >> 8), byte(ws.StatusNormalClosure & 0xff)}

// outFrame is the unit a connection is writing, described rather than
// buffered: fill regenerates any suffix of it, so a partial write leaves
// no buffer behind. For outRequest only total and sent are used.
type outFrame struct {
	kind  outKind
	hlen  uint8
	hdr   [ws.MaxHeaderSize]byte
	mask  [4]byte
	seed  uint64 // payload stream of outData
	total int64  // header plus payload
	sent  int64  // bytes written so far
}

// frame prepares a masked client frame (RFC 6455 §5.3) of n payload bytes.
// The mask comes from the payload seed: unpredictable enough for a load
// generator, and free.
func (o *outFrame) frame(kind outKind, op ws.OpCode, seed uint64, n int64) {
	m := uint32(mix64(seed ^ 0x6d61736b))
	o.kind, o.seed, o.sent = kind, seed, 0
	binary.BigEndian.PutUint32(o.mask[:], m)
	h := ws.Header{Fin: true, OpCode: op, Masked: true, Mask: o.mask, Length: n}
	o.hlen = uint8(len(codec.AppendFrameHeader(o.hdr[:0], h)))
	o.total = int64(o.hlen) + n
}

// fillFrame writes the next unsent bytes of frame o to dst and returns how
// many; ctl is the payload of a control frame.
func (o *outFrame) fillFrame(dst []byte, ctl []byte) int {
	off, n := o.sent, 0
	if off < int64(o.hlen) {
		n = copy(dst, o.hdr[off:o.hlen])
		off += int64(n)
	}
	end := min(o.total, off+int64(len(dst)-n))
	if off >= end {
		return n
	}
	p := dst[n : n+int(end-off)]
	po := off - int64(o.hlen)
	if o.kind == outData {
		fillPayload(p, o.seed, po)
	} else {
		copy(p, ctl[po:])
	}
	ws.Cipher(p, o.mask, int(po))
	return n + len(p)
}

// fillParts writes the bytes [off, off+len(dst)) of the concatenation of
// parts to dst and returns how many it wrote.
func fillParts(dst []byte, off int64, parts ...[]byte) int {
	n := 0
	for _, p := range parts {
		if off >= int64(len(p)) {
			off -= int64(len(p))
			continue
		}
		n += copy(dst[n:], p[off:])
		off = 0
		if n == len(dst) {
			break
		}
	}
	return n
}
