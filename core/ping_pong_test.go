package core_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/gobwas/ws"
)

// TestPongNotOursIsForwarded: with a Ping of the proxy outstanding toward
// each peer, a Pong of the same length (8 bytes) but another payload is a
// peer's own (an unsolicited heartbeat, or the answer to a Ping from the
// other side) and must reach the other side; only the Pong carrying the
// proxy's payload is swallowed. The backend's frames are unmasked, the
// client's masked, so both ways of matching the payload are exercised.
func TestPongNotOursIsForwarded(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	fromClient := make(chan string, 10) // what the backend receives: "op payload"
	backend := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := acceptWebSocket(c, br, ""); err != nil {
			return
		}
		// Each frame in one write: ws.WriteFrame writes the header and
		// the payload apart, and a read of the proxy's that ends between
		// them must forward even its own Pong (it cannot take a header
		// back: TestControlSplitInFragmentedMessage), which on a loaded
		// machine made this test fail now and then.
		send := func(op ws.OpCode, p string) {
			var b bytes.Buffer
			ws.WriteFrame(&b, ws.NewFrame(op, true, []byte(p)))
			c.Write(b.Bytes())
		}
		for {
			h, err := ws.ReadHeader(br)
			if err != nil {
				close(fromClient)
				return
			}
			p := make([]byte, h.Length)
			if _, err := io.ReadFull(br, p); err != nil {
				close(fromClient)
				return
			}
			if h.Masked {
				ws.Cipher(p, h.Mask, 0)
			}
			switch {
			case h.OpCode == ws.OpPing:
				// The proxy's Ping: a heartbeat of our own first,
				// then the answer.
				send(ws.OpPong, "12345678")
				send(ws.OpPong, string(p))
				send(ws.OpText, "after the pongs")
			case h.OpCode == ws.OpClose:
				close(fromClient)
				return
			default:
				fromClient <- fmt.Sprintf("%v %s", h.OpCode, p)
			}
		}
	})
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - path: /
    upstream: %q
    websocket: {ping: {interval: 50ms, timeout: 10s, peers: both}}
`, backend))

	r := dialRawWS(t, addr, "/")
	var gotPing, gotText bool
	var pongs []string
	for !gotPing || !gotText {
		h, p, err := r.next()
		if err != nil {
			t.Fatalf("client read: %v (ping %v, text %v, pongs %q)", err, gotPing, gotText, pongs)
		}
		switch h.OpCode {
		case ws.OpPing:
			if gotPing {
				continue // a later Ping of the proxy
			}
			gotPing = true
			// The client's own 8-byte Pong first, then the answer.
			r.send(ws.Header{Fin: true, OpCode: ws.OpPong, Masked: true, Mask: mask}, []byte("abcdefgh"))
			r.send(ws.Header{Fin: true, OpCode: ws.OpPong, Masked: true, Mask: mask}, p)
			r.send(ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: mask}, []byte("client done"))
		case ws.OpPong:
			pongs = append(pongs, string(p))
		case ws.OpText:
			if string(p) != "after the pongs" {
				t.Fatalf("client got text %q", p)
			}
			gotText = true
		}
	}
	if len(pongs) != 1 || pongs[0] != "12345678" {
		t.Errorf("client got Pongs %q; want only the backend's own \"12345678\"", pongs)
	}
	var atBackend []string
	for s := range fromClient {
		atBackend = append(atBackend, s)
		if s == fmt.Sprintf("%v client done", ws.OpText) {
			break
		}
	}
	want := []string{fmt.Sprintf("%v abcdefgh", ws.OpPong), fmt.Sprintf("%v client done", ws.OpText)}
	if fmt.Sprint(atBackend) != fmt.Sprint(want) {
		t.Errorf("backend got %q; want %q", atBackend, want)
	}
}
