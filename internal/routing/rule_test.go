package routing

import (
	"regexp"
	"testing"
)

// TestLiteralRewriteMatchesRegexp: the fast path gives what the regexp
// path gives, for the expressions it accepts, and declines the others.
func TestLiteralRewriteMatchesRegexp(t *testing.T) {
	tests := []struct {
		expr, to string
		fast     bool
	}{
		{"^/services/myservice/(.*)", "/$1", true},
		{"^/api/(.*)$", "/v2/${1}/x", true},
		{"^/a.b/(.*)", "/$1", false}, // a metacharacter
		{"/services/(.*)", "/$1", false},
		{"^/x/(.*)", "/$1x", false},
		{"^/x/(.*)", "/$2", false},
	}
	paths := []string{"/services/myservice/chat", "/services/myservice/", "/services/myservice", "/api/users", "/api/", "/x/y", "/other"}
	for _, tt := range tests {
		t.Run(tt.expr+"→"+tt.to, func(t *testing.T) {
			fast := &Rule{re: regexp.MustCompile(tt.expr), to: []byte(tt.to)}
			fast.prefix, fast.pre, fast.post = literalRewrite(tt.expr, tt.to)
			if got := fast.prefix != nil; got != tt.fast {
				t.Fatalf("fast path = %v; want %v", got, tt.fast)
			}
			slow := &Rule{re: fast.re, to: fast.to}
			for _, p := range paths {
				got := string(fast.Rewrite(nil, []byte(p), []byte("q=1")))
				want := string(slow.Rewrite(nil, []byte(p), []byte("q=1")))
				if got != want {
					t.Errorf("rewrite(%q) = %q; want %q (regexp path)", p, got, want)
				}
			}
			if tt.fast {
				if a := testing.AllocsPerRun(100, func() { fast.Rewrite(make([]byte, 0, 64), []byte(paths[0]), nil) }); a > 1 {
					t.Errorf("allocs = %v; want at most the destination buffer", a)
				}
			}
		})
	}
}
