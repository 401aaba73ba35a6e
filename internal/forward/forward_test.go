package forward_test

import (
	"net/netip"
	"testing"

	"wsproxy/codec"
	"wsproxy/internal/forward"
)

// TestAppendRequest: the head sent upstream for a request head and what
// the proxy knows of its connection.
func TestAppendRequest(t *testing.T) {
	client, proxy := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.1.2.3")
	plain := forward.Request{Target: []byte("/p"), Client: client, Peer: client, Proto: "http"}
	tests := []struct {
		name string
		head string // without the final CRLF
		r    forward.Request
		want string // the fields after the request line, without the final CRLF
	}{
		{name: "GET", head: "GET /x HTTP/1.1\r\nHost: h\r\nAccept: */*", r: plain,
			want: "Host: h\r\nAccept: */*\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.1;proto=http\r\n"},
		{name: "hop-by-hop and Connection tokens dropped", head: "POST /x HTTP/1.1\r\nHost: h\r\nConnection: x-a\r\nX-A: 1\r\nKeep-Alive: 5\r\nContent-Length: 3", r: plain,
			want: "Host: h\r\nContent-Length: 3\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.1;proto=http\r\n"},
		{name: "chunked written from the parse", head: "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked", r: plain,
			want: "Host: h\r\nTransfer-Encoding: chunked\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.1;proto=http\r\n"},
		{name: "forwarding fields replaced from an untrusted peer", head: "GET /x HTTP/1.1\r\nHost: h\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-For: 6.6.6.6", r: plain,
			want: "Host: h\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 6.6.6.6, 192.0.2.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.1;proto=http\r\n"},
		{name: "trusted peer", head: "GET /x HTTP/1.1\r\nHost: h\r\nForwarded: for=192.0.2.1\r\nX-Forwarded-For: 192.0.2.1",
			r:    forward.Request{Target: []byte("/p"), Client: client, Peer: proxy, Trusted: true, Proto: "https"},
			want: "Host: h\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1, 10.1.2.3\r\nX-Forwarded-Proto: https\r\nForwarded: for=192.0.2.1, for=10.1.2.3;proto=https\r\n"},
		{name: "underscores dropped", head: "GET /x HTTP/1.1\r\nHost: h\r\nX_U: 1", r: plain,
			want: "Host: h\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.1;proto=http\r\n"},
		{name: "underscores kept", head: "GET /x HTTP/1.1\r\nHost: h\r\nX_U: 1",
			r:    forward.Request{Target: []byte("/p"), Client: client, Peer: client, Underscores: true, Proto: "http"},
			want: "Host: h\r\nX_U: 1\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.1;proto=http\r\n"},
		{name: "upgrade", head: "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket",
			r:    forward.Request{Target: []byte("/p"), Upgrade: true, Client: client, Peer: client, Proto: "http"},
			want: "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.1;proto=http\r\n"},
	}
	sc := forward.NewScratch()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req codec.Request
			if _, err := codec.ParseRequest([]byte(tt.head+"\r\n\r\n"), &req); err != nil {
				t.Fatalf("parse: %v", err)
			}
			r := tt.r
			line := "GET /p HTTP/1.1\r\n"
			if string(req.Method) == "POST" {
				line = "POST /p HTTP/1.1\r\n"
			}
			if got := string(forward.AppendRequest(nil, &req, &r, &sc)); got != line+tt.want+"\r\n" {
				t.Errorf("head:\ngot  %q\nwant %q", got, line+tt.want+"\r\n")
			}
		})
	}
	t.Run("HTTP/1.0", func(t *testing.T) {
		var req codec.Request
		if _, err := codec.ParseRequest([]byte("GET /x HTTP/1.0\r\n\r\n"), &req); err != nil {
			t.Fatalf("parse: %v", err)
		}
		r := plain
		r.HTTP10 = true
		want := "GET /p HTTP/1.0\r\nX-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=192.0.2.1;proto=http\r\n\r\n"
		if got := string(forward.AppendRequest(nil, &req, &r, &sc)); got != want {
			t.Errorf("head:\ngot  %q\nwant %q", got, want)
		}
	})
}

// TestAppendResponse: the head sent to the client for an upstream's
// response head.
func TestAppendResponse(t *testing.T) {
	tests := []struct {
		name, head string // without the final CRLF
		r          forward.Response
		want       string
	}{
		{name: "length", head: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1",
			want: "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n"},
		{name: "chunked", head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked",
			want: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{name: "hop-by-hop and Connection tokens dropped", head: "HTTP/1.1 404 Not Found\r\nConnection: x-b\r\nX-B: 1\r\nKeep-Alive: 5\r\nContent-Length: 0",
			want: "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"},
		{name: "close and cookie", head: "HTTP/1.1 200 OK\r\nContent-Length: 0", r: forward.Response{Close: true, SetCookie: true, Cookie: "s=1; Path=/"},
			want: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\nSet-Cookie: s=1; Path=/\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp codec.Response
			if _, err := codec.ParseResponse([]byte(tt.head+"\r\n\r\n"), &resp); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if err := codec.ValidateResponse(&resp); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if got := string(forward.AppendResponse(nil, &resp, &tt.r)); got != tt.want {
				t.Errorf("head:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}
