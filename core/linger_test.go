package core_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"wsproxy/internal/testutil"
)

// TestErrorAnswerSurvivesUnreadInput: an error answer the proxy writes
// while the client is still sending (a 200 KB header line, a body behind a
// bad request, a body the upstream never took) reaches the client: the
// proxy shuts down its write side and reads what is still coming before it
// closes, so the kernel sends no reset that would destroy the answer.
// Without that the client lost the 431 most of the time (issue 10 item 6).
func TestErrorAnswerSurvivesUnreadInput(t *testing.T) {
	big := strings.Repeat("a", 200<<10)
	down := testutil.RefusedAddr(t)
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 1
routes:
  - {path: /down, upstream: %q}
  - {path: /, upstream: %q}
`, down, startEcho(t, "e1").Addr()))
	tests := []struct {
		name       string
		in         string
		want, also int // also: another answer that counts (0: none)
	}{
		{"431 for a 200 KB header line", "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + big + "\r\n\r\n", 431, 0},
		{"400 with a body behind", "POST /\x01 HTTP/1.1\r\nHost: t\r\nContent-Length: 204800\r\n\r\n" + big, 400, 0},
		// 503 once the refused connects have marked the server down.
		{"502 while the body is sent", "POST /down HTTP/1.1\r\nHost: t\r\nContent-Length: 204800\r\n\r\n" + big, 502, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lost := 0
			for i := 0; i < 20; i++ {
				if got, err := answerTo(t, addr, tt.in); got != tt.want && (got != tt.also || got == 0) || err != nil {
					t.Logf("connection %d: got %d (write: %v); want %d", i, got, err, tt.want)
					lost++
				}
			}
			if lost > 0 {
				t.Errorf("%d of 20 connections did not read the %d", lost, tt.want)
			}
		})
	}
}

// answerTo sends in on a new connection, then reads, as a simple client
// does, and returns the status of the first response, or 0 if none could
// be read, and the write's error. A client whose write is reset gives up
// without reading (curl: "Send failure: Connection reset by peer"), so
// that answer is lost too. The client's send buffer is small, as over a
// real network, so most of in is still on its way when the answer comes.
func answerTo(t *testing.T, addr, in string) (int, error) {
	t.Helper()
	c := dialRaw(t, addr)
	defer c.Close()
	if err := c.(*net.TCPConn).SetWriteBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, in); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestLingerBounded: a client that goes on sending after its error answer
// is cut off once the proxy has discarded lingerMaxBytes, not served
// forever.
func TestLingerBounded(t *testing.T) {
	addr, _ := simpleProxy(t)
	c := dialRaw(t, addr)
	if _, err := io.WriteString(c, "GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("answer: got %v, %v; want 400", resp, err)
	}
	if b, err := io.ReadAll(br); err != nil || len(b) != int(resp.ContentLength) {
		t.Fatalf("after the 400: got %q, %v; want the body, then EOF (write side shut down)", b, err)
	}
	chunk := make([]byte, 64<<10)
	c.SetWriteDeadline(time.Now().Add(testDeadline))
	sent := 0
	for ; sent < 64<<20; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			break // reset: the proxy stopped discarding
		}
	}
	if sent >= 64<<20 {
		t.Fatalf("the proxy discarded %d bytes after its answer; want it to close well before", sent)
	}
	t.Logf("the proxy closed after about %d KB", sent>>10)
}

// TestLingerTLS: over TLS too the answer arrives while the client still
// sends, followed by the end of the stream.
func TestLingerTLS(t *testing.T) {
	s := startTLSProxy(t, nil)
	big := strings.Repeat("a", 200<<10)
	for i := 0; i < 5; i++ {
		c, err := dialTLS(t, s.tlsAddr, clientTLS("ws.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, "POST /\x01 HTTP/1.1\r\nHost: t\r\nContent-Length: 204800\r\n\r\n"+big); err != nil {
			t.Fatalf("connection %d: write: %v", i, err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("connection %d: got %v, %v; want 400", i, resp, err)
		}
		if b, err := io.ReadAll(br); err != nil || len(b) != int(resp.ContentLength) {
			t.Fatalf("connection %d: after the 400: got %q, %v; want the body, then the end of the stream", i, b, err)
		}
		c.Close()
	}
}
