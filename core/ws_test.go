package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
)

// echoSizes are the message sizes echoed by both clients: around the 7-bit,
// 16-bit and 64-bit payload length encodings, and large enough to cross
// many reads and back-pressure pauses.
var echoSizes = []int{0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20}

// payload returns n bytes: printable ASCII for text messages, random bytes
// for binary ones.
func payload(n int, text bool, seed uint64) []byte {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(n)
	p := make([]byte, n)
	rand.NewChaCha8(key).Read(p)
	if text {
		for i, b := range p {
			p[i] = 'a' + b%26
		}
	}
	return p
}

// dialGorilla opens a WebSocket through the proxy with gorilla/websocket.
func dialGorilla(t testing.TB, url string, d *gorilla.Dialer) *gorilla.Conn {
	t.Helper()
	if d == nil {
		d = &gorilla.Dialer{HandshakeTimeout: 5 * time.Second}
	}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("gorilla dial %s: %v", url, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	return c
}

// dialCoder opens a WebSocket through the proxy with coder/websocket.
func dialCoder(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("coder dial %s: %v", url, err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	c.SetReadLimit(32 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func TestWebSocketEcho(t *testing.T) {
	addr, _ := simpleProxy(t)
	url := "ws://" + addr + "/ws"
	g := dialGorilla(t, url, nil)
	cd := dialCoder(t, url)
	clients := []struct {
		name string
		// echo writes p as one message from another goroutine, reads the
		// echo, and returns what came back.
		echo func(t *testing.T, text bool, p []byte) []byte
	}{
		{"gorilla", func(t *testing.T, text bool, p []byte) []byte {
			typ := gorilla.BinaryMessage
			if text {
				typ = gorilla.TextMessage
			}
			g.NetConn().SetDeadline(time.Now().Add(testDeadline))
			werr := make(chan error, 1)
			go func() { werr <- g.WriteMessage(typ, p) }()
			gotType, got, err := g.ReadMessage()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if err := <-werr; err != nil {
				t.Fatalf("write: %v", err)
			}
			if gotType != typ {
				t.Errorf("message type: got %d; want %d", gotType, typ)
			}
			return got
		}},
		{"coder", func(t *testing.T, text bool, p []byte) []byte {
			typ := websocket.MessageBinary
			if text {
				typ = websocket.MessageText
			}
			ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
			defer cancel()
			werr := make(chan error, 1)
			go func() { werr <- cd.Write(ctx, typ, p) }()
			gotType, got, err := cd.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if err := <-werr; err != nil {
				t.Fatalf("write: %v", err)
			}
			if gotType != typ {
				t.Errorf("message type: got %v; want %v", gotType, typ)
			}
			return got
		}},
	}
	payloads := map[bool]map[int][]byte{true: {}, false: {}}
	for _, text := range []bool{true, false} {
		for _, n := range echoSizes {
			payloads[text][n] = payload(n, text, 1)
		}
	}
	for _, cl := range clients {
		for _, text := range []bool{true, false} {
			for _, n := range echoSizes {
				kind := map[bool]string{true: "text", false: "binary"}[text]
				t.Run(fmt.Sprintf("%s/%s/%d", cl.name, kind, n), func(t *testing.T) {
					p := payloads[text][n]
					got := cl.echo(t, text, p)
					if !bytes.Equal(got, p) {
						t.Fatalf("echo of %d bytes: got %d bytes (equal prefix %d); want the same bytes",
							n, len(got), commonPrefix(got, p))
					}
				})
			}
		}
	}
}

func commonPrefix(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func TestWebSocketPingPong(t *testing.T) {
	addr, _ := simpleProxy(t)
	url := "ws://" + addr + "/ws"
	t.Run("gorilla/payload", func(t *testing.T) {
		c := dialGorilla(t, url, nil)
		c.NetConn().SetDeadline(time.Now().Add(testDeadline))
		pongs := make(chan string, 1)
		c.SetPongHandler(func(s string) error { pongs <- s; return nil })
		const ping = "are you there? 0123456789"
		if err := c.WriteControl(gorilla.PingMessage, []byte(ping), time.Now().Add(time.Second)); err != nil {
			t.Fatalf("ping: %v", err)
		}
		// The pong is handled while reading the message sent behind the ping.
		if err := c.WriteMessage(gorilla.TextMessage, []byte("after")); err != nil {
			t.Fatalf("write: %v", err)
		}
		if _, got, err := c.ReadMessage(); err != nil || string(got) != "after" {
			t.Fatalf("read: got %q, %v; want \"after\"", got, err)
		}
		select {
		case got := <-pongs:
			if got != ping {
				t.Fatalf("pong payload: got %q; want %q", got, ping)
			}
		default:
			t.Fatalf("no pong before the echo of the next message")
		}
	})
	t.Run("coder", func(t *testing.T) {
		c := dialCoder(t, url)
		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		ctx = c.CloseRead(ctx) // a reader must run for Ping to see the pong
		for i := 0; i < 3; i++ {
			if err := c.Ping(ctx); err != nil {
				t.Fatalf("ping %d: %v", i, err)
			}
		}
	})
}

func TestWebSocketCloseHandshake(t *testing.T) {
	addr, _ := simpleProxy(t)
	url := "ws://" + addr + "/ws"
	const code, reason = 4001, "client is done"
	t.Run("gorilla", func(t *testing.T) {
		c := dialGorilla(t, url, nil)
		c.NetConn().SetDeadline(time.Now().Add(testDeadline))
		if err := c.WriteMessage(gorilla.CloseMessage, gorilla.FormatCloseMessage(code, reason)); err != nil {
			t.Fatalf("write close: %v", err)
		}
		_, _, err := c.ReadMessage()
		var ce *gorilla.CloseError
		if !errors.As(err, &ce) || ce.Code != code || ce.Text != reason {
			t.Fatalf("read after close: got %v; want close %d %q", err, code, reason)
		}
	})
	t.Run("coder", func(t *testing.T) {
		c := dialCoder(t, url)
		// Close returns nil only when the peer's close frame carries code.
		if err := c.Close(code, reason); err != nil {
			t.Fatalf("close: got %v; want nil (code %d echoed)", err, code)
		}
	})
}

func TestWebSocketConcurrent(t *testing.T) {
	const conns, messages = 200, 5
	addr, echo := simpleProxy(t)
	url := "ws://" + addr + "/ws"
	before := echo.Stats().Messages
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- echoMessages(url, i, messages)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got, want := echo.Stats().Messages-before, int64(conns*messages); got != want {
		t.Errorf("messages echoed by the backend: got %d; want %d", got, want)
	}
}

// echoMessages dials url and checks that n messages of its own come back.
func echoMessages(url string, id, n int) error {
	d := gorilla.Dialer{HandshakeTimeout: testDeadline}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		return fmt.Errorf("conn %d: dial: %v", id, err)
	}
	resp.Body.Close()
	defer c.Close()
	c.NetConn().SetDeadline(time.Now().Add(testDeadline))
	for j := 0; j < n; j++ {
		msg := fmt.Sprintf("conn %d message %d %s", id, j, bytes.Repeat([]byte{'x'}, id*37%3000))
		if err := c.WriteMessage(gorilla.TextMessage, []byte(msg)); err != nil {
			return fmt.Errorf("conn %d: write: %v", id, err)
		}
		_, got, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("conn %d: read: %v", id, err)
		}
		if string(got) != msg {
			return fmt.Errorf("conn %d: got %.40q; want %.40q", id, got, msg)
		}
	}
	return nil
}
