package core_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestProxyProtocolAndTrustedProxies(t *testing.T) {
	e := startEcho(t, "e1")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0", proxy_protocol: true}]
trusted_proxies: ["192.0.2.0/24"]
routes: [{path: /, upstream: %q}]
`, e.Addr().String()))
	tests := []struct {
		name, head, xff string
		wantRealIP      string
		wantXFF         string
		wantClosed      bool
	}{
		{"v1 names the client", "PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\n", "", "203.0.113.7", "203.0.113.7", false},
		{"unknown keeps the socket peer", "PROXY UNKNOWN\r\n", "", "127.0.0.1", "127.0.0.1", false},
		{"trusted peer: rightmost untrusted XFF entry", "PROXY TCP4 192.0.2.9 10.0.0.1 5555 80\r\n", "1.1.1.1, 198.51.100.4, 192.0.2.3", "198.51.100.4", "1.1.1.1, 198.51.100.4, 192.0.2.3, 192.0.2.9", false},
		{"untrusted peer: XFF ignored for the client", "PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\n", "1.1.1.1", "203.0.113.7", "1.1.1.1, 203.0.113.7", false},
		{"no header: closed", "", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := "GET /x HTTP/1.1\r\nHost: h\r\n"
			if tt.xff != "" {
				req += "X-Forwarded-For: " + tt.xff + "\r\n"
			}
			fmt.Fprint(c, tt.head+req+"\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if tt.wantClosed {
				if err == nil {
					t.Fatalf("got %d; want the connection closed", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body := make([]byte, resp.ContentLength)
			if _, err := io.ReadFull(resp.Body, body); err != nil {
				t.Fatal(err)
			}
			r := decodeReport(t, body)
			if r.XRealIP != tt.wantRealIP || r.XForwardedFor != tt.wantXFF {
				t.Errorf("X-Real-IP %q, X-Forwarded-For %q; want %q, %q", r.XRealIP, r.XForwardedFor, tt.wantRealIP, tt.wantXFF)
			}
		})
	}
}
