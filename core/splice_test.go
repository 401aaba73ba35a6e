package core_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"wsproxy/core"
	"wsproxy/internal/testutil"
)

// spliceSizes are message sizes around and far above the splice threshold,
// and around the longest whose spliced rest goes out whole (spliceWhole).
var spliceSizes = []int{16 << 10, 64<<10 - 1, 64 << 10, 64<<10 + 7, 65<<10 + 8, 1 << 20, 16 << 20}

// TestSpliceEcho: large messages through the proxy, fragmented and not,
// with pings and small messages between them, come back byte for byte;
// with splice on the payload is spliced both ways, with splice: false it
// is not, and afterwards no connection holds a pipe.
func TestSpliceEcho(t *testing.T) {
	tests := []struct {
		name       string
		ws         string // the route's websocket section
		wantSplice bool
	}{
		{name: "default", ws: "{}", wantSplice: core.SpliceSupported},
		{name: "splice false", ws: "{splice: false}"},
		{name: "with pings from the proxy", ws: "{ping: {interval: 1s, peers: both}}", wantSplice: core.SpliceSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			echo := startEcho(t, "e")
			srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - {path: /, upstream: %q, websocket: %s}
`, echo.Addr(), tt.ws))
			// Frames of up to 1 MiB: the 16 MiB message goes as 16 fragments.
			g := dialGorilla(t, "ws://"+addr+"/ws", &gorilla.Dialer{
				HandshakeTimeout: testDeadline, WriteBufferSize: 1 << 20, ReadBufferSize: 64 << 10,
			})
			g.NetConn().SetDeadline(time.Now().Add(testDeadline))
			var pongs atomic.Int64
			g.SetPongHandler(func(string) error { pongs.Add(1); return nil })
			var sent [][]byte
			for i, n := range spliceSizes {
				sent = append(sent, payload(n, false, uint64(i)), []byte(fmt.Sprintf("small %d", i)))
			}
			werr := make(chan error, 1)
			go func() {
				for i, p := range sent {
					typ := gorilla.BinaryMessage
					if i%2 == 1 {
						typ = gorilla.TextMessage
						// A ping goes between fragments of the next message.
						if err := g.WriteControl(gorilla.PingMessage, []byte("hi"), time.Now().Add(testDeadline)); err != nil {
							werr <- err
							return
						}
					}
					if err := g.WriteMessage(typ, p); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			for i, want := range sent {
				_, got, err := g.ReadMessage()
				if err != nil {
					t.Fatalf("message %d: read: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("message %d of %d bytes: got %d bytes (equal prefix %d); want the same bytes",
						i, len(want), len(got), commonPrefix(got, want))
				}
			}
			if err := <-werr; err != nil {
				t.Fatalf("write: %v", err)
			}
			if pongs.Load() == 0 {
				t.Errorf("no pong came back for %d pings", len(spliceSizes))
			}
			spliced, _, _ := core.SpliceStats(srv)
			for d, n := range spliced {
				if got := n > 0; got != tt.wantSplice {
					t.Errorf("direction %d: %d bytes spliced; want spliced %v", d, n, tt.wantSplice)
				}
			}
			t.Logf("spliced: %d up, %d down", spliced[0], spliced[1])
			testutil.WaitFor(t, "no pipe held", func() bool { _, held, _ := core.SpliceStats(srv); return held == 0 })
		})
	}
}

// gorillaBackend is a net/http server with gorilla/websocket whose
// connections run serve.
func gorillaBackend(t testing.TB, serve func(c *gorilla.Conn)) string {
	t.Helper()
	up := gorilla.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.NetConn().SetDeadline(time.Now().Add(testDeadline))
		serve(c)
	}))
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// TestSpliceSlowReader: when the receiver stops reading, spliced bytes
// wait in a pipe and the sender is paused; once it reads again every
// message arrives intact and the pipe goes back to the pool.
func TestSpliceSlowReader(t *testing.T) {
	if !core.SpliceSupported {
		t.Skip("no splice on this platform")
	}
	const messages, size = 8, 4 << 20 // more than the socket buffers on the way hold
	msgs := make([][]byte, messages)
	for i := range msgs {
		msgs[i] = payload(size, false, uint64(100+i))
	}
	tests := []struct {
		name           string
		upstreamWrites bool // the backend sends, the client is slow; else the reverse
	}{
		{name: "client to slow upstream"},
		{name: "upstream to slow client", upstreamWrites: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := make(chan struct{})   // closed when the slow side may read
			result := make(chan error, 1) // the backend's verdict
			backend := gorillaBackend(t, func(c *gorilla.Conn) {
				result <- relayMessages(c, msgs, tt.upstreamWrites, gate)
			})
			srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 1
routes:
  - {path: /, upstream: %q}
`, backend))
			g := dialGorilla(t, "ws://"+addr+"/ws", &gorilla.Dialer{HandshakeTimeout: testDeadline, WriteBufferSize: 1 << 20})
			g.NetConn().SetDeadline(time.Now().Add(testDeadline))
			client := make(chan error, 1)
			go func() { client <- relayMessages(g, msgs, !tt.upstreamWrites, gate) }()
			testutil.WaitFor(t, "a pipe held for the stalled reader", func() bool {
				_, held, _ := core.SpliceStats(srv)
				return held > 0
			})
			close(gate)
			for _, ch := range []chan error{client, result} {
				if err := <-ch; err != nil {
					t.Fatal(err)
				}
			}
			testutil.WaitFor(t, "every pipe back in the pool", func() bool {
				_, held, _ := core.SpliceStats(srv)
				return held == 0
			})
		})
	}
}

// relayMessages writes msgs to c if write, else waits for gate and reads them
// back, checking every byte.
func relayMessages(c *gorilla.Conn, msgs [][]byte, write bool, gate chan struct{}) error {
	if write {
		for i, m := range msgs {
			if err := c.WriteMessage(gorilla.BinaryMessage, m); err != nil {
				return fmt.Errorf("write %d: %v", i, err)
			}
		}
		// Wait for the reader's close, so that the tunnel is not cut
		// before the last bytes are through.
		if _, _, err := c.ReadMessage(); !gorilla.IsCloseError(err, gorilla.CloseNormalClosure) {
			return fmt.Errorf("after writing: got %v; want the reader's close", err)
		}
		return nil
	}
	<-gate
	for i, want := range msgs {
		_, got, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("read %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("message %d: got %d bytes (equal prefix %d); want %d", i, len(got), commonPrefix(got, want), len(want))
		}
	}
	return c.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, ""))
}

// fdTable is this process's open descriptors: number → link target
// ("pipe:[1234]", "socket:[5678]", a path).
type fdTable map[string]string

func openFDTable(t testing.TB) fdTable {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	m := make(fdTable, len(ents))
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			m[e.Name()] = l
		}
	}
	return m
}

// opened counts the descriptors open now that were not open (as the same
// number and file) in before, pipes only if pipesOnly. Descriptors that
// other tests' leftovers close meanwhile do not count either way, so the
// count is this test's own.
func opened(t testing.TB, before fdTable, pipesOnly bool) int {
	t.Helper()
	n := 0
	for fd, l := range openFDTable(t) {
		if before[fd] == l || pipesOnly && !strings.HasPrefix(l, "pipe:") {
			continue
		}
		n++
	}
	return n
}
