package codec

import (
	"reflect"
	"testing"
)

type respView struct {
	Proto                   string
	Major, Minor, Status    int
	Reason                  string
	Headers                 int
	ContentLength           int64
	Chunked, Close, Upgrade bool
	WSAccept                string
}

func viewResponse(r *Response) respView {
	return respView{
		string(r.Proto), r.Major, r.Minor, r.Status, string(r.Reason), len(r.Headers),
		r.ContentLength, r.Chunked, r.Close, r.Upgrade, string(r.WSAccept),
	}
}

const upgradeResponse = "HTTP/1.1 101 Switching Protocols\r\n" +
	"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

var ok11 = respView{Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 200, Reason: "OK", ContentLength: -1}

var parseResponseTests = []struct {
	name string
	in   string
	n    int // 0: len(in)
	err  error
	want respView
}{
	{name: "101", in: upgradeResponse, want: respView{Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 101,
		Reason: "Switching Protocols", Headers: 3, ContentLength: -1, Upgrade: true, WSAccept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}},
	{name: "200", in: "HTTP/1.1 200 OK\r\n\r\n", want: ok11},
	{name: "bare LF", in: "HTTP/1.1 200 OK\n\n", want: ok11},
	{name: "body follows", in: "HTTP/1.1 200 OK\r\n\r\nhello", n: 19, want: ok11},
	{name: "no reason", in: "HTTP/1.1 200\r\n\r\n", want: with(ok11, func(v *respView) { v.Reason = "" })},
	{name: "empty reason", in: "HTTP/1.1 200 \r\n\r\n", want: with(ok11, func(v *respView) { v.Reason = "" })},
	{name: "reason with spaces", in: "HTTP/1.1 404 Not  Found\r\n\r\n", want: with(ok11, func(v *respView) { v.Status, v.Reason = 404, "Not  Found" })},
	{name: "HTTP/1.0", in: "HTTP/1.0 200 OK\r\n\r\n", want: with(ok11, func(v *respView) { v.Proto, v.Minor, v.Close = "HTTP/1.0", 0, true })},
	{name: "length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", want: with(ok11, func(v *respView) { v.Headers, v.ContentLength = 1, 5 })},
	{name: "chunked overrides length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", want: with(ok11, func(v *respView) { v.Headers, v.Chunked = 2, true })},
	{name: "close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", want: with(ok11, func(v *respView) { v.Headers, v.Close = 1, true })},

	{name: "empty", in: "", err: ErrShort},
	{name: "partial proto", in: "HTT", err: ErrShort},
	{name: "partial", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", err: ErrShort},
	{name: "not HTTP", in: "SSH-2.0-OpenSSH", err: ErrBadStatusLine},
	{name: "short line", in: "HTT\r\n\r\n", err: ErrBadStatusLine},
	{name: "bad version", in: "HTTP/1.x 200 OK\r\n\r\n", err: ErrBadVersion},
	{name: "two-digit status", in: "HTTP/1.1 20 OK\r\n\r\n", err: ErrBadStatusLine},
	{name: "four-digit status", in: "HTTP/1.1 2000 OK\r\n\r\n", err: ErrBadStatusLine},
	{name: "CTL in reason", in: "HTTP/1.1 200 O\x01K\r\n\r\n", err: ErrBadStatusLine},
	{name: "bad field", in: "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", err: ErrBadHeaderName},
	{name: "empty lines first", in: "\r\nHTTP/1.1 200 OK\r\n\r\n", err: ErrBadStatusLine},
}

func TestParseResponse(t *testing.T) {
	for _, tt := range parseResponseTests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			n, err := ParseResponse([]byte(tt.in), &r)
			if err != tt.err {
				t.Fatalf("ParseResponse(%q) error = %v; want %v", tt.in, err, tt.err)
			}
			if err != nil {
				return
			}
			wantN := tt.n
			if wantN == 0 {
				wantN = len(tt.in)
			}
			if n != wantN {
				t.Errorf("n = %d; want %d", n, wantN)
			}
			if got := viewResponse(&r); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v;\nwant %+v", got, tt.want)
			}
			checkResponseSplits(t, []byte(tt.in), true)
		})
	}
}

func checkResponseSplits(t *testing.T, in []byte, all bool) {
	t.Helper()
	var whole, part Response
	n, err := ParseResponse(in, &whole)
	for _, k := range splitPoints(len(in), n, all) {
		m, perr := ParseResponse(in[:k], &part)
		switch {
		case err == nil && k < n:
			if perr != ErrShort {
				t.Fatalf("prefix %d of %d: error = %v; want ErrShort", k, n, perr)
			}
		case err == nil:
			if perr != nil || m != n || !reflect.DeepEqual(viewResponse(&part), viewResponse(&whole)) {
				t.Fatalf("prefix %d: got %d, %v, %+v; want %d, %+v", k, m, perr, viewResponse(&part), n, viewResponse(&whole))
			}
		case perr != ErrShort && perr != err:
			t.Fatalf("prefix %d: error = %v; want ErrShort or %v", k, perr, err)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, tt := range parseResponseTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r, again Response
		n, err := ParseResponse(in, &r)
		if err == nil {
			if n <= 0 || n > len(in) {
				t.Fatalf("n = %d; want 0 < n <= %d", n, len(in))
			}
			m, err := ParseResponse(in[:n], &again)
			if err != nil || m != n || !reflect.DeepEqual(viewResponse(&again), viewResponse(&r)) {
				t.Fatalf("re-parse of head: %d, %v; want %d", m, err, n)
			}
			_ = ValidateResponse(&r)
			r.Body([]byte("GET"))
		}
		checkResponseSplits(t, in, false)
	})
}

func TestResponseBody(t *testing.T) {
	tests := []struct {
		name   string
		method string
		in     string
		kind   BodyKind
		n      int64
	}{
		{name: "length", method: "GET", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", kind: BodyLength, n: 5},
		{name: "zero length", method: "GET", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", kind: BodyNone},
		{name: "HEAD", method: "HEAD", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", kind: BodyNone},
		{name: "101", method: "GET", in: upgradeResponse, kind: BodyNone},
		{name: "100", method: "POST", in: "HTTP/1.1 100 Continue\r\n\r\n", kind: BodyNone},
		{name: "204", method: "GET", in: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", kind: BodyNone},
		{name: "304", method: "GET", in: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", kind: BodyNone},
		{name: "CONNECT 200", method: "CONNECT", in: "HTTP/1.1 200 OK\r\n\r\n", kind: BodyNone},
		{name: "CONNECT 407", method: "CONNECT", in: "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\n", kind: BodyLength, n: 3},
		{name: "chunked", method: "GET", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", kind: BodyChunked, n: -1},
		{name: "gzip coding", method: "GET", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", kind: BodyUntilClose, n: -1},
		{name: "no framing", method: "GET", in: "HTTP/1.0 200 OK\r\n\r\n", kind: BodyUntilClose, n: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			if _, err := ParseResponse([]byte(tt.in), &r); err != nil {
				t.Fatal(err)
			}
			kind, n := r.Body([]byte(tt.method))
			if kind != tt.kind || n != tt.n {
				t.Errorf("Body(%s) = %v, %d; want %v, %d", tt.method, kind, n, tt.kind, tt.n)
			}
		})
	}
}

func TestValidateResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{name: "ok", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"},
		{name: "equal lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"},
		{name: "gzip coding", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", want: ErrUnknownTransferCoding},
		{name: "gzip, chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", want: ErrUnknownTransferCoding},
		{name: "chunked twice", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrBadTransferEncoding},
		{name: "bad length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", want: ErrBadContentLength},
		{name: "HTTP/2.0", in: "HTTP/2.0 200 OK\r\n\r\n", want: ErrUnsupportedVersion},
		{name: "status 099", in: "HTTP/1.1 099 X\r\n\r\n", want: ErrBadStatus},
		{name: "status 600", in: "HTTP/1.1 600 X\r\n\r\n", want: ErrBadStatus},
		{name: "length and chunked", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrLengthAndChunked},
		{name: "different lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n", want: ErrConflictingLength},
		{name: "chunked in HTTP/1.0", in: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrTransferEncoding10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			if _, err := ParseResponse([]byte(tt.in), &r); err != nil {
				t.Fatal(err)
			}
			if err := ValidateResponse(&r); err != tt.want {
				t.Errorf("ValidateResponse() = %v; want %v", err, tt.want)
			}
		})
	}
}
