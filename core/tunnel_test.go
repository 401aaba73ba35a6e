package core_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"wsproxy/core"
	"wsproxy/internal/testutil"
)

// tunnelProxy routes every path to backend.
func tunnelProxy(t testing.TB, backend string) (*core.Server, string) {
	t.Helper()
	return startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes: [{path: /, upstream: %q}]
`, backend))
}

// TestTunnelHalfClose: the client shuts its write side; the backend sees EOF
// after the client's last frame, and what it sends afterwards still reaches
// the client, followed by EOF.
func TestTunnelHalfClose(t *testing.T) {
	type seen struct {
		got []byte
		err error
	}
	done := make(chan seen, 1)
	backend := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := acceptWebSocket(c, br, ""); err != nil {
			done <- seen{err: err}
			return
		}
		got, err := io.ReadAll(br) // until the client's EOF comes through
		if err == nil {
			// Written after EOF: the proxy must still carry it.
			_, err = c.Write(serverFrame(ws.OpText, "reply after your EOF"))
		}
		done <- seen{got, err}
	})
	_, addr := tunnelProxy(t, backend)

	c, br := rawWebSocket(t, addr, "/half")
	last := clientFrame(ws.OpText, "last words")
	writeAll(t, c, string(last))
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	s := <-done
	if s.err != nil || !bytes.Equal(s.got, last) {
		t.Fatalf("backend read until EOF: got %q, %v; want %q", s.got, s.err, last)
	}
	f, err := ws.ReadFrame(br)
	if err != nil || string(f.Payload) != "reply after your EOF" {
		t.Fatalf("client: got %q, %v; want the frame sent after EOF", f.Payload, err)
	}
	expectEOF(t, br, c)
}

// TestTunnelUpstreamCloses: when the backend closes a tunnel, the client
// sees the end of the stream at once (not at the idle timeout), and the
// proxy lets go of the connection once the client closes too.
func TestTunnelUpstreamCloses(t *testing.T) {
	tests := []struct {
		name  string
		close func(c net.Conn)
	}{
		{"close", func(c net.Conn) { c.Close() }},
		{"close frame then close", func(c net.Conn) {
			c.Write(serverFrame(ws.OpClose, "\x03\xe8bye"))
			c.Close()
		}},
		{"reset", func(c net.Conn) {
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := rawBackend(t, func(c net.Conn) {
				if _, err := acceptWebSocket(c, bufio.NewReader(c), ""); err != nil {
					return
				}
				c.Write(serverFrame(ws.OpText, "about to go"))
				tt.close(c)
			})
			srv, addr := tunnelProxy(t, backend)
			c, br := rawWebSocket(t, addr, "/bye")
			start := time.Now()
			c.SetReadDeadline(start.Add(3 * time.Second))
			rest, err := io.ReadAll(br)
			if took := time.Since(start); err != nil || took > 2*time.Second {
				t.Fatalf("client: read ended after %v with %v; want EOF at once", took, err)
			}
			if f, err := ws.ReadFrame(bytes.NewReader(rest)); err != nil || string(f.Payload) != "about to go" {
				t.Errorf("client: got %q before EOF; want the backend's last frame", rest)
			}
			c.Close()
			testutil.WaitFor(t, "proxy connections closed", func() bool { return srv.Stats().Open == 0 })
		})
	}
}

// TestTunnelNoDelay: a backend that writes a frame header and its payload
// separately (as many servers do) must not make each message wait for a
// delayed ACK between the proxy and the client (Nagle's algorithm).
func TestTunnelNoDelay(t *testing.T) {
	backend := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := acceptWebSocket(c, br, ""); err != nil {
			return
		}
		for {
			f, err := ws.ReadFrame(br)
			if err != nil {
				return
			}
			f = ws.UnmaskFrameInPlace(f)
			b := serverFrame(f.Header.OpCode, string(f.Payload))
			c.Write(b[:2])
			c.Write(b[2:])
		}
	})
	_, addr := tunnelProxy(t, backend)
	g := dialGorilla(t, "ws://"+addr+"/ws", nil)
	g.NetConn().SetDeadline(time.Now().Add(testDeadline))
	const rounds = 100
	took := make([]time.Duration, rounds)
	for i := range took {
		start := time.Now()
		if err := g.WriteMessage(gorilla.TextMessage, []byte("ping")); err != nil {
			t.Fatalf("write: %v", err)
		}
		if _, got, err := g.ReadMessage(); err != nil || string(got) != "ping" {
			t.Fatalf("read: got %q, %v; want \"ping\"", got, err)
		}
		took[i] = time.Since(start)
	}
	// Without TCP_NODELAY toward the client, half or more of the rounds
	// wait for the client's delayed ACK (at least 40ms on Linux); with it a
	// round takes well under a millisecond. A loaded machine stalls a few
	// rounds, not a quarter of them: count the slow rounds rather than
	// time the whole run.
	slow := 0
	for _, d := range took {
		if d >= 30*time.Millisecond {
			slow++
		}
	}
	if slow > rounds/4 {
		t.Errorf("%d of %d round trips took 30ms or more (a delayed ACK); want at most %d (all: %v)", slow, rounds, rounds/4, took)
	}
}
