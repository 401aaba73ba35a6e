package codec

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

var mask = [4]byte{1, 2, 3, 4}

// frameTests drives both the write (AppendFrameHeader against
// ws.WriteHeader) and the read (FrameScanner) tests.
var frameTests = []struct {
	name string
	h    ws.Header
	size int // encoded header size
}{
	{name: "empty text", h: ws.Header{Fin: true, OpCode: ws.OpText}, size: 2},
	{name: "masked 125", h: ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: 125}, size: 6},
	{name: "16-bit length", h: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 126}, size: 4},
	{name: "16-bit max masked", h: ws.Header{OpCode: ws.OpText, Masked: true, Mask: mask, Length: 0xffff}, size: 8},
	{name: "64-bit length", h: ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 0x10000}, size: 10},
	{name: "64-bit masked", h: ws.Header{Fin: true, OpCode: ws.OpContinuation, Masked: true, Mask: mask, Length: 1 << 40}, size: 14},
	{name: "rsv bits", h: ws.Header{Fin: true, Rsv: ws.Rsv(true, false, true), OpCode: ws.OpText, Length: 3}, size: 2},
	{name: "close", h: ws.Header{Fin: true, OpCode: ws.OpClose, Masked: true, Mask: mask, Length: 2}, size: 6},
}

func TestAppendFrameHeader(t *testing.T) {
	for _, tt := range frameTests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			if err := ws.WriteHeader(&want, tt.h); err != nil {
				t.Fatal(err)
			}
			got := AppendFrameHeader(nil, tt.h)
			if !bytes.Equal(got, want.Bytes()) || len(got) != tt.size {
				t.Errorf("AppendFrameHeader(%+v) = % x; want % x (%d bytes)", tt.h, got, want.Bytes(), tt.size)
			}
		})
	}
}

func TestFrameScanner(t *testing.T) {
	for _, tt := range frameTests {
		t.Run(tt.name, func(t *testing.T) {
			// Two frames back to back, the payload of the first only
			// partly present: split at every byte of header and payload.
			const payload = 300
			first := AppendFrameHeader(nil, tt.h)
			in := append(first, make([]byte, min(tt.h.Length, payload))...)
			next := ws.Header{Fin: true, OpCode: ws.OpPing, Length: 1}
			if tt.h.Length <= payload {
				in = AppendFrame(in, next, []byte{'x'})
			}
			for k := 0; k <= len(in); k++ {
				hs, rem, err := scanFrames(in, k)
				if err != nil {
					t.Fatalf("split at %d: %v", k, err)
				}
				want := []ws.Header{tt.h}
				wantRem := tt.h.Length - payload
				if tt.h.Length <= payload {
					want, wantRem = append(want, next), next.Length-1
				}
				if len(hs) != len(want) || hs[0] != want[0] || len(hs) > 1 && hs[1] != want[1] {
					t.Fatalf("split at %d: got %+v; want %+v", k, hs, want)
				}
				if rem != wantRem {
					t.Fatalf("split at %d: Remaining() = %d; want %d", k, rem, wantRem)
				}
			}
		})
	}
}

// scanFrames scans in[:k] then in[k:], the way the relay loops.
func scanFrames(in []byte, k int) (hs []ws.Header, remaining int64, err error) {
	var s FrameScanner
	for _, b := range [][]byte{in[:k], in[k:]} {
		for len(b) > 0 {
			n, h, ok, err := s.Scan(b)
			if n <= 0 && err == nil || n > len(b) || !ok && err == nil && n != len(b) {
				panic("Scan broke its contract")
			}
			b = b[n:]
			if err != nil {
				return hs, s.Remaining(), err
			}
			if ok {
				hs = append(hs, h)
			}
		}
	}
	return hs, s.Remaining(), nil
}

func TestFrameScannerLengthMSB(t *testing.T) {
	in := []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 'x'}
	for k := 0; k <= len(in); k++ {
		if _, _, err := scanFrames(in, k); err != ErrFrameLength {
			t.Fatalf("split at %d: error = %v; want %v", k, err, ErrFrameLength)
		}
	}
	var s FrameScanner
	if n, _, _, err := s.Scan(in); n != 10 || err != ErrFrameLength {
		t.Errorf("Scan = %d, %v; want 10, %v", n, err, ErrFrameLength)
	}
	if _, _, _, err := s.Scan([]byte{0x81, 0}); err != ErrFrameLength {
		t.Errorf("Scan after error = %v; want the error again", err)
	}
	s.Reset()
	if _, _, ok, err := s.Scan([]byte{0x81, 0}); !ok || err != nil {
		t.Errorf("Scan after Reset = %v, %v; want true, nil", ok, err)
	}
}

func FuzzFrameScanner(f *testing.F) {
	for _, tt := range frameTests {
		in := AppendFrameHeader(nil, tt.h)
		in = append(in, make([]byte, min(tt.h.Length, 64))...)
		f.Add(AppendFrame(in, ws.Header{Fin: true, OpCode: ws.OpPong}, []byte("pong")), uint16(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		whole, rem, err := scanFrames(in, len(in))
		k := int(split) % (len(in) + 1)
		parts, rem2, err2 := scanFrames(in, k)
		if err2 != err || rem2 != rem || len(parts) != len(whole) {
			t.Fatalf("split at %d: %d headers, %d left, %v; whole: %d, %d, %v", k, len(parts), rem2, err2, len(whole), rem, err)
		}
		for i := range whole {
			if parts[i] != whole[i] {
				t.Fatalf("split at %d: header %d = %+v; whole: %+v", k, i, parts[i], whole[i])
			}
		}
		// gobwas/ws reads the same headers as far as it gets.
		r := bytes.NewReader(in)
		for i := 0; ; i++ {
			h, err := ws.ReadHeader(r)
			if err != nil {
				if i < len(whole) {
					t.Fatalf("ws.ReadHeader failed (%v) at header %d; we read %+v", err, i, whole[i])
				}
				break
			}
			if i >= len(whole) || h != whole[i] {
				t.Fatalf("header %d: ws.ReadHeader = %+v; we read %d headers", i, h, len(whole))
			}
			if _, err := io.CopyN(io.Discard, r, h.Length); err != nil {
				break
			}
		}
	})
}

func TestCheckFrame(t *testing.T) {
	tests := []struct {
		name       string
		h          ws.Header
		fromClient bool
		rsv        byte
		want       error
	}{
		{name: "client text", h: ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}, fromClient: true},
		{name: "server binary", h: ws.Header{OpCode: ws.OpBinary, Length: 1 << 20}},
		{name: "client close", h: ws.Header{Fin: true, OpCode: ws.OpClose, Masked: true, Length: 2}, fromClient: true},
		{name: "empty close", h: ws.Header{Fin: true, OpCode: ws.OpClose}},
		{name: "ping 125", h: ws.Header{Fin: true, OpCode: ws.OpPing, Length: 125}},
		{name: "deflate negotiated", h: ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpText}, rsv: ws.Rsv(true, false, false)},
		{name: "unmasked client", h: ws.Header{Fin: true, OpCode: ws.OpText}, fromClient: true, want: ErrMaskRequired},
		{name: "masked server", h: ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}, want: ErrMaskUnexpected},
		{name: "reserved data opcode", h: ws.Header{Fin: true, OpCode: 3}, want: ErrReservedOpCode},
		{name: "reserved control opcode", h: ws.Header{Fin: true, OpCode: 0xb}, want: ErrReservedOpCode},
		{name: "rsv1 not negotiated", h: ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpText}, want: ErrReservedBits},
		{name: "rsv2 with deflate", h: ws.Header{Fin: true, Rsv: ws.Rsv(false, true, false), OpCode: ws.OpText}, rsv: ws.Rsv(true, false, false), want: ErrReservedBits},
		{name: "ping 126", h: ws.Header{Fin: true, OpCode: ws.OpPing, Length: 126}, want: ErrControlTooLong},
		{name: "fragmented pong", h: ws.Header{OpCode: ws.OpPong}, want: ErrControlFragmented},
		{name: "close of 1 byte", h: ws.Header{Fin: true, OpCode: ws.OpClose, Length: 1}, want: ErrCloseLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFrameExt(tt.h, tt.fromClient, tt.rsv)
			if err != tt.want {
				t.Fatalf("CheckFrameExt(%+v, %v, %d) = %v; want %v", tt.h, tt.fromClient, tt.rsv, err, tt.want)
			}
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Errorf("%v does not wrap ErrProtocol", err)
			}
			if tt.rsv == 0 {
				if got := CheckFrame(tt.h, tt.fromClient); got != err {
					t.Errorf("CheckFrame = %v; want %v", got, err)
				}
			}
		})
	}
}

func TestCheckContinuation(t *testing.T) {
	text, cont, ping := ws.OpText, ws.OpContinuation, ws.OpPing
	tests := []struct {
		name       string
		op         ws.OpCode
		fin        bool
		fragmented bool
		want       bool
		err        error
	}{
		{name: "whole message", op: text, fin: true},
		{name: "first fragment", op: text, want: true},
		{name: "middle fragment", op: cont, fragmented: true, want: true},
		{name: "last fragment", op: cont, fin: true, fragmented: true},
		{name: "ping between fragments", op: ping, fin: true, fragmented: true, want: true},
		{name: "text inside message", op: text, fin: true, fragmented: true, want: true, err: ErrContinuationExpected},
		{name: "stray continuation", op: cont, fin: true, err: ErrContinuationUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckContinuation(ws.Header{Fin: tt.fin, OpCode: tt.op}, tt.fragmented)
			if got != tt.want || err != tt.err {
				t.Errorf("CheckContinuation = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestAppendFrameMasks(t *testing.T) {
	payload := []byte("hello, world")
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: mask}
	out := AppendFrame(nil, h, payload)
	r := bytes.NewReader(out)
	got, err := ws.ReadHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r)
	ws.Cipher(body, got.Mask, 0)
	if got.Length != int64(len(payload)) || string(body) != "hello, world" || string(payload) != "hello, world" {
		t.Errorf("length %d, unmasked payload %q, input now %q; want %d, both %q", got.Length, body, payload, len(payload), "hello, world")
	}
}

func TestAppendClosePayload(t *testing.T) {
	tests := []struct {
		name   string
		code   ws.StatusCode
		reason string
		want   string
	}{
		{name: "no code", code: 0, reason: "ignored", want: ""},
		{name: "going away", code: ws.StatusGoingAway, reason: "bye", want: "\x03\xe9bye"},
		{name: "long ASCII", code: 1000, reason: strings.Repeat("a", 200), want: "\x03\xe8" + strings.Repeat("a", 123)},
		{name: "cut at rune", code: 1000, reason: strings.Repeat("a", 122) + "é", want: "\x03\xe8" + strings.Repeat("a", 122)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendClosePayload(nil, tt.code, tt.reason)
			if string(got) != tt.want || len(got) > 125 || len(got) > 2 && !utf8.Valid(got[2:]) {
				t.Errorf("AppendClosePayload = %q; want %q", got, tt.want)
			}
		})
	}
}
