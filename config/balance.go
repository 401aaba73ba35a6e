package config

import (
	"strings"
	"time"
)

// Cookie configures the cookie that balance: cookie inserts and honours.
type Cookie struct {
	// Name of the cookie. Default: "wsproxy_srv".
	Name string `yaml:"name"`

	// Secret signs the cookie's value (HMAC-SHA256); at least 16 bytes and
	// the same on every proxy instance, so that any instance honours a
	// cookie another one issued. Required.
	Secret string `yaml:"secret"`

	// Secure adds the Secure attribute; set it when clients use TLS.
	Secure bool `yaml:"secure"`
}

// HealthCheck probes each server of an upstream with an HTTP GET; a server
// that fails a probe is marked down until one succeeds.
type HealthCheck struct {
	// Path requested on every server, e.g. "/healthz". Required.
	Path string `yaml:"path"`

	// Interval between probes of one server. Default: 5s.
	Interval Duration `yaml:"interval"`

	// Timeout of one probe (connect and response). Default: 2s.
	Timeout Duration `yaml:"timeout"`
}

// Defaults of the balancing options.
const (
	DefaultHealthInterval = 5 * time.Second
	DefaultHealthTimeout  = 2 * time.Second
)

// balanceOptions checks and defaults the per-policy options of u.
func (v *validator) balanceOptions(f string, u *Upstream) {
	if u.Balance == BalanceCookie {
		switch {
		case u.Cookie == nil || u.Cookie.Secret == "":
			v.p.addAt(v.p.lineOf(f+".balance"), f+".cookie.secret",
				"required for balance: cookie (at least 16 bytes, the same on every instance)")
		case len(u.Cookie.Secret) < 16:
			v.p.addf(f+".cookie.secret", "must be at least 16 bytes, got %d", len(u.Cookie.Secret))
		}
	} else if u.Cookie != nil {
		v.p.addf(f+".cookie", "has no effect with balance: %s", u.Balance)
	}
	switch u.Fallback {
	case "", BalanceRoundRobin, BalanceLeastConn, BalanceIPHash, BalanceHash:
	default:
		v.p.addf(f+".fallback", "unknown policy %q (want round_robin, least_conn, ip_hash or hash)", u.Fallback)
	}
	if u.Fallback == BalanceHash && u.HashKey == "" {
		v.p.addf(f+".fallback", "hash needs hash_key")
	}
	if u.MaxFails < -1 {
		v.p.addf(f+".max_fails", "must be -1 (off), 0 (default 1) or more, got %d", u.MaxFails)
	}
	if u.FailTimeout < 0 {
		v.p.addf(f+".fail_timeout", "must not be negative")
	}
	if u.SidTTL < 0 {
		v.p.addf(f+".sid_ttl", "must not be negative")
	}
	if hc := u.HealthCheck; hc != nil {
		if !strings.HasPrefix(hc.Path, "/") {
			v.p.addf(f+".health_check.path", "must start with \"/\", got %q", hc.Path)
		}
		if hc.Interval == 0 {
			hc.Interval = Duration(DefaultHealthInterval)
		}
		if hc.Timeout == 0 {
			hc.Timeout = Duration(DefaultHealthTimeout)
		}
		if hc.Interval < 0 || hc.Timeout < 0 {
			v.p.addf(f+".health_check", "interval and timeout must be positive")
		}
	}
	v.onRemove(f, u)
}
