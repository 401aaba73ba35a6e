package core_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"

	"github.com/gobwas/ws"

	"wsproxy/core/metrics"
	"wsproxy/internal/testutil"
)

// TestCloseCodeSplitAcrossReads: a Close frame whose two-byte code does
// not arrive in the read that carries its header is counted with its
// code, not as 1005 (no code), whether none or one of the code's bytes
// came with the header, and reaches the backend whole. The proxy counts
// the frame's header before the client sends the rest, so it cannot see
// both in one read. (Under check_frames the proxy holds a Close until it
// is whole: the backend gets nothing of it before.)
func TestCloseCodeSplitAcrossReads(t *testing.T) {
	const code = ws.StatusCode(4001)
	for _, with := range []int{0, 1} { // code bytes in the first write
		t.Run(fmt.Sprintf("%d code bytes with the header", with), func(t *testing.T) {
			frame := clientFrame(ws.OpClose, string(ws.NewCloseFrameBody(code, "")))
			first := len(frame) - 2 + with // header (2 + 4 mask bytes) and `with` code bytes
			got := make(chan []byte, 1)
			backend := rawBackend(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := acceptWebSocket(c, br, ""); err != nil {
					return
				}
				buf := make([]byte, len(frame))
				if _, err := io.ReadFull(br, buf); err != nil {
					return
				}
				got <- buf
				c.Write(serverFrame(ws.OpClose, string(ws.NewCloseFrameBody(code, ""))))
				c.Close()
			})
			srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes: [{path: /, upstream: %q}]
`, backend))
			c, br := rawWebSocket(t, addr, "/")
			writeAll(t, c, string(frame[:first]))
			testutil.WaitFor(t, "the Close header read", func() bool { return srv.Stats().FramesUp >= 1 })
			writeAll(t, c, string(frame[first:]))
			if b := <-got; !bytes.Equal(b, frame) {
				t.Errorf("the backend got % x; want % x", b, frame)
			}
			f, err := ws.ReadFrame(br)
			if err != nil || f.Header.OpCode != ws.OpClose {
				t.Fatalf("got %v, %v; want the backend's Close", f.Header.OpCode, err)
			}
			c.Close()
			want := []metrics.CloseCodeCount{{Direction: 0, Code: int(code), Count: 1}, {Direction: 1, Code: int(code), Count: 1}}
			var codes []metrics.CloseCodeCount
			testutil.WaitFor(t, "both Close frames counted", func() bool {
				codes = srv.Metrics().WebSocket.CloseCodes
				return len(codes) >= 2
			})
			if !slices.Equal(codes, want) {
				t.Errorf("close codes %+v; want %+v", codes, want)
			}
		})
	}
}
