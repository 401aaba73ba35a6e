package handover

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// states are the round-trip cases; FuzzDecode is seeded with their
// encodings.
var states = []struct {
	name string
	st   State
}{
	{"zero", State{}},
	{"plain", State{
		Peer:  netip.MustParseAddrPort("192.0.2.7:51234"),
		Route: "/ws", Upstream: "chat", Server: "10.0.0.2:8080",
		Idle: 1500 * time.Millisecond, Age: time.Hour,
		Bytes: [2]uint64{123456, 7890123}, Messages: [2]uint32{17, 4000000000},
		Policy: State{}.Policy,
	}},
	{"ipv6 deflate fragmented", State{
		Peer:  netip.MustParseAddrPort("[2001:db8::1]:443"),
		Route: "ws.example.com/chat/", Upstream: "chat", Server: "backend.internal:9000",
		Deflate: true, Logged: true,
		Dir:  [2]Dir{{Fragmented: true, MessageLen: 1 << 20}, {Bulk: true}},
		Idle: time.Millisecond, Age: 3 * time.Second,
		Policy: Policy{Check: true, Splice: true, MaxFrame: 1 << 16, MaxMessage: 1 << 24, Idle: time.Minute},
	}},
	{"pings both, one outstanding", State{
		Peer:  netip.MustParseAddrPort("127.0.0.1:1"),
		Route: "/", Upstream: "u", Server: "127.0.0.1:2",
		UnknownExt: true,
		Ping: Ping{On: true, Heard: [2]time.Duration{2 * time.Second, 0}, Waiting: [2]bool{true, false},
			Sent: [2]time.Duration{500 * time.Millisecond, 0}},
		Policy: Policy{Check: true, PingPeers: 3, PingInterval: 30 * time.Second, PingTimeout: 10 * time.Second},
	}},
	{"long names", State{
		Route: strings.Repeat("r", MaxName), Upstream: strings.Repeat("u", 200), Server: "s",
	}},
}

func TestStateRoundTrip(t *testing.T) {
	for _, tc := range states {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.st.Append(nil)
			var got State
			if err := got.Decode(b); err != nil {
				t.Fatalf("Decode(Append(st)): %v", err)
			}
			if !reflect.DeepEqual(got, tc.st) {
				t.Fatalf("got %+v; want %+v", got, tc.st)
			}
			if again := got.Append(nil); !bytes.Equal(again, b) {
				t.Fatalf("encoding differs after a round trip:\n got %x\nwant %x", again, b)
			}
		})
	}
}

// TestStateSize keeps the encoding compact: a typical tunnel's state, names
// included, in well under a hundred bytes.
func TestStateSize(t *testing.T) {
	st := states[3].st
	if n := len(st.Append(nil)); n > 100 {
		t.Fatalf("encoded state of %q: got %d bytes; want at most 100", st.Route, n)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := states[2].st.Append(nil)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"version", append([]byte{Version + 1}, good[1:]...), ErrVersion},
		{"truncated", good[:len(good)-1], ErrTruncated},
		{"only version", []byte{Version}, ErrTruncated},
		{"trailing", append(append([]byte(nil), good...), 0), ErrTrailing},
		{"unknown flag", []byte{Version, 0, 0x80}, ErrInvalid},
		{"address length", []byte{Version, 0, 0, 5}, ErrInvalid},
		{"name too long", append([]byte{Version, 0, 0, 0}, 0x81, 0x40), ErrInvalid},  // 8193
		{"negative count", append([]byte{Version, 0, 0, 0, 0, 0, 0}, 1), ErrInvalid}, // zigzag 1 = -1
		{"waiting without ping", func() []byte {
			st := State{Ping: Ping{On: true, Waiting: [2]bool{true}}}
			b := st.Append(nil)
			b[1] &^= fPing // and drop the ping's durations
			return append(b[:11], b[15:]...)
		}(), ErrInvalid},
		{"ping peers", func() []byte {
			var st State
			b := st.Append(nil)
			b[len(b)-1] = 4
			return b
		}(), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st State
			err := st.Decode(tc.b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode(%x): got %v; want %v", tc.b, err, tc.want)
			}
			if !reflect.DeepEqual(st, State{}) {
				t.Fatalf("Decode left %+v after an error; want the zero State", st)
			}
		})
	}
}

// FuzzDecode: Decode never panics, and what it accepts encodes to bytes
// that decode to the same State (varints may be written longer than
// needed, so the bytes themselves may differ).
func FuzzDecode(f *testing.F) {
	for _, tc := range states {
		f.Add(tc.st.Append(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var st State
		if st.Decode(b) != nil {
			return
		}
		var again State
		if err := again.Decode(st.Append(nil)); err != nil {
			t.Fatalf("Decode(Append(Decode(%x))): %v", b, err)
		}
		if !reflect.DeepEqual(again, st) {
			t.Fatalf("got %+v; want %+v", again, st)
		}
	})
}
