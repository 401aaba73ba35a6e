package codec

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const upgradeRequest = "GET /chat?room=1 HTTP/1.1\r\n" +
	"Host: example.com:8080\r\n" +
	"Connection: Upgrade\r\n" +
	"Pragma: no-cache\r\n" +
	"Cache-Control: no-cache\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n" +
	"Upgrade: websocket\r\n" +
	"Origin: http://example.com:8080\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"\r\n"

// reqView is a Request with strings for slices, for comparing in tables.
type reqView struct {
	Method, URI, Path, Query string
	Major, Minor             int
	Headers                  int
	Host                     string
	ContentLength            int64
	Chunked, Close, Upgrade  bool
	WSKey, WSVersion         string
}

func viewRequest(r *Request) reqView {
	return reqView{
		string(r.Method), string(r.URI), string(r.Path), string(r.Query),
		r.Major, r.Minor, len(r.Headers), string(r.Host), r.ContentLength,
		r.Chunked, r.Close, r.Upgrade, string(r.WSKey), string(r.WSVersion),
	}
}

// get is the view of "GET / HTTP/1.1" with one Host: a field.
var get = reqView{Method: "GET", URI: "/", Path: "/", Major: 1, Minor: 1, Headers: 1, Host: "a", ContentLength: -1}

func with[T any](v T, f func(*T)) T { f(&v); return v }

var parseRequestTests = []struct {
	name string
	in   string
	n    int // 0: len(in)
	err  error
	want reqView
}{
	{name: "websocket upgrade", in: upgradeRequest, want: reqView{
		Method: "GET", URI: "/chat?room=1", Path: "/chat", Query: "room=1", Major: 1, Minor: 1,
		Headers: 12, Host: "example.com:8080", ContentLength: -1, Upgrade: true,
		WSKey: "dGhlIHNhbXBsZSBub25jZQ==", WSVersion: "13"}},
	{name: "simple", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", want: get},
	{name: "bare LF", in: "GET / HTTP/1.1\nHost: a\n\n", want: get},
	{name: "mixed line ends", in: "GET / HTTP/1.1\r\nHost: a\n\r\n", want: get},
	{name: "empty lines first", in: "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", want: get},
	{name: "body follows", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /", n: 27, want: get},
	{name: "no headers", in: "GET / HTTP/1.1\r\n\r\n", want: with(get, func(v *reqView) { v.Headers, v.Host = 0, "" })},
	{name: "OWS trimmed", in: "GET / HTTP/1.1\r\nHost: \t a \t\r\n\r\n", want: get},
	{name: "empty value", in: "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n", want: with(get, func(v *reqView) { v.Headers = 2 })},
	{name: "obs-text value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", want: with(get, func(v *reqView) { v.Headers = 2 })},
	{name: "query", in: "GET /a/b?x=1&y? HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get, func(v *reqView) {
		v.URI, v.Path, v.Query = "/a/b?x=1&y?", "/a/b", "x=1&y?"
	})},
	{name: "absolute-form", in: "GET http://h.example:80/p?q HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get, func(v *reqView) {
		v.URI, v.Path, v.Query, v.Host = "http://h.example:80/p?q", "/p", "q", "h.example:80"
	})},
	{name: "fragment", in: "GET /p?q#f?g HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get, func(v *reqView) {
		v.URI, v.Path, v.Query = "/p?q#f?g", "/p", "q"
	})},
	{name: "fragment, no query", in: "GET /p#f?g HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get, func(v *reqView) {
		v.URI, v.Path = "/p#f?g", "/p"
	})},
	{name: "absolute-form no path", in: "GET HTTPS://h?q HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get, func(v *reqView) {
		v.URI, v.Path, v.Query, v.Host = "HTTPS://h?q", "", "q", "h"
	})},
	{name: "asterisk-form", in: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get, func(v *reqView) {
		v.Method, v.URI, v.Path = "OPTIONS", "*", "*"
	})},
	{name: "authority-form", in: "CONNECT h:443 HTTP/1.1\r\nHost: a\r\n\r\n", want: with(get, func(v *reqView) {
		v.Method, v.URI, v.Path = "CONNECT", "h:443", ""
	})},
	{name: "HTTP/1.0 closes", in: "GET / HTTP/1.0\r\n\r\n", want: reqView{Method: "GET", URI: "/", Path: "/", Major: 1, ContentLength: -1, Close: true}},
	{name: "HTTP/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", want: reqView{Method: "GET", URI: "/", Path: "/", Major: 1, Headers: 1, ContentLength: -1}},
	{name: "Connection close", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n", want: with(get, func(v *reqView) { v.Headers, v.Close = 2, true })},
	{name: "upgrade split over fields", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: upgrade\r\nUpgrade: h2c, WebSocket/13\r\n\r\n", want: with(get, func(v *reqView) { v.Headers, v.Upgrade = 4, true })},
	{name: "upgrade without connection", in: "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", want: with(get, func(v *reqView) { v.Headers = 2 })},
	{name: "content-length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", want: with(get, func(v *reqView) { v.Method, v.Headers, v.ContentLength = "POST", 2, 42 })},
	{name: "content-length not a number", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4x\r\n\r\n", want: with(get, func(v *reqView) { v.Method, v.Headers = "POST", 2 })},
	{name: "chunked last", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", want: with(get, func(v *reqView) { v.Method, v.Headers, v.Chunked = "POST", 2, true })},
	{name: "chunked not last", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", want: with(get, func(v *reqView) { v.Method, v.Headers = "POST", 2 })},
	{name: "HTTP/2.0 parses", in: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", want: with(get, func(v *reqView) { v.Major, v.Minor = 2, 0 })},
	{name: "100 headers", in: "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 100) + "\r\n", want: with(get, func(v *reqView) { v.Headers, v.Host = 100, "" })},

	{name: "empty", in: "", err: ErrShort},
	{name: "only empty lines", in: "\r\n\r\n\r", err: ErrShort},
	{name: "partial method", in: "GE", err: ErrShort},
	{name: "partial line", in: "GET / HTTP/1.1", err: ErrShort},
	{name: "partial field", in: "GET / HTTP/1.1\r\nHost: a", err: ErrShort},
	{name: "no empty line", in: "GET / HTTP/1.1\r\nHost: a\r\n", err: ErrShort},
	{name: "half final CRLF", in: "GET / HTTP/1.1\r\nHost: a\r\n\r", err: ErrShort},
	{name: "TLS hello", in: "\x16\x03\x01\x02\x00\x01", err: ErrBadMethod},
	{name: "method separator", in: "G(T / HTTP/1.1\r\n\r\n", err: ErrBadMethod},
	{name: "method only", in: "GET\r\n\r\n", err: ErrBadMethod},
	{name: "leading space", in: " GET / HTTP/1.1\r\n\r\n", err: ErrBadMethod},
	{name: "CR in method", in: "GET\r/ HTTP/1.1\r\n\r\n", err: ErrBadMethod},
	{name: "double space", in: "GET  / HTTP/1.1\r\n\r\n", err: ErrBadTarget},
	{name: "CTL in target", in: "GET /\x01 HTTP/1.1\r\n\r\n", err: ErrBadTarget},
	{name: "DEL in target", in: "GET /\x7f HTTP/1.1\r\n\r\n", err: ErrBadTarget},
	{name: "HTTP/0.9", in: "GET /\r\n\r\n", err: ErrBadRequestLine},
	{name: "trailing space", in: "GET / HTTP/1.1 \r\n\r\n", err: ErrBadVersion},
	{name: "two-digit minor", in: "GET / HTTP/1.10\r\n\r\n", err: ErrBadVersion},
	{name: "lower-case proto", in: "GET / http/1.1\r\n\r\n", err: ErrBadVersion},
	{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", err: ErrBadHeaderName},
	{name: "no colon", in: "GET / HTTP/1.1\r\nHost a\r\n\r\n", err: ErrBadHeaderName},
	{name: "empty name", in: "GET / HTTP/1.1\r\n: a\r\n\r\n", err: ErrBadHeaderName},
	{name: "separator in name", in: "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", err: ErrBadHeaderName},
	{name: "obs-fold", in: "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", err: ErrObsFold},
	{name: "space before first field", in: "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", err: ErrObsFold},
	{name: "NUL in value", in: "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", err: ErrBadHeaderValue},
	{name: "CR in value", in: "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", err: ErrBadHeaderValue},
	{name: "CR CR LF", in: "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", err: ErrBadHeaderValue},
	{name: "DEL in value", in: "GET / HTTP/1.1\r\nX: \x7f\r\n\r\n", err: ErrBadHeaderValue},
	{name: "bare CR ends head", in: "GET / HTTP/1.1\r\nHost: a\r\n\rx", err: ErrBadLineEnd},
	{name: "101 headers", in: "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", err: ErrTooManyHeaders},
}

func TestParseRequest(t *testing.T) {
	for _, tt := range parseRequestTests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			n, err := ParseRequest([]byte(tt.in), &r)
			if err != tt.err {
				t.Fatalf("ParseRequest(%q) error = %v; want %v", tt.in, err, tt.err)
			}
			if err != nil {
				if n != 0 {
					t.Errorf("n = %d on error; want 0", n)
				}
				return
			}
			wantN := tt.n
			if wantN == 0 {
				wantN = len(tt.in)
			}
			if n != wantN {
				t.Errorf("n = %d; want %d", n, wantN)
			}
			if got := viewRequest(&r); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v;\nwant %+v", got, tt.want)
			}
			checkRequestSplits(t, []byte(tt.in), true)
		})
	}
}

// checkRequestSplits checks that every prefix of in parses as ErrShort
// until the head is complete, and as the whole of in does after: every
// prefix if all, else those splitPoints picks.
func checkRequestSplits(t *testing.T, in []byte, all bool) {
	t.Helper()
	var whole, part Request
	n, err := ParseRequest(in, &whole)
	for _, k := range splitPoints(len(in), n, all) {
		m, perr := ParseRequest(in[:k], &part)
		switch {
		case err == nil && k < n:
			if perr != ErrShort {
				t.Fatalf("prefix %d of %d: error = %v; want ErrShort", k, n, perr)
			}
		case err == nil:
			if perr != nil || m != n || !reflect.DeepEqual(viewRequest(&part), viewRequest(&whole)) {
				t.Fatalf("prefix %d: got %d, %v, %+v; want %d, %+v", k, m, perr, viewRequest(&part), n, viewRequest(&whole))
			}
		case perr != ErrShort && perr != err:
			t.Fatalf("prefix %d: error = %v; want ErrShort or %v", k, perr, err)
		}
	}
}

// splitPoints returns the prefix lengths to try on an input of size bytes
// whose head ends at n: all of them if all or up to 256 bytes, else 64
// spread out plus those around n, so that fuzzing stays fast (checking
// every prefix is quadratic in the input size).
func splitPoints(size, n int, all bool) []int {
	step := max(1, size/64)
	if all || size <= 256 {
		step = 1
	}
	var ks []int
	for k := 0; k <= size; k += step {
		ks = append(ks, k)
	}
	for _, k := range []int{n - 1, n, n + 1, size} {
		if 0 <= k && k <= size {
			ks = append(ks, k)
		}
	}
	return ks
}

func TestParseRequestReusesHeaders(t *testing.T) {
	var r Request
	if _, err := ParseRequest([]byte(upgradeRequest), &r); err != nil {
		t.Fatal(err)
	}
	first := &r.Headers[:1][0]
	if _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nHost: b\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if got := &r.Headers[0]; got != first {
		t.Errorf("Headers array reallocated; want reused")
	}
	if got := string(r.Headers[0].Value); got != "b" {
		t.Errorf("Headers[0].Value = %q; want %q", got, "b")
	}
}

func TestParseRequestCappedSlices(t *testing.T) {
	buf := []byte("GET /p?q HTTP/1.1\r\nHost: a\r\n\r\n")
	var r Request
	if _, err := ParseRequest(buf, &r); err != nil {
		t.Fatal(err)
	}
	_ = append(r.Path, "XX"...)
	_ = append(r.Method, "XX"...)
	_ = append(r.Headers[0].Name, "XX"...)
	if got := string(buf); got != "GET /p?q HTTP/1.1\r\nHost: a\r\n\r\n" {
		t.Errorf("buffer after appends = %q; want it unchanged", got)
	}
}

func TestErrorsWrapCategory(t *testing.T) {
	for _, tt := range parseRequestTests {
		if tt.err == nil || tt.err == ErrShort || tt.err == ErrTooManyHeaders {
			continue
		}
		if !errors.Is(tt.err, ErrMalformed) || !strings.HasPrefix(tt.err.Error(), "codec: ") {
			t.Errorf("%s: %v does not wrap ErrMalformed with the codec prefix", tt.name, tt.err)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, tt := range parseRequestTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r, again Request
		n, err := ParseRequest(in, &r)
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
		} else {
			if n <= 0 || n > len(in) {
				t.Fatalf("n = %d; want 0 < n <= %d", n, len(in))
			}
			m, err := ParseRequest(in[:n], &again)
			if err != nil || m != n || !reflect.DeepEqual(viewRequest(&again), viewRequest(&r)) {
				t.Fatalf("re-parse of head: %d, %v, %+v; want %d, %+v", m, err, viewRequest(&again), n, viewRequest(&r))
			}
			_ = ValidateRequest(&r)
			_ = ValidateUpgrade(&r)
			r.Body()
		}
		checkRequestSplits(t, in, false)
	})
}

func ExampleParseRequest() {
	buf := []byte("GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	var r Request
	n, err := ParseRequest(buf, &r)
	if err == nil {
		err = ValidateRequest(&r)
	}
	fmt.Println(n, err, string(r.Path), string(r.Host), r.Upgrade)
	// Output: 82 <nil> /chat example.com true
}
