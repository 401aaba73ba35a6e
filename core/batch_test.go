package core_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"wsproxy/codec"
)

// smallFrames encodes count masked binary frames of 200 bytes, numbered
// from first, as a client sends them.
func smallFrames(first, count int) []byte {
	var out []byte
	for i := range count {
		h := ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 200, Masked: true, Mask: [4]byte{9, 8, 7, 6}}
		out = codec.AppendFrameHeader(out, h)
		p := make([]byte, 200)
		binary.BigEndian.PutUint64(p, uint64(first+i))
		ws.Cipher(p, h.Mask, 0)
		out = append(out, p...)
	}
	return out
}

// TestSmallFramesToStalledUpstreamInOrder: a stream of small frames
// pushed at an upstream that stops reading is held back by the same
// back-pressure as one large frame (TestBackPressure), and once the
// upstream reads again every frame arrives, once and in order. Small
// frames take the paths a large frame never does: reads ahead and the
// loop's send batch when several tunnels are busy (prefetch.go,
// reactor.Sends; TestBatchedSendToFullSocket drives those one step at a
// time), the read buffer's frame boundaries otherwise.
func TestSmallFramesToStalledUpstreamInOrder(t *testing.T) {
	expect := make(chan int, 1)
	got := make(chan error, 1)
	backend := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := acceptWebSocket(c, br, ""); err != nil {
			got <- err
			return
		}
		want := <-expect // nothing is read before the client is held back
		for i := range want {
			h, err := ws.ReadHeader(br)
			if err != nil {
				got <- fmt.Errorf("frame %d of %d: %v", i, want, err)
				return
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				got <- fmt.Errorf("frame %d of %d, payload: %v", i, want, err)
				return
			}
			ws.Cipher(p, h.Mask, 0)
			if n := binary.BigEndian.Uint64(p); h.Length != 200 || n != uint64(i) {
				got <- fmt.Errorf("frame %d of %d: length %d, number %d", i, want, h.Length, n)
				return
			}
		}
		got <- nil
	})
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - {path: /, upstream: %q}
`, backend))
	c, _ := rawWebSocket(t, addr, "/")

	// Chunks of 300 frames until a write is held back, as in
	// TestBackPressure; what the proxy took is counted in whole frames.
	const perChunk = 300
	frameSize := int64(len(smallFrames(0, 1)))
	limit := pushLimit(t)
	var written int64
	blocked := false
	for chunk := 0; !blocked && written <= limit; chunk++ {
		c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Write(smallFrames(chunk*perChunk, perChunk))
		written += int64(n)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			blocked = true
		case err != nil:
			t.Fatalf("after %d bytes: %v", written, err)
		}
	}
	if !blocked {
		t.Fatalf("the client wrote %d bytes of small frames to an upstream that reads nothing, and was never held back", written)
	}
	expect <- int(written / frameSize)
	if err := <-got; err != nil {
		t.Fatalf("%v (%d bytes pushed)", err, written)
	}
}
