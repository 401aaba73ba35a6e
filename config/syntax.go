package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkAddr checks "host:port" with a numeric port. Listeners (names false)
// need an IP or an empty host and may use port 0; upstream servers (names
// true) need a host, which may be a DNS name resolved later, and a real port.
func checkAddr(s string, names bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if _, perr := strconv.ParseUint(s, 10, 16); perr == nil && !names {
			return fmt.Errorf("want IP:port, got %q (write \":%s\" for all interfaces)", s, s)
		}
		return fmt.Errorf("want host:port, got %q", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("port %q in %q is not a number from 0 to 65535", port, s)
	}
	if !names {
		if _, err := netip.ParseAddr(host); host != "" && err != nil {
			return fmt.Errorf("host %q in %q must be an IP address (only upstream servers may use names)", host, s)
		}
		return nil
	}
	switch {
	case host == "":
		return fmt.Errorf("missing host in %q", s)
	case n == 0:
		return fmt.Errorf("port 0 in %q cannot be dialled", s)
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
		return fmt.Errorf("invalid host %q in %q", host, s)
	}
	return nil
}

// canonicalAddr spells equal listener addresses equally ("[::1]:80" and
// "[0:0::1]:80"); s has passed checkAddr.
func canonicalAddr(s string) string {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String()
	}
	return s
}

// validHostname reports whether s is a DNS name (or an IPv4 literal):
// dot-separated labels of letters, digits, '-' and '_' (common in container
// service names), none empty, none starting or ending with '-'.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if r > unicode.MaxASCII || !(r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}

// checkRouteHost checks a route's host: a name, an IP, "[IPv6]" or
// "*.name", never with a port since matching ignores the request's port.
func checkRouteHost(h string) error {
	name := strings.TrimPrefix(h, "*.")
	switch {
	case h == "":
		return nil
	case h == "*":
		return fmt.Errorf(`"*" matches nothing special; leave host out to match any host`)
	case strings.Contains(name, "*"):
		return fmt.Errorf("invalid wildcard %q: \"*.\" may only start the host, as in \"*.example.com\"", h)
	case strings.HasPrefix(h, "["):
		if a, err := netip.ParseAddr(strings.TrimSuffix(h[1:], "]")); err == nil && a.Is6() && strings.HasSuffix(h, "]") {
			return nil
		}
		if hp, _, err := net.SplitHostPort(h); err == nil {
			return fmt.Errorf("must not include a port (write %q); the port is ignored when matching", "["+hp+"]")
		}
		return fmt.Errorf("invalid IPv6 host %q", h)
	case strings.Contains(h, ":"):
		if hp, _, err := net.SplitHostPort(h); err == nil {
			return fmt.Errorf("must not include a port (write %q); the port is ignored when matching", hp)
		}
		return fmt.Errorf("invalid host %q (write IPv6 addresses in brackets)", h)
	case !validHostname(name):
		return fmt.Errorf("invalid host %q", h)
	}
	return nil
}

// checkHashKey checks "header:NAME", "cookie:NAME", "query:NAME" or "ip".
func checkHashKey(k string) error {
	if k == "ip" {
		return nil
	}
	kind, name, ok := strings.Cut(k, ":")
	if !ok || (kind != "header" && kind != "cookie" && kind != "query") {
		return fmt.Errorf("invalid key %q (want header:NAME, cookie:NAME, query:NAME or ip)", k)
	}
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		return fmt.Errorf("invalid %s name %q in %q", kind, name, k)
	}
	return nil
}

// isTokenChar reports whether r may appear in an HTTP token (RFC 9110
// section 5.6.2), which header and cookie names are.
func isTokenChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// checkExpand finds references in a rewrite target that regexp.Expand would
// silently expand to nothing: groups that do not exist, and the classic
// "$1x", which Go reads as the group named "1x", not $1 followed by "x".
func checkExpand(re *regexp.Regexp, to string) error {
	for i := 0; i < len(to); i++ {
		if to[i] != '$' {
			continue
		}
		rest := to[i+1:]
		if strings.HasPrefix(rest, "$") {
			i++ // "$$" is a literal "$"
			continue
		}
		braced := strings.HasPrefix(rest, "{")
		name := rest
		if braced {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return fmt.Errorf("unclosed \"${\" in %q", to)
			}
			name = rest[1:end]
			i += end + 1
		} else {
			end := strings.IndexFunc(rest, func(r rune) bool { return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) })
			if end >= 0 {
				name = rest[:end]
			}
			i += len(name)
		}
		if name == "" {
			continue // not a reference: Expand copies the "$" literally
		}
		if n, err := strconv.Atoi(name); err == nil {
			if n > re.NumSubexp() {
				return fmt.Errorf("refers to $%d but the regex has %d group(s)", n, re.NumSubexp())
			}
			continue
		}
		if re.SubexpIndex(name) >= 0 {
			continue
		}
		if digits := strings.IndexFunc(name, func(r rune) bool { return !unicode.IsDigit(r) }); !braced && digits > 0 {
			return fmt.Errorf("\"$%s\" means the group named %q, which does not exist (write \"${%s}%s\")",
				name, name, name[:digits], name[digits:])
		}
		return fmt.Errorf("refers to unknown group %q", name)
	}
	return nil
}
