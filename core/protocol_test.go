package core_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"wsproxy/codec"
)

// rawWS is a hand-driven WebSocket client for frames real clients refuse
// to send.
type rawWS struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRawWS(t *testing.T, addr, path string) *rawWS {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return &rawWS{t: t, c: c, br: br}
}

func (r *rawWS) send(h ws.Header, payload []byte) {
	r.t.Helper()
	h.Length = int64(len(payload))
	p := append([]byte(nil), payload...)
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	b := append(codec.AppendFrameHeader(nil, h), p...)
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// next reads one frame (server frames are unmasked).
func (r *rawWS) next() (ws.Header, []byte, error) {
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := ws.ReadHeader(r.br)
	if err != nil {
		return h, nil, err
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r.br, p); err != nil {
		return h, nil, err
	}
	return h, p, nil
}

// closeCodeOf reads frames until a Close and returns its code.
func (r *rawWS) closeCode() ws.StatusCode {
	r.t.Helper()
	for {
		h, p, err := r.next()
		if err != nil {
			r.t.Fatalf("reading for a Close: %v", err)
		}
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			return code
		}
	}
}

var mask = [4]byte{1, 2, 3, 4}

func TestProtocolChecks(t *testing.T) {
	e := startEcho(t, "e1")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - path: /
    upstream: %q
    websocket: {max_message: 1000, max_frame: 600}
`, e.Addr().String()))
	tests := []struct {
		name   string
		frames func(r *rawWS)
		want   ws.StatusCode
	}{
		{"unmasked client frame", func(r *rawWS) { r.send(ws.Header{Fin: true, OpCode: ws.OpText}, []byte("hi")) }, ws.StatusProtocolError},
		{"reserved opcode", func(r *rawWS) { r.send(ws.Header{Fin: true, OpCode: 0x3, Masked: true, Mask: mask}, []byte("x")) }, ws.StatusProtocolError},
		{"control frame over 125", func(r *rawWS) {
			r.send(ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true, Mask: mask}, make([]byte, 126))
		}, ws.StatusProtocolError},
		{"rsv bits", func(r *rawWS) {
			r.send(ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpText, Masked: true, Mask: mask}, []byte("x"))
		}, ws.StatusProtocolError},
		{"continuation without start", func(r *rawWS) {
			r.send(ws.Header{Fin: true, OpCode: ws.OpContinuation, Masked: true, Mask: mask}, []byte("x"))
		}, ws.StatusProtocolError},
		{"frame over max_frame", func(r *rawWS) {
			r.send(ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask}, make([]byte, 601))
		}, ws.StatusMessageTooBig},
		{"message over max_message", func(r *rawWS) {
			r.send(ws.Header{OpCode: ws.OpBinary, Masked: true, Mask: mask}, make([]byte, 500))
			r.send(ws.Header{OpCode: ws.OpContinuation, Masked: true, Mask: mask}, make([]byte, 500))
			r.send(ws.Header{Fin: true, OpCode: ws.OpContinuation, Masked: true, Mask: mask}, make([]byte, 500))
		}, ws.StatusMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRawWS(t, addr, "/")
			tt.frames(r)
			if got := r.closeCode(); got != tt.want {
				t.Errorf("close code = %d; want %d", got, tt.want)
			}
		})
	}
	// A well-behaved message within the limits still echoes.
	r := dialRawWS(t, addr, "/")
	r.send(ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: mask}, []byte("fine"))
	if h, p, err := r.next(); err != nil || string(p) != "fine" || h.OpCode != ws.OpText {
		t.Fatalf("echo: %v %q %v; want text \"fine\"", h, p, err)
	}
}

func TestPingDetectsDeadClient(t *testing.T) {
	e := startEcho(t, "e1")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - path: /live
    upstream: %[1]q
    websocket: {ping: {interval: 100ms, timeout: 10s, peers: client}}
  - path: /dead
    upstream: %[1]q
    websocket: {ping: {interval: 100ms, timeout: 300ms, peers: client}}
`, e.Addr().String()))

	// gorilla answers pings by itself. The proxy pings again only once the
	// last Ping was answered (else it closes the tunnel at the timeout), so
	// every Ping after the first shows a Pong heard, and it pings again an
	// interval after the answer, not when the timeout would have expired:
	// four Pings well within one timeout. The long timeout leaves room for
	// a loaded machine to answer late.
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pings := make(chan string, 100)
	c.SetPingHandler(func(s string) error {
		pings <- s
		return c.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				close(pings)
				return
			}
		}
	}()
	within := time.After(5 * time.Second) // half the timeout
	for i := 0; i < 4; i++ {
		select {
		case s, ok := <-pings:
			if !ok {
				t.Fatalf("tunnel closed after %d pings; want it kept open", i)
			}
			if s != "wsproxy!" {
				t.Errorf("ping payload %q; want wsproxy!", s)
			}
		case <-within:
			t.Fatalf("%d pings in 5s at a 100ms interval; want 4 (the next Ping waits for the 10s timeout?)", i)
		}
	}

	// A client that never answers is closed after interval+timeout.
	r := dialRawWS(t, addr, "/dead")
	start := time.Now()
	for {
		h, _, err := r.next()
		if err != nil {
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("silent client closed after %v; want about 400ms", el)
			}
			return
		}
		if h.OpCode != ws.OpPing && h.OpCode != ws.OpClose {
			t.Fatalf("unexpected frame %v", h)
		}
	}
}

func TestRouteIdleTimeoutSendsGoingAway(t *testing.T) {
	e := startEcho(t, "e1")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - path: /
    upstream: %q
    websocket: {idle: 200ms}
`, e.Addr().String()))
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("idle tunnel: %v; want close 1001", err)
	}
}
