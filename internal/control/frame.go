package control

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The wire format. A SOCK_SEQPACKET socket keeps message boundaries, but a
// unix socket refuses a packet larger than its send buffer (about 208 KiB
// by default), and a configuration file can be larger. So a message goes
// as one or more packets of at most maxPacket bytes:
//
//	first packet:  flags(1) kind(1) id(8) typeLen(1) type(typeLen) bodyLen(4) body...
//	further ones:  flags(1) body...
//
// flags has flagFirst on the first packet and flagLast on the last (both
// on a message of one packet). Integers are big-endian. Descriptors ride
// on the first packet (SCM_RIGHTS). The packets of one message are sent
// under one lock, so they never interleave with another message's.

const (
	flagFirst = 1 << 0
	flagLast  = 1 << 1
)

// Kinds of message.
const (
	kindNotify  = 1 // one-way: no answer expected (ID 0)
	kindRequest = 2 // answered by a kindReply or kindError with the same ID
	kindReply   = 3
	kindError   = 4 // the handler failed: Body is its error text
)

const (
	// maxPacket is the largest packet sent, header included: well under
	// the default unix send buffer, so a send never fails with EMSGSIZE.
	maxPacket = 64 << 10
	// MaxBody is the largest message body accepted, in bytes.
	MaxBody = 64 << 20
	// MaxFDs is the most descriptors one message carries: the kernel's
	// SCM_MAX_FD (253) less a margin.
	MaxFDs = 250
	// maxType bounds a message type's length (one byte on the wire).
	maxType = 255
	// headerLen is the size of a first packet's header after the flags,
	// without the type: kind, id, type length, body length.
	headerLen = 1 + 8 + 1 + 4
)

// Errors of the wire format.
var (
	errShort     = errors.New("control: packet too short")
	errFlags     = errors.New("control: packet out of sequence")
	errTooLarge  = errors.New("control: message body over the limit")
	errBadKind   = errors.New("control: unknown message kind")
	errLength    = errors.New("control: message longer or shorter than announced")
	errFDsLater  = errors.New("control: descriptors on a continuation packet")
	errTypeLen   = errors.New("control: message type too long")
	errTooManyFD = errors.New("control: too many descriptors in one message")
)

// header is what the first packet of a message says about it.
type header struct {
	kind    byte
	id      uint64
	typ     string
	bodyLen int
}

// appendHeader appends the first-packet header of h (flags excluded).
func appendHeader(dst []byte, h header) []byte {
	dst = append(dst, h.kind)
	dst = binary.BigEndian.AppendUint64(dst, h.id)
	dst = append(dst, byte(len(h.typ)))
	dst = append(dst, h.typ...)
	return binary.BigEndian.AppendUint32(dst, uint32(h.bodyLen))
}

// parseHeader reads the header at the start of a first packet's payload
// (flags excluded) and returns it with the body bytes that follow. The
// returned slice aliases p.
func parseHeader(p []byte) (header, []byte, error) {
	if len(p) < headerLen {
		return header{}, nil, errShort
	}
	h := header{kind: p[0], id: binary.BigEndian.Uint64(p[1:9])}
	if h.kind < kindNotify || h.kind > kindError {
		return header{}, nil, fmt.Errorf("%w: %d", errBadKind, h.kind)
	}
	n := int(p[9])
	if len(p) < headerLen+n {
		return header{}, nil, errShort
	}
	h.typ = string(p[10 : 10+n])
	h.bodyLen = int(binary.BigEndian.Uint32(p[10+n : 14+n]))
	if h.bodyLen > MaxBody {
		return header{}, nil, errTooLarge
	}
	return h, p[14+n:], nil
}

// assembler puts the packets of one message back together.
type assembler struct {
	h    header
	body []byte
	open bool // a first packet came and its last has not
}

// add takes one packet. It reports done with the message complete in
// a.h and a.body (which the caller takes over), or an error for a packet
// that breaks the format; the assembler is then reset.
func (a *assembler) add(p []byte) (done bool, err error) {
	if len(p) < 1 {
		return false, errShort
	}
	flags, p := p[0], p[1:]
	if flags&flagFirst != 0 {
		if a.open {
			a.reset()
			return false, errFlags
		}
		h, rest, err := parseHeader(p)
		if err != nil {
			return false, err
		}
		if len(rest) > h.bodyLen {
			return false, errLength
		}
		a.h, a.open = h, true
		a.body = make([]byte, 0, min(h.bodyLen, 1<<20)) // grows past 1 MiB only as bytes come
		p = rest
	} else if !a.open {
		return false, errFlags
	}
	if len(a.body)+len(p) > a.h.bodyLen {
		a.reset()
		return false, errLength
	}
	a.body = append(a.body, p...)
	if flags&flagLast == 0 {
		return false, nil
	}
	if len(a.body) != a.h.bodyLen {
		a.reset()
		return false, errLength
	}
	a.open = false
	return true, nil
}

func (a *assembler) reset() { *a = assembler{} }

// packets splits a message into its packets, each ready to send.
func packets(h header, body []byte) [][]byte {
	first := make([]byte, 1, maxPacket)
	first = appendHeader(first, h)
	n := min(len(body), maxPacket-len(first))
	first = append(first, body[:n]...)
	first[0] = flagFirst
	out := [][]byte{first}
	for body = body[n:]; len(body) > 0; {
		n := min(len(body), maxPacket-1)
		p := make([]byte, 0, 1+n)
		p = append(append(p, 0), body[:n]...)
		out = append(out, p)
		body = body[n:]
	}
	out[len(out)-1][0] |= flagLast
	return out
}
