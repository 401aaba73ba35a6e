package handover

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Decode parses the encoding of a State (Append) that fills b exactly. It
// checks what a receiving process relies on: the version, that counts and
// durations are not negative, names of at most MaxName bytes, peers
// pinged only by a policy that pings. The names are copied: st does not
// alias b.
func (st *State) Decode(b []byte) error {
	*st = State{}
	if len(b) == 0 {
		return ErrTruncated
	}
	if b[0] != Version {
		return ErrVersion
	}
	r := reader{b: b[1:]}
	f := r.uint16()
	if f&^fAll != 0 {
		return ErrInvalid
	}
	st.Deflate, st.UnknownExt, st.Logged = f&fDeflate != 0, f&fUnknownExt != 0, f&fLogged != 0
	st.Dir[0].Fragmented, st.Dir[0].Bulk = f&fFrag0 != 0, f&fBulk0 != 0
	st.Dir[1].Fragmented, st.Dir[1].Bulk = f&fFrag1 != 0, f&fBulk1 != 0
	st.Ping.On = f&fPing != 0
	st.Ping.Waiting = [2]bool{f&fWait0 != 0, f&fWait1 != 0}
	st.Policy.Check, st.Policy.Splice = f&fCheck != 0, f&fSplice != 0
	st.Peer = r.addrPort()
	st.Route, st.Upstream, st.Server = r.name(), r.name(), r.name()
	for i := range 2 {
		st.Dir[i].MessageLen = r.count()
	}
	st.Idle, st.Age = r.duration(), r.duration()
	if st.Ping.On {
		for i := range 2 {
			st.Ping.Heard[i], st.Ping.Sent[i] = r.duration(), r.duration()
		}
	}
	for i := range 2 {
		st.Bytes[i] = r.uvarint()
		m := r.uvarint()
		if m > 1<<32-1 {
			r.fail(ErrInvalid)
		}
		st.Messages[i] = uint32(m)
	}
	p := &st.Policy
	p.MaxFrame, p.MaxMessage, p.Idle = r.count(), r.count(), r.duration()
	p.PingPeers = r.byte()
	if p.PingPeers > 3 {
		r.fail(ErrInvalid)
	}
	if p.PingPeers != 0 {
		p.PingInterval, p.PingTimeout = r.duration(), r.duration()
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = ErrTrailing
	}
	if r.err == nil && !st.Ping.On && (st.Ping.Waiting[0] || st.Ping.Waiting[1]) {
		r.err = ErrInvalid // a Ping outstanding without ping state
	}
	if r.err != nil {
		*st = State{}
	}
	return r.err
}

// reader takes the fields of an encoded State in turn; the first error
// sticks and every later field reads as zero.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.fail(ErrTruncated)
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) byte() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) uint16() uint16 {
	if p := r.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	switch {
	case n == 0:
		r.fail(ErrTruncated)
		return 0
	case n < 0:
		r.fail(ErrInvalid) // more than 64 bits
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a varint that must not be negative.
func (r *reader) count() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	switch {
	case n == 0:
		r.fail(ErrTruncated)
		return 0
	case n < 0 || v < 0:
		r.fail(ErrInvalid)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) duration() time.Duration { return time.Duration(r.count()) }

func (r *reader) name() string {
	n := r.uvarint()
	if n > MaxName {
		r.fail(ErrInvalid)
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) addrPort() netip.AddrPort {
	var a netip.Addr
	switch n := r.byte(); n {
	case 0:
		return netip.AddrPort{}
	case 4:
		if p := r.take(4); p != nil {
			a = netip.AddrFrom4([4]byte(p))
		}
	case 16:
		if p := r.take(16); p != nil {
			a = netip.AddrFrom16([16]byte(p))
		}
	default:
		r.fail(ErrInvalid)
	}
	return netip.AddrPortFrom(a, r.uint16())
}
