package loadtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gobwas/ws"
)

// TestPayloadOffsets checks that any window of a stream, generated or
// verified on its own, matches the stream generated from the start.
func TestPayloadOffsets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 7, 8, 9, 125, 126, 4096, 70000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			seed := rng.Uint64()
			whole := make([]byte, size)
			fillPayload(whole, seed, 0)
			for range 50 {
				off := rng.IntN(size)
				n := rng.IntN(size-off) + 1
				part := make([]byte, n)
				fillPayload(part, seed, int64(off))
				if !bytes.Equal(part, whole[off:off+n]) {
					t.Fatalf("fillPayload at %d+%d differs from the whole stream", off, n)
				}
				if !verifyPayload(whole[off:off+n], seed, int64(off)) {
					t.Fatalf("verifyPayload at %d+%d = false; want true", off, n)
				}
				part[rng.IntN(n)] ^= 1
				if verifyPayload(part, seed, int64(off)) {
					t.Fatalf("verifyPayload of a flipped byte at %d+%d = true; want false", off, n)
				}
			}
		})
	}
}

// TestFrameChunks writes frames through buffers of odd sizes, as partial
// writes would, and reads them back with gobwas/ws.
func TestFrameChunks(t *testing.T) {
	tests := []struct {
		name string
		kind outKind
		op   ws.OpCode
		size int64
		ctl  []byte
	}{
		{"small", outData, ws.OpBinary, 10, nil},
		{"16-bit length", outData, ws.OpBinary, 300, nil},
		{"64-bit length", outData, ws.OpBinary, 70000, nil},
		{"close", outClose, ws.OpClose, 2, closeNormal[:]},
		{"pong", outPong, ws.OpPong, 5, []byte("hello")},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 64, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, chunk), func(t *testing.T) {
				var o outFrame
				o.frame(tt.kind, tt.op, 42, tt.size)
				var wire []byte
				buf := make([]byte, chunk)
				for o.sent < o.total {
					n := o.fillFrame(buf, tt.ctl)
					wire = append(wire, buf[:n]...)
					o.sent += int64(n)
				}
				f, err := ws.ReadFrame(bytes.NewReader(wire))
				if err != nil {
					t.Fatal(err)
				}
				if !f.Header.Masked || f.Header.OpCode != tt.op || !f.Header.Fin {
					t.Fatalf("header %+v; want a masked final %v frame", f.Header, tt.op)
				}
				got := ws.UnmaskFrame(f).Payload
				want := tt.ctl
				if tt.kind == outData {
					want = make([]byte, tt.size)
					fillPayload(want, 42, 0)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("payload differs after a round trip through %d-byte chunks", chunk)
				}
			})
		}
	}
}

func TestFillParts(t *testing.T) {
	parts := [][]byte{[]byte("GET / HTTP/1.1\r\n"), []byte("key"), []byte("\r\n\r\n")}
	whole := string(bytes.Join(parts, nil))
	for off := range len(whole) {
		for _, size := range []int{1, 5, 100} {
			dst := make([]byte, size)
			n := fillParts(dst, int64(off), parts...)
			if want := whole[off:min(len(whole), off+size)]; string(dst[:n]) != want {
				t.Fatalf("fillParts(off %d, %d bytes) = %q; want %q", off, size, dst[:n], want)
			}
		}
	}
}

func BenchmarkVerifyPayload(b *testing.B) {
	for _, size := range []int{32, 4096, 65536} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p := make([]byte, size)
			fillPayload(p, 7, 3)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if !verifyPayload(p, 7, 3) {
					b.Fatal("mismatch")
				}
			}
		})
	}
}

func BenchmarkFillFrame(b *testing.B) {
	for _, size := range []int64{32, 4096, 65536} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			buf := make([]byte, bufSize)
			b.ReportAllocs()
			b.SetBytes(size)
			for b.Loop() {
				var o outFrame
				o.frame(outData, ws.OpBinary, 9, size)
				o.fillFrame(buf, nil)
			}
		})
	}
}
