package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// WebSocket configures the tunnels of one route. The zero value checks
// frames, sets no size limit, sends no pings and uses timeouts.idle.
type WebSocket struct {
	// MaxMessage caps a message (all its fragments) in bytes, in either
	// direction; the sender gets Close 1009 and the other side Close 1001.
	// Default (0): unlimited.
	MaxMessage int64 `yaml:"max_message"`

	// MaxFrame caps one frame's payload in bytes, likewise. Default (0):
	// unlimited.
	MaxFrame int64 `yaml:"max_frame"`

	// CheckFrames closes a tunnel whose peer breaks RFC 6455 in a way a
	// proxy can see without unmasking payload (unmasked client frames,
	// masked server frames, control frames over 125 bytes or fragmented,
	// reserved opcodes, RSV bits without a negotiated extension) with Close
	// 1002. Default (nil): true.
	CheckFrames *bool `yaml:"check_frames"`

	// Idle overrides timeouts.idle for this route's tunnels. Only data
	// frames count as activity: pings and pongs do not keep a tunnel open.
	Idle Duration `yaml:"idle"`

	// Ping makes the proxy probe idle peers (see Ping). Nil: no pings.
	Ping *Ping `yaml:"ping"`

	// Splice lets large data frame payloads (64 KiB and more) pass from
	// socket to socket by splice(2) through a pipe, without being copied
	// through the proxy, between plain TCP sockets on Linux; headers are
	// still read and checked. Default (nil): true.
	Splice *bool `yaml:"splice"`

	// Origins, when not empty, is the allowlist of Origin header values
	// for handshakes ("https://app.example.com", or "*.example.com" for
	// any scheme and subdomain); others are answered 403.
	Origins []string `yaml:"origins"`
}

// Ping is dead-peer detection: when no frame has come from a peer for
// Interval, the proxy sends it a Ping between whole frames and swallows the
// matching Pong; a peer silent for Timeout more closes the tunnel.
type Ping struct {
	// Interval of silence before a Ping. Default: 30s.
	Interval Duration `yaml:"interval"`

	// Timeout for the answer. Default: 10s.
	Timeout Duration `yaml:"timeout"`

	// Peers to ping: "client", "upstream" or "both". Default: "client".
	Peers string `yaml:"peers"`
}

// Ping defaults.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPingTimeout  = 10 * time.Second
)

func (v *validator) websocket(f string, w *WebSocket) {
	if w == nil {
		return
	}
	if w.MaxMessage < 0 {
		v.p.addf(f+".max_message", "must not be negative")
	}
	if w.MaxFrame < 0 {
		v.p.addf(f+".max_frame", "must not be negative")
	}
	if w.Idle < 0 {
		v.p.addf(f+".idle", "must not be negative")
	}
	if p := w.Ping; p != nil {
		if p.Interval == 0 {
			p.Interval = Duration(DefaultPingInterval)
		}
		if p.Timeout == 0 {
			p.Timeout = Duration(DefaultPingTimeout)
		}
		if p.Interval < 0 || p.Timeout < 0 {
			v.p.addf(f+".ping", "interval and timeout must be positive")
		}
		switch p.Peers {
		case "":
			p.Peers = "client"
		case "client", "upstream", "both":
		default:
			v.p.addf(f+".ping.peers", "want client, upstream or both, got %q", p.Peers)
		}
	}
	for i, o := range w.Origins {
		if o == "" || strings.ContainsAny(o, " \t/") && !strings.Contains(o, "://") {
			v.p.addf(f+".origins", "entry %d: %q is not an origin (want scheme://host[:port] or *.domain)", i, o)
		}
	}
}

func (v *validator) connLimits() {
	v.trustedProxies()
	l := v.c.Limits
	for _, x := range []struct {
		field string
		n     int
	}{{"limits.max_conns", l.MaxConns}, {"limits.max_conns_per_ip", l.MaxConnsPerIP}, {"limits.handshake_rate_per_ip", l.HandshakeRatePerIP}} {
		if x.n < 0 {
			v.p.addf(x.field, "must not be negative (0 means unlimited), got %d", x.n)
		}
	}
}

// trustedProxies checks trusted_proxies entries: an IP or a CIDR.
func (v *validator) trustedProxies() {
	for i, s := range v.c.TrustedProxies {
		if _, err := ParsePrefix(s); err != nil {
			v.p.addf(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not an IP address or CIDR", s)
		}
	}
}

// ParsePrefix parses "10.0.0.0/8" or a bare address (a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
