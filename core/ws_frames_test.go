package core_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"wsproxy/core"
)

// echoProxy is a proxy with route "/" to one echo backend; unlike
// simpleProxy it returns the Server too, for its counters.
func echoProxy(t testing.TB) (string, *core.Server) {
	e := startEcho(t, "e1")
	srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - path: /
    upstream: %q
`, e.Addr()))
	return addr, srv
}

func TestWebSocketFragmentedGorilla(t *testing.T) {
	addr, st := echoProxy(t)
	// A 256-byte write buffer makes NextWriter send the message as a
	// text frame followed by hundreds of continuation frames.
	d := &gorilla.Dialer{HandshakeTimeout: 5 * time.Second, WriteBufferSize: 256}
	c := dialGorilla(t, "ws://"+addr+"/ws", d)
	c.NetConn().SetDeadline(time.Now().Add(testDeadline))
	msg := payload(100_000, true, 7)
	before := st.Stats().FramesUp
	w, err := c.NextWriter(gorilla.TextMessage)
	if err != nil {
		t.Fatalf("NextWriter: %v", err)
	}
	for off := 0; off < len(msg); off += 1000 {
		if _, err := w.Write(msg[off : off+1000]); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close writer: %v", err)
	}
	typ, got, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != gorilla.TextMessage || !bytes.Equal(got, msg) {
		t.Fatalf("echo: got type %d, %d bytes; want type %d, the %d bytes sent", typ, len(got), gorilla.TextMessage, len(msg))
	}
	if frames := st.Stats().FramesUp - before; frames < 100 {
		t.Errorf("frames seen client → upstream: got %d; want at least 100", frames)
	}
}

// frame is a WebSocket frame as the tests write and expect it.
type frame struct {
	fin     bool
	op      ws.OpCode
	payload string
}

func TestWebSocketFragmentedRaw(t *testing.T) {
	addr, _ := echoProxy(t)
	tests := []struct {
		name  string
		send  []frame
		chunk int // write the encoded frames this many bytes at a time; 0: at once
	}{
		{
			name: "fragments",
			send: []frame{{false, ws.OpText, "Hel"}, {false, ws.OpContinuation, "lo, "}, {true, ws.OpContinuation, "world"}},
		},
		{
			name: "ping between fragments",
			send: []frame{{false, ws.OpBinary, "ab"}, {true, ws.OpPing, "p1"}, {true, ws.OpContinuation, "cd"}},
		},
		{
			name:  "one byte per write",
			send:  []frame{{false, ws.OpText, "split "}, {true, ws.OpContinuation, string(bytes.Repeat([]byte{'z'}, 300))}},
			chunk: 1,
		},
		{
			name: "empty fragments",
			send: []frame{{false, ws.OpText, ""}, {false, ws.OpContinuation, ""}, {true, ws.OpContinuation, "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, br := rawWebSocket(t, addr, "/ws")
			var out bytes.Buffer
			for _, f := range tt.send {
				fr := ws.NewFrame(f.op, f.fin, []byte(f.payload))
				if err := ws.WriteFrame(&out, ws.MaskFrame(fr)); err != nil {
					t.Fatal(err)
				}
			}
			writeChunked(t, c, out.Bytes(), tt.chunk)
			for i, want := range tt.send {
				if want.op == ws.OpPing {
					want.op = ws.OpPong
				}
				f, err := ws.ReadFrame(br)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				got := frame{f.Header.Fin, f.Header.OpCode, string(f.Payload)}
				if got != want || f.Header.Masked {
					t.Fatalf("frame %d: got %+v (masked %v); want %+v unmasked", i, got, f.Header.Masked, want)
				}
			}
		})
	}
}

// writeChunked writes b to c chunk bytes at a time (all at once if chunk is 0).
func writeChunked(t testing.TB, c net.Conn, b []byte, chunk int) {
	t.Helper()
	if chunk <= 0 {
		chunk = len(b)
	}
	for off := 0; off < len(b); off += chunk {
		if _, err := c.Write(b[off:min(off+chunk, len(b))]); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// rawWebSocket performs the opening handshake for target on a raw
// connection and returns it with a reader positioned after the 101.
func rawWebSocket(t testing.TB, addr, target string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dialRaw(t, addr)
	writeAll(t, c, upgradeRequest(target, "example.com"))
	br := bufio.NewReader(c)
	head := readHead(t, br)
	if !bytes.HasPrefix([]byte(head), []byte("HTTP/1.1 101 ")) {
		t.Fatalf("handshake: got %q; want a 101", head)
	}
	return c, br
}
