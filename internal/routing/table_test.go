package routing

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"wsproxy/codec"
)

// routes is the route set of core's TestRouting, its values naming the
// backend each route goes to.
func routes() *Table[string] {
	t := &Table[string]{}
	for _, r := range []struct {
		host, path string
		strip      bool
		re, to     string
		val        string
	}{
		{path: "/services/myservice/", re: "^/services/myservice/(.*)", to: "/$1", val: "A"},
		{path: "/strip", strip: true, val: "B"},
		{path: "/api", val: "A"},
		{path: "/api/v2", val: "B"},
		{host: "exact.example.com", path: "/", val: "C"},
		{host: "*.example.com", path: "/", val: "D"},
		{host: "*.example.com", path: "/api/v2/special", val: "C"},
		{path: "/", val: "E"},
		{path: "/", val: "never: an earlier route ties"},
	} {
		var re *regexp.Regexp
		if r.re != "" {
			re = regexp.MustCompile(r.re)
		}
		rule := NewRule(r.host, r.path, r.strip, re, r.to)
		t.Add(&rule, r.val)
	}
	return t
}

func TestTableMatch(t *testing.T) {
	tbl := routes()
	tests := []struct {
		name, host, path string
		want             string
	}{
		{"shorter prefix", "proxy:8080", "/api/v1/users", "A"},
		{"longest prefix wins", "proxy", "/api/v2/users", "B"},
		{"fallback", "", "/other", "E"},
		{"exact host", "exact.example.com", "/anything", "C"},
		{"exact host with port", "exact.example.com:8080", "/p", "C"},
		{"exact host case-insensitive", "EXACT.Example.COM", "/p", "C"},
		{"exact host with trailing dot", "exact.example.com.", "/p", "C"},
		{"wildcard host", "a.example.com", "/p", "D"},
		{"wildcard host deeper", "a.b.example.com:443", "/p", "D"},
		{"wildcard does not match apex", "example.com", "/p", "E"},
		{"wildcard does not match suffix", "badexample.com", "/p", "E"},
		{"host route beats longer hostless prefix", "exact.example.com", "/api/v2/x", "C"},
		{"longest prefix among host routes", "w.example.com", "/api/v2/special/1", "C"},
		{"other host falls back to hostless", "other.org", "/api/v2/x", "B"},
		{"IPv6 literal", "[::1]:80", "/p", "E"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tbl.Match([]byte(tt.host), []byte(tt.path)); got != tt.want {
				t.Errorf("Match(%q, %q) = %q; want %q", tt.host, tt.path, got, tt.want)
			}
		})
	}
	t.Run("no route", func(t *testing.T) {
		tbl := &Table[*int]{}
		rule := NewRule("a.test", "/", false, nil, "")
		tbl.Add(&rule, new(int))
		if got := tbl.Match([]byte("b.test"), []byte("/")); got != nil {
			t.Errorf("Match(b.test) = %v; want nil", got)
		}
	})
	t.Run("values in match order", func(t *testing.T) {
		got := tbl.Values()
		want := []string{"C", "C", "D", "A", "B", "B", "A", "E", "never: an earlier route ties"}
		if len(got) != len(want) {
			t.Fatalf("Values() = %q; want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("Values() = %q; want %q", got, want)
			}
		}
	})
	t.Run("allocs", func(t *testing.T) {
		host, path := []byte("w.example.com:443"), []byte("/api/v2/special/1")
		if a := testing.AllocsPerRun(100, func() { tbl.Match(host, path) }); a != 0 {
			t.Errorf("allocs per Match = %v; want 0", a)
		}
	})
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		strip      bool
		re, to     string
		reqPath, q string
		want       string
	}{
		{"regex keeps query", "/services/myservice/", false, "^/services/myservice/(.*)", "/$1", "/services/myservice/foo/bar", "x=1&y=a%20b", "/foo/bar?x=1&y=a%20b"},
		{"regex to root", "/services/myservice/", false, "^/services/myservice/(.*)", "/$1", "/services/myservice/", "", "/"},
		{"regex without '/' gets one", "/", false, "^/(.*)", "$1", "/x", "", "/x"},
		{"regex not matching: path as is", "/", false, "^/a/(.*)", "/$1", "/b/c", "", "/b/c"},
		{"general regex", "/", false, "^/u/([0-9]+)/(.*)$", "/users/$2/$1", "/u/42/p", "", "/users/p/42"},
		{"strip prefix", "/strip", true, "", "", "/strip/x/y", "q=1", "/x/y?q=1"},
		{"strip prefix exact", "/strip", true, "", "", "/strip", "", "/"},
		{"strip prefix trailing slash", "/strip", true, "", "", "/strip/", "", "/"},
		{"strip root: nothing stripped", "/", true, "", "", "/a", "", "/a"},
		{"no rewrite", "/api", false, "", "", "/api/v1", "a=b", "/api/v1?a=b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var re *regexp.Regexp
			if tt.re != "" {
				re = regexp.MustCompile(tt.re)
			}
			r := NewRule("", tt.path, tt.strip, re, tt.to)
			got := r.Rewrite([]byte("GET "), []byte(tt.reqPath), []byte(tt.q))
			if want := "GET " + tt.want; string(got) != want {
				t.Errorf("Rewrite(%q, %q) = %q; want %q", tt.reqPath, tt.q, got, want)
			}
		})
	}
}

func TestOriginAllowed(t *testing.T) {
	list := []string{"https://app.example.com", "*.trusted.org"}
	tests := []struct {
		list   []string
		origin string
		want   bool
	}{
		{list, "https://app.example.com", true},
		{list, "https://APP.example.com", true},
		{list, "http://app.example.com", false},
		{list, "http://x.trusted.org:8080", true},
		{list, "https://a.b.trusted.org", true},
		{list, "https://trusted.org", false},
		{list, "https://evil.example.com", false},
		{list, "https://trusted.org.evil.com", false},
		{list, "https://eviltrusted.org", false},
		{list, "null", false},
		{list, "", false},
		{nil, "", true},
		{nil, "https://anything", true},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			if got := OriginAllowed(tt.list, []byte(tt.origin)); got != tt.want {
				t.Errorf("OriginAllowed(%q, %q) = %v; want %v", tt.list, tt.origin, got, tt.want)
			}
		})
	}
}

// FuzzMatch checks Table.Match against a plain reading of its rule: the
// first route in Values order whose host matches and whose path is a
// prefix, host routes before hostless ones.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"exact.example.com", "/api/v2/x"}, {"a.b.example.com:443", "/p"}, {"[::1]:80", "/"}, {"example.com.", "/strip/x"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	tbl := routes()
	rules := make([]*Rule, len(tbl.entries))
	for i, e := range tbl.entries {
		rules[i] = e.rule
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		got := tbl.Match([]byte(host), []byte(path))
		h := stripPort([]byte(host))
		if n := len(h); n > 1 && h[n-1] == '.' {
			h = h[:n-1]
		}
		want := ""
		for _, hostRoutes := range []bool{true, false} {
			for i, r := range rules {
				if want != "" || (r.host != "") != hostRoutes || !bytes.HasPrefix([]byte(path), r.pathB) {
					continue
				}
				if r.host == "" || codec.EqualFold(h, r.host) && !r.wildcard ||
					r.wildcard && len(h) > len(r.host) && codec.EqualFold(h[len(h)-len(r.host):], r.host) {
					want = tbl.entries[i].val
				}
			}
		}
		if got != want {
			t.Errorf("Match(%q, %q) = %q; want %q", host, path, got, want)
		}
	})
}

// FuzzRewrite checks the literal fast path against the regexp engine for
// the seed's rewrite, on any path and query.
func FuzzRewrite(f *testing.F) {
	for _, p := range []string{"/services/myservice/chat", "/services/myservice/", "/services/myservice", "/other", ""} {
		f.Add(p, "q=1")
	}
	re := regexp.MustCompile("^/services/myservice/(.*)")
	fast := NewRule("", "/services/myservice/", false, re, "/v2/${1}.json")
	if fast.prefix == nil {
		f.Fatal("the seed's rewrite does not take the fast path")
	}
	slow := fast
	slow.prefix = nil
	f.Fuzz(func(t *testing.T, path, query string) {
		if strings.IndexByte(path, '\n') >= 0 {
			// The expression's "." does not match a newline, the fast path
			// takes any byte; a request path has no control bytes (codec
			// refuses them in the request-target; %0A stays encoded).
			return
		}
		got := fast.Rewrite(nil, []byte(path), []byte(query))
		want := slow.Rewrite(nil, []byte(path), []byte(query))
		if !bytes.Equal(got, want) {
			t.Errorf("Rewrite(%q, %q) = %q; want %q (regexp path)", path, query, got, want)
		}
	})
}
