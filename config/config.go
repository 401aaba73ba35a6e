// Package config loads the wsproxy YAML configuration, fills in defaults and
// validates it.
//
// Every problem is reported, not just the first, one per line, in the form
//
//	FILE:LINE: field.path: what is wrong
//
// for example
//
//	wsproxy.yaml:7: routes[1].upstream: unknown upstream "webpsh" (did you mean webpush?)
//
// The file is decoded through yaml.Node so that every field keeps the line it
// was written on; unknown keys are errors, not silently ignored, except
// top-level keys starting with "x-", which hold YAML anchors for reuse:
//
//	x-ws: &ws {upstream: webpush, strip_prefix: true}
//	routes:
//	  - {<<: *ws, path: /chat}
//
// The zero value of every struct means "use the defaults": Validate (and so
// Parse and Load) replaces zero fields by the documented defaults, so the
// code that consumes a validated Config never has to.
//
// The package is public, not internal, because core.New takes a *Config:
// a program that embeds the proxy (the tests, e2e, interop and bench do)
// builds one with Parse or by hand. Its types mirror the YAML file, which is
// already the documented contract, so making them public promises nothing the
// file format does not. Making core internal instead would leave no way to
// embed the proxy outside this module.
package config

import (
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// Defaults applied by Validate to zero fields.
const (
	DefaultConnectTimeout    = 5 * time.Second
	MaxConnectTimeout        = time.Hour // timeouts.connect at most
	DefaultHeaderReadTimeout = 10 * time.Second
	DefaultIdleTimeout       = time.Hour
	DefaultReadTimeout       = 60 * time.Second
	DefaultKeepAliveTimeout  = 75 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultDrainTimeout      = 30 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10 // 16 KiB
	DefaultMaxHeaders        = 100
	DefaultMaxPendingBytes   = 64 << 10 // 64 KiB
	DefaultBalance           = BalanceRoundRobin
)

// Balancing policies accepted in Upstream.Balance.
const (
	BalanceRoundRobin = "round_robin" // weighted round robin over non-backup servers
	BalanceLeastConn  = "least_conn"  // fewest active connections, weighted
	BalanceIPHash     = "ip_hash"     // sticky by client IP address
	BalanceHash       = "hash"        // sticky by Upstream.HashKey
	BalanceCookie     = "cookie"      // sticky by a cookie
	BalanceSID        = "sid"         // sticky by a session id (e.g. Engine.IO "sid")
)

// Config is the whole proxy configuration. After a successful Validate every
// route names an entry of Upstreams and every zero field holds its default.
type Config struct {
	// Listen lists the addresses to accept clients on. At least one is required.
	Listen []Listener `yaml:"listen"`

	// Upstreams maps a name to a group of backend servers. Routes that name
	// an address instead of an upstream get an implicit one-server entry
	// keyed by that address (see Route.Upstream).
	Upstreams map[string]*Upstream `yaml:"upstreams"`

	// Routes maps a request's host and path to an upstream.
	Routes []Route `yaml:"routes"`

	// Loops is the number of event loops per process. Default (0):
	// runtime.NumCPU(), filled in by Validate, with LoopsAuto set; a worker
	// of several then takes its share of the CPUs instead (AutoLoops).
	Loops int `yaml:"loops"`

	// LoopsAuto reports that Loops was not configured and holds the
	// default.
	LoopsAuto bool `yaml:"-"`

	// Procs is how many Ps (GOMAXPROCS) each process runs its loops on:
	// "adaptive" (default) or "all" (see procs.go).
	Procs string `yaml:"procs"`

	// CPUAffinity binds each process to CPUs: "off" (default) or "auto"
	// (see procs.go).
	CPUAffinity string `yaml:"cpu_affinity"`

	// Workers is the number of worker processes. Default (0): 1.
	Workers int `yaml:"workers"`

	// DrainTimeout is how long a stopping process (a worker told to stop,
	// or an old generation after a reload) keeps relaying open connections
	// before it closes the rest. Default: 30s.
	DrainTimeout Duration `yaml:"drain_timeout"`

	// TrustedProxies lists addresses and CIDRs ("10.0.0.0/8") of proxies in
	// front of wsproxy. When a connection comes from one of them, the client
	// address (X-Real-IP, ip_hash, per-address limits of later requests) is
	// the rightmost X-Forwarded-For entry that is not itself trusted.
	// Default: none; the socket's peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`

	// UnderscoresInHeaders, when true, forwards request header fields whose
	// names contain "_". Default (false): they are dropped, as nginx's
	// underscores_in_headers off does, because a backend that maps "_" and
	// "-" to the same name (CGI, WSGI, PHP) would otherwise take
	// "X_Real_IP" for the X-Real-IP the proxy sets.
	UnderscoresInHeaders bool `yaml:"underscores_in_headers"`

	// Timeouts bounds how long each phase of a connection may take.
	Timeouts Timeouts `yaml:"timeouts"`

	// Limits bounds per-connection memory.
	Limits Limits `yaml:"limits"`

	// Admin, when set, serves metrics, health and optionally pprof over
	// HTTP (see Admin). Nil: no admin listener.
	Admin *Admin `yaml:"admin"`

	// Log configures log lines: format, level, sampling (see Log).
	Log Log `yaml:"log"`

	// Memory tunes what each process keeps resident (see Memory).
	Memory Memory `yaml:"memory"`

	// File is the path the configuration was loaded from; it prefixes every
	// error. Empty for configurations built in code (Quick).
	File string `yaml:"-"`

	// lines maps a field path ("routes[1].upstream") to the line it was
	// written on; nil for configurations built in code.
	lines map[string]int
}

// At locates field for an error found after Parse, by whoever reads what
// the field names (a certificate file, say): "FILE:LINE: field", or less
// where the file or the line is unknown. A field never written takes the
// line of its nearest written parent.
func (c *Config) At(field string) string {
	p := problems{lines: c.lines}
	e := fieldError{file: c.File, line: p.lineOf(field), field: field}
	return strings.TrimSuffix(e.Error(), ": ")
}

// Path resolves a file path the configuration names (a certificate, a
// key, a CA or ticket key file): a relative one is relative to the
// directory of File, as nginx's paths are to its prefix. An absolute
// path, an empty one, or any path of a configuration without File is
// returned as it is.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.File == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.File), p)
}

// Route sends requests whose host and path match to an upstream. Among the
// routes whose host matches, the longest Path prefix wins; a route with a
// host beats one without.
type Route struct {
	// Host is an exact host ("ws.example.com") or a wildcard for one or
	// more leading labels ("*.example.com"), without a port. Matching is
	// case-insensitive; Validate lower-cases it. Default (""): any host.
	Host string `yaml:"host"`

	// Path is a prefix of the request path and must start with "/".
	// Default (""): "/".
	Path string `yaml:"path"`

	// Rewrite, when set, replaces the request path before it is sent
	// upstream. Not allowed together with StripPrefix.
	Rewrite *Rewrite `yaml:"rewrite"`

	// StripPrefix removes Path from the front of the request path before
	// it is sent upstream. Default: false.
	StripPrefix bool `yaml:"strip_prefix"`

	// Upstream is the name of an entry of Config.Upstreams, or "host:port"
	// for a single server; Validate turns the latter into an upstream named
	// by the address, so after Validate it is always a key of Upstreams.
	Upstream string `yaml:"upstream"`

	// WebSocket sets limits, checks and keepalive pings for the tunnels of
	// this route (see WebSocket). Nil: the defaults.
	WebSocket *WebSocket `yaml:"websocket"`

	// Line is the line the route starts on, 0 if built in code.
	Line int `yaml:"-"`
}

// Rewrite replaces the request path: if Regex matches, the path becomes To
// with $1, ${name} expanded as in regexp.Regexp.Expand. A path that does not
// match is sent unchanged.
type Rewrite struct {
	// Regex is an RE2 regular expression matched against the path.
	Regex string `yaml:"regex"`

	// To is the replacement, e.g. "/$1".
	To string `yaml:"to"`

	// Re is Regex compiled by Validate.
	Re *regexp.Regexp `yaml:"-"`
}

// Timeouts bound the phases of a proxied connection.
type Timeouts struct {
	// Connect bounds dialling an upstream server. Default: 5s; at most 1h.
	Connect Duration `yaml:"connect"`

	// HeaderRead bounds reading a request or response head. Default: 10s.
	HeaderRead Duration `yaml:"header_read"`

	// Idle closes a connection with no traffic in either direction for
	// this long. Default: 1h.
	Idle Duration `yaml:"idle"`

	// Read bounds the wait for each read from an upstream while an HTTP
	// response is due (nginx's proxy_read_timeout). Long-polling requests
	// must answer within it. Default: 60s.
	Read Duration `yaml:"read"`

	// KeepAlive closes a client connection that sends no new request for
	// this long after a response (nginx's keepalive_timeout). Default: 75s.
	KeepAlive Duration `yaml:"keepalive"`

	// Handshake bounds the wait for the upstream's answer to a WebSocket
	// handshake (its 101 or an error), from the moment the request is
	// forwarded. Default: 10s.
	Handshake Duration `yaml:"handshake"`
}

// Limits bound per-connection memory.
type Limits struct {
	// MaxHeaderBytes caps the size of a request or response head, in
	// bytes. Default: 16384; range 1024..1048576.
	MaxHeaderBytes int `yaml:"max_header_bytes"`

	// MaxHeaders caps the field lines of a request or response head; one
	// more is answered 431 (502 from a backend). Default: 100; range
	// 1..10000.
	MaxHeaders int `yaml:"max_headers"`

	// MaxPendingBytes is how many bytes may wait to be written in one
	// direction before reading from the other side pauses. Default: 65536;
	// range 1024..67108864.
	MaxPendingBytes int `yaml:"max_pending_bytes"`

	// MaxConns caps the client connections of one process; past it a
	// request is answered 503. Default (0): unlimited (the file limit).
	MaxConns int `yaml:"max_conns"`

	// MaxConnsPerIP caps the client connections from one address; past it
	// a request is answered 429. Default (0): unlimited.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`

	// HandshakeRatePerIP caps WebSocket handshakes per second from one
	// address (a token bucket with a burst of the same size); past it a
	// handshake is answered 429. Default (0): unlimited.
	HandshakeRatePerIP int `yaml:"handshake_rate_per_ip"`
}

// Duration is a time.Duration written in YAML as "5s" or "1m30s". Bare
// numbers are rejected because their unit would be a guess.
type Duration time.Duration

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Quick returns the configuration of `wsproxy run -listen A -upstream B`:
// one listener on listen and one route "/" to the address upstream. Defaults
// are filled in; call Validate to check the two addresses.
func Quick(listen, upstream string) *Config {
	c := &Config{
		Listen: []Listener{{Addr: listen}},
		Routes: []Route{{Path: "/", Upstream: upstream}},
	}
	c.normalize()
	return c
}

// normalize fills in defaults, names upstreams and creates the implicit
// upstreams of routes that name an address. It is idempotent and never
// fails: whatever it cannot make sense of is left for Validate to report.
func (c *Config) normalize() {
	if c.Loops == 0 {
		c.Loops, c.LoopsAuto = runtime.NumCPU(), true
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.Procs == "" {
		c.Procs = ProcsAdaptive
	}
	if c.CPUAffinity == "" {
		c.CPUAffinity = AffinityOff
	}
	setDuration(&c.DrainTimeout, DefaultDrainTimeout)
	setDuration(&c.Timeouts.Connect, DefaultConnectTimeout)
	setDuration(&c.Timeouts.HeaderRead, DefaultHeaderReadTimeout)
	setDuration(&c.Timeouts.Idle, DefaultIdleTimeout)
	setDuration(&c.Timeouts.Read, DefaultReadTimeout)
	setDuration(&c.Timeouts.KeepAlive, DefaultKeepAliveTimeout)
	setDuration(&c.Timeouts.Handshake, DefaultHandshakeTimeout)
	setInt(&c.Limits.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setInt(&c.Limits.MaxHeaders, DefaultMaxHeaders)
	setInt(&c.Limits.MaxPendingBytes, DefaultMaxPendingBytes)
	for i := range c.Listen {
		if t := c.Listen[i].TLS; t != nil && t.MinVersion == "" {
			t.MinVersion = "1.2"
		}
	}
	for name, u := range c.Upstreams {
		if u == nil {
			continue // reported by Validate
		}
		u.Name = name
		if u.Balance == "" {
			u.Balance = DefaultBalance
		}
		for i := range u.Servers {
			setInt(&u.Servers[i].Weight, 1)
		}
		if u.ServersFrom != nil {
			u.ServersFrom.normalize()
		}
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		r.Host = strings.ToLower(r.Host)
		if r.Path == "" {
			r.Path = "/"
		}
		if _, ok := c.Upstreams[r.Upstream]; ok || checkAddr(r.Upstream, true) != nil {
			continue
		}
		if c.Upstreams == nil {
			c.Upstreams = make(map[string]*Upstream)
		}
		c.Upstreams[r.Upstream] = &Upstream{
			Name:     r.Upstream,
			Balance:  DefaultBalance,
			Servers:  []Server{{Addr: r.Upstream, Weight: 1}},
			implicit: true,
		}
	}
}

func setDuration(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func setInt(n *int, def int) {
	if *n == 0 {
		*n = def
	}
}

// AutoLoops is the default number of event loops of each of workers
// processes: the CPUs shared among them, rounded up, at least one each.
// nginx runs one thread per worker process; more loops than CPUs in all
// only add threads for the scheduler to switch between (each Go process
// also runs its own scheduler, timers and collector).
func AutoLoops(workers int) int {
	workers = max(workers, 1)
	return max(1, (runtime.NumCPU()+workers-1)/workers)
}
