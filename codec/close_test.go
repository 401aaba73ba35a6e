package codec

import (
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

var closeCheckerTests = []struct {
	name    string
	payload []byte
	code    ws.StatusCode // 0: none expected
	want    error
}{
	{name: "normal", payload: []byte{0x03, 0xe8}, code: 1000},
	{name: "going away with reason", payload: append([]byte{0x03, 0xe9}, "bye"...), code: 1001},
	{name: "application code", payload: append([]byte{0x0f, 0xa0}, "héllo wörld ✓ 🙂"...), code: 4000},
	{name: "1012 service restart", payload: []byte{0x03, 0xf4}, code: 1012},
	{name: "1016 unassigned, allowed", payload: []byte{0x03, 0xf8}, code: 1016},
	{name: "1004 reserved", payload: []byte{0x03, 0xec}, code: 1004, want: ErrCloseCode},
	{name: "1005 never on the wire", payload: []byte{0x03, 0xed}, code: 1005, want: ErrCloseCode},
	{name: "1006 never on the wire", payload: []byte{0x03, 0xee}, code: 1006, want: ErrCloseCode},
	{name: "1015 never on the wire", payload: []byte{0x03, 0xf7}, code: 1015, want: ErrCloseCode},
	{name: "999", payload: []byte{0x03, 0xe7}, code: 999, want: ErrCloseCode},
	{name: "0", payload: []byte{0, 0}, code: 0, want: ErrCloseCode},
	{name: "5000", payload: []byte{0x13, 0x88}, code: 5000, want: ErrCloseCode},
	{name: "reason not UTF-8", payload: []byte{0x03, 0xe8, 'a', 0xff}, code: 1000, want: ErrCloseReason},
	{name: "reason cut in a sequence", payload: []byte{0x03, 0xe8, 0xe2, 0x9c}, code: 1000, want: ErrCloseReason},
	{name: "overlong", payload: []byte{0x03, 0xe8, 0xc0, 0xaf}, code: 1000, want: ErrCloseReason},
	{name: "surrogate", payload: []byte{0x03, 0xe8, 0xed, 0xa0, 0x80}, code: 1000, want: ErrCloseReason},
	{name: "above U+10FFFF", payload: []byte{0x03, 0xe8, 0xf4, 0x90, 0x80, 0x80}, code: 1000, want: ErrCloseReason},
	{name: "U+10FFFF", payload: []byte{0x03, 0xe8, 0xf4, 0x8f, 0xbf, 0xbf}, code: 1000},
	{name: "one byte", payload: []byte{0x03}, want: ErrCloseLength},
}

// TestCloseChecker feeds each payload masked and unmasked, split at every
// byte into two pieces, and byte by byte.
func TestCloseChecker(t *testing.T) {
	for _, tt := range closeCheckerTests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mask := range [][4]byte{{}, {0x12, 0x34, 0x56, 0x78}} {
				wire := append([]byte(nil), tt.payload...)
				ws.Cipher(wire, mask, 0)
				for split := 0; split <= len(wire); split++ {
					check := func(pieces ...[]byte) {
						t.Helper()
						var c CloseChecker
						c.Start(ws.Header{Masked: mask != [4]byte{}, Mask: mask})
						var code ws.StatusCode
						var err error
						for _, p := range pieces {
							var got ws.StatusCode
							var ok bool
							if got, ok, err = c.Feed(p); ok {
								code = got
							}
							if err != nil {
								break
							}
						}
						if err == nil {
							err = c.End()
						}
						if err != tt.want || code != tt.code {
							t.Errorf("mask %x split %d: code %d err %v; want %d %v", mask, split, code, err, tt.code, tt.want)
						}
					}
					check(wire[:split], wire[split:])
					if split == 0 {
						var bytewise [][]byte
						for i := range wire {
							bytewise = append(bytewise, wire[i:i+1])
						}
						check(bytewise...)
					}
				}
			}
		})
	}
}

func FuzzUTF8State(f *testing.F) {
	for _, tt := range closeCheckerTests {
		if len(tt.payload) > 2 {
			f.Add(tt.payload[2:])
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := utf8Start
		for _, b := range in {
			s = s.next(b)
		}
		if got, want := s == utf8Start, utf8.Valid(in); got != want {
			t.Fatalf("utf8State on %x: valid %v; utf8.Valid %v", in, got, want)
		}
	})
}
