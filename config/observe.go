package config

import (
	"net/netip"
	"slices"
	"strings"
)

// Observability defaults applied by Validate.
const (
	DefaultAdminAddr = "127.0.0.1:9100"
	DefaultLogFormat = LogText
	DefaultLogLevel  = "info"
	DefaultLogSample = 1.0
)

// Log formats accepted in Log.Format.
const (
	LogText = "text" // log/slog's TextHandler: key=value
	LogJSON = "json" // log/slog's JSONHandler: one object per line
)

// Admin is the operator's HTTP listener: Prometheus metrics at /metrics,
// /healthz, and optionally net/http/pprof. With workers it is served once,
// by the master, which sums the workers' counters.
type Admin struct {
	// Addr is "IP:port" to serve on. Default: "127.0.0.1:9100". An address
	// that is not loopback is allowed, but wsproxy logs a warning: the
	// metrics name routes and backends, and pprof can stall the process.
	Addr string `yaml:"addr"`

	// Pprof serves net/http/pprof under /debug/pprof/. Default: false.
	Pprof bool `yaml:"pprof"`
}

// Loopback reports whether Addr is a loopback IP address, which only local
// processes can reach.
func (a *Admin) Loopback() bool {
	ap, err := netip.ParseAddrPort(a.Addr)
	return err == nil && ap.Addr().IsLoopback()
}

// Log configures log lines (log/slog).
type Log struct {
	// Format is "text" (default) or "json".
	Format string `yaml:"format"`

	// Level is the least severe level written: "debug", "info" (default),
	// "warn" or "error". The -log-level flag, when given, wins.
	Level string `yaml:"level"`

	// Sample is the fraction, from 0 to 1, of WebSocket connections whose
	// per-connection lines (upgraded, closed) are written; errors are
	// always written. Nil: 1, every connection. Validate sets it.
	Sample *float64 `yaml:"sample"`
}

// logLevels are the spellings Log.Level accepts.
var logLevels = []string{"debug", "info", "warn", "error"}

// normalizeObservability fills in the defaults of Admin and Log.
func (c *Config) normalizeObservability() {
	if c.Admin != nil && c.Admin.Addr == "" {
		c.Admin.Addr = DefaultAdminAddr
	}
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	c.Log.Level = strings.ToLower(c.Log.Level)
	if c.Log.Sample == nil {
		s := DefaultLogSample
		c.Log.Sample = &s
	}
}

func (v *validator) observability() {
	c := v.c
	c.normalizeObservability()
	if a := c.Admin; a != nil {
		switch err := checkAddr(a.Addr, false); {
		case err != nil:
			v.p.addf("admin.addr", "%v", err)
		case !strings.HasSuffix(a.Addr, ":0"):
			for i, l := range c.Listen {
				if canonicalAddr(l.Addr) == canonicalAddr(a.Addr) {
					v.p.addf("admin.addr", "%q is also listen[%d].addr", a.Addr, i)
				}
			}
		}
	}
	switch c.Log.Format {
	case LogText, LogJSON:
	default:
		v.p.addf("log.format", "want text or json, got %q%s", c.Log.Format, suggest(c.Log.Format, []string{LogText, LogJSON}))
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		v.p.addf("log.level", "want debug, info, warn or error, got %q%s", c.Log.Level, suggest(c.Log.Level, logLevels))
	}
	if s := *c.Log.Sample; !(s >= 0 && s <= 1) {
		v.p.addf("log.sample", "must be between 0 and 1 (the fraction of connections logged), got %v", s)
	}
}
