package bench

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Scenarios, as named in Config.Scenarios and in the results.
const (
	Idle  = "idle"  // N idle WebSockets: proxy RSS per connection
	Flood = "flood" // one client pushes into a backend that never reads: RSS must stay flat
	Ramp  = "ramp"  // N handshakes as fast as possible: handshakes per second
	Echo  = "echo"  // round trips at a fixed total rate: latency, proxy CPU per message
	Bulk  = "bulk"  // 64 KiB messages: MB/s through the proxy and directly
	// Resume (TLS only) is a reconnect storm: clients that connect once
	// with a full handshake, then reconnect resuming their TLS sessions.
	Resume = "resume"
	// Reload holds numbered-message tunnels through Config.Reloads
	// configuration reloads and, for wsproxy, a binary upgrade: what
	// closed, what was lost (not in "all": it takes a minute per proxy).
	Reload = "reload"
)

// AllScenarios lists every scenario in the order Run runs them.
var AllScenarios = []string{Idle, Flood, Ramp, Echo, Bulk, Resume, Reload}

// ScenariosFor lists the scenarios that run with TLS on or off, in the
// order of AllScenarios: flood speaks plain TCP, resume needs TLS.
func ScenariosFor(tls bool) []string {
	var out []string
	for _, s := range AllScenarios {
		if s == Flood && tls || s == Resume && !tls || s == Reload {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Certificate key types of Config.TLSKey.
const (
	KeyECDSA = "ecdsa" // ECDSA P-256, the default
	KeyRSA   = "rsa"   // RSA-2048
)

// Config says what to run. The zero value of each field means its default.
type Config struct {
	// Binary is the wsproxy executable that runs the proxy and the echo
	// backends ("wsproxy run", "wsproxy echo"). Required.
	Binary string

	// Scenarios to run, in the order of AllScenarios. Default: [idle].
	Scenarios []string

	// Peers are further proxies to run each scenario through, interleaved
	// with wsproxy: "nginx", "haproxy". Default: none.
	Peers []string

	// Rounds is how many times each scenario runs through every proxy,
	// interleaved (wsproxy, nginx, haproxy, wsproxy, ...). Default: 1.
	Rounds int

	// Conns is the number of connections of idle and ramp. Default: 5000.
	Conns int

	// Sources are the client source addresses. Default: 127.0.0.1-127.0.0.4,
	// or up to 127.0.0.ceil(Conns / PerSource) if that is more.
	Sources []netip.Addr

	// Backends is the number of echo backend processes, each on its own
	// port. Default: 3, as in the seed, or ceil(Conns / PerProcess) if
	// that is more.
	Backends int

	// Workers is wsproxy's worker processes ("wsproxy run -workers N"; RSS
	// and CPU are summed over the master and its workers). Default:
	// ceil(Conns / PerProcess); 1 runs one process without a master.
	Workers int

	// Loops is the wsproxy proxy's event loop count. Default (0): its own
	// default, one per CPU.
	Loops int

	// Affinity binds each proxy's workers to CPUs: nginx
	// worker_cpu_affinity auto, HAProxy cpu-map (thread i on CPU i),
	// wsproxy cpu_affinity: auto. Off (false): each proxy's default, no
	// binding (wsproxy's default is its own: see config's cpu_affinity).
	Affinity bool

	// Warmup is the number of connections opened and closed before the
	// proxy's baseline is taken, so that buffers and pools a proxy sets up
	// once (not per connection) are in the baseline. Default: 50; -1: none.
	Warmup int

	// Hold is how long idle keeps its connections open once all are up;
	// RSS is sampled during it. Default: 2s.
	Hold time.Duration

	// Rate paces idle: new connections per second, over all load generator
	// processes, while they come up. 0: as fast as possible, as ramp
	// always is. A paced ramp measures holding, not how a proxy copes with
	// a storm of handshakes on a machine it shares with the load generator.
	Rate int

	// Duration is how long flood, echo and bulk run. Default: 10s.
	Duration time.Duration

	// EchoConns and EchoRate are echo's connections and its total rate
	// in round trips per second. Defaults: 1000 and 5000.
	EchoConns int
	EchoRate  float64

	// MsgSize is echo's message size in bytes. Default: 128.
	MsgSize int

	// BulkConns and BulkSize are bulk's connections and message size in
	// bytes. Defaults: 4 and 65536.
	BulkConns int
	BulkSize  int

	// ResumeClients is resume's clients, each with its own TLS session
	// cache; each connects once with a full handshake, then reconnects
	// Reconnects times resuming its session. Defaults: 1000 and 5.
	ResumeClients int
	Reconnects    int

	// Reloads is how many configuration reloads the reload scenario
	// signals, ReloadEvery apart (before the first, between, and after the
	// last, then wsproxy's binary upgrade), each tunnel sending a numbered
	// message every ReloadInterval; ReloadDrain is how long old workers
	// keep relaying (wsproxy drain_timeout, nginx worker_shutdown_timeout,
	// HAProxy hard-stop-after). Defaults: 10, 4s, 1s and 3s. Its tunnels
	// are min(Conns, ReloadMaxConns); its trials' Timeout default grows
	// with the reloads.
	Reloads        int
	ReloadEvery    time.Duration
	ReloadInterval time.Duration
	ReloadDrain    time.Duration

	// Timeout bounds each trial (one scenario through one proxy). Default:
	// 3m plus Hold.
	Timeout time.Duration

	// TLS makes every proxy terminate TLS, as the seed's section 2 does,
	// with a self-signed certificate made for each trial, and the clients
	// connect with wss:// (loadtest's TLS bridge: three descriptors per
	// connection, so fewer connections per load generator process). The
	// backends stay plain ws. Bulk's direct baseline stays plain too; flood
	// does not support it; resume needs it.
	TLS bool

	// TLSKey is the certificate's key type with TLS: KeyECDSA (P-256) or
	// KeyRSA (2048 bits). Default: KeyECDSA.
	TLSKey string

	// Curves, with TLS, is CurvesSame (every proxy offers X25519 and
	// P-256, so all do the same key exchange with the Go clients) or
	// CurvesOwn (each proxy's default: wsproxy's includes X25519MLKEM768,
	// nginx's and HAProxy's OpenSSL 3.0 has no ML-KEM). Default: CurvesSame.
	Curves string

	// Progress receives progress lines while running. Nil: none.
	Progress io.Writer

	// files is the open file limit of this process and its children,
	// filled in by Validate.
	files int

	// size is how the run is spread over processes, ports and source
	// addresses, and plan what that costs the machine in descriptors,
	// ephemeral ports and kernel memory; both filled in by Validate.
	size Sizing
	plan Budget
}

// Small is the preset for CI: idle with 2,000 connections, well under a
// minute.
func Small() Config {
	return Config{Scenarios: []string{Idle}, Conns: 2000, Hold: time.Second}
}

// DefaultSources are 127.0.0.1 to 127.0.0.4.
func DefaultSources() []netip.Addr {
	var s []netip.Addr
	for i := byte(1); i <= 4; i++ {
		s = append(s, netip.AddrFrom4([4]byte{127, 0, 0, i}))
	}
	return s
}

// Validate fills in defaults and checks the configuration against the
// machine's limits, raising this process's soft open file limit to the hard
// one so that the subprocesses inherit it.
func (c *Config) Validate() error {
	def(&c.Rounds, 1)
	def(&c.Conns, 5000)
	def(&c.Warmup, 50)
	def(&c.EchoConns, 1000)
	def(&c.MsgSize, 128)
	def(&c.BulkConns, 4)
	def(&c.BulkSize, 64<<10)
	def(&c.ResumeClients, 1000)
	def(&c.Reconnects, 5)
	def(&c.Hold, 2*time.Second)
	def(&c.Duration, 10*time.Second)
	def(&c.Reloads, 10)
	def(&c.ReloadEvery, 4*time.Second)
	def(&c.ReloadInterval, time.Second)
	def(&c.ReloadDrain, 3*time.Second)
	if c.ReloadDrain < time.Second {
		return fmt.Errorf("bench: ReloadDrain %v: want at least 1s (nginx and HAProxy take whole seconds)", c.ReloadDrain)
	}
	if c.Rate < 0 {
		return fmt.Errorf("bench: Rate: %d new connections per second, want 0 (as fast as possible) or more", c.Rate)
	}
	var paced time.Duration // how long a paced idle ramp takes
	if c.Rate > 0 {
		paced = time.Duration(c.Conns) * time.Second / time.Duration(c.Rate)
	}
	if slices.Contains(c.Scenarios, Reload) { // the reloads, the upgrade and the drain after
		paced = max(paced, time.Duration(c.Reloads+2)*c.ReloadEvery+c.ReloadDrain)
	}
	def(&c.Timeout, 3*time.Minute+c.Hold+paced)
	def(&c.EchoRate, 5000)
	if len(c.Scenarios) == 0 {
		c.Scenarios = []string{Idle}
	}
	if c.Binary == "" {
		return fmt.Errorf("bench: Binary: the wsproxy executable is required")
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			return fmt.Errorf("bench: unknown scenario %q (want %s)", s, strings.Join(AllScenarios, ", "))
		}
	}
	c.Scenarios = sortedLike(c.Scenarios, AllScenarios)
	if c.TLS && slices.Contains(c.Scenarios, Reload) {
		return fmt.Errorf("bench: the reload scenario's clients speak plain ws:// (wsproxy hands over plain tunnels only)")
	}
	if c.TLS && slices.Contains(c.Scenarios, Flood) {
		return fmt.Errorf("bench: the flood scenario speaks plain TCP to the proxy and does not run with TLS")
	}
	if !c.TLS && slices.Contains(c.Scenarios, Resume) {
		return fmt.Errorf("bench: the resume scenario resumes TLS sessions and needs TLS (-tls)")
	}
	switch {
	case c.TLSKey != "" && !c.TLS:
		return fmt.Errorf("bench: TLSKey %q without TLS", c.TLSKey)
	case c.TLS && c.TLSKey == "":
		c.TLSKey = KeyECDSA
	case c.TLS && c.TLSKey != KeyECDSA && c.TLSKey != KeyRSA:
		return fmt.Errorf("bench: TLSKey %q: want %s (P-256) or %s (2048 bits)", c.TLSKey, KeyECDSA, KeyRSA)
	}
	switch {
	case c.Curves != "" && !c.TLS:
		return fmt.Errorf("bench: Curves %q without TLS", c.Curves)
	case c.TLS && c.Curves == "":
		c.Curves = CurvesSame
	case c.TLS && c.Curves != CurvesSame && c.Curves != CurvesOwn:
		return fmt.Errorf("bench: Curves %q: want %s or %s", c.Curves, CurvesSame, CurvesOwn)
	}
	if c.ResumeClients < 0 || c.Reconnects < 0 {
		return fmt.Errorf("bench: ResumeClients %d, Reconnects %d: want 0 (the defaults) or more", c.ResumeClients, c.Reconnects)
	}
	for _, p := range c.Peers {
		if _, err := lookPeer(p); err != nil {
			return err
		}
	}
	files, err := raiseFileLimit()
	if err != nil {
		return err
	}
	c.files = files
	if err := c.checkLimits(); err != nil {
		return err
	}
	host, err := readHost()
	if err != nil {
		return err
	}
	c.plan, err = budget(c.size, c.files, host)
	return err
}

// checkLimits sizes the run (plan) and explains, before anything starts,
// a run the machine's limits cannot carry. It fills in the defaults of
// Backends, Workers and Sources.
func (c *Config) checkLimits() error {
	n := c.Conns
	if slices.Contains(c.Scenarios, Echo) {
		n = max(n, c.EchoConns)
	}
	size, err := plan(n, c.files, c.Workers, c.Backends, len(c.Sources))
	if err != nil {
		return err
	}
	c.size = size
	c.Backends, c.Workers = size.Backends, size.Workers
	if len(c.Sources) == 0 {
		c.Sources = sourceAddrs(size.Sources)
	}
	return nil
}

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit and
// returns it.
func raiseFileLimit() (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("bench: getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("bench: raise the open file limit to %d: %w", lim.Max, err)
		}
	}
	return int(min(lim.Cur, 1<<20)), nil
}

func def[T int | float64 | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

// sortedLike returns the distinct elements of s in the order of order.
func sortedLike(s, order []string) []string {
	var out []string
	for _, o := range order {
		if slices.Contains(s, o) {
			out = append(out, o)
		}
	}
	return out
}
