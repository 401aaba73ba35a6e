package codec

import (
	"encoding/binary"
	"testing"
)

func TestH2Preface(t *testing.T) {
	var r Request
	n, err := ParseRequest([]byte(H2Preface), &r)
	if err != nil || !IsH2Preface(&r) {
		t.Fatalf("ParseRequest(preface) = %d, %v; IsH2Preface %v", n, err, IsH2Preface(&r))
	}
	if _, err := ParseRequest([]byte("PRI * HTTP/1.1\r\nHost: x\r\n\r\n"), &r); err != nil || IsH2Preface(&r) {
		t.Errorf("PRI over HTTP/1.1 taken for the preface")
	}
}

func TestAppendH2GoAway(t *testing.T) {
	b := AppendH2GoAway(nil, H2HTTP11Required, "use HTTP/1.1")
	// SETTINGS: length 0, type 4, flags 0, stream 0.
	if got := string(b[:9]); got != "\x00\x00\x00\x04\x00\x00\x00\x00\x00" {
		t.Fatalf("SETTINGS frame = %q", got)
	}
	g := b[9:]
	length := int(g[0])<<16 | int(g[1])<<8 | int(g[2])
	if g[3] != 7 || length != len(g)-9 || binary.BigEndian.Uint32(g[5:9]) != 0 {
		t.Fatalf("GOAWAY header = %x (length %d of %d)", g[:9], length, len(g)-9)
	}
	p := g[9:]
	if last, code := binary.BigEndian.Uint32(p[:4]), binary.BigEndian.Uint32(p[4:8]); last != 0 || code != H2HTTP11Required || string(p[8:]) != "use HTTP/1.1" {
		t.Errorf("GOAWAY payload: last %d code %#x debug %q", last, code, p[8:])
	}
}
