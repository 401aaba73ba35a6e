package codec

import "testing"

func TestFrameScannerBoundary(t *testing.T) {
	tests := []struct {
		name string
		seen []byte // scanned before the call
		buf  []byte
		at   bool // AtBoundary after seen
		want int
	}{
		{name: "fresh", buf: []byte{0x81, 0x05}, at: true, want: 0},
		{name: "after empty frame", seen: []byte{0x89, 0x00}, buf: []byte{0x81}, at: true, want: 0},
		{name: "payload short", seen: []byte{0x82, 0x05}, buf: []byte("abc"), want: -1},
		{name: "payload ends with buf", seen: []byte{0x82, 0x05}, buf: []byte("abcde"), want: 5},
		{name: "next frame follows", seen: []byte{0x82, 0x05}, buf: []byte("abcde\x82\x05xy"), want: 5},
		{name: "partial payload seen", seen: []byte{0x82, 0x05, 'a', 'b'}, buf: []byte("cde\x81\x00"), want: 3},
		{name: "held header, empty payload", seen: []byte{0x81}, buf: []byte{0x00, 0x81}, want: 1},
		{name: "held header, payload", seen: []byte{0x82, 0x7e, 0x00}, buf: []byte{0x03, 'a', 'b', 'c', 0x81}, want: 4},
		{name: "held header incomplete", seen: []byte{0x82, 0x7e}, buf: []byte{0x00}, want: -1},
		{name: "held header, bad length", seen: []byte{0x82, 0x7f}, buf: []byte{0x80, 0, 0, 0, 0, 0, 0, 0}, want: -1},
		{name: "empty buf inside frame", seen: []byte{0x82, 0x01}, buf: nil, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s FrameScanner
			scanAll(&s, tt.seen)
			if got := s.AtBoundary(); got != tt.at {
				t.Errorf("AtBoundary() = %v; want %v", got, tt.at)
			}
			before := s
			if got := s.Boundary(tt.buf); got != tt.want {
				t.Errorf("Boundary(% x) = %d; want %d", tt.buf, got, tt.want)
			}
			if s != before {
				t.Errorf("Boundary advanced the scanner")
			}
			if tt.want <= 0 {
				return
			}
			// Scanning up to the boundary leaves the scanner at one.
			for b := tt.buf[:tt.want]; len(b) > 0; {
				n, _, _, _ := s.Scan(b)
				b = b[n:]
			}
			if !s.AtBoundary() {
				t.Errorf("AtBoundary() after scanning %d bytes = false; want true", tt.want)
			}
		})
	}
}

// TestFrameScannerSkip: payload stepped over with Skip counts as if it had
// been scanned; the header after it is read normally.
func TestFrameScannerSkip(t *testing.T) {
	tests := []struct {
		name    string
		seen    []byte // scanned before Skip
		skip    int64
		rest    []byte // scanned after Skip
		wantRem int64  // Remaining() after Skip
		wantOp  byte   // opcode of the header found in rest, 0 if none
	}{
		{name: "whole payload", seen: []byte{0x82, 0x05}, skip: 5, rest: []byte{0x81, 0x00}, wantOp: 1},
		{name: "part, then the rest scanned", seen: []byte{0x82, 0x05}, skip: 3, wantRem: 2, rest: []byte("de\x89\x00"), wantOp: 9},
		{name: "after scanned bytes", seen: []byte{0x82, 0x05, 'a'}, skip: 4, rest: []byte{0x8a, 0x00}, wantOp: 10},
		{name: "zero", seen: []byte{0x82, 0x05}, skip: 0, wantRem: 5},
		{name: "16-bit length", seen: []byte{0x82, 0x7e, 0x40, 0x00}, skip: 1 << 14, rest: []byte{0x88, 0x00}, wantOp: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s FrameScanner
			scanAll(&s, tt.seen)
			s.Skip(tt.skip)
			if got := s.Remaining(); got != tt.wantRem {
				t.Errorf("Remaining() after Skip(%d) = %d; want %d", tt.skip, got, tt.wantRem)
			}
			var op byte
			for b := tt.rest; len(b) > 0; {
				n, h, ok, err := s.Scan(b)
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
				if ok {
					op = byte(h.OpCode)
				}
				b = b[n:]
			}
			if op != tt.wantOp {
				t.Errorf("opcode after the skipped payload: got %d; want %d", op, tt.wantOp)
			}
		})
	}
}

func TestFrameScannerSkipTooFar(t *testing.T) {
	var s FrameScanner
	s.Scan([]byte{0x82, 0x05})
	defer func() {
		if recover() == nil {
			t.Errorf("Skip(6) with 5 bytes remaining did not panic")
		}
	}()
	s.Skip(6)
}

// scanAll feeds b to s until all of it is taken.
func scanAll(s *FrameScanner, b []byte) {
	for len(b) > 0 {
		n, _, _, _ := s.Scan(b)
		b = b[n:]
	}
}
