package control

import (
	"bytes"
	"testing"
)

// TestPackets checks that packets and the assembler agree for bodies
// around the packet size, and that no packet exceeds maxPacket.
func TestPackets(t *testing.T) {
	for _, size := range []int{0, 1, maxPacket - 20, maxPacket, 3*maxPacket + 5} {
		h := header{kind: kindRequest, id: 42, typ: "apply", bodyLen: size}
		want := body(size)
		var a assembler
		ps := packets(h, want)
		for i, p := range ps {
			if len(p) > maxPacket {
				t.Fatalf("size %d: packet %d has %d bytes; want at most %d", size, i, len(p), maxPacket)
			}
			done, err := a.add(p)
			if err != nil {
				t.Fatalf("size %d: packet %d: %v", size, i, err)
			}
			if done != (i == len(ps)-1) {
				t.Fatalf("size %d: packet %d: done %v; want %v", size, i, done, i == len(ps)-1)
			}
		}
		if a.h.id != 42 || a.h.typ != "apply" || a.h.kind != kindRequest || !bytes.Equal(a.body, want) {
			t.Errorf("size %d: got %+v, body equal %v", size, a.h, bytes.Equal(a.body, want))
		}
	}
}

// FuzzAssembler feeds arbitrary packets to the assembler: it must never
// panic, never hold more than the announced body, and a completed message
// must have exactly the announced length.
func FuzzAssembler(f *testing.F) {
	for _, size := range []int{0, 5, maxPacket} {
		ps := packets(header{kind: kindNotify, typ: "t", bodyLen: size}, body(size))
		f.Add(bytes.Join(ps, []byte{0xfe, 0xfe}))
	}
	f.Add([]byte{flagFirst | flagLast, kindReply, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var a assembler
		// Packets are separated by 0xfe 0xfe in the fuzz input.
		for _, p := range bytes.Split(data, []byte{0xfe, 0xfe}) {
			done, err := a.add(p)
			if err != nil {
				continue
			}
			if len(a.body) > a.h.bodyLen {
				t.Fatalf("body of %d bytes; announced %d", len(a.body), a.h.bodyLen)
			}
			if done && len(a.body) != a.h.bodyLen {
				t.Fatalf("complete with %d bytes; announced %d", len(a.body), a.h.bodyLen)
			}
		}
	})
}
