package codec

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestWriters(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{
			name: "request line",
			got:  AppendRequestLine([]byte("x"), []byte("GET"), []byte("/a?b"), 1, 1),
			want: "xGET /a?b HTTP/1.1\r\n",
		},
		{
			name: "header",
			got:  AppendHeader(nil, []byte("Host"), []byte("example.com")),
			want: "Host: example.com\r\n",
		},
		{
			name: "forwarded",
			got:  AppendForwarded([]byte("x"), netip.MustParseAddr("192.0.2.1"), "https"),
			want: "xfor=192.0.2.1;proto=https",
		},
		{
			name: "forwarded IPv6",
			got:  AppendForwarded(nil, netip.MustParseAddr("2001:db8::1"), "http"),
			want: `for="[2001:db8::1]";proto=http`,
		},
		{
			name: "status line",
			got:  AppendStatusLine(nil, 426),
			want: "HTTP/1.1 426 Upgrade Required\r\n",
		},
		{
			name: "status response",
			got:  AppendStatusResponse(nil, 400, "bad request line"),
			want: "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" +
				"Content-Length: 17\r\nConnection: close\r\n\r\nbad request line\n",
		},
		{
			name: "status response without reason",
			got:  AppendStatusResponse(nil, 502, ""),
			want: "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n" +
				"Content-Length: 12\r\nConnection: close\r\n\r\nBad Gateway\n",
		},
		{
			name: "status response with an extra header",
			got:  AppendStatusResponseHeader(nil, 426, "speak 13", "Sec-WebSocket-Version: 13\r\n"),
			want: "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Type: text/plain; charset=utf-8\r\n" +
				"Content-Length: 9\r\nConnection: close\r\n\r\nspeak 13\n",
		},
		{
			name: "accept key, RFC 6455 §1.3",
			got:  AppendAcceptKey(nil, []byte("dGhlIHNhbXBsZSBub25jZQ==")),
			want: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
		},
		{
			name: "accept key of a long key",
			got:  AppendAcceptKey(nil, make([]byte, 100)),
			want: "6/GFAp11ggjt7MR5T9dROlGhmYo=",
		},
		{
			name: "upgrade response",
			got:  AppendUpgradeResponse(nil, []byte("dGhlIHNhbXBsZSBub25jZQ==")),
			want: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got %q; want %q", tt.got, tt.want)
			}
		})
	}
}

// TestStatusText checks our table against net/http's, which tests may
// import, except where RFC 9110 renamed a phrase that net/http keeps.
func TestStatusText(t *testing.T) {
	renamed := map[int]string{
		413: "Content Too Large",
		414: "URI Too Long",
		416: "Range Not Satisfiable",
		422: "Unprocessable Content",
	}
	for code := 100; code < 600; code++ {
		want, ok := renamed[code]
		if !ok {
			want = http.StatusText(code)
		}
		if got := StatusText(code); got != "" && got != want {
			t.Errorf("StatusText(%d) = %q; want %q", code, got, want)
		}
	}
	if got := StatusText(431); got != "Request Header Fields Too Large" {
		t.Errorf("StatusText(431) = %q; want %q", got, "Request Header Fields Too Large")
	}
}
