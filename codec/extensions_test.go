package codec

import (
	"testing"

	"github.com/gobwas/ws"
)

// TestCheckFrameWith is the RSV rule per negotiated extension: RSV1 only on
// the first frame of a data message under permessage-deflate, anything
// under an extension the proxy does not know.
func TestCheckFrameWith(t *testing.T) {
	rsv1, rsv2, rsv3 := ws.Rsv(true, false, false), ws.Rsv(false, true, false), ws.Rsv(false, false, true)
	frame := func(op ws.OpCode, fin bool, rsv byte) ws.Header {
		return ws.Header{OpCode: op, Fin: fin, Rsv: rsv, Masked: true, Length: 3}
	}
	tests := []struct {
		name string
		ext  Extensions
		h    ws.Header
		want error
	}{
		{"none: plain text", 0, frame(ws.OpText, true, 0), nil},
		{"none: RSV1 text", 0, frame(ws.OpText, true, rsv1), ErrReservedBits},
		{"none: RSV2 binary", 0, frame(ws.OpBinary, true, rsv2), ErrReservedBits},
		{"deflate: RSV1 text", ExtDeflate, frame(ws.OpText, true, rsv1), nil},
		{"deflate: RSV1 binary, first of fragments", ExtDeflate, frame(ws.OpBinary, false, rsv1), nil},
		{"deflate: uncompressed text", ExtDeflate, frame(ws.OpText, true, 0), nil},
		{"deflate: RSV1 continuation", ExtDeflate, frame(ws.OpContinuation, true, rsv1), ErrRsvPlacement},
		{"deflate: RSV1 ping", ExtDeflate, frame(ws.OpPing, true, rsv1), ErrRsvPlacement},
		{"deflate: RSV1 close", ExtDeflate, frame(ws.OpClose, true, rsv1), ErrRsvPlacement},
		{"deflate: RSV2 text", ExtDeflate, frame(ws.OpText, true, rsv2), ErrReservedBits},
		{"deflate: RSV1+RSV3 text", ExtDeflate, frame(ws.OpText, true, rsv1|rsv3), ErrReservedBits},
		{"unknown: RSV3 continuation", ExtUnknown, frame(ws.OpContinuation, true, rsv3), nil},
		{"unknown: RSV1 ping", ExtUnknown, frame(ws.OpPing, true, rsv1), nil},
		{"deflate+unknown: RSV2 ping", ExtDeflate | ExtUnknown, frame(ws.OpPing, true, rsv2), nil},
		{"unknown: still masked", ExtUnknown, ws.Header{OpCode: ws.OpText, Fin: true, Rsv: rsv1}, ErrMaskRequired},
		{"deflate: reserved opcode", ExtDeflate, frame(0x3, true, 0), ErrReservedOpCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckFrameWith(tt.h, true, tt.ext); err != tt.want {
				t.Errorf("CheckFrameWith(%+v, %v) = %v; want %v", tt.h, tt.ext, err, tt.want)
			}
		})
	}
}

func TestNextExtension(t *testing.T) {
	tests := []struct {
		in    string
		names []string
		ok    bool
	}{
		{"permessage-deflate", []string{"permessage-deflate"}, true},
		{"permessage-deflate; client_max_window_bits, x-webkit-deflate-frame", []string{"permessage-deflate", "x-webkit-deflate-frame"}, true},
		{" a ; p=\"x,y\" ,  b;q", []string{"a", "b"}, true},
		{"a; p=\"x\\\"y\", b", []string{"a", "b"}, true},
		{",, a,,", []string{"a"}, true},
		{"a; p=\"open", nil, false},
		{"a b", nil, false},
		{"a; b c", nil, false},
		{"a; =x", nil, false},
		{"a; b=", nil, false},
		{"a;b=1;c", []string{"a"}, true},
		{"@", nil, false},
		{"", nil, true},
	}
	for _, tt := range tests {
		var names []string
		ok := true
		for rest := []byte(tt.in); ; {
			var n []byte
			n, rest, ok = nextExtension(rest)
			if !ok || n == nil {
				break
			}
			names = append(names, string(n))
		}
		if ok != tt.ok || ok && len(names) != len(tt.names) {
			t.Errorf("%q: names %q ok %v; want %q %v", tt.in, names, ok, tt.names, tt.ok)
			continue
		}
		for i := range names {
			if ok && names[i] != tt.names[i] {
				t.Errorf("%q: names %q; want %q", tt.in, names, tt.names)
			}
		}
	}
}
