package loadtest

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Workload names accepted in Config.Workload.
const (
	// Hold keeps the connections open and idle.
	Hold = "hold"
	// Echo makes Config.MsgRate verified round trips per second on every
	// connection, one message in flight at a time.
	Echo = "echo"
	// Bulk sends Config.Size-byte messages back to back on every
	// connection, a few in flight, to measure throughput.
	Bulk = "bulk"
	// Reconnect (wss:// only) is a reconnect storm of Conns clients, each
	// with its own TLS session cache: every client connects once (a full
	// handshake and one verified echo) and closes; after OnReady each
	// reconnects Config.Reconnects times in turn, offering the session of
	// its previous connection (reconnect.go). It runs in this process
	// whatever MaxPerProcess says: it holds few connections at a time.
	Reconnect = "reconnect"
)

// Defaults applied by Run to zero fields of Config.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMaxPerProcess = 9000
	DefaultMsgRate       = 1.0
	DefaultSize          = 32
	DefaultBulkSize      = 64 << 10
)

// maxSize bounds Config.Size: one message must fit comfortably in the
// server's buffers, and a typo like -size 1G should be an error.
const maxSize = 16 << 20

// Config describes one load run. The zero value of every field except URL
// and Conns means its default.
type Config struct {
	// URL is the endpoint, ws://host[:port]/path[?query] or wss://. The
	// host is a literal IP or a name resolved once before dialling. wss://
	// runs TLS in a bridge goroutine per connection (tls.go).
	URL string
	// Insecure skips verifying the server's certificate (wss://), for
	// test certificates. CAFile, if set, is a PEM file of the CAs to trust
	// instead of the system's.
	Insecure bool
	CAFile   string
	// Conns is how many connections to open, at least 1.
	Conns int
	// Rate is how many new connections to start per second over the whole
	// run. 0 dials as fast as possible, with at most maxPending handshakes
	// in flight per process so the server's accept queue is not flooded.
	Rate int
	// Sources are the local addresses to dial from, one after another per
	// dial. Each (source, target) pair has about 28,000 ephemeral ports, so
	// 30,000 connections to one target need at least two. Nil lets the
	// kernel choose.
	Sources []netip.Addr
	// Workload is Hold, Echo, Bulk or Reconnect; "" means Hold.
	Workload string
	// Reconnects is how many times each client of the Reconnect workload
	// reconnects after its first connection; 0 means 5
	// (DefaultReconnects).
	Reconnects int
	// MsgRate is echo round trips per second per connection; 0 means 1.
	// Only Echo uses it.
	MsgRate float64
	// Size is the payload of every message in bytes; 0 means 32, or 64 KiB
	// for Bulk. Payloads are random and checked byte for byte.
	Size int
	// Duration is how long the workload runs once all connections are up
	// or failed; 0 ends the run right after OnReady.
	Duration time.Duration
	// Timeout bounds each connection's dial, handshake and first echo, and
	// later each echo round trip; 0 means 10s.
	Timeout time.Duration
	// Loops is the number of event loops per process; 0 means 1.
	Loops int
	// MaxPerProcess is the most connections one process holds; beyond it
	// Run spreads the connections evenly over child processes. 0 means
	// 9,000, comfortably under the 20,000 open-file limit.
	MaxPerProcess int
	// Header holds extra handshake headers, such as Cookie or Origin. Host
	// replaces the URL's host; the WebSocket fields Run sets itself
	// (Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version) are
	// ignored. Nil adds nothing.
	Header http.Header
	// OnReady, if not nil, is called once, from Run's goroutine, when every
	// connection is up or failed and before the Duration phase starts; up
	// is the number up. The phase starts when it returns. With child
	// processes it is called in the parent once all children are ready.
	OnReady func(up int)
	// OnRunEnd, if not nil, is called once, from a goroutine of Run's, when
	// the Duration phase ends (Messages and Bytes count what arrived until
	// then) and before the connections are closed, so that a caller
	// measuring the server can leave the close-down out. Run returns after
	// it does. It is called early if every connection ends before the
	// phase does or ctx is canceled during it, and not at all when the
	// phase does not run (Duration 0, canceled before it). For Reconnect it
	// is called when the reconnections are done.
	OnRunEnd func()
	// Progress, if not nil, is called about once per second from a
	// goroutine of Run's with running totals. It must not block for long.
	Progress func(Snapshot)
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Workload == "" {
		c.Workload = Hold
	}
	if c.MsgRate == 0 {
		c.MsgRate = DefaultMsgRate
	}
	if c.Size == 0 {
		c.Size = DefaultSize
		if c.Workload == Bulk {
			c.Size = DefaultBulkSize
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Loops == 0 {
		c.Loops = 1
	}
	if c.Reconnects == 0 {
		c.Reconnects = DefaultReconnects
	}
	if c.MaxPerProcess == 0 {
		c.MaxPerProcess = DefaultMaxPerProcess
		if strings.HasPrefix(c.URL, "wss:") {
			c.MaxPerProcess = DefaultMaxPerProcessTLS // three descriptors per connection
		}
	}
	return c
}

// Validate checks c after defaults are applied, as Run does, and returns
// an error naming the first bad field.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	u, err := parseURL(c.URL)
	if err != nil {
		return fmt.Errorf("%w: URL: %w", ErrConfig, err)
	}
	switch {
	case c.Conns < 1:
		return bad("Conns", "%d, want at least 1", c.Conns)
	case c.Rate < 0:
		return bad("Rate", "%d, want 0 (as fast as possible) or more", c.Rate)
	case c.Workload != Hold && c.Workload != Echo && c.Workload != Bulk && c.Workload != Reconnect:
		return bad("Workload", "%q, want hold, echo, bulk or reconnect", c.Workload)
	case c.Workload == Reconnect && u.Scheme != "wss":
		return bad("Workload", "reconnect resumes TLS sessions and needs a wss:// URL, not %s://", u.Scheme)
	case c.Reconnects < 0 || c.Reconnects > 1e6:
		return bad("Reconnects", "%d, want 0 (the default, 5) to 1e6", c.Reconnects)
	case c.MsgRate < 0 || c.MsgRate > 1e6:
		return bad("MsgRate", "%g, want 0 to 1e6 per second", c.MsgRate)
	case c.Size < 1 || c.Size > maxSize:
		return bad("Size", "%d, want 1 to %d bytes", c.Size, maxSize)
	case c.Duration < 0:
		return bad("Duration", "%v is negative", c.Duration)
	case c.Timeout < 0:
		return bad("Timeout", "%v is negative", c.Timeout)
	case c.Loops < 1 || c.Loops > 64:
		return bad("Loops", "%d, want 1 to 64", c.Loops)
	case c.MaxPerProcess < 1 || c.MaxPerProcess > maxPerProcessLimit:
		return bad("MaxPerProcess", "%d, want 1 to %d", c.MaxPerProcess, maxPerProcessLimit)
	}
	for i, a := range c.Sources {
		if !a.IsValid() {
			return bad("Sources", "entry %d is not an address", i)
		}
	}
	return nil
}

// maxPerProcessLimit leaves room under a 20,000 file limit for the
// runtime, the poller and a test's own server.
const maxPerProcessLimit = 19000

// ParseSources parses a list of local addresses: comma-separated entries,
// each an IP or an inclusive range of IPv4 addresses such as
// "127.0.0.2-127.0.0.9". An empty spec returns nil (kernel's choice).
func ParseSources(spec string) ([]netip.Addr, error) {
	var out []netip.Addr
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := netip.ParseAddr(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("loadtest: source %q: %w", part, err)
		}
		if !isRange {
			out = append(out, first)
			continue
		}
		last, err := netip.ParseAddr(strings.TrimSpace(hi))
		if err != nil {
			return nil, fmt.Errorf("loadtest: source %q: %w", part, err)
		}
		if !first.Is4() || !last.Is4() || last.Less(first) {
			return nil, fmt.Errorf("loadtest: source %q: want an ascending IPv4 range", part)
		}
		for a := first; ; a = a.Next() {
			if len(out) >= maxSources {
				return nil, fmt.Errorf("loadtest: sources: more than %d addresses", maxSources)
			}
			out = append(out, a)
			if a == last {
				break
			}
		}
	}
	return out, nil
}

// maxSources bounds ParseSources so that a typo such as 127.0.0.1-127.9.0.1
// fails instead of building a list of half a million addresses.
const maxSources = 4096
