package balance

import (
	"fmt"
	"net/netip"
	"time"
)

// Request is what a policy may look at. The core implements it over its
// parsed request head without allocating. Returned slices are only read
// during the call and never retained; nil or empty means absent.
type Request interface {
	// ClientAddr is the client's address (after PROXY protocol, if any); the
	// zero Addr when unknown, e.g. on a unix socket.
	ClientAddr() netip.Addr
	// Header returns the first value of the named request header.
	Header(name string) []byte
	// Cookie returns the value of the named cookie of the Cookie header.
	Cookie(name string) []byte
	// Query returns the raw (still percent-encoded) value of the named
	// query parameter of the request target.
	Query(name string) []byte
}

// Selector is one balancing policy. Select returns an Available server of
// p (a backup only when no primary is available), or nil when there is
// none. It must not allocate and must be safe for concurrent use, since
// all event loops share a pool. Pool builds its Selector from
// Config.Policy; each policy lives in its own file. There is no hook for
// outside policies: the interface is the contract those files keep.
type Selector interface {
	Select(p *Pool, r Request, now time.Time) *Server
}

// Pool is the set of servers of one upstream and its policy. It is shared
// by all event loops of a process; all its methods are safe for concurrent
// use.
type Pool struct {
	name        string
	cfg         Config // with defaults
	servers     []*Server
	tiers       []tier // primaries, then backups when there are any
	byID        map[uint64]*Server
	byCookie    map[string]*Server       // policy cookie: value -> server
	cookies     map[*Server]serverCookie // policy cookie: server -> its cookie
	retired     map[string]*Server       // servers Update removed while they had work (see Update)
	sel         Selector
	sids        SidStore // policy sid only
	failTimeout int64    // ns
}

// NewPool validates cfg and servers and returns a pool of one Server per
// ServerConfig, in the same order. name names the upstream for logs and
// metrics.
func NewPool(name string, servers []ServerConfig, cfg Config) (*Pool, error) {
	if err := Validate(servers, cfg); err != nil {
		return nil, err
	}
	return build(name, servers, cfg, nil), nil
}

// Validate reports what NewPool and Update would refuse in servers and cfg,
// as a *ConfigError.
func Validate(servers []ServerConfig, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return validateServers(servers)
}

// build makes the pool of valid servers and cfg. reuse, when not nil,
// returns the Server an address had before (or nil): that Server is kept,
// with its configuration changed in place.
func build(name string, servers []ServerConfig, cfg Config, reuse func(addr string) *Server) *Pool {
	c := cfg.withDefaults()
	p := &Pool{
		name:        name,
		cfg:         c,
		byID:        make(map[uint64]*Server, len(servers)),
		failTimeout: int64(c.FailTimeout),
	}
	var primaries, backups []*Server
	for _, sc := range servers {
		var s *Server
		if reuse != nil {
			s = reuse(sc.Addr)
		}
		if s == nil {
			s = newServer(sc)
		} else {
			s.set(sc)
		}
		p.byID[s.id] = s
		p.servers = append(p.servers, s)
		if sc.Backup {
			backups = append(backups, s)
		} else {
			primaries = append(primaries, s)
		}
	}
	p.tiers = append(p.tiers, newTier(primaries))
	if len(backups) > 0 {
		p.tiers = append(p.tiers, newTier(backups))
	}
	if c.Policy == PolicyCookie {
		p.byCookie = make(map[string]*Server, len(p.servers))
		p.cookies = make(map[*Server]serverCookie, len(p.servers))
		for _, s := range p.servers {
			v := cookieValue(c.CookieSecret, s.Addr)
			p.cookies[s] = serverCookie{value: v, setCookie: setCookieValue(c.CookieName, v, c.CookieSecure)}
			p.byCookie[v] = s
		}
	}
	if c.Policy == PolicySid {
		p.sids = c.SidStore
		if p.sids == nil {
			p.sids = NewSidTable(c.SidTableSize, c.SidTTL)
		}
	}
	p.sel = newSelector(c.Policy, &c, p)
	return p
}

func newTier(servers []*Server) tier {
	t := tier{servers: servers, uniform: true}
	for _, s := range servers {
		t.uniform = t.uniform && s.weight.Load() == servers[0].weight.Load()
	}
	return t
}

// newSelector builds the Selector of policy, with its fallback.
func newSelector(policy string, c *Config, p *Pool) Selector {
	switch policy {
	case PolicyLeastConn:
		return &leastConn{}
	case PolicyIPHash:
		return &ipHash{prefix24: c.IPv4Prefix24, fallback: newRoundRobin(p)}
	case PolicyHash:
		src, name, _ := parseHashKey(c.HashKey) // validated
		return &keyHash{src: src, name: name, ip: ipHash{prefix24: c.IPv4Prefix24, fallback: newRoundRobin(p)}}
	case PolicyCookie:
		return &cookieSticky{name: c.CookieName, fallback: newSelector(c.Fallback, c, p)}
	case PolicySid:
		return &sidSticky{store: p.sids, fallback: newSelector(c.Fallback, c, p)}
	}
	return newRoundRobin(p)
}

func validateServers(servers []ServerConfig) error {
	if len(servers) == 0 {
		return configError("servers", "no servers")
	}
	seen := make(map[string]int, len(servers))
	ids := make(map[uint64]int, len(servers))
	primaries := 0
	for i, s := range servers {
		field := fmt.Sprintf("servers[%d]", i)
		switch {
		case s.Addr == "":
			return configError(field+".Addr", "empty")
		case s.Weight < 0:
			return configError(field+".Weight", "must not be negative")
		case s.MaxConns < 0:
			return configError(field+".MaxConns", "must not be negative")
		}
		if j, dup := seen[s.Addr]; dup {
			return configError(field+".Addr", fmt.Sprintf("%q repeats servers[%d]", s.Addr, j))
		}
		seen[s.Addr] = i
		id := hashString(s.Addr)
		if j, dup := ids[id]; dup {
			return configError(field+".Addr", fmt.Sprintf("%q hashes like servers[%d]'s address", s.Addr, j))
		}
		ids[id] = i
		if !s.Backup {
			primaries++
		}
	}
	if primaries == 0 {
		return configError("servers", "all servers are backups")
	}
	return nil
}

// Pick chooses a server for r and acquires one slot of it (see
// Server.Acquire): the caller must Release it when the tunnel or request
// ends, or when the dial fails. now is the caller's clock, usually its
// loop's cached time; it decides passive-health and sid expiry. Pick
// returns ErrNoServer when every server is down or full. It never
// allocates.
func (p *Pool) Pick(r Request, now time.Time) (*Server, error) {
	// A server can fill up between Select and Acquire when loops race;
	// Select then sees it full and chooses another.
	for range len(p.servers) + 1 {
		s := p.sel.Select(p, r, now)
		if s == nil {
			break
		}
		if s.Acquire() {
			return s, nil
		}
	}
	return nil, ErrNoServer
}

// Report records the result of connecting to s (ok false for a refused,
// failed or timed-out connect) for the passive health checks: MaxFails
// failures within FailTimeout mark s down for FailTimeout. A success costs
// one atomic load.
func (p *Pool) Report(s *Server, ok bool, now time.Time) {
	if p.cfg.MaxFails < 0 {
		return
	}
	s.report(ok, now.UnixNano(), p.cfg.MaxFails, p.failTimeout)
}

// Servers returns the pool's servers in configuration order, for active
// health checks and metrics. The slice is a copy; the servers are the
// pool's own.
func (p *Pool) Servers() []*Server { return append([]*Server(nil), p.servers...) }

// Name returns the upstream name given to NewPool.
func (p *Pool) Name() string { return p.name }

// Policy returns the pool's policy name, defaults applied.
func (p *Pool) Policy() string { return p.cfg.Policy }

// primaryAvailable reports whether any primary server is available.
func (p *Pool) primaryAvailable(ns int64) bool {
	for _, s := range p.tiers[0].servers {
		if s.availableAt(ns) {
			return true
		}
	}
	return false
}

// eligible reports whether a server named by a cookie or sid may serve:
// available, and not a backup while a primary is.
func (p *Pool) eligible(s *Server, ns int64) bool {
	return s.availableAt(ns) && (!s.backup.Load() || !p.primaryAvailable(ns))
}
