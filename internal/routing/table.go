// Package routing picks the route of a request by Host and path, rewrites
// the path sent upstream, and checks a WebSocket handshake's Origin
// against a route's allowlist. It knows bytes and routes, not connections
// or upstreams: a Table maps each Rule to a value of the caller's (core's
// route, with its upstream and WebSocket policy).
//
// Matching and rewriting run once per request and allocate nothing (the
// rewrite appends to the caller's buffer); building a Table is start-up
// work.
package routing

import (
	"bytes"
	"slices"
)

// Table picks the route for a request: among routes whose host matches,
// the longest path prefix wins, and a route naming the host beats one that
// does not (as nginx picks a server block before a location). The zero
// Table is empty and ready; it is not changed after start-up, so any
// number of loops may read it.
type Table[T any] struct {
	entries []entry[T] // host-specific first, then by path length, longest first
}

type entry[T any] struct {
	rule *Rule
	val  T
}

// Add adds the route r, with its value v. Routes that tie (both with or
// both without a host, same path length) keep the order they were added
// in: the first added wins.
func (t *Table[T]) Add(r *Rule, v T) {
	i := len(t.entries)
	for i > 0 && before(r, t.entries[i-1].rule) {
		i--
	}
	t.entries = slices.Insert(t.entries, i, entry[T]{r, v})
}

// before reports whether a is tried before b.
func before(a, b *Rule) bool {
	if (a.host != "") != (b.host != "") {
		return a.host != ""
	}
	return len(a.path) > len(b.path)
}

// Match returns the value of the route for host (a Host header value, port
// and a trailing dot allowed) and path (normalised), or the zero T when no
// route matches. It does not allocate.
func (t *Table[T]) Match(host, path []byte) T {
	host = stripPort(host)
	if n := len(host); n > 1 && host[n-1] == '.' {
		host = host[:n-1] // "a.test." is the fully qualified "a.test", as nginx takes it
	}
	var fallback *entry[T]
	for i := range t.entries {
		e := &t.entries[i]
		if !bytes.HasPrefix(path, e.rule.pathB) {
			continue
		}
		if e.rule.host == "" {
			if fallback == nil {
				fallback = e
			}
			continue
		}
		if e.rule.matchHost(host) {
			return e.val
		}
	}
	if fallback == nil {
		var zero T
		return zero
	}
	return fallback.val
}

// Values returns the values of the routes in the order Match tries them
// (most specific first), in a new slice.
func (t *Table[T]) Values() []T {
	vals := make([]T, len(t.entries))
	for i, e := range t.entries {
		vals[i] = e.val
	}
	return vals
}

// stripPort returns host without its port; an IPv6 literal loses its
// brackets too. The result aliases host.
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
