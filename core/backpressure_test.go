package core_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"wsproxy/codec"
)

// pushLimit is the most a pusher may get written before it is blocked: the
// buffers of the four sockets on the way at the most kernel autotuning
// grows them to (two send buffers of tcp_wmem's maximum, two receive
// buffers of tcp_rmem's), plus 4 MB for the proxy's bounded pending output
// and a pipe. Usually 7-11 MB get through on loopback, but a receive
// buffer the proxy read fast from before it stopped can grow to the
// maximum: 32 MB on Linux 6.18, where a loaded run pushed 40 MB, 36 MB of
// them queued in the proxy's own socket. Without back-pressure a pusher
// writes hundreds of MB in the time allowed.
func pushLimit(t *testing.T) int64 {
	limit := int64(4 << 20)
	for _, f := range []string{"/proc/sys/net/ipv4/tcp_wmem", "/proc/sys/net/ipv4/tcp_rmem"} {
		b, err := os.ReadFile(f)
		var lo, def, hi int64
		if err == nil {
			_, err = fmt.Sscan(string(b), &lo, &def, &hi)
		}
		if err != nil {
			t.Logf("%s: %v; taking 6 MB", f, err)
			hi = 6 << 20
		}
		limit += 2 * hi
	}
	return limit
}

// push writes a never-ending frame payload to c for up to d and reports how
// many bytes went out and whether a write was blocked for pushStall.
func push(c net.Conn, d time.Duration) (n int64, blocked bool, err error) {
	const pushStall = 300 * time.Millisecond
	buf := make([]byte, 64<<10)
	for end := time.Now().Add(d); time.Now().Before(end); {
		c.SetWriteDeadline(time.Now().Add(pushStall))
		m, err := c.Write(buf)
		n += int64(m)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// hugeFrameHeader starts a binary frame longer than any test will send, so
// that everything pushed behind it is payload.
func hugeFrameHeader(masked bool) []byte {
	h := ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 1 << 40, Masked: masked}
	if masked {
		h.Mask = [4]byte{1, 2, 3, 4}
	}
	return codec.AppendFrameHeader(nil, h)
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestBackPressure: when one side of a tunnel stops reading, the other side
// is blocked after a bounded number of bytes, the proxy's memory does not
// grow with what was pushed, and other connections are still served.
func TestBackPressure(t *testing.T) {
	tests := []struct {
		name string
		// upstreamPushes: the backend floods a client that never reads;
		// otherwise the client floods a backend that never reads.
		upstreamPushes bool
	}{
		{name: "client to stalled upstream"},
		{name: "upstream to stalled client", upstreamPushes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				n       int64
				blocked bool
				err     error
			}
			backendDone := make(chan result, 1)
			stop := make(chan struct{})
			backend := rawBackend(t, func(c net.Conn) {
				if _, err := acceptWebSocket(c, bufio.NewReader(c), ""); err != nil {
					backendDone <- result{err: err}
					return
				}
				if tt.upstreamPushes {
					c.Write(hugeFrameHeader(false))
					n, blocked, err := push(c, 2*time.Second)
					backendDone <- result{n, blocked, err}
				}
				<-stop // never read
			})
			t.Cleanup(func() { close(stop) }) // runs before the backend's cleanup
			echo := startEcho(t, "e")
			_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - {path: /stuck, upstream: %q}
  - {path: /, upstream: %q}
`, backend, echo.Addr()))

			c, _ := rawWebSocket(t, addr, "/stuck")
			before := heapInuse()
			var r result
			if tt.upstreamPushes {
				r = <-backendDone // the client reads nothing meanwhile
			} else {
				writeAll(t, c, string(hugeFrameHeader(true)))
				r.n, r.blocked, r.err = push(c, 2*time.Second)
			}
			if r.err != nil {
				t.Fatalf("push: %v after %d bytes", r.err, r.n)
			}
			if limit := pushLimit(t); !r.blocked || r.n > limit {
				t.Fatalf("pusher: blocked %v after %d bytes; want blocked after at most %d", r.blocked, r.n, limit)
			}
			growth := int64(heapInuse()) - int64(before)
			t.Logf("pushed %d bytes before blocking; proxy heap grew by %d", r.n, growth)
			if growth > 4<<20 || growth > r.n/4 {
				t.Errorf("heap in use grew by %d bytes while %d were pushed; want far less", growth, r.n)
			}

			// The stalled tunnel does not hold up another connection.
			g := dialGorilla(t, "ws://"+addr+"/ws", nil)
			g.NetConn().SetDeadline(time.Now().Add(5 * time.Second))
			msg := payload(200_000, false, 9)
			if err := g.WriteMessage(gorilla.BinaryMessage, msg); err != nil {
				t.Fatalf("other connection: write: %v", err)
			}
			if _, got, err := g.ReadMessage(); err != nil || len(got) != len(msg) {
				t.Fatalf("other connection: got %d bytes, %v; want the %d sent", len(got), err, len(msg))
			}
		})
	}
}
