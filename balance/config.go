package balance

import (
	"fmt"
	"strings"
	"time"
)

// Policy names, as written in the upstream's "balance:" key.
const (
	PolicyRoundRobin = "round_robin"
	PolicyLeastConn  = "least_conn"
	PolicyIPHash     = "ip_hash"
	PolicyHash       = "hash"
	PolicyCookie     = "cookie"
	PolicySid        = "sid"
)

// Defaults for the zero values of Config.
const (
	DefaultCookieName   = "wsproxy_srv"
	DefaultSidTTL       = 5 * time.Minute
	DefaultSidTableSize = 1 << 18
	DefaultMaxFails     = 1
	DefaultFailTimeout  = 10 * time.Second
	// MinCookieSecret is the shortest CookieSecret accepted, in bytes.
	MinCookieSecret = 16
)

// Config is the balancing part of one upstream's configuration. The zero
// value is valid and means round_robin with nginx's passive health defaults.
// Call Validate once at start-up; NewPool does too.
type Config struct {
	// Policy is one of the Policy* names. Default round_robin.
	Policy string

	// HashKey is what policy hash hashes: "header:NAME", "cookie:NAME",
	// "query:NAME" or "ip". Default "ip". A request without the named key
	// is hashed on its client address instead, and one without a valid
	// client address is served round robin.
	HashKey string

	// IPv4Prefix24 makes ip_hash (and hash on "ip") hash only the first three
	// octets of an IPv4 address, as nginx's ip_hash does: clients whose
	// address changes within a /24 (carrier NAT pools) keep their server,
	// as they did behind nginx, though not the same server nginx chose.
	// IPv6 addresses are always hashed whole. Default false: the whole
	// address.
	IPv4Prefix24 bool

	// Fallback is the policy that cookie and sid use for requests without a
	// usable cookie or a known sid: round_robin, least_conn, ip_hash or hash.
	// Default round_robin for cookie; for sid, hash when HashKey is set,
	// else ip_hash.
	Fallback string

	// CookieName is the cookie that policy cookie inserts and honours.
	// Default DefaultCookieName.
	CookieName string

	// CookieSecret signs the cookie's value (HMAC-SHA256). Required for policy
	// cookie, at least MinCookieSecret bytes, and the same on every proxy
	// instance so that a cookie issued by one is honoured by all.
	CookieSecret []byte

	// CookieSecure adds the Secure attribute to the inserted cookie; set it
	// when clients reach the proxy over TLS. Default false.
	CookieSecure bool

	// SidTTL is how long a learnt Engine.IO sid routes requests after its
	// last use. Default DefaultSidTTL.
	SidTTL time.Duration

	// SidTableSize bounds the number of sids remembered; past it the least
	// recently used of a small sample is evicted. Default DefaultSidTableSize.
	SidTableSize int

	// SidStore replaces the in-process SidTable of policy sid, for instance
	// with one shared between worker processes. Nil means
	// NewSidTable(SidTableSize, SidTTL), private to the pool.
	SidStore SidStore

	// MaxFails is the number of failed connects within FailTimeout that marks
	// a server down for FailTimeout (nginx's max_fails). Default
	// DefaultMaxFails; negative disables passive health checks.
	MaxFails int

	// FailTimeout is both the window in which MaxFails failures are counted
	// and how long the server then stays down (nginx's fail_timeout).
	// Default DefaultFailTimeout.
	FailTimeout time.Duration
}

// Validate reports the first invalid field as a *ConfigError.
func (c *Config) Validate() error {
	switch c.Policy {
	case "", PolicyRoundRobin, PolicyLeastConn, PolicyIPHash, PolicyHash, PolicyCookie, PolicySid:
	default:
		return configError("Policy", fmt.Sprintf("unknown policy %q (want round_robin, least_conn, ip_hash, hash, cookie or sid)", c.Policy))
	}
	if c.HashKey != "" {
		if _, _, err := parseHashKey(c.HashKey); err != nil {
			return err
		}
	}
	switch c.Fallback {
	case "", PolicyRoundRobin, PolicyLeastConn, PolicyIPHash, PolicyHash:
	default:
		return configError("Fallback", fmt.Sprintf("%q cannot be a fallback (want round_robin, least_conn, ip_hash or hash)", c.Fallback))
	}
	if c.CookieName != "" && !isToken(c.CookieName) {
		return configError("CookieName", fmt.Sprintf("%q is not a valid cookie name", c.CookieName))
	}
	if c.Policy == PolicyCookie && len(c.CookieSecret) < MinCookieSecret {
		return configError("CookieSecret", fmt.Sprintf("policy cookie needs a secret of at least %d bytes, have %d", MinCookieSecret, len(c.CookieSecret)))
	}
	if c.SidTTL < 0 {
		return configError("SidTTL", "must not be negative")
	}
	if c.SidTableSize < 0 {
		return configError("SidTableSize", "must not be negative")
	}
	if c.FailTimeout < 0 {
		return configError("FailTimeout", "must not be negative")
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.Policy == "" {
		c.Policy = PolicyRoundRobin
	}
	if c.HashKey == "" {
		c.HashKey = "ip"
	}
	if c.Fallback == "" {
		c.Fallback = PolicyRoundRobin
		if c.Policy == PolicySid {
			c.Fallback = PolicyIPHash
			if c.HashKey != "ip" {
				c.Fallback = PolicyHash
			}
		}
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
	}
	if c.SidTTL == 0 {
		c.SidTTL = DefaultSidTTL
	}
	if c.SidTableSize == 0 {
		c.SidTableSize = DefaultSidTableSize
	}
	if c.MaxFails == 0 {
		c.MaxFails = DefaultMaxFails
	}
	if c.FailTimeout == 0 {
		c.FailTimeout = DefaultFailTimeout
	}
	return c
}

// keySource says where policy hash finds its key.
type keySource uint8

const (
	keyIP keySource = iota
	keyHeader
	keyCookie
	keyQuery
)

// parseHashKey splits "header:NAME" and friends.
func parseHashKey(s string) (keySource, string, error) {
	if s == "ip" {
		return keyIP, "", nil
	}
	kind, name, found := strings.Cut(s, ":")
	if !found || name == "" {
		return 0, "", configError("HashKey", fmt.Sprintf("%q: want header:NAME, cookie:NAME, query:NAME or ip", s))
	}
	switch kind {
	case "header":
		if !isToken(name) {
			return 0, "", configError("HashKey", fmt.Sprintf("%q is not a valid header name", name))
		}
		return keyHeader, name, nil
	case "cookie":
		if !isToken(name) {
			return 0, "", configError("HashKey", fmt.Sprintf("%q is not a valid cookie name", name))
		}
		return keyCookie, name, nil
	case "query":
		return keyQuery, name, nil
	}
	return 0, "", configError("HashKey", fmt.Sprintf("unknown key source %q: want header, cookie, query or ip", kind))
}

// isToken reports whether s is an RFC 9110 token, the syntax of header and
// cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
