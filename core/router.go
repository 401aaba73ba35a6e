package core

import (
	"bytes"
	"regexp"
	"sort"
	"strings"

	"wsproxy/codec"
	"wsproxy/internal/config"
)

// route is a compiled config.Route.
type route struct {
	host     string // lower-case; "" any; "*.example.com" wildcard
	wildcard bool   // host is "*." + suffix; suffix kept with its leading dot
	path     string
	pathB    []byte
	strip    bool
	re       *regexp.Regexp
	prefix   []byte // set when re is "^literal(.*)" and to uses only $1: the fast path
	pre      []byte
	post     []byte
	to       []byte
	up       *upstream
	ws       *wsPolicy
	name     string // for logs and metrics: host+path
	idx      int    // position among the routes, for per-loop counters (metrics.go)
}

// router picks the route for a request: among routes whose host matches, the
// longest path prefix wins, and a route naming the host beats one that does
// not (as nginx picks a server block before a location).
type router struct {
	routes []*route // host-specific first, then by path length, longest first
}

func newRouter(cfg *config.Config, ups map[string]*upstream) *router {
	r := &router{}
	for _, cr := range cfg.Routes {
		rt := &route{
			host:  cr.Host,
			path:  cr.Path,
			pathB: []byte(cr.Path),
			strip: cr.StripPrefix,
			up:    ups[cr.Upstream],
			ws:    newWSPolicy(cr.WebSocket),
			name:  cr.Host + cr.Path,
		}
		if strings.HasPrefix(rt.host, "*.") {
			rt.wildcard = true
			rt.host = rt.host[1:]
		}
		if cr.Rewrite != nil {
			rt.re = cr.Rewrite.Re
			if rt.re == nil {
				rt.re = regexp.MustCompile(cr.Rewrite.Regex)
			}
			rt.to = []byte(cr.Rewrite.To)
			rt.prefix, rt.pre, rt.post = literalRewrite(cr.Rewrite.Regex, cr.Rewrite.To)
		}
		r.routes = append(r.routes, rt)
	}
	sort.SliceStable(r.routes, func(i, j int) bool {
		a, b := r.routes[i], r.routes[j]
		if (a.host != "") != (b.host != "") {
			return a.host != ""
		}
		return len(a.path) > len(b.path)
	})
	return r
}

// match returns the route for host (a Host header value, port and a
// trailing dot allowed) and path (normalised), or nil. It does not
// allocate.
func (r *router) match(host, path []byte) *route {
	host = stripPort(host)
	if n := len(host); n > 1 && host[n-1] == '.' {
		host = host[:n-1] // "a.test." is the fully qualified "a.test", as nginx takes it
	}
	var fallback *route
	for _, rt := range r.routes {
		if !bytes.HasPrefix(path, rt.pathB) {
			continue
		}
		if rt.host == "" {
			if fallback == nil {
				fallback = rt
			}
			continue
		}
		if rt.matchHost(host) {
			return rt
		}
	}
	return fallback
}

func (rt *route) matchHost(host []byte) bool {
	if !rt.wildcard {
		return codec.EqualFold(host, rt.host)
	}
	// "*.example.com" matches "a.example.com" and "a.b.example.com".
	return len(host) > len(rt.host) && codec.EqualFold(host[len(host)-len(rt.host):], rt.host)
}

// rewrite appends the request target sent upstream to dst: the path after
// the route's rewrite or prefix strip, then the query. With a regex, a
// matching path is replaced as a whole by the expanded template, as nginx's
// "rewrite … break" does.
func (rt *route) rewrite(dst, path, query []byte) []byte {
	switch {
	case rt.prefix != nil:
		// "^literal(.*)" → "pre$1post" without the regexp engine.
		if bytes.HasPrefix(path, rt.prefix) {
			start := len(dst)
			dst = append(append(append(dst, rt.pre...), path[len(rt.prefix):]...), rt.post...)
			if len(dst) == start || dst[start] != '/' {
				dst = append(dst[:start], append([]byte{'/'}, dst[start:]...)...)
			}
		} else {
			dst = append(dst, path...)
		}
	case rt.re != nil:
		if m := rt.re.FindSubmatchIndex(path); m != nil {
			start := len(dst)
			dst = rt.re.Expand(dst, rt.to, path, m)
			if len(dst) == start || dst[start] != '/' {
				dst = append(dst[:start], append([]byte{'/'}, dst[start:]...)...)
			}
		} else {
			dst = append(dst, path...)
		}
	case rt.strip && rt.path != "/":
		rest := path[len(rt.path):]
		if len(rest) == 0 || rest[0] != '/' {
			dst = append(dst, '/')
		}
		dst = append(dst, rest...)
	default:
		dst = append(dst, path...)
	}
	if len(query) > 0 {
		dst = append(append(dst, '?'), query...)
	}
	return dst
}

func stripPort(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' { // [v6]:port
		if i := bytes.IndexByte(host, ']'); i > 0 {
			return host[1:i]
		}
		return host
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[:i], ':') < 0 {
		return host[:i]
	}
	return host
}

// literalRewrite recognises the common rewrite "^/literal/(.*)" → "…$1…"
// (the seed's case) and returns the literal prefix and the template around
// $1, so that rewriting needs neither the regexp engine nor an allocation.
// prefix is nil for any other expression.
func literalRewrite(expr, to string) (prefix, pre, post []byte) {
	body, ok := strings.CutPrefix(expr, "^")
	if !ok {
		return nil, nil, nil
	}
	lit, ok := strings.CutSuffix(body, "(.*)")
	if !ok {
		if lit, ok = strings.CutSuffix(body, "(.*)$"); !ok {
			return nil, nil, nil
		}
	}
	if regexp.QuoteMeta(lit) != lit || lit == "" {
		return nil, nil, nil
	}
	for _, ref := range []string{"${1}", "$1"} {
		if a, b, found := strings.Cut(to, ref); found && !strings.Contains(a, "$") && !strings.Contains(b, "$") {
			if ref == "$1" && b != "" && isWordByte(b[0]) {
				return nil, nil, nil // "$1x" names group "1x"
			}
			return []byte(lit), []byte(a), []byte(b)
		}
	}
	return nil, nil, nil
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
