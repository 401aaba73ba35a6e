package core_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func TestForwardedHeaders(t *testing.T) {
	addr, _ := simpleProxy(t)
	tests := []struct {
		name   string
		header string // field lines after Host, each ending in CRLF
		check  func(t *testing.T, r report)
	}{
		{"Host kept as sent", "", func(t *testing.T, r report) {
			if r.Host != "Example.ORG:8080" {
				t.Errorf("Host: got %q; want %q", r.Host, "Example.ORG:8080")
			}
		}},
		{"X-Real-IP is the client", "X-Real-IP: 203.0.113.9\r\n", func(t *testing.T, r report) {
			if r.XRealIP != "127.0.0.1" {
				t.Errorf("X-Real-IP: got %q; want 127.0.0.1", r.XRealIP)
			}
			wantOnce(t, r, "X-Real-IP")
		}},
		{"X-Forwarded-For set", "", func(t *testing.T, r report) {
			if r.XForwardedFor != "127.0.0.1" {
				t.Errorf("X-Forwarded-For: got %q; want 127.0.0.1", r.XForwardedFor)
			}
		}},
		{"X-Forwarded-For appended", "X-Forwarded-For: 10.0.0.1\r\n", func(t *testing.T, r report) {
			if want := "10.0.0.1, 127.0.0.1"; r.XForwardedFor != want {
				t.Errorf("X-Forwarded-For: got %q; want %q", r.XForwardedFor, want)
			}
			wantOnce(t, r, "X-Forwarded-For")
		}},
		{"X-Forwarded-For lines joined", "X-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2, 10.0.0.3\r\n", func(t *testing.T, r report) {
			if want := "10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1"; r.XForwardedFor != want {
				t.Errorf("X-Forwarded-For: got %q; want %q", r.XForwardedFor, want)
			}
			wantOnce(t, r, "X-Forwarded-For")
		}},
		{"X-Forwarded-Proto http", "X-Forwarded-Proto: https\r\n", func(t *testing.T, r report) {
			if r.XForwardedProto != "http" {
				t.Errorf("X-Forwarded-Proto: got %q; want http", r.XForwardedProto)
			}
			wantOnce(t, r, "X-Forwarded-Proto")
		}},
		{
			"hop-by-hop dropped",
			"Connection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n" +
				"TE: trailers\r\nX-Secret: 1\r\nX-Custom: kept\r\nUpgrade: h2c\r\n",
			func(t *testing.T, r report) {
				for _, name := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "TE", "X-Secret", "Upgrade"} {
					if v, ok := r.header(name); ok {
						t.Errorf("%s: forwarded as %q; want it dropped", name, v)
					}
				}
				if v, _ := r.header("X-Custom"); v != "kept" {
					t.Errorf("X-Custom: got %q; want %q", v, "kept")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			writeAll(t, c, "GET /h HTTP/1.1\r\nHost: Example.ORG:8080\r\n"+tt.header+"\r\n")
			resp, body := readResp(t, bufio.NewReader(c), "GET")
			if resp.StatusCode != 200 {
				t.Fatalf("status: got %d %q; want 200", resp.StatusCode, body)
			}
			tt.check(t, decodeReport(t, body))
		})
	}
}

// wantOnce checks that the backend got exactly one field line named name.
func wantOnce(t *testing.T, r report, name string) {
	t.Helper()
	n := 0
	for _, h := range r.Headers {
		if k, _, _ := strings.Cut(h, ": "); strings.EqualFold(k, name) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s: got %d field lines; want 1", name, n)
	}
}

// serverFrame encodes an unmasked frame as a server sends it.
func serverFrame(op ws.OpCode, p string) []byte {
	return ws.MustCompileFrame(ws.NewFrame(op, true, []byte(p)))
}

// clientFrame encodes a masked frame as a client sends it.
func clientFrame(op ws.OpCode, p string) []byte {
	return ws.MustCompileFrame(ws.MaskFrame(ws.NewFrame(op, true, []byte(p))))
}

// TestUpgradePassThrough checks the handshake in both directions: what the
// backend receives, that its 101 reaches the client byte for byte, and that
// frames sent right behind either head are not held back.
func TestUpgradePassThrough(t *testing.T) {
	resp101 := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n" +
		"X-Backend: raw\r\nx-odd-Case:  spaced value \r\n\r\n"
	early := serverFrame(ws.OpText, "hello from the backend")
	type seen struct {
		head  string
		frame []byte
		err   error
	}
	got := make(chan seen, 1)
	backend := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var s seen
		defer func() { got <- s }()
		if s.head, s.err = readHeadErr(br); s.err != nil {
			return
		}
		if _, s.err = c.Write(append([]byte(resp101), early...)); s.err != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		want := clientFrame(ws.OpText, "early from the client")
		s.frame = make([]byte, len(want))
		_, s.err = io.ReadFull(br, s.frame)
		io.Copy(io.Discard, br) // hold the tunnel until the client goes
	})
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes: [{path: /, upstream: %q}]
`, backend))

	c := dialRaw(t, addr)
	sent := clientFrame(ws.OpText, "early from the client")
	req := strings.Replace(upgradeRequest("/chat?room=1", "chat.example.com"), "\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n", 1)
	if _, err := c.Write(append([]byte(req), sent...)); err != nil {
		t.Fatalf("write: %v", err)
	}
	br := bufio.NewReader(c)
	if head := readHead(t, br); head != resp101 {
		t.Errorf("101 at the client:\ngot  %q\nwant %q", head, resp101)
	}
	f, err := ws.ReadFrame(br)
	if err != nil || string(f.Payload) != "hello from the backend" {
		t.Errorf("frame behind the 101: got %q, %v; want %q", f.Payload, err, "hello from the backend")
	}
	c.Close()

	s := <-got
	if s.err != nil {
		t.Fatalf("backend: %v (head %q)", s.err, s.head)
	}
	if !bytes.Equal(s.frame, sent) {
		t.Errorf("frame behind the handshake at the backend: got %q; want %q", s.frame, sent)
	}
	lines := strings.Split(s.head, "\r\n")
	if want := "GET /chat?room=1 HTTP/1.1"; lines[0] != want {
		t.Errorf("request line: got %q; want %q", lines[0], want)
	}
	for _, want := range []string{
		"Host: chat.example.com", "Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Key: " + wsKey, "Sec-WebSocket-Version: 13", "X-Forwarded-For: 127.0.0.1",
		"Sec-WebSocket-Protocol: chat, superchat",
	} {
		if !containsLine(lines, want) {
			t.Errorf("head at the backend lacks %q:\n%s", want, s.head)
		}
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
