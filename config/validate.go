package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Validate fills in defaults for zero fields, names the upstreams, turns
// route upstreams given as "host:port" into one-server upstreams, compiles
// rewrite regexes, and then checks everything. It returns every problem
// found, joined with errors.Join, each as "FILE:LINE: field: problem" (the
// file and line are left out when unknown). It may be called more than once.
func (c *Config) Validate() error {
	c.normalize()
	v := &validator{c: c, p: problems{file: c.File, lines: c.lines}}
	v.listeners()
	v.upstreams()
	v.routes()
	v.globals()
	v.observability()
	return v.p.err()
}

type validator struct {
	c *Config
	p problems
}

// first names where an earlier duplicate was written: its line if known,
// otherwise its field path.
func (v *validator) first(field string) string {
	if n := v.p.lineOf(field); n > 0 {
		return fmt.Sprintf("line %d", n)
	}
	return field
}

func (v *validator) listeners() {
	if len(v.c.Listen) == 0 {
		v.p.addf("listen", "no listeners (add at least one, e.g. listen: [{addr: \"127.0.0.1:8080\"}])")
	}
	seen := make(map[string]string)
	for i, l := range v.c.Listen {
		f := fmt.Sprintf("listen[%d]", i)
		switch err := checkAddr(l.Addr, false); {
		case l.Addr == "":
			v.p.addf(f+".addr", "missing (want IP:port, or :port for all interfaces)")
		case err != nil:
			v.p.addf(f+".addr", "%v", err)
		case strings.HasSuffix(l.Addr, ":0"):
			// Every port 0 listener gets a port of its own.
		default:
			key := canonicalAddr(l.Addr)
			if prev, dup := seen[key]; dup {
				v.p.addf(f+".addr", "duplicate listener %q (first at %s)", l.Addr, v.first(prev))
			}
			seen[key] = f + ".addr"
		}
		if l.TLS != nil {
			v.tls(f+".tls", l.TLS)
		}
		v.sockBuffers(f, l.RcvBuf, l.SndBuf, l.NotSentLowat)
	}
}

// tlsTooOld lists spellings of protocol versions before TLS 1.2.
var tlsTooOld = []string{"1", "1.0", "1.1", "tls1", "tls1.0", "tls1.1", "tlsv1", "tlsv1.0", "tlsv1.1",
	"ssl2", "ssl3", "sslv2", "sslv3", "2", "3", "3.0"}

func (v *validator) tls(f string, t *TLS) {
	switch mv := strings.ToLower(t.MinVersion); {
	case mv == "1.2" || mv == "1.3":
	case slices.Contains(tlsTooOld, mv):
		v.p.addf(f+".min_version", "TLS 1.1 and older are not supported (want \"1.2\" or \"1.3\")")
	default:
		v.p.addf(f+".min_version", "unknown TLS version %q (want \"1.2\" or \"1.3\")", t.MinVersion)
	}
	pairs := 0
	pair := func(f, cert, key string) {
		switch {
		case cert == "" && key == "":
			return
		case cert == "":
			v.p.addf(f+".cert", "missing (key is set)")
		case key == "":
			v.p.addf(f+".key", "missing (cert is set)")
		}
		pairs++
	}
	pair(f, t.Cert, t.Key)
	for i, cp := range t.Certificates {
		if cp.Cert == "" && cp.Key == "" {
			v.p.addf(fmt.Sprintf("%s.certificates[%d]", f, i), "empty (want cert and key)")
		}
		pair(fmt.Sprintf("%s.certificates[%d]", f, i), cp.Cert, cp.Key)
	}
	if pairs == 0 && len(t.Certificates) == 0 {
		v.p.addf(f, "no certificate (set cert and key, or certificates)")
	}
	v.ciphers(f+".ciphers", t)
	v.curves(f+".curves", t)
	v.sessionTickets(f, t)
}

// upstreamName is what an upstream may be called; no ":" so that a name
// can never be mistaken for an address.
var upstreamName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

func (v *validator) upstreams() {
	for _, name := range slices.Sorted(maps.Keys(v.c.Upstreams)) {
		u := v.c.Upstreams[name]
		f := "upstreams." + name
		switch {
		case u == nil:
			v.p.addf(f+".servers", "no servers")
			continue
		case u.implicit:
			continue // made from a route's address, which routes() checks
		case !upstreamName.MatchString(name):
			v.p.addf(f, "invalid upstream name %q (use letters, digits, '_', '-' and '.')", name)
		}
		v.balance(f, u)
		v.sockBuffers(f, u.RcvBuf, u.SndBuf, u.NotSentLowat)
		if u.ServersFrom != nil {
			v.serversFrom(f, u)
		} else if len(u.Servers) == 0 {
			v.p.addf(f+".servers", "no servers (list them, or take them from DNS with servers_from)")
		}
		seen := make(map[string]string)
		backups := 0
		for i, s := range u.Servers {
			sf := fmt.Sprintf("%s.servers[%d]", f, i)
			if err := checkAddr(s.Addr, true); s.Addr == "" {
				v.p.addf(sf+".addr", "missing (want host:port)")
			} else if err != nil {
				v.p.addf(sf+".addr", "%v", err)
			} else if prev, dup := seen[strings.ToLower(s.Addr)]; dup {
				v.p.addf(sf+".addr", "duplicate server %q (first at %s)", s.Addr, v.first(prev))
			} else {
				seen[strings.ToLower(s.Addr)] = sf + ".addr"
			}
			if s.Weight < 0 {
				v.p.addf(sf+".weight", "must be at least 1, got %d", s.Weight)
			}
			if s.MaxConns < 0 {
				v.p.addf(sf+".max_conns", "must not be negative (0 means unlimited), got %d", s.MaxConns)
			}
			if s.Backup {
				backups++
			}
			v.serverTLS(sf, s)
		}
		if backups > 0 && backups == len(u.Servers) {
			v.p.addf(f+".servers", "every server is a backup; at least one must not be")
		}
	}
}

// balance checks the policy and whether it needs, allows or forbids hash_key.
func (v *validator) balance(f string, u *Upstream) {
	v.balanceOptions(f, u)
	switch u.Balance {
	case BalanceHash:
		if u.HashKey == "" {
			v.p.addAt(v.p.lineOf(f+".balance"), f+".hash_key",
				"required for balance: hash (header:NAME, cookie:NAME, query:NAME or ip)")
			return
		}
	case BalanceCookie, BalanceSID:
	case BalanceRoundRobin, BalanceLeastConn, BalanceIPHash:
		if u.HashKey != "" {
			v.p.addf(f+".hash_key", "has no effect with balance: %s (did you mean balance: hash?)", u.Balance)
		}
		return
	default:
		v.p.addf(f+".balance", "unknown policy %q (want round_robin, least_conn, ip_hash, hash, cookie or sid)%s",
			u.Balance, suggest(u.Balance, []string{BalanceRoundRobin, BalanceLeastConn, BalanceIPHash, BalanceHash, BalanceCookie, BalanceSID}))
		return
	}
	if u.HashKey != "" {
		if err := checkHashKey(u.HashKey); err != nil {
			v.p.addf(f+".hash_key", "%v", err)
		}
	}
}

func (v *validator) routes() {
	var names []string
	for name, u := range v.c.Upstreams {
		if u != nil && !u.implicit {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	seen := make(map[string]string)
	for i := range v.c.Routes {
		r := &v.c.Routes[i]
		f := fmt.Sprintf("routes[%d]", i)
		if err := checkRouteHost(r.Host); err != nil {
			v.p.addf(f+".host", "%v", err)
		}
		switch {
		case !strings.HasPrefix(r.Path, "/"):
			v.p.addf(f+".path", "must start with \"/\", got %q", r.Path)
		case strings.ContainsAny(r.Path, "?# \t"):
			v.p.addf(f+".path", "must be a plain path prefix without query, fragment or spaces, got %q", r.Path)
		case !normalPath(r.Path):
			v.p.addf(f+".path", "must be in normal form (no //, \\, . or .. segments, escapes only of reserved bytes in upper-case hex): request paths are normalised before they are matched, got %q", r.Path)
		}
		if _, ok := v.c.Upstreams[r.Upstream]; !ok {
			switch {
			case r.Upstream == "":
				v.p.addf(f+".upstream", "missing (name an upstream, or give host:port)")
			case strings.Contains(r.Upstream, ":"):
				v.p.addf(f+".upstream", "%v", checkAddr(r.Upstream, true))
			default:
				v.p.addf(f+".upstream", "unknown upstream %q%s", r.Upstream, suggest(r.Upstream, names))
			}
		}
		v.websocket(f+".websocket", r.WebSocket)
		if r.Rewrite != nil {
			if r.StripPrefix {
				v.p.addf(f+".rewrite", "cannot be combined with strip_prefix (let the regex drop the prefix)")
			}
			v.rewrite(f+".rewrite", r.Rewrite)
		}
		key := r.Host + " " + r.Path
		if prev, dup := seen[key]; dup {
			what := fmt.Sprintf("path %q", r.Path)
			if r.Host != "" {
				what = fmt.Sprintf("host %q and %s", r.Host, what)
			}
			v.p.addf(f+".path", "duplicate route for %s (first at %s)", what, v.first(prev))
		}
		seen[key] = f
	}
}

func (v *validator) rewrite(f string, rw *Rewrite) {
	rw.Re = nil
	if rw.Regex == "" {
		v.p.addf(f+".regex", "missing")
	} else if re, err := regexp.Compile(rw.Regex); err != nil {
		v.p.addf(f+".regex", "invalid: %v", err)
	} else {
		rw.Re = re
	}
	switch {
	case rw.To == "":
		v.p.addf(f+".to", "missing (e.g. \"/$1\")")
	case rw.To[0] != '/' && rw.To[0] != '$':
		v.p.addf(f+".to", "must start with \"/\" or a group such as $1, got %q", rw.To)
	case rw.Re != nil:
		if err := checkExpand(rw.Re, rw.To); err != nil {
			v.p.addf(f+".to", "%v", err)
		}
	}
}

func (v *validator) globals() {
	c := v.c
	v.connLimits()
	if c.Loops < 0 {
		v.p.addf("loops", "must not be negative (0 means one per CPU, shared among workers), got %d", c.Loops)
	}
	if c.Procs != ProcsAdaptive && c.Procs != ProcsAll {
		v.p.addf("procs", "want adaptive or all, got %q%s", c.Procs, suggest(c.Procs, []string{ProcsAdaptive, ProcsAll}))
	}
	if c.CPUAffinity != AffinityOff && c.CPUAffinity != AffinityAuto {
		v.p.addf("cpu_affinity", "want off or auto, got %q%s", c.CPUAffinity, suggest(c.CPUAffinity, []string{AffinityOff, AffinityAuto}))
	}
	if c.Workers < 0 {
		v.p.addf("workers", "must not be negative (0 means 1), got %d", c.Workers)
	}
	for _, t := range []struct {
		field string
		d     Duration
	}{{"drain_timeout", c.DrainTimeout}, {"timeouts.connect", c.Timeouts.Connect}, {"timeouts.header_read", c.Timeouts.HeaderRead}, {"timeouts.idle", c.Timeouts.Idle}, {"timeouts.read", c.Timeouts.Read}, {"timeouts.keepalive", c.Timeouts.KeepAlive}, {"timeouts.handshake", c.Timeouts.Handshake}} {
		if t.d < 0 {
			v.p.addf(t.field, "must not be negative, got %s", t.d)
		}
	}
	if d := time.Duration(c.Timeouts.Connect); d > MaxConnectTimeout {
		v.p.addf("timeouts.connect", "must be at most %s (a connect's start is kept to the microsecond in 32 bits), got %s", MaxConnectTimeout, d)
	}
	if n := c.Limits.MaxHeaderBytes; n < 1024 || n > 1<<20 {
		v.p.addf("limits.max_header_bytes", "must be between 1024 and 1048576 bytes, got %d", n)
	}
	if n := c.Limits.MaxPendingBytes; n < 1024 || n > 64<<20 {
		v.p.addf("limits.max_pending_bytes", "must be between 1024 and 67108864 bytes, got %d", n)
	}
	if n := c.Limits.MaxHeaders; n < 1 || n > 10000 {
		v.p.addf("limits.max_headers", "must be between 1 and 10000, got %d", n)
	}
}

// normalPath reports whether a route path is in the form request paths
// take after codec.NormalizePath, so that it can match at all: no "\\",
// no empty, "." or ".." segment, and escapes only of bytes that stay
// escaped (not unreserved, not "/", "\\" or NUL), in upper-case hex.
func normalPath(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			return false
		case '/':
			seg, _, _ := strings.Cut(p[i+1:], "/")
			name, _, _ := strings.Cut(seg, ";")
			if i+1 < len(p) && seg == "" || name == "." || name == ".." {
				return false
			}
		case '%':
			if i+2 >= len(p) || !upperHex(p[i+1]) || !upperHex(p[i+2]) {
				return false
			}
			d := unhexDigit(p[i+1])<<4 | unhexDigit(p[i+2])
			if d == 0 || d == '/' || d == '\\' || d < 0x80 && unreserved(byte(d)) {
				return false
			}
		}
	}
	return true
}

func upperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhexDigit(c byte) int {
	if c <= '9' {
		return int(c - '0')
	}
	return int(c-'A') + 10
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}
