package routing

import (
	"bytes"
	"regexp"
	"strings"

	"wsproxy/codec"
)

// Rule is one route's matcher and rewriter. NewRule makes one.
type Rule struct {
	host     string // lower-case; "" any; ".example.com" for "*.example.com"
	wildcard bool   // host is "." + suffix
	path     string
	pathB    []byte
	strip    bool
	re       *regexp.Regexp
	prefix   []byte // set when re is "^literal(.*)" and to uses only $1: the fast path
	pre      []byte
	post     []byte
	to       []byte
}

// NewRule compiles a route: host is "" (any host), a lower-case name or
// "*.suffix" (any subdomain of suffix); path is a prefix of the normalised
// request path. With stripPrefix the prefix is removed from the path sent
// upstream; with re (not nil) a path it matches is replaced as a whole by
// the template to (regexp.Regexp.Expand syntax), as nginx's
// "rewrite … break" does.
func NewRule(host, path string, stripPrefix bool, re *regexp.Regexp, to string) Rule {
	r := Rule{host: host, path: path, pathB: []byte(path), strip: stripPrefix}
	if strings.HasPrefix(r.host, "*.") {
		r.wildcard = true
		r.host = r.host[1:]
	}
	if re != nil {
		r.re = re
		r.to = []byte(to)
		r.prefix, r.pre, r.post = literalRewrite(re.String(), to)
	}
	return r
}

func (r *Rule) matchHost(host []byte) bool {
	if !r.wildcard {
		return codec.EqualFold(host, r.host)
	}
	// "*.example.com" matches "a.example.com" and "a.b.example.com".
	return len(host) > len(r.host) && codec.EqualFold(host[len(host)-len(r.host):], r.host)
}

// Rewrite appends the request target sent upstream to dst and returns it:
// the path after the route's rewrite or prefix strip, then the query. The
// result always starts with '/'. path is a request path as codec parses
// it: it holds no control bytes, which the fast path relies on (the
// expression's "." does not match '\n'). It allocates only when dst must
// grow (or for a rewrite the fast path does not cover).
func (r *Rule) Rewrite(dst, path, query []byte) []byte {
	switch {
	case r.prefix != nil:
		// "^literal(.*)" → "pre$1post" without the regexp engine.
		if bytes.HasPrefix(path, r.prefix) {
			start := len(dst)
			dst = append(append(append(dst, r.pre...), path[len(r.prefix):]...), r.post...)
			if len(dst) == start || dst[start] != '/' {
				dst = append(dst[:start], append([]byte{'/'}, dst[start:]...)...)
			}
		} else {
			dst = append(dst, path...)
		}
	case r.re != nil:
		if m := r.re.FindSubmatchIndex(path); m != nil {
			start := len(dst)
			dst = r.re.Expand(dst, r.to, path, m)
			if len(dst) == start || dst[start] != '/' {
				dst = append(dst[:start], append([]byte{'/'}, dst[start:]...)...)
			}
		} else {
			dst = append(dst, path...)
		}
	case r.strip && r.path != "/":
		rest := path[len(r.path):]
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
