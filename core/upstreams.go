package core

import (
	"crypto/tls"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"sync/atomic"

	"wsproxy/balance"
	"wsproxy/config"
	"wsproxy/core/metrics"
	"wsproxy/internal/sock"
	"wsproxy/internal/upstreams"
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

// buffers are what its upstream's rcvbuf, sndbuf and notsent_lowat set
// on a connection to s.
func (s *server) buffers() sock.Buffers {
	if s.up == nil {
		return sock.Buffers{}
	}
	cfg := s.up.m.Load().cfg
	return sock.Buffers{Rcv: int(cfg.RcvBuf), Snd: int(cfg.SndBuf), NotSent: cfg.Lowat()}
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
	obs  *metrics.Server            // its counters (metrics.go), shared by every server of this name
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

// check checks what u (nil: a new upstream) would become with servers:
// addresses u knows are not resolved again.
func (s *Server) check(name string, u *upstream, cfg *config.Config, cu *config.Upstream, servers []config.Server) (*upstreams.Plan, error) {
	var known func(string) (netip.AddrPort, bool)
	if u != nil {
		known = func(addr string) (netip.AddrPort, bool) {
			if srv := u.known[addr]; srv != nil {
				return srv.addr, true
			}
			return netip.AddrPort{}, false
		}
	}
	return upstreams.Check(cfg, name, cu, servers, known)
}

// prepare makes u's next members from a checked plan. sids gives a new
// pool of policy sid its store (Options.SidStore). Servers u keeps are
// the same objects; their weights and caps change at once.
func (s *Server) prepare(u *upstream, p *upstreams.Plan) {
	old := u.members()
	var pool *balance.Pool
	if old == nil {
		if s.opts.SidStore != nil && p.Upstream.Balance == balance.PolicySid {
			p.Balance.SidStore = s.opts.SidStore(u.name)
		}
		pool, _ = balance.NewPool(u.name, p.Pool, p.Balance) // checked
	} else {
		if s.opts.SidStore != nil && p.Upstream.Balance == balance.PolicySid && old.policy != balance.PolicySid {
			p.Balance.SidStore = s.opts.SidStore(u.name)
		}
		pool, _ = old.pool.Update(p.Pool, p.Balance) // checked
	}
	m := &members{pool: pool, servers: make(map[*balance.Server]*server), policy: p.Upstream.Balance, cfg: p.Upstream,
		conf: p.Servers, tls: make(map[*server]*tls.Config)}
	if m.policy == "" {
		m.policy = pool.Policy()
	}
	known := make(map[string]*server, len(p.Pool))
	for i, b := range pool.Servers() { // in configuration order
		srv := u.known[b.Addr]
		if srv == nil || srv.b != b {
			srv = &server{b: b, up: u, addr: p.Addrs[i], name: b.Addr, obs: s.obs.Server(u.name, b.Addr)}
		}
		known[b.Addr] = srv
		m.servers[b] = srv
		m.list = append(m.list, srv)
		if p.TLS[i] != nil {
			m.tls[srv] = p.TLS[i]
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
	plans := make(map[string]*upstreams.Plan, len(cfg.Upstreams))
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
