package core_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"wsproxy/internal/testutil"
)

// errorsProxy has the given timeouts (read and header_read), a small head
// limit and a route for each way an upstream can fail.
func errorsProxy(t testing.TB, read, headerRead time.Duration) string {
	t.Helper()
	echo := startEcho(t, "ok")
	silent := rawBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // never answers
	hangup := rawBackend(t, func(c net.Conn) { readHeadErr(bufio.NewReader(c)) })
	garbage := rawBackend(t, func(c net.Conn) {
		readHeadErr(bufio.NewReader(c))
		io.WriteString(c, "SPDY/9 what\r\n\r\n")
		io.Copy(io.Discard, c)
	})
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
timeouts: {read: %[6]s, header_read: %[7]s}
limits: {max_header_bytes: 1024}
routes:
  - {path: /ok, upstream: %[1]q}
  - {path: /refused, upstream: %[2]q}
  - {path: /silent, upstream: %[3]q}
  - {path: /hangup, upstream: %[4]q}
  - {path: /garbage, upstream: %[5]q}
  - {host: only.example.com, path: /, upstream: %[1]q}
`, echo.Addr(), testutil.RefusedAddr(t), silent, hangup, garbage, read, headerRead))
	return addr
}

func TestErrorResponses(t *testing.T) {
	// The timeouts also bound the good clients below, which a loaded
	// machine may hold up for a while: they must be generous. They are
	// also how long the 408 and 504 cases take (in parallel).
	addr := errorsProxy(t, 3*time.Second, 3*time.Second)
	upgrade := func(key, version string) string {
		return "GET /ok/ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			key + "Sec-WebSocket-Version: " + version + "\r\n\r\n"
	}
	tests := []struct {
		name       string
		send       string
		wantStatus int
		wantReason string // substring of the plain-text body
	}{
		{"malformed request line", "GARBAGE\r\n\r\n", 400, "bad request"},
		{"request line without version", "GET /ok\r\nHost: a\r\n\r\n", 400, "bad request"},
		{"bad method", "G(T /ok HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad request"},
		{"space in header name", "GET /ok HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", 400, "bad request"},
		{"control character in header", "GET /ok HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n\r\n", 400, "bad request"},
		{"header without colon", "GET /ok HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "bad request"},
		{"obsolete line folding", "GET /ok HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n", 400, "bad request"},
		{"missing Host", "GET /ok HTTP/1.1\r\n\r\n", 400, "Host"},
		{"two Hosts", "GET /ok HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Host"},
		{
			"Content-Length and Transfer-Encoding",
			"POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			400, "Transfer-Encoding",
		},
		{"bad Content-Length", "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n", 400, "Content-Length"},
		{
			"head over max_header_bytes",
			"GET /ok HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 2000) + "\r\n\r\n",
			431, "too large",
		},
		{
			"unfinished head over max_header_bytes",
			"GET /ok HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 2000),
			431, "too large",
		},
		{"no route", "GET /nowhere HTTP/1.1\r\nHost: other.example.com\r\n\r\n", 404, "no route"},
		{"upstream refused", "GET /refused HTTP/1.1\r\nHost: a\r\n\r\n", 502, "refused"},
		{"upstream never answers", "GET /silent HTTP/1.1\r\nHost: a\r\n\r\n", 504, "timed out"},
		{"upstream closes without answering", "GET /hangup HTTP/1.1\r\nHost: a\r\n\r\n", 502, "upstream closed"},
		{"upstream answers garbage", "GET /garbage HTTP/1.1\r\nHost: a\r\n\r\n", 502, "malformed upstream response"},
		{"WebSocket key missing", upgrade("", "13"), 400, "Sec-WebSocket-Key"},
		{"WebSocket key malformed", upgrade("Sec-WebSocket-Key: short\r\n", "13"), 400, "Sec-WebSocket-Key"},
		{"WebSocket bad version", upgrade("Sec-WebSocket-Key: "+wsKey+"\r\n", "8"), 426, "Sec-WebSocket-Version"},
		{"HTTP/2.0 request line", "GET /ok HTTP/2.0\r\nHost: a\r\n\r\n", 505, "version not supported"},
		{"head not finished in time", "GET /ok HTTP/1.1\r\nHost: a\r\n", 408, "not received in time"},
		{"nothing sent in time", "", 408, "not received in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := dialRaw(t, addr)
			if tt.send != "" {
				writeAll(t, bad, tt.send)
			}
			// Another client is served while the bad one waits for its answer.
			good := dialRaw(t, addr)
			writeAll(t, good, "GET /ok/fine HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp, body := readResp(t, bufio.NewReader(good), "GET"); resp.StatusCode != 200 {
				t.Errorf("other client: got %d %q; want 200", resp.StatusCode, body)
			}

			br := bufio.NewReader(bad)
			resp, body := readResp(t, br, "GET")
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantReason) {
				t.Errorf("got %d %q; want %d with a reason containing %q", resp.StatusCode, body, tt.wantStatus, tt.wantReason)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type: got %q; want text/plain", ct)
			}
			if !resp.Close {
				t.Errorf("Connection: close missing from the error response")
			}
			// RFC 6455 §4.4: a 426 names the versions the server speaks.
			if v := resp.Header.Get("Sec-WebSocket-Version"); (resp.StatusCode == 426) != (v == "13") {
				t.Errorf("status %d with Sec-WebSocket-Version %q; want \"13\" with a 426 only", resp.StatusCode, v)
			}
			expectEOF(t, br, bad)
		})
	}
}

// TestErrorTimeoutsAreTimely checks that the 408 and 504 come near the
// configured 300ms rather than at some default. The timeout not under test
// is long, so that a stalled client does not run into it instead.
func TestErrorTimeoutsAreTimely(t *testing.T) {
	for _, tt := range []struct {
		name, send       string
		read, headerRead time.Duration
		want             int
	}{
		{"header_read", "GET /ok HTTP/1.1\r\n", 10 * time.Second, 300 * time.Millisecond, 408},
		{"read", "GET /silent HTTP/1.1\r\nHost: a\r\n\r\n", 300 * time.Millisecond, 10 * time.Second, 504},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := errorsProxy(t, tt.read, tt.headerRead)
			// Before the dial: the proxy arms header_read at accept.
			start := time.Now()
			c := dialRaw(t, addr)
			writeAll(t, c, tt.send)
			resp, _ := readResp(t, bufio.NewReader(c), "GET")
			if took := time.Since(start); resp.StatusCode != tt.want || took < 250*time.Millisecond || took > 3*time.Second {
				t.Errorf("got %d after %v; want %d after about 300ms", resp.StatusCode, took, tt.want)
			}
		})
	}
}

// TestTimerAfterIdleLoop: a loop that sat in Wait for a while must arm a new
// connection's header_read timer from the accept, not from the loop's last
// wake-up (which made the 408 come at once).
func TestTimerAfterIdleLoop(t *testing.T) {
	echo := startEcho(t, "ok")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 1
timeouts: {header_read: 300ms}
routes: [{path: /, upstream: %q}]
`, echo.Addr()))
	for i := 0; i < 3; i++ {
		// Not synchronisation: the loop must be idle for longer than the
		// timeout. Its once-a-second housekeeping may wake it meanwhile,
		// hence three tries.
		time.Sleep(400 * time.Millisecond)
		start := time.Now() // before the dial: the timer is armed at accept
		c := dialRaw(t, addr)
		writeAll(t, c, "GET / HTTP/1.1\r\n")
		resp, _ := readResp(t, bufio.NewReader(c), "GET")
		if took := time.Since(start); resp.StatusCode != 408 || took < 250*time.Millisecond {
			t.Fatalf("try %d: got %d after %v; want 408 after about 300ms", i, resp.StatusCode, took)
		}
		c.Close()
	}
}
