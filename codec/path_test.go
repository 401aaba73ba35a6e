package codec

import (
	"strings"
	"testing"
)

var normalizePathTests = []struct {
	name, in, want string
	err            error
}{
	{name: "root", in: "/", want: "/"},
	{name: "plain", in: "/a/b.c/d;p=1", want: "/a/b.c/d;p=1"},
	{name: "trailing slash", in: "/a/", want: "/a/"},
	{name: "empty", in: "", want: "/"},
	{name: "no leading slash", in: "a/b", want: "/a/b"},
	{name: "dot segment", in: "/a/./b", want: "/a/b"},
	{name: "trailing dot", in: "/a/.", want: "/a/"},
	{name: "dot-dot", in: "/a/b/../c", want: "/a/c"},
	{name: "trailing dot-dot", in: "/a/b/..", want: "/a/"},
	{name: "dot-dot to root", in: "/a/..", want: "/"},
	{name: "dots in names", in: "/a/.b/b./..c/c../...", want: "/a/.b/b./..c/c../..."},
	{name: "double slash", in: "//a//b//", want: "/a/b/"},
	{name: "backslash", in: "/a\\..\\b", want: "/b"},
	{name: "encoded dots", in: "/a/%2e%2E/b", want: "/b"},
	{name: "half encoded dots", in: "/a/.%2e/b", want: "/b"},
	{name: "encoded slash", in: "/a%2Fb%2f..%2Fc", want: "/a/c"},
	{name: "encoded backslash", in: "/a%5cb%5C", want: "/a/b/"},
	{name: "unreserved decoded", in: "/%41%7a%30%2D%5F%7E", want: "/Az0-_~"},
	{name: "reserved kept", in: "/%3f%23%25%3B%20", want: "/%3F%23%25%3B%20"},
	{name: "non-ASCII escape upper-cased", in: "/caf%c3%a9", want: "/caf%C3%A9"},
	{name: "raw non-ASCII kept", in: "/caf\xc3\xa9/./x", want: "/caf\xc3\xa9/x"},
	{name: "dot-dot with parameter", in: "/a/b/..;x=1/c", want: "/a/c"},
	{name: "dot with parameter", in: "/a/.;x/b", want: "/a/b"},
	{name: "parameter not a dot", in: "/a/..x;/b/", want: "/a/..x;/b/"},
	{name: "encoded semicolon is data", in: "/a/..%3Bx/b", want: "/a/..%3Bx/b"},
	{name: "escape in slow path only", in: "/%61", want: "/a"},

	{name: "above root", in: "/..", err: ErrPathAboveRoot},
	{name: "above root later", in: "/a/../..", err: ErrPathAboveRoot},
	{name: "above root encoded", in: "/%2e%2e/x", err: ErrPathAboveRoot},
	{name: "above root after dot", in: "/./../x", err: ErrPathAboveRoot},
	{name: "above root with parameter", in: "/..;/x", err: ErrPathAboveRoot},
	{name: "NUL", in: "/a%00", err: ErrBadEscape},
	{name: "bad hex", in: "/a%zz", err: ErrBadEscape},
	{name: "short escape", in: "/a%4", err: ErrBadEscape},
	{name: "bare percent", in: "/a%", err: ErrBadEscape},
}

func TestNormalizePath(t *testing.T) {
	for _, tt := range normalizePathTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePath(nil, []byte(tt.in))
			if err != tt.err {
				t.Fatalf("NormalizePath(%q) error = %v; want %v", tt.in, err, tt.err)
			}
			if err == nil && string(got) != tt.want {
				t.Errorf("NormalizePath(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNormalizePathNoCopy: a normal path comes back as itself; one that is
// not is written into dst's array.
func TestNormalizePathNoCopy(t *testing.T) {
	p := []byte("/chat/room-1")
	dst := make([]byte, 0, 64)
	if got, _ := NormalizePath(dst, p); &got[0] != &p[0] {
		t.Errorf("normal path copied; want p returned")
	}
	q := []byte("/chat//room-1")
	if got, _ := NormalizePath(dst, q); &got[0] != &dst[:1][0] || string(got) != "/chat/room-1" {
		t.Errorf("got %q at %p; want /chat/room-1 in dst", got, &got[0])
	}
}

// refNormalize is an independent, allocating normaliser: decode every
// escape the rules decode, then resolve segments as RFC 3986 §5.2.4 does.
func refNormalize(p string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' {
			c = '/'
		}
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(p) || unhex(p[i+1]) < 0 || unhex(p[i+2]) < 0 {
			return "", false
		}
		d := byte(unhex(p[i+1])<<4 | unhex(p[i+2]))
		switch {
		case d == 0:
			return "", false
		case d == '/' || d == '\\':
			b.WriteByte('/')
		case isUnreserved(d):
			b.WriteByte(d)
		default:
			b.WriteString("%" + strings.ToUpper(p[i+1:i+3]))
		}
		i += 2
	}
	var out []string
	segs := strings.Split(b.String(), "/")
	for i, s := range segs {
		name, _, _ := strings.Cut(s, ";")
		last := i == len(segs)-1
		switch {
		case name == "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		case name == "." || s == "":
			if last && len(out) > 0 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	if n := len(out); n > 0 && out[n-1] == "" {
		if n == 1 {
			return "/", true
		}
		return "/" + strings.Join(out[:n-1], "/") + "/", true
	}
	return "/" + strings.Join(out, "/"), true
}

func TestNormalizePathReference(t *testing.T) {
	for _, tt := range normalizePathTests {
		want, ok := refNormalize(tt.in)
		if ok != (tt.err == nil) || ok && want != tt.want {
			t.Errorf("refNormalize(%q) = %q, %v; table says %q, %v", tt.in, want, ok, tt.want, tt.err)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, tt := range normalizePathTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		got, err := NormalizePath(make([]byte, 0, 4), p)
		want, ok := refNormalize(string(p))
		if (err == nil) != ok {
			t.Fatalf("NormalizePath(%q) error %v; reference ok %v (%q)", p, err, ok, want)
		}
		if err != nil {
			return
		}
		if string(got) != want {
			t.Fatalf("NormalizePath(%q) = %q; reference %q", p, got, want)
		}
		if len(got) > len(p)+1 {
			t.Fatalf("NormalizePath(%q) = %q: longer than len(p)+1", p, got)
		}
		again, err := NormalizePath(nil, got)
		if err != nil || string(again) != string(got) {
			t.Fatalf("not idempotent: %q → %q → %q, %v", p, got, again, err)
		}
	})
}

func TestRequestMaxHeaders(t *testing.T) {
	head := "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 5) + "\r\n"
	tests := []struct {
		max  int
		want error
	}{{0, nil}, {5, nil}, {4, ErrTooManyHeaders}, {1000, nil}}
	for _, tt := range tests {
		r := Request{MaxHeaders: tt.max}
		if _, err := ParseRequest([]byte(head), &r); err != tt.want {
			t.Errorf("MaxHeaders %d: got %v; want %v", tt.max, err, tt.want)
		}
		if r.MaxHeaders != tt.max {
			t.Errorf("MaxHeaders %d: ParseRequest reset it to %d", tt.max, r.MaxHeaders)
		}
		resp := Response{MaxHeaders: tt.max}
		if _, err := ParseResponse([]byte("HTTP/1.1 200 OK\r\n"+head[16:]), &resp); err != tt.want {
			t.Errorf("response MaxHeaders %d: got %v; want %v", tt.max, err, tt.want)
		}
	}
}

func TestRequestForms(t *testing.T) {
	tests := []struct {
		line       string
		absolute   bool
		idempotent bool
	}{
		{"GET / HTTP/1.1", false, true},
		{"GET http://h/ HTTP/1.1", true, true},
		{"GET http://h HTTP/1.1", true, true},
		{"OPTIONS * HTTP/1.1", false, true},
		{"CONNECT h:443 HTTP/1.1", false, false},
		{"POST / HTTP/1.1", false, false},
		{"PATCH / HTTP/1.1", false, false},
		{"PUT / HTTP/1.1", false, true},
		{"DELETE / HTTP/1.1", false, true},
		{"HEAD / HTTP/1.1", false, true},
		{"TRACE / HTTP/1.1", false, true},
		{"PROPFIND / HTTP/1.1", false, false},
		{"get / HTTP/1.1", false, false},
	}
	for _, tt := range tests {
		r := parseReq(t, tt.line+"\r\nHost: a\r\n\r\n")
		if got := r.AbsoluteForm(); got != tt.absolute {
			t.Errorf("%s: AbsoluteForm() = %v; want %v", tt.line, got, tt.absolute)
		}
		if got := r.Idempotent(); got != tt.idempotent {
			t.Errorf("%s: Idempotent() = %v; want %v", tt.line, got, tt.idempotent)
		}
	}
}
