// Package handover moves established WebSocket tunnels from one wsproxy
// process to another: the old generation's workers hand their plain-TCP
// tunnels to the new generation's on a binary upgrade or any other new
// generation, so that neither peer sees the proxy change.
//
// A tunnel travels as its two socket descriptors (the client's and the
// upstream's, passed with SCM_RIGHTS) and a State: what the relay
// remembers about the tunnel between reads, taken at a frame boundary in
// both directions with no output queued. Nothing else is in flight then:
// the bytes the peers sent meanwhile wait in the sockets' kernel buffers
// and the new process reads them, so none is lost, repeated or reordered.
//
// The package knows descriptors, bytes and the State's fields; it knows
// nothing of the proxy's connections. core fills a State when it exports a
// tunnel from a loop and reads one when it imports (core's handover.go);
// this package encodes it (state.go), carries batches of tunnels over a
// unix socket (transport.go) and runs the exchange between the sending and
// the receiving process (exchange.go).
package handover

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"
)

// Version is the first byte of an encoded State. A process refuses a State
// of another version (ErrVersion), so an old and a new build that do not
// agree on the format keep their tunnels rather than guess.
const Version = 1

// MaxName bounds the route, upstream and server names of a State, in bytes.
const MaxName = 4096

// State is what a tunnel is, apart from its descriptors: where it belongs
// (by name, resolved again in the receiving process's configuration), what
// its handshake negotiated, the relay's state per direction at a frame
// boundary, its timers as elapsed durations and its counters. Encoded, it
// takes a few dozen bytes plus the names.
type State struct {
	// Peer is the client's address as the proxy knows it: the socket's
	// peer, or what a PROXY protocol header said.
	Peer netip.AddrPort

	// Route is the route's name (host and path prefix, as in metrics);
	// Upstream and Server name the upstream and the server address as
	// configured.
	Route, Upstream, Server string

	// Deflate and UnknownExt are the extensions the 101 negotiated, which
	// decide the RSV bits the frame checks allow. The extensions' own
	// state (permessage-deflate's windows) lives in the peers.
	Deflate, UnknownExt bool

	// Logged says that the tunnel's log lines are written (log.sample).
	Logged bool

	// Dir is the relay's state per direction: [0] client to upstream, [1]
	// upstream to client.
	Dir [2]Dir

	// Idle is the time since a data frame last moved (the idle timeout
	// counts from it); Age the time since the 101.
	Idle, Age time.Duration

	// Ping is the state of the route's pings, if the tunnel has one.
	Ping Ping

	// Bytes and Messages are the tunnel's counters by direction, for its
	// log line.
	Bytes    [2]uint64
	Messages [2]uint32

	// Policy is the WebSocket policy the tunnel ran under. The receiving
	// process applies its own route's policy; it uses this one only when
	// its configuration has no route of this name.
	Policy Policy
}

// Dir is the relay's state of one direction at a frame boundary. The
// proxy checks no UTF-8 in text messages (only in Close reasons, and a
// Close frame passing is never at a boundary), so none travels; nor does
// the frame scanner's, which is empty at a boundary.
type Dir struct {
	// Fragmented says that a data message is under way: the next data
	// frame must be a continuation.
	Fragmented bool
	// Bulk says that the last data frame was large enough to splice.
	Bulk bool
	// MessageLen is the payload of the current message so far, for
	// max_message.
	MessageLen int64
}

// Ping is the ping state of a tunnel, by peer ([0] the client, [1] the
// upstream).
type Ping struct {
	// On says that the tunnel had ping state at all.
	On bool
	// Heard is the time since the last frame from each peer.
	Heard [2]time.Duration
	// Waiting says that a Ping of the proxy to the peer is unanswered;
	// Sent is the time since it was sent.
	Waiting [2]bool
	Sent    [2]time.Duration
}

// Policy is a route's WebSocket policy, as far as an established tunnel
// uses it.
type Policy struct {
	Check, Splice        bool
	MaxFrame, MaxMessage int64
	Idle                 time.Duration // 0: the process's timeouts.idle
	// PingPeers: bit 0 pings the client, bit 1 the upstream; 0: no pings.
	PingPeers                 uint8
	PingInterval, PingTimeout time.Duration
}

// Errors of Decode.
var (
	ErrVersion   = errors.New("handover: unknown state version")
	ErrTruncated = errors.New("handover: state truncated")
	ErrTrailing  = errors.New("handover: bytes after the state")
	ErrInvalid   = errors.New("handover: invalid state")
)

// Flags of the encoding, in two bytes.
const (
	fDeflate    = 1 << iota // Deflate
	fUnknownExt             // UnknownExt
	fLogged                 // Logged
	fFrag0                  // Dir[0].Fragmented
	fBulk0                  // Dir[0].Bulk
	fFrag1                  // Dir[1].Fragmented
	fBulk1                  // Dir[1].Bulk
	fPing                   // Ping.On
	fWait0                  // Ping.Waiting[0]
	fWait1                  // Ping.Waiting[1]
	fCheck                  // Policy.Check
	fSplice                 // Policy.Splice
	fAll        = 1<<iota - 1
)

// Append appends the encoding of st to b and returns it:
//
//	version, flags (uint16 LE), peer (address length 0/4/16, address, port
//	uint16 LE), route, upstream, server (uvarint length, bytes), then
//	varints: Dir[i].MessageLen, Idle, Age, Ping.Heard[i] and Ping.Sent[i]
//	(with Ping.On), Bytes[i], Messages[i], Policy.MaxFrame, MaxMessage,
//	Idle, then PingPeers (a byte) and PingInterval, PingTimeout.
//
// Durations are nanoseconds. Append does not check st (Decode does).
func (st *State) Append(b []byte) []byte {
	var f uint16
	set := func(bit uint16, on bool) {
		if on {
			f |= bit
		}
	}
	set(fDeflate, st.Deflate)
	set(fUnknownExt, st.UnknownExt)
	set(fLogged, st.Logged)
	set(fFrag0, st.Dir[0].Fragmented)
	set(fBulk0, st.Dir[0].Bulk)
	set(fFrag1, st.Dir[1].Fragmented)
	set(fBulk1, st.Dir[1].Bulk)
	set(fPing, st.Ping.On)
	set(fWait0, st.Ping.Waiting[0])
	set(fWait1, st.Ping.Waiting[1])
	set(fCheck, st.Policy.Check)
	set(fSplice, st.Policy.Splice)
	b = append(b, Version)
	b = binary.LittleEndian.AppendUint16(b, f)
	b = appendAddrPort(b, st.Peer)
	for _, s := range [...]string{st.Route, st.Upstream, st.Server} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for i := range 2 {
		b = binary.AppendVarint(b, st.Dir[i].MessageLen)
	}
	b = binary.AppendVarint(b, int64(st.Idle))
	b = binary.AppendVarint(b, int64(st.Age))
	if st.Ping.On {
		for i := range 2 {
			b = binary.AppendVarint(b, int64(st.Ping.Heard[i]))
			b = binary.AppendVarint(b, int64(st.Ping.Sent[i]))
		}
	}
	for i := range 2 {
		b = binary.AppendUvarint(b, st.Bytes[i])
		b = binary.AppendUvarint(b, uint64(st.Messages[i]))
	}
	p := &st.Policy
	b = binary.AppendVarint(b, p.MaxFrame)
	b = binary.AppendVarint(b, p.MaxMessage)
	b = binary.AppendVarint(b, int64(p.Idle))
	b = append(b, p.PingPeers)
	if p.PingPeers != 0 {
		b = binary.AppendVarint(b, int64(p.PingInterval))
		b = binary.AppendVarint(b, int64(p.PingTimeout))
	}
	return b
}

func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr()
	switch {
	case !a.IsValid():
		return append(b, 0)
	case a.Is4():
		v := a.As4()
		b = append(append(b, 4), v[:]...)
	default:
		v := a.As16() // a zone, if any, is not kept: a client address has none
		b = append(append(b, 16), v[:]...)
	}
	return binary.LittleEndian.AppendUint16(b, ap.Port())
}
