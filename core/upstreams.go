package core

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"wsproxy/balance"
	"wsproxy/config"
)

// upstream is a group of servers and the balance.Pool that picks one. An
// upstream that a reload keeps is the same object: routes of requests and
// tunnels in flight point to it, and see its members change.
type upstream struct {
	name string
	m    atomic.Pointer[members] // what picks use now

	// Touched only with Server.applyMu held (or by New):
	next  *members           // prepared, stored by commit
	known map[string]*server // servers it has, and removed ones with work left, by address
}

// members are an upstream's servers and pool at one time; never changed
// once stored.
type members struct {
	pool    *balance.Pool
	servers map[*balance.Server]*server
	list    []*server // in configuration order
	policy  string
	cfg     *config.Upstream // the configuration; the servers come from it or SetServers
	conf    []config.Server  // the servers as configured, in the order of list
	tls     map[*server]*tls.Config
	removed []*server // servers the change took out (for on_remove)
}

// server is one backend address, as the core dials it. A server that stays
// across reloads is the same object, as its balance.Server is.
type server struct {
	b    *balance.Server
	up   *upstream
	addr netip.AddrPort
	name string
	obs  *serverObs                 // its counters (metrics.go), shared by every server of this name
	tls  atomic.Pointer[tls.Config] // client configuration with tls: true, else nil

	drained atomic.Bool // taken out by DrainServer: health checks leave it down
}

func (u *upstream) members() *members { return u.m.Load() }

// commit makes the prepared members current.
func (u *upstream) commit() {
	m := u.next
	if m == nil {
		return
	}
	u.next = nil
	for _, srv := range m.list {
		srv.tls.Store(m.tls[srv])
	}
	u.m.Store(m)
}

// balanceConfig translates an upstream's config for package balance.
func balanceConfig(cu *config.Upstream) balance.Config {
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

// plan is what prepare needs of one upstream, checked beforehand so that
// preparing cannot fail half way through a reload.
type plan struct {
	cu      *config.Upstream
	servers []config.Server
	bc      balance.Config
	scs     []balance.ServerConfig
	addrs   []netip.AddrPort
	tls     []*tls.Config
}

// check resolves and validates what u (nil: a new upstream) would become
// with servers; field locates errors ("upstreams.NAME").
func (s *Server) check(name string, u *upstream, cfg *config.Config, cu *config.Upstream, servers []config.Server) (*plan, error) {
	p := &plan{cu: cu, servers: servers, bc: balanceConfig(cu)}
	var errs []error
	for i, cs := range servers {
		p.scs = append(p.scs, balance.ServerConfig{Addr: cs.Addr, Weight: cs.Weight, MaxConns: cs.MaxConns, Backup: cs.Backup})
		var ap netip.AddrPort
		if u != nil && u.known[cs.Addr] != nil {
			ap = u.known[cs.Addr].addr // resolved once, when first seen
		} else {
			var err error
			if ap, err = resolve(cs.Addr); err != nil {
				errs = append(errs, fmt.Errorf("upstream %s: server %s: %w", name, cs.Addr, err))
			}
		}
		p.addrs = append(p.addrs, ap)
		tc, err := serverTLS(cfg, name, i, cs)
		if err != nil {
			errs = append(errs, err)
		}
		p.tls = append(p.tls, tc)
	}
	if err := balance.Validate(p.scs, p.bc); err != nil {
		errs = append(errs, fmt.Errorf("upstream %s: %w", name, err))
	}
	return p, errors.Join(errs...)
}

// prepare makes u's next members from a checked plan. sids gives a new
// pool of policy sid its store (Options.SidStore). Servers u keeps are
// the same objects; their weights and caps change at once.
func (s *Server) prepare(u *upstream, p *plan) {
	old := u.members()
	var pool *balance.Pool
	if old == nil {
		if s.opts.SidStore != nil && p.cu.Balance == balance.PolicySid {
			p.bc.SidStore = s.opts.SidStore(u.name)
		}
		pool, _ = balance.NewPool(u.name, p.scs, p.bc) // checked
	} else {
		if s.opts.SidStore != nil && p.cu.Balance == balance.PolicySid && old.policy != balance.PolicySid {
			p.bc.SidStore = s.opts.SidStore(u.name)
		}
		pool, _ = old.pool.Update(p.scs, p.bc) // checked
	}
	m := &members{pool: pool, servers: make(map[*balance.Server]*server), policy: p.cu.Balance, cfg: p.cu,
		conf: p.servers, tls: make(map[*server]*tls.Config)}
	if m.policy == "" {
		m.policy = pool.Policy()
	}
	known := make(map[string]*server, len(p.scs))
	for i, b := range pool.Servers() { // in configuration order
		srv := u.known[b.Addr]
		if srv == nil || srv.b != b {
			srv = &server{b: b, up: u, addr: p.addrs[i], name: b.Addr, obs: s.obs.serverObs(u.name, b.Addr)}
		}
		known[b.Addr] = srv
		m.servers[b] = srv
		m.list = append(m.list, srv)
		if p.tls[i] != nil {
			m.tls[srv] = p.tls[i]
			s.tls.upstreams.Store(true)
		}
	}
	if old != nil {
		for _, srv := range old.list {
			if known[srv.name] == nil {
				m.removed = append(m.removed, srv)
			}
		}
	}
	// Removed servers with tunnels or requests left stay known, so that
	// they are the same objects if they come back before those end.
	for addr, srv := range u.known {
		if known[addr] == nil && srv.b.Active() > 0 {
			known[addr] = srv
		}
	}
	u.known = known
	u.next = m
}

// prepareUpstreams checks every upstream of cfg and prepares its members;
// an upstream of prev with the same name is kept and updated. On error
// nothing is prepared.
func (s *Server) prepareUpstreams(cfg *config.Config, prev map[string]*upstream) (map[string]*upstream, error) {
	plans := make(map[string]*plan, len(cfg.Upstreams))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(cfg.Upstreams)) {
		cu := cfg.Upstreams[name]
		p, err := s.check(name, prev[name], cfg, cu, cu.Servers)
		if err != nil {
			errs = append(errs, err)
		}
		plans[name] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ups := make(map[string]*upstream, len(plans))
	for name, p := range plans {
		u := prev[name]
		if u == nil {
			u = &upstream{name: name}
		}
		s.prepare(u, p)
		ups[name] = u
	}
	return ups, nil
}
