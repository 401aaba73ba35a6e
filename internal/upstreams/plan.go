// Package upstreams checks an upstream's configuration before the proxy
// uses it: its balancing for package balance, its servers' addresses
// resolved, the TLS client configuration of servers with tls: true. Every
// error is found before anything that runs is changed, so that a reload
// that fails changes nothing.
package upstreams

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"wsproxy/balance"
	"wsproxy/config"
	"wsproxy/internal/certs"
)

// Plan is an upstream's configuration, checked: what the core builds its
// pool and servers from. Slices are in the order of Servers.
type Plan struct {
	Upstream *config.Upstream
	Servers  []config.Server // the upstream's, or a list set at run time (DNS, the runtime API)
	Balance  balance.Config
	Pool     []balance.ServerConfig
	Addrs    []netip.AddrPort // resolved
	TLS      []*tls.Config    // nil for a plain server
}

// Check checks upstream name of cfg with servers. known returns the
// address a server of that name was resolved to before, so that a reload
// does not resolve host names again; nil: resolve all.
func Check(cfg *config.Config, name string, cu *config.Upstream, servers []config.Server, known func(addr string) (netip.AddrPort, bool)) (*Plan, error) {
	p := &Plan{Upstream: cu, Servers: servers, Balance: BalanceConfig(cu)}
	var errs []error
	for i, cs := range servers {
		p.Pool = append(p.Pool, balance.ServerConfig{Addr: cs.Addr, Weight: cs.Weight, MaxConns: cs.MaxConns, Backup: cs.Backup})
		ap, ok := netip.AddrPort{}, false
		if known != nil {
			ap, ok = known(cs.Addr)
		}
		if !ok {
			var err error
			if ap, err = Resolve(cs.Addr); err != nil {
				errs = append(errs, fmt.Errorf("upstream %s: server %s: %w", name, cs.Addr, err))
			}
		}
		p.Addrs = append(p.Addrs, ap)
		tc, err := ServerTLS(cfg, name, i, cs)
		if err != nil {
			errs = append(errs, err)
		}
		p.TLS = append(p.TLS, tc)
	}
	if err := balance.Validate(p.Pool, p.Balance); err != nil {
		errs = append(errs, fmt.Errorf("upstream %s: %w", name, err))
	}
	return p, errors.Join(errs...)
}

// BalanceConfig translates an upstream's config for package balance.
func BalanceConfig(cu *config.Upstream) balance.Config {
	bc := balance.Config{
		Policy:       cu.Balance,
		HashKey:      cu.HashKey,
		IPv4Prefix24: cu.IPHashPrefix24,
		Fallback:     cu.Fallback,
		SidTTL:       time.Duration(cu.SidTTL),
		MaxFails:     cu.MaxFails,
		FailTimeout:  time.Duration(cu.FailTimeout),
	}
	if ck := cu.Cookie; ck != nil {
		bc.CookieName, bc.CookieSecret, bc.CookieSecure = ck.Name, []byte(ck.Secret), ck.Secure
	}
	return bc
}

// ServerTLS makes the client configuration of server i of upstream name,
// when it has tls: true (else nil): verification on (against ca_file, or
// the system roots), SNI and the name verified from server_name or the
// host of the address, and a session cache so that new connections resume.
func ServerTLS(cfg *config.Config, name string, i int, cs config.Server) (*tls.Config, error) {
	if !cs.TLS {
		return nil, nil
	}
	tc := &tls.Config{
		ServerName:         cs.ServerName,
		InsecureSkipVerify: cs.InsecureSkipVerify,
		MinVersion:         tls.VersionTLS12,
		NextProtos:         []string{"http/1.1"},
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
	}
	if tc.ServerName == "" {
		tc.ServerName, _, _ = net.SplitHostPort(cs.Addr)
	}
	if cs.CAFile != "" {
		pool, err := certs.LoadCAFile(cfg.Path(cs.CAFile)) // relative to the config file
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.At(fmt.Sprintf("upstreams.%s.servers[%d].ca_file", name, i)), err)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// Resolve turns "host:port" into an address, IPv4-mapped addresses unmapped.
func Resolve(hostport string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap, nil
	}
	ta, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
