package core_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wsproxy/internal/testutil"

	"github.com/gorilla/websocket"
)

// TestUpgradeRejectedByUpstreamPassesThrough: a backend that answers the
// handshake with 4xx/5xx has its answer reach the client unchanged.
func TestUpgradeRejectedByUpstreamPassesThrough(t *testing.T) {
	for _, status := range []int{401, 403, 500, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			be := rawBackend(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := readHeadErr(br); err != nil {
					return
				}
				body := fmt.Sprintf("denied %d", status)
				fmt.Fprintf(c, "HTTP/1.1 %d Nope\r\nContent-Length: %d\r\nX-Reason: test\r\n\r\n%s", status, len(body), body)
			})
			_, addr := startProxy(t, fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: %q}]\n", be))
			_, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
			if err == nil || resp == nil {
				t.Fatalf("dial: %v; want a handshake error with a response", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != status || resp.Header.Get("X-Reason") != "test" || string(body) != fmt.Sprintf("denied %d", status) {
				t.Errorf("got %d %q %q; want %d from the backend", resp.StatusCode, resp.Header.Get("X-Reason"), body, status)
			}
		})
	}
}

// TestBackendKilledMidMessage: a backend that dies in the middle of a frame
// closes that client's connection promptly and harms no other tunnel.
func TestBackendKilledMidMessage(t *testing.T) {
	e := startEcho(t, "healthy")
	dying := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := acceptWebSocket(c, br, ""); err != nil {
			return
		}
		c.Write([]byte{0x82, 126, 0x03, 0xe8}) // binary, 1000 bytes announced
		c.Write(bytes.Repeat([]byte{'x'}, 10))
		c.(*net.TCPConn).SetLinger(0) // die hard: RST
	})
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - {path: /dying, upstream: %q}
  - {path: /, upstream: %q}
`, dying, e.Addr().String()))
	good, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { good.Close() })
	bad, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/dying", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bad.Close() })
	bad.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, _, err := bad.ReadMessage(); err == nil {
		t.Fatal("read from the dying backend succeeded; want an error")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("client was not closed within 3s: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := good.WriteMessage(websocket.TextMessage, []byte("still here")); err != nil {
			t.Fatal(err)
		}
		if _, p, err := good.ReadMessage(); err != nil || string(p) != "still here" {
			t.Fatalf("other tunnel: %q %v", p, err)
		}
	}
}

// TestSlowLorisDoesNotStarveOthers: 1,000 connections dribbling request
// heads are each answered 408 at header_read, while normal HTTP and
// WebSocket traffic keeps flowing.
func TestSlowLorisDoesNotStarveOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,000 connections")
	}
	srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
timeouts: {header_read: 1s}
routes: [{path: /, upstream: %q}]
`, startEcho(t, "e1").Addr().String()))
	const n = 1000
	loris := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("loris %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		loris = append(loris, c)
	}
	// Normal traffic while they hang.
	for i := 0; i < 20; i++ {
		if code, body := testutil.Get(t, nil, "http://"+addr+"/ok"); code != 200 || !strings.Contains(body, `"/ok"`) {
			t.Fatalf("request %d during slow-loris: %d %s", i, code, body)
		}
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := ws.ReadMessage(); err != nil || string(p) != "hi" {
		t.Fatalf("echo during slow-loris: %q %v", p, err)
	}
	// Every slow client gets its 408, then the end of the stream (the
	// proxy lingers, reading, until the client closes: linger.go).
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for _, c := range loris {
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err == nil {
				_, err = io.Copy(io.Discard, br) // body, then EOF
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				codes[-1]++
				return
			}
			codes[resp.StatusCode]++
		}(c)
	}
	wg.Wait()
	if codes[408] != n {
		t.Errorf("slow clients answered %v; want %d × 408", codes, n)
	}
	http.DefaultClient.CloseIdleConnections() // testutil.Get's keep-alive connection
	testutil.Eventually(t, "open connections after the 408s", func() error {
		if open := srv.Open(); open > 1 {
			return fmt.Errorf("open connections after the 408s = %d; want only the WebSocket", open)
		}
		return nil
	})
}

// TestBadSecondRequestGets400: after a good exchange on a keep-alive
// connection, a malformed request is still answered 400, not just closed.
func TestBadSecondRequestGets400(t *testing.T) {
	addr, _ := simpleProxy(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	io.WriteString(c, "GET /two HTTP/1.1\r\nBad Header\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("second (malformed): %v %v; want 400", resp, err)
	}
}

// TestHandshakeTimeout: an upstream that accepts the connection but never
// answers the WebSocket handshake gets the client a 504 after
// timeouts.handshake, long before timeouts.read.
func TestHandshakeTimeout(t *testing.T) {
	be := rawBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
timeouts: {handshake: 300ms, read: 1m}
routes: [{path: /, upstream: %q}]
`, be))
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	start := time.Now()
	_, resp, err := d.Dial("ws://"+addr+"/", nil)
	if err == nil || resp == nil || resp.StatusCode != 504 {
		t.Fatalf("dial: %v %v; want 504", resp, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("504 after %v; want about 300ms", el)
	}
}
